"""Conventional analog photonic GEMM, the baseline for the RNS tile: C, report = analog_gemm(A, B, config).

An amplitude-encoded dot-product unit of the MZI / micro-ring weight-bank kind,
built from the same chip configuration as the RNS tile (DAC bits, ADC bits,
laser, receiver noise), so the two compare on equal terms.

1. BFP: A's rows and B's columns are quantised exactly as in :mod:`mvm.gemm`
   (signed mantissas |q| <= q_max = 2**(bits-1) - 1, one exponent per group).
2. Optics of one readout (h products of one chunk of K). The laser's power P
   is split: a fraction f = ``LO_FRACTION`` (1/2) goes to the local oscillator,
   the rest to the signal, which a 1:h splitter spreads over the h inputs. Input
   j passes an amplitude modulator set to x_j/q_max and a weight element set to
   w_j/q_max (signed: coherent, a pi phase for negative values); each of these
   ``ELEMENTS_PER_PATH`` elements loses the insertion loss of one EO phase shifter
   as configured (``config.phase_shifter_eo.insertion_loss_db``: its ``length_um``
   of folded LN ridge), amplitude t in all. An h:1 coherent
   combiner of equal-weight inputs passes the amplitude sum over sqrt(h), so

       E_s = sqrt((1 - f) P / h) * t * sum_j (x_j w_j / q_max**2) / sqrt(h)
           = sqrt((1 - f) P) * t * S / (h q_max**2),      S = sum_j x_j w_j,

   real and signed; the rest of the light leaves the combiner's other ports.
3. Coherent detection: a 50:50 coupler mixes E_s with the LO field
   E_lo = sqrt(f P) onto a balanced pair, detector fields (E_s +/- E_lo)/sqrt(2), so
   far below saturation I = R (|E+|**2 - |E-|**2) = 2 R E_s E_lo = g * S with
   g = 2 R P t sqrt(f (1 - f)) / (h q_max**2). The receiver is the RNS readout's
   (:mod:`circuits.readout`, :mod:`photonics.photodetector`): each photocurrent is
   softly limited, I_s tanh(R P_d / I_s), at the detector's 1-dB compression
   current; the pair is wired into ONE TIA, so its noise is both detectors' shot
   noise (on the compressed currents) plus one TIA's thermal noise; the laser's RIN
   scales the power of both detectors before the limit.
4. The TIA gain puts the ADC's full scale at ``adc_headroom`` (1.25) times the
   small-signal |I| at full scale, g * h * q_max**2 (every product at full scale), as
   :func:`circuits.readout.ranged_detector` does for the RNS readout; the ADC
   (``config.detector.adc_bits``) then digitises I and the reading over g estimates S.
   A small dot product keeps only a few of the ADC's codes: the precision the
   analog baseline loses. The reading is decoded linearly, so the detectors'
   compression is a systematic error of the baseline (a shortfall of about
   (R P_d / I_s)**2 / 3 at the brightest detector: 3.5 % at full scale at the
   default 10 mW, ``AnalogReport.full_scale_compression``); like the RNS readout,
   the baseline is meant to run below :func:`circuits.readout.saturation_laser_power_mw`.
5. ``repeats`` = K > 1 is the analog-repeat (redundant coding) baseline: each
   readout is repeated K times with independent noise and the K ADC readings
   averaged (noise far below one ADC code dithers the averaged reading only
   near code boundaries, so repeats mostly buy back noise, not quantisation).
   The reading over g estimates S; chunk estimates are scaled by the groups'
   exponents and summed in float64, group by group.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from mvm import bfp
from mvm.config import ChipConfig
from mvm.gemm import check_operands, chunk_dot
from mvm.validation import is_int
from photonics.errors import UsageError
from photonics.laser import Laser, rin_relative_rms, sample_power_mw
from photonics.photodetector import (
    Photodetector,
    adc_codes,
    adc_lsb_a,
    balanced_current_a,
    balanced_noise_variance_a2,
    codes_to_current_a,
    limit_current_a,
    mean_current_a,
)

LO_FRACTION = 0.5  # share of the laser power sent to the LO (as the RNS MDPU's default lo_fraction)
ELEMENTS_PER_PATH = 2  # input amplitude modulator + weight element, each one EO phase-shifter loss
BLOCK_READOUTS = 1 << 20  # readouts per block (times K repeats): bounds the memory of big GEMMs


@dataclass(frozen=True)
class AnalogReceiver:
    """The optical budget and the auto-ranged receiver of one analog dot-product unit."""

    laser: Laser
    detector: Photodetector  # with the ADC full scale set by the TIA gain
    h: int
    q_max: int
    path_amplitude: float  # field transmission t of one input path (modulator and weight element)
    lo_fraction: float = LO_FRACTION

    @property
    def full_scale_products(self) -> int:
        """The largest |S|: every product at full scale, h * q_max**2."""
        return self.h * self.q_max**2

    @property
    def current_per_product_a(self) -> float:
        """g: balanced current per unit of S, 2 R P t sqrt(f (1 - f)) / (h q_max**2)."""
        f = self.lo_fraction
        scale = 2 * self.detector.responsivity_a_per_w * self.laser.power_mw * 1e-3 * self.path_amplitude
        return scale * math.sqrt(f * (1 - f)) / self.full_scale_products

    @property
    def adc_lsb_products(self) -> float:
        """One ADC code in units of S."""
        return adc_lsb_a(self.detector) / self.current_per_product_a

    def detector_fields(self, s) -> np.ndarray:
        """Fields (..., 2) on the + and - detectors per unit laser field, for chunk sums s."""
        signal = (
            math.sqrt(1 - self.lo_fraction)
            * self.path_amplitude
            * np.asarray(s, dtype=float)
            / self.full_scale_products
        )
        lo = math.sqrt(self.lo_fraction)
        return np.stack([signal + lo, signal - lo], axis=-1) / math.sqrt(2)

    def detector_powers_mw(self, s) -> np.ndarray:
        """Optical powers (..., 2) on the + and - detectors for chunk sums s."""
        return self.laser.power_mw * np.abs(self.detector_fields(s)) ** 2

    def mean_reading_products(self, s) -> np.ndarray:
        """Noiseless reading (before the ADC) of chunk sums s, in units of S: below s where the detectors compress."""
        p = self.detector_powers_mw(s)
        return balanced_current_a(p[..., 0], p[..., 1], self.detector, None) / self.current_per_product_a

    def noise_sigma_products(self, s, *, repeats: int = 1) -> np.ndarray:
        """Analytic rms error of the K-averaged reading of chunk sums s about its mean, in units of S.

        Both detectors' shot noise (on their compressed currents) and one TIA's
        thermal noise on the balanced pair, and RIN through the pair's slope
        d(I+ - I-)/d(ln P), R P sech**2(R P / I_s) per detector, all divided by K;
        plus ADC quantisation lsb**2/12 (which averaging does not reduce when the
        noise is far below one lsb).
        """
        det = self.detector
        power = self.detector_powers_mw(s)
        mean = mean_current_a(power, det)
        linear_a = det.responsivity_a_per_w * power * 1e-3
        slope = linear_a / np.cosh(linear_a / limit_current_a(det)) ** 2  # dI/d(ln P) of each detector
        rin = rin_relative_rms(self.laser, det.bandwidth_ghz)
        var = balanced_noise_variance_a2(mean[..., 0], mean[..., 1], det) + (rin * (slope[..., 0] - slope[..., 1])) ** 2
        var_a2 = var / repeats + adc_lsb_a(det) ** 2 / 12
        return np.sqrt(var_a2) / self.current_per_product_a


def analog_receiver(config: ChipConfig, noise: bool | None = None) -> AnalogReceiver:
    """The analog unit that ``config``'s devices make (same laser, detector, ADC and headroom as the RNS readout)."""
    readout = config.readout(noise)
    if not readout.laser.power_mw > 0:
        raise UsageError(f"laser.power_mw must be > 0 for the analog baseline (got {readout.laser.power_mw})")
    q_max = bfp.q_max_of(config.bfp.mantissa_bits)
    t = 10 ** (-ELEMENTS_PER_PATH * config.phase_shifter_eo.insertion_loss_db / 20)
    unranged = AnalogReceiver(readout.laser, readout.detector, config.tile.h, q_max, t)
    full_scale_ua = readout.adc_headroom * unranged.current_per_product_a * unranged.full_scale_products * 1e6
    return replace(unranged, detector=replace(readout.detector, adc_full_scale_ua=full_scale_ua))


def read_chunks(receiver: AnalogReceiver, s: np.ndarray, *, repeats: int, noise: bool, rng) -> np.ndarray:
    """Estimates of chunk sums s (any shape, exact integers as floats) read through the analog unit."""
    det = receiver.detector
    power_mw = receiver.detector_powers_mw(s)
    if not noise:  # deterministic: every repeat reads the same code
        codes = adc_codes(balanced_current_a(power_mw[..., 0], power_mw[..., 1], det, None), det).astype(float)
    else:
        codes = np.zeros(np.shape(s))
        for _ in range(repeats):
            rin = sample_power_mw(receiver.laser, det.bandwidth_ghz, rng, np.shape(s)) / receiver.laser.power_mw
            pair = balanced_current_a(power_mw[..., 0] * rin, power_mw[..., 1] * rin, det, rng)  # one TIA per pair
            codes += adc_codes(pair, det)
        codes /= repeats
    return codes_to_current_a(codes, det) / receiver.current_per_product_a


@dataclass
class ProductReport:
    """What one product through an analog receiver did (the fields every such backend reports)."""

    m: int
    k: int
    n: int
    noise: bool
    readouts: int = 0  # photonic readouts, repeats or passes included
    seconds: float = 0.0
    adc_lsb_fraction: float = 0.0  # one ADC code over the largest chunk sum h * q_max**2
    noise_sigma_products: float = 0.0  # rms error of one chunk reading at S = 0, in units of S
    signal_to_noise_db: float = 0.0  # full-scale chunk sum over noise_sigma_products

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(macs=self.macs)
        return d


@dataclass
class AnalogReport(ProductReport):
    repeats: int = 1  # readings averaged per readout (noise_sigma_products is that of the K-averaged reading)
    signal_loss_db: float = 0.0  # laser to combiner output at full scale (LO split and element losses)
    full_scale_compression: float = 0.0  # 1 - noiseless reading / S at full scale: the detectors' compression


def bfp_operands(a: np.ndarray, b: np.ndarray, config: ChipConfig, rng: np.random.Generator) -> tuple:
    """A's and B's BFP mantissas (float, K padded with zeros to whole groups: zero chunks read as zero) and
    their exponents (M, groups) and (groups, N): the operands an analog unit reads, chunk by chunk."""
    bits, g, rounding = config.bfp.mantissa_bits, config.group, config.bfp.rounding
    qa = bfp.quantize(a, bits=bits, group=g, axis=1, rounding=rounding, rng=rng)
    qb = bfp.quantize(b, bits=bits, group=g, axis=0, rounding=rounding, rng=rng)
    pad = qa.exponents.shape[1] * g - a.shape[1]
    am = np.pad(qa.mantissas.astype(float), ((0, 0), (0, pad)))
    bm = np.pad(qb.mantissas.astype(float), ((0, pad), (0, 0)))
    return am, bm, qa.exponents, qb.exponents


def validate_repeats(repeats) -> int:
    if not is_int(repeats) or repeats < 1:
        raise UsageError(f"repeats must be an integer >= 1 (got {repeats!r})")
    return int(repeats)


def analog_gemm(
    a, b, config: ChipConfig, *, repeats: int = 1, noise: bool | None = None, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, AnalogReport]:
    """C ~ A @ B through the analog baseline unit of ``config``, each readout averaged over ``repeats``."""
    start = time.perf_counter()
    a, b = check_operands(a, b)
    repeats = validate_repeats(repeats)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    receiver = analog_receiver(config, noise)
    noise_on = config.readout(noise).noise
    h, g = config.tile.h, config.group
    m_rows, k = a.shape
    n = b.shape[1]

    am, bm, exp_a, exp_b = bfp_operands(a, b, config, rng)
    per_group = g // h
    chunks = am.shape[1] // h

    out = np.zeros((m_rows, n))
    per_chunk = m_rows * n * (repeats if noise_on else 1)
    block = max(1, BLOCK_READOUTS // (per_chunk * per_group)) * per_group  # chunks per block, whole groups
    for c0 in range(0, chunks, block):
        c1 = min(chunks, c0 + block)
        exact = chunk_dot(am[:, c0 * h : c1 * h], bm[c0 * h : c1 * h], h)  # (C, M, N), exact integers
        read = read_chunks(receiver, exact, repeats=repeats, noise=noise_on, rng=rng)
        by_group = read.reshape(-1, per_group, m_rows, n).sum(axis=1)
        for j, gi in enumerate(range(c0 // per_group, c1 // per_group)):
            out += np.ldexp(by_group[j], exp_a[:, gi][:, None] + exp_b[gi][None, :])

    if noise_on:
        sigma = float(receiver.noise_sigma_products(0.0, repeats=repeats))
    else:
        sigma = receiver.adc_lsb_products / math.sqrt(12)  # quantisation alone
    report = AnalogReport(
        m_rows,
        k,
        n,
        noise_on,
        repeats=repeats,
        readouts=chunks * m_rows * n * repeats,
        adc_lsb_fraction=receiver.adc_lsb_products / receiver.full_scale_products,
        noise_sigma_products=sigma,
        signal_to_noise_db=20 * math.log10(receiver.full_scale_products / sigma),
        signal_loss_db=-10 * math.log10((1 - receiver.lo_fraction) * receiver.path_amplitude**2),
        full_scale_compression=float(
            1 - receiver.mean_reading_products(receiver.full_scale_products) / receiver.full_scale_products
        ),
    )
    report.seconds = time.perf_counter() - start
    return out, report
