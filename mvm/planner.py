"""Dynamic-range planning: how long a chunk of products the moduli can hold without wrapping.

A chunk sums h products of signed mantissas of magnitude at most q_max, so its result
lies in [-h * q_max**2, h * q_max**2]. The RNS represents it exactly only if it lies
strictly inside (-M/2, M/2), M the product of the moduli: h * q_max**2 < M/2, i.e.
2 * h * q_max**2 < M (integers only, no rounding). The planner finds the largest safe
h, checks a chosen h, and suggests moduli for a wanted h; nothing wraps silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from mvm.bfp import q_max_of
from mvm.rns import MAX_DYNAMIC_RANGE, dynamic_range
from mvm.validation import is_int
from photonics.errors import UsageError

# 2**k - 1, 2**k, 2**k + 1 have a product below 2**62 up to k = 20.
_MAX_SUGGEST_K = 20


def _half(M: int) -> str:
    """M/2 written exactly."""
    return f"{M // 2}" if M % 2 == 0 else f"{M // 2}.5"


def max_safe_chunk(moduli: Iterable[int], bits: int) -> int:
    """The largest h with 2 * h * q_max**2 < M; ValueError if even h = 1 can overflow."""
    mods = tuple(moduli)
    M = dynamic_range(mods)
    q_max = q_max_of(bits)
    h = (M - 1) // (2 * q_max**2)
    if h < 1:
        raise UsageError(
            f"moduli {mods} (M = {M}) cannot hold even one product of {bits}-bit mantissas: "
            f"q_max**2 = {q_max**2} >= M/2 = {_half(M)}; use larger moduli or fewer bits"
        )
    return h


def check_plan(moduli: Iterable[int], bits: int, h: int) -> None:
    """ValueError unless chunks of h products of `bits`-bit mantissas fit the moduli."""
    mods = tuple(moduli)
    if not is_int(h) or h < 1:
        raise UsageError(f"h must be an integer >= 1 (got {h!r})")
    M = dynamic_range(mods)
    q_max = q_max_of(bits)
    if 2 * h * q_max**2 < M:
        return
    largest = (M - 1) // (2 * q_max**2)
    advice = f"the largest safe h is {largest}" if largest >= 1 else "no h is safe; use larger moduli"
    raise UsageError(
        f"h = {h} could overflow moduli {mods} (M = {M}) with {bits}-bit mantissas: "
        f"h * q_max**2 = {h * q_max**2} >= M/2 = {_half(M)}; {advice}"
    )


def suggest_moduli(h: int, bits: int) -> tuple[int, int, int]:
    """The smallest set (2**k - 1, 2**k, 2**k + 1), k >= 2, that holds chunks of h products.

    The three are pairwise coprime for every k (consecutive integers, and the odd
    neighbours differ by 2). ValueError if no such set fits within 2**62.
    """
    if not is_int(h) or h < 1:
        raise UsageError(f"h must be an integer >= 1 (got {h!r})")
    q_max = q_max_of(bits)
    for k in range(2, _MAX_SUGGEST_K + 1):
        moduli = (2**k - 1, 2**k, 2**k + 1)
        if 2 * h * q_max**2 < (2**k - 1) * 2**k * (2**k + 1):
            return moduli
    raise UsageError(
        f"h = {h} with {bits}-bit mantissas needs M > 2 * h * q_max**2 = {2 * h * q_max**2}, "
        f"beyond any (2**k - 1, 2**k, 2**k + 1) within 2**62 = {MAX_DYNAMIC_RANGE}"
    )
