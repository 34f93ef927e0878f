"""Photodetector, balanced receiver, ADC and laser RIN against their analytic statistics."""

import numpy as np
import pytest

from photonics.errors import UsageError
from photonics.laser import Laser, electrical_power_mw, rin_relative_rms, sample_power_mw
from photonics.photodetector import (
    COMPRESSION_1DB,
    Photodetector,
    adc_codes,
    adc_lsb_a,
    adc_noise_lsb_rms_for_enob,
    balanced_current_a,
    balanced_noise_variance_a2,
    codes_to_current_a,
    mean_current_a,
    sample_current_a,
    saturation_power_mw,
)

Q = 1.602176634e-19
N = 100_000


def sample_variance(pd, power_mw, seed):
    i = sample_current_a(np.full(N, power_mw), pd, np.random.default_rng(seed))
    return i.mean(), i.var(ddof=1)


def test_mean_current_is_responsivity_times_power_plus_dark():
    # far below saturation (the 1-dB current raised to 1 A) the photocurrent is linear
    pd = Photodetector(responsivity_a_per_w=0.9, dark_current_na=50.0, saturation_current_ma=1e3)
    assert mean_current_a(2.0, pd) == pytest.approx(0.9 * 2e-3 + 50e-9, rel=1e-5)


def test_compression_constant_is_the_tanh_1db_point():
    u = COMPRESSION_1DB
    assert 20 * np.log10(np.tanh(u) / u) == pytest.approx(-1.0, abs=1e-12)


@pytest.mark.parametrize("saturation_ma", [0.5, 2.5, 20.0])
def test_photocurrent_is_compressed_1db_at_the_saturation_current(saturation_ma):
    pd = Photodetector(responsivity_a_per_w=0.8, dark_current_na=0.0, saturation_current_ma=saturation_ma)
    p_1db = saturation_power_mw(pd)
    assert 0.8 * p_1db * 1e-3 == pytest.approx(saturation_ma * 1e-3)  # linear current there = the 1-dB current
    ratio = mean_current_a(p_1db, pd) / (0.8 * p_1db * 1e-3)
    assert 20 * np.log10(ratio) == pytest.approx(-1.0, abs=1e-9)
    # a tenth of it: compression (R P / I_s)**2 / 3, about 0.13 %, and monotone, bounded by I_s
    small = mean_current_a(p_1db / 10, pd) / (0.8 * p_1db * 1e-4)
    assert 1 - small == pytest.approx((COMPRESSION_1DB / 10) ** 2 / 3, rel=0.01)
    powers = np.geomspace(p_1db / 100, p_1db * 10, 50)
    current = mean_current_a(powers, pd)
    assert np.all(np.diff(current) > 0)
    assert current.max() < saturation_ma * 1e-3 / COMPRESSION_1DB


@pytest.mark.parametrize("bandwidth_ghz", [10.0, 2.5])
def test_thermal_noise_variance_is_the_tia_noise_density_over_the_bandwidth(bandwidth_ghz):
    """i_n^2 * B: 11.28 pA/rtHz is 1.128 uA rms over 10 GHz, half that over 2.5 GHz."""
    pd = Photodetector(dark_current_na=0.0, tia_noise_pa_rthz=11.28, bandwidth_ghz=bandwidth_ghz)
    sigma_a = 11.28e-12 * np.sqrt(bandwidth_ghz * 1e9)
    assert sigma_a == pytest.approx({10.0: 1.128e-6, 2.5: 0.564e-6}[bandwidth_ghz], rel=1e-12)
    mean, var = sample_variance(pd, 0.0, seed=1)
    assert var == pytest.approx(sigma_a**2, rel=0.03)
    assert abs(mean) < 5 * sigma_a / np.sqrt(N)


def test_shot_noise_variance_matches_2qIB():
    # Shot-dominated: 10 mW on 1.1 A/W at 10 GHz gives sigma_shot ~ 5.9 uA; no TIA noise; far from saturation.
    pd = Photodetector(tia_noise_pa_rthz=0.0, bandwidth_ghz=10.0, saturation_current_ma=1e4)
    mean, var = sample_variance(pd, 10.0, seed=2)
    current = 1.1 * 10e-3 + 10e-9
    assert mean == pytest.approx(current, rel=1e-4)
    assert var == pytest.approx(2 * Q * current * 10e9, rel=0.03)


def test_shot_and_thermal_variances_add():
    pd = Photodetector(saturation_current_ma=1e4)
    current = 1.1 * 0.5e-3 + 10e-9
    _, var = sample_variance(pd, 0.5, seed=3)
    assert var == pytest.approx(2 * Q * current * 10e9 + (1.128e-6) ** 2, rel=0.03)


def test_balanced_pair_cancels_dark_current_and_has_one_tia():
    pd = Photodetector(dark_current_na=100.0, saturation_current_ma=1e4)
    p_plus, p_minus = np.full(N, 0.3), np.full(N, 0.1)
    assert balanced_current_a(0.3, 0.1, pd, None) == pytest.approx(1.1 * 0.2e-3, rel=1e-6)
    i = balanced_current_a(p_plus, p_minus, pd, np.random.default_rng(4))
    # both detectors' shot noise, ONE TIA's thermal noise (the pair is wired into one TIA)
    expected = sum(2 * Q * (1.1 * p * 1e-3 + 100e-9) * 10e9 for p in (0.3, 0.1)) + (1.128e-6) ** 2
    assert i.var(ddof=1) == pytest.approx(expected, rel=0.03)
    assert float(balanced_noise_variance_a2(mean_current_a(0.3, pd), mean_current_a(0.1, pd), pd)) == pytest.approx(
        expected, rel=1e-9
    )
    # two detectors each on their own TIA would add the thermal noise twice: that variance is refused
    separate = sample_current_a(p_plus, pd, np.random.default_rng(4)) - sample_current_a(
        p_minus, pd, np.random.default_rng(5)
    )
    assert separate.var(ddof=1) > 1.2 * i.var(ddof=1)


def test_a_saturated_pair_loses_its_difference():
    pd = Photodetector(dark_current_na=0.0, saturation_current_ma=1.0)
    linear = 1.1 * 0.2e-3
    # 0.2 mW of difference on a 0.2 mW bias: nearly linear; on a 5 mW bias both detectors saturate
    assert balanced_current_a(0.3, 0.1, pd, None) == pytest.approx(linear, rel=0.02)
    assert balanced_current_a(5.1, 4.9, pd, None) < 0.05 * linear


def test_adc_quantises_to_nearest_code_and_saturates():
    pd = Photodetector(adc_bits=6, adc_full_scale_ua=100.0)
    lsb = adc_lsb_a(pd)
    assert lsb == pytest.approx(200e-6 / 64)
    currents = np.array([0.0, 0.49 * lsb, 0.51 * lsb, -3.2 * lsb, 1.0, -1.0])
    np.testing.assert_array_equal(adc_codes(currents, pd), [0, 0, 1, -3, 31, -32])
    x = np.random.default_rng(5).uniform(-90e-6, 90e-6, N)
    err = codes_to_current_a(adc_codes(x, pd), pd) - x
    assert np.abs(err).max() <= lsb / 2 + 1e-18
    assert err.var() == pytest.approx(lsb**2 / 12, rel=0.03)  # uniform quantisation noise


@pytest.mark.parametrize("bits, enob", [(8, 6.0), (8, 6.5), (6, 5.2), (8, 8.0)])
def test_adc_noise_from_an_enob_makes_up_that_enob(bits, enob):
    """A b-bit ADC with ENOB E has 2**(b - E) times the ideal quantiser's noise (LSB/sqrt(12)): its own noise and
    the quantisation's in quadrature. Sampled: the codes of a dithered input through the pair and the ADC."""
    sigma = adc_noise_lsb_rms_for_enob(enob, bits)
    assert np.sqrt(1 / 12 + sigma**2) * np.sqrt(12) == pytest.approx(2.0 ** (bits - enob), rel=1e-12)
    # a quiet front end (1 GHz, 1 pA/rtHz: shot noise 0.2 LSB at 8 bits, the TIA's 0.04), so the ADC's shows
    front = {"adc_bits": bits, "adc_full_scale_ua": 100.0, "dark_current_na": 0.0, "bandwidth_ghz": 1.0}
    pd = Photodetector(**front, tia_noise_pa_rthz=1.0, adc_noise_lsb_rms=sigma)
    quiet = Photodetector(**front, tia_noise_pa_rthz=1.0)
    lsb = adc_lsb_a(pd)
    assert balanced_noise_variance_a2(1e-5, 1e-5, pd) - balanced_noise_variance_a2(1e-5, 1e-5, quiet) == (
        pytest.approx((sigma * lsb) ** 2, rel=1e-12)
    )
    # a ramp across the codes read through a balanced pair and the ADC: the residual's variance, the front end's
    # small share taken out
    x = np.random.default_rng(6).uniform(-80e-6, 80e-6, N)
    power_mw = x / 1.1 * 1e3  # the + detector's power for a difference x on a dark - detector
    i = balanced_current_a(np.abs(power_mw) * (x > 0), np.abs(power_mw) * (x < 0), pd, np.random.default_rng(7))
    err = codes_to_current_a(adc_codes(i, pd), pd) - mean_current_a(np.abs(power_mw), pd) * np.sign(x)
    other = np.mean(balanced_noise_variance_a2(mean_current_a(np.abs(power_mw), pd), 0.0, quiet))
    tolerance = 4 * err.var() * np.sqrt(2 / N) / lsb**2  # 4 sd of a variance estimated from N samples
    assert (err.var() - other) / lsb**2 == pytest.approx(1 / 12 + sigma**2, abs=tolerance)


def test_an_enob_above_the_bits_is_refused():
    with pytest.raises(UsageError, match="enob must be in"):
        adc_noise_lsb_rms_for_enob(9.0, 8)


def test_laser_rin_and_wall_plug():
    laser = Laser(power_mw=20.0, rin_db_per_hz=-140.0, wall_plug_efficiency=0.2)
    assert electrical_power_mw(laser) == pytest.approx(100.0)
    rel = rin_relative_rms(laser, 10.0)
    assert rel == pytest.approx(np.sqrt(1e-14 * 1e10))
    p = sample_power_mw(laser, 10.0, np.random.default_rng(6), (N,))
    assert p.std(ddof=1) / 20.0 == pytest.approx(rel, rel=0.03)


def test_receiver_parameters_are_validated():
    with pytest.raises(ValueError, match="adc_bits must be an integer"):
        Photodetector(adc_bits=7.5)
    with pytest.raises(ValueError, match="responsivity_a_per_w must be > 0"):
        Photodetector(responsivity_a_per_w=0.0)
