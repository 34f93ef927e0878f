"""Photodetector and coherent-receiver front end: photocurrent, noise, ADC.

Not an S-parameter model: it maps optical power to a noisy photocurrent and to
ADC codes. Mean current I = I_ph + I_dark, where the photocurrent I_ph saturates
softly: I_ph = I_s*tanh(R*P/I_s), with I_s set so that the current is compressed
by 1 dB (to 10**(-1/20) of R*P) at the detector's ``saturation_current_ma``
(the figure papers report as the 1-dB compression current); far below it
I_ph = R*P. Shot noise is Gaussian with variance 2*q*I*B (dark current
included) on the delivered current.

A balanced pair is two detectors wired in series into ONE transimpedance
amplifier (the energy model costs one TIA per pair): the pair's current is
I+ - I- (dark currents cancel), its noise variance is the two detectors' shot
noise plus one TIA's input-referred thermal noise sigma_th**2. A single
detector on its own TIA (:func:`noise_variance_a2`, :func:`sample_current_a`)
has its shot noise and that TIA's. The ADC is a signed mid-tread quantiser over
+/- full scale (referred to the TIA input current); its own noise beyond
quantisation (thermal noise, aperture jitter, interleaving spurs: what a data
sheet's ENOB counts), ``adc_noise_lsb_rms``, adds to each pair's input
(:func:`adc_noise_variance_a2`), one ADC per pair.

For netlists, ``photodetector`` is also a sax model: a matched absorbing load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from photonics import constants as k
from photonics.errors import UsageError
from photonics.parameters import Params, param
from photonics.registry import register


@dataclass(frozen=True)
class Photodetector(Params):
    """Photodetector with TIA and ADC (coherent-receiver front end)."""

    responsivity_a_per_w: float = param(k.PD_RESPONSIVITY_A_PER_W, "A/W", "responsivity", gt=0)
    dark_current_na: float = param(10.0, "nA", "dark current", ge=0)
    bandwidth_ghz: float = param(k.CLOCK_GHZ, "GHz", "noise bandwidth of detector and TIA", gt=0)
    tia_noise_pa_rthz: float = param(
        k.TIA_NOISE_PA_RTHZ, "pA/rtHz", "TIA input-referred noise current density (over bandwidth_ghz)", ge=0
    )
    adc_bits: int = param(8, "bit", "ADC resolution", ge=1, le=24, integer=True)
    adc_full_scale_ua: float = param(
        1000.0,
        "uA",
        "ADC full scale (+/-), referred to the TIA input (a chip's readouts set it from adc_headroom)",
        gt=0,
    )
    # An ideal quantiser by default. A data sheet's effective number of bits E at b bits is this noise plus the
    # quantisation's 1/sqrt(12) LSB: sqrt((4**(b - E) - 1) / 12) LSB (adc_noise_lsb_rms_for_enob); ADCs near
    # 10 GS/s reach E of about 6-7 (38-44 dB SNDR: B. Murmann, ADC Performance Survey 1997-2024), 0.5-1.12 LSB at 8 bits.
    adc_noise_lsb_rms: float = param(
        0.0,
        "LSB",
        "ADC input-referred noise beyond quantisation (thermal, aperture jitter, interleaving spurs), one ADC per "
        "balanced pair; from an ENOB E at b bits: sqrt((4**(b-E) - 1) / 12)",
        ge=0,
    )
    # 1.25: at the link budget's 1e-6 point (I's rms noise 0.019-0.021 of the signal amplitude A for m = 31..33) the
    # 0.25 A above the noiseless excursion is about 12 noise sigma, so noise is never clipped, while the 8-bit step
    # (2.5 A / 256) adds quantisation noise of 0.0028 A rms, 2 % of the noise variance.
    adc_headroom: float = param(
        1.25,
        "1",
        "ADC full scale over the largest I or Q signal excursion (the TIA gain of an auto-ranged readout)",
        ge=1,
    )
    # A Si/Ge uni-travelling-carrier photodiode made for analog and coherent receivers: 20 GHz bandwidth and a
    # 20 mA large-signal 1-dB saturation current at -3 V (Piels and Bowers, Opt. Express 20, 7488, 2012). A plain
    # vertical Ge-on-Si PIN saturates near 2.5 mA (its bandwidth collapses above about 2.5 mW of incident power:
    # Jiang et al., Nanomaterials 15, 398, 2025); set 2.5 for that detector.
    saturation_current_ma: float = param(
        20.0, "mA", "photocurrent at 1 dB of compression (soft tanh limit above it)", gt=0
    )


@register("photodetector", Photodetector, kind="receiver")
def photodetector(wl):
    """Photodetector as a netlist element: a matched load that absorbs all light.

    ```
        o1 ──▶|  (absorbed; see photonics.photodetector for the current)
    ```
    """
    return {("o1", "o1"): jnp.zeros_like(jnp.asarray(wl, dtype=float), dtype=complex)}


COMPRESSION_1DB = 0.6124646942440785  # u with tanh(u)/u = 10**(-1/20): the tanh limit's 1-dB point, I_1dB/I_s


def limit_current_a(pd: Photodetector) -> float:
    """I_s, the asymptote of the soft limit I_s*tanh(R*P/I_s) (above the 1-dB current by 1/COMPRESSION_1DB)."""
    return pd.saturation_current_ma * 1e-3 / COMPRESSION_1DB


def photocurrent_a(power_mw, pd: Photodetector):
    """Photocurrent I_s*tanh(R*P/I_s) without the dark current: R*P far below saturation."""
    limit = limit_current_a(pd)
    return np.tanh(np.asarray(power_mw) * pd.responsivity_a_per_w * 1e-3 / limit) * limit


def saturation_power_mw(pd: Photodetector) -> float:
    """Optical power on one detector at which its photocurrent is compressed by 1 dB."""
    return pd.saturation_current_ma / pd.responsivity_a_per_w


def mean_current_a(power_mw, pd: Photodetector):
    """Noiseless current I_s*tanh(R*P/I_s) + I_dark in amperes."""
    return photocurrent_a(power_mw, pd) + pd.dark_current_na * 1e-9


def shot_noise_variance_a2(current_a, pd: Photodetector):
    """Shot-noise variance 2*q*I*B."""
    return np.asarray(current_a) * 2 * k.Q_E_C * pd.bandwidth_ghz * 1e9


def thermal_noise_variance_a2(pd: Photodetector) -> float:
    """TIA input-referred thermal-noise variance: the noise density squared over the noise bandwidth, i_n^2 * B."""
    return (pd.tia_noise_pa_rthz * 1e-12) ** 2 * (pd.bandwidth_ghz * 1e9)


def adc_noise_variance_a2(pd: Photodetector):
    """The ADC's own noise variance at its input (A^2): ``adc_noise_lsb_rms`` codes of :func:`adc_lsb_a`."""
    return (pd.adc_noise_lsb_rms * adc_lsb_a(pd)) ** 2


def adc_noise_lsb_rms_for_enob(enob: float, bits: int) -> float:
    """The ADC noise (LSB rms) beyond quantisation that an effective number of bits ``enob`` at ``bits`` means: the
    total noise sqrt(4**(bits - enob) / 12) LSB less the ideal quantiser's 1/sqrt(12), in quadrature."""
    if not 0 < enob <= bits:
        raise UsageError(f"enob must be in (0, {bits}] for a {bits}-bit ADC (got {enob})")
    return math.sqrt((4.0 ** (bits - enob) - 1) / 12)


def noise_variance_a2(current_a, pd: Photodetector):
    """Noise variance of ONE detector on its own TIA at mean current ``current_a`` (shot plus that TIA's)."""
    return shot_noise_variance_a2(current_a, pd) + thermal_noise_variance_a2(pd)


def sample_current_a(power_mw, pd: Photodetector, rng: np.random.Generator):
    """Noisy current samples of single detectors, each on its own TIA, one per element of ``power_mw``."""
    mean = mean_current_a(power_mw, pd)
    return mean + np.sqrt(noise_variance_a2(mean, pd)) * rng.standard_normal(np.shape(mean))


def front_end_noise_variance_a2(current_plus_a, current_minus_a, pd: Photodetector):
    """A balanced pair's front-end noise variance: both detectors' shot noise and ONE TIA's thermal noise (the noise
    a stronger signal outgrows; the ADC's, quantisation and its own, scale with the signal's range)."""
    shot = shot_noise_variance_a2(current_plus_a, pd) + shot_noise_variance_a2(current_minus_a, pd)
    return shot + thermal_noise_variance_a2(pd)


def balanced_noise_variance_a2(current_plus_a, current_minus_a, pd: Photodetector):
    """Noise variance of a balanced pair's current: its front end's (:func:`front_end_noise_variance_a2`) and the
    pair's ADC's own noise, referred to its input."""
    variance = front_end_noise_variance_a2(current_plus_a, current_minus_a, pd)
    return variance + adc_noise_variance_a2(pd) if pd.adc_noise_lsb_rms else variance


def balanced_current_a(power_plus_mw, power_minus_mw, pd: Photodetector, rng: np.random.Generator | None):
    """Balanced pair into one TIA: current of the + detector minus the - detector (noiseless if rng is None)."""
    plus, minus = mean_current_a(power_plus_mw, pd), mean_current_a(power_minus_mw, pd)
    if rng is None:
        return plus - minus
    sigma = np.sqrt(balanced_noise_variance_a2(plus, minus, pd))
    return plus - minus + sigma * rng.standard_normal(np.shape(sigma))


def balanced_pairs_current_a(power_mw, pd: Photodetector, rng: np.random.Generator | None):
    """:func:`balanced_current_a` of both pairs of detector powers given detectors first, (4, ...) in the order
    (i_p, i_n, q_p, q_n): the (I, Q) currents, the I pair's noise drawn before the Q pair's; the four detectors'
    mean currents in one pass."""
    mean = mean_current_a(power_mw, pd)
    plus, minus = mean[0::2], mean[1::2]  # (2, ...): the I pair, then the Q pair
    pair = plus - minus
    if rng is None:
        return pair[0], pair[1]
    sigma = np.sqrt(balanced_noise_variance_a2(plus, minus, pd))  # the pair's noise, as balanced_current_a
    for p in (0, 1):
        pair[p] += sigma[p] * rng.standard_normal(sigma.shape[1:])
    return pair[0], pair[1]


def adc_lsb_a(pd: Photodetector) -> float:
    """Current step of one ADC code."""
    return 2 * pd.adc_full_scale_ua * 1e-6 / 2 ** int(pd.adc_bits)


def adc_codes(current_a, pd: Photodetector):
    """Signed ADC codes in [-2**(bits-1), 2**(bits-1) - 1] (int64), saturating at full scale."""
    return quantise_codes(np.asarray(current_a) / adc_lsb_a(pd), pd).astype(np.int64)


def quantise_codes(value_codes, pd: Photodetector, out=None):
    """ADC input in units of one code (current / :func:`adc_lsb_a`) to the code: rounded, then saturated at full
    scale, as whole floats (``out``: an array to work in, ``value_codes`` itself may be given)."""
    half = 2 ** (int(pd.adc_bits) - 1)
    codes = np.round(value_codes, out=out)
    return np.clip(codes, -half, half - 1, out=out)


def drive_per_mw(pd: Photodetector) -> float:
    """R*P/I_s per mW of optical power: the argument of the photocurrent's tanh limit (:func:`photocurrent_a`)."""
    return pd.responsivity_a_per_w * 1e-3 / limit_current_a(pd)


def pair_code_scales(pd: Photodetector, dtype=np.float64) -> tuple:
    """(alpha, beta, gamma) of :func:`balanced_pair_code_values`, as ``dtype`` arrays (one value per row where the
    detector's ADC full scale is one per row).

    In units of one ADC code (lsb): I_s/lsb scales the photocurrents, and a pair's shot, thermal and ADC noise
    variance, 2*q*B*(I+ + I-) + sigma_th**2 + sigma_adc**2 with I = I_s*t + I_dark, is beta*(t+ + t-) + gamma.
    """
    lsb = adc_lsb_a(pd)
    limit = limit_current_a(pd)
    shot_per_a = shot_noise_variance_a2(1.0, pd)
    alpha = limit / lsb
    beta = shot_per_a * limit / lsb**2
    gamma = (shot_per_a * 2 * pd.dark_current_na * 1e-9 + thermal_noise_variance_a2(pd)) / lsb**2
    if pd.adc_noise_lsb_rms:  # in codes already (a term of 0 would still be one more rounding)
        gamma = gamma + pd.adc_noise_lsb_rms**2
    return tuple(np.asarray(v, dtype=dtype) for v in (alpha, beta, gamma))


def balanced_pair_code_values(drive, normal, scales):
    """The I and Q pairs' ADC inputs in codes (2, ...) from the four detectors' normalised drives R*P/I_s (4, ...),
    detectors first (i_p, i_n, q_p, q_n), and the pairs' standard normal draws (2, ...), I's then Q's.

    The pairs of :func:`balanced_pairs_current_a` divided by :func:`adc_lsb_a`, its formulas with their constants
    folded (:func:`pair_code_scales`: ``scales``): alpha*(t+ - t-) + sqrt(beta*(t+ + t-) + gamma)*z, t = tanh(drive)
    (the dark currents cancel in the pair). Computed in ``drive``'s dtype (``normal`` and ``scales`` in it too);
    ``drive`` is overwritten.
    """
    alpha, beta, gamma = scales
    t = np.tanh(drive, out=drive)
    plus, minus = t[0::2], t[1::2]
    value = np.subtract(plus, minus)
    value *= alpha
    sigma = np.add(plus, minus, out=plus)
    sigma *= beta
    sigma += gamma
    np.sqrt(sigma, out=sigma)
    sigma *= normal
    value += sigma
    return value


def codes_to_current_a(codes, pd: Photodetector):
    """The current each ADC code stands for."""
    return np.asarray(codes) * adc_lsb_a(pd)
