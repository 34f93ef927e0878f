"""Edge coupler: the fibre-to-chip interface through which each row's laser light enters the chip.

Not an S-parameter model of the MDPU netlist (the netlist starts at the row's
input): the link budget (:mod:`mvm.design`) divides the power the row needs by
its transmission to get the power the laser must emit.

Default: 1.7 dB per facet, measured for a bilayer inverse taper into thin-film
lithium niobate (He et al., "Low-loss fiber-to-chip interface for lithium
niobate photonic integrated circuits", Opt. Lett. 44, 2314 (2019)). Mirage
assumed 0.2 dB.
"""

from __future__ import annotations

from dataclasses import dataclass

from photonics.parameters import Params, param
from photonics.registry import register_parameters


@dataclass(frozen=True)
class EdgeCoupler(Params):
    """Fibre-to-chip edge coupler of one row's optical input."""

    loss_db: float = param(1.7, "dB", "insertion loss of one facet, fibre mode to the chip's guide", ge=0, le=30)

    @property
    def transmission(self) -> float:
        """Power transmission 10**(-loss_db/10)."""
        return 10 ** (-self.loss_db / 10)


register_parameters("edge_coupler", EdgeCoupler, "source")
