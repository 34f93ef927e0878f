"""Thermal model: ambient offset and drift, and heater-to-device crosstalk that falls with distance.

A heater dissipating P raises its own guide by dT_self = P * wl0 / (2 * L *
dn/dT * P_pi) (what its P_pi implies, :func:`photonics.heater.heater_temperature_rise_k`);
a device at distance d warms by dT_self * c**(d / 100 um), c the crosstalk at 100 um. Every
device's temperature is then 300 K + ambient offset + drift + the sum over
heaters (a heater's own power is already in its model, so it is left out of its
own sum). Phases and ring resonances follow through each model's dn/dT.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from photonics.heater import heater_temperature_rise_k


def coupling_matrix(targets_xy: np.ndarray, heaters_xy: np.ndarray, at_100um: float) -> np.ndarray:
    """(targets, heaters) fraction of a heater's own temperature rise felt at each target.

    It falls exponentially with distance d, to ``at_100um`` at 100 um
    (exp(-d/30um) for 0.035); 0 means no crosstalk.
    """
    d = cdist(targets_xy, heaters_xy)
    if at_100um == 0:
        return np.where(d == 0, 1.0, 0.0)
    return np.exp(-d * np.log(1 / at_100um) / 100.0)


def self_rise_k_per_mw(*, p_pi_mw, length_um, wl0_um, dn_dt_per_k):
    """Temperature rise of a heater's own guide per mW."""
    return heater_temperature_rise_k(
        power_mw=1.0, p_pi_mw=p_pi_mw, length_um=length_um, wl0_um=wl0_um, dn_dt_per_k=dn_dt_per_k
    )


def temperature_rise_k(coupling: np.ndarray, self_rise_per_mw: np.ndarray, power_mw: np.ndarray) -> np.ndarray:
    """Rise at each target from all heaters: sum_j coupling[i, j] * self_rise[j] * P[j].

    A heater's own power is already in its model: its own entry of ``coupling``
    must be zero. ``power_mw`` (heaters,) or (heaters, V) for V settings at once;
    heaters without power in any setting add nothing and are left out of the
    product (a tile's MMU bias heaters are off: most of the matrix).
    """
    drive = np.asarray(self_rise_per_mw) * np.asarray(power_mw)
    on = np.flatnonzero(drive.reshape(len(drive), -1).any(axis=1))
    return coupling[:, on] @ drive[on]


def crosstalk_rad_per_mw(
    coupling_hh: np.ndarray, self_rise_per_mw: np.ndarray, phase_per_k: np.ndarray, p_pi_mw: np.ndarray
) -> np.ndarray:
    """(heaters, heaters) phase change of heater i's guide per mW at heater j: pi/P_pi on the diagonal."""
    x = coupling_hh * (phase_per_k[:, None] * self_rise_per_mw[None, :])
    np.fill_diagonal(x, np.pi / np.asarray(p_pi_mw))
    return x
