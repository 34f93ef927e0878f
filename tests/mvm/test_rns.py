"""RNS conversion, CRT against Python big integers, and redundant-moduli error correction."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mvm.rns import (
    MAX_DYNAMIC_RANGE,
    RedundantRns,
    dynamic_range,
    from_residues,
    signed_range,
    to_residues,
    validate_moduli,
)

MODULI_SETS = [
    (31, 32, 33),
    (3, 5, 7),
    (255, 256, 257),
    (2**20 - 1, 2**20, 2**20 + 1),  # M close to 2**60
    (5, 7, 9, 11, 13, 16, 17, 19, 23, 29, 31, 37, 41),  # many moduli
    (2**31 - 1, 2**31 + 1),  # M just below 2**62, moduli above 2**31
    (2, 2**61 - 1),  # one huge modulus: the overflow-free modular multiply
    (3, 2**60),
    (2**62,),  # a single modulus at the limit
]


def python_crt(residues: list[int], moduli: tuple[int, ...]) -> int:
    """The signed CRT value, computed with Python's arbitrary-precision integers."""
    M = math.prod(moduli)
    x = sum(r * (M // m) * pow(M // m, -1, m) for r, m in zip(residues, moduli)) % M
    return x - M if x > (M - 1) // 2 else x


def test_moduli_sets_are_valid():
    for moduli in MODULI_SETS:
        assert validate_moduli(moduli) == moduli
        assert dynamic_range(moduli) == math.prod(moduli) <= MAX_DYNAMIC_RANGE


@st.composite
def moduli_and_values(draw):
    moduli = draw(st.sampled_from(MODULI_SETS))
    lo, hi = signed_range(math.prod(moduli))
    values = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=20))
    return moduli, values + [lo, hi, 0, -1, 1]


@settings(max_examples=150, deadline=None)
@given(moduli_and_values())
def test_round_trip_is_identity_over_signed_range(case):
    moduli, values = case
    v = np.array(values, dtype=np.int64)
    residues = to_residues(v, moduli)
    assert residues.shape == (len(moduli), len(values))
    for i, m in enumerate(moduli):
        assert [int(r) for r in residues[i]] == [x % m for x in values]
    back = from_residues(residues, moduli)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, v)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MODULI_SETS), st.randoms(use_true_random=False))
def test_crt_matches_python_big_integers(moduli, random):
    rows = [[random.randrange(m) for _ in range(8)] for m in moduli]
    got = from_residues(np.array(rows, dtype=np.uint64), moduli)
    want = [python_crt([row[j] for row in rows], moduli) for j in range(8)]
    assert got.tolist() == want


def test_extremes_of_the_range_round_trip():
    for moduli in MODULI_SETS:
        lo, hi = signed_range(math.prod(moduli))
        v = np.array([[lo, hi], [lo + 1, hi - 1]], dtype=np.int64)
        np.testing.assert_array_equal(from_residues(to_residues(v, moduli), moduli), v)


def test_signed_range_is_symmetric():
    assert signed_range(32736) == (-16368, 16367)
    assert signed_range(105) == (-52, 52)
    for M in range(1, 50):
        lo, hi = signed_range(M)
        assert hi - lo + 1 == M and -lo - hi in (0, 1)


def test_residue_dtype_and_any_integer_input_dtype():
    v = np.arange(-500, 500).reshape(10, 100)
    r = to_residues(v, (31, 32, 33))
    assert r.dtype == np.uint8 and r.shape == (3, 10, 100)
    assert to_residues(v, (255, 256, 257)).dtype == np.int64
    for dtype in (np.uint8, np.uint16, np.int32, np.int64, np.uint64):
        np.testing.assert_array_equal(from_residues(r.astype(dtype), (31, 32, 33)), v)
    assert to_residues(np.int64(-1), (3, 5)).tolist() == [2, 4]


@pytest.mark.parametrize(
    "moduli, message",
    [
        ((30, 32), "moduli must be pairwise coprime: 30 and 32 share the factor 2"),
        ((31, 32, 62), "31 and 62 share the factor 31"),
        ((1, 3), "moduli must be integers >= 2 (got 1)"),
        ((0, 3), ">= 2"),
        ((2.5, 3), "integers"),
        ((3.0, 5), "integers"),
        ((True, 3), "integers"),
        (("3", 5), "integers"),
        ((), "at least one"),
        ((2**31, 2**31 + 1), "exceeds 2**62, the limit of exact int64 CRT"),
        ((2**62 + 1,), "exceeds 2**62"),
    ],
)
def test_validate_moduli_refuses(moduli, message):
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace("(", r"\(").replace(")", r"\)")):
        validate_moduli(moduli)


def test_dynamic_range_refuses_too_large():
    with pytest.raises(ValueError, match=r"dynamic range M = \d+ .*exceeds 2\*\*62"):
        dynamic_range((2**21 - 1, 2**21, 2**21 + 1))
    assert dynamic_range([np.int64(31), 32, 33]) == 32736


def test_from_residues_refuses_bad_residues():
    with pytest.raises(ValueError, match=r"residues\[1\] must lie in \[0, 32\)"):
        from_residues(np.array([[0], [32], [0]]), (31, 32, 33))
    with pytest.raises(ValueError, match=r"residues\[0\] must lie in \[0, 31\)"):
        from_residues(np.array([[-1], [0], [0]]), (31, 32, 33))
    with pytest.raises(ValueError, match=r"shape \(len\(moduli\), \.\.\.\) = \(3, \.\.\.\)"):
        from_residues(np.zeros((2, 4), dtype=np.uint8), (31, 32, 33))
    with pytest.raises(ValueError, match="residues must be an integer array"):
        from_residues(np.zeros((3, 4)), (31, 32, 33))
    with pytest.raises(ValueError, match="values must be an integer array"):
        to_residues(np.array([1.5]), (31, 32, 33))


# Redundant RNS ---------------------------------------------------------------------

CORRECTING = RedundantRns((31, 32, 33), (37, 41))
DETECTING = RedundantRns((31, 32, 33), (37,))


@st.composite
def single_error(draw, rrns: RedundantRns):
    lo, hi = signed_range(rrns.legitimate_range)
    value = draw(st.integers(lo, hi))
    position = draw(st.integers(0, len(rrns.moduli) - 1))
    offset = draw(st.integers(1, rrns.moduli[position] - 1))  # a wrong residue, never the right one
    return value, position, offset


def inject(rrns: RedundantRns, value: int, position: int, offset: int) -> np.ndarray:
    residues = rrns.encode(np.array([value])).astype(np.int64)
    residues[position] = (residues[position] + offset) % rrns.moduli[position]
    return residues


@settings(max_examples=300, deadline=None)
@given(single_error(CORRECTING))
def test_every_single_error_is_corrected_with_two_redundant_moduli(case):
    value, position, offset = case
    result = CORRECTING.decode(inject(CORRECTING, value, position, offset))
    assert result.detected.tolist() == [True]
    assert result.corrected.tolist() == [True]
    assert result.values.tolist() == [value]


@settings(max_examples=300, deadline=None)
@given(single_error(DETECTING))
def test_every_single_error_is_detected_with_one_redundant_modulus(case):
    value, position, offset = case
    result = DETECTING.decode(inject(DETECTING, value, position, offset))
    assert result.detected.tolist() == [True]
    assert result.corrected.tolist() == [False]
    assert result.uncorrected_count == 1
    if position < len(DETECTING.info_moduli):
        assert result.values.tolist() != [value]
    else:  # the info residues are intact, so the fallback is the right value
        assert result.values.tolist() == [value]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_double_error_is_detected_with_two_redundant_moduli(data):
    lo, hi = signed_range(CORRECTING.legitimate_range)
    value = data.draw(st.integers(lo, hi))
    i, j = data.draw(st.lists(st.integers(0, 4), min_size=2, max_size=2, unique=True))
    residues = inject(CORRECTING, value, i, data.draw(st.integers(1, CORRECTING.moduli[i] - 1)))
    residues[j] = (residues[j] + data.draw(st.integers(1, CORRECTING.moduli[j] - 1))) % CORRECTING.moduli[j]
    assert CORRECTING.decode(residues).detected.tolist() == [True]


def test_vectorised_decode_with_mixed_errors_and_consistent_counts():
    rng = np.random.default_rng(7)
    lo, hi = signed_range(CORRECTING.legitimate_range)
    values = rng.integers(lo, hi + 1, size=(40, 50))
    residues = CORRECTING.encode(values).astype(np.int64)
    hit = rng.random(values.shape) < 0.3
    position = rng.integers(0, 5, size=values.shape)
    moduli = np.array(CORRECTING.moduli)
    for p in range(5):
        mask = hit & (position == p)
        offset = rng.integers(1, moduli[p], size=mask.sum())
        residues[p][mask] = (residues[p][mask] + offset) % moduli[p]
    result = CORRECTING.decode(residues)
    np.testing.assert_array_equal(result.detected, hit)
    np.testing.assert_array_equal(result.corrected, hit)
    np.testing.assert_array_equal(result.values, values)
    assert result.detected_count == hit.sum() == result.corrected_count + result.uncorrected_count


def test_error_free_input_reports_nothing():
    for rrns in (CORRECTING, DETECTING):
        lo, hi = signed_range(rrns.legitimate_range)
        values = np.arange(lo, hi + 1)
        result = rrns.decode(rrns.encode(values))
        np.testing.assert_array_equal(result.values, values)
        assert result.detected_count == result.corrected_count == result.uncorrected_count == 0


def test_redundant_rns_properties_and_validation():
    assert CORRECTING.moduli == (31, 32, 33, 37, 41)
    assert CORRECTING.legitimate_range == 32736
    with pytest.raises(ValueError, match="redundant_moduli must each exceed the largest info modulus 33"):
        RedundantRns((31, 32, 33), (29, 37))
    with pytest.raises(ValueError, match="pairwise coprime: 32 and 34 share the factor 2"):
        RedundantRns((31, 32, 33), (34, 37))
    with pytest.raises(ValueError, match="redundant_moduli: moduli must hold at least one modulus"):
        RedundantRns((31, 32, 33), ())
    with pytest.raises(ValueError, match="exceeds 2\\*\\*62"):
        RedundantRns((2**31 - 1,), (2**61 - 1,))  # both prime
    with pytest.raises(ValueError, match=r"values must lie in the legitimate range \[-16368, 16367\]"):
        CORRECTING.encode(np.array([16368]))
