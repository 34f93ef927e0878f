"""Photodetector and coherent-receiver front end: photocurrent, noise, ADC.

Not an S-parameter model: it maps optical power to a noisy photocurrent and to
ADC codes. Mean current I = R*P + I_dark; noise is Gaussian with variance
2*q*I*B (shot, including the dark current) plus the TIA's input-referred
thermal noise sigma_th**2. A balanced pair subtracts two independent detectors,
so dark currents cancel and noise variances add. The ADC is a signed mid-tread
quantiser over +/- full scale (referred to the TIA input current).

For netlists, ``photodetector`` is also a sax model: a matched absorbing load.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from photonics import constants as k
from photonics.parameters import Params, param
from photonics.registry import register


@dataclass(frozen=True)
class Photodetector(Params):
    """Photodetector with TIA and ADC (coherent-receiver front end)."""

    responsivity_a_per_w: float = param(k.PD_RESPONSIVITY_A_PER_W, "A/W", "responsivity", gt=0)
    dark_current_na: float = param(10.0, "nA", "dark current", ge=0)
    bandwidth_ghz: float = param(k.CLOCK_GHZ, "GHz", "noise bandwidth of detector and TIA", gt=0)
    tia_noise_ua_rms: float = param(k.TIA_NOISE_UA_RMS, "uA", "TIA input-referred rms noise current", ge=0)
    adc_bits: int = param(8, "bit", "ADC resolution", ge=1, le=24, integer=True)
    adc_full_scale_ua: float = param(1000.0, "uA", "ADC full scale (+/-), referred to the TIA input", gt=0)


@register("photodetector", Photodetector, kind="receiver")
def photodetector(wl):
    """Photodetector as a netlist element: a matched load that absorbs all light.

    ```
        o1 ──▶|  (absorbed; see photonics.photodetector for the current)
    ```
    """
    return {("o1", "o1"): jnp.zeros_like(jnp.asarray(wl, dtype=float), dtype=complex)}


def mean_current_a(power_mw, pd: Photodetector):
    """Noiseless photocurrent R*P + I_dark in amperes."""
    return pd.responsivity_a_per_w * np.asarray(power_mw) * 1e-3 + pd.dark_current_na * 1e-9


def shot_noise_variance_a2(current_a, pd: Photodetector):
    """Shot-noise variance 2*q*I*B."""
    return 2 * k.Q_E_C * np.asarray(current_a) * pd.bandwidth_ghz * 1e9


def thermal_noise_variance_a2(pd: Photodetector) -> float:
    """TIA input-referred thermal-noise variance."""
    return (pd.tia_noise_ua_rms * 1e-6) ** 2


def noise_variance_a2(current_a, pd: Photodetector):
    """Total noise variance of one detector at mean current ``current_a``."""
    return shot_noise_variance_a2(current_a, pd) + thermal_noise_variance_a2(pd)


def sample_current_a(power_mw, pd: Photodetector, rng: np.random.Generator):
    """Noisy photocurrent samples, one per element of ``power_mw``."""
    mean = mean_current_a(power_mw, pd)
    return mean + np.sqrt(noise_variance_a2(mean, pd)) * rng.standard_normal(np.shape(mean))


def balanced_current_a(power_plus_mw, power_minus_mw, pd: Photodetector, rng: np.random.Generator | None):
    """Balanced pair: current of the + detector minus the - detector (noiseless if rng is None)."""
    if rng is None:
        return mean_current_a(power_plus_mw, pd) - mean_current_a(power_minus_mw, pd)
    return sample_current_a(power_plus_mw, pd, rng) - sample_current_a(power_minus_mw, pd, rng)


def adc_lsb_a(pd: Photodetector) -> float:
    """Current step of one ADC code."""
    return 2 * pd.adc_full_scale_ua * 1e-6 / 2 ** int(pd.adc_bits)


def adc_codes(current_a, pd: Photodetector):
    """Signed ADC codes in [-2**(bits-1), 2**(bits-1) - 1], saturating at full scale."""
    half = 2 ** (int(pd.adc_bits) - 1)
    codes = np.round(np.asarray(current_a) / adc_lsb_a(pd))
    return np.clip(codes, -half, half - 1).astype(np.int64)


def codes_to_current_a(codes, pd: Photodetector):
    """The current each ADC code stands for."""
    return np.asarray(codes) * adc_lsb_a(pd)
