"""Couplers and splitters: 2x2 directional coupler, 2x2 MMI, 1x2 splitter.

A 2x2 coupler is described by its power coupling ``kappa`` at ``wl0_um``. The
coupling angle theta = asin(sqrt(kappa)) grows with wavelength as
``theta(wl) = theta0 * (wl/wl0)**kappa_dispersion``: evanescent coupling of a
directional coupler strengthens with wavelength (exponent about 3 for a 50:50
silicon coupler), while an MMI's self-imaging length scales as 1/wl (exponent
1). Through = cos(theta), cross = 1j*sin(theta): unitary when lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register, variant
from photonics.sdict import amplitude_from_loss_db, reciprocal


def coupling_angle(wl, *, kappa, wl0_um, kappa_dispersion):
    """theta(wl) with sin(theta)**2 the power coupling at wavelength ``wl``."""
    theta0 = jnp.arcsin(jnp.sqrt(kappa))
    return theta0 * (wl / wl0_um) ** kappa_dispersion


def coupler_fields(wl, *, kappa, wl0_um, kappa_dispersion, loss_db):
    """(through, cross) field transmissions of a 2x2 coupler."""
    theta = coupling_angle(wl, kappa=kappa, wl0_um=wl0_um, kappa_dispersion=kappa_dispersion)
    amp = amplitude_from_loss_db(loss_db)
    return amp * jnp.cos(theta), 1j * amp * jnp.sin(theta)


def _two_by_two(through, cross):
    return reciprocal(
        {
            ("o1", "o4"): through,
            ("o2", "o3"): through,
            ("o1", "o3"): cross,
            ("o2", "o4"): cross,
        }
    )


@dataclass(frozen=True)
class Coupler(Params):
    """2x2 directional coupler."""

    kappa: float = param(0.5, "1", "power coupling at wl0", ge=0, le=1)
    wl0_um: float = param(k.WL_UM, "um", "wavelength at which kappa is given", gt=0)
    kappa_dispersion: float = param(k.DC_KAPPA_DISPERSION, "1", "d ln(theta)/d ln(wl) of the coupling angle")
    loss_db: float = param(0.0, "dB", "excess loss", ge=0)


@register("coupler", Coupler)
def coupler(wl, *, kappa, wl0_um, kappa_dispersion, loss_db):
    """2x2 directional coupler with dispersive power coupling.

    ```
        o2 ──┐      ┌── o3
              ══════
        o1 ──┘      └── o4
    ```
    o1->o4 and o2->o3 are through (bar), o1->o3 and o2->o4 cross.
    """
    through, cross = coupler_fields(wl, kappa=kappa, wl0_um=wl0_um, kappa_dispersion=kappa_dispersion, loss_db=loss_db)
    return _two_by_two(through, cross)


@dataclass(frozen=True)
class Mmi2x2(Coupler):
    """2x2 multimode interference coupler."""

    kappa_dispersion: float = Coupler.reuse("kappa_dispersion", 1.0, "d ln(theta)/d ln(wl); 1 for self-imaging")


mmi2x2 = variant(
    "mmi2x2", Mmi2x2, coupler, summary="2x2 MMI coupler; the coupling angle scales with wl as self-imaging does."
)


@dataclass(frozen=True)
class Splitter(Params):
    """1x2 splitter (Y-branch or 1x2 MMI)."""

    split_ratio: float = param(0.5, "1", "fraction of the power sent to o2", ge=0, le=1)
    loss_db: float = param(0.0, "dB", "excess loss", ge=0)


@register("splitter", Splitter)
def splitter(wl, *, split_ratio, loss_db):
    """1x2 splitter, broadband.

    ```
              ┌── o2
        o1 ──<
              └── o3
    ```
    Light entering o2 and o3 in anti-phase (the odd mode) radiates away, so even
    a lossless splitter is passive but not unitary: S^H S has eigenvalues 1, 1, 0.
    """
    amp = amplitude_from_loss_db(loss_db) * jnp.ones_like(jnp.asarray(wl, dtype=float))
    return reciprocal({("o1", "o2"): amp * jnp.sqrt(split_ratio), ("o1", "o3"): amp * jnp.sqrt(1 - split_ratio)})
