"""Photodetector, balanced receiver, ADC and laser RIN against their analytic statistics."""

import numpy as np
import pytest

from photonics.laser import Laser, electrical_power_mw, rin_relative_rms, sample_power_mw
from photonics.photodetector import (
    Photodetector,
    adc_codes,
    adc_lsb_a,
    balanced_current_a,
    codes_to_current_a,
    mean_current_a,
    sample_current_a,
)

Q = 1.602176634e-19
N = 100_000


def sample_variance(pd, power_mw, seed):
    i = sample_current_a(np.full(N, power_mw), pd, np.random.default_rng(seed))
    return i.mean(), i.var(ddof=1)


def test_mean_current_is_responsivity_times_power_plus_dark():
    pd = Photodetector(responsivity_a_per_w=0.9, dark_current_na=50.0)
    assert mean_current_a(2.0, pd) == pytest.approx(0.9 * 2e-3 + 50e-9, rel=1e-15)


def test_thermal_noise_variance_matches_tia_noise():
    pd = Photodetector(dark_current_na=0.0, tia_noise_ua_rms=1.128)
    mean, var = sample_variance(pd, 0.0, seed=1)
    assert var == pytest.approx((1.128e-6) ** 2, rel=0.03)
    assert abs(mean) < 5 * 1.128e-6 / np.sqrt(N)


def test_shot_noise_variance_matches_2qIB():
    # Shot-dominated: 10 mW on 1.1 A/W at 10 GHz gives sigma_shot ~ 5.9 uA; no TIA noise.
    pd = Photodetector(tia_noise_ua_rms=0.0, bandwidth_ghz=10.0)
    mean, var = sample_variance(pd, 10.0, seed=2)
    current = 1.1 * 10e-3 + 10e-9
    assert mean == pytest.approx(current, rel=1e-4)
    assert var == pytest.approx(2 * Q * current * 10e9, rel=0.03)


def test_shot_and_thermal_variances_add():
    pd = Photodetector()
    current = 1.1 * 0.5e-3 + 10e-9
    _, var = sample_variance(pd, 0.5, seed=3)
    assert var == pytest.approx(2 * Q * current * 10e9 + (1.128e-6) ** 2, rel=0.03)


def test_balanced_pair_cancels_dark_current_and_adds_noise():
    pd = Photodetector(dark_current_na=100.0)
    p_plus, p_minus = np.full(N, 0.3), np.full(N, 0.1)
    assert balanced_current_a(0.3, 0.1, pd, None) == pytest.approx(1.1 * 0.2e-3, rel=1e-12)
    i = balanced_current_a(p_plus, p_minus, pd, np.random.default_rng(4))
    expected = sum(2 * Q * (1.1 * p * 1e-3 + 100e-9) * 10e9 + (1.128e-6) ** 2 for p in (0.3, 0.1))
    assert i.var(ddof=1) == pytest.approx(expected, rel=0.03)


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
