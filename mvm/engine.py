"""The readout engine: every readout of a tile solved from its devices, at the cost of a table lookup-sum.

An MDPU row's signal arm is a product of its MMUs, so for the row r holding a
weight column and MMU tables t_rj(x, w) (:attr:`circuits.compiled.CompiledMdpu.mmu_t`,
each the exact product of its segments and heater, any encoding, element,
variation, drift or trim):

    log T_arm = base_r + 2j*pi/m * (S + sum_j eps_lv[r, j, x_j, w_j]) + sum_j eps_amp[r, j, x_j, w_j]

with base_r = sum_j log t_rj(0, 0), S the exact integer chunk sum, and the
device tables eps (:class:`TileTables`) what each MMU does beyond its ideal
phase 2*pi*(x*w mod m)/m: phase in levels, wrapped to (-m/2, m/2], and log
amplitude. This is an identity, not a linearisation. For a chunk of h MMUs,
sum_j eps[r, j, x_j, w_j] is a lookup-sum: with the weights stationary, the
table F[k, a, n] = eps[row(n), k mod h, a, w[k, n]] is gathered once per weight
load (:func:`chunk_table`, a chunk at a time), and then each readout adds h rows
of it (:func:`arm_levels`), memory-bound at about the cost of the integer product
itself.

The receiver then reads each readout from its arm phase v = S + E through the
row's :class:`mvm.receiver.ReceiverMap`; a readout further than the proven
margin from a decision boundary reads the same residue with noise as without,
so only the others can need simulating: each is simulated in full (arm transmissions in
float64 from the tables, then :func:`circuits.readout.read_arms`) with the probability that its
noise leaves the ball its distance allows, its noise drawn conditioned on leaving, and
otherwise reads its noiseless residue (exact thinning: :func:`_read_cells`). Tiles whose MMUs change amplitude with the
drive (micro-rings) have no such map: every readout is simulated in full,
from the same tables.

Precision: E is summed in float32 from terms of at most m/2 levels, so it is
off by at most (h + 2) * 2**-23 * sum_j max|eps_j| levels; that goes into the
margin (:func:`float32_slack_levels`). A tile whose devices all equal the
design to ``UNIFORM_LEVELS`` (an ideal chip: round-off only) has E = 0 to that
bound and adds no lookup-sum; its readouts then have only R * m distinct
fields (row, S mod m), and where the receiver map proves every one of them
(:func:`proven_exact`, once per chip) no readout of the tile is flagged.

Cost: one program per block (:func:`_tiles_flagged`) scans the chunks; for each
chunk it gathers every tile's weight table, adds the lookup-sums and flags, and
only says which columns of which chunks of which tiles hold a flagged readout. A chunk's table
stays in the cache while its readouts read it. A tile with even boundaries is flagged from E alone
(:func:`_even_flags`), conservatively: every readout the decision would flag is
flagged. Each flagged cell (``FLAG_COLUMNS`` columns of one chunk of one tile) is read again
by the decision, with E in memory (:func:`_tile_arm_errors`, :func:`_block_residues`); every
other readout reads S mod m, proven.

:func:`read_chunks` is the one entry point (:func:`read_block`: its residues filled in for every chunk).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from circuits.compiled import index_dtype, segment_sums
from circuits.readout import NoiseBall, Readout, Receivers, draw_drift_hz, drive_phase_sigma_rad, read_arms
from mvm.digital import PROGRAM_SOURCES, accumulate_groups, exact_chunk_sums, float_mod, scales_by_product
from mvm.receiver import THIN_BINS, THIN_BINS_PER_LEVEL, ReceiverMap, receiver_map
from photonics.jax_setup import persistent_jit

UNIFORM_LEVELS = 1e-7  # devices this close to the design (levels) are the design, to round-off
AMPLITUDE_EXACT = 1e-8  # relative amplitude change below which an MMU's amplitude counts as constant
F32_UNIT = 2.0**-24
EVEN_SPREAD_LEVELS = 0.02  # receivers this close to even boundaries are decided without lookups
FLAG_ROUNDING = 2.0**-21  # per level of |v|: bounds how far the flag pass's float32 rounding departs the decision's
EXACT_BATCH = 1 << 16  # readouts per batch on the float64 full-simulation path
# Columns of one chunk a flagged readout has read again by the decision (rounded up to whole tile passes, so a
# cell's columns keep their rows): one unproven readout among a 2048^3 product's 4 million a chunk reads 262,144
# again, not the chunk (a varied chip flagged most chunks of a tile in some tile: 3x the flag pass's time).
FLAG_COLUMNS = 128
SMALL_BLOCK = 1 << 16  # readouts per tile up to which a product's stages are one program (training's products)


def residue_dtype(h: int, modulus: int, given=np.int8) -> np.dtype:
    """The integer type to take residues of type ``given`` in for :meth:`TileTables.arm_transmission`: one that
    holds x * m + w and a dot product of h residues, h * (m - 1)**2 (:func:`circuits.compiled.index_dtype`)."""
    return index_dtype(given, max(modulus * modulus - 1, h * (modulus - 1) ** 2))


def float32_slack_levels(h: int, modulus: int, term_bound: float) -> float:
    """Bound on the float32 error of a decision: v = (S mod m) + E summed in h + 2 roundings of sums of at most
    m + ``term_bound`` levels, and the boundaries rounded to float32 (at most m levels)."""
    return 2 * F32_UNIT * ((h + 2) * (modulus + term_bound) + modulus)


@dataclass(frozen=True)
class TileTables:
    """A tile's devices in the engine's form, built once per tile (see the module docstring).

    Kept per level combination of an MMU's segments (:attr:`circuits.mmu.MmuDesign.level_patterns`: (x, w)
    reads combination ``pattern[x * m + w]``), m of them for the digital-product encoding against m**2 inputs;
    the (x, w) tables are built from them where the JAX programs need them (:attr:`eps_cols`).
    """

    modulus: int
    h: int
    base: np.ndarray  # (R,) complex: log T_arm with every MMU at (0, 0)
    levels: np.ndarray  # (R, h, U) float64: phase beyond the ideal, levels, per level combination
    log_amplitude: np.ndarray  # (R, h, U) float64
    pattern: np.ndarray  # (m * m,) the level combination of each (x, w), at x * m + w
    constant_amplitude: bool  # every MMU keeps its amplitude: the receiver map applies
    uniform: bool  # every device equals the design to UNIFORM_LEVELS: E = 0 within the bound

    @classmethod
    def from_tile(cls, tile) -> TileTables:
        m, h = tile.modulus, tile.h
        rows = tile.rows
        same = all(row is rows[0] for row in rows)  # an ideal tile: one compiled row R times
        seg = np.stack([r.segment_t for r in (rows[:1] if same else rows)])  # (R or 1, h, B, m)
        heater = np.stack([r.heater_t for r in (rows[:1] if same else rows)])
        mmu = rows[0].design.mmu
        _, pattern, residue = mmu.level_patterns
        levels, log_amp, ref = segment_sums(seg, heater, mmu)  # (R or 1, h, U)
        levels *= m / (2 * np.pi)
        levels -= residue  # the ideal product's levels
        levels -= m * np.rint(levels / m)
        if same:
            levels, log_amp, ref = (np.repeat(a, len(rows), axis=0) for a in (levels, log_amp, ref))
        base = np.log(np.abs(ref)).sum(1) + 1j * np.angle(ref).sum(1)
        # every combination occurs: the largest over the combinations is the largest over (x, w)
        constant_amplitude = bool(np.abs(log_amp).max() < AMPLITUDE_EXACT)
        uniform = bool(np.abs(levels).max() < UNIFORM_LEVELS)
        return cls(m, h, base, levels, log_amp, pattern.astype(np.int32), constant_amplitude, uniform)

    @property
    def eps_levels(self) -> np.ndarray:
        """(R, h, m, m) float64: the phase tables per (x, w), [r, j, x, w] (built on each call: only
        :attr:`eps_cols`, cached, needs them)."""
        return self._eps(np.float64)

    def _eps(self, dtype) -> np.ndarray:
        """:attr:`eps_levels` in ``dtype``, cast per level combination before the gather spreads them over (x, w)
        (the same values as casting the tables: the gather copies them)."""
        m = self.modulus
        return np.take(self.levels.astype(dtype), self.pattern, axis=-1).reshape(self.levels.shape[:2] + (m, m))

    @functools.cached_property
    def eps_cols(self) -> jnp.ndarray:
        """The phase tables as (h, m_a, R*m_w) float32 for :func:`chunk_table`."""
        r, h, m = self.levels.shape[0], self.h, self.modulus
        # cast by numpy: jnp.asarray(..., dtype) would compile a conversion program in every fresh process; and
        # put on the device as it is (jax.device_put: a third of jnp.asarray's time, which checks and copies more)
        return jax.device_put(self._eps(np.float32).transpose(1, 2, 0, 3).reshape(h, m, r * m))

    def term_bound(self) -> np.ndarray:
        """(R,) sum over the row's MMUs of the largest |eps_lv|: a bound on |E| over every input."""
        return np.abs(self.levels).max(axis=2).sum(1)

    def amplitude_bound(self) -> np.ndarray:
        """(R,) the largest |log amplitude change| of any MMU of the row."""
        return np.abs(self.log_amplitude).max(axis=(1, 2))

    @functools.cached_property
    def _log_mmu(self) -> np.ndarray:
        """(R * h * U,) complex128, flat: log(t / t(0, 0)) less the ideal product's phase of every MMU's level
        combinations, log amplitude + j 2 pi / m * levels (:meth:`arm_transmission` gathers it once a readout)."""
        return (self.log_amplitude + 1j * (2 * np.pi / self.modulus) * self.levels).reshape(-1)

    @functools.cached_property
    def _mmu_starts(self) -> np.ndarray:
        """(R, h): where MMU j of row r starts in the flat tables (int32 where it fits: half of int64's time)."""
        r, h, count = self.levels.shape
        return ((np.arange(r)[:, None] * h + np.arange(h)) * count).astype(index_dtype(np.int32, r * h * count))

    def arm_transmission(self, rows: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Exact T_arm (complex128) of readouts on ``rows`` (...) for chunk residues x, w (..., h), any integer
        dtype (computed in :func:`residue_dtype` or wider: int32 for the moduli in use, half of int64's time)."""
        m, h = self.modulus, self.h
        dtype = residue_dtype(h, m, np.result_type(x, w))
        x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
        # [r, j, combination of (x, w)] in the flat table: one gather; rows, x and w may broadcast
        at = np.take(self.pattern, x * x.dtype.type(m) + w) + self._mmu_starts[rows]
        s = np.mod(np.einsum("...j,...j->...", x, w), m)
        return np.exp(self.base[rows] + np.take(self._log_mmu, at).sum(-1) + (2j * np.pi / m) * s)


@dataclass(frozen=True)
class TileEngine:
    """A tile's tables, receivers and receiver map for one readout configuration."""

    tile: object  # mvm.tile.ModulusTile
    tables: TileTables
    receivers: Receivers  # each row's receiver (arrays leading with R)
    readout: Readout
    skip_probability: float

    def fields(self, rows: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Detector fields (..., 4) per unit input field of readouts on ``rows``, chunk residues x, w (..., h)."""
        rows = np.asarray(rows)
        t = self.tables.arm_transmission(rows, np.asarray(x), np.asarray(w))
        return self.receivers.lo_to_det[rows] + self.receivers.signal_to_det[rows] * t[..., None]

    @functools.cached_property
    def receiver(self) -> ReceiverMap:
        """The receiver map with its margins (inf where nothing can be proven: amplitude following the drive),
        built when a reader first proves readouts (most of the engine's preparation: the fields need none)."""
        tables, tile = self.tables, self.tile
        if not tables.constant_amplitude:  # amplitude follows the drive: no map from the phase alone
            return ReceiverMap.never(tables.modulus, tile.size)
        bound = tables.term_bound()
        slack = np.array([float32_slack_levels(tile.h, tables.modulus, b) for b in bound])
        slack = slack + tile.h * tables.amplitude_bound() * tables.modulus / np.pi
        if tables.uniform:
            slack = slack + bound  # E is taken as 0
        return receiver_map(tile.rows, self.receivers, self.readout, tables.base, self.skip_probability, slack)


def tile_engine(tile, readout: Readout, skip_probability: float) -> TileEngine:
    """The engine of a tile for a readout: its device tables and receivers (the receiver map when first read)."""
    return TileEngine(tile, TileTables.from_tile(tile), Receivers.of(tile.rows, readout), readout, skip_probability)


def chunk_table(eps_cols, index):
    """F[a*h + j, n] = eps_lv[row(n), j, a, w[j, n]] (float32): one chunk's weight table, for its indices
    (:func:`table_index`, (h, N)).

    ``eps_cols``: (h, m_a, R*m_w) phase tables, so that for each MMU j and input a the
    weights of every column select along the last axis. Rows of N over the columns, as
    the lookup-sum reads them; at most 1 MB for the default tile and N = 512, so it
    stays in the cache while the chunk's readouts read it.
    """
    h, m = eps_cols.shape[:2]
    return jax.vmap(lambda e, i: e[:, i], in_axes=(0, 0), out_axes=1)(eps_cols, index).reshape(m * h, -1)


def table_index(w, modulus: int, rows: int, xp=jnp):
    """Indices into a tile's R*m_w phase columns (:attr:`TileTables.eps_cols`) for weight mantissas w (..., N):
    row(n) * m + (w mod m). Computed for a whole block before the scan over its chunks (or, for a small block,
    before its program: :func:`read_small`): fused into the table's gather, XLA computes each one m times."""
    return xp.arange(w.shape[-1], dtype=w.dtype) % rows * modulus + xp.mod(w, modulus)


def arm_levels(table, x):
    """E (M, N), float32 levels, of one chunk: each readout's h rows of the chunk's table (:func:`chunk_table`)
    summed, for input residues x (M, h).

    One row gather per MMU, accumulated in order (XLA turns a gather-then-sum into
    scalar gathers). The gathers are written in lax, indices clipped (they are in
    range): jnp indexing's negative-index handling made them slower to trace and run.
    """
    n = table.shape[1]
    h = x.shape[1]
    index = x * h + jnp.arange(h, dtype=x.dtype)  # (M, h): row a*h + j
    rows = jax.lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))

    def gather(j):  # table[index[:, j]], (M, N)
        at = jax.lax.slice_in_dim(index, j, j + 1, axis=1)  # (M, 1): the index vector last
        return jax.lax.gather(table, at, rows, (1, n), mode=jax.lax.GatherScatterMode.CLIP)

    e = gather(0)
    for j in range(1, h):
        e = e + gather(j)
    return e


def _chunks(am, bm, h: int):
    """Mantissas am (M, C*h), bm (C*h, N) as the scan over chunks reads them: (C, M, h) and (C, h, N)."""
    m_rows, kb = am.shape
    return am.reshape(m_rows, kb // h, h).transpose(1, 0, 2), bm.reshape(kb // h, h, -1)


def _tile_inputs(am, bm, h: int, eps_cols, modulus: int, rows: int, index=None):
    """A tile's inputs to the scan over a block's chunks: input residues (C, M, h) and table indices (C, h, N)
    (:func:`table_index`, unless given: a small product's, computed in numpy by :func:`read_small`); None for a
    uniform tile (E = 0, no lookup-sum)."""
    if eps_cols is None:
        return None
    xs, ws = _chunks(am, bm, h)
    return jnp.mod(xs, modulus), (table_index(ws, modulus, rows) if index is None else index)


def _chunk_levels(eps_cols, inputs):
    """E (M, N) of one chunk of one tile from its scan inputs (:func:`_tile_inputs`); None for a uniform tile."""
    if inputs is None:
        return None
    x, index = inputs
    return arm_levels(chunk_table(eps_cols, index), x)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("moduli", "rows"))
def _tiles_flagged(am, bm, exact, arguments, *, moduli, rows):
    """Per chunk, tile and column, (C, tiles, N) bool: whether any readout of the chunk's column on the tile might be
    unproven or read another residue than the exact one; where none is, every residue it reads is proven and exact.

    Mantissas am (M, C*h), bm (C*h, N), exact chunk sums (C, M, N), float32; ``arguments``: each tile's
    (eps_cols, receiver map arrays, flag limits) (:meth:`ChipEngine.arguments`). One scan over the chunks,
    every tile's weight table, lookup-sum and flags in its body: each chunk's table stays in the cache while
    its readouts read it, and the flags read E where it is made instead of from memory. The table indices and
    input residues are computed for the whole block before the scan (:func:`_tile_inputs`). A tile with even
    boundaries is flagged from E alone (:func:`_even_flags`); the others by the decision itself (:func:`_decide`).
    """
    h = am.shape[1] // exact.shape[0]
    inputs = tuple(_tile_inputs(am, bm, h, eps, m, rows) for (eps, _, _), m in zip(arguments, moduli))
    return _flags(exact, inputs, arguments, moduli, rows, bm.shape[1])


def _flags(exact, inputs, arguments, moduli, rows: int, n: int):
    """:func:`_tiles_flagged` from its tiles' inputs (:func:`_tile_inputs`): a small block's chunks together (a
    loop's steps would cost more), a larger one's in a scan."""
    if not arguments:  # every tile proven exact
        return jnp.zeros((exact.shape[0], 0, n), bool)
    cols = jnp.arange(n) % rows
    by_sums = any(limit is None for _, _, limit in arguments)  # a tile whose flags need the exact sums

    def chunk_flagged(s_exact, tiles):  # per tile and column, whether any readout of one chunk is flagged
        flagged = []
        for (eps_cols, receiver, limit), modulus, tile in zip(arguments, moduli, tiles):
            e = _chunk_levels(eps_cols, tile)
            if limit is None:
                ((residue, unsafe, s, _),) = _decide(
                    s_exact[None], (None if e is None else e[None],), (receiver,), (modulus,), rows, (False,)
                )
                flagged.append((unsafe | (residue != s))[0].any(axis=0))
            else:
                f = _even_flags(e, receiver, limit, modulus, cols)  # (M, N), or (N,) from E = 0
                flagged.append(f.any(axis=0) if f.ndim == 2 else f)
        return jnp.stack(flagged)

    chunks = (exact if by_sums else None, inputs)
    if not jax.tree_util.tree_leaves(chunks):  # uniform tiles flagged from E = 0: the same for every chunk
        return jnp.broadcast_to(chunk_flagged(*chunks), (exact.shape[0], len(arguments), n))
    if np.size(exact) <= SMALL_BLOCK:
        return jax.vmap(chunk_flagged)(*chunks)
    _, flagged = jax.lax.scan(lambda carry, c: (carry, chunk_flagged(*c)), None, chunks, length=len(exact), unroll=2)
    return flagged


def _even_flags(e, receiver, limit, modulus: int, cols):
    """Per readout of a chunk of an even tile: whether the flag pass flags it, from E (M, N) alone (None: E = 0).

    With boundaries at k + 1/2 + offset (within spread), whole levels of S move v = S + E from one boundary
    pattern to the same one, so the readout reads S mod m exactly when rint(u) + centre = 0 (mod m), u =
    E - offset, and is proven where |u - rint(u)| stays below the row's limit (:func:`flag_limits`). The
    limit covers the rounding by which this u departs from the decision's, so every readout the decision
    (:func:`_decide`) would flag is flagged here; a flagged block is then read by the decision itself.
    """
    r = ReceiverMap(modulus, *receiver)
    offset = r.offset[cols]
    u = -offset if e is None else e - offset
    k = jnp.rint(u)
    return (jnp.abs(u - k) >= limit[cols]) | (float_mod(k + r.centre_residue[cols], modulus) != 0)


def flag_limits(engine: TileEngine) -> np.ndarray:
    """(R,) float32: the |u - rint(u)| at or beyond which :func:`_even_flags` flags a readout of the tile.

    The decision (:func:`_decide`, even form) computes u' = (S mod m + E) - offset and flags where
    0.5 - |u' - rint(u')| - spread <= margin, all in float32. Its u' departs from S mod m + u by at most
    3 * 2**-24 * (m + T + |offset|) levels (three roundings of numbers below m + T + |offset|, T bounding |E|:
    :meth:`TileTables.term_bound`), and its distance by 2**-24 more; the limit 0.5 - spread - margin less
    FLAG_ROUNDING * (m + T + |offset| + 1), rounded down to float32, covers both. Spread and margin as the
    decision reads them (float32); an infinite one gives -inf (every readout flagged).
    """
    receiver, m = engine.receiver, engine.tables.modulus

    def as_read(a):  # the float32 value the decision compares with
        return np.asarray(a).astype(np.float32).astype(np.float64)

    bound = m + engine.tables.term_bound() + np.abs(as_read(receiver.offset)) + 1
    limit = 0.5 - as_read(receiver.spread) - as_read(receiver.margin_levels) - FLAG_ROUNDING * bound
    limit = np.nan_to_num(limit, nan=-np.inf)  # a NaN device table flags every readout of its row
    down = limit.astype(np.float32)
    return np.where(down > limit, np.nextafter(down, np.float32(-np.inf)), down)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("modulus", "rows"))
def _tile_arm_errors(am, bm, eps_cols, *, modulus, rows):
    """A tile's E (C, M, N) for a flagged block's residues (:func:`_block_residues`): the lookup-sum on its own,
    chunk by chunk. (Fused with decisions that write arrays, XLA runs the gathers many times slower.)"""
    inputs = _tile_inputs(am, bm, eps_cols.shape[0], eps_cols, modulus, rows)
    return jax.lax.map(lambda tile: _chunk_levels(eps_cols, tile), inputs)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("moduli", "rows", "even"))
def _block_residues(exact, errors, receivers, thinning, *, moduli, rows, even):
    """Each tile's residues (C, M, N), int16, from its E (:func:`_tile_arm_errors`; None: uniform) and receiver map
    arrays, and which readouts to simulate: each one's distance bin (int16, THIN_BINS_PER_LEVEL bins a level,
    less the drift's), -1 for the others.

    ``thinning``, per tile: None (simulate every unproven readout) or (leave probabilities (R * THIN_BINS,) float64,
    the drift's bins (R,), seed, counter of the block's first readout, columns of the product) (:class:`_Thinning`):
    an unproven readout is simulated where its uniform (:func:`counter_uniforms`) falls below its bin's leave
    probability.
    """
    out = []
    for (r, unsafe, _, distance), thin in zip(_decide(exact, errors, receivers, moduli, rows, even), thinning):
        bins = jnp.clip(jnp.floor(jnp.nan_to_num(distance) * THIN_BINS_PER_LEVEL), 0, THIN_BINS - 1).astype(jnp.int32)
        pick = unsafe
        if thin is not None:
            leave, shift, seed, first, columns = thin
            cols = jnp.arange(exact.shape[2]) % rows
            bins = jnp.maximum(bins - shift[cols], 0)
            u = counter_uniforms(seed, first, columns, exact.shape[1:])
            pick = unsafe & (u < jnp.take(leave, cols * THIN_BINS + bins))
        out.append((r.astype(jnp.int16), jnp.where(pick, bins, -1).astype(jnp.int16)))
    return tuple(out)


def counter_uniforms(seed, first, columns, shape):
    """Uniforms in [0, 1) (float64, 53 bits) for readouts (M, N') of a product with ``columns`` columns, the first at
    counter ``first``: SplitMix64's output function of seed + counter * its golden gamma, the counter of readout
    (i, n) first + i * columns + n. Counter-based (as JAX's own generators are), so each readout's draw depends on
    its place in the product alone, not on how the engine cuts it into cells; cheaper than threefry on a CPU."""
    i = jnp.arange(shape[0], dtype=jnp.uint64)[:, None]
    n = jnp.arange(shape[1], dtype=jnp.uint64)[None, :]
    z = seed + (first + i * columns + n) * jnp.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> jnp.uint64(30))) * jnp.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> jnp.uint64(27))) * jnp.uint64(0x94D049BB133111EB)
    z = z ^ (z >> jnp.uint64(31))
    return (z >> jnp.uint64(11)).astype(jnp.float64) * 2.0**-53


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("moduli",))
def _exact_residues(exact, *, moduli):
    """S mod m (C, M, N), int16, for each modulus: what every proven readout reads (numpy's mod is several times
    slower, and a flagged block of a large product needs it for every tile)."""
    return tuple(float_mod(exact, m).astype(jnp.int16) for m in moduli)


@persistent_jit(sources=PROGRAM_SOURCES, static_argnames=("h", "per_group", "by_product", "moduli", "rows"))
def _small_product(am, bm, exp_a, exp_b, arguments, indices, *, h, per_group, by_product, moduli, rows):
    """A small product's exact chunk sums, its tiles' flag (:func:`_tiles_flagged`, with each tile's table
    indices given: :func:`read_small`) and its accumulation from the exact sums (:func:`mvm.digital.accumulate`),
    in one program: (flagged, C (M, N) float64)."""
    exact = exact_chunk_sums(am, bm, h=h)
    inputs = tuple(
        _tile_inputs(am, bm, h, eps, m, rows, index) for (eps, _, _), m, index in zip(arguments, moduli, indices)
    )
    flagged = _flags(exact, inputs, arguments, moduli, rows, bm.shape[1])
    values = jnp.pad(exact, ((0, (-exact.shape[0]) % per_group), (0, 0), (0, 0)))
    out = jnp.zeros((am.shape[0], bm.shape[1]), jnp.float64)
    return flagged, accumulate_groups(values, exp_a, exp_b, out, per_group=per_group, by_product=by_product)


def read_small(engine: ChipEngine, am, bm, exp_a, exp_b, *, h: int, per_group: int) -> np.ndarray | None:
    """C (M, N) of a small product (one block of at most ``SMALL_BLOCK`` readouts a tile) whose every readout is
    proven to read its exact residue, or None where one is not (the caller reads the block with
    :func:`read_block`, which flags the same readouts).

    Mantissas am (M, C*h), bm (C*h, N), BFP exponents exp_a (M, groups), exp_b (groups, N). One program
    (:func:`_small_product`) instead of the exact sums', the flags' and the accumulation's: a training step's
    products are small, and each program costs a fixed fraction of a millisecond on the CPU. The tiles' table
    indices are computed here, in numpy (:func:`table_index`): in the program, with no scan between them and
    the table's gather, XLA fuses them into it (a 32x64x128 product's program took 1.46 ms so, 0.95 ms with
    them passed in).
    """
    todo = [i for i in range(len(engine.tiles)) if not engine.proven[i]]
    arguments = tuple(engine.arguments(i) for i in todo)
    moduli = tuple(engine.tiles[i].tile.modulus for i in todo)
    rows = engine.tiles[0].tile.size
    _, ws = _chunks(np.asarray(am), np.asarray(bm), h)  # (C, h, N), as the program's scan inputs
    indices = tuple(
        None if eps is None else table_index(ws, m, rows, xp=np) for (eps, _, _), m in zip(arguments, moduli)
    )
    flagged, out = _small_product(
        am,
        bm,
        exp_a,
        exp_b,
        arguments,
        indices,
        h=h,
        per_group=per_group,
        by_product=scales_by_product(exp_a, exp_b),
        moduli=moduli,
        rows=rows,
    )
    return None if np.asarray(flagged).any() else np.asarray(out)  # numpy's any: jnp's costs an op's dispatch


def proven_exact(engine: TileEngine) -> bool:
    """Whether every readout of a uniform tile provably reads its exact residue, whatever the inputs.

    A uniform tile's arm phase is v = S mod m (E = 0 within the bound its margins
    carry), so its readouts have R * m distinct fields: one per row and exact
    residue. The receiver map decides each of them here, as :func:`_decide` does
    (float32, the same operations); where each is outside the margin and reads its
    own residue, no readout of the tile can be flagged and the per-readout pass
    would find nothing.
    """
    if not engine.tables.uniform:
        return False
    receiver, m, rows = engine.receiver, engine.tables.modulus, engine.tile.size
    v = np.broadcast_to(np.arange(m, dtype=np.float32)[:, None], (m, rows))
    cols = np.arange(rows)[None, :]
    if np.max(receiver.spread) <= EVEN_SPREAD_LEVELS:
        residue, distance = receiver.even_residues(v, cols, xp=np)
    else:
        residue, distance = receiver.residues(v, cols, xp=np)
    unsafe = distance <= receiver.margin_levels.astype(np.float32)[cols]
    return not bool(np.any(unsafe | (residue != v)))


def _decide(exact, errors, receivers, moduli, rows, even):
    """Per tile: (residue read (float32 integers), unsafe mask, exact residue (float32 integers), distance to the
    nearest boundary (levels, a lower bound))."""
    cols = jnp.arange(exact.shape[2]) % rows
    out = []
    for m, e, arrays, is_even in zip(moduli, errors, receivers, even):
        s = float_mod(exact, m)  # S mod m
        v = s if e is None else s + e
        receiver = ReceiverMap(m, *arrays)
        if is_even:
            residue, distance = receiver.even_residues(v, cols, xp=jnp)
        else:
            residue, distance = receiver.residues(v, cols[None, None, :], xp=jnp)
        out.append((residue, ~(distance > receiver.margin_levels[cols]), s, distance))  # NaN: unproven
    return out


@dataclass(frozen=True)
class ChipEngine:
    """Every tile's engine for one readout configuration: what :func:`read_chunks` and :func:`read_every_readout`
    need, built once per chip; what proving readouts needs is built when it is first read."""

    tiles: tuple[TileEngine, ...]

    @classmethod
    def of(cls, tiles, readout: Readout, skip_probability: float) -> ChipEngine:
        return cls(tuple(tile_engine(t, readout, skip_probability) for t in tiles))

    @functools.cached_property
    def even(self) -> tuple[bool, ...]:
        """Per tile: boundaries within EVEN_SPREAD_LEVELS of even (no lookups)."""
        return tuple(bool(np.max(t.receiver.spread) <= EVEN_SPREAD_LEVELS) for t in self.tiles)

    @functools.cached_property
    def proven(self) -> tuple[bool, ...]:
        """Per tile: every readout provably exact (:func:`proven_exact`)."""
        return tuple(proven_exact(t) for t in self.tiles)

    @functools.cached_property
    def limits(self) -> tuple:
        """Per tile: the flag pass's limits (:func:`flag_limits`) as a JAX array; None if not even."""
        return tuple(jax.device_put(flag_limits(t)) if e else None for t, e in zip(self.tiles, self.even))

    def arguments(self, i: int) -> tuple:
        """Tile i's device arrays for the per-tile programs: phase tables (None if uniform), receiver map, flag
        limits (None where the boundaries are not even)."""
        t = self.tiles[i]
        return (None if t.tables.uniform else t.tables.eps_cols), t.receiver.device_arrays, self.limits[i]


def read_block(
    engine: ChipEngine, am, bm, exact, readout: Readout, rng, drift_hz: float | None = None
) -> tuple[list | None, int]:
    """Residues of every tile (a list of (C, M, N)) for mantissas am (M, C*h), bm (C*h, N) with exact chunk sums
    (C, M, N), and how many readouts were simulated in full; None for the residues where every readout is
    proven to read its exact residue (then the CRT of what was read is the exact chunk sum).

    :func:`read_chunks`, with the chunks it did not read filled in with their exact residues.
    """
    read, simulated = read_chunks(engine, am, bm, exact, readout, rng, drift_hz)
    if read is None:
        return None, simulated
    chunks, residues = read
    full = [np.array(f) for f in _exact_residues(exact, moduli=tuple(t.tile.modulus for t in engine.tiles))]
    for f, r in zip(full, residues):
        f[chunks] = r
    return full, simulated


def read_chunks(
    engine: ChipEngine, am, bm, exact, readout: Readout, rng, drift_hz: float | None = None
) -> tuple[tuple | None, int]:
    """The chunks (k,) some readout of which read another residue than the exact one, and every tile's residues of
    those chunks (a list of (k, M, N)), for mantissas am (M, C*h), bm (C*h, N) with exact chunk sums (C, M, N); and
    how many readouts were simulated in full. Every readout of the other chunks reads its exact residue; None for
    the chunks and residues where every readout does. ``drift_hz``: the run's laser frequency offset; None draws
    one (where drift is on).

    Every readout's arm is solved from its tile's tables and read by the receiver
    map; the flagged cells (:data:`FLAG_COLUMNS` columns of a chunk) are read
    again by the decision, which picks the readouts within its margin to simulate
    (exact thinning: :func:`_read_cells`); those are simulated in full (noise, ADCs,
    atan2), tile by tile in the order (chunk, row of A, column of B), so that the
    draws depend on nothing but the inputs (not on the cells).
    """
    tiles = engine.tiles
    rows = tiles[0].tile.size
    if all(engine.proven):  # no readout can be flagged, whatever the inputs
        return None, 0
    am_j, bm_j = (jax.device_put(np.asarray(x, dtype=np.int32)) for x in (am, bm))

    moduli = tuple(t.tile.modulus for t in tiles)

    # tiles proven exact need no pass; the others' flags in one program
    todo = [i for i in range(len(tiles)) if not engine.proven[i]]
    flagged = _tiles_flagged(
        am_j,
        bm_j,
        exact,
        tuple(engine.arguments(i) for i in todo),
        moduli=tuple(moduli[i] for i in todo),
        rows=rows,
    )
    flagged = np.asarray(flagged)  # (C, tiles to do, N)
    if not flagged.any():
        return None, 0
    c_count, m_rows, n = exact.shape
    if drift_hz is None:  # the run's drift, one draw (the simulated readouts and the thinning share it)
        drift_hz = draw_drift_hz(readout, rng)
    seed = np.uint64(rng.integers(0, 2**63)) if readout.noise else None  # the thinning's uniforms (one draw)
    thinnings = {i: _Thinning.of(tiles[i], readout, drift_hz, seed) for i in todo}
    first_of = {i: i * c_count * m_rows * n for i in todo}  # each tile's readouts count on from its first
    # every readout of an unflagged cell reads S mod m, proven (the flags cover the decision's); the decision (E in
    # memory) reads each flagged cell again: the flagged columns' cell of FLAG_COLUMNS, whole tile passes wide, so
    # that its columns keep their rows. Sliced in numpy: a JAX slice compiles.
    width = -(-FLAG_COLUMNS // rows) * rows
    blocks = np.pad(flagged, ((0, 0), (0, 0), (0, -n % width))).reshape(flagged.shape[:2] + (-1, width)).any(-1)
    exact_np = np.asarray(exact)
    h = am.shape[1] // exact.shape[0]
    changed = [{} for _ in tiles]  # per tile: chunk -> [(first column, residues (M, cell columns))] unlike S mod m
    simulated = 0
    for col, i in enumerate(todo):
        eps, receiver, _ = engine.arguments(i)
        m = moduli[i]
        thinning = thinnings[i]
        cells = []
        for j, first, stop in _cells(blocks[:, col], width, n):
            ks, cs = slice(j * h, (j + 1) * h), slice(first, stop)
            x, w = am[:, ks].astype(np.int32), bm[ks, cs].astype(np.int32)
            e = None if eps is None else _tile_arm_errors(x, w, eps, modulus=m, rows=rows)
            thin = None if thinning is None else thinning.arguments(first_of[i] + j * m_rows * n + first, n)
            ((r, u),) = _block_residues(
                exact_np[j : j + 1, :, cs], (e,), (receiver,), (thin,), moduli=(m,), rows=rows, even=(engine.even[i],)
            )
            bins = np.asarray(u)[0]
            i_idx, n_idx = np.nonzero(bins >= 0)
            cells.append(_Cell(j, first, np.array(r)[0], i_idx, n_idx + first, bins[i_idx, n_idx]))
        if any(len(c.rows) for c in cells):
            ball = thinning is not None
            simulated += _read_cells(tiles[i], cells, am, bm, h, m_rows, readout, rng, drift_hz, ball)
        for c in cells:
            if np.any(c.residues != float_mod(exact_np[c.chunk, :, c.first : c.first + c.residues.shape[1]], m, xp=np)):
                changed[i].setdefault(c.chunk, []).append((c.first, c.residues))
    chunks = np.array(sorted(set().union(*changed)), dtype=np.intp)
    if not len(chunks):
        return None, simulated
    residues = [np.empty((len(chunks),) + exact_np.shape[1:], np.int16) for _ in moduli]
    for r_tile, m, cells_of in zip(residues, moduli, changed):
        for k, j in enumerate(chunks):
            mine = cells_of.get(j, [])
            if sum(r.shape[1] for _, r in mine) < n:  # columns no cell of the chunk read: S mod m
                r_tile[k] = float_mod(exact_np[j], m, xp=np)
            for first, r in mine:
                r_tile[k, :, first : first + r.shape[1]] = r
    return (chunks, residues), simulated


class _Cell(NamedTuple):
    """A flagged cell of one chunk and tile, read again by the decision (:func:`read_chunks`)."""

    chunk: int
    first: int  # its first column
    residues: np.ndarray  # (M, its columns): what the decision read, then its simulated readouts
    rows: np.ndarray  # its unproven readouts' rows of A ...
    columns: np.ndarray  # ... and columns of B, in (row, column) order
    bins: np.ndarray  # ... and their distance bins (:func:`_block_residues`)


def _read_order(c_idx, i_idx, m_rows: int) -> np.ndarray | None:
    """The permutation that puts readouts gathered cell by cell (chunk by chunk, a chunk's cells in column order, each
    cell's readouts in (row, column) order) in (chunk, row, column) order; None where they are in it already (each
    chunk one cell). A stable sort on (chunk, row) keeps each row's columns in order: it merges the cells' runs."""
    key = c_idx * m_rows + i_idx
    return np.argsort(key, kind="stable") if np.any(key[1:] < key[:-1]) else None


def _cells(blocks: np.ndarray, width: int, n: int):
    """(chunk, first column, stop) of each cell to read again, chunk by chunk in column order, from the flagged
    blocks (C, blocks) of ``width`` columns: each run of neighbouring flagged blocks one cell (a chunk flagged
    throughout, one cell of all its columns)."""
    for j, row in enumerate(blocks):
        edges = np.flatnonzero(np.diff(np.concatenate([[False], row, [False]]).astype(np.int8)))
        for start, stop in zip(edges[::2], edges[1::2]):
            yield j, start * width, min(n, stop * width)


def read_every_readout(
    engine: ChipEngine, am, bm, exact, readout: Readout, rng, drift_hz: float | None = None
) -> tuple[tuple, int]:
    """:func:`read_chunks` without proving any readout: every readout of every chunk simulated in full (float64
    arm transmissions from the tables, noise, ADCs, atan2), tile by tile; returns every chunk, their residues, and how many.

    It builds no receiver map. For a product or two on a chip that runs nothing else (a Monte Carlo chip's), that
    is the cheaper way: a default tile's map costs about as much as simulating 8,000 of its readouts.
    """
    shape = np.shape(exact)  # (C, M, N)
    every = np.unravel_index(np.arange(int(np.prod(shape))), shape)  # (chunk, row, column), in that order
    if drift_hz is None:  # the run's drift, one draw for every batch
        drift_hz = draw_drift_hz(readout, rng)
    residues, simulated = [], 0
    for tile in engine.tiles:
        m = tile.tile.modulus
        residues.append(_simulate(tile, np.mod(am, m), np.mod(bm, m), every, readout, rng, drift_hz).reshape(shape))
        simulated += residues[-1].size
    return (np.arange(shape[0]), residues), simulated


@dataclass(frozen=True)
class _Thinning:
    """What the decision pass needs to pick a tile's readouts to simulate (:func:`_block_residues`)."""

    leave: jax.Array  # (R * THIN_BINS,) float64: the probability of leaving each of the map's balls, flat
    shift: jax.Array  # (R,) int32: bins the run's drift takes off each row's distances
    seed: np.uint64

    @classmethod
    def of(cls, engine: TileEngine, readout: Readout, drift_hz, seed) -> _Thinning | None:
        """None where every unproven readout is simulated: no balls (noise off, rings). ``drift_hz``: the run's (None
        with drift off)."""
        receiver = engine.receiver
        if receiver.leave_radius is None:
            return None
        size, m = engine.tile.size, engine.tile.modulus
        levels = np.abs((drift_hz or 0.0) * np.broadcast_to(engine.receivers.delay_mismatch_s, (size,))) * m
        shift = np.ceil(levels * THIN_BINS_PER_LEVEL).astype(np.int32)  # drift_hz * delay * m levels a row
        leave = NoiseBall(receiver.leave_radius, receiver.rin_sigmas).leave_probability(readout)  # (R, THIN_BINS)
        return cls(jax.device_put(leave.reshape(-1)), jax.device_put(shift), seed)

    def arguments(self, first: int, columns: int) -> tuple:
        return self.leave, self.shift, self.seed, np.uint64(first), np.uint64(columns)


def _read_cells(engine: TileEngine, cells, am, bm, h: int, m_rows: int, readout: Readout, rng, drift_hz, ball) -> int:
    """Simulate the readouts of a tile's flagged ``cells`` that the decision picked into their residues, in (chunk,
    row, column) order (so that the draws depend on nothing but the inputs, not on the cells); returns how many.

    With ``ball`` (exact thinning), each was picked with the probability that its noise leaves the ball its
    distance allows (:attr:`mvm.receiver.ReceiverMap.leave_radius`) and is simulated with its draws
    conditioned on leaving (:class:`circuits.readout.NoiseBall`); the others keep the noiseless residue the
    decision read. The residues have the law of simulating every unproven readout, and a readout a few sigma from
    its boundary is almost never simulated. Without, every unproven readout was picked and is simulated as drawn.
    """
    c_idx = np.concatenate([np.full(len(c.rows), c.chunk) for c in cells])
    i_idx = np.concatenate([c.rows for c in cells])
    n_idx = np.concatenate([c.columns for c in cells])
    bins = np.concatenate([c.bins for c in cells])
    order = _read_order(c_idx, i_idx, m_rows)
    if order is not None:
        c_idx, i_idx, n_idx, bins = (a[order] for a in (c_idx, i_idx, n_idx, bins))
    m = engine.tile.modulus
    outside = engine.receiver.noise_ball(n_idx % engine.tile.size, bins) if ball else None
    used = np.unique(c_idx)  # only the chunks that hold them: their columns of am, rows of bm
    ks = (used[:, None] * h + np.arange(h)).reshape(-1)
    at = (np.searchsorted(used, c_idx), i_idx, n_idx)
    got = _simulate(engine, np.mod(am[:, ks], m), np.mod(bm[ks], m), at, readout, rng, drift_hz, outside)
    if order is not None:  # back in the cells' order
        got[order] = got.copy()
    stop = 0
    for c in cells:
        c.residues[c.rows, c.columns - c.first] = got[stop : stop + len(c.rows)]
        stop += len(c.rows)
    return len(c_idx)


def _simulate(engine: TileEngine, x, w, at, readout: Readout, rng, drift_hz, outside=None) -> np.ndarray:
    """The residues (int16) of one tile's readouts ``at`` (index arrays: chunk of x and w, row of A, column of B),
    simulated in full in that order: exact float64 arm transmissions, then read. x (M, C*h) and w (C*h, N):
    residues of the C chunks the readouts read (the callers pass those chunks only). ``outside``: their noise
    drawn conditioned on leaving these balls (:class:`circuits.readout.NoiseBall`, one per readout)."""
    tile, h = engine.tile, engine.tile.h
    c_idx, i_idx, n_idx = at
    rows = n_idx % tile.size
    m_count, n_count = x.shape[0], w.shape[1]
    chunks = x.shape[1] // h
    # each readout's h residues as one contiguous row: x's (C * M, h) and w's (C * N, h), gathered by row
    dtype = residue_dtype(h, tile.modulus)
    x_rows = np.ascontiguousarray(x.reshape(m_count, chunks, h).transpose(1, 0, 2), dtype).reshape(-1, h)
    w_rows = np.ascontiguousarray(w.reshape(chunks, h, n_count).transpose(0, 2, 1), dtype).reshape(-1, h)
    out = np.empty(len(c_idx), np.int16)
    for start in range(0, len(c_idx), EXACT_BATCH):
        sl = slice(start, start + EXACT_BATCH)
        xs = np.take(x_rows, c_idx[sl] * m_count + i_idx[sl], axis=0)
        ws = np.take(w_rows, c_idx[sl] * n_count + n_idx[sl], axis=0)
        arm = engine.tables.arm_transmission(rows[sl], xs, ws)
        # drive noise from the design's slopes, the same for every row of the tile (CompiledMdpu.drive_variance_table)
        drive = drive_phase_sigma_rad(tile.rows[0], xs, ws, readout)
        receivers = engine.receivers.take(rows[sl])
        ball = None if outside is None else NoiseBall(outside.radius[sl], outside.rin_sigmas)
        out[sl] = read_arms(
            receivers, arm, readout, rng, drive_sigma_rad=drive, drift_hz=drift_hz, outside=ball
        ).residue
    return out
