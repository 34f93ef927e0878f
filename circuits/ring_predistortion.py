"""Pre-distortion of a ring-assisted phase element: the drive for each phase level.

An over-coupled all-pass ring's transmission phase rises monotonically by 2*pi
as its round-trip detuning delta goes from -pi to pi, steeply near resonance
(an arctan-like curve). Level k of m must give phase 2*pi*k/m relative to level
0; the levels are centred on resonance, relative phase rho_k =
2*pi*(k - (m-1)/2)/m. Each delta_k is found by bisection on the ring model
itself, and the voltage is delta_k over the electro-optic tuning rate.
"""

from __future__ import annotations

import numpy as np

from photonics.ring import RingAllPass, ring_allpass, round_trip

BISECTION_STEPS = 60  # halves a 2*pi interval to below 1e-17 rad


def _transmission(ring: RingAllPass, voltage_v) -> np.ndarray:
    return np.asarray(ring_allpass(wl=ring.wl0_um, **{**ring.settings(), "voltage_v": voltage_v})[("o1", "o2")])


def tuning_rad_per_v(ring: RingAllPass) -> float:
    """Round-trip phase per volt of the electro-optic section at wl0."""
    length_cm = ring.circumference_um * ring.eo_fraction * 1e-4
    return float(np.pi * length_cm / ring.vpil_v_cm)


def resonance_voltage_v(ring: RingAllPass) -> float:
    """The voltage of smallest magnitude that puts the ring on resonance at wl0."""
    settings = {k: v for k, v in ring.settings().items() if k not in ("kappa", "kappa_dispersion")}
    _, theta = round_trip(ring.wl0_um, **{**settings, "voltage_v": 0.0})
    theta = float(theta)
    return (2 * np.pi * round(theta / (2 * np.pi)) - theta) / tuning_rad_per_v(ring)


def level_voltages_v(ring: RingAllPass, modulus: int) -> np.ndarray:
    """Drive voltage of each level 0..m-1 so the ring's phase steps by 2*pi/m per level."""
    g = tuning_rad_per_v(ring)
    v_res = resonance_voltage_v(ring)
    t_res = _transmission(ring, v_res)
    target = 2 * np.pi * (np.arange(modulus) - (modulus - 1) / 2) / modulus
    lo = np.full(modulus, -np.pi * (1 - 1e-12))
    hi = np.full(modulus, np.pi * (1 - 1e-12))
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        rho = np.angle(_transmission(ring, v_res + mid / g) / t_res)
        below = rho < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return v_res + 0.5 * (lo + hi) / g
