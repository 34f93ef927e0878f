"""Electro-optic (Pockels) phase-shifter segment.

The Pockels index change is linear in the field, so the phase is linear in the
voltage: dphi = pi * V * L / VpiL(wl), and since dphi = 2*pi*dn*L/wl at a fixed
dn, VpiL scales as wl/wl0. The segment's passive waveguide adds its own
dispersive, temperature-dependent propagation phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register
from photonics.sdict import amplitude_from_loss_db, reciprocal
from photonics.waveguide import propagation_phase_rad


def eo_phase_rad(wl, *, voltage_v, length_um, vpil_v_cm, wl0_um):
    """Electro-optic phase pi*V*L/VpiL, with VpiL given at ``wl0_um``."""
    return jnp.pi * voltage_v * (length_um * 1e-4) / vpil_v_cm * (wl0_um / wl)


@dataclass(frozen=True)
class PhaseShifterEO(Params):
    """Electro-optic phase-shifter segment (travelling-wave Pockels section)."""

    length_um: float = param(2000.0, "um", "electrode (interaction) length", ge=0)
    voltage_v: float = param(0.0, "V", "drive voltage")
    vpil_v_cm: float = param(k.EO_VPIL_V_CM, "V*cm", "half-wave voltage-length product at wl0", gt=0)
    loss_db: float = param(k.PHASE_SHIFTER_LOSS_DB, "dB", "insertion loss of the segment", ge=0)
    wl0_um: float = param(k.WL_UM, "um", "reference wavelength", gt=0)
    neff: float = param(k.EO_NEFF, "1", "effective index at wl0 and 300 K", gt=0)
    ng: float = param(k.EO_NG, "1", "group index", gt=0)
    temperature_k: float = param(k.REFERENCE_TEMPERATURE_K, "K", "waveguide temperature", gt=0)
    dn_dt_per_k: float = param(k.EO_DN_DT_PER_K, "1/K", "thermo-optic coefficient of neff")


@register("phase_shifter_eo", PhaseShifterEO)
def phase_shifter_eo(wl, *, length_um, voltage_v, vpil_v_cm, loss_db, wl0_um, neff, ng, temperature_k, dn_dt_per_k):
    """Electro-optic phase-shifter segment: phase linear in voltage.

    ```
             V
        ─────┴─────
        o1 ═══════ o2
    ```
    """
    phase = propagation_phase_rad(
        wl,
        length_um=length_um,
        wl0_um=wl0_um,
        neff=neff,
        ng=ng,
        temperature_k=temperature_k,
        dn_dt_per_k=dn_dt_per_k,
    ) + eo_phase_rad(wl, voltage_v=voltage_v, length_um=length_um, vpil_v_cm=vpil_v_cm, wl0_um=wl0_um)
    return reciprocal({("o1", "o2"): amplitude_from_loss_db(loss_db) * jnp.exp(1j * phase)})
