"""Dynamic-range planner against the condition h * q_max**2 < M/2 by brute force."""

import math
from fractions import Fraction

import numpy as np
import pytest

from mvm.planner import check_plan, max_safe_chunk, suggest_moduli
from mvm.rns import from_residues, to_residues

CASES = [
    ((31, 32, 33), 6),
    ((31, 32, 33), 4),
    ((3, 5, 7), 3),
    ((3, 5, 7), 2),
    ((255, 256, 257), 8),
    ((63, 64, 65), 7),
    ((2**20 - 1, 2**20, 2**20 + 1), 16),
]


def safe(moduli, bits, h) -> bool:
    """The condition, in exact rational arithmetic."""
    q_max = 2 ** (bits - 1) - 1
    return h * q_max**2 < Fraction(math.prod(moduli), 2)


@pytest.mark.parametrize("moduli, bits", CASES)
def test_max_safe_chunk_is_the_largest_safe_h(moduli, bits):
    h = max_safe_chunk(moduli, bits)
    assert h >= 1 and safe(moduli, bits, h) and not safe(moduli, bits, h + 1)
    check_plan(moduli, bits, h)
    with pytest.raises(ValueError, match=rf"h = {h + 1} could overflow.*the largest safe h is {h}$"):
        check_plan(moduli, bits, h + 1)


def test_max_safe_chunk_by_linear_search():
    for moduli in [(3, 5, 7), (7, 8, 9), (31, 32, 33), (4, 5)]:
        for bits in range(2, 8):
            search = 0
            while safe(moduli, bits, search + 1):
                search += 1
            if search == 0:
                with pytest.raises(ValueError, match="cannot hold even one product"):
                    max_safe_chunk(moduli, bits)
            else:
                assert max_safe_chunk(moduli, bits) == search


def test_worst_case_chunk_survives_crt_and_one_more_wraps():
    moduli, bits = (31, 32, 33), 6
    q_max = 2 ** (bits - 1) - 1
    h = max_safe_chunk(moduli, bits)
    for sign in (1, -1):
        exact = np.array([sign * h * q_max**2, sign * (h + 1) * q_max**2])
        back = from_residues(to_residues(exact, moduli), moduli)
        assert back[0] == exact[0] and back[1] != exact[1]


def test_check_plan_message_from_the_design():
    message = (
        "h = 20 could overflow moduli (31, 32, 33) (M = 32736) with 6-bit mantissas: "
        "h * q_max**2 = 19220 >= M/2 = 16368; the largest safe h is 17"
    )
    with pytest.raises(ValueError) as error:
        check_plan((31, 32, 33), 6, 20)
    assert str(error.value) == message


def test_check_plan_with_odd_m_and_no_safe_h():
    with pytest.raises(ValueError, match=r"M/2 = 52\.5; no h is safe"):
        check_plan((3, 5, 7), 8, 1)


@pytest.mark.parametrize("h", [0, -3, 2.0, True])
def test_bad_h_is_refused(h):
    with pytest.raises(ValueError, match="h must be an integer >= 1"):
        check_plan((31, 32, 33), 6, h)
    with pytest.raises(ValueError, match="h must be an integer >= 1"):
        suggest_moduli(h, 6)


def test_bad_bits_and_moduli_are_refused():
    with pytest.raises(ValueError, match=r"bits must be an integer in \[2, 24\]"):
        max_safe_chunk((31, 32, 33), 1)
    with pytest.raises(ValueError, match="pairwise coprime"):
        max_safe_chunk((30, 32, 33), 6)


def test_suggest_moduli_is_the_smallest_safe_set():
    for bits in range(2, 13):
        for h in [1, 2, 3, 7, 16, 17, 64, 100, 1000, 4096]:
            moduli = suggest_moduli(h, bits)
            k = int(math.log2(moduli[1]))
            assert moduli == (2**k - 1, 2**k, 2**k + 1) and k >= 2
            assert safe(moduli, bits, h)
            check_plan(moduli, bits, h)
            assert max_safe_chunk(moduli, bits) >= h
            if k > 2:
                assert not safe((2 ** (k - 1) - 1, 2 ** (k - 1), 2 ** (k - 1) + 1), bits, h)


def test_suggest_moduli_examples_and_limit():
    assert suggest_moduli(17, 6) == (31, 32, 33)
    assert suggest_moduli(18, 6) == (63, 64, 65)
    assert suggest_moduli(1, 2) == (3, 4, 5)
    with pytest.raises(ValueError, match=r"beyond any \(2\*\*k - 1, 2\*\*k, 2\*\*k \+ 1\) within 2\*\*62"):
        suggest_moduli(2**20, 24)
