"""The GEMM's fast path for Pockels tiles with an ideal hybrid: residues from chunk sums.

A chunk's read phase, in level units t = phase * m / (2*pi), is
t = sum_k level_k * s_k + t0 over the chunk's segments, with levels in [0, m)
(:attr:`circuits.mmu.MmuDesign.level_table`) and per-device slopes s_k whose
ideal values are the design's :meth:`~circuits.mmu.MmuDesign.ideal_level_slopes`;
the ideal part sums to the chunk's products mod m. Writing s_k = ideal_k + delta_k
and t0 = 0 + delta_0, t = S + m*q + E where S is the exact chunk sum of the
mantissas, q an integer and E = delta_0 + sum_k level_k * delta_k the device
error. So the read residue is (S + rint(E)) mod m, and the readout is provably
correct (up to the noise bound of :meth:`ModulusTile.safe_margin_rad`) when E
stays clear of the half-integers by that margin.

- :func:`tile_error_bound` bounds |E| over every possible input from the
  device deviations alone (every level is at most m - 1, whatever the
  encoding); when bound + margin < 1/2 for every row, every readout of the
  tile reads S mod m exactly and nothing needs computing.
- Otherwise, where the encoding's phase factorises (:attr:`~circuits.mmu.MmuDesign.factorises`:
  level_k = bit_k(w) * xterm_k(x), the x-terms being x when the MMU design shares one
  drive, else (x * k_b) mod m per segment), :func:`error_levels` computes E
  for every readout as a float32 matrix product of the x-terms with the
  weight-selected deviations (small numbers, so float32 is accurate;
  :func:`float32_slack_levels` bounds its error). Encodings whose levels do not
  factorise (digital-product) take the GEMM's exact gather path instead.
"""

from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from mvm.rns import from_residues

F32_UNIT = 2.0**-24
TABLE_CRT_LIMIT = 1 << 22  # dynamic ranges up to this use a reverse-conversion table


def _wrap(v, m):
    return v - m * np.rint(v / m)


def deviations(tile) -> tuple[np.ndarray, np.ndarray]:
    """(R, h, B) slope deviations and (R,) offset deviations, in levels, wrapped to (-m/2, m/2]."""
    m = tile.modulus
    slope = tile.slope_rad * (m / (2 * np.pi))
    delta = _wrap(slope - tile.mmu.ideal_level_slopes(), m)
    return delta, _wrap(tile.read_phase0_rad * (m / (2 * np.pi)), m)


def tile_error_bound(tile) -> np.ndarray:
    """(R,) bound on |E| over every input: |delta_0| + (m - 1) * sum |delta_k| over the row's devices."""
    delta, delta0 = deviations(tile)
    return np.abs(delta0) + (tile.modulus - 1) * np.abs(delta).sum(axis=(1, 2))


def float32_slack_levels(h: int, modulus: int, terms: int, bound: float) -> float:
    """Bound on the float32 error of E for a chunk (products, h*terms additions, the offset)."""
    return 2 * (h * terms + 2) * F32_UNIT * max(bound, 1.0) * modulus


def deviation_weights(tile, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(Kb * terms, N) float64 deviations multiplying each x-term, (N,) offsets, terms per MAC."""
    _check_factorises(tile.mmu)
    delta, delta0 = deviations(tile)
    n = w.shape[1]
    rows = np.arange(n) % tile.size
    mmus = np.arange(w.shape[0]) % tile.h
    d = delta[rows[None, :], mmus[:, None], :]  # (Kb, N, B)
    weighted = ((w[..., None].astype(np.int64) >> np.arange(d.shape[-1])) & 1) * d
    if tile.mmu.shared_drive:  # every active segment at level x: one x-term carries their deviations
        weighted = weighted.sum(-1, keepdims=True)
    return weighted.transpose(0, 2, 1).reshape(-1, n), delta0[rows], weighted.shape[-1]


def x_terms(x: np.ndarray, mmu) -> np.ndarray:
    """(M, Kb * terms) integer x-terms: x for a shared drive, else each segment's drive level for x."""
    _check_factorises(mmu)
    if mmu.shared_drive:
        return x
    return mmu.drive_levels[x.astype(np.intp)].reshape(x.shape[0], -1)


def _check_factorises(mmu) -> None:
    if not mmu.factorises:
        raise ValueError(f"the {mmu.encoding} encoding's phase does not factorise into x-terms: use the gather path")


@partial(jax.jit, static_argnames=("h", "modulus"))
def error_levels(xt, weights, offset, exact, margin, *, h, modulus):
    """Residues (C, M, N), the unsafe mask and its count, from x-terms, deviations and exact sums."""
    m_rows, kt = xt.shape
    c = exact.shape[0]
    per = kt // c
    e = (
        jnp.matmul(
            xt.astype(jnp.float32).reshape(m_rows, c, per).transpose(1, 0, 2),
            weights.astype(jnp.float32).reshape(c, per, -1),
        )
        + offset
    )
    shift = jnp.rint(e)
    unsafe = (0.5 - jnp.abs(e - shift)) <= margin
    residue = _mod(exact.astype(jnp.int32) + shift.astype(jnp.int32), modulus)
    return residue.astype(jnp.int16), unsafe, jnp.sum(unsafe)


def _mod(v, m: int):
    """v mod m for int32 v of moderate size, without integer division."""
    q = jnp.floor(v.astype(jnp.float32) * (1.0 / m)).astype(jnp.int32)
    r = v - q * m
    r = jnp.where(r < 0, r + m, r)
    return jnp.where(r >= m, r - m, r)


@jax.jit
def exact_chunk_sums(am, bm):
    """(C, M, N) chunk sums of integer mantissas, as float32 (exact: |sums| < 2**24 by the plan)."""
    return jnp.matmul(am.astype(jnp.float32), bm.astype(jnp.float32))


@lru_cache(maxsize=8)
def crt_table(moduli: tuple[int, ...]) -> np.ndarray:
    """The signed value of every residue combination, indexed by the mixed index of the residues."""
    grids = np.meshgrid(*[np.arange(m) for m in moduli], indexing="ij")
    return from_residues(np.stack([g.reshape(-1) for g in grids]), moduli).astype(np.int32)


@partial(jax.jit, static_argnames=("moduli",))
def table_crt(residues, table, exact, *, moduli):
    """Signed chunk sums from residues (n, C, M, N) by table lookup, and error counts against exact sums."""
    index = jnp.zeros(residues.shape[1:], jnp.int32)
    for i, m in enumerate(moduli):
        index = index * m + residues[i].astype(jnp.int32)
    value = table[index]
    exact = exact.astype(jnp.int32)
    residue_errors = jnp.stack([jnp.sum(residues[i] != _mod(exact, m)) for i, m in enumerate(moduli)])
    return value, residue_errors, jnp.sum(value != exact)


SAFE_EXPONENT = 500  # |exponent| below this: scaling by 2**ea then 2**eb is exact, as ldexp is


@partial(jax.jit, static_argnames=("per_group", "by_product"))
def _accumulate(values, exp_a, exp_b, out, *, per_group, by_product):
    def group_sum(g):  # exact integers (float32 or int32 chunk values), converted one group at a time
        chunk = jax.lax.dynamic_slice_in_dim(values, g * per_group, per_group)
        return chunk.sum(axis=0).astype(jnp.float64)

    if by_product:  # multiplying by powers of two is exact while nothing over- or underflows
        scale_a, scale_b = jnp.ldexp(1.0, exp_a), jnp.ldexp(1.0, exp_b)

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
    by_product = bool(np.abs(exp_a).max(initial=0) < SAFE_EXPONENT and np.abs(exp_b).max(initial=0) < SAFE_EXPONENT)
    return _accumulate(values, exp_a, exp_b, out, per_group=per_group, by_product=by_product)
