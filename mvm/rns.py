"""Residue number system (RNS): moduli, forward conversion, CRT, redundant moduli.

An integer x in the signed range of M = m_1 * ... * m_n (pairwise-coprime moduli) is
carried as its residues x mod m_i; the photonic core adds and multiplies residues
independently per modulus, and the Chinese remainder theorem (CRT) recovers x.

Reverse conversion uses Garner's mixed-radix algorithm, so every intermediate stays
below M <= 2**62 and the whole conversion is exact in int64 and vectorised.

Redundant moduli (larger than every information modulus) make errors visible: a
corrupted residue moves the reconstruction out of the legitimate range. k redundant
moduli detect up to k residue errors and correct floor(k/2); :class:`RedundantRns`
detects every single error (k >= 1) and corrects it (k >= 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mvm.validation import is_int
from photonics.errors import UsageError

MAX_DYNAMIC_RANGE = 2**62
_INT64_MAX = 2**63 - 1


def validate_moduli(moduli: Iterable[int]) -> tuple[int, ...]:
    """The moduli as a tuple of Python ints; ValueError unless they are a usable RNS base.

    Each must be an integer >= 2, there must be at least one, they must be pairwise
    coprime (else CRT is not unique) and their product must not exceed
    MAX_DYNAMIC_RANGE (else int64 CRT is not exact).
    """
    try:
        items = tuple(moduli)
    except TypeError:
        raise UsageError(f"moduli must be a sequence of integers >= 2 (got {moduli!r})") from None
    if not items:
        raise UsageError("moduli must hold at least one modulus (got none)")
    for m in items:
        if not is_int(m):
            raise UsageError(f"moduli must be integers >= 2 (got {m!r} of type {type(m).__name__})")
        if m < 2:
            raise UsageError(f"moduli must be integers >= 2 (got {int(m)})")
    result = tuple(int(m) for m in items)
    for i, a in enumerate(result):
        for b in result[i + 1 :]:
            g = math.gcd(a, b)
            if g != 1:
                raise UsageError(f"moduli must be pairwise coprime: {a} and {b} share the factor {g}")
    _check_product(result)
    return result


def _check_product(moduli: tuple[int, ...]) -> int:
    product = math.prod(moduli)
    if product > MAX_DYNAMIC_RANGE:
        raise UsageError(f"dynamic range M = {product} of moduli {moduli} exceeds 2**62, the limit of exact int64 CRT")
    return product


def dynamic_range(moduli: Iterable[int]) -> int:
    """M, the product of the moduli: the number of distinct values the RNS represents."""
    return _check_product(validate_moduli(moduli))


def signed_range(M: int) -> tuple[int, int]:
    """The symmetric signed range (lo, hi), inclusive, of M residue classes."""
    if not is_int(M) or M < 1:
        raise UsageError(f"M must be an integer >= 1 (got {M!r})")
    return -(int(M) // 2), (int(M) - 1) // 2


def _as_int64(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise UsageError(f"{name} must be an integer array (got dtype {arr.dtype})")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > _INT64_MAX:
        raise UsageError(f"{name} must fit in int64 (found {int(arr.max())})")
    return arr.astype(np.int64, copy=False)


def to_residues(values, moduli: Iterable[int]) -> np.ndarray:
    """Residues of integer values, shape (len(moduli),) + values.shape, each in [0, m).

    Negative values map to v mod m. The dtype is uint8 when every modulus is <= 256
    (compact, like the hardware's residue width), else int64.
    """
    mods = validate_moduli(moduli)
    v = _as_int64(values, "values")
    dtype = np.uint8 if max(mods) <= 256 else np.int64
    out = np.empty((len(mods),) + v.shape, dtype=dtype)
    for i, m in enumerate(mods):
        out[i] = np.mod(v, m)
    return out


def _mulmod_const(x: np.ndarray, c: int, m: int) -> np.ndarray:
    """(x * c) mod m for int64 x in [0, m) and a constant c in [0, m), without overflow."""
    if (m - 1) * c <= _INT64_MAX:
        return (x * c) % m
    # Double and add over the bits of c: every intermediate stays below 2 * m <= 2**63.
    result = np.zeros_like(x)
    addend = x.copy()
    while c:
        if c & 1:
            result = result + addend
            result = np.where(result >= m, result - m, result)
        c >>= 1
        if c:
            addend = addend + addend
            addend = np.where(addend >= m, addend - m, addend)
    return result


def from_residues(residues, moduli: Iterable[int]) -> np.ndarray:
    """The signed integer (int64, in signed_range(M)) whose residues these are, by CRT.

    residues has shape (len(moduli), ...) and any integer dtype, each row in [0, m_i).
    Garner's algorithm builds x = v_1 + v_2*m_1 + v_3*m_1*m_2 + ... digit by digit;
    every partial sum is below the product so far, so nothing overflows.
    """
    mods = validate_moduli(moduli)
    r = _as_int64(residues, "residues")
    if r.ndim < 1 or r.shape[0] != len(mods):
        raise UsageError(f"residues must have shape (len(moduli), ...) = ({len(mods)}, ...) (got {r.shape})")
    for i, m in enumerate(mods):
        if r[i].size and (int(r[i].min()) < 0 or int(r[i].max()) >= m):
            raise UsageError(
                f"residues[{i}] must lie in [0, {m}) for modulus {m} "
                f"(found values in [{int(r[i].min())}, {int(r[i].max())}])"
            )
    x = r[0].copy()
    prefix = mods[0]
    for i in range(1, len(mods)):
        m = mods[i]
        inverse = pow(prefix % m, -1, m)
        digit = _mulmod_const(np.mod(r[i] - np.mod(x, m), m), inverse, m)
        x = x + digit * prefix
        prefix *= m
    _, hi = signed_range(prefix)
    return np.where(x > hi, x - prefix, x)


def _validate_named(moduli, name: str) -> tuple[int, ...]:
    """validate_moduli with the argument's name in front of the message."""
    try:
        return validate_moduli(moduli)
    except ValueError as error:
        raise UsageError(f"{name}: {error}") from None


@dataclass(frozen=True)
class DecodeResult:
    """Decoded values and, per element, whether an error was detected and corrected."""

    values: np.ndarray  # int64, the corrected value or, if uncorrected, the info-moduli value
    detected: np.ndarray  # bool, the residues were inconsistent
    corrected: np.ndarray  # bool, the error was located and corrected

    @property
    def detected_count(self) -> int:
        return int(np.count_nonzero(self.detected))

    @property
    def corrected_count(self) -> int:
        return int(np.count_nonzero(self.corrected))

    @property
    def uncorrected_count(self) -> int:
        return int(np.count_nonzero(self.detected & ~self.corrected))


@dataclass(frozen=True)
class RedundantRns:
    """An RNS with k redundant moduli on top of the information moduli.

    Values are restricted to the signed range of the information moduli (the
    legitimate range); any single residue error then lands outside it. Every
    redundant modulus must exceed every information modulus, which makes the
    leave-one-out reconstruction that omits the bad residue the only one that lands
    inside the legitimate range.
    """

    info_moduli: tuple[int, ...]
    redundant_moduli: tuple[int, ...]

    def __post_init__(self) -> None:
        info = _validate_named(self.info_moduli, "info_moduli")
        redundant = _validate_named(self.redundant_moduli, "redundant_moduli")
        _validate_named(info + redundant, "info_moduli + redundant_moduli")
        too_small = [m for m in redundant if m <= max(info)]
        if too_small:
            raise UsageError(
                f"redundant_moduli must each exceed the largest info modulus {max(info)} (got {too_small[0]})"
            )
        object.__setattr__(self, "info_moduli", info)
        object.__setattr__(self, "redundant_moduli", redundant)

    @property
    def moduli(self) -> tuple[int, ...]:
        return self.info_moduli + self.redundant_moduli

    @property
    def legitimate_range(self) -> int:
        """The product of the information moduli; values lie in its signed range."""
        return math.prod(self.info_moduli)

    def encode(self, values) -> np.ndarray:
        """Residues over all moduli of values in the signed legitimate range."""
        v = _as_int64(values, "values")
        lo, hi = signed_range(self.legitimate_range)
        if v.size and (int(v.min()) < lo or int(v.max()) > hi):
            raise UsageError(
                f"values must lie in the legitimate range [{lo}, {hi}] of info moduli "
                f"{self.info_moduli} (found values in [{int(v.min())}, {int(v.max())}])"
            )
        return to_residues(v, self.moduli)

    def decode(self, residues) -> DecodeResult:
        """Values from residues over all moduli, detecting and (k >= 2) correcting one error."""
        mods = self.moduli
        r = _as_int64(residues, "residues")
        full = from_residues(r, mods)
        lo, hi = signed_range(self.legitimate_range)
        detected = (full < lo) | (full > hi)
        values = full.copy()
        corrected = np.zeros_like(detected)
        if detected.any():
            bad = r[:, detected]  # (n + k, D)
            fallback = from_residues(bad[: len(self.info_moduli)], self.info_moduli)
            if len(self.redundant_moduli) >= 2:
                fixed, ok = self._correct(bad, lo, hi)
                values[detected] = np.where(ok, fixed, fallback)
                corrected[detected] = ok
            else:
                values[detected] = fallback
        return DecodeResult(values=values, detected=detected, corrected=corrected)

    def _correct(self, bad: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out reconstructions; corrected where exactly one lies in range."""
        mods = self.moduli
        candidates = np.stack(
            [from_residues(np.delete(bad, i, axis=0), mods[:i] + mods[i + 1 :]) for i in range(len(mods))]
        )
        in_range = (candidates >= lo) & (candidates <= hi)
        ok = np.count_nonzero(in_range, axis=0) == 1
        pick = np.argmax(in_range, axis=0)
        fixed = np.take_along_axis(candidates, pick[None], axis=0)[0]
        return fixed, ok
