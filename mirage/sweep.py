"""`mirage sweep`: a device's transmission over wavelength, as text, CSV, JSON or PNG."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photonics.errors import UsageError, check_fits

POWER_FLOOR = 1e-30  # -300 dB: how a port pair with no coupling is reported
# Up to 16 port pairs of a 4-port, each a complex field, dB and phase, with JAX's intermediates.
BYTES_PER_POINT = 1024


@dataclass(frozen=True)
class Sweep:
    device: str
    settings: dict[str, float]
    wl_um: np.ndarray
    db: dict[str, np.ndarray]  # "o1->o2" -> |S|^2 in dB
    phase_rad: dict[str, np.ndarray]


def one_direction(pairs) -> list[str]:
    """Port pairs with each reciprocal pair listed once ("o1->o2", not also "o2->o1")."""
    return [p for p in pairs if p.split("->")[0] <= p.split("->")[1]]


def chip_settings(config, device: str) -> dict[str, float]:
    """The chip configuration's parameters for a device it describes (heater, EO segment, ring)."""
    own = {"heater": config.heater, "phase_shifter_eo": config.phase_shifter_eo, "ring_allpass": config.ring}
    return own[device].settings() if device in own else {}


def parse_settings(pairs: list[str]) -> dict[str, float]:
    """``["kappa=0.3", ...]`` -> ``{"kappa": 0.3}``; refuses malformed pairs."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--set {pair!r}: expected NAME=VALUE")
        try:
            settings[name] = float(value)
        except ValueError:
            raise UsageError(f"--set {pair!r}: value of {name} must be a number") from None
    return settings


def wavelengths_um(start: float, stop: float, points: int) -> np.ndarray:
    if not start > 0:
        raise UsageError(f"--wl-start must be > 0 um (got {start:g})")
    if not stop > start:
        raise UsageError(f"--wl-stop must be greater than --wl-start (got {stop:g} <= {start:g})")
    if points < 2:
        raise UsageError(f"--points must be at least 2 (got {points})")
    check_fits(points * BYTES_PER_POINT, f"--points {points}: the sweep's arrays")
    return np.linspace(start, stop, points)


def run_sweep(device: str, settings: dict[str, float], wl_um: np.ndarray) -> Sweep:
    import photonics

    s = photonics.evaluate(device, wl=wl_um, **settings)
    db, phase = {}, {}
    for p1, p2 in sorted(s):
        v = np.broadcast_to(np.asarray(s[(p1, p2)]), wl_um.shape)
        db[f"{p1}->{p2}"] = 10 * np.log10(np.maximum(np.abs(v) ** 2, POWER_FLOOR))
        phase[f"{p1}->{p2}"] = np.angle(v)
    return Sweep(device, settings, wl_um, db, phase)


def to_json(sweep: Sweep) -> dict:
    return {
        "device": sweep.device,
        "settings": sweep.settings,
        "wl_um": sweep.wl_um.tolist(),
        "transmission": {
            pair: {"db": sweep.db[pair].tolist(), "phase_rad": sweep.phase_rad[pair].tolist()} for pair in sweep.db
        },
    }


def check_plot_path(path: str | None, flag: str = "--plot") -> None:
    """Refuse, before any work, a plot file whose suffix matplotlib cannot write."""
    if path is None:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if Path(path).suffix.lstrip(".").lower() not in formats:
        raise UsageError(f"{flag} {path}: the file must end in one of .{', .'.join(sorted(formats))}")


def prepare_path(path: str) -> Path:
    """``path`` as a Path whose parent folder exists."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def write_csv(sweep: Sweep, path: str) -> None:
    pairs = list(sweep.db)
    with prepare_path(path).open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["wl_um"] + [c for p in pairs for c in (f"{p} dB", f"{p} phase_rad")])
        for i, wl in enumerate(sweep.wl_um):
            w.writerow([f"{wl:.9g}"] + [f"{x:.12g}" for p in pairs for x in (sweep.db[p][i], sweep.phase_rad[p][i])])


def write_plot(sweep: Sweep, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = prepare_path(path)
    fig, (ax_db, ax_ph) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    for pair in one_direction(sweep.db):
        ax_db.plot(sweep.wl_um, sweep.db[pair], label=pair)
        ax_ph.plot(sweep.wl_um, sweep.phase_rad[pair], label=pair)
    ax_db.set_ylabel("transmission (dB)")
    ax_ph.set_ylabel("phase (rad)")
    ax_ph.set_xlabel("wavelength (um)")
    ax_db.legend(fontsize="small")
    settings = ", ".join(f"{k}={v:g}" for k, v in sweep.settings.items())
    ax_db.set_title(f"{sweep.device}" + (f" ({settings})" if settings else ""))
    ax_db.grid(alpha=0.3)
    ax_ph.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def summary_lines(sweep: Sweep) -> list[str]:
    mid = len(sweep.wl_um) // 2
    lines = [f"{sweep.device}: {len(sweep.wl_um)} points, {sweep.wl_um[0]:g}-{sweep.wl_um[-1]:g} um"]
    at = "dB at " + format(sweep.wl_um[mid], ".6g") + " um"
    lines.append(f"  {'pair':<8} {at:>16} {'phase (rad)':>12} {'min dB':>9}")
    for pair in one_direction(sweep.db):
        db, phase = sweep.db[pair], sweep.phase_rad[pair]
        lines.append(f"  {pair:<8} {db[mid]:16.3f} {phase[mid]:12.4f} {db.min():9.3f}")
    return lines
