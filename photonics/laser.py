"""Laser source: output power, relative intensity noise, wall-plug efficiency.

RIN in dB/Hz integrated over the receiver bandwidth B gives the relative rms
power fluctuation sqrt(10**(RIN/10) * B); the electrical power drawn is the
optical power over the wall-plug efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register_source


@dataclass(frozen=True)
class Laser(Params):
    """Continuous-wave laser source."""

    power_mw: float = param(10.0, "mW", "optical output power", ge=0)
    rin_db_per_hz: float = param(-150.0, "dB/Hz", "relative intensity noise", le=0)
    wall_plug_efficiency: float = param(k.LASER_WALL_PLUG_EFFICIENCY, "1", "optical out / electrical in", gt=0, le=1)
    wl_um: float = param(k.WL_UM, "um", "emission wavelength", gt=0)


register_source("laser", Laser)


def electrical_power_mw(laser: Laser) -> float:
    """Electrical power drawn to emit ``laser.power_mw``."""
    return laser.power_mw / laser.wall_plug_efficiency


def rin_relative_rms(laser: Laser, bandwidth_ghz: float) -> float:
    """Relative rms power fluctuation over ``bandwidth_ghz``."""
    return float(np.sqrt(10 ** (laser.rin_db_per_hz / 10) * bandwidth_ghz * 1e9))


def sample_power_mw(laser: Laser, bandwidth_ghz: float, rng: np.random.Generator, shape=()) -> np.ndarray:
    """Power samples P*(1 + rin_rms*N(0, 1)) seen within ``bandwidth_ghz``."""
    return laser.power_mw * (1 + rin_relative_rms(laser, bandwidth_ghz) * rng.standard_normal(shape))
