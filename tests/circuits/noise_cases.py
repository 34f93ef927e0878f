"""Readouts for noise tests: every source but the chosen ones set to 0."""

from dataclasses import replace

from circuits.readout import Readout
from photonics.laser import Laser


def receiver_only(power_mw: float | None = None) -> Readout:
    """The default receiver (shot, TIA, ADC, RIN) with the laser's phase noise, drift and the drive noise off."""
    readout = Readout(laser=Laser(linewidth_khz=0.0, frequency_drift_mhz_rms=0.0), drive_noise_mv_rms=0.0)
    return readout if power_mw is None else readout.with_laser_power(power_mw)


def with_laser(readout: Readout, **laser) -> Readout:
    """``readout`` with some of its laser's parameters replaced."""
    return replace(readout, laser=replace(readout.laser, **laser))
