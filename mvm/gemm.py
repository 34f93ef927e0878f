"""RNS-BFP GEMM through the simulated tiles: C, report = rns_gemm(A, B, chip).

1. BFP: A's rows and B's columns are quantised in groups of ``group`` along K.
2. Residues of the integer mantissas for every modulus (info and redundant).
3. Tile passes: K is cut into chunks of h; weights are stationary, so column n
   of B sits on MDPU row n mod R of each modulus's tile, and element k on MMU
   k mod h; each (chunk, row of A, column of B) is one photonic readout.
4. Readout of every chunk's phase to a residue (:func:`read_chunk_residues`).
5. Redundant-RNS correction (optional) and CRT back to signed chunk sums.
6. Chunk sums of a BFP group are added as integers and scaled by the group's
   exponents; groups are accumulated in order in float64.

Tiles of Pockels segments with an ideal hybrid take the fast path of
:mod:`mvm.fastpath`: a readout's residue is (S + rint(E)) mod m with S the
exact chunk sum and E the device error, read directly wherever noise and ADC
error provably cannot move it across a decision boundary (probability below
``noise.skip_probability``, 1e-15 by default). Every other readout is simulated
in full: fields, RIN, shot and TIA noise, laser phase noise, drive noise, ADCs,
atan2 (the margin covers the laser's and the drive's phase noise too, see
:meth:`ModulusTile.safe_margin_rad`; one laser frequency drift is drawn per
product, common to every tile). Tiles without that
structure (ring-assisted elements) take the exact gather path through their
compiled tables, every readout in full; so do Pockels tiles whose encoding's
phase does not factorise into x-terms (digital-product), unless the error
bound proves every readout exact.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import jax.numpy as jnp
import numpy as np

from circuits.readout import Readout, drive_phase_sigma_rad, read
from mvm import bfp
from mvm.config import ChipConfig
from mvm.fastpath import (
    TABLE_CRT_LIMIT,
    accumulate,
    crt_table,
    deviation_weights,
    error_levels,
    exact_chunk_sums,
    float32_slack_levels,
    table_crt,
    tile_error_bound,
    x_terms,
)
from mvm.rns import RedundantRns, from_residues, to_residues
from mvm.tile import ModulusTile, build_tile
from photonics.errors import UsageError

BLOCK_READOUTS = 1 << 21  # readouts per modulus per block: small enough to stay in cache


@dataclass(frozen=True)
class Chip:
    """A configuration and its built tiles, one per modulus (info moduli, then redundant)."""

    config: ChipConfig
    tiles: tuple[ModulusTile, ...]

    @property
    def moduli(self) -> tuple[int, ...]:
        return tuple(t.modulus for t in self.tiles)


def build_chip(config: ChipConfig) -> Chip:
    """The ideal chip of a configuration."""
    return Chip(config, tuple(build_tile(config.mdpu_design(m), config.tile.rows) for m in config.all_moduli))


@dataclass
class GemmReport:
    m: int
    k: int
    n: int
    moduli: tuple[int, ...]
    noise: bool
    readouts: int = 0  # photonic readouts, all moduli
    simulated_readouts: int = 0  # readouts simulated in full (the rest were provably correct)
    residue_errors: int = 0  # read residue != exact residue
    detected: int = 0  # chunk results flagged by redundant RNS
    corrected: int = 0
    uncorrected: int = 0
    chunk_errors: int = 0  # chunk sums that came out wrong after decoding
    tile_passes: int = 0  # weight loads: chunks x column blocks x moduli
    seconds: float = 0.0
    seconds_by_stage: dict = field(default_factory=dict)

    @property
    def residue_error_rate(self) -> float:
        return self.residue_errors / self.readouts if self.readouts else 0.0

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    @property
    def macs_per_second(self) -> float:
        return self.macs / self.seconds if self.seconds else float("inf")

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(residue_error_rate=self.residue_error_rate, macs=self.macs, macs_per_second=self.macs_per_second)
        return d


def check_operands(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 2 or b.ndim != 2:
        raise UsageError(f"A and B must be 2-D matrices (got shapes {a.shape} and {b.shape})")
    if a.shape[1] != b.shape[0]:
        raise UsageError(f"shapes do not match: A is {a.shape[0]} x {a.shape[1]}, B is {b.shape[0]} x {b.shape[1]}")
    if 0 in a.shape or 0 in b.shape:
        raise UsageError(f"A and B must not be empty (got shapes {a.shape} and {b.shape})")
    for name, x in (("A", a), ("B", b)):
        if not np.all(np.isfinite(x)):
            raise UsageError(f"{name} must be finite (found NaN or inf)")
    return a, b


def chunk_dot(x: np.ndarray, w: np.ndarray, h: int) -> np.ndarray:
    """(chunks, M, N) dot products of each h-chunk of x (M, K) with w (K, N); K a multiple of h."""
    m_rows, k = x.shape
    c = k // h
    return np.matmul(x.reshape(m_rows, c, h).transpose(1, 0, 2), w.reshape(c, h, -1))


def _simulate(tile: ModulusTile, r: int, psi: np.ndarray, readout: Readout, rng, drive, drift_hz) -> np.ndarray:
    """Full readout of row r for read phases psi: fields, noise, ADCs, atan2, nearest residue."""
    row = tile.rows[r]
    arm = tile.arm_amplitude[r] * np.exp(1j * (psi - np.angle(tile.iq_gain[r])))
    fields = row.lo_to_det + (row.arm_to_det * row.src_to_arm) * arm[:, None]
    return read(row, fields, readout, rng, drive_sigma_rad=drive, drift_hz=drift_hz).residue


@dataclass(frozen=True)
class FastPlan:
    """What the fast path needs of a tile for one GEMM: its margins and whether it is provably exact."""

    margin_levels: np.ndarray  # (R,) decision margin incl. noise, ADC and float32 slack
    proven: bool  # every readout of every row reads exact mod m


def fast_plan(tile: ModulusTile, readout: Readout, skip_probability: float) -> FastPlan:
    m = tile.modulus
    terms = tile.mmu.terms_per_mac
    bound = tile_error_bound(tile)
    margin = tile.safe_margin_rad(readout, skip_probability) * (m / (2 * np.pi))
    margin = margin + float32_slack_levels(tile.h, m, terms, float(bound.max()))
    return FastPlan(margin, bool(np.all(bound + margin < 0.5)))


def _fast_residues(tile, plan: FastPlan, x, w, exact, readout, rng, drift_hz=None):
    """Residues (C, M, N) on the fast path, or None when every readout provably reads S mod m."""
    if plan.proven:
        return None, 0
    h, m = tile.h, tile.modulus
    weights, offset, terms = deviation_weights(tile, w)
    rows = np.arange(w.shape[1]) % tile.size
    xt = x_terms(x, tile.mmu)
    residue, unsafe, count = error_levels(xt, weights, offset, exact, plan.margin_levels[rows], h=h, modulus=m)
    if int(count) == 0:
        return residue, 0
    residue = np.array(residue)
    c, i, n = idx = np.nonzero(np.asarray(unsafe))
    per = h * terms
    k = c[:, None] * per + np.arange(per)
    error = offset[n] + (xt[i[:, None], k] * weights[k, n[:, None]]).sum(-1)
    psi = (np.asarray(exact)[idx] + error) * (2 * np.pi / m)
    chunk = c[:, None] * h + np.arange(h)  # the unsafe readouts' residues, for their drive noise
    for r in np.unique(rows[n]):
        sel = rows[n] == r
        drive = drive_phase_sigma_rad(tile.rows[r], x[i[sel, None], chunk[sel]], w[chunk[sel], n[sel, None]], readout)
        residue[tuple(ix[sel] for ix in idx)] = _simulate(tile, r, psi[sel], readout, rng, drive, drift_hz)
    return residue, len(c)


def _gather_residues(tile, x, w, readout, rng, drift_hz=None):
    """Residues (C, M, N) through each row's compiled tables, every readout in full."""
    h, n = tile.h, w.shape[1]
    rows = np.arange(n) % tile.size
    chunks = x.shape[1] // h
    xs = x.reshape(x.shape[0], chunks, h).transpose(1, 0, 2)  # (C, M, h)
    ws = w.reshape(chunks, h, n)  # (C, h, N)
    residue = np.empty((chunks, x.shape[0], n), dtype=np.int64)
    for r in range(tile.size):
        cols = np.nonzero(rows == r)[0]
        if len(cols) == 0:
            continue
        xr = np.broadcast_to(xs[:, :, None, :], (chunks, x.shape[0], len(cols), h))
        wr = np.broadcast_to(ws[:, :, cols].transpose(0, 2, 1)[:, None, :, :], xr.shape)
        row = tile.rows[r]
        drive = drive_phase_sigma_rad(row, xr, wr, readout)
        fields = row.detector_fields(xr, wr)
        residue[:, :, cols] = read(row, fields, readout, rng, drive_sigma_rad=drive, drift_hz=drift_hz).residue
    return residue, residue.size


def read_chunk_residues(
    tile: ModulusTile, plan: FastPlan | None, x, w, exact, readout: Readout, rng, drift_hz: float | None = None
):
    """Residues (chunks, M, N) read for residues x (M, Kb) and w (Kb, N), and how many were simulated in full.

    ``exact`` holds the exact chunk sums (C, M, N); ``plan`` is the tile's
    :func:`fast_plan`, or None for tiles without the fast path's structure.
    A tile whose encoding does not factorise (:attr:`MmuDesign.factorises`)
    uses its plan only to skip a provably exact tile, else gathers.
    ``drift_hz``: the laser's frequency offset for this product (None: off).
    Returns None for the residues when every readout provably reads exact mod m.
    """
    if plan is not None and (plan.proven or tile.mmu.factorises):
        return _fast_residues(tile, plan, x, w, exact, readout, rng, drift_hz)
    return _gather_residues(tile, x, w, readout, rng, drift_hz)


def _decode(residues, exact, info, rrns, report):
    """Signed chunk sums (C, M, N) from the read residues; counts errors into the report."""
    if all(r is None for r in residues):
        return exact  # every readout provably read exact mod m, and the plan keeps |exact| < M/2
    exact = exact.astype(jnp.int32)
    moduli = info + (rrns.redundant_moduli if rrns else ())
    stacked = [np.mod(np.asarray(exact), m) if r is None else r for r, m in zip(residues, moduli)]
    if rrns is None and int(np.prod(info)) <= TABLE_CRT_LIMIT:
        values, residue_errors, chunk_errors = table_crt(
            jnp.stack([jnp.asarray(r, dtype=jnp.int16) for r in stacked]), crt_table(info), exact, moduli=info
        )
        report.residue_errors += int(np.sum(residue_errors))
        report.chunk_errors += int(chunk_errors)
        return values
    exact = np.asarray(exact).astype(np.int64)
    stacked = np.stack([np.asarray(r) for r in stacked]).astype(np.int64)
    report.residue_errors += sum(int(np.count_nonzero(r != np.mod(exact, m))) for r, m in zip(stacked, moduli))
    if rrns is None:
        values = from_residues(stacked, info)
    else:
        decoded = rrns.decode(stacked)
        values = decoded.values
        report.detected += decoded.detected_count
        report.corrected += decoded.corrected_count
        report.uncorrected += decoded.uncorrected_count
    report.chunk_errors += int(np.count_nonzero(values != exact))
    return values.astype(np.int32)


def rns_gemm(
    a, b, chip: Chip, *, noise: bool | None = None, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, GemmReport]:
    """C ~ A @ B computed through the simulated photonic tiles, and a report of what happened."""
    start = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - since
        return now

    a, b = check_operands(a, b)
    cfg = chip.config
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    readout = cfg.readout(noise)
    h, g, bits = cfg.tile.h, cfg.group, cfg.bfp.mantissa_bits
    m_rows, k = a.shape
    n = b.shape[1]
    report = GemmReport(m_rows, k, n, chip.moduli, readout.noise)

    t = time.perf_counter()
    qa = bfp.quantize(a, bits=bits, group=g, axis=1, rounding=cfg.bfp.rounding, rng=rng)
    qb = bfp.quantize(b, bits=bits, group=g, axis=0, rounding=cfg.bfp.rounding, rng=rng)
    chunks = -(-k // h)
    pad = chunks * h - k
    am = np.pad(qa.mantissas, ((0, 0), (0, pad)))
    bm = np.pad(qb.mantissas, ((0, pad), (0, 0)))
    t = lap("bfp", t)

    info = tuple(cfg.rns.moduli)
    rrns = RedundantRns(info, tuple(cfg.rns.redundant_moduli)) if cfg.rns.redundant_moduli else None
    per_group = g // h
    block = max(per_group, (BLOCK_READOUTS // max(1, m_rows * n)) // per_group * per_group)
    exp_a, exp_b = qa.exponents.astype(np.int32), qb.exponents.astype(np.int32)
    plans = [
        fast_plan(tile, readout, cfg.noise.skip_probability) if tile.linear and tile.ideal_hybrid else None
        for tile in chip.tiles
    ]
    drift_mhz = readout.laser.frequency_drift_mhz_rms
    drift_hz = drift_mhz * 1e6 * rng.standard_normal() if readout.noise and drift_mhz > 0 else None
    out = jnp.zeros((m_rows, n))
    for c0 in range(0, chunks, block):
        c1 = min(chunks, c0 + block)
        ks = slice(c0 * h, c1 * h)
        exact = exact_chunk_sums(
            am[:, ks].reshape(m_rows, c1 - c0, h).transpose(1, 0, 2), bm[ks].reshape(c1 - c0, h, n)
        )
        t = lap("exact chunk sums", t)
        residues = []
        for tile, plan in zip(chip.tiles, plans):
            if plan is not None and plan.proven:
                residues.append(None)  # every readout provably reads exact mod m: nothing to compute
                continue
            x, w = (to_residues(v, (tile.modulus,))[0] for v in (am[:, ks], bm[ks]))
            got, simulated = read_chunk_residues(tile, plan, x, w, exact, readout, rng, drift_hz)
            report.simulated_readouts += simulated
            residues.append(got)
        report.readouts += len(chip.tiles) * (c1 - c0) * m_rows * n
        t = lap("photonic tile passes", t)
        values = _decode(residues, exact, info, rrns, report)
        t = lap("CRT and correction", t)
        pad_chunks = (-(c1 - c0)) % per_group
        if pad_chunks:
            values = jnp.pad(jnp.asarray(values), ((0, pad_chunks), (0, 0), (0, 0)))
        groups = slice(c0 // per_group, -(-c1 // per_group))
        out = accumulate(values, exp_a[:, groups], exp_b[groups], out, per_group=per_group)
        t = lap("rescale and accumulate", t)
    out = np.asarray(out)
    report.tile_passes = chunks * -(-n // cfg.tile.rows) * len(chip.tiles)
    report.seconds = time.perf_counter() - start
    report.seconds_by_stage = stages
    return out, report
