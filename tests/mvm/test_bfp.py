"""Block floating point: exponents, rounding error, normalisation, exactness, unbiased stochastic rounding."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mvm.bfp import BfpTensor, dequantize, group_exponents_full, quantize

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def bfp_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9))
    a = draw(hnp.arrays(np.float64, shape, elements=finite))
    a = a * 2.0 ** draw(st.integers(-30, 30))
    axis = draw(st.sampled_from([0, 1, -1]))
    return a, draw(st.integers(2, 12)), draw(st.integers(1, 5)), axis


def reference_quantize(a: np.ndarray, bits: int, group: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-element (mantissa, exponent) by plain loops and exact rational arithmetic."""
    q_max = 2 ** (bits - 1) - 1
    moved = np.moveaxis(a, axis, -1)
    mant = np.zeros(moved.shape, dtype=np.int64)
    expo = np.zeros(moved.shape, dtype=np.int64)
    for row in np.ndindex(moved.shape[:-1]):
        for start in range(0, moved.shape[-1], group):
            block = [Fraction(float(x)) for x in moved[row][start : start + group]]
            amax = max(abs(x) for x in block)
            e = 0
            if amax:
                ratio = amax / q_max  # exact: its floor(log2) from the bit lengths, within one
                e = ratio.numerator.bit_length() - ratio.denominator.bit_length() - 2  # below the answer, then walk up
                while amax / Fraction(2) ** e > q_max:
                    e += 1
            for j, x in enumerate(block):
                mant[row + (start + j,)] = round(x / Fraction(2) ** e)  # Fraction rounds half to even
                expo[row + (start + j,)] = e
    return np.moveaxis(mant, -1, axis), np.moveaxis(expo, -1, axis)


# One test for both properties of nearest rounding: quantize jit-compiles for each new shape and bit width
# (about 0.3 s), which is most of an example's time, so each drawn case is quantised once and checked both ways.
@settings(max_examples=50, deadline=None)
@given(bfp_cases())
def test_nearest_matches_exact_reference_within_half_a_step_and_groups_are_normalised(case):
    a, bits, group, axis = case
    t = quantize(a, bits=bits, group=group, axis=axis)
    # the exact reference
    mant, expo = reference_quantize(a, bits, group, axis % 2)
    np.testing.assert_array_equal(t.mantissas, mant)
    np.testing.assert_array_equal(group_exponents_full(t), expo)
    n = a.shape[axis]
    expected_shape = list(a.shape)
    expected_shape[axis] = -(-n // group)
    assert t.exponents.shape == tuple(expected_shape)
    assert t.mantissas.dtype == np.int32 and t.exponents.dtype == np.int32
    # at most half a step, and every group normalised
    e = group_exponents_full(t)
    assert np.all(np.abs(a - dequantize(t)) <= np.ldexp(1.0, e - 1))
    mant = np.moveaxis(np.abs(t.mantissas), t.axis, -1)
    n = mant.shape[-1]
    for start in range(0, n, group):
        block_max = mant[..., start : start + group].max(axis=-1)
        a_max = np.moveaxis(np.abs(a), t.axis, -1)[..., start : start + group].max(axis=-1)
        nonzero = a_max > 0
        assert np.all(block_max[nonzero] > t.q_max / 2)
        assert np.all(block_max <= t.q_max)
        assert np.all(block_max[~nonzero] == 0)


@pytest.mark.parametrize("bits", [2, 8, 24])
@pytest.mark.parametrize("magnitude_exp", [-1074, -1060, -1030, -1000, 0, 1000, 1015, 1020])
def test_extreme_magnitudes_match_the_exact_reference(bits, magnitude_exp):
    """Subnormal inputs and values near the largest float: group exponents outside float64's normal range take
    ldexp, the others a product by 2**-e; both exact, as the rational reference says."""
    rng = np.random.default_rng(abs(magnitude_exp))
    a = np.ldexp(rng.standard_normal((3, 10)), magnitude_exp)
    a[0, :5] = 0.0  # an all-zero group
    t = quantize(a, bits=bits, group=5, axis=1)
    mant, expo = reference_quantize(a, bits, 5, 1)
    np.testing.assert_array_equal(t.mantissas, mant)
    np.testing.assert_array_equal(group_exponents_full(t), expo)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_representable_values_round_trip_exactly(data):
    bits = data.draw(st.integers(2, 24))
    group = data.draw(st.integers(1, 6))
    q_max = 2 ** (bits - 1) - 1
    rows, n = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 13))
    mant = data.draw(hnp.arrays(np.int64, (rows, n), elements=st.integers(-q_max, q_max)))
    group_exp = data.draw(hnp.arrays(np.int64, (rows, -(-n // group)), elements=st.integers(-60, 60)))
    a = np.ldexp(mant.astype(float), np.repeat(group_exp, group, axis=1)[:, :n])
    for rounding, rng in (("nearest", None), ("stochastic", np.random.default_rng(0))):
        t = quantize(a, bits=bits, group=group, axis=1, rounding=rounding, rng=rng)
        np.testing.assert_array_equal(dequantize(t), a)


def test_stochastic_rounding_is_unbiased_and_picks_a_neighbour():
    rng = np.random.default_rng(1)
    row = np.array([7.3, -2.55, 0.1, -0.9, 3.5, 1.0 / 3.0, -5.875, 0.0])  # one group of 8, max 7.3
    draws = 20000
    a = np.tile(row, (draws, 1))
    t = quantize(a, bits=4, group=8, axis=1, rounding="stochastic", rng=rng)
    assert np.all(t.exponents == 1)  # 7.3 / 2**0 > q_max = 7 >= 7.3 / 2**1
    step = 2.0 ** t.exponents[0, 0]
    got = dequantize(t)
    lower = np.floor(row / step) * step
    assert np.all((got == lower) | (got == lower + step))
    frac = (row - lower) / step
    standard_error = step * np.sqrt(frac * (1 - frac) / draws)
    assert np.all(np.abs(got.mean(axis=0) - row) <= 5 * standard_error + 1e-12)


def test_stochastic_rounding_uses_the_given_generator():
    a = np.linspace(-3, 3, 40).reshape(4, 10)
    one = quantize(a, bits=5, group=4, axis=1, rounding="stochastic", rng=np.random.default_rng(3))
    two = quantize(a, bits=5, group=4, axis=1, rounding="stochastic", rng=np.random.default_rng(3))
    np.testing.assert_array_equal(one.mantissas, two.mantissas)


def test_partial_last_group_gets_its_own_exponent():
    a = np.array([[100.0, 1, 2, 3, 50, 4, 0.5, 0.25, 0.125, 0.0625]])
    t = quantize(a, bits=8, group=4, axis=1)  # groups [0:4], [4:8], [8:10]
    assert t.exponents.shape == (1, 3)
    # smallest e with max / 2**e <= 127: 100 -> 0, 50 -> -1, 0.125 -> -9
    assert t.exponents.tolist() == [[0, -1, -9]]
    # 0.25 / 2**-1 = 0.5 rounds half to even, to 0
    assert t.mantissas.tolist() == [[100, 1, 2, 3, 100, 8, 1, 0, 64, 32]]


def test_axis_zero_is_axis_one_of_the_transpose():
    a = np.random.default_rng(2).normal(size=(11, 6)) * np.logspace(-3, 3, 6)
    t0 = quantize(a, bits=6, group=3, axis=0)
    t1 = quantize(a.T, bits=6, group=3, axis=1)
    assert t0.exponents.shape == (4, 6) and t0.axis == 0
    np.testing.assert_array_equal(t0.mantissas, t1.mantissas.T)
    np.testing.assert_array_equal(t0.exponents, t1.exponents.T)
    np.testing.assert_array_equal(dequantize(t0), dequantize(t1).T)


def test_all_zero_groups_get_exponent_zero():
    t = quantize(np.zeros((2, 5)), bits=4, group=2, axis=1)
    assert np.all(t.exponents == 0) and np.all(t.mantissas == 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused(bad):
    a = np.ones((2, 3))
    a[1, 2] = bad
    with pytest.raises(ValueError, match=r"a must be finite \(found NaN or inf\)"):
        quantize(a, bits=8, group=2, axis=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(bits=1), r"bits must be an integer in \[2, 24\]"),
        (dict(bits=25), r"bits must be an integer in \[2, 24\]"),
        (dict(bits=8.0), "bits must be an integer"),
        (dict(bits=True), "bits must be an integer"),
        (dict(group=0), "group must be an integer >= 1"),
        (dict(group=2.5), "group must be an integer >= 1"),
        (dict(axis=2), r"axis must be an integer in \[-2, 2\)"),
        (dict(rounding="up"), r"rounding must be one of \('nearest', 'stochastic'\)"),
        (dict(rounding="stochastic"), "rng must be a numpy.random.Generator"),
        (dict(rounding="stochastic", rng=np.random.RandomState(0)), "rng must be a numpy.random.Generator"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    args = dict(bits=8, group=2, axis=1) | kwargs
    with pytest.raises(ValueError, match=message):
        quantize(np.ones((2, 3)), **args)


def test_non_numeric_and_scalar_input_is_refused():
    with pytest.raises(ValueError, match="a must be a real float array"):
        quantize(np.array([1 + 2j]), bits=8, group=2, axis=0)
    with pytest.raises(ValueError, match="at least one dimension"):
        quantize(3.0, bits=8, group=2, axis=0)


def test_tensor_q_max():
    assert BfpTensor(np.zeros(1, np.int32), np.zeros(1, np.int32), 0, 1, 6).q_max == 31
