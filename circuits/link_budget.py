"""Link budget: the laser power an MDPU needs for a target residue error rate.

The error rate of a random workload is the mean, over random dot products, of
the analytic rate erfc(pi/(m*sigma*sqrt(2))) (see :mod:`circuits.readout`); it
falls monotonically with laser power until the ADC's quantisation (which scales
with the signal under auto-ranging) sets a floor, or until the photodiodes
saturate: the search stops at :func:`circuits.readout.saturation_laser_power_mw`
(the brightest detector at its 1-dB compression current), above which the
readout bends the phase. The power is found by bisection in log(power).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.compiled import CompiledMdpu
from circuits.readout import (
    Readout,
    drive_phase_sigma_rad,
    phase_sigma_rad,
    phase_variances_rad2,
    predicted_error_rate,
    receiver_variances_rad2,
    saturation_laser_power_mw,
)
from photonics.errors import UsageError
from photonics.laser import electrical_power_mw

POWER_RANGE_MW = (1e-6, 1e6)
WORKLOAD_SIZE = 2048


@dataclass(frozen=True)
class LinkBudget:
    modulus: int
    h: int
    target_error_rate: float
    laser_power_mw: float
    laser_electrical_power_mw: float
    signal_arm_loss_db: float  # mean over the workload, laser to hybrid input
    phase_sigma_rad: float  # mean rms phase error at that power

    def as_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in self.__dict__.items()}


def workload_residues(compiled: CompiledMdpu, seed: int = 0, size: int = WORKLOAD_SIZE):
    """A fixed random workload of dot products: residue arrays x, w of shape (size, h)."""
    rng = np.random.default_rng(seed)
    shape = (size, compiled.design.h)
    m = compiled.design.modulus
    return rng.integers(0, m, shape), rng.integers(0, m, shape)


def mean_predicted_error_rate(
    compiled: CompiledMdpu, readout: Readout, fields: np.ndarray, drive_sigma_rad: np.ndarray | None = None
) -> float:
    """The predicted residue error rate averaged over readouts, each at its own sigma (drive noise per input)."""
    sigma = phase_sigma_rad(compiled, fields, readout, drive_sigma_rad)
    return float(np.mean(predicted_error_rate(compiled.design.modulus, sigma)))


def link_budget(compiled: CompiledMdpu, readout: Readout, target_error_rate: float) -> LinkBudget:
    """The least laser power whose predicted residue error rate is at most the target."""
    if not 0 < target_error_rate < 1:
        raise UsageError(f"target_error_rate must lie in (0, 1) (got {target_error_rate})")
    x, w = workload_residues(compiled)
    fields = compiled.detector_fields(x, w)
    drive = drive_phase_sigma_rad(compiled, x, w, readout)  # per readout: averaging the variance first flatters

    def rate(power_mw: float) -> float:
        return mean_predicted_error_rate(compiled, readout.with_laser_power(power_mw), fields, drive)

    saturation_mw = saturation_laser_power_mw(compiled, readout.detector)
    low, high = np.log10(POWER_RANGE_MW[0]), np.log10(min(POWER_RANGE_MW[1], saturation_mw))
    floor = rate(10**high)
    if floor > target_error_rate:
        variances = phase_variances_rad2(compiled, fields, readout.with_laser_power(10**high), drive)
        shares = {name: float(np.mean(v)) for name, v in variances.items()}
        limit = max(shares, key=shares.get)
        front_end, adc = receiver_variances_rad2(compiled, fields, readout.with_laser_power(10**high))
        # the receiver's floor is saturation when its shot and TIA noise (which more light would cut) outweighs
        # the ADC's quantisation and own noise (which scale with the signal)
        saturated = saturation_mw < POWER_RANGE_MW[1] and np.mean(front_end) > np.mean(adc)
        cause = {
            "receiver": (
                f"photodiode saturation (the brightest detector reaches its {readout.detector.saturation_current_ma:g} "
                "mA 1-dB compression current there)"
                if saturated
                else "the ADC's quantisation" + (" and its own noise" if readout.detector.adc_noise_lsb_rms else "")
            ),
            "laser_phase_noise": "laser phase noise over the signal-to-LO delay",
            "frequency_drift": "laser frequency drift over the signal-to-LO delay",
            "drive": "drive (DAC) voltage noise",
        }[limit]
        cure = {
            "receiver": (
                "lower the signal arm's loss, use detectors with a higher saturation current or a smaller modulus"
                if saturated
                else "use more ADC bits"
                + (", a quieter ADC (adc_noise_lsb_rms)" if readout.detector.adc_noise_lsb_rms else "")
                + " or a smaller modulus"
            ),
            "laser_phase_noise": "use a narrower laser or match the LO path",
            "frequency_drift": "stabilise the laser or match the LO path",
            "drive": "lower the drive noise or the phase per volt",
        }[limit]
        raise UsageError(
            f"target_error_rate {target_error_rate:g} is unreachable: at {10**high:.4g} mW the error rate is "
            f"{floor:.3g}, set mostly by {cause}; {cure}"
        )
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if rate(10**mid) > target_error_rate else (low, mid)
    power = 10**high
    at_power = readout.with_laser_power(power)
    arm_power = np.abs(compiled.src_to_arm) ** 2 * np.mean(np.abs(compiled.arm_transmission(x, w)) ** 2)
    return LinkBudget(
        modulus=compiled.design.modulus,
        h=compiled.design.h,
        target_error_rate=target_error_rate,
        laser_power_mw=power,
        laser_electrical_power_mw=electrical_power_mw(at_power.laser),
        signal_arm_loss_db=float(-10 * np.log10(arm_power)),
        phase_sigma_rad=float(np.mean(phase_sigma_rad(compiled, fields, at_power, drive))),
    )
