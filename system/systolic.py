"""The baseline: TPU-like weight-stationary systolic arrays of bf16 MACs on the same memory system.

Each array is ``rows x cols`` processing elements (128 x 128, TPUv2/v3's matrix unit: N. P. Jouppi et al., "A
domain-specific supercomputer for training deep neural networks", Commun. ACM 63(7), 2020), holding a rows x cols
block of B (k along the rows, n along the columns) and streaming A's rows through it, one per cycle
(:func:`system.memory.schedule`, as for Mirage's tiles). Weights load one row per cycle (``rows`` cycles),
double-buffered as in the TPU (Jouppi et al., ISCA 2017); operands skew through the array, so the pipeline fills
in rows + cols - 1 cycles.

Figures:

- clock 0.94 GHz, TPUv3's (Jouppi et al., CACM 2020);
- energy per MAC: a bf16 multiply and an fp32 accumulate, 1.1 pJ (fp16 multiply, an upper bound for bf16's
  8-bit significand) + 0.9 pJ (fp32 add) = 2.0 pJ at 45 nm (M. Horowitz, ISSCC 2014), the node of the digital
  figures on Mirage's side;
- area per PE: TPUv1's matrix unit holds 256 x 256 8-bit MACs in 24 % of a die of at most 331 mm^2 at 28 nm,
  0.0012 mm^2 per MAC (Jouppi et al., ISCA 2017); a bf16 PE is taken as three of them (its 8 x 8-bit significand
  multiply is the int8 MAC's; the fp32 adder with its alignment and normalisation about twice that), 0.0036 mm^2.

SRAM and DRAM: :class:`system.memory.Memory`, shared with Mirage. Static power is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from photonics.errors import UsageError
from system.memory import Memory, StepResult, check_gemms, memory_energy_j, schedule, step_time_s

INT8_MAC_AREA_MM2 = 0.24 * 331.0 / (256 * 256)  # Jouppi et al., ISCA 2017: TPUv1 at 28 nm


@dataclass(frozen=True)
class Systolic:
    """``arrays`` weight-stationary arrays of ``rows x cols`` bf16 MACs (figures: the module docstring)."""

    arrays: int = 1
    rows: int = 128
    cols: int = 128
    clock_ghz: float = 0.94  # TPUv3 (Jouppi et al., CACM 2020)
    mac_pj: float = 1.1 + 0.9  # Horowitz, ISSCC 2014, 45 nm: fp16 multiply + fp32 add
    pe_area_mm2: float = 3 * INT8_MAC_AREA_MM2
    memory: Memory = Memory()

    def __post_init__(self):
        for name in ("arrays", "rows", "cols"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"systolic {name} must be an integer >= 1 (got {value!r})")
        for name in ("clock_ghz", "mac_pj", "pe_area_mm2"):
            if not getattr(self, name) > 0:
                raise UsageError(f"systolic {name} must be > 0 (got {getattr(self, name)!r})")

    @property
    def pes(self) -> int:
        return self.arrays * self.rows * self.cols

    def array_area_mm2(self) -> float:
        return self.rows * self.cols * self.pe_area_mm2

    def array_power_w(self) -> float:
        """One array's power with every PE busy."""
        return self.rows * self.cols * self.mac_pj * self.clock_ghz * 1e-3

    def peak_power_w(self) -> float:
        return self.arrays * self.array_power_w()

    def area_breakdown_mm2(self) -> dict[str, float]:
        return {"pe_arrays": self.arrays * self.array_area_mm2(), "sram": self.memory.area_mm2}

    def step(self, gemms) -> StepResult:
        """One training step of ``gemms`` (a list of :class:`system.workloads.Gemm`)."""
        gemms = check_gemms(gemms)
        time_s, sram, dram, cycles, macs, slots = 0.0, 0, 0, 0, 0, 0
        for g in gemms:
            s = schedule(
                g,
                k_tile=self.rows,
                n_tile=self.cols,
                units=self.arrays,
                load_cycles=self.rows,
                fill_cycles=self.rows + self.cols - 1,
                overlap_load=True,
            )
            time_s += step_time_s(s.cycles, self.clock_ghz, s.dram_bytes, self.memory)
            sram, dram, cycles, macs = sram + s.sram_bytes, dram + s.dram_bytes, cycles + s.cycles, macs + g.macs
            slots += s.streaming_cycles * self.arrays
        energy = {"mac": macs * self.mac_pj * 1e-12} | memory_energy_j(sram, dram, self.memory)
        return StepResult(
            name="systolic",
            time_s=time_s,
            energy_breakdown_j=energy,
            area_breakdown_mm2=self.area_breakdown_mm2(),
            macs=macs,
            utilisation=macs / (slots * self.rows * self.cols),
            cycles=cycles,
            units=self.arrays,
        )
