"""Mirage against the systolic baseline: the two scenarios, the ratios, the paper's table and the sensitivity.

**Scenarios** (how the baseline is sized against the Mirage accelerator of the chip file; SRAM and DRAM are the
same on both sides, :mod:`system.memory`):

- ``iso-energy``: an equal power budget. The baseline gets as many 128 x 128 arrays as Mirage's power at full
  load pays for (every device part of every tile streaming; the digital periphery and memory left out on both
  sides), so the two spend the same energy per unit time on compute.
- ``iso-area``: an equal area. The baseline gets as many arrays as fit in Mirage's compute area (its photonic
  tiles and their trim DACs; the shared SRAM left out on both sides).

A scenario that leaves the baseline less than one array is refused (:class:`photonics.errors.UsageError`).
Ratios are baseline over Mirage, so above 1 means Mirage is better: ``speedup`` (step time), ``edp_ratio``
(energy x delay), ``power_ratio`` (average power over the step).

Mirage (Demirkiran, Yang, Bunandar and Joshi, "Mirage: An RNS-based photonic accelerator for DNN training",
arXiv:2311.17323, ISCA 2024) reports, averaged over its DNNs against systolic arrays, a 23.8x speedup and a
32.1x lower EDP in its iso-energy scenario and a 42.8x lower power in its iso-area scenario (:data:`PAPER`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from photonics.errors import UsageError
from system.accelerator import ChipFigures, Mirage
from system.memory import Memory
from system.systolic import Systolic

SCENARIOS = ("iso-energy", "iso-area")
DEFAULT_SCENARIO = "iso-energy"
RATIOS = ("speedup", "edp_ratio", "power_ratio")
# Demirkiran et al., arXiv:2311.17323 (ISCA 2024), abstract: averages over their DNNs against systolic arrays.
PAPER = {("iso-energy", "speedup"): 23.8, ("iso-energy", "edp_ratio"): 32.1, ("iso-area", "power_ratio"): 42.8}


@dataclass(frozen=True)
class Setup:
    """Everything the comparison assumes: the chip's figures, Mirage's tiles, the memory and the baseline's PE."""

    chip: ChipFigures
    tiles: int | None = None  # None: as many as fit in the chip's max area
    memory: Memory = Memory()
    overlap_load: bool = True  # weight loads double-buffered on both accelerators
    systolic: Systolic = Systolic()  # the baseline's array (its ``arrays`` is set by the scenario)

    def mirage(self) -> Mirage:
        return Mirage(self.chip, self.tiles, self.memory, self.overlap_load)


def check_scenario(scenario: str) -> str:
    if scenario not in SCENARIOS:
        raise UsageError(f"scenario must be one of {', '.join(SCENARIOS)} (got {scenario!r})")
    return scenario


def baseline(setup: Setup, scenario: str) -> Systolic:
    """The baseline sized for ``scenario`` against ``setup``'s Mirage (see the module docstring)."""
    check_scenario(scenario)
    mirage, one = setup.mirage(), replace(setup.systolic, arrays=1, memory=setup.memory)
    if scenario == "iso-energy":
        budget, per_array, what = mirage.peak_power_w(), one.array_power_w(), "W at full load"
    else:
        area = mirage.area_breakdown_mm2()
        budget, per_array, what = area["photonic_tiles"] + area["trim_dacs"], one.array_area_mm2(), "mm^2"
    arrays = int(budget // per_array)
    if arrays < 1:
        raise UsageError(
            f"scenario {scenario}: Mirage's {budget:.4g} {what} is less than one {one.rows}x{one.cols} systolic "
            f"array's {per_array:.4g}: no baseline fits"
        )
    return replace(one, arrays=arrays)


def compare(gemms, setup: Setup, scenario: str = DEFAULT_SCENARIO) -> dict:
    """Both accelerators on one training step (``gemms``) under ``scenario``: the JSON object of `mirage arch`."""
    gemms = list(gemms)
    base = baseline(setup, scenario)
    m, s = setup.mirage().step(gemms), base.step(gemms)
    return {
        "scenario": scenario,
        "mirage": m.as_dict(),
        "systolic": s.as_dict(),
        "speedup": s.time_s / m.time_s,
        "edp_ratio": s.edp_js / m.edp_js,
        "power_ratio": s.power_w / m.power_w,
        "energy_ratio": s.energy_j / m.energy_j,
    }


def average_ratios(workloads: dict, setup: Setup) -> dict:
    """Per scenario, the arithmetic mean over ``workloads`` (name -> GEMMs) of each ratio."""
    out = {}
    for scenario in SCENARIOS:
        results = [compare(g, setup, scenario) for g in workloads.values()]
        out[scenario] = {r: math.fsum(x[r] for x in results) / len(results) for r in RATIOS}
    return out


def table(workloads: dict, setup: Setup, batch: int) -> tuple[str, dict]:
    """The README table: every model under both scenarios, the means, the paper's averages beside; and the data."""
    head = (
        "| model | scenario | systolic arrays | Mirage step (ms) | systolic step (ms) | speedup | EDP ratio "
        "| power ratio | Mirage util. | systolic util. |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    data = {}
    for scenario in SCENARIOS:
        arrays = baseline(setup, scenario).arrays
        for name, gemms in workloads.items():
            r = compare(gemms, setup, scenario)
            data[(name, scenario)] = r
            lines.append(
                f"| {name} | {scenario} | {arrays} | {r['mirage']['time_s'] * 1e3:.4g} "
                f"| {r['systolic']['time_s'] * 1e3:.4g} | {r['speedup']:.3g}x | {r['edp_ratio']:.3g}x "
                f"| {r['power_ratio']:.3g}x | {r['mirage']['utilisation']:.2f} | {r['systolic']['utilisation']:.2f} |"
            )
        means = {k: math.fsum(data[(n, scenario)][k] for n in workloads) / len(workloads) for k in RATIOS}
        paper = {k: PAPER.get((scenario, k)) for k in RATIOS}
        cells = " | ".join(
            f"**{means[k]:.3g}x**" + (f" (paper {paper[k]:g}x)" if paper[k] is not None else "") for k in RATIOS
        )
        lines.append(f"| **mean** | {scenario} | {arrays} | | | {cells} | | |")
    mirage = setup.mirage()
    note = (
        f"Batch {batch}. Mirage: {mirage.units} tile(s) of {setup.chip.rows} x {setup.chip.h} MMUs per modulus, "
        f"{len(setup.chip.moduli)} moduli, {setup.chip.clock_ghz:g} GHz, "
        f"{math.fsum(setup.chip.energy_pj_per_mac.values()):.4g} pJ/MAC in its devices, "
        f"{mirage.peak_power_w():.4g} W at full load, {math.fsum(mirage.area_breakdown_mm2().values()):.4g} mm^2. "
        f"Ratios are systolic over Mirage (above 1: Mirage better); means are arithmetic over the models."
    )
    return "\n".join(lines) + "\n\n" + note, data


# --- sensitivity ---------------------------------------------------------------------------------------------

Knob = tuple[str, str, str, Callable[[Setup], Setup], Callable[[Setup], Setup]]  # name, low, high labels, setters


def _chip(setup: Setup, **changes) -> Setup:
    return replace(setup, chip=replace(setup.chip, **changes))


def _part(part: str, factor: float) -> Callable[[Setup], Setup]:
    return lambda s: replace(s, chip=s.chip.scaled(part, factor))


def _memory(**scale) -> Callable[[Setup], Setup]:
    def apply(s: Setup) -> Setup:
        memory = replace(s.memory, **{k: getattr(s.memory, k) * f for k, f in scale.items()})
        return replace(s, memory=memory, systolic=replace(s.systolic, memory=memory))

    return apply


def _systolic(**scale) -> Callable[[Setup], Setup]:
    return lambda s: replace(
        s, systolic=replace(s.systolic, **{k: getattr(s.systolic, k) * f for k, f in scale.items()})
    )


def knobs(setup: Setup) -> list[Knob]:
    """The assumptions the sensitivity moves one at a time, each to a low and a high value.

    Ranges: laser wall-plug efficiency 10-40 % around the 20 % Mirage assumes (laser energy as 1/efficiency);
    ADC power, electrode drive, SRAM (8 KB to 1 MB banks in Horowitz's table: 0.5x to 5x), DRAM, the systolic
    MAC energy (node scaling) and its PE area at half and twice their figures; Mirage's clock at half and twice
    the chip's (power-over-clock parts scale as 1/f); weight loads exposed instead of double-buffered
    (utilisation) on both accelerators.
    """
    wpe = setup.chip.wall_plug_efficiency
    clock = setup.chip.clock_ghz
    return [
        ("laser wall-plug efficiency", f"{0.5 * wpe:.0%}", f"{2 * wpe:.0%}", _part("laser", 2.0), _part("laser", 0.5)),
        ("ADC power", "0.5x", "2x", _part("adc", 0.5), _part("adc", 2.0)),
        ("electrode drive energy", "0.5x", "2x", _part("electrode_drive", 0.5), _part("electrode_drive", 2.0)),
        (
            "Mirage clock",
            f"{clock / 2:g} GHz",
            f"{clock * 2:g} GHz",
            lambda s: replace(s, chip=s.chip.with_clock(s.chip.clock_ghz / 2)),
            lambda s: replace(s, chip=s.chip.with_clock(s.chip.clock_ghz * 2)),
        ),
        ("SRAM energy", "0.5x", "5x", _memory(sram_pj_per_byte=0.5), _memory(sram_pj_per_byte=5.0)),
        ("DRAM energy", "0.5x", "2x", _memory(dram_pj_per_bit=0.5), _memory(dram_pj_per_bit=2.0)),
        ("systolic MAC energy", "0.5x", "2x", _systolic(mac_pj=0.5), _systolic(mac_pj=2.0)),
        ("systolic PE area", "0.5x", "2x", _systolic(pe_area_mm2=0.5), _systolic(pe_area_mm2=2.0)),
        (
            "weight-load overlap (utilisation)",
            "exposed",
            "double-buffered",
            lambda s: replace(s, overlap_load=False),
            lambda s: replace(s, overlap_load=True),
        ),
    ]


def sensitivity(workloads: dict, setup: Setup, scenario: str, ratio: str, top: int = 5) -> dict:
    """One-at-a-time: the mean ``ratio`` under ``scenario`` at each knob's low and high; the ``top`` widest swings.

    Returns ``{"base": mean, "rows": [(name, low label, high label, mean at low, mean at high), ...]}``, widest
    first (a knob whose setting leaves no baseline is skipped).
    """
    check_scenario(scenario)
    if ratio not in RATIOS:
        raise UsageError(f"ratio must be one of {', '.join(RATIOS)} (got {ratio!r})")

    def mean(s: Setup) -> float:
        values = [compare(g, s, scenario)[ratio] for g in workloads.values()]
        return math.fsum(values) / len(values)

    rows = []
    for name, lo_label, hi_label, lo, hi in knobs(setup):
        try:
            rows.append((name, lo_label, hi_label, mean(lo(setup)), mean(hi(setup))))
        except UsageError:
            continue
    rows.sort(key=lambda r: -abs(math.log(r[4] / r[3])))
    return {"base": mean(setup), "scenario": scenario, "ratio": ratio, "rows": rows[:top]}
