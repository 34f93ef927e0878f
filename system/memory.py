"""The memory system both accelerators share, and how a weight-stationary array schedules one GEMM on it.

Both accelerators (:mod:`system.accelerator`, :mod:`system.systolic`) hold a ``k_tile x n_tile`` block of the
stationary operand B in each of their ``units`` arrays and stream A's m rows through it, one row per clock cycle;
:func:`schedule` counts the cycles, the on-chip buffer (SRAM) traffic and the off-chip (DRAM) traffic of that
dataflow, the same way for both.

Figures (each a cited published number, at its stated node):

- SRAM: 20 pJ per 64-bit read of a 32 KB SRAM at 45 nm, 2.5 pJ per byte (M. Horowitz, "Computing's energy
  problem (and what we can do about it)", ISSCC 2014); a large buffer is banked, and a bank is of that size.
- SRAM capacity and area: a 24 MiB buffer, TPUv1's unified buffer, which takes 29 % of a die of at most 331 mm^2
  in 28 nm, about 4.0 mm^2 per MiB (N. P. Jouppi et al., "In-datacenter performance analysis of a tensor
  processing unit", ISCA 2017).
- DRAM: HBM2 at 3.9 pJ per bit (M. O'Connor et al., "Fine-grained DRAM: energy-efficient DRAM for extreme
  bandwidth systems", MICRO 2017) and 900 GB/s, TPUv3's HBM bandwidth (N. P. Jouppi et al., "A domain-specific
  supercomputer for training deep neural networks", Commun. ACM 63(7), 2020).

Operands are bf16 (2 bytes) in both memories, partial sums fp32 (4 bytes). DRAM traffic is the compulsory
traffic of each product (A and B read once, C written once): a lower bound, equal for both accelerators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from photonics.errors import UsageError
from system.workloads import Gemm

OPERAND_BYTES = 2  # bf16 operands in SRAM and DRAM
PARTIAL_BYTES = 4  # fp32 partial sums


@dataclass(frozen=True)
class Memory:
    """The on-chip buffer and off-chip memory that both accelerators use (figures: the module docstring)."""

    sram_pj_per_byte: float = 20.0 / 8  # Horowitz, ISSCC 2014: 32 KB SRAM, 64-bit read, 45 nm
    sram_mib: float = 24.0  # Jouppi et al., ISCA 2017: TPUv1's unified buffer
    sram_mm2_per_mib: float = 0.29 * 331.0 / 24.0  # Jouppi et al., ISCA 2017: 29 % of <= 331 mm^2 at 28 nm
    dram_pj_per_bit: float = 3.9  # O'Connor et al., MICRO 2017: HBM2
    dram_gb_per_s: float = 900.0  # Jouppi et al., CACM 2020: TPUv3's HBM

    def __post_init__(self):
        for name, value in vars(self).items():
            if not value > 0:
                raise UsageError(f"memory {name} must be > 0 (got {value!r})")

    @property
    def area_mm2(self) -> float:
        return self.sram_mib * self.sram_mm2_per_mib


@dataclass(frozen=True)
class Schedule:
    """One GEMM on ``units`` weight-stationary arrays: cycles, array slots, traffic."""

    passes: int  # weight blocks: ceil(k / k_tile) * ceil(n / n_tile) * count
    rounds: int  # ceil(passes / units): passes run ``units`` at a time
    streaming_cycles: int  # cycles in which operands stream: rounds * m
    cycles: int  # the product's compute cycles: streaming, exposed weight loads, pipeline fill
    slot_cycles: int  # unit-cycles of streaming that the passes occupy: passes * m
    weights_loaded: int  # stationary elements written into the arrays (padded blocks): passes * k_tile * n_tile
    sram_bytes: int
    dram_bytes: int


def schedule(
    gemm: Gemm, *, k_tile: int, n_tile: int, units: int, load_cycles: int, fill_cycles: int, overlap_load: bool
) -> Schedule:
    """How ``units`` arrays of ``k_tile x n_tile`` run ``gemm`` weight-stationary (see the module docstring).

    Each pass loads one block of B (``load_cycles``; hidden behind the previous pass's stream when
    ``overlap_load``, double-buffered weights, except the first) and streams A's m rows through it, one per
    cycle; the pipeline fills once per product (``fill_cycles``: passes stream back to back). A pass reads its
    m x k_tile block of A and its block of B from SRAM and adds its m x n_tile partial sums into C there
    (written by the first block along k, read and written by the others).
    """
    m, k, n = gemm.m, gemm.k, gemm.n
    chunks, blocks = math.ceil(k / k_tile), math.ceil(n / n_tile)
    passes = chunks * blocks * gemm.count
    rounds = math.ceil(passes / units)
    per_pass = max(m, load_cycles) if overlap_load else m + load_cycles
    cycles = rounds * per_pass + fill_cycles + (load_cycles if overlap_load else 0)
    sram = gemm.count * (OPERAND_BYTES * (m * k * blocks + k * n) + PARTIAL_BYTES * m * n * (2 * chunks - 1))
    dram = gemm.count * OPERAND_BYTES * (m * k + k * n + m * n)
    return Schedule(
        passes=passes,
        rounds=rounds,
        streaming_cycles=rounds * m,
        cycles=cycles,
        slot_cycles=passes * m,
        weights_loaded=passes * k_tile * n_tile,
        sram_bytes=sram,
        dram_bytes=dram,
    )


def step_time_s(cycles: int, clock_ghz: float, dram_bytes: int, memory: Memory) -> float:
    """A product's time: its compute cycles or its DRAM transfer, whichever is longer (a roofline)."""
    return max(cycles / (clock_ghz * 1e9), dram_bytes / (memory.dram_gb_per_s * 1e9))


def memory_energy_j(sram_bytes: int, dram_bytes: int, memory: Memory) -> dict[str, float]:
    return {
        "sram": sram_bytes * memory.sram_pj_per_byte * 1e-12,
        "dram": dram_bytes * 8 * memory.dram_pj_per_bit * 1e-12,
    }


@dataclass(frozen=True)
class StepResult:
    """One training step on one accelerator: time, energy and area by part, utilisation."""

    name: str
    time_s: float
    energy_breakdown_j: dict
    area_breakdown_mm2: dict
    macs: int
    utilisation: float  # useful MACs / MAC slots of the arrays while operands stream
    cycles: int
    units: int  # arrays (tiles) of the accelerator

    @property
    def energy_j(self) -> float:
        return math.fsum(self.energy_breakdown_j.values())

    @property
    def area_mm2(self) -> float:
        return math.fsum(self.area_breakdown_mm2.values())

    @property
    def edp_js(self) -> float:
        return self.energy_j * self.time_s

    @property
    def power_w(self) -> float:
        return self.energy_j / self.time_s

    def as_dict(self) -> dict:
        return {
            "time_s": self.time_s,
            "energy_j": self.energy_j,
            "edp_js": self.edp_js,
            "power_w": self.power_w,
            "area_mm2": self.area_mm2,
            "utilisation": self.utilisation,
            "energy_breakdown_j": dict(self.energy_breakdown_j),
            "area_breakdown_mm2": dict(self.area_breakdown_mm2),
            "macs": self.macs,
            "cycles": self.cycles,
            "units": self.units,
        }


def check_gemms(gemms) -> list[Gemm]:
    gemms = list(gemms)
    if not gemms:
        raise UsageError("the workload has no GEMMs")
    return gemms
