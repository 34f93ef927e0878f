"""Readout of an MDPU: detector currents with noise, ADCs, atan2, nearest residue.

The laser's power (with RIN) scales the detector fields; each of the four
detectors gives its photocurrent (R*P, softly limited at the detector's
saturation current: :mod:`photonics.photodetector`) plus dark current and shot
noise; each balanced pair feeds ONE TIA (as the energy model costs it), whose
thermal noise is added once per pair; the I and Q currents are quantised by the
ADCs; atan2(Q, I) rounded to the nearest multiple of 2*pi/m is the residue. The
TIA gain is set so that the ADC's full scale is ``adc_headroom`` times the
largest excursion of I or Q over every signal phase (at the zero-input
amplitude; for an ideal hybrid, the signal amplitude itself).

The analytic model: with sigma_I the rms noise of each of I and Q (shot noise of
both detectors of a pair, one TIA's thermal noise, the ADC's own noise, plus ADC
quantisation lsb^2/12) and A the noiseless amplitude |I + jQ| (of the compressed currents),
the phase error is Gaussian with sigma = sigma_I/A and a residue is read wrong
with probability erfc(pi / (m*sigma*sqrt(2))). RIN scales I and Q together, so
it leaves the phase alone. Saturation also bends the phase itself (the pair
currents are no longer linear in the fields); the analytic model does not hold
that systematic error, so a readout is designed below
:func:`saturation_laser_power_mw`, where the brightest detector reaches its 1-dB
compression current.

Three sources move the signal arm's phase itself (each off when set to 0):

- laser phase noise: the two arms reach the hybrid with a delay mismatch tau
  (:meth:`CompiledMdpu.delay_mismatch_s`), so their relative phase is a Wiener
  increment of variance 2*pi*linewidth*|tau|, independent from readout to readout;
- laser frequency drift between calibration and use: a static phase
  2*pi*delta_nu*tau, delta_nu Gaussian of rms ``frequency_drift_mhz_rms``, one
  draw per :func:`read` call (a call is one run), unless the caller passes it;
- drive (DAC and driver) voltage noise of rms ``drive_noise_mv_rms`` (:func:`drive_noise_rms_mv` of the drivers'
  noise density, the clock and the receiver's bandwidth): every active
  segment moves by d(phase)/dV * dV, segments on one DAC together
  (:attr:`CompiledMdpu.drive_variance_table`).

They rotate the signal-arm part of the detector fields (fields minus the LO part)
before detection, so the receiver's noise path is unchanged. The analytic
sigma adds their variances to the receiver's (drift as a Gaussian over runs).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from scipy.special import erfc
from scipy.stats import chi, norm

from circuits.compiled import CompiledMdpu, IqCorrection, correct_iq_parts, delay_mismatches_s
from photonics.constants import CLOCK_GHZ, DRIVE_NOISE_NV_RTHZ
from photonics.errors import UsageError
from photonics.laser import Laser, drift_phase_sigma_rad, phase_noise_variance_rad2, rin_relative_rms
from photonics.photodetector import (
    Photodetector,
    adc_codes,
    adc_lsb_a,
    adc_noise_variance_a2,
    balanced_pair_code_values,
    balanced_pairs_current_a,
    codes_to_current_a,
    drive_per_mw,
    front_end_noise_variance_a2,
    mean_current_a,
    pair_code_scales,
    quantise_codes,
    saturation_power_mw,
)


def drive_noise_rms_mv(density_nv_rthz: float, clock_ghz: float, receiver_bandwidth_ghz: float) -> float:
    """RMS drive voltage noise a readout sees (mV) from the drivers' output noise density (nV/sqrt(Hz)): over the
    DAC's Nyquist band, half the clock (the noise bandwidth of a sample held for its symbol), or over the receiver's
    noise bandwidth ([detector] bandwidth_ghz) where that is narrower (the receiver filters the phase it detects;
    the smaller of the two bounds the combined filter's)."""
    band_ghz = min(clock_ghz / 2, receiver_bandwidth_ghz)
    return math.sqrt(density_nv_rthz**2 * band_ghz * 1e-3)  # (nV/sqrt(Hz))^2 * GHz = 1e-3 mV^2


@dataclass(frozen=True)
class Readout:
    """The laser and receiver of an MDPU, and whether their noise is simulated."""

    laser: Laser = field(default_factory=Laser)
    detector: Photodetector = field(default_factory=Photodetector)
    noise: bool = True
    # rms voltage noise of each driver (DAC and driver; a differential segment's two drivers add theirs across its
    # gap, MmuDesign.drivers_per_gap) over the band a readout sees (drive_noise_rms_mv); 0: off. The default: the
    # density of photonics.constants.DRIVE_NOISE_NV_RTHZ at the default clock and receiver, 1 mV (a Readout built
    # with another detector keeps it; a chip's, ChipConfig.readout, is computed from its own clock and detector).
    drive_noise_mv_rms: float = drive_noise_rms_mv(DRIVE_NOISE_NV_RTHZ, CLOCK_GHZ, Photodetector().bandwidth_ghz)

    def __post_init__(self):
        if not self.drive_noise_mv_rms >= 0:
            raise UsageError(f"drive_noise_mv_rms must be >= 0 mV (got {self.drive_noise_mv_rms})")

    @property
    def adc_headroom(self) -> float:
        """The ADC's full scale over the largest signal excursion (``[detector] adc_headroom``)."""
        return self.detector.adc_headroom

    @property
    def drive_noise_v_rms(self) -> float:
        """The drive noise in volts, 0 with noise off."""
        return self.drive_noise_mv_rms * 1e-3 if self.noise else 0.0

    def with_laser_power(self, power_mw: float) -> Readout:
        return replace(self, laser=replace(self.laser, power_mw=power_mw))


@dataclass(frozen=True)
class ReadResult:
    i_a: np.ndarray  # I current from the ADC code (A)
    q_a: np.ndarray
    modulus: int

    @cached_property
    def phase_rad(self) -> np.ndarray:
        """atan2(Q, I) in [0, 2*pi) (computed when asked: calibration averages I and Q only)."""
        return np.mod(np.arctan2(self.q_a, self.i_a), 2 * np.pi)

    @cached_property
    def residue(self) -> np.ndarray:
        """The phase rounded to the nearest multiple of 2*pi/m."""
        m = self.modulus
        return np.mod(np.round(self.phase_rad * m / (2 * np.pi)).astype(np.int64), m)


def signal_excursion(compiled: CompiledMdpu) -> float:
    """Largest |I| or |Q| (per unit input power) over every signal-arm phase at the zero-input amplitude.

    Each balanced pair gives const + 2 Re(c T) for T = A exp(j theta): an offset
    (responsivity mismatch, imbalance) plus a swing of 2 |c| A.
    """
    return float(
        _signal_excursion(compiled.lo_to_det, compiled.arm_to_det * compiled.src_to_arm, _arm_amplitude(compiled))
    )


def _arm_amplitude(compiled: CompiledMdpu) -> float:
    """|T_arm| with every segment at level 0: the zero-input amplitude."""
    return float(_arm_amplitudes([compiled])[0])


def _arm_amplitudes(rows) -> np.ndarray:
    """:func:`_arm_amplitude` of each row (R,): the products along an axis take the same steps as one row's, and
    each row's two products multiply as numpy scalars (an array's SIMD loop can round a complex product apart)."""
    segments = np.prod(np.stack([row.segment_t[..., 0] for row in rows]).reshape(len(rows), -1), axis=-1)
    heaters = np.prod(np.stack([row.heater_t for row in rows]).reshape(len(rows), -1), axis=-1)
    return np.array([abs(a * b) for a, b in zip(segments, heaters, strict=True)])


def _signal_excursion(lo: np.ndarray, s: np.ndarray, t) -> np.ndarray:
    """:func:`signal_excursion` of rows (...) from their LO fields lo (..., 4), signal fields per unit arm
    transmission s (..., 4) and zero-input arm amplitudes t (...)."""
    out = 0.0
    for p, n in ((0, 1), (2, 3)):
        # [()]: one row's values as numpy scalars, whose abs rounds as it always did (arrays take SIMD loops)
        lp, ln, sp, sn = (a[..., k][()] for a, k in ((lo, p), (lo, n), (s, p), (s, n)))
        const = abs(lp) ** 2 - abs(ln) ** 2 + (abs(sp) ** 2 - abs(sn) ** 2) * t**2
        swing = 2 * abs(np.conj(lp) * sp - np.conj(ln) * sn) * t
        out = np.maximum(out, abs(const) + swing)
    return out


def brightest_detector_power(compiled: CompiledMdpu) -> float:
    """Largest optical power on any of the four detectors (per unit laser power) over every signal-arm phase.

    Detector d sees |lo_d + s_d T|**2 at most (|lo_d| + |s_d| |T|)**2, T at the zero-input amplitude.
    """
    t = abs(np.prod(compiled.segment_t[..., 0]) * np.prod(compiled.heater_t))
    s = compiled.arm_to_det * compiled.src_to_arm
    return float(np.max((np.abs(compiled.lo_to_det) + np.abs(s) * t) ** 2))


def saturation_laser_power_mw(compiled: CompiledMdpu, detector: Photodetector) -> float:
    """Laser power into the MDPU at which its brightest detector reaches the 1-dB compression current.

    Above it the readout saturates: the pair currents compress, the phase bends
    and the analytic error rate no longer holds; the link budget searches below it.
    """
    return saturation_power_mw(detector) / brightest_detector_power(compiled)


def ranged_detector(compiled: CompiledMdpu, readout: Readout) -> Photodetector:
    """The detector with the ADC full scale set by the TIA gain (auto-ranging over the signal's excursion).

    Remembered on the row for the last readout asked (a validated detector costs more than a read of a few
    readouts).
    """
    held = compiled.__dict__.get("_ranged_detector")
    if held is None or held[0] != readout:
        detector = _ranged(readout.detector, float(_full_scale_ua(signal_excursion(compiled), readout)))
        held = compiled.__dict__["_ranged_detector"] = (readout, detector)
    return held[1]


def _ranged(detector: Photodetector, full_scale_ua) -> Photodetector:
    """``detector`` with the ADC full scale (a number, or an array of one per row) set by the TIA gain.

    A full scale from :func:`_full_scale_ua` is finite and positive by construction
    wherever the fields are finite: the already validated detector is copied
    with it, not validated again (a validation costs more than a small read);
    anything else goes through the validation, which names it.
    """
    if not np.all(np.isfinite(full_scale_ua)):
        return replace(detector, adc_full_scale_ua=full_scale_ua)
    out = copy.copy(detector)
    object.__setattr__(out, "adc_full_scale_ua", full_scale_ua)
    return out


def _full_scale_ua(excursion, readout: Readout):
    """ADC full scale (uA) for signal excursions (per unit input power, any shape): ``adc_headroom`` times the
    largest excursion of the pair current at the readout's laser power."""
    amplitude_w = excursion * readout.laser.power_mw * 1e-3
    return np.maximum(readout.adc_headroom * readout.detector.responsivity_a_per_w * amplitude_w * 1e6, 1e-12)


# A noisy read's chain works in float32 where its rounding error stays below this many ADC codes: a code can then
# differ from float64's only where float64's value lies within that of a rounding boundary (a 1e-3 chance for a
# value spread over a code or more by the receiver's noise, which calibration needs at 0.3 code rms or more:
# DITHER_NOISE_CODES), and the codes' mean moves by far less. Else it works in float64.
CODE_ROUNDOFF = 1e-3
# Roundings in the chain (the rotation's terms, cosine, sine, products and sums; RIN; tanh; the pair's difference
# and sum; the noise's scale, square root and product), each at most about one float32 ulp (2**-24) of the largest
# value it handles: 13, counted up to 16 for margin.
FLOAT32_ROUNDINGS = 16


def code_dtype(lo, s, detector: Photodetector, readout: Readout) -> type:
    """float32 where the noisy chain's float32 rounding error, at most ``FLOAT32_ROUNDINGS`` ulps of the largest pair
    value it can handle, is at most ``CODE_ROUNDOFF`` ADC codes, else float64; for rows with LO fields ``lo``
    (..., 4) and signal fields per unit arm transmission ``s`` (..., 4), read through ``detector`` (ranged: a full
    scale per row) with ``readout``.

    The largest value: every detector as bright as it can be (|lo| + |s|)^2 (a passive arm transmits at most 1),
    RIN at 8 sigma, and the pair's noise at 8 sigma.
    """
    rin = 1 + 8 * rin_relative_rms(readout.laser, detector.bandwidth_ghz)
    t = np.tanh(readout.laser.power_mw * drive_per_mw(detector) * rin * (np.abs(lo) + np.abs(s)) ** 2)
    alpha, beta, gamma = (np.asarray(c)[..., None] for c in pair_code_scales(detector))
    total = t[..., 0::2] + t[..., 1::2]  # (..., 2): each pair's two detectors
    largest = np.max(alpha * total + 8 * np.sqrt(beta * total + gamma))
    return np.float32 if FLOAT32_ROUNDINGS * 2.0**-24 * largest <= CODE_ROUNDOFF else np.float64


@dataclass(frozen=True)
class Receivers:
    """The receivers of a batch of rows for :func:`read_rows`: each row's constants as arrays over its axes.

    Arrays lead with the rows' axes (the shape they were built with, then any
    singleton axes :meth:`expand` adds) and broadcast against the readouts'
    shape; the ``(..., 4)`` ones end with the detectors (i_p, i_n, q_p, q_n).
    """

    modulus: int
    lo_to_det: np.ndarray  # (..., 4) laser input -> detectors through the LO arm
    signal_to_det: np.ndarray  # (..., 4) detector fields per unit signal-arm transmission
    delay_mismatch_s: np.ndarray  # (...) signal minus LO arm group delay
    detector: Photodetector  # the readout's detector, ADC full scale (...) of each row (ranged_detector)
    iq_offset: np.ndarray | None = None  # (..., 2) digital I/Q correction (IqCorrection), None: no row has one
    iq_matrix: np.ndarray | None = None  # (..., 2, 2)
    code_dtype: type = np.float64  # what a noisy read's chain works in for these rows (code_dtype)

    @classmethod
    def of(cls, rows, readout: Readout) -> Receivers:
        """The receivers of compiled rows (a sequence; arrays lead with R) read with ``readout``."""
        lo = np.stack([row.lo_to_det for row in rows])
        s = np.stack([row.arm_to_det * row.src_to_arm for row in rows])
        t = _arm_amplitudes(rows)
        full_scale = _full_scale_ua(_signal_excursion(lo, s, t), readout)
        offset, matrix = IqCorrection.stacked([row.iq_correction for row in rows])
        detector = _ranged(readout.detector, full_scale)
        return cls(
            rows[0].design.modulus,
            lo,
            s,
            delay_mismatches_s([row.design for row in rows]),
            detector,
            offset,
            matrix,
            code_dtype(lo, s, detector, readout),
        )

    @classmethod
    def of_row(cls, compiled: CompiledMdpu, readout: Readout) -> Receivers:
        """The receiver of one row (scalar arrays: they broadcast against any readouts' shape)."""
        c = compiled.iq_correction
        s = compiled.arm_to_det * compiled.src_to_arm
        detector = ranged_detector(compiled, readout)
        return cls(
            compiled.design.modulus,
            compiled.lo_to_det,
            s,
            np.asarray(compiled.delay_mismatch_s()),
            detector,
            None if c is None else np.asarray(c.offset),
            None if c is None else np.asarray(c.matrix),
            code_dtype(compiled.lo_to_det, s, detector, readout),
        )

    def expand(self, axes: int) -> Receivers:
        """The same receivers with ``axes`` singleton axes after the rows' (for readouts (*rows, *inner))."""
        if axes == 0:
            return self

        def ex(a, tail):  # tail: trailing axes that belong to the value (detectors, I/Q)
            if a is None:
                return None
            a = np.asarray(a)
            lead = a.shape[: a.ndim - tail]
            return a.reshape(lead + (1,) * axes + a.shape[a.ndim - tail :])

        fs = self.detector.adc_full_scale_ua
        return Receivers(
            self.modulus,
            ex(self.lo_to_det, 1),
            ex(self.signal_to_det, 1),
            ex(self.delay_mismatch_s, 0),
            _ranged(self.detector, ex(fs, 0)) if np.ndim(fs) else self.detector,
            ex(self.iq_offset, 1),
            ex(self.iq_matrix, 2),
            self.code_dtype,
        )

    def take(self, index) -> Receivers:
        """The receivers of rows ``index`` (an integer array over the readouts) of receivers built for a tile."""
        fs = self.detector.adc_full_scale_ua

        def pick(a):
            return None if a is None else np.asarray(a)[index]

        return Receivers(
            self.modulus,
            pick(self.lo_to_det),
            pick(self.signal_to_det),
            pick(self.delay_mismatch_s),
            _ranged(self.detector, pick(fs)) if np.ndim(fs) else self.detector,
            pick(self.iq_offset),
            pick(self.iq_matrix),
            self.code_dtype,
        )


def drive_phase_sigma_rad(compiled: CompiledMdpu, x, w, readout: Readout) -> np.ndarray | None:
    """Per-readout rms signal-arm phase from drive noise for residues x, w (..., h); None when it is off."""
    if not (readout.noise and readout.drive_noise_mv_rms > 0):
        return None
    return np.sqrt(compiled.drive_phase_variance(x, w)) * readout.drive_noise_v_rms


def draw_drift_hz(readout: Readout, rng: np.random.Generator) -> float | None:
    """A run's laser frequency offset from calibration's (Hz): one normal draw of ``frequency_drift_mhz_rms``; None
    with noise or drift off."""
    rms_mhz = readout.laser.frequency_drift_mhz_rms
    return rms_mhz * 1e6 * rng.standard_normal() if readout.noise and rms_mhz > 0 else None


def phase_drawn(readout: Readout) -> bool:
    """Whether a noisy read draws the signal arm's phase noise (laser phase noise or drive noise on)."""
    return readout.laser.linewidth_khz > 0 or readout.drive_noise_mv_rms > 0


@dataclass(frozen=True)
class NoiseBall:
    """A region of a noisy read's standard normal draws (:class:`_Draws`) that a caller has proven harmless: the
    arm's phase draw (where drawn) and the two pairs' together within ``radius`` of 0 (per readout), and the RIN
    draw within ``rin_sigmas`` (inf: any).

    A readout whose residue is the same for every draw inside is read exactly when it is simulated with
    probability :meth:`leave_probability`, its draws conditioned on leaving (:meth:`draws_outside`), and
    otherwise given its noiseless residue: the two cases are the law of its draws split along the region, so
    the residues have the law of simulating every readout (exact thinning, not a bound).
    """

    radius: np.ndarray  # (n,) or any shape: the ball's radius in the whitened draws
    rin_sigmas: float

    @staticmethod
    def dimensions(readout: Readout) -> int:
        """The ball's dimension: the two pairs' draws, and the phase's where it is drawn."""
        return 2 + phase_drawn(readout)

    def _tails(self, readout: Readout):
        """(probability of leaving the ball, of leaving the RIN bound), each alone."""
        ball = chi.sf(self.radius, self.dimensions(readout))
        return ball, (2 * norm.sf(self.rin_sigmas) if np.isfinite(self.rin_sigmas) else 0.0)

    def leave_probability(self, readout: Readout) -> np.ndarray:
        """The probability that a read's draws leave the region."""
        ball, rin = self._tails(readout)
        return ball + (1 - ball) * rin

    def draws_outside(self, readout: Readout, rng: np.random.Generator, drive_sigma_rad, drift_hz) -> _Draws:
        """Draws for readouts of shape ``radius.shape`` conditioned on leaving the region, as :class:`_Draws`.

        Leaving is leaving the ball (the RIN draw then free) or staying in it and leaving the RIN bound, in
        proportion to their probabilities; a radius beyond (or within) r is the chi distribution's tail (or
        body) past a uniform fraction of it, its direction uniform, and a RIN draw beyond the bound its normal
        tail, either sign. The same number of draws from ``rng`` whichever case, in one order.
        """
        _check_draw_inputs(readout, drive_sigma_rad)
        if readout.laser.frequency_drift_mhz_rms > 0 and drift_hz is None:
            raise ValueError("drift is on: pass drift_hz (draws conditioned on a region need the run's drift)")
        k = self.dimensions(readout)
        shape = np.shape(self.radius)
        ball, rin_tail = self._tails(readout)
        which, along, tail = rng.random((3, *shape))
        along, tail = 1 - along, 1 - tail  # in (0, 1]: a tail past a fraction 0 would be infinite
        direction = rng.standard_normal((k, *shape))
        free_rin = rng.standard_normal(shape)
        sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        left_ball = which * (ball + (1 - ball) * rin_tail) < ball
        with np.errstate(divide="ignore", invalid="ignore"):
            beyond = chi.isf(along * ball, k)  # |w| past the radius
            within = chi.ppf(along * (1 - ball), k)  # |w| inside it (1 - ball: the chi CDF at the radius)
            rin_beyond = sign * norm.isf(tail * rin_tail / 2)
        length = np.where(left_ball, beyond, within)
        w = direction * (length / np.linalg.norm(direction, axis=0))
        rin = np.where(left_ball, free_rin, rin_beyond)
        return _Draws(w[0] if k == 3 else None, drift_hz, rin, w[-2:])


def _check_draw_inputs(readout: Readout, drive_sigma_rad) -> None:
    if readout.drive_noise_mv_rms > 0 and drive_sigma_rad is None:
        raise ValueError("drive noise is on: pass drive_sigma_rad (see drive_phase_sigma_rad)")


@dataclass(frozen=True)
class _Draws:
    """The standard normal draws of one noisy read, each over the readouts' whole shape, drawn in
    :func:`read_rows`'s order: the signal arm's phase noise, the drift (one number), RIN, the I pair's noise,
    the Q pair's. Laser phase noise and drive noise are independent Gaussian phases of the same arm, so one draw
    of their summed variance is both (one normal number a readout fewer)."""

    phase: np.ndarray | None  # the arm's phase noise; None with the linewidth and the drive noise at 0
    drift_hz: object  # the laser's frequency offset (drawn, or the caller's); None with drift off
    rin: np.ndarray
    pairs: np.ndarray  # (2, ...): I's, then Q's

    @classmethod
    def of(cls, readout: Readout, rng: np.random.Generator, shape, drive_sigma_rad, drift_hz) -> _Draws:
        _check_draw_inputs(readout, drive_sigma_rad)
        phase = rng.standard_normal(shape) if phase_drawn(readout) else None
        if drift_hz is None:  # None again with drift off (nothing drawn)
            drift_hz = draw_drift_hz(readout, rng)
        rin = rng.standard_normal(shape)
        return cls(phase, drift_hz, rin, rng.standard_normal((2, *shape)))


def _phase_sigma_rad(delay_s, readout: Readout, drive_sigma_rad):
    """RMS extra signal-arm phase of each distinct readout from the laser's phase noise and the drive's (independent
    Gaussians: their variances add), broadcast against the readouts (where :class:`_Draws` draws a phase)."""
    variance = phase_noise_variance_rad2(readout.laser, delay_s)
    if readout.drive_noise_mv_rms > 0:
        variance = variance + np.square(_compact(drive_sigma_rad))
    return np.sqrt(variance)


def _part(a, n: int, sl, tail: int = 0):
    """The part of ``a`` (broadcast against ``n`` readout axes, then ``tail`` axes of its own) that readouts ``sl``
    of the first readout axis read: ``a`` itself where it does not vary along that axis."""
    if a is None or not isinstance(a, np.ndarray):
        return a
    ax = a.ndim - tail - n
    if ax < 0 or a.shape[ax] == 1:
        return a
    return a[(slice(None),) * ax + (sl,)]


def read(
    compiled: CompiledMdpu,
    fields: np.ndarray,
    readout: Readout,
    rng: np.random.Generator | None = None,
    *,
    drive_sigma_rad: np.ndarray | None = None,
    drift_hz: float | None = None,
) -> ReadResult:
    """Residues read from detector fields (..., 4) per unit input field: :func:`read_rows` for one row.

    With drive noise on, ``drive_sigma_rad`` (:func:`drive_phase_sigma_rad` of the
    readouts' residues) is required. ``drift_hz``: the laser's frequency offset for
    this call; None draws one (from ``frequency_drift_mhz_rms``) for the whole call.
    """
    return read_rows(
        Receivers.of_row(compiled, readout), fields, readout, rng, drive_sigma_rad=drive_sigma_rad, drift_hz=drift_hz
    )


def read_rows(
    receivers: Receivers,
    fields: np.ndarray,
    readout: Readout,
    rng: np.random.Generator | None = None,
    *,
    drive_sigma_rad: np.ndarray | None = None,
    drift_hz=None,
) -> ReadResult:
    """Residues read from detector fields (..., 4) per unit input field, each through its row's receiver.

    ``receivers`` (:class:`Receivers`, expanded to the readouts' axes) broadcast
    against ``fields.shape[:-1]``; so may ``drift_hz`` (the laser's frequency
    offset; None draws one for the whole call from ``frequency_drift_mhz_rms``)
    and ``drive_sigma_rad`` (required with drive noise on). The noise is drawn
    from ``rng`` in one order, each draw over the readouts' whole shape: the
    arm's phase noise (laser phase noise and drive noise, one draw of their
    summed variance), the drift (one number), RIN, the I pair's noise, the Q
    pair's; so a call on one row draws exactly as :func:`read` does.

    Fields repeated along broadcast axes (``np.broadcast_to``, as calibration's
    repeated readings pass them) are worked on once per distinct value until the
    noise makes them differ. The arm's rotation enters the detector powers as
    |lo + d e^(j theta)|^2 = |lo|^2 + |d|^2 + 2 Re(conj(lo) d e^(j theta)) (d: the
    signal arm's part of the fields), the same powers to round-off.
    """
    return _read(receivers, _Fields(receivers, fields), readout, rng, drive_sigma_rad, drift_hz)


def read_arms(
    receivers: Receivers,
    arm: np.ndarray,
    readout: Readout,
    rng: np.random.Generator | None = None,
    *,
    drive_sigma_rad: np.ndarray | None = None,
    drift_hz=None,
    outside: NoiseBall | None = None,
) -> ReadResult:
    """:func:`read_rows` of the readouts whose signal arms transmit ``arm`` (...): detector fields
    lo + s * arm through the receivers (``lo_to_det``, ``signal_to_det``), which the noisy read never builds (it
    works from |s|^2 |arm|^2 and conj(lo) s arm). ``outside``: draw the noise conditioned on leaving that region
    (:meth:`NoiseBall.draws_outside`; noise on, ``arm`` 1-D, ``drift_hz`` given where drift is on)."""
    return _read(receivers, _Arms(receivers, arm), readout, rng, drive_sigma_rad, drift_hz, outside)


def _read(receivers: Receivers, readouts, readout: Readout, rng, drive_sigma_rad, drift_hz, outside=None):
    codes_i, codes_q = _read_codes(receivers, readouts, readout, rng, drive_sigma_rad, drift_hz, outside=outside)
    detector = receivers.detector
    i_a, q_a = _corrected(
        receivers, readout, codes_to_current_a(codes_i, detector), codes_to_current_a(codes_q, detector)
    )
    return ReadResult(i_a, q_a, receivers.modulus)


def read_rows_mean(
    receivers: Receivers,
    fields: np.ndarray,
    readout: Readout,
    rng: np.random.Generator,
    *,
    drive_sigma_rad: np.ndarray | None = None,
    drift_hz=None,
) -> tuple[np.ndarray, np.ndarray]:
    """The mean (I, Q) (A) over the first axis (repeated readings) of :func:`read_rows`, with the same draws.

    The ADC codes are averaged (exactly: whole numbers summed) and then scaled and
    corrected: the correction is affine, so this is the mean of the corrected
    readings to round-off, without correcting every reading.
    """
    return _read_mean(receivers, _Fields(receivers, fields), readout, rng, drive_sigma_rad, drift_hz)


def read_arms_mean(
    receivers: Receivers,
    arm: np.ndarray,
    readout: Readout,
    rng: np.random.Generator,
    *,
    drive_sigma_rad: np.ndarray | None = None,
    drift_hz=None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read_rows_mean` of signal-arm transmissions ``arm`` (...), as :func:`read_arms` reads them."""
    return _read_mean(receivers, _Arms(receivers, arm), readout, rng, drive_sigma_rad, drift_hz)


def _read_mean(receivers: Receivers, readouts, readout: Readout, rng, drive_sigma_rad, drift_hz):
    sum_i, sum_q = _read_codes(receivers, readouts, readout, rng, drive_sigma_rad, drift_hz, summed=True)
    n = readouts.shape[0]  # the receivers broadcast against the readings without their first axis too
    i_a = codes_to_current_a(sum_i / n, receivers.detector)
    q_a = codes_to_current_a(sum_q / n, receivers.detector)
    return _corrected(receivers, readout, i_a, q_a)


# Readouts a noisy read works on at a time: its draws are made first, whole and in their order, then every
# readout's arithmetic runs over chunks of about this many readouts along the first axis, so that a chunk's
# working arrays (about twenty values a readout) stay in a core's cache and none has the size of the whole read.
CHUNK_READOUTS = 8192


def _read_codes(
    receivers: Receivers, readouts, readout: Readout, rng, drive_sigma_rad, drift_hz, summed=False, outside=None
):
    """The I and Q ADC codes of :func:`read_rows` (its draws, in its order) of ``readouts`` (:class:`_Fields` or
    :class:`_Arms`); ``summed``: their sums over the first axis instead (as floats: whole numbers, exact);
    ``outside``: the draws conditioned on leaving that :class:`NoiseBall` (1-D readouts).

    With noise, each readout's chain (rotation, RIN, photocurrents, the pairs' noise, the ADC's rounding) runs in
    ``receivers.code_dtype`` (:func:`code_dtype`), on the constants of each distinct field computed once in float64.
    """
    if readout.noise and rng is None:
        raise ValueError("rng is required when noise is on")
    detector = receivers.detector
    shape = readouts.shape
    if not readout.noise:
        power_mw = readout.laser.power_mw * np.moveaxis(np.abs(readouts.fields()) ** 2, -1, 0)
        pair_i, pair_q = balanced_pairs_current_a(power_mw, detector, None)  # one TIA per pair: I, then Q
        codes = adc_codes(pair_i, detector), adc_codes(pair_q, detector)
        return tuple(c.sum(0).astype(float) for c in codes) if summed else codes
    if not shape:  # one readout: read as a batch of one
        if outside is not None:
            outside = NoiseBall(np.reshape(outside.radius, (1,)), outside.rin_sigmas)
        codes = _read_codes(
            receivers, readouts.batch_of_one(), readout, rng, drive_sigma_rad, drift_hz, outside=outside
        )
        return codes[0].reshape(()), codes[1].reshape(())
    if outside is None:
        draws = _Draws.of(readout, rng, shape, drive_sigma_rad, drift_hz)
    else:
        draws = outside.draws_outside(readout, rng, drive_sigma_rad, drift_hz)
    add_drift = draws.drift_hz is not None and (draws.phase is None or np.any(draws.drift_hz != 0))
    n = len(shape)
    dtype = receivers.code_dtype
    gain = readout.laser.power_mw * drive_per_mw(detector)  # the detectors' tanh arguments per unit |field|^2
    if add_drift or draws.phase is not None:  # the signal arm's phase moves: rotate its part of the fields
        terms = readouts.rotation_terms(n, gain, dtype)
        sigma = None
        if draws.phase is not None:  # _Draws decides which sources are on
            sigma = np.asarray(_phase_sigma_rad(receivers.delay_mismatch_s, readout, drive_sigma_rad), dtype)
    else:
        still = np.ascontiguousarray(np.moveaxis(np.abs(readouts.distinct_fields()) ** 2 * gain, -1, 0), dtype)
    rin_rms = rin_relative_rms(readout.laser, detector.bandwidth_ghz)
    scales = pair_code_scales(detector, dtype)
    out = np.zeros((2, *shape[1:])) if summed else np.empty((2, *shape), dtype=np.int64)
    step = max(1, CHUNK_READOUTS // max(1, int(np.prod(shape[1:]))))
    for start in range(0, shape[0], step):
        sl = slice(start, start + step)
        rin = np.multiply(_part(draws.rin, n, sl), rin_rms, dtype=dtype)
        rin += 1
        if add_drift or draws.phase is not None:
            theta = _signal_phase_rad(receivers.delay_mismatch_s, draws, sl, n, sigma, add_drift, dtype)
            drive = _rotate([_part(t, n, sl) for t in terms], theta)
            drive = np.multiply(drive, rin, out=drive if drive.shape[1:] == rin.shape else None)
        else:
            drive = np.multiply(_part(still, n, sl), rin)
        normal = np.asarray(_part(draws.pairs, n, sl), dtype)
        value = balanced_pair_code_values(drive, normal, [_part(c, n, sl) for c in scales])
        codes = quantise_codes(value, detector, out=value)  # (2, ...): I's, then Q's
        if summed:
            out += codes.sum(1, dtype=np.float64)
        else:
            out[:, sl] = codes
    return out[0], out[1]


def _signal_phase_rad(delay_s, draws: _Draws, sl, n: int, sigma, add_drift: bool, dtype):
    """Extra signal-arm phase of readouts ``sl`` (of the first of the ``n`` readout axes), in ``dtype``: the phase
    noise (rms ``sigma``, :func:`_phase_sigma_rad`, times the draws) and the drift's static phase if ``add_drift``
    (a drift of exactly 0, calibration's reference frequency, adds nothing where no other source is on).

    ``delay_s``: the arm delay mismatch (broadcast against the readouts).
    """
    theta = None
    if sigma is not None:
        theta = np.multiply(_part(draws.phase, n, sl), _part(sigma, n, sl), dtype=dtype)
    if add_drift:
        shift = np.asarray(2 * np.pi * _part(draws.drift_hz, n, sl) * _part(delay_s, n, sl), dtype)
        theta = shift + np.zeros((), dtype) if theta is None else np.add(theta, shift, out=theta)
    return theta


def _corrected(receivers, readout: Readout, i_a, q_a):
    """(I, Q) through the receivers' digital correction (in units of I + jQ per input power), if any."""
    if receivers.iq_offset is None:
        return i_a, q_a
    scale = readout.detector.responsivity_a_per_w * readout.laser.power_mw * 1e-3
    # times 1/scale: what numpy's complex division by the real scale computes (bit for bit as before)
    i_a, q_a = correct_iq_parts(i_a * (1 / scale), q_a * (1 / scale), receivers.iq_offset, receivers.iq_matrix)
    i_a *= scale
    q_a *= scale
    return i_a, q_a


def _compact(a: np.ndarray) -> np.ndarray:
    """``a`` with its broadcast axes (stride 0, length > 1) cut to length 1: each distinct value once, the same
    values wherever it broadcasts back."""
    a = np.asarray(a)
    if 0 not in a.strides:
        return a
    return a[tuple(slice(0, 1) if s == 0 and n > 1 else slice(None) for s, n in zip(a.strides, a.shape, strict=True))]


def _rotated_power(lo: np.ndarray, fields: np.ndarray, theta) -> np.ndarray:
    """|lo + (fields - lo) e^(j theta)|^2, detectors first (4, ...), for fields and LO parts (..., 4) broadcast
    against theta (...).

    Expanded as |lo|^2 + |d|^2 + 2 Re(conj(lo) d) cos(theta) - 2 Im(conj(lo) d) sin(theta), d = fields - lo:
    the constants once per distinct field (:func:`_rotation_terms`), then two products and two sums per readout and
    detector (:func:`_rotate`).
    """
    theta = np.asarray(theta, order="C")  # (ascontiguousarray would make a 0-d theta 1-d)
    return _rotate(_rotation_terms(lo, fields, theta.ndim), theta)


def _rotation_terms(
    lo: np.ndarray, fields: np.ndarray, n: int, scale: float = 1.0, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(|lo|^2 + |d|^2, 2 Re(conj(lo) d), 2 Im(conj(lo) d)) of :func:`_rotated_power`, detectors first, each with
    at least the ``n`` axes of the readouts after the detectors' (C order: each pass runs over whole rows of
    memory, not four values at a time), times ``scale`` (computed in float64) and stored as ``dtype``."""
    d = fields - lo
    return _detectors_first(np.abs(lo) ** 2 + np.abs(d) ** 2, 2 * np.conj(lo) * d, n, scale, dtype)


def _detectors_first(a, b, n: int, scale: float, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, Re b, Im b) of :func:`_rotation_terms` from a = |lo|^2 + |d|^2 and b = 2 conj(lo) d (..., 4), scaled
    and stored as ``dtype`` in the pass that lays them out (the product in float64, then rounded: the values of
    scaling first and casting after)."""
    lead = (1,) * max(0, n + 1 - b.ndim)  # the readouts' axes the values do not have

    def first(x):
        x = np.moveaxis(x.reshape(lead + x.shape), -1, 0)
        return np.multiply(x, scale, out=np.empty(np.broadcast_shapes(x.shape, np.shape(scale)), dtype))

    return first(np.broadcast_to(a, b.shape)), first(b.real), first(b.imag)


class _Fields:
    """Readouts given by their detector fields (..., 4), read through ``receivers``."""

    def __init__(self, receivers: Receivers, fields: np.ndarray) -> None:
        self.lo, self.values = receivers.lo_to_det, fields
        self.shape = fields.shape[:-1]

    def fields(self) -> np.ndarray:
        return self.values

    def distinct_fields(self) -> np.ndarray:
        """The fields with their broadcast axes cut to length 1 (:func:`_compact`)."""
        return _compact(self.values)

    def rotation_terms(self, n: int, scale: float = 1.0, dtype=np.float64):
        return _rotation_terms(self.lo, _compact(self.values), n, scale, dtype)

    def batch_of_one(self) -> _Fields:
        out = copy.copy(self)
        out.values, out.shape = self.values[None], (1,)
        return out


class _Arms:
    """Readouts given by their signal arms' transmissions (...): fields lo + s * arm of the receivers' LO fields and
    signal fields per unit arm transmission, worked on without building them where the read allows."""

    def __init__(self, receivers: Receivers, arm: np.ndarray) -> None:
        self.lo, self.s, self.arm = receivers.lo_to_det, receivers.signal_to_det, np.asarray(arm)
        self.shape = self.arm.shape

    def fields(self) -> np.ndarray:
        return self.lo + self.s * self.arm[..., None]

    def distinct_fields(self) -> np.ndarray:
        return self.lo + self.s * _compact(self.arm)[..., None]

    def rotation_terms(self, n: int, scale: float = 1.0, dtype=np.float64):
        """:func:`_rotation_terms` with d = s * arm: |lo|^2 + |s|^2 |arm|^2 and 2 conj(lo) s arm."""
        t = _compact(self.arm)[..., None]
        power = np.abs(self.lo) ** 2 + (np.abs(self.s) ** 2) * (t.real**2 + t.imag**2)
        return _detectors_first(power, (2 * np.conj(self.lo) * self.s) * t, n, scale, dtype)

    def batch_of_one(self) -> _Arms:
        out = copy.copy(self)
        out.arm, out.shape = self.arm[None], (1,)
        return out


def _rotate(terms, theta) -> np.ndarray:
    """The powers (4, ...) of :func:`_rotated_power` from its :func:`_rotation_terms` and the phases ``theta``."""
    a, b_real, b_imag = terms
    out = np.multiply(np.cos(theta), b_real)
    out -= np.sin(theta) * b_imag
    out += a
    return out


def phase_variances_rad2(
    compiled: CompiledMdpu, fields: np.ndarray, readout: Readout, drive_sigma_rad: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Phase variance of each noise source (rad^2) for detector fields (..., 4).

    Keys: receiver, laser_phase_noise, frequency_drift, drive. Without
    ``drive_sigma_rad``, the drive's variance is its mean over uniformly random
    residues (:attr:`CompiledMdpu.drive_variance_table`).
    """
    return rows_phase_variances_rad2(Receivers.of_row(compiled, readout), compiled, fields, readout, drive_sigma_rad)


def rows_phase_variances_rad2(
    receivers: Receivers, row: CompiledMdpu, fields: np.ndarray, readout: Readout, drive_sigma_rad=None
) -> dict[str, np.ndarray]:
    """:func:`phase_variances_rad2` of readouts on rows of one design, each through its receiver (``receivers``,
    expanded to broadcast against the readouts' axes); ``row``: any of them (the drive's table is its design's)."""
    shape = np.shape(fields)[:-1]
    laser_noise, drift = _laser_variances_rad2(readout.laser, receivers.delay_mismatch_s)
    if drive_sigma_rad is not None:
        drive = np.asarray(drive_sigma_rad) ** 2
    elif readout.drive_noise_v_rms > 0:  # the table solves every segment's slope: only when it is needed
        drive = row.drive_variance_table.mean(axis=(1, 2)).sum() * readout.drive_noise_v_rms**2
    else:
        drive = 0.0
    return {
        "receiver": np.sqrt(sum(_receiver_variances_rad2(receivers.detector, fields, readout))) ** 2,
        "laser_phase_noise": np.broadcast_to(laser_noise, shape),
        "frequency_drift": np.broadcast_to(drift, shape),
        "drive": np.broadcast_to(drive, shape),
    }


def laser_phase_variances_rad2(compiled: CompiledMdpu, laser) -> tuple[float, float]:
    """(phase noise, frequency drift) variance of the signal arm against the LO (rad^2), over their delay mismatch."""
    noise, drift = _laser_variances_rad2(laser, compiled.delay_mismatch_s())
    return float(noise), float(drift)


def _laser_variances_rad2(laser, delay_s):
    """:func:`laser_phase_variances_rad2` for delay mismatches ``delay_s`` (any shape)."""
    if laser.linewidth_khz == 0 and laser.frequency_drift_mhz_rms == 0:
        return 0.0, 0.0
    return phase_noise_variance_rad2(laser, delay_s), drift_phase_sigma_rad(laser, delay_s) ** 2


def phase_sigma_rad(
    compiled: CompiledMdpu, fields: np.ndarray, readout: Readout, drive_sigma_rad: np.ndarray | None = None
) -> np.ndarray:
    """Analytic rms phase error of the readout for detector fields (..., 4): every source's variance summed.

    ``drive_sigma_rad`` as for :func:`phase_variances_rad2`.
    """
    return np.sqrt(sum(phase_variances_rad2(compiled, fields, readout, drive_sigma_rad).values()))


def receiver_variances_rad2(
    compiled: CompiledMdpu, fields: np.ndarray, readout: Readout
) -> tuple[np.ndarray, np.ndarray]:
    """The receiver's phase variance in two parts, for fields (..., 4): the front end's (shot and TIA noise, which a
    stronger signal outgrows) and the ADC's (its quantisation and its own noise, which scale with the signal: the
    full scale follows it).

    Each balanced pair has both detectors' shot noise, one TIA's thermal noise and
    its ADC's; the amplitude is that of the (possibly compressed) pair currents.
    """
    return _receiver_variances_rad2(ranged_detector(compiled, readout), fields, readout)


def _receiver_variances_rad2(detector: Photodetector, fields: np.ndarray, readout: Readout):
    """:func:`receiver_variances_rad2` through a ranged ``detector`` (its full scale broadcast against the fields')."""
    mean = mean_current_a(readout.laser.power_mw * np.abs(fields) ** 2, detector)
    var_i = front_end_noise_variance_a2(mean[..., 0], mean[..., 1], detector)
    var_q = front_end_noise_variance_a2(mean[..., 2], mean[..., 3], detector)
    amplitude2 = np.abs((mean[..., 0] - mean[..., 1]) + 1j * (mean[..., 2] - mean[..., 3])) ** 2
    adc = adc_lsb_a(detector) ** 2 / 12
    if detector.adc_noise_lsb_rms:
        adc = adc + adc_noise_variance_a2(detector)
    return 0.5 * (var_i + var_q) / amplitude2, adc / amplitude2


def predicted_error_rate(modulus: int, sigma_rad) -> np.ndarray:
    """Probability that Gaussian phase noise sigma moves the reading past pi/m."""
    return erfc(np.pi / (modulus * np.asarray(sigma_rad) * np.sqrt(2)))
