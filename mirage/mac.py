"""`mirage mac`: one modulo MAC, all m*m pairs, or noisy dot products through the MDPU circuit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from photonics.errors import UsageError

DRIFT_RUNS = 1000  # with frequency drift on, --trials spreads over at least this many runs (one drift draw each)
SOURCES = ("receiver", "laser_phase_noise", "frequency_drift", "drive")  # phase-noise sources, as trials reports them


def build(
    config, modulus: int, h: int, encoding: str | None, element: str | None, laser_power_mw: float | None, noise: bool
):
    """The compiled MDPU and its readout: the chip configuration, with the CLI's overrides."""
    from circuits.compiled import check_table_memory, compile_mdpu
    from circuits.layout import layout_design

    if laser_power_mw is not None and not laser_power_mw >= 0:
        raise UsageError(f"--laser-power-mw must be >= 0 (got {laser_power_mw:g})")
    design = config.mdpu_design(modulus, routed=False)
    mmu = replace(design.mmu, encoding=encoding or design.mmu.encoding, element=element or design.mmu.element)
    readout = config.readout(noise)
    if laser_power_mw is not None:
        readout = readout.with_laser_power(laser_power_mw)
    design = replace(design, mmu=mmu, h=h)
    check_table_memory(design)  # refuse a modulus too large before laying it out
    return compile_mdpu(layout_design(design)), readout  # routed as the layout draws it


def single(compiled, readout, x: int, w: int, rng) -> dict:
    m = compiled.design.modulus
    for name, value in (("--x", x), ("--w", w)):
        if not 0 <= value < m:
            raise UsageError(f"{name} must lie in [0, {m}) (got {value})")
    r = _read(compiled, np.array([x]), np.array([w]), readout, rng)
    return {
        "modulus": m,
        "x": x,
        "w": w,
        "exact": (x * w) % m,
        "residue": int(r.residue),
        "phase_rad": float(r.phase_rad),
        "i": float(r.i_a) * 1e6,
        "q": float(r.q_a) * 1e6,
        "current_unit": "uA",
        "noise": readout.noise,
        "laser_power_mw": readout.laser.power_mw,
    }


def _read(compiled, x, w, readout, rng):
    """The noisy readout of residues x, w (..., h), drive noise included."""
    from circuits.readout import drive_phase_sigma_rad, read

    fields = compiled.detector_fields(x, w)
    return read(compiled, fields, readout, rng, drive_sigma_rad=drive_phase_sigma_rad(compiled, x, w, readout))


def exhaustive(compiled, readout, rng) -> dict:
    m = compiled.design.modulus
    x, w = (a.reshape(-1, 1) for a in np.meshgrid(np.arange(m), np.arange(m)))
    got = _read(compiled, x, w, readout, rng).residue
    errors = int((got != (x * w).sum(-1) % m).sum())
    return {
        "modulus": m,
        "pairs": m * m,
        "errors": errors,
        "error_rate": errors / (m * m),
        "noise": readout.noise,
        "laser_power_mw": readout.laser.power_mw,
    }


def _budget(compiled, readout, target_error_rate: float) -> dict:
    """The link budget, or {target_error_rate, unreachable: True, reason} where no laser power reaches the target."""
    from circuits.link_budget import link_budget

    try:
        return link_budget(compiled, readout, target_error_rate).as_dict()
    except UsageError as exc:
        if not 0 < target_error_rate < 1:
            raise
        return {"target_error_rate": target_error_rate, "unreachable": True, "reason": str(exc)}


def trials(compiled, readout, count: int, rng, target_error_rate: float) -> dict:
    """Error rate of ``count`` random dot products against the prediction, and each source's share of the phase variance.

    Each chunk of trials is one :func:`circuits.readout.read` call, i.e. one run
    with its own laser frequency drift; with drift on, the trials are spread over
    at least ``DRIFT_RUNS`` runs so that the rate averages over the drift.
    """
    from circuits.readout import (
        drive_phase_sigma_rad,
        phase_variances_rad2,
        predicted_error_rate,
        read,
        saturation_laser_power_mw,
    )

    if count < 1:
        raise UsageError(f"--trials must be at least 1 (got {count})")
    m, h = compiled.design.modulus, compiled.design.h
    chunk = 100_000
    if readout.noise and readout.laser.frequency_drift_mhz_rms > 0:
        chunk = max(1, -(-count // DRIFT_RUNS))
    errors, predicted, done = 0, 0.0, 0
    variance = dict.fromkeys(SOURCES, 0.0)
    while done < count:  # chunks keep memory flat for millions of trials
        n = min(count - done, chunk)
        x, w = rng.integers(0, m, (n, h)), rng.integers(0, m, (n, h))
        fields = compiled.detector_fields(x, w)
        drive = drive_phase_sigma_rad(compiled, x, w, readout)
        errors += int(
            (read(compiled, fields, readout, rng, drive_sigma_rad=drive).residue != (x * w).sum(-1) % m).sum()
        )
        if readout.noise:
            v = phase_variances_rad2(compiled, fields, readout, drive)
            predicted += float(predicted_error_rate(m, np.sqrt(sum(v.values()))).sum())
            for key in SOURCES:
                variance[key] += float(np.sum(v[key]))
        done += n
    total = sum(variance.values())
    return {
        "modulus": m,
        "h": h,
        "trials": count,
        "errors": errors,
        "error_rate": errors / count,
        "predicted_error_rate": predicted / count,
        "noise": readout.noise,
        "laser_power_mw": readout.laser.power_mw,
        "delay_mismatch_s": compiled.delay_mismatch_s(),
        "saturation_laser_power_mw": saturation_laser_power_mw(compiled, readout.detector),
        "phase_variance_rad2": {k: v / count for k, v in variance.items()},
        "phase_variance_share": {k: (v / total if total else 0.0) for k, v in variance.items()},
        "link_budget": _budget(compiled, readout, target_error_rate),
    }


def plot(path: str, compiled, readout, trial_count: int, seed: int) -> None:
    """Phase transfer (h = 1, noiseless) and, with noise, error rate against laser power."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from circuits.compiled import compile_mdpu
    from circuits.readout import (
        drive_phase_sigma_rad,
        phase_sigma_rad,
        predicted_error_rate,
        read,
        saturation_laser_power_mw,
    )
    from mirage.sweep import prepare_path

    m, h = compiled.design.modulus, compiled.design.h
    single_mac = compile_mdpu(replace(compiled.design, h=1, lo_bias_power_mw=None))
    panels = 2 if readout.noise else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5), squeeze=False)
    ax = axes[0, 0]
    xs = np.arange(m)
    for w in range(m):
        r = read(single_mac, single_mac.detector_fields(xs[:, None], np.full((m, 1), w)), replace(readout, noise=False))
        ax.plot(xs, np.unwrap(r.phase_rad), ".-", color=plt.cm.viridis(w / max(m - 1, 1)), lw=0.6, ms=3)
    ax.set(
        xlabel="input residue x",
        ylabel="read phase, unwrapped along x (rad)",
        title=f"phase transfer, m = {m}: one line per w (colour), step 2*pi*w/m wrapped to (-pi, pi]",
    )
    if readout.noise:
        ax = axes[0, 1]
        rng = np.random.default_rng(seed)
        hi = saturation_laser_power_mw(compiled, readout.detector)  # the sweep ends where the detectors saturate
        lo = min(_power_for(compiled, readout, 0.5, hi), hi / 100)
        hi = _power_for(compiled, readout, 1e-6, hi)
        powers = np.geomspace(lo, hi, 12)
        x, w = rng.integers(0, m, (trial_count, h)), rng.integers(0, m, (trial_count, h))
        fields = compiled.detector_fields(x, w)
        exact = (x * w).sum(-1) % m
        drive = drive_phase_sigma_rad(compiled, x, w, readout)
        measured, predicted = [], []
        for p in powers:
            ro = readout.with_laser_power(p)
            measured.append(np.mean(read(compiled, fields, ro, rng, drive_sigma_rad=drive).residue != exact))
            predicted.append(np.mean(predicted_error_rate(m, phase_sigma_rad(compiled, fields, ro, drive))))
        ax.loglog(powers, predicted, "-", label="predicted erfc(pi/(m sigma sqrt 2))")
        shown = np.array(measured) > 0
        ax.loglog(powers[shown], np.array(measured)[shown], "o", label=f"measured, {trial_count} trials")
        ax.set(xlabel="laser power (mW)", ylabel="residue error rate", title=f"m = {m}, h = {h}")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(prepare_path(path), dpi=120)
    plt.close(fig)


def _power_for(compiled, readout, target_error_rate: float, unreachable_mw: float) -> float:
    """The link budget's laser power for a target, or ``unreachable_mw`` where no power reaches it."""
    from circuits.link_budget import link_budget

    try:
        return link_budget(compiled, readout, target_error_rate).laser_power_mw
    except UsageError:
        return unreachable_mw


def text(result: dict) -> str:
    if "x" in result:
        ok = "correct" if result["residue"] == result["exact"] else "WRONG"
        return (
            f"m = {result['modulus']}: {result['x']} * {result['w']} mod m = {result['exact']}; read {result['residue']} "
            f"({ok}), phase {result['phase_rad']:.4f} rad, I = {result['i']:.3f} uA, Q = {result['q']:.3f} uA"
        )
    if "pairs" in result:
        return f"m = {result['modulus']}: {result['errors']} errors in {result['pairs']} (x, w) pairs"
    b = result["link_budget"]
    budget = (
        f"link budget: {b['reason']}"
        if b.get("unreachable")
        else f"link budget: {b['laser_power_mw']:.3g} mW of laser ({b['laser_electrical_power_mw']:.3g} mW electrical) "
        f"for error rate {b['target_error_rate']:g}; signal arm loss {b['signal_arm_loss_db']:.2f} dB"
    )
    shares = ", ".join(f"{k.replace('_', ' ')} {100 * v:.3g} %" for k, v in result["phase_variance_share"].items())
    return (
        f"m = {result['modulus']}, h = {result['h']}, {result['laser_power_mw']:g} mW: {result['errors']} errors in "
        f"{result['trials']} dot products (rate {result['error_rate']:.3g}, predicted {result['predicted_error_rate']:.3g})\n"
        f"phase variance: {shares}; delay mismatch {result['delay_mismatch_s'] * 1e9:.4g} ns\n"
        f"photodiodes saturate (1 dB) above {result['saturation_laser_power_mw']:.4g} mW of laser\n" + budget
    )
