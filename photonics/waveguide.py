"""Straight waveguide: dispersive, temperature-dependent phase and propagation loss.

The propagation helpers here are shared by every device that contains a length
of waveguide (phase shifters, heaters, MZI arms, rings).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register
from photonics.sdict import amplitude_from_loss_db, reciprocal


def effective_index(wl, *, wl0_um, neff, ng, temperature_k, dn_dt_per_k):
    """neff(wl, T) = neff0 - (ng - neff0)(wl - wl0)/wl0 + dn/dT (T - 300 K).

    First-order dispersion chosen so that the group index is exactly ``ng`` at
    every wavelength.
    """
    dispersion = -(ng - neff) * (wl - wl0_um) / wl0_um
    thermal = dn_dt_per_k * (temperature_k - k.REFERENCE_TEMPERATURE_K)
    return neff + dispersion + thermal


def propagation_phase_rad(wl, *, length_um, wl0_um, neff, ng, temperature_k, dn_dt_per_k):
    """Phase 2*pi*neff(wl, T)*L/wl accumulated over ``length_um``."""
    n = effective_index(wl, wl0_um=wl0_um, neff=neff, ng=ng, temperature_k=temperature_k, dn_dt_per_k=dn_dt_per_k)
    return 2 * jnp.pi * n * length_um / wl


def propagation_amplitude(*, length_um, loss_db_cm):
    """Field amplitude after ``length_um`` of a guide losing ``loss_db_cm``."""
    return amplitude_from_loss_db(loss_db_cm * length_um * 1e-4)


@dataclass(frozen=True)
class Straight(Params):
    """Straight waveguide."""

    length_um: float = param(10.0, "um", "physical length", ge=0)
    wl0_um: float = param(k.WL_UM, "um", "reference wavelength of neff and ng", gt=0)
    neff: float = param(k.SI_NEFF, "1", "effective index at wl0 and 300 K", gt=0)
    ng: float = param(k.SI_NG, "1", "group index", gt=0)
    loss_db_cm: float = param(k.SI_LOSS_DB_CM, "dB/cm", "propagation loss", ge=0)
    temperature_k: float = param(k.REFERENCE_TEMPERATURE_K, "K", "waveguide temperature", gt=0)
    dn_dt_per_k: float = param(k.SI_DN_DT_PER_K, "1/K", "thermo-optic coefficient of neff")


@register("straight", Straight)
def straight(wl, *, length_um, wl0_um, neff, ng, loss_db_cm, temperature_k, dn_dt_per_k):
    """Straight waveguide: S21 = a*exp(1j*2*pi*neff(wl, T)*L/wl).

    ```
        o1 =========== o2
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
    )
    amp = propagation_amplitude(length_um=length_um, loss_db_cm=loss_db_cm)
    return reciprocal({("o1", "o2"): amp * jnp.exp(1j * phase)})
