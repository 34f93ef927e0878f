"""Micro-ring resonators: all-pass and add-drop.

Round-trip phase theta = 2*pi*neff(wl, T)*L/wl + (electro-optic phase of the
section under the electrode), round-trip amplitude a from the propagation
loss, self-coupling r = cos(theta_c) of the (dispersive) bus coupler. The
all-pass through port is (r - a*e^{i theta}) / (1 - r*a*e^{i theta}).
Resonance shifts by wl*(dn/dT)/ng per kelvin (70 pm/K at the defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp

from photonics import constants as k
from photonics.coupler import coupler_fields
from photonics.parameters import Params, param
from photonics.phase_shifter_eo import eo_phase_rad
from photonics.registry import register
from photonics.sdict import reciprocal
from photonics.waveguide import propagation_amplitude, propagation_phase_rad


def round_trip(
    wl, *, radius_um, loss_db_cm, wl0_um, neff, ng, temperature_k, dn_dt_per_k, voltage_v, vpil_v_cm, eo_fraction
):
    """(a, theta): round-trip field amplitude and phase of a ring."""
    length = 2 * jnp.pi * radius_um
    theta = propagation_phase_rad(
        wl, length_um=length, wl0_um=wl0_um, neff=neff, ng=ng, temperature_k=temperature_k, dn_dt_per_k=dn_dt_per_k
    ) + eo_phase_rad(wl, voltage_v=voltage_v, length_um=eo_fraction * length, vpil_v_cm=vpil_v_cm, wl0_um=wl0_um)
    return propagation_amplitude(length_um=length, loss_db_cm=loss_db_cm), theta


@dataclass(frozen=True)
class _Ring(Params):
    """Parameters shared by every ring: geometry, waveguide, temperature, EO section."""

    radius_um: float = param(10.0, "um", "ring radius", gt=0)
    kappa_dispersion: float = param(k.DC_KAPPA_DISPERSION, "1", "coupling-angle exponent of the bus coupler(s)")
    loss_db_cm: float = param(k.SI_LOSS_DB_CM, "dB/cm", "ring propagation loss", ge=0)
    wl0_um: float = param(k.WL_UM, "um", "reference wavelength", gt=0)
    neff: float = param(k.SI_NEFF, "1", "effective index at wl0 and 300 K", gt=0)
    ng: float = param(k.SI_NG, "1", "group index", gt=0)
    temperature_k: float = param(k.REFERENCE_TEMPERATURE_K, "K", "ring temperature", gt=0)
    dn_dt_per_k: float = param(k.SI_DN_DT_PER_K, "1/K", "thermo-optic coefficient of neff")
    voltage_v: float = param(0.0, "V", "electro-optic tuning voltage")
    vpil_v_cm: float = param(k.EO_VPIL_V_CM, "V*cm", "VpiL of the electro-optic section at wl0", gt=0)
    eo_fraction: float = param(0.5, "1", "fraction of the circumference under the electrode", ge=0, le=1)

    @property
    def circumference_um(self) -> float:
        """The ring's round-trip length 2*pi*R."""
        return 2 * math.pi * self.radius_um


@dataclass(frozen=True)
class RingAllPass(_Ring):
    """All-pass micro-ring resonator with an electro-optic section."""

    kappa: float = param(0.2, "1", "bus power coupling at wl0", ge=0, le=1)


@register("ring_allpass", RingAllPass)
def ring_allpass(
    wl,
    *,
    radius_um,
    kappa_dispersion,
    loss_db_cm,
    wl0_um,
    neff,
    ng,
    temperature_k,
    dn_dt_per_k,
    voltage_v,
    vpil_v_cm,
    eo_fraction,
    kappa,
):
    """All-pass micro-ring: t = (r - a e^{i theta}) / (1 - r a e^{i theta}).

    ```
            .───.
           (  V  )   ring, radius R, EO section
            '───'
        o1 ═══════ o2
    ```
    """
    a, theta = round_trip(
        wl,
        radius_um=radius_um,
        loss_db_cm=loss_db_cm,
        wl0_um=wl0_um,
        neff=neff,
        ng=ng,
        temperature_k=temperature_k,
        dn_dt_per_k=dn_dt_per_k,
        voltage_v=voltage_v,
        vpil_v_cm=vpil_v_cm,
        eo_fraction=eo_fraction,
    )
    r, _ = coupler_fields(wl, kappa=kappa, wl0_um=wl0_um, kappa_dispersion=kappa_dispersion, loss_db=0.0)
    e = a * jnp.exp(1j * theta)
    return reciprocal({("o1", "o2"): (r - e) / (1 - r * e)})


@dataclass(frozen=True)
class RingAddDrop(_Ring):
    """Add-drop micro-ring resonator with an electro-optic section."""

    kappa_through: float = param(0.05, "1", "power coupling to the through bus at wl0", ge=0, le=1)
    kappa_drop: float = param(0.05, "1", "power coupling to the drop bus at wl0", ge=0, le=1)


@register("ring_add_drop", RingAddDrop)
def ring_add_drop(
    wl,
    *,
    radius_um,
    kappa_dispersion,
    loss_db_cm,
    wl0_um,
    neff,
    ng,
    temperature_k,
    dn_dt_per_k,
    voltage_v,
    vpil_v_cm,
    eo_fraction,
    kappa_through,
    kappa_drop,
):
    """Add-drop micro-ring with two bus waveguides.

    ```
        o4 ═══════ o3     (drop bus: o4 drop, o3 add)
            .───.
           (     )
            '───'
        o1 ═══════ o2     (input bus: o1 in, o2 through)
    ```
    Through (o1->o2) = (r1 - r2 a e^{i theta}) / D, drop (o1->o4) =
    -k1 k2 sqrt(a) e^{i theta/2} / D with D = 1 - r1 r2 a e^{i theta}.
    """
    a, theta = round_trip(
        wl,
        radius_um=radius_um,
        loss_db_cm=loss_db_cm,
        wl0_um=wl0_um,
        neff=neff,
        ng=ng,
        temperature_k=temperature_k,
        dn_dt_per_k=dn_dt_per_k,
        voltage_v=voltage_v,
        vpil_v_cm=vpil_v_cm,
        eo_fraction=eo_fraction,
    )
    c = dict(wl0_um=wl0_um, kappa_dispersion=kappa_dispersion, loss_db=0.0)
    r1, x1 = coupler_fields(wl, kappa=kappa_through, **c)
    r2, x2 = coupler_fields(wl, kappa=kappa_drop, **c)
    e = a * jnp.exp(1j * theta)
    d = 1 - r1 * r2 * e
    drop = x1 * x2 * jnp.sqrt(a) * jnp.exp(0.5j * theta) / d
    return reciprocal(
        {
            ("o1", "o2"): (r1 - r2 * e) / d,
            ("o3", "o4"): (r2 - r1 * e) / d,
            ("o1", "o4"): drop,
            ("o2", "o3"): drop,
        }
    )
