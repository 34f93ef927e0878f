"""`mirage gemm`: a float matrix product through the simulated photonic tiles, with its error report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photonics.errors import UsageError, check_fits


def gemm_bytes(m: int, k: int, n: int) -> int:
    """Peak bytes of an M x K by K x N product through the tiles, readouts blocked.

    A and B with their BFP mantissas, padded copies and residues (about six
    8-byte copies each), the float64 reference and the product with its
    accumulator (about four 8-byte M x N arrays).
    """
    return 8 * (6 * (m * k + k * n) + 4 * m * n)


def load_matrix(path: str, name: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{name}: cannot read {path} as a .npy array ({exc})") from None
    if array.dtype.kind not in "biuf":
        raise UsageError(f"{name}: {path} must hold real numbers (got dtype {array.dtype})")
    return array


def operands(args) -> tuple[np.ndarray, np.ndarray]:
    """A and B from --a/--b files, or random normal matrices of --m x --k and --k x --n."""
    if (args.a is None) != (args.b is None):
        raise UsageError("--a and --b go together")
    if args.a is not None:
        return load_matrix(args.a, "--a"), load_matrix(args.b, "--b")
    for flag, value in (("--m", args.m), ("--k", args.k), ("--n", args.n)):
        if value is None or value < 1:
            raise UsageError(f"{flag} must be a positive integer (got {value}); or give --a and --b")
    check_fits(gemm_bytes(args.m, args.k, args.n), f"--m {args.m} --k {args.k} --n {args.n}: the operands and product")
    rng = np.random.default_rng(args.seed)
    return rng.standard_normal((args.m, args.k)), rng.standard_normal((args.k, args.n))


def run(chip, a: np.ndarray, b: np.ndarray, noise: bool, seed: int) -> tuple[np.ndarray, dict]:
    """C through the chip and the command's report, for operands already checked (:func:`mvm.gemm.check_operands`:
    float64 matrices of matching shapes)."""
    from mvm import bfp
    from mvm.gemm import rns_gemm
    from mvm.reference import bfp_matmul_reference

    c, report = rns_gemm(a, b, chip, noise=noise, seed=seed)
    cfg = chip.config
    exact = a @ b
    norm = np.linalg.norm(exact) or 1.0
    qa = bfp.quantize(a, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=1)
    qb = bfp.quantize(b, bits=cfg.bfp.mantissa_bits, group=cfg.group, axis=0)
    stochastic = cfg.bfp.rounding == "stochastic"
    result = {
        "shape": [a.shape[0], a.shape[1], b.shape[1]],
        "rel_error_vs_float64": float(np.linalg.norm(c - exact) / norm),
        # With stochastic rounding the photonic path drew its own rounding; the BFP figure uses nearest.
        "bfp_rel_error": float(np.linalg.norm(bfp.dequantize(qa) @ bfp.dequantize(qb) - exact) / norm),
        "bfp_rounding_for_reference": "nearest",
        "exact_match_int_reference": None
        if noise or stochastic
        else bool(np.array_equal(c, bfp_matmul_reference(qa, qb))),
        "residue_error_rate": report.residue_error_rate,
        "seconds": report.seconds,  # the product's wall time, JAX compilation included
        "compile_seconds": report.compile_seconds,  # the part of it spent compiling (or loading from the cache)
        "macs_per_second": report.macs_per_second,
        **{
            k: v
            for k, v in report.as_dict().items()
            if k not in ("m", "k", "n", "residue_error_rate", "seconds", "compile_seconds", "macs_per_second")
        },
    }
    return c, result


def save(path: str, c: np.ndarray) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, c)


def text(result: dict) -> str:
    m, k, n = result["shape"]
    match = result["exact_match_int_reference"]
    lines = [
        f"GEMM {m} x {k} x {n} through moduli {tuple(result['moduli'])}, noise {'on' if result['noise'] else 'off'}",
        f"  relative error vs float64: {result['rel_error_vs_float64']:.4g} (BFP quantisation alone: {result['bfp_rel_error']:.4g})",
        f"  photonic readouts: {result['readouts']}, residue errors: {result['residue_errors']} "
        f"(rate {result['residue_error_rate']:.3g}), simulated in full: {result['simulated_readouts']}",
        f"  chunk results wrong after decoding: {result['chunk_errors']}; redundant RNS detected "
        f"{result['detected']}, corrected {result['corrected']}",
    ]
    if match is not None:
        lines.append(f"  equals the integer BFP reference bit for bit: {'yes' if match else 'NO'}")
    lines.append(
        f"  {result['seconds']:.3f} s ({result['compile_seconds']:.3f} s of it compiling), "
        f"{result['macs_per_second']:.3g} MAC/s, {result['tile_passes']} tile passes"
    )
    return "\n".join(lines)
