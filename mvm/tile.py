"""The modular MVM tile: R MDPU rows of h MMUs for one modulus, one compiled MDPU per row.

Each physical row keeps its own per-device transmission tables (a variation
model gives every device its own values); :mod:`mvm.engine` turns them into
the tables it reads every readout from.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.compiled import CompiledMdpu, compile_mdpu
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign


@dataclass(frozen=True)
class ModulusTile:
    modulus: int
    rows: tuple[CompiledMdpu, ...]

    @property
    def h(self) -> int:
        return self.rows[0].design.h

    @property
    def mmu(self) -> MmuDesign:
        """The MMU design every row is built to (its encoding's and element's rules)."""
        return self.rows[0].design.mmu

    @property
    def size(self) -> int:
        return len(self.rows)

    @classmethod
    def from_rows(cls, rows: list[CompiledMdpu]) -> ModulusTile:
        return cls(rows[0].design.modulus, tuple(rows))


def build_tile(design: MdpuDesign, rows: int) -> ModulusTile:
    """An ideal tile: every row is the same compiled design."""
    compiled = compile_mdpu(design)
    return ModulusTile.from_rows([compiled] * rows)
