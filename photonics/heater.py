"""Thermo-optic heater phase shifter.

A heater dissipating P raises the guide's temperature by dT = P * R_th. With
P_pi the power for a pi shift at wl0, dT = (P/P_pi) * wl0 / (2 * L * dn/dT),
and the extra phase 2*pi*(dn/dT)*dT*L/wl = pi*(P/P_pi)*(wl0/wl).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register
from photonics.sdict import reciprocal
from photonics.waveguide import propagation_amplitude, propagation_phase_rad


def heater_phase_rad(wl, *, power_mw, p_pi_mw, wl0_um):
    """Thermo-optic phase pi*(P/P_pi)*(wl0/wl)."""
    return jnp.pi * power_mw / p_pi_mw * (wl0_um / wl)


def heater_temperature_rise_k(*, power_mw, p_pi_mw, length_um, wl0_um, dn_dt_per_k):
    """Temperature rise of the heated guide implied by P_pi: (P/P_pi)*wl0/(2*L*dn/dT)."""
    return power_mw / p_pi_mw * wl0_um / (2 * length_um * dn_dt_per_k)


@dataclass(frozen=True)
class Heater(Params):
    """Thermo-optic heater phase shifter on a silicon waveguide."""

    length_um: float = param(100.0, "um", "heated length", gt=0)
    power_mw: float = param(0.0, "mW", "electrical heater power", ge=0)
    p_pi_mw: float = param(k.HEATER_P_PI_MW, "mW", "power for a pi phase shift at wl0", gt=0)
    loss_db_cm: float = param(k.SI_LOSS_DB_CM, "dB/cm", "propagation loss", ge=0)
    wl0_um: float = param(k.WL_UM, "um", "reference wavelength", gt=0)
    neff: float = param(k.SI_NEFF, "1", "effective index at wl0 and 300 K", gt=0)
    ng: float = param(k.SI_NG, "1", "group index", gt=0)
    temperature_k: float = param(k.REFERENCE_TEMPERATURE_K, "K", "ambient temperature of the guide", gt=0)
    dn_dt_per_k: float = param(k.SI_DN_DT_PER_K, "1/K", "thermo-optic coefficient of neff")


@register("heater", Heater)
def heater(wl, *, length_um, power_mw, p_pi_mw, loss_db_cm, wl0_um, neff, ng, temperature_k, dn_dt_per_k):
    """Thermo-optic heater: phase pi*P/P_pi on top of the guide's own phase.

    ```
          ▓▓▓▓▓▓▓  (heater, P)
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
    ) + heater_phase_rad(wl, power_mw=power_mw, p_pi_mw=p_pi_mw, wl0_um=wl0_um)
    amp = propagation_amplitude(length_um=length_um, loss_db_cm=loss_db_cm)
    return reciprocal({("o1", "o2"): amp * jnp.exp(1j * phase)})
