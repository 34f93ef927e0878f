"""The design report of a chip file: every figure that decides whether the chip can be built and run, and
every constraint of the file it violates (``mirage design``).

The chip is the one the layout draws: each modulus's MDPU with the routes of
:func:`circuits.layout.layout_design` (the LO route runs the length of the
signal arm, so its loss and delay count), R = ``[tile] rows`` rows per modulus,
every modulus of ``config.all_moduli`` (redundant ones included). Per modulus:

- **speed**: :func:`circuits.mmu_electrodes.electrode_figures` of the MMU with
  the file's electrode (``[tile] electrode``, ``[devices.electrode]``); a lumped
  electrode's driver is one input DAC charging the MMUs of a column in all R
  rows (``loads_per_driver = R``, as the energy model shares it), or, with a
  binary drive (digital-product), each MMU's own digital drivers; a ring's
  optical linewidth caps its bandwidth. The highest symbol rate is
  bandwidth / 0.7; ``max_clock_ghz`` is that of the slowest modulus.
- **receiver**: the detectors and TIAs read one symbol per clock. ``[detector]
  bandwidth_ghz`` is their noise bandwidth (the noise they read); their -3 dB
  bandwidth is that over ``NOISE_PER_3DB_BANDWIDTH`` (1.11: a second-order
  Butterworth front end), and their highest symbol rate that over 0.7, as the
  electrodes' (``receiver_max_clock_ghz``: 12.9 GBd for the default's 10 GHz).
  A receiver wider than the clock needs is not a violation: it only reads more
  noise than a narrower one would.
- **optical transit**: a lumped electrode switches along its whole length at
  once (its drive is not pipelined along the light), so a segment that light
  takes longer than one symbol to cross mixes two symbols; a segmented
  electrode's drivers are retimed to the light, so only its longest section's
  transit is checked (``ElectrodeFigures.transit_time_ns`` is per section); a
  travelling-wave electrode carries its symbol with the light (its walk-off is in
  its bandwidth) and is not checked.
- **noise and link budget**: the compiled MDPU
  (:func:`circuits.compiled.compile_mdpu`) over the fixed random workload of
  :func:`circuits.link_budget.workload_residues`: the rms phase of each source
  (:func:`circuits.readout.phase_variances_rad2`, each variance averaged over the
  workload; their squares sum to ``phase_sigma_rad`` squared), the predicted
  residue error rate at the file's laser power (the workload's mean of
  :func:`circuits.readout.predicted_error_rate`), and the least laser power per
  row for ``[design] target_error_rate`` (:func:`circuits.link_budget.link_budget`;
  None where no power reaches it).
- **geometry**: the signal arm's electro-optic length (h MMUs, each segment's
  footprint along the arm, serpentine bends not counted), its loss (laser to
  hybrid input, mean over the workload), the signal-minus-LO group delay and the
  drive swing (largest minus smallest level voltage).

The tile's area is the bounding box of the whole layout (:func:`circuits.layout.tile_cell`:
every modulus's R rows, the heaters' pads and the routes included).

**Energy per MAC** (pJ): :func:`chip_energy_pj_per_mac`, the parts of
:func:`mvm.energy.rns_breakdown_pj_per_mac` (ADCs, TIAs, laser, input and
weight DACs, electrode drive, the digital-product logic, the static heaters and
the drive trim DACs) with each row's laser emitting
the link budget's power through its edge coupler; ``total`` is their sum. The
training table reports the same figure. Digital work (BFP, CRT, accumulation)
is left out.

**Laser power**: ``[laser] power_mw`` is the power that reaches each row, past
its edge coupler (``[devices.edge_coupler]``); ``laser_power_mw_per_row`` is
what the laser must emit for the target, the coupler's loss included.

Figures that differ by modulus are reported for the worst modulus at the top
level and for each modulus under ``moduli``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from mvm.config import ChipConfig
from mvm.energy import EnergyModel, emitted_power_mw, rns_breakdown_pj_per_mac
from photonics.constants import BANDWIDTH_PER_BAUD, NOISE_PER_3DB_BANDWIDTH
from photonics.electrode import max_symbol_rate_gbaud
from photonics.errors import UsageError

SOURCES = ("receiver", "laser_phase_noise", "frequency_drift", "drive")  # phase_variances_rad2's keys


def _finite(value: float) -> float | None:
    """A float for JSON; None for an unbounded figure (an electrode with no bandwidth limit)."""
    return float(value) if math.isfinite(value) else None


def modulus_figures(config: ChipConfig, modulus: int) -> dict:
    """The figures of one modulus's MDPU as laid out (see the module docstring)."""
    from circuits.compiled import compile_mdpu
    from circuits.link_budget import mean_predicted_error_rate, workload_residues
    from circuits.mmu_electrodes import electrode_figures
    from circuits.readout import drive_phase_sigma_rad, phase_variances_rad2

    design = config.mdpu_design(modulus)  # as laid out, routes included
    mmu = design.mmu
    kind = config.tile.electrode
    fanout = EnergyModel().loads_per_driver(config, mmu)
    figures = electrode_figures(
        mmu, kind, config.electrode, symbol_rate_ghz=config.tile.clock_ghz, loads_per_driver=fanout
    )
    compiled = compile_mdpu(design)
    readout = config.readout(noise=True)
    x, w = workload_residues(compiled)
    fields = compiled.detector_fields(x, w)
    drive = drive_phase_sigma_rad(compiled, x, w, readout)  # each readout's own drive noise
    variances = {k: float(np.mean(v)) for k, v in phase_variances_rad2(compiled, fields, readout, drive).items()}
    arm_power = np.abs(compiled.src_to_arm) ** 2 * np.mean(np.abs(compiled.arm_transmission(x, w)) ** 2)
    budget_mw, budget_error = row_power_for_target_mw(config, compiled, readout)
    volts = mmu.level_voltages_v()
    transit = figures.transit_time_ns
    longest = int(np.argmax(transit))
    return {
        "modulus": modulus,
        "segments": mmu.segments,
        "bandwidth_ghz": _finite(figures.bandwidth_ghz),
        "max_clock_ghz": _finite(figures.max_symbol_rate_gbaud),
        "linewidth_ghz": _finite(figures.linewidth_ghz),
        "driver_capacitance_pf": figures.driver_capacitance_pf,
        "loads_per_driver": fanout,
        "electrode_energy_pj": figures.energy_pj,
        "longest_transit_ns": float(transit[longest]),
        "longest_transit_segment": longest,
        "signal_arm_length_mm": design.h * float(np.sum(mmu.element_rules.footprint_um(mmu))) * 1e-3,
        "signal_arm_loss_db": float(-10 * np.log10(arm_power)),
        "lo_delay_mismatch_ps": compiled.delay_mismatch_s() * 1e12,
        "drive_swing_v": float(volts.max() - volts.min()) * mmu.drive_max_v / mmu.gap_swing_v,  # one driver's
        "row_power_mw_for_target": budget_mw,
        "laser_power_mw_per_row": None if budget_mw is None else emitted_power_mw(config, budget_mw),
        "link_budget_error": budget_error,
        "predicted_residue_error_rate": mean_predicted_error_rate(compiled, readout, fields, drive),
        "noise_rad": {k: math.sqrt(variances[k]) for k in SOURCES},
        "phase_sigma_rad": math.sqrt(sum(variances[k] for k in SOURCES)),
    }


def row_power_for_target_mw(config: ChipConfig, compiled, readout) -> tuple[float | None, str | None]:
    """(least power into a row that meets ``[design] target_error_rate``, None) or (None, why none does)."""
    from circuits.link_budget import link_budget

    try:
        return float(link_budget(compiled, readout, config.design.target_error_rate).laser_power_mw), None
    except UsageError as exc:
        return None, str(exc)


@lru_cache(maxsize=8)
def laser_power_needed_mw(config: ChipConfig) -> dict[int, float | None]:
    """Per modulus, the power each row's laser must emit for the target error rate (None: unreachable).

    Cached per chip (training asks once per backend); do not mutate the result.
    """
    from circuits.compiled import compile_mdpu

    out = {}
    for m in config.all_moduli:
        compiled = compile_mdpu(config.mdpu_design(m))
        row, _ = row_power_for_target_mw(config, compiled, config.readout(noise=True))
        out[m] = None if row is None else emitted_power_mw(config, row)
    return out


def chip_energy_pj_per_mac(config: ChipConfig, laser_power_mw: dict[int, float | None] | None = None) -> dict:
    """The chip's energy per MAC by part and ``total``, the laser sized by the link budget.

    ``laser_power_mw``: each modulus's emitted laser power where already known (the
    report's), else computed; a modulus no power serves keeps the file's power. This
    is the one energy figure the design report, the training table and any system
    model use.
    """
    needed = laser_power_mw if laser_power_mw is not None else laser_power_needed_mw(config)
    return rns_breakdown_pj_per_mac(config, laser_power_mw={m: p for m, p in needed.items() if p is not None})


def tile_extent_mm(config: ChipConfig) -> tuple[float, float]:
    """(width, height) of the whole tile's layout: R rows of every modulus, as `mirage layout` draws it."""
    from circuits.layout import tile_cell

    box = tile_cell([config.mdpu_design(m) for m in config.all_moduli], config.tile.rows).dbbox()
    return box.width() * 1e-3, box.height() * 1e-3


def violations(config: ChipConfig, report: dict) -> list[str]:
    """One line per constraint of the file that the report's figures break."""
    out = []
    limits, tile, per = config.design, config.tile, report["moduli"]
    slow = min(per.values(), key=lambda f: math.inf if f["max_clock_ghz"] is None else f["max_clock_ghz"])
    if slow["max_clock_ghz"] is not None and tile.clock_ghz > slow["max_clock_ghz"]:
        why = f"{tile.electrode} electrodes"
        if tile.electrode == "lumped":
            loads = slow["loads_per_driver"]
            who = f"one input DAC driving {loads} rows" if loads > 1 else "one driver per segment"
            why += f", {who} ({slow['driver_capacitance_pf']:.3g} pF)"
        if slow["linewidth_ghz"] is not None:
            why += f", ring linewidth {slow['linewidth_ghz']:.3g} GHz"
        out.append(
            f"clock: [tile] clock_ghz = {tile.clock_ghz:g} GHz is above the highest symbol rate "
            f"{slow['max_clock_ghz']:.3g} GBd of the slowest MMU (modulus {slow['modulus']}: {why})"
        )
    if tile.clock_ghz > report["receiver_max_clock_ghz"]:
        needed = tile.clock_ghz * BANDWIDTH_PER_BAUD * NOISE_PER_3DB_BANDWIDTH
        out.append(
            f"clock: [tile] clock_ghz = {tile.clock_ghz:g} GHz is above the highest symbol rate "
            f"{report['receiver_max_clock_ghz']:.3g} GBd of the receiver ([detector] bandwidth_ghz = "
            f"{config.detector.bandwidth_ghz:g} GHz of noise bandwidth); give it at least {needed:.3g} GHz "
            "(its noise grows with it at the same tia_noise_pa_rthz) or lower the clock"
        )
    if report["tile_area_mm2"] > limits.max_area_mm2:
        out.append(
            f"area: the tile is {report['tile_area_mm2']:.4g} mm^2 ({report['tile_width_mm']:.4g} x "
            f"{report['tile_height_mm']:.4g} mm), above [design] max_area_mm2 = {limits.max_area_mm2:g} mm^2"
        )
    for f in per.values():
        if f["drive_swing_v"] > tile.drive_max_v * (1 + 1e-9):
            out.append(
                f"drive: modulus {f['modulus']} swings {f['drive_swing_v']:.3g} V, above [tile] drive_max_v = "
                f"{tile.drive_max_v:g} V"
            )
    for f in per.values():
        if f["predicted_residue_error_rate"] > limits.target_error_rate:
            out.append(
                f"error rate: modulus {f['modulus']} reads {f['predicted_residue_error_rate']:.3g} of residues wrong "
                f"at {config.laser.power_mw:g} mW, above [design] target_error_rate = {limits.target_error_rate:g}"
            )
    for f in per.values():
        if f["laser_power_mw_per_row"] is None:
            out.append(f"link budget: modulus {f['modulus']}: {f['link_budget_error']}")
        elif f["laser_power_mw_per_row"] > limits.max_laser_power_mw_per_row:
            out.append(
                f"link budget: modulus {f['modulus']} needs {f['laser_power_mw_per_row']:.3g} mW per row for "
                f"{limits.target_error_rate:g}, above [design] max_laser_power_mw_per_row = "
                f"{limits.max_laser_power_mw_per_row:g} mW"
            )
    symbol_ns = 1 / tile.clock_ghz
    if tile.electrode in ("lumped", "segmented"):
        part, why = (
            ("segment", "a lumped electrode is not pipelined along the light")
            if tile.electrode == "lumped"
            else ("the longest section of segment", "a segmented electrode switches each section at once")
        )
        for f in per.values():
            if f["longest_transit_ns"] > symbol_ns:
                out.append(
                    f"transit: light takes {f['longest_transit_ns']:.3g} ns to cross {part} "
                    f"{f['longest_transit_segment']} of the modulus-{f['modulus']} MMU, longer than a symbol "
                    f"({symbol_ns:.3g} ns); {why}"
                )
    return out


def _worst(per: dict, key: str, pick=max):
    return pick(f[key] for f in per.values())


def design_report(config: ChipConfig) -> dict:
    """Every figure of the chip (worst modulus at the top level, each modulus under ``moduli``) and its violations."""
    per = {m: modulus_figures(config, m) for m in config.all_moduli}
    width_mm, height_mm = tile_extent_mm(config)
    worst = max(per.values(), key=lambda f: f["predicted_residue_error_rate"])
    clocks = [f["max_clock_ghz"] for f in per.values() if f["max_clock_ghz"] is not None]
    budgets = [f["laser_power_mw_per_row"] for f in per.values()]
    report = {
        "all_moduli": list(config.all_moduli),
        "electrode": config.tile.electrode,
        "rows": config.tile.rows,
        "h": config.tile.h,
        "clock_ghz": config.tile.clock_ghz,
        "max_clock_ghz": min(clocks) if clocks else None,
        "receiver_max_clock_ghz": float(max_symbol_rate_gbaud(config.detector.bandwidth_ghz / NOISE_PER_3DB_BANDWIDTH)),
        "tile_width_mm": width_mm,
        "tile_height_mm": height_mm,
        "tile_area_mm2": width_mm * height_mm,
        "signal_arm_length_mm": _worst(per, "signal_arm_length_mm"),
        "signal_arm_loss_db": _worst(per, "signal_arm_loss_db"),
        "lo_delay_mismatch_ps": max((f["lo_delay_mismatch_ps"] for f in per.values()), key=abs),
        "longest_transit_ns": _worst(per, "longest_transit_ns"),
        "drive_swing_v": _worst(per, "drive_swing_v"),
        "drive_max_v": config.tile.drive_max_v,
        "laser_power_mw": config.laser.power_mw,
        "target_error_rate": config.design.target_error_rate,
        "laser_power_mw_per_row": None if None in budgets else max(budgets),
        "max_laser_power_mw_per_row": config.design.max_laser_power_mw_per_row,
        "max_area_mm2": config.design.max_area_mm2,
        "predicted_residue_error_rate": worst["predicted_residue_error_rate"],
        "worst_modulus": worst["modulus"],
        "noise_rad": dict(worst["noise_rad"]),
        "phase_sigma_rad": worst["phase_sigma_rad"],
        "energy_pj_per_mac": chip_energy_pj_per_mac(config, {m: f["laser_power_mw_per_row"] for m, f in per.items()}),
        "moduli": {str(m): f for m, f in per.items()},
    }
    report["violations"] = violations(config, report)
    return report


def design_space(config: ChipConfig) -> list[dict]:
    """The report of ``config`` with every encoding x element x electrode kind in turn, the rest as the file says."""
    from dataclasses import replace

    from circuits.mmu_design import ELEMENTS, ENCODINGS
    from circuits.mmu_electrodes import ELECTRODE_KINDS

    out = []
    for element in ELEMENTS:
        for encoding in ENCODINGS:
            for kind in ELECTRODE_KINDS:
                tile = replace(config.tile, encoding=encoding, element=element, electrode=kind)
                out.append({"encoding": encoding, "element": element} | design_report(replace(config, tile=tile)))
    return out


def _violated(report: dict) -> str:
    """The constraints a report violates, by name (each violation line starts with it)."""
    names = dict.fromkeys(v.split(":", 1)[0] for v in report["violations"])
    return ", ".join(names) or "none"


def space_table(reports: list[dict]) -> str:
    """Markdown table of :func:`design_space`: one line per design, its figures and what it violates."""
    head = (
        "| element | encoding | electrode | max clock (GBd) | tile (mm^2) | arm loss (dB) | swing (V) "
        "| laser for target (mW/row) | error rate at file power | energy (pJ/MAC) | violates |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in reports:
        lines.append(
            f"| {r['element']} | {r['encoding']} | {r['electrode']} | {_fmt(r['max_clock_ghz'], '.3g', 'unlimited')} "
            f"| {r['tile_area_mm2']:.4g} | {r['signal_arm_loss_db']:.3g} | {r['drive_swing_v']:.3g} "
            f"| {_fmt(r['laser_power_mw_per_row'], '.3g')} | {r['predicted_residue_error_rate']:.2g} "
            f"| {r['energy_pj_per_mac']['total']:.4g} | {_violated(r)} |"
        )
    return "\n".join(lines)


def _fmt(value, spec: str = ".4g", missing: str = "unreachable") -> str:
    return missing if value is None else format(value, spec)


def text(report: dict) -> str:
    """The report as a table: one line per figure, the worst modulus first, then each modulus; then violations."""
    moduli = list(report["moduli"].values())
    head = f"{'':<34}{'chip':>14}" + "".join(f"{'m = ' + str(f['modulus']):>14}" for f in moduli)
    rows = [
        ("max clock (GBd)", "max_clock_ghz", ".4g"),
        ("signal arm length (mm)", "signal_arm_length_mm", ".5g"),
        ("signal arm loss (dB)", "signal_arm_loss_db", ".4g"),
        ("signal - LO delay (ps)", "lo_delay_mismatch_ps", ".5g"),
        ("longest segment transit (ns)", "longest_transit_ns", ".4g"),
        ("drive swing (V)", "drive_swing_v", ".4g"),
        ("laser power for target (mW/row)", "laser_power_mw_per_row", ".4g"),
        ("predicted residue error rate", "predicted_residue_error_rate", ".3g"),
        ("rms phase, all sources (rad)", "phase_sigma_rad", ".3g"),
    ]
    lines = [
        f"mirage design: moduli {', '.join(str(m) for m in report['all_moduli'])}, {report['rows']} rows x "
        f"{report['h']} MMUs, {report['electrode']} electrodes, clock {report['clock_ghz']:g} GHz, laser "
        f"{report['laser_power_mw']:g} mW per row, target error rate {report['target_error_rate']:g}",
        head,
    ]
    for label, key, spec in rows:
        missing = "unlimited" if key == "max_clock_ghz" else "unreachable"  # None: no limit, or no power reaches it
        lines.append(
            f"{label:<34}{_fmt(report[key], spec, missing):>14}"
            + "".join(f"{_fmt(f[key], spec, missing):>14}" for f in moduli)
        )
    for source in SOURCES:
        lines.append(
            f"{'  rms phase, ' + source + ' (rad)':<34}{_fmt(report['noise_rad'][source], '.3g'):>14}"
            + "".join(f"{_fmt(f['noise_rad'][source], '.3g'):>14}" for f in moduli)
        )
    lines.append(f"receiver: highest symbol rate {report['receiver_max_clock_ghz']:.4g} GBd")
    lines.append(
        f"tile: {report['tile_width_mm']:.4g} mm x {report['tile_height_mm']:.4g} mm = "
        f"{report['tile_area_mm2']:.4g} mm^2 (limit {report['max_area_mm2']:g} mm^2)"
    )
    energy = report["energy_pj_per_mac"]
    lines.append(
        "energy per MAC (pJ): "
        + ", ".join(f"{k} {v:.4g}" for k, v in energy.items() if k != "total")
        + f"; total {energy['total']:.4g}"
    )
    found = report["violations"]
    lines.append(f"violations ({len(found)}):" if found else "violations: none")
    lines += [f"  - {v}" for v in found]
    return "\n".join(lines)
