"""The chip's calibration actuators: the only things calibration may set (``[actuators]`` of the chip file).

- **Drive trim** (``drive_trim``): a trim DAC that scales a driver's swing by a
  gain in [1 - range, 1 + range], quantised to ``trim_bits``. Its granularity says
  what one trim drives:

  - ``none``: no trim; the drive is the drawing's.
  - ``per-column``: the shared input drive of an MMU column (all rows of the tile);
    one trim per input DAC of the column (one per MMU with a shared drive, else one
    per segment).
  - ``per-mmu``: one trim per MMU (every row): it sets that MMU's driver swing, all
    its segments together.
  - ``per-segment``: one trim per segment of every MMU of every row.

  Each trim DAC costs ``trim_dac_power_uw`` of static power and
  ``trim_dac_area_um2`` of area.
- **LO bias heaters** (one per row, with the LO arm's other heaters): powers in
  [0, ``lo_heater_max_mw``]; a heater only heats.
- **Ring heaters** (ring-assisted element, one per ring): powers in
  [0, ``ring_heater_max_mw``], one free spectral range at most (heating only);
  costed in the budget, though calibration refuses ring-assisted chips today.

:func:`actuator_budget` gives the static power and area of a chip's actuators
for given heater powers (the calibrated state, from
:func:`calibration.calibrate.calibrated_budget`), which the energy model adds to
the energy per MAC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import Field, StrictFloat, StrictInt

from mvm.schema import doc, one_of, section

if TYPE_CHECKING:
    from mvm.config import ChipConfig

DRIVE_TRIMS = ("none", "per-column", "per-mmu", "per-segment")


@section
class ActuatorsConfig:
    """What calibration may set: drive trim DACs, LO bias heaters and ring heaters, with their limits and cost."""

    drive_trim: Annotated[
        one_of(DRIVE_TRIMS),
        doc(f"what one drive trim DAC scales: {' | '.join(DRIVE_TRIMS)} (none: no trims)"),
    ] = "per-mmu"
    # A driver's swing trimmed by +-10 % covers the Pockels efficiency spread (2 % global,
    # 1 % local, [variation] eo_efficiency_rel) beyond 4 sigma.
    trim_range_rel: Annotated[
        StrictFloat, Field(gt=0, lt=1), doc("a trim's gain spans 1 - range .. 1 + range (relative)")
    ] = 0.1
    # 8 bits: the resolution of the ams AG DAC8 cell (ams C35 analogue library datasheet, "DAC8 8-Bit DAC");
    # over +-10 % one step is 0.08 %, 0.005 rad at the 2*pi*(m-1)/m full swing of one MMU.
    trim_bits: Annotated[StrictInt, Field(ge=1, le=16), doc("resolution of a trim DAC (bits)")] = 8
    # ams AG DAC8 datasheet: 0.13 mW supply power (1 V reference span) and 0.133 mm^2 (358 x 372 um) at 0.35 um;
    # conservative for a trim DAC in a finer node.
    trim_dac_power_uw: Annotated[
        StrictFloat, Field(ge=0), doc("static power of one trim DAC (uW), counted in the energy per MAC")
    ] = 130.0
    trim_dac_area_um2: Annotated[StrictFloat, Field(ge=0), doc("area of one trim DAC (um^2)")] = 133_000.0
    # A heater must move its row's read phase by a full turn. On its own guide that is 2 P_pi = 40 mW at the
    # default P_pi of 20 mW, but part of its heat reaches the signal arm's first devices, which turn the other
    # way: in the default layout a row turns by about 0.097 rad/mW, so a full turn takes about 65 mW. Silicon
    # thermo-optic phase shifters run at P_pi ~ 20-25 mW over more than 2*pi (Harris et al., Opt. Express 22,
    # 10487, 2014: a doped-silicon heater, 24.8 mW per pi); 80 mW = 4 P_pi covers the turn with margin.
    lo_heater_max_mw: Annotated[
        StrictFloat, Field(gt=0), doc("most power of one LO bias heater (mW); heaters only heat")
    ] = 80.0
    # Liu et al., Opt. Lett. 45, 6318 (2020): a thin-film-LN ring with thermal-isolation trenches tuned
    # over a full free spectral range with 14.9 mW.
    ring_heater_max_mw: Annotated[
        StrictFloat, Field(gt=0), doc("most power of one ring heater (mW); heaters only heat")
    ] = 15.0


def drive_trim_groups(actuators: ActuatorsConfig, shape: tuple[int, int, int], shared_drive: bool) -> np.ndarray | None:
    """(R, h, B) index of the trim DAC that scales each segment's drive; None without trims.

    ``shared_drive``: every segment of an MMU takes one input drive (one input DAC per
    MMU column), which ``per-column`` then trims as one.
    """
    rows, h, segments = shape
    r, c, b = np.meshgrid(np.arange(rows), np.arange(h), np.arange(segments), indexing="ij")
    kind = actuators.drive_trim
    if kind == "none":
        return None
    if kind == "per-column":
        return c * segments + (0 if shared_drive else b)
    if kind == "per-mmu":
        return r * h + c
    return (r * h + c) * segments + b  # per-segment


def trim_dacs(actuators: ActuatorsConfig, shape: tuple[int, int, int], shared_drive: bool) -> int:
    """Number of trim DACs of one tile of ``shape`` (R, h, B)."""
    groups = drive_trim_groups(actuators, shape, shared_drive)
    return 0 if groups is None else len(np.unique(groups))


def quantise_gain(gain: np.ndarray, actuators: ActuatorsConfig) -> tuple[np.ndarray, np.ndarray]:
    """Gains a trim DAC can set nearest ``gain``, and where ``gain`` lay outside its range (clipped).

    The 2**bits codes span 1 - range .. 1 + range evenly.
    """
    low, span = 1 - actuators.trim_range_rel, 2 * actuators.trim_range_rel
    steps = 2**actuators.trim_bits - 1
    gain = np.asarray(gain, dtype=float)
    code = np.clip(np.round((gain - low) / span * steps), 0, steps)
    clipped = (gain < low) | (gain > low + span)
    return low + code * span / steps, clipped


@dataclass(frozen=True)
class ActuatorBudget:
    """Static power and area of a chip's actuators (all tiles)."""

    trim_dacs: int  # drive trim DACs, every tile
    trim_power_mw: float
    lo_heater_power_mw: float  # every LO-arm heater of every row
    ring_heater_power_mw: float
    area_mm2: float  # the trim DACs' (the heaters sit on the guides they heat)

    @property
    def static_power_mw(self) -> float:
        return self.trim_power_mw + self.lo_heater_power_mw + self.ring_heater_power_mw

    def as_dict(self) -> dict:
        return {
            "trim_dacs": self.trim_dacs,
            "trim_power_mw": self.trim_power_mw,
            "lo_heater_power_mw": self.lo_heater_power_mw,
            "ring_heater_power_mw": self.ring_heater_power_mw,
            "static_power_mw": self.static_power_mw,
            "area_mm2": self.area_mm2,
        }


def actuator_budget(
    config: ChipConfig,
    lo_heater_power_mw: float | None = None,
    ring_heater_power_mw: float | None = None,
) -> ActuatorBudget:
    """Static power (mW) and area (mm^2) of ``config``'s actuators, every tile.

    ``lo_heater_power_mw`` and ``ring_heater_power_mw``: the heaters' total power in
    the calibrated state (:func:`calibration.calibrate.calibrated_budget`); None: the
    expected value of an uncalibrated chip, every heater at half its range (a
    target phase uniform over a turn) plus the LO arm's fixed quarter-wave heater.
    """
    from circuits.mdpu import lo_heater_powers_mw
    from circuits.mmu_design import Trim

    act = config.actuators
    rows, h = config.tile.rows, config.tile.h
    dacs, lo, ring = 0, 0.0, 0.0
    for m in config.all_moduli:
        mmu = config.mdpu_design(m).mmu
        dacs += trim_dacs(act, (rows, h, mmu.segments), mmu.shared_drive)
        if lo_heater_power_mw is None:
            p_pi = config.heater.p_pi_mw
            lo += rows * sum(float(np.sum(p)) for p in lo_heater_powers_mw(p_pi, p_pi).values())
        if ring_heater_power_mw is None and mmu.element_rules.trim is Trim.RING_LOCK:
            ring += rows * h * mmu.segments * act.ring_heater_max_mw / 2
    return ActuatorBudget(
        trim_dacs=dacs,
        trim_power_mw=dacs * act.trim_dac_power_uw * 1e-3,
        lo_heater_power_mw=lo if lo_heater_power_mw is None else float(lo_heater_power_mw),
        ring_heater_power_mw=ring if ring_heater_power_mw is None else float(ring_heater_power_mw),
        area_mm2=dacs * act.trim_dac_area_um2 * 1e-6,
    )
