"""The modular MVM tile: R MDPU rows of h MMUs for one modulus, one compiled MDPU per row.

Each physical row keeps its own per-device transmission tables (a later
variation model gives every device its own values). ``from_rows`` also
analyses each row for the GEMM's fast path:

- ``linear``: every segment's transmission is t0 * exp(1j * slope * level)
  (to float64 round-off), as for Pockels segments, so a chunk's arm phase is
  arm_phase0 + sum_k level_k * slope_k: a matrix product.
- ``ideal_hybrid``: the balanced pairs give I + jQ = gain * T_arm exactly (no
  offset, no image term), so the read phase is arg(gain) + arg(T_arm).
Rows that are not both go through the exact gather path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.compiled import CompiledMdpu, compile_mdpu, iq
from circuits.mdpu import MdpuDesign
from circuits.mmu import MmuDesign
from circuits.readout import Readout, brightest_detector_power, laser_phase_variances_rad2, ranged_detector
from photonics.laser import rin_relative_rms
from photonics.photodetector import adc_lsb_a, balanced_noise_variance_a2, limit_current_a, mean_current_a

# Relative tolerance of the fast-path structure checks. Long Pockels segments
# carry ~1e6 rad of propagation phase, so their tables hold ~1e-10 rad of float64
# round-off; the fast path's decisions keep PHASE_SLACK_RAD in hand for it.
EXACT = 1e-8
PHASE_SLACK_RAD = 1e-6
RIN_SIGMAS = 8.0  # RIN excursions beyond 8 sigma have probability < 1e-15


@dataclass(frozen=True)
class ModulusTile:
    modulus: int
    rows: tuple[CompiledMdpu, ...]
    linear: bool
    ideal_hybrid: bool
    slope_rad: np.ndarray  # (R, h, B): phase per level of each segment
    read_phase0_rad: np.ndarray  # (R,): read phase with every segment at level 0
    arm_amplitude: np.ndarray  # (R,): |T_arm| (level-independent on the fast path)
    iq_gain: np.ndarray  # (R,): I + jQ per unit input power and unit T_arm

    @property
    def h(self) -> int:
        return self.rows[0].design.h

    @property
    def mmu(self) -> MmuDesign:
        """The MMU design every row is built to (its encoding's and element's rules)."""
        return self.rows[0].design.mmu

    @property
    def size(self) -> int:
        return len(self.rows)

    @classmethod
    def from_rows(cls, rows: list[CompiledMdpu]) -> ModulusTile:
        m = rows[0].design.modulus
        slopes, phase0, amplitude, gains = [], [], [], []
        linear = ideal = True
        for row in rows:
            seg = row.segment_t
            ratio = seg / seg[..., :1]
            slope = np.angle(ratio[..., 1]) if m > 1 else np.zeros(seg.shape[:2])
            expected = np.exp(1j * slope[..., None] * np.arange(m))
            linear &= bool(np.max(np.abs(ratio - expected)) < EXACT)
            arm0 = np.prod(seg[..., 0]) * np.prod(row.heater_t)
            a = abs(arm0)
            s = row.arm_to_det * row.src_to_arm
            f = {z: iq(row.lo_to_det + s * z * a, row.iq_correction) for z in (1, -1, 1j, -1j)}
            even = (f[1] - f[-1]) / (2 * a)
            odd = (f[1j] - f[-1j]) / (2j * a)
            gain, image = (even + odd) / 2, (even - odd) / 2
            offset = (f[1] + f[-1]) / 2
            ideal &= bool(abs(image) < EXACT * abs(gain) and abs(offset) < EXACT * abs(gain) * a)
            slopes.append(slope)
            phase0.append(np.angle(gain) + np.angle(arm0))
            amplitude.append(a)
            gains.append(gain)
        return cls(
            m, tuple(rows), linear, ideal, np.array(slopes), np.array(phase0), np.array(amplitude), np.array(gains)
        )

    def safe_margin_rad(self, readout: Readout, skip_probability: float) -> np.ndarray:
        """(R,) angular distance from a decision boundary beyond which a readout is provably correct.

        The ADC moves the point (I, Q) by at most lsb/sqrt(2); the receiver noise,
        a 2-D Gaussian of rms sigma per axis, moves it by more than
        sigma*sqrt(2*ln(1/p)) with probability p; RIN scales the amplitude A by
        (1 +/- 8 sigma_rin) at worst, and photodiode compression by at most its
        smallest small-signal gain sech**2(R*P/I_s) at the brightest detector. A wedge of half-angle theta around the
        phasor contains every point within A*sin(theta) of it, so a readout whose
        phase is further than asin((shift)/A) from a boundary reads the same
        residue as without noise, except with probability below ``skip_probability``.
        Rows whose ADC could clip get pi (never skipped).

        Phase noise of the signal arm (laser phase noise, frequency drift, drive
        noise: Gaussian, rms sigma_phi at most :func:`signal_phase_sigma_max_rad`)
        rotates the phasor by more than sigma_phi*sqrt(2*ln(1/p)) with probability
        below p; when it is on, the receiver and the phase each get half of
        ``skip_probability`` and their angles add.
        """
        margins = []
        for row, gain, a in zip(self.rows, self.iq_gain, self.arm_amplitude):
            phase_sigma = signal_phase_sigma_max_rad(row, readout)
            p = skip_probability / 2 if phase_sigma > 0 else skip_probability  # this row's share per source
            phase_margin = phase_sigma * np.sqrt(2 * np.log(1 / p))
            detector = ranged_detector(row, readout)
            power_w = readout.laser.power_mw * 1e-3
            bright_a = detector.responsivity_a_per_w * power_w * brightest_detector_power(row)
            compression = 1 / np.cosh(bright_a / limit_current_a(detector)) ** 2  # the tanh limit's least slope
            amp_a = detector.responsivity_a_per_w * power_w * abs(gain) * a * compression
            shift = adc_lsb_a(detector) / np.sqrt(2)
            rin = rin_relative_rms(readout.laser, detector.bandwidth_ghz) if readout.noise else 0.0
            if readout.noise:
                # Pair powers of an ideal hybrid do not depend on the phase: take them at zero input.
                mean = mean_current_a(readout.laser.power_mw * np.abs(row.zero_input_fields()) ** 2, detector)
                # each balanced pair: both detectors' shot noise and one TIA's
                sigma = np.sqrt(max(balanced_noise_variance_a2(mean[p], mean[p + 1], detector) for p in (0, 2)))
                shift += sigma * np.sqrt(2 * np.log(1 / p))
            low = amp_a * (1 - RIN_SIGMAS * rin)
            clips = amp_a * (1 + RIN_SIGMAS * rin) + shift > detector.adc_full_scale_ua * 1e-6
            margin = np.pi if clips or shift >= low else float(np.arcsin(shift / low)) + PHASE_SLACK_RAD
            margins.append(min(np.pi, margin + phase_margin) if phase_margin else margin)
        return np.array(margins)


def signal_phase_sigma_max_rad(row: CompiledMdpu, readout: Readout) -> float:
    """Largest rms signal-arm phase noise of any readout of a row: laser phase noise, drift and drive summed.

    The drive's is the largest over every (x, w) of each MMU (every weight bit set
    at worst), added over the MMUs. 0 with noise off or every source off.
    """
    if not readout.noise:
        return 0.0
    var = sum(laser_phase_variances_rad2(row, readout.laser))
    if readout.drive_noise_v_rms > 0:
        var += float(row.drive_variance_table.max(axis=(1, 2)).sum()) * readout.drive_noise_v_rms**2
    return float(np.sqrt(var))


def build_tile(design: MdpuDesign, rows: int) -> ModulusTile:
    """An ideal tile: every row is the same compiled design."""
    compiled = compile_mdpu(design)
    return ModulusTile.from_rows([compiled] * rows)
