"""The receiver's functions worked in place (``out=``, ``overwrite``, draws passed in): the same values bit for bit
as their plain forms, written where they were asked to be."""

import numpy as np

from photonics.laser import Laser, power_mw_of, sample_power_mw
from photonics.photodetector import (
    Photodetector,
    adc_codes,
    balanced_noise_variance_a2,
    balanced_pairs_current_a,
    mean_current_a,
    photocurrent_a,
    shot_noise_variance_a2,
)


def _powers(seed: int = 0) -> np.ndarray:
    """Detector powers (mW) from far below to far above the 1-dB compression (20 mA / 1.1 A/W: about 18 mW)."""
    return np.random.default_rng(seed).uniform(0.0, 60.0, (4, 5, 6))


def test_currents_in_place_equal_the_plain_forms():
    pd = Photodetector()
    for fn in (photocurrent_a, mean_current_a, shot_noise_variance_a2):
        power = _powers()
        want = fn(power.copy(), pd)
        got = fn(power, pd, out=power)
        assert got is power
        np.testing.assert_array_equal(got, want)
    assert np.ndim(mean_current_a(3.0, pd)) == 0  # scalars still read as scalars


def test_pair_variance_overwriting_equals_the_plain_form():
    pd = Photodetector()
    plus, minus = _powers(1)[:2] * 1e-3
    want = balanced_noise_variance_a2(plus, minus, pd)
    got = balanced_noise_variance_a2(plus, minus, pd, overwrite=True)
    assert np.shares_memory(got, plus)
    np.testing.assert_array_equal(got, want)


def test_pairs_from_given_draws_equal_the_pairs_drawn_from_the_generator():
    """The pairs' draws passed in (I's then Q's, as the Generator gives them) and everything overwritten: the same
    currents as the pairs drawing for themselves."""
    pd = Photodetector()
    power = _powers(2)
    want = balanced_pairs_current_a(power.copy(), pd, np.random.default_rng(4))
    normal = np.random.default_rng(4).standard_normal((2, 5, 6))
    got = balanced_pairs_current_a(power, pd, None, normal=normal, overwrite=True)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_adc_codes_into_a_float_array_are_the_integer_codes():
    pd = Photodetector(adc_bits=6, adc_full_scale_ua=100.0)
    current = np.random.default_rng(5).uniform(-150e-6, 150e-6, 1000)  # beyond full scale both ways
    want = adc_codes(current.copy(), pd)
    got = adc_codes(current, pd, out=current)
    assert got is current and want.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    assert want.min() == -32 and want.max() == 31


def test_laser_power_from_given_draws_is_sample_power():
    laser = Laser()
    want = sample_power_mw(laser, 10.0, np.random.default_rng(6), (7, 3))
    normal = np.random.default_rng(6).standard_normal((7, 3))
    got = power_mw_of(laser, 10.0, normal, out=normal)
    assert got is normal
    np.testing.assert_array_equal(got, want)
