"""Laser source: output power, relative intensity noise, phase noise, frequency drift, wall-plug efficiency.

RIN in dB/Hz integrated over the receiver bandwidth B gives the relative rms
power fluctuation sqrt(10**(RIN/10) * B); the electrical power drawn is the
optical power over the wall-plug efficiency. A Lorentzian linewidth dnu makes
the optical phase a Wiener process: over a delay tau (much shorter than the
coherence time 1/(pi dnu)) it moves by a Gaussian of variance 2*pi*dnu*tau. A
frequency offset delta_nu between calibration and use turns a delay tau into a
static phase 2*pi*delta_nu*tau. Setting either to 0 turns it off.

Defaults: a narrow-linewidth external-cavity laser of 10 kHz (Wyatt and Devlin,
Electron. Lett. 19, 110, 1983: a 10 kHz InGaAs external-cavity laser at 1.5 um;
commercial planar ECLs reach 1.5 kHz, Smid et al., Sensors 15, 1342, 2015), and
1.5 MHz rms of frequency drift between recalibrations (justified, not measured:
an ECL's frequency follows its external grating, whose Bragg wavelength moves
about 13 pm/K at 1550 nm (Kersey et al., J. Lightwave Technol. 15, 1442, 1997),
i.e. 1.6 GHz/K; a TEC loop holds the laser to about 1 mK over the seconds between
recalibrations, leaving about 1.6 MHz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register_parameters


@dataclass(frozen=True)
class Laser(Params):
    """Continuous-wave laser source."""

    power_mw: float = param(10.0, "mW", "optical output power", ge=0)
    rin_db_per_hz: float = param(-150.0, "dB/Hz", "relative intensity noise", le=0)
    wall_plug_efficiency: float = param(k.LASER_WALL_PLUG_EFFICIENCY, "1", "optical out / electrical in", gt=0, le=1)
    wl_um: float = param(k.WL_UM, "um", "emission wavelength", gt=0)
    linewidth_khz: float = param(
        10.0, "kHz", "Lorentzian linewidth (0: off; external-cavity lasers 1-100 kHz, DFB about 1000 kHz)", ge=0
    )
    frequency_drift_mhz_rms: float = param(
        1.5, "MHz", "rms frequency offset between calibration and use, one draw per run (0: off)", ge=0
    )


register_parameters("laser", Laser, "source")


def electrical_power_mw(laser: Laser) -> float:
    """Electrical power drawn to emit ``laser.power_mw``."""
    return laser.power_mw / laser.wall_plug_efficiency


def rin_relative_rms(laser: Laser, bandwidth_ghz: float) -> float:
    """Relative rms power fluctuation over ``bandwidth_ghz``."""
    return float(np.sqrt(10 ** (laser.rin_db_per_hz / 10) * bandwidth_ghz * 1e9))


def sample_power_mw(laser: Laser, bandwidth_ghz: float, rng: np.random.Generator, shape=()) -> np.ndarray:
    """Power samples P*(1 + rin_rms*N(0, 1)) seen within ``bandwidth_ghz``."""
    return (rng.standard_normal(shape) * rin_relative_rms(laser, bandwidth_ghz) + 1) * laser.power_mw


def phase_noise_variance_rad2(laser: Laser, delay_s) -> np.ndarray:
    """Variance 2*pi*linewidth*|tau| of the phase difference of two copies of the light delayed by ``delay_s``."""
    return 2 * np.pi * laser.linewidth_khz * 1e3 * np.abs(delay_s)


def drift_phase_sigma_rad(laser: Laser, delay_s) -> np.ndarray:
    """RMS static phase 2*pi*delta_nu*|tau| that the frequency drift puts on a delay ``delay_s``."""
    return 2 * np.pi * laser.frequency_drift_mhz_rms * 1e6 * np.abs(delay_s)
