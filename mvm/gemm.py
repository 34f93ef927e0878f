"""RNS-BFP GEMM through the simulated tiles: C, report = rns_gemm(A, B, chip).

The driver is a sequence of stages, each in its own module, data flowing one way:

1. quantise (:mod:`mvm.bfp`): A's rows and B's columns in groups of ``group`` along K.
2. exact chunk sums (:func:`mvm.digital.exact_chunk_sums`) of the integer mantissas,
   which the error counts are taken against; each stage that reads a modulus takes
   the mantissas' residues itself.
3. engine and receiver (:mod:`mvm.engine`): K is cut into chunks of h; weights
   are stationary, so column n of B sits on MDPU row n mod R of each modulus's
   tile, and element k on MMU k mod h; each (chunk, row of A, column of B) is
   one photonic readout. Every readout's arm is solved from the tile's device
   tables; the receiver reads it, in full (noise, ADCs, atan2) wherever noise
   could change its residue. One laser frequency drift is drawn per product,
   common to every tile.
4. decode (:mod:`mvm.digital`): redundant-RNS correction (optional) and CRT back
   to signed chunk sums.
5. accumulate (:mod:`mvm.digital`): chunk sums of a BFP group are added as
   integers and scaled by the group's exponents; groups in order in float64.

``path="full"`` proves no readout: the engine's fields of every readout, each
simulated in full (no receiver map to build: for a product or two on a chip, as a
Monte Carlo chip runs, the cheaper way). ``path="reference"`` reads every readout
through the compiled gather path (:mod:`mvm.gather`) instead: the slow reference
the engine is tested against.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from circuits.readout import draw_drift_hz
from mvm import bfp
from mvm.config import ChipConfig
from mvm.digital import accumulate, decode_read, exact_chunk_sums
from mvm.engine import SMALL_BLOCK, ChipEngine, read_chunks, read_every_readout, read_small
from mvm.gather import read_block_gathered
from mvm.rns import RedundantRns
from mvm.tile import ModulusTile, build_tile
from photonics.errors import UsageError
from photonics.jax_setup import compile_timer, prefetch, preloading

BLOCK_READOUTS = 1 << 22  # readouts per modulus per block: large enough to amortise each block's programs


def _read_every_chunk(tiles, am, bm, exact, readout, rng, drift_hz=None):
    """The reference reader (:func:`mvm.gather.read_block_gathered`) in :func:`mvm.engine.read_chunks`'s form:
    every chunk read."""
    residues, simulated = read_block_gathered(tiles, am, bm, exact, readout, rng, drift_hz)
    return (np.arange(len(exact)), residues), simulated


# What a chip's tiles are prepared as, once per chip and readout (paths that read the same preparation share it).
PREPARATIONS = {
    "engine": ChipEngine.of,
    "compiled rows": lambda tiles, readout, skip_probability: tiles,
}
# How readouts are computed: a preparation of the chip's tiles, then the reader of a block of chunks, which returns
# None (every readout proven exact) or (the chunks it read, their residues), and how many readouts it simulated.
READ_PATHS = {
    "engine": ("engine", read_chunks),
    "full": ("engine", read_every_readout),
    "reference": ("compiled rows", _read_every_chunk),
}


@dataclass(frozen=True)
class Chip:
    """A configuration and its built tiles, one per modulus (info moduli, then redundant)."""

    config: ChipConfig
    tiles: tuple[ModulusTile, ...]
    prepared: dict = field(default_factory=dict, compare=False, repr=False)  # (preparation, readout, p) -> tiles

    def prepare(self, path: str, readout, skip_probability: float) -> tuple:
        """The tiles prepared for a read path and readout (built once per chip, shared by the paths that read the
        same preparation)."""
        key = (READ_PATHS[path][0], readout, skip_probability)
        if key not in self.prepared:
            self.prepared[key] = PREPARATIONS[key[0]](self.tiles, readout, skip_probability)
        return self.prepared[key]

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
    path: str = "engine"
    readouts: int = 0  # photonic readouts, all moduli
    deterministic_readouts: int = 0  # readouts whose fields were computed from the devices
    simulated_readouts: int = 0  # readouts simulated in full: noise, ADCs, atan2 (the rest provably read the same)
    residue_errors: int = 0  # read residue != exact residue
    detected: int = 0  # chunk results flagged by redundant RNS
    corrected: int = 0
    uncorrected: int = 0
    chunk_errors: int = 0  # chunk sums that came out wrong after decoding
    tile_passes: int = 0  # weight loads: chunks x column blocks x moduli
    seconds: float = 0.0
    compile_seconds: float = 0.0  # part of seconds spent compiling (JAX)
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


def gemm_task(config: ChipConfig, shape: tuple[int, int, int], noise: bool | None, path: str = "engine") -> str:
    """What decides the programs of a product of ``shape`` (M, K, N) on a chip of ``config``: the task under which
    :func:`rns_gemm` lists them for the next process (:func:`photonics.jax_setup.preloading`)."""
    m_rows, k, n = shape
    tile = f"h={config.tile.h} rows={config.tile.rows} group={config.group}"
    return f"mvm.gemm.rns_gemm {path} {m_rows}x{k}x{n} {tuple(config.all_moduli)} {tile} {config.readout(noise)}"


def prefetch_gemm(config: ChipConfig, shape: tuple[int, int, int], noise: bool | None, path: str = "engine") -> None:
    """Start loading the programs of a product that will run later in this process (:func:`gemm_task`), in the
    background: for a caller with work to do first, as ``mirage gemm`` samples and calibrates its chip."""
    prefetch(gemm_task(config, shape, noise, path))


def rns_gemm(
    a, b, chip: Chip, *, noise: bool | None = None, seed: int | np.random.Generator = 0, path: str = "engine"
) -> tuple[np.ndarray, GemmReport]:
    """C ~ A @ B computed through the simulated photonic tiles, and a report of what happened.

    ``path``: how readouts are computed, one of READ_PATHS (engine: the fast
    engine, proving what it can; full: the engine's fields, every readout
    simulated in full; reference: the compiled gather path, every readout in full).
    """
    start = time.perf_counter()
    compiled = compile_timer.start()  # JAX compilation inside the product (cache loads included)
    if path not in READ_PATHS:
        raise UsageError(f"path must be one of {', '.join(READ_PATHS)} (got {path!r})")
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
    report = GemmReport(m_rows, k, n, chip.moduli, readout.noise, path)
    counts = dict.fromkeys(("residue_errors", "chunk_errors", "detected", "corrected", "uncorrected"), 0)

    # the programs this product runs load in the background while its operands are quantised and tiles prepared
    with preloading(gemm_task(cfg, (m_rows, k, n), noise, path)):
        t = time.perf_counter()
        qa = bfp.quantize(a, bits=bits, group=g, axis=1, rounding=cfg.bfp.rounding, rng=rng)
        qb = bfp.quantize(b, bits=bits, group=g, axis=0, rounding=cfg.bfp.rounding, rng=rng)
        chunks = -(-k // h)
        pad = chunks * h - k
        am = np.pad(qa.mantissas, ((0, 0), (0, pad))) if pad else qa.mantissas
        bm = np.pad(qb.mantissas, ((0, pad), (0, 0))) if pad else qb.mantissas
        t = lap("quantise", t)

        info = tuple(cfg.rns.moduli)
        rrns = RedundantRns(info, tuple(cfg.rns.redundant_moduli)) if cfg.rns.redundant_moduli else None
        per_group = g // h
        block = max(per_group, (BLOCK_READOUTS // max(1, m_rows * n)) // per_group * per_group)
        exp_a, exp_b = qa.exponents.astype(np.int32), qb.exponents.astype(np.int32)
        prepared = chip.prepare(path, readout, cfg.noise.skip_probability)
        reader = READ_PATHS[path][1]
        drift_hz = draw_drift_hz(readout, rng)
        t = lap("prepare tiles", t)
        out = np.zeros((m_rows, n))
        blocks = range(0, chunks, block)
        if path == "engine" and chunks * m_rows * n <= SMALL_BLOCK:  # one small block: its stages in one program
            small = read_small(prepared, am, bm, exp_a, exp_b, h=h, per_group=per_group)
            t = lap("engine and receiver", t)
            if small is not None:  # every readout proven to read its exact residue: C from the exact chunk sums
                out, blocks = small, ()
                report.readouts = report.deterministic_readouts = len(chip.tiles) * chunks * m_rows * n
        for c0 in blocks:
            c1 = min(chunks, c0 + block)
            ks = slice(c0 * h, c1 * h)
            exact = exact_chunk_sums(am[:, ks], bm[ks], h=h)
            t = lap("residues", t)
            residues, simulated = reader(prepared, am[:, ks], bm[ks], exact, readout, rng, drift_hz)
            report.simulated_readouts += simulated
            readouts = len(chip.tiles) * (c1 - c0) * m_rows * n
            report.readouts += readouts
            report.deterministic_readouts += readouts
            t = lap("engine and receiver", t)
            values = decode_read(residues, exact, info, rrns, counts)
            t = lap("decode", t)
            pad_chunks = (-(c1 - c0)) % per_group
            if pad_chunks:
                values = np.pad(np.asarray(values), ((0, pad_chunks), (0, 0), (0, 0)))
            groups = slice(c0 // per_group, -(-c1 // per_group))
            out = accumulate(values, exp_a[:, groups], exp_b[groups], out, per_group=per_group)
            t = lap("accumulate", t)
    out = np.asarray(out)
    for name, value in counts.items():
        setattr(report, name, value)
    report.tile_passes = chunks * -(-n // cfg.tile.rows) * len(chip.tiles)
    report.seconds = time.perf_counter() - start
    report.compile_seconds = compiled.stop()
    report.seconds_by_stage = stages
    return out, report
