"""The Mirage accelerator: the chip file's tiles running a training step, timed and costed.

**From the chip** (:func:`chip_figures`, taken from :func:`mvm.design.design_report`, nothing restated): the clock,
R = ``[tile] rows`` rows of h MMUs per modulus, the moduli (redundant ones included), the tile's laid-out area,
the energy per MAC by part with each laser sized by the link budget (:func:`mvm.design.chip_energy_pj_per_mac`),
the weight reuse that energy assumes (:class:`mvm.energy.EnergyModel`), the trim DACs' area
(:func:`mvm.actuators.actuator_budget`) and the signal arm's length. The accelerator holds as many tiles as fit in
``[design] max_area_mm2`` (one reticle by default) unless told otherwise.

**Mapping** (as :func:`mvm.gemm.rns_gemm` runs a product): a tile holds an h x R block of B (element k on MMU
k mod h, column n on row n mod R, every modulus at once) and streams A's rows, one per clock cycle; each
(chunk of h, row of A, column of B) is one readout per modulus. A product takes ceil(k/h) * ceil(n/R) passes,
shared out over the tiles (:func:`system.memory.schedule`). Weight load: the digital-product MMU holds its
weight in a register beside it (:mod:`mvm.energy`), written one MMU column of all R rows per cycle, h cycles a
block, double-buffered. Pipeline fill: the light's transit of the signal arm (its length at the Pockels guide's
group index, :data:`photonics.constants.EO_NG`) plus one cycle each for the input DAC and the ADC.

**Energy**: the device parts of the chip's energy per MAC, per part, charged per streamed tile-cycle (R*h MAC
slots, padded ones included) for the parts that switch with the data (ADCs, TIAs, input DACs, electrodes,
product logic), per weight written for the weight DACs, and as static power over the whole step for the
continuous-wave lasers, heaters and trim DACs. The RNS-BFP digital periphery, at 45 nm from M. Horowitz,
"Computing's energy problem (and what we can do about it)", ISSCC 2014 (8-bit add 0.03 pJ, 8-bit multiply
0.2 pJ, 32-bit add 0.1 pJ, fp32 add 0.9 pJ; a b-bit multiply scaled as (b/8)**2):

- BFP quantisation: per element of A and B, once per product: an 8-bit exponent compare and an 8-bit mantissa
  shift-and-round (two 8-bit adds);
- forward conversion: per element entering a tile and modulus (A's streamed elements, B's loaded weights): one
  conditional 8-bit add/subtract reduces a signed mantissa of at most 8 bits mod m;
- CRT: per readout (row and cycle, all moduli): one multiply per modulus and one final reduction, each at the
  dynamic range's width (ceil(log2 M) bits), and one 32-bit add per modulus;
- accumulation: per readout, the chunk sum scaled by the group's exponents (an 8-bit add) and added into its
  fp32 partial sum (fp32 add).

SRAM and DRAM: :mod:`system.memory`, the same for the baseline. Area: the tiles, their trim DACs and the SRAM
buffer (converters and digital logic, on the electronic die under the photonic one, are not counted: the repo
has no per-converter area at this clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType

from photonics.errors import UsageError
from system.memory import Memory, StepResult, check_gemms, memory_energy_j, schedule, step_time_s

# Parts of the chip's energy per MAC (mvm.energy.rns_breakdown_pj_per_mac) by how they are charged.
STREAMING_PARTS = ("adc", "tia", "input_dac", "electrode_drive", "product_logic")  # per streamed tile-cycle
STATIC_PARTS = ("laser", "heaters", "trim_dacs")  # continuous power over the step
LOAD_PARTS = ("weight_dac",)  # per weight written
# Parts whose per-MAC energy is a power over the clock (E = P / f): they scale as 1/f when the clock moves.
POWER_PARTS = ("adc", "tia", "laser", "input_dac", "weight_dac", "heaters", "trim_dacs")

# Horowitz, ISSCC 2014, 45 nm (pJ)
ADD_8BIT_PJ = 0.03
MULTIPLY_8BIT_PJ = 0.2
ADD_32BIT_PJ = 0.1
FP32_ADD_PJ = 0.9
CONVERTER_CYCLES = 2  # one cycle each through the input DAC's register and the ADC's sample


@dataclass(frozen=True)
class ChipFigures:
    """What the system model takes from the chip's design report (see the module docstring)."""

    clock_ghz: float
    rows: int  # R
    h: int
    moduli: tuple[int, ...]  # every modulus, redundant ones included
    tile_area_mm2: float
    max_area_mm2: float  # [design] max_area_mm2: one reticle by default
    trim_area_mm2: float  # the trim DACs of one tile
    energy_pj_per_mac: MappingProxyType = field(hash=False)  # by part, no total
    weight_reuse: int  # readouts per weight load the energy per MAC assumes (EnergyModel)
    transit_cycles: int  # the light's transit of the signal arm, in cycles
    wall_plug_efficiency: float  # the laser's ([laser]), which the laser part's energy is divided by

    def __post_init__(self):
        object.__setattr__(self, "energy_pj_per_mac", MappingProxyType(dict(self.energy_pj_per_mac)))
        unknown = set(self.energy_pj_per_mac) - set(STREAMING_PARTS + STATIC_PARTS + LOAD_PARTS)
        if unknown:
            raise ValueError(f"energy parts with no charging rule: {sorted(unknown)}")

    @property
    def dynamic_range_bits(self) -> int:
        return math.ceil(math.log2(math.prod(self.moduli)))

    def with_clock(self, clock_ghz: float) -> ChipFigures:
        """The same chip at another clock: power-over-clock parts scale as 1/f, per-event energies stay."""
        ratio = self.clock_ghz / clock_ghz
        energy = {k: v * ratio if k in POWER_PARTS else v for k, v in self.energy_pj_per_mac.items()}
        return replace(self, clock_ghz=clock_ghz, energy_pj_per_mac=energy)

    def scaled(self, part: str, factor: float) -> ChipFigures:
        """The same chip with one energy part scaled by ``factor``."""
        energy = dict(self.energy_pj_per_mac)
        energy[part] *= factor
        return replace(self, energy_pj_per_mac=energy)


def figures_from_report(config, report: dict) -> ChipFigures:
    """The figures of ``config``'s chip from its design report (:func:`mvm.design.design_report`)."""
    from mvm.actuators import actuator_budget
    from mvm.energy import EnergyModel
    from photonics.constants import C_UM_PER_S, EO_NG

    transit_ns = report["signal_arm_length_mm"] * 1e3 * EO_NG / C_UM_PER_S * 1e9
    return ChipFigures(
        clock_ghz=report["clock_ghz"],
        rows=report["rows"],
        h=report["h"],
        moduli=tuple(report["all_moduli"]),
        tile_area_mm2=report["tile_area_mm2"],
        max_area_mm2=report["max_area_mm2"],
        trim_area_mm2=actuator_budget(config).area_mm2,
        energy_pj_per_mac={k: v for k, v in report["energy_pj_per_mac"].items() if k != "total"},
        weight_reuse=EnergyModel().weight_reuse,
        transit_cycles=math.ceil(transit_ns * report["clock_ghz"]),
        wall_plug_efficiency=config.laser.wall_plug_efficiency,
    )


@lru_cache(maxsize=4)
def chip_figures(config) -> ChipFigures:
    """The figures of ``config``'s chip (its design report: about 15 s for the default chip; cached)."""
    from mvm.design import design_report

    return figures_from_report(config, design_report(config))


@dataclass(frozen=True)
class Mirage:
    """The accelerator: ``tiles`` tiles of the chip (None: as many as fit in the chip's max area)."""

    chip: ChipFigures
    tiles: int | None = None
    memory: Memory = Memory()
    overlap_load: bool = True  # weights double-buffered: a block loads while the previous one streams

    def __post_init__(self):
        if self.tiles is not None and (not isinstance(self.tiles, int) or self.tiles < 1):
            raise UsageError(f"tiles must be an integer >= 1 (got {self.tiles!r})")
        if self.units < 1:
            raise UsageError(
                f"the tile ({self.chip.tile_area_mm2:.4g} mm^2) does not fit in [design] max_area_mm2 = "
                f"{self.chip.max_area_mm2:g} mm^2"
            )

    @property
    def units(self) -> int:
        return self.tiles if self.tiles is not None else int(self.chip.max_area_mm2 // self.chip.tile_area_mm2)

    @property
    def macs_per_cycle(self) -> int:
        return self.units * self.chip.rows * self.chip.h

    @property
    def load_cycles(self) -> int:
        return self.chip.h

    @property
    def fill_cycles(self) -> int:
        return self.chip.transit_cycles + CONVERTER_CYCLES

    def area_breakdown_mm2(self) -> dict[str, float]:
        return {
            "photonic_tiles": self.units * self.chip.tile_area_mm2,
            "trim_dacs": self.units * self.chip.trim_area_mm2,
            "sram": self.memory.area_mm2,
        }

    def peak_power_w(self) -> float:
        """Power with every tile streaming: every device part (the digital periphery and memory left out)."""
        pj_per_mac = math.fsum(self.chip.energy_pj_per_mac.values())
        return pj_per_mac * self.macs_per_cycle * self.chip.clock_ghz * 1e-3

    def periphery_pj(self) -> dict[str, float]:
        """Energy of one digital operation of each kind (see the module docstring)."""
        bits = self.chip.dynamic_range_bits
        n = len(self.chip.moduli)
        wide_multiply = MULTIPLY_8BIT_PJ * (bits / 8) ** 2
        return {
            "bfp_quantise": 2 * ADD_8BIT_PJ,  # per element of A and B
            "forward_conversion": ADD_8BIT_PJ,  # per element entering a tile, per modulus
            "crt": (n + 1) * wide_multiply + n * ADD_32BIT_PJ,  # per readout
            "accumulate": ADD_8BIT_PJ + FP32_ADD_PJ,  # per readout
        }

    def step(self, gemms) -> StepResult:
        """One training step of ``gemms`` (a list of :class:`system.workloads.Gemm`)."""
        gemms = check_gemms(gemms)
        chip, units = self.chip, self.units
        slots_per_cycle = chip.rows * chip.h
        time_s = 0.0
        totals = dict(streamed=0, slot_cycles=0, weights=0, elements=0, sram=0, dram=0, cycles=0, macs=0)
        for g in gemms:
            s = schedule(
                g,
                k_tile=chip.h,
                n_tile=chip.rows,
                units=units,
                load_cycles=self.load_cycles,
                fill_cycles=self.fill_cycles,
                overlap_load=self.overlap_load,
            )
            time_s += step_time_s(s.cycles, chip.clock_ghz, s.dram_bytes, self.memory)
            totals["streamed"] += s.slot_cycles  # tile-cycles in which a tile streams (idle tiles draw nothing)
            totals["slot_cycles"] += s.streaming_cycles * units
            totals["weights"] += s.weights_loaded
            totals["elements"] += g.count * (g.m * g.k + g.k * g.n)
            totals["sram"] += s.sram_bytes
            totals["dram"] += s.dram_bytes
            totals["cycles"] += s.cycles
            totals["macs"] += g.macs
        e = chip.energy_pj_per_mac
        pj = {}
        for part in STREAMING_PARTS:
            pj[part] = e.get(part, 0.0) * slots_per_cycle * totals["streamed"]
        for part in LOAD_PARTS:  # the per-MAC figure spreads one weight's load over weight_reuse readouts of h MACs
            pj[part] = e.get(part, 0.0) * chip.weight_reuse * totals["weights"]
        static_w = {p: e.get(p, 0.0) * slots_per_cycle * units * chip.clock_ghz * 1e-3 for p in STATIC_PARTS}
        op = self.periphery_pj()
        readouts = totals["streamed"] * chip.rows
        n_moduli = len(chip.moduli)
        pj["bfp_quantise"] = op["bfp_quantise"] * totals["elements"]
        pj["forward_conversion"] = (
            op["forward_conversion"] * n_moduli * (totals["streamed"] * chip.h + totals["weights"])
        )
        pj["crt"] = op["crt"] * readouts
        pj["accumulate"] = op["accumulate"] * readouts
        energy = {k: v * 1e-12 for k, v in pj.items()}
        energy.update({p: w * time_s for p, w in static_w.items()})
        energy.update(memory_energy_j(totals["sram"], totals["dram"], self.memory))
        return StepResult(
            name="mirage",
            time_s=time_s,
            energy_breakdown_j=energy,
            area_breakdown_mm2=self.area_breakdown_mm2(),
            macs=totals["macs"],
            utilisation=totals["macs"] / (totals["slot_cycles"] * slots_per_cycle),
            cycles=totals["cycles"],
            units=units,
        )
