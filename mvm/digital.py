"""The GEMM's digital periphery: exact chunk sums, CRT decoding with redundant-RNS correction, BFP accumulation.

The exact chunk sums are what an ideal chip would read; the decoder counts
residue and chunk errors against them (the simulator's report), never uses
them in place of a read residue.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mvm.rns import RedundantRns, from_residues
from photonics.jax_setup import persistent_jit

# The packages whose code an mvm program's trace can run (mvm and the layers below it): the source
# persistent_jit keys the programs on, so that an edit there compiles them again.
PROGRAM_SOURCES = ("photonics", "circuits", "mvm")
CRT_LIMIT = 1 << 24  # dynamic ranges up to this are decoded in float32 by garner_crt
SAFE_EXPONENT = 500  # |exponent| below this: scaling by 2**ea then 2**eb is exact, as ldexp is


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("h",))
def exact_chunk_sums(am, bm, *, h: int):
    """(C, M, N) chunk sums of integer mantissas am (M, C*h) and bm (C*h, N), as float32 (exact: |sums| < 2**24)."""
    m_rows, k = am.shape
    c = k // h
    x = am.astype(jnp.float32).reshape(m_rows, c, h).transpose(1, 0, 2)
    return jnp.matmul(x, bm.astype(jnp.float32).reshape(c, h, -1))


def float_mod(v, m: int, xp=jnp):
    """v mod m for float integers v below 2**24 in magnitude, without integer division (exact: the
    product's rounding is undone by one correction step each way)."""
    r = v - m * xp.floor(v * (1.0 / m))
    r = xp.where(r >= m, r - m, r)
    return xp.where(r < 0, r + m, r)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("moduli",))
def garner_crt(residues, exact, *, moduli):
    """Signed chunk sums (int32) from residues (a sequence of (C, M, N)) by Garner's algorithm, and a mask of
    those that differ from the exact sums.

    Every partial sum stays below the product of the moduli so far (at most
    ``CRT_LIMIT`` = 2**24), so float32 holds it exactly; elementwise only (XLA's
    reductions are slow on CPU: callers count the mask in numpy).
    """
    x = residues[0].astype(jnp.float32)
    prefix = moduli[0]
    for r, m in zip(residues[1:], moduli[1:]):
        inverse = pow(prefix % m, -1, m)
        digit = float_mod((r.astype(jnp.float32) - float_mod(x, m)) * inverse, m)
        x = x + digit * prefix
        prefix *= m
    x = jnp.where(x > (prefix - 1) // 2, x - prefix, x)
    return x.astype(jnp.int32), x != exact


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("moduli",))
def residue_mismatches(residues, exact, *, moduli):
    """Per modulus, a mask of the residues (a sequence of (C, M, N)) that differ from those of the exact sums."""
    return tuple(r != float_mod(exact, m) for r, m in zip(residues, moduli))


def count_errors(residues, values, wrong, exact, info: tuple[int, ...], counts: dict) -> None:
    """Add the chunk and residue errors of a decoded block (``wrong``: values != exact) to ``counts``."""
    chunk_errors = int(np.count_nonzero(np.asarray(wrong)))
    if chunk_errors:  # CRT is one-to-one: without a wrong value there is no wrong residue
        mismatched = residue_mismatches(tuple(residues), exact, moduli=info)
        counts["residue_errors"] += sum(int(np.count_nonzero(np.asarray(w))) for w in mismatched)
        counts["chunk_errors"] += chunk_errors


def decode(residues, exact, info: tuple[int, ...], rrns: RedundantRns | None, counts: dict):
    """Signed chunk sums (C, M, N) from the read residues (n, C, M, N) of every modulus (info, then redundant).

    Adds residue_errors, chunk_errors and (with redundant moduli) detected,
    corrected and uncorrected to ``counts``.
    """
    moduli = info + (rrns.redundant_moduli if rrns else ())
    if rrns is None and int(np.prod(info)) <= CRT_LIMIT:
        values, wrong = garner_crt(tuple(residues), exact, moduli=info)
        count_errors(residues, values, wrong, exact, info, counts)
        return values
    exact = np.asarray(exact).astype(np.int64)
    stacked = np.stack([np.asarray(r) for r in residues]).astype(np.int64)
    counts["residue_errors"] += sum(int(np.count_nonzero(r != np.mod(exact, m))) for r, m in zip(stacked, moduli))
    if rrns is None:
        values = from_residues(stacked, info)
    else:
        decoded = rrns.decode(stacked)
        values = decoded.values
        counts["detected"] += decoded.detected_count
        counts["corrected"] += decoded.corrected_count
        counts["uncorrected"] += decoded.uncorrected_count
    counts["chunk_errors"] += int(np.count_nonzero(values != exact))
    return values.astype(np.int32)


def decode_read(read, exact, info: tuple[int, ...], rrns: RedundantRns | None, counts: dict):
    """Signed chunk sums (C, M, N) from what a block's reader read (:func:`mvm.engine.read_chunks`'s form): None,
    every readout proven to read its exact residue (the CRT, one-to-one, returns the exact sums); or (chunks (k,),
    their residues (n, k, M, N)), every other chunk having read its exact residues. Counts as :func:`decode`."""
    if read is None:
        return exact
    chunks, residues = read
    if len(chunks) == len(exact):
        return decode(residues, exact, info, rrns, counts)
    exact = np.asarray(exact)
    values = exact.astype(np.int32)
    values[chunks] = np.asarray(decode(residues, exact[chunks], info, rrns, counts))
    return values


def pow2(e):
    """2.0**e (float64) for an integer JAX array e with |e| <= 1022, exact: the double's bits built directly, the
    same value as ldexp(1.0, e) (whose JAX form costs several times more to trace and run)."""
    return jax.lax.bitcast_convert_type((e.astype(jnp.int64) + 1023) << 52, jnp.float64)


def scales_by_product(exp_a: np.ndarray, exp_b: np.ndarray) -> bool:
    """Whether :func:`accumulate_groups` may scale by two products of powers of two (exact: no exponent is large
    enough for the intermediate product to over- or underflow) rather than by ldexp."""
    return bool(np.abs(exp_a).max(initial=0) < SAFE_EXPONENT and np.abs(exp_b).max(initial=0) < SAFE_EXPONENT)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("per_group", "by_product"))
def accumulate_groups(values, exp_a, exp_b, out, *, per_group, by_product):
    """:func:`accumulate` as one traceable program, ``by_product`` from :func:`scales_by_product` (for programs
    that fuse the accumulation with what comes before it)."""

    def group_sum(g):  # exact integers (float32 or int32 chunk values), converted one group at a time
        chunk = jax.lax.dynamic_slice_in_dim(values, g * per_group, per_group)
        return chunk.sum(axis=0).astype(jnp.float64)

    if by_product:  # multiplying by powers of two is exact while nothing over- or underflows
        scale_a, scale_b = pow2(exp_a), pow2(exp_b)

        def add(g, acc):
            return acc + (group_sum(g) * scale_a[:, g][:, None]) * scale_b[g][None, :]
    else:

        def add(g, acc):
            return acc + jnp.ldexp(group_sum(g), exp_a[:, g][:, None] + exp_b[g][None, :])

    return jax.lax.fori_loop(0, values.shape[0] // per_group, add, out)


def accumulate(values, exp_a: np.ndarray, exp_b: np.ndarray, out, *, per_group: int):
    """out + sum over groups, in order, of (sum of the group's chunk values) * 2**(exp_a + exp_b).

    Groups are added one after another in float64, as the reference does, so the
    result is bit-for-bit the reference's. Scaling uses two multiplications by
    powers of two (exact, and far faster than XLA's ldexp) unless an exponent
    is large enough for the intermediate product to over- or underflow.
    """
    by_product = scales_by_product(exp_a, exp_b)
    return accumulate_groups(values, exp_a, exp_b, out, per_group=per_group, by_product=by_product)
