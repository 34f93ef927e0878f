"""Readout of an MDPU: detector currents with noise, ADCs, atan2, nearest residue.

The laser's power (with RIN) scales the detector fields; each of the four
detectors gives R*P + I_dark plus shot and TIA noise; the balanced pairs give I
and Q currents, which the ADCs quantise; atan2(Q, I) rounded to the nearest
multiple of 2*pi/m is the residue. The TIA gain is set so that the ADC's full
scale is ``adc_headroom`` times the largest excursion of I or Q over every
signal phase (at the zero-input amplitude; for an ideal hybrid, the signal
amplitude itself).

The analytic model: with sigma_I the rms noise of each of I and Q (shot and
thermal of both detectors of a pair, plus ADC quantisation lsb^2/12) and A the
noiseless amplitude |I + jQ|, the phase error is Gaussian with sigma = sigma_I/A
and a residue is read wrong with probability erfc(pi / (m*sigma*sqrt(2))). RIN
scales I and Q together, so it leaves the phase alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import erfc

from circuits.compiled import CompiledMdpu
from photonics.errors import UsageError
from photonics.laser import Laser, sample_power_mw
from photonics.photodetector import (
    Photodetector,
    adc_codes,
    adc_lsb_a,
    codes_to_current_a,
    mean_current_a,
    noise_variance_a2,
    sample_current_a,
)


@dataclass(frozen=True)
class Readout:
    """The laser and receiver of an MDPU, and whether their noise is simulated."""

    laser: Laser = field(default_factory=Laser)
    detector: Photodetector = field(default_factory=Photodetector)
    adc_headroom: float = 1.25
    noise: bool = True

    def __post_init__(self):
        if not self.adc_headroom >= 1:
            raise UsageError(f"adc_headroom must be >= 1 (got {self.adc_headroom})")

    def with_laser_power(self, power_mw: float) -> Readout:
        return replace(self, laser=replace(self.laser, power_mw=power_mw))


@dataclass(frozen=True)
class ReadResult:
    i_a: np.ndarray  # I current from the ADC code (A)
    q_a: np.ndarray
    phase_rad: np.ndarray  # atan2(Q, I) in [0, 2*pi)
    residue: np.ndarray


def signal_excursion(compiled: CompiledMdpu) -> float:
    """Largest |I| or |Q| (per unit input power) over every signal-arm phase at the zero-input amplitude.

    Each balanced pair gives const + 2 Re(c T) for T = A exp(j theta): an offset
    (responsivity mismatch, imbalance) plus a swing of 2 |c| A.
    """
    t = abs(np.prod(compiled.segment_t[..., 0]) * np.prod(compiled.heater_t))
    s = compiled.arm_to_det * compiled.src_to_arm
    lo = compiled.lo_to_det
    out = 0.0
    for p, n in ((0, 1), (2, 3)):
        const = abs(lo[p]) ** 2 - abs(lo[n]) ** 2 + (abs(s[p]) ** 2 - abs(s[n]) ** 2) * t**2
        swing = 2 * abs(np.conj(lo[p]) * s[p] - np.conj(lo[n]) * s[n]) * t
        out = max(out, abs(const) + swing)
    return out


def ranged_detector(compiled: CompiledMdpu, readout: Readout) -> Photodetector:
    """The detector with the ADC full scale set by the TIA gain (auto-ranging over the signal's excursion)."""
    amplitude_w = signal_excursion(compiled) * readout.laser.power_mw * 1e-3
    full_scale_ua = readout.adc_headroom * readout.detector.responsivity_a_per_w * amplitude_w * 1e6
    return replace(readout.detector, adc_full_scale_ua=max(full_scale_ua, 1e-12))


def read(
    compiled: CompiledMdpu, fields: np.ndarray, readout: Readout, rng: np.random.Generator | None = None
) -> ReadResult:
    """Residues read from detector fields (..., 4) per unit input field."""
    if readout.noise and rng is None:
        raise ValueError("rng is required when noise is on")
    detector = ranged_detector(compiled, readout)
    shape = fields.shape[:-1]
    if readout.noise:
        bandwidth = detector.bandwidth_ghz
        power_mw = sample_power_mw(readout.laser, bandwidth, rng, shape)[..., None] * np.abs(fields) ** 2
        currents = sample_current_a(power_mw, detector, rng)
    else:
        currents = mean_current_a(readout.laser.power_mw * np.abs(fields) ** 2, detector)
    i_a = codes_to_current_a(adc_codes(currents[..., 0] - currents[..., 1], detector), detector)
    q_a = codes_to_current_a(adc_codes(currents[..., 2] - currents[..., 3], detector), detector)
    if compiled.iq_correction is not None:  # digital correction, in units of I + jQ per input power
        scale = readout.detector.responsivity_a_per_w * readout.laser.power_mw * 1e-3
        z = compiled.iq_correction.apply((i_a + 1j * q_a) / scale) * scale
        i_a, q_a = z.real, z.imag
    phase = np.mod(np.arctan2(q_a, i_a), 2 * np.pi)
    m = compiled.design.modulus
    residue = np.mod(np.round(phase * m / (2 * np.pi)).astype(np.int64), m)
    return ReadResult(i_a, q_a, phase, residue)


def phase_sigma_rad(compiled: CompiledMdpu, fields: np.ndarray, readout: Readout) -> np.ndarray:
    """Analytic rms phase error of the readout for detector fields (..., 4)."""
    detector = ranged_detector(compiled, readout)
    mean = mean_current_a(readout.laser.power_mw * np.abs(fields) ** 2, detector)
    var = noise_variance_a2(mean, detector)
    quantisation = adc_lsb_a(detector) ** 2 / 12
    var_i = var[..., 0] + var[..., 1] + quantisation
    var_q = var[..., 2] + var[..., 3] + quantisation
    amplitude = np.abs((mean[..., 0] - mean[..., 1]) + 1j * (mean[..., 2] - mean[..., 3]))
    return np.sqrt(0.5 * (var_i + var_q)) / amplitude


def predicted_error_rate(modulus: int, sigma_rad) -> np.ndarray:
    """Probability that Gaussian phase noise sigma moves the reading past pi/m."""
    return erfc(np.pi / (modulus * np.asarray(sigma_rad) * np.sqrt(2)))
