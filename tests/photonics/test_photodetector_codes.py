"""The balanced pairs' ADC inputs in code units with their constants folded, against the currents' own formulas."""

from dataclasses import replace

import numpy as np

from photonics.photodetector import (
    Photodetector,
    adc_codes,
    adc_lsb_a,
    balanced_pair_code_values,
    balanced_pairs_current_a,
    drive_per_mw,
    pair_code_scales,
    quantise_codes,
)


def test_pair_code_values_are_the_pairs_currents_in_codes():
    """pair_code_scales and balanced_pair_code_values against balanced_pairs_current_a divided by the lsb, from the
    same draws (the I pair's, then the Q pair's), in float64: detector powers from far below to far above the 1-dB
    compression (2 mA / 1.1 A/W: about 1.8 mW), a large dark current, and a full scale per row."""
    pd = replace(
        Photodetector(saturation_current_ma=2.0, dark_current_na=40.0), adc_full_scale_ua=np.array([[300.0], [900.0]])
    )
    power = np.random.default_rng(7).uniform(0.0, 6.0, (4, 2, 15))  # detectors first, then (rows, readouts)
    want = np.stack(balanced_pairs_current_a(power, pd, np.random.default_rng(8))) / adc_lsb_a(pd)
    normal = np.random.default_rng(8).standard_normal((2, 2, 15))
    got = balanced_pair_code_values(power * drive_per_mw(pd), normal, pair_code_scales(pd))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    noiseless = np.stack(balanced_pairs_current_a(power, pd, None)) / adc_lsb_a(pd)
    assert np.std(got - noiseless) > 0.1  # the draws enter
    assert np.ptp(want) > 10  # the values span many codes, past the full scale (+/- 128)


def test_quantised_values_are_the_adc_codes():
    pd = Photodetector(adc_bits=6, adc_full_scale_ua=100.0)
    current = np.random.default_rng(5).uniform(-150e-6, 150e-6, 1000)  # beyond full scale both ways
    got = quantise_codes(current / adc_lsb_a(pd), pd)
    np.testing.assert_array_equal(got, adc_codes(current, pd))
    assert got.min() == -32 and got.max() == 31
