"""Mach-Zehnder interferometer: two 2x2 couplers, two arms, a heater on the top arm.

With ideal 50:50 couplers and equal arms the light crosses (o1 -> o3):
T_cross = cos^2(dphi/2) and T_bar = sin^2(dphi/2), where dphi is the top arm's
phase minus the bottom arm's.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from photonics import constants as k
from photonics.coupler import coupler_fields
from photonics.heater import heater_phase_rad
from photonics.parameters import Params, param
from photonics.registry import register
from photonics.sdict import reciprocal
from photonics.waveguide import propagation_amplitude, propagation_phase_rad


@dataclass(frozen=True)
class Mzi(Params):
    """2x2 Mach-Zehnder interferometer with a heater on the top arm."""

    kappa1: float = param(0.5, "1", "power coupling of the input coupler at wl0", ge=0, le=1)
    kappa2: float = param(0.5, "1", "power coupling of the output coupler at wl0", ge=0, le=1)
    kappa_dispersion: float = param(k.DC_KAPPA_DISPERSION, "1", "coupling-angle exponent of both couplers")
    coupler_loss_db: float = param(0.0, "dB", "excess loss of each coupler", ge=0)
    length_um: float = param(100.0, "um", "bottom arm length", ge=0)
    delta_length_um: float = param(0.0, "um", "top arm length minus bottom arm length", ge=0)
    heater_power_mw: float = param(0.0, "mW", "heater power on the top arm", ge=0)
    p_pi_mw: float = param(k.HEATER_P_PI_MW, "mW", "heater power for a pi shift at wl0", gt=0)
    loss_db_cm: float = param(k.SI_LOSS_DB_CM, "dB/cm", "arm propagation loss", ge=0)
    wl0_um: float = param(k.WL_UM, "um", "reference wavelength", gt=0)
    neff: float = param(k.SI_NEFF, "1", "effective index at wl0 and 300 K", gt=0)
    ng: float = param(k.SI_NG, "1", "group index", gt=0)
    temperature_k: float = param(k.REFERENCE_TEMPERATURE_K, "K", "chip temperature", gt=0)
    dn_dt_per_k: float = param(k.SI_DN_DT_PER_K, "1/K", "thermo-optic coefficient of neff")


@register("mzi", Mzi)
def mzi(
    wl,
    *,
    kappa1,
    kappa2,
    kappa_dispersion,
    coupler_loss_db,
    length_um,
    delta_length_um,
    heater_power_mw,
    p_pi_mw,
    loss_db_cm,
    wl0_um,
    neff,
    ng,
    temperature_k,
    dn_dt_per_k,
):
    """Mach-Zehnder interferometer with a heater on the top arm.

    ```
                  ▓▓▓ heater
        o2 ──┐  ┌───────────┐  ┌── o3
              ══             ══
        o1 ──┘  └───────────┘  └── o4
    ```
    o1->o4 is the bar path, o1->o3 the cross path; the top arm is
    ``length_um + delta_length_um`` long.
    """
    guide = dict(wl0_um=wl0_um, neff=neff, ng=ng, temperature_k=temperature_k, dn_dt_per_k=dn_dt_per_k)
    top_len = length_um + delta_length_um
    e_bot = propagation_amplitude(length_um=length_um, loss_db_cm=loss_db_cm) * jnp.exp(
        1j * propagation_phase_rad(wl, length_um=length_um, **guide)
    )
    e_top = propagation_amplitude(length_um=top_len, loss_db_cm=loss_db_cm) * jnp.exp(
        1j
        * (
            propagation_phase_rad(wl, length_um=top_len, **guide)
            + heater_phase_rad(wl, power_mw=heater_power_mw, p_pi_mw=p_pi_mw, wl0_um=wl0_um)
        )
    )
    c = dict(wl0_um=wl0_um, kappa_dispersion=kappa_dispersion, loss_db=coupler_loss_db)
    t1, x1 = coupler_fields(wl, kappa=kappa1, **c)
    t2, x2 = coupler_fields(wl, kappa=kappa2, **c)
    return reciprocal(
        {
            ("o1", "o4"): t2 * t1 * e_bot + x2 * x1 * e_top,
            ("o2", "o4"): t2 * x1 * e_bot + x2 * t1 * e_top,
            ("o1", "o3"): x2 * t1 * e_bot + t2 * x1 * e_top,
            ("o2", "o3"): x2 * x1 * e_bot + t2 * t1 * e_top,
        }
    )
