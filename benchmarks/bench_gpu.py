"""The RNS-BFP GEMM on JAX's default device: a large product on the varied, calibrated chip.

Run: `.venv/bin/python benchmarks/bench_gpu.py [--size 4096]` on a machine whose JAX
sees a GPU (``pip install "jax[cuda13]"`` of the pinned version; nothing else changes: the
engine's programs are plain ``jax.jit``). On a CPU-only machine it runs the same product
on the CPU. It prints:

- the device and the chip (the one `mirage gemm --variation --calibrate --seed 1` builds);
- agreement: a 512^3 product on the default device against the same product on JAX's
  CPU backend, noise off and on (same seed): outputs and every report count must be
  identical, since the fields are float64 either way and the noise is drawn on the host;
- the warm median seconds of a ``--size``^3 product, noise on, every readout's fields
  computed from the devices, and its ratios to numpy's float64 matmul on the host's
  CPUs and to ``jnp.matmul`` in float64 on the device.

The chip is sampled, calibrated and prepared for the engine on JAX's CPU backend (sax's
KLU solver is a CPU kernel). ``--save-chip FILE`` writes it, prepared, with pickle and
``--chip FILE`` reads it back, for a GPU machine that has the engine's dependencies
(numpy, scipy, JAX, pydantic, tomlkit) but not sax's.
"""

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._timing import median_seconds  # noqa: E402
from mvm.gemm import rns_gemm  # noqa: E402

COUNTS = ("readouts", "deterministic_readouts", "simulated_readouts", "residue_errors", "chunk_errors")


def operands(size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((size, size)), rng.standard_normal((size, size))


def chip_from(args):
    """The varied, calibrated chip, its engine prepared for noise off and on (on the CPU backend, like its build)."""
    if args.chip:
        with open(args.chip, "rb") as f:
            return pickle.load(f)
    from benchmarks.bench_gemm import varied_calibrated_chip

    with jax.default_device(jax.devices("cpu")[0]):
        chip = varied_calibrated_chip()
        for noise in (False, True):
            chip.prepare("engine", chip.config.readout(noise), chip.config.noise.skip_probability)
    if args.save_chip:
        with open(args.save_chip, "wb") as f:
            pickle.dump(chip, f)
    return chip


def agreement(chip) -> dict:
    """512^3 on the default device and on the CPU backend, noise off and on: equal outputs and counts."""
    a, b = operands(512, seed=3)
    result = {}
    for noise in (False, True):
        out_dev, rep_dev = rns_gemm(a, b, chip, noise=noise, seed=5)
        with jax.default_device(jax.devices("cpu")[0]):
            out_cpu, rep_cpu = rns_gemm(a, b, chip, noise=noise, seed=5)
        result[f"noise_{'on' if noise else 'off'}"] = {
            "outputs_identical": bool(np.array_equal(out_dev, out_cpu)),
            "max_abs_difference": float(np.max(np.abs(out_dev - out_cpu))),
            "counts_identical": all(getattr(rep_dev, c) == getattr(rep_cpu, c) for c in COUNTS),
            "counts": {c: getattr(rep_dev, c) for c in COUNTS},
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="M = K = N of the timed product (default 4096)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-ups (default 3)")
    parser.add_argument("--chip", help="read the chip from this pickle instead of building it")
    parser.add_argument("--save-chip", help="write the built chip to this pickle")
    args = parser.parse_args()

    device = jax.devices()[0]
    print(f"device: {device.platform} {device.device_kind}; jax {jax.__version__}", flush=True)
    chip = chip_from(args)
    print(f"chip: moduli {chip.moduli}, {chip.config.tile.rows} rows x h={chip.config.tile.h}", flush=True)
    print("agreement with the CPU backend, 512^3:", json.dumps(agreement(chip)), flush=True)

    a, b = operands(args.size)
    t0 = time.perf_counter()
    rns_gemm(a, b, chip)
    first = time.perf_counter() - t0
    reports = []
    warm = median_seconds(lambda: reports.append(rns_gemm(a, b, chip)[1]), args.repeats)
    report = reports[-1]
    t_numpy = median_seconds(lambda: a @ b, 3)
    a_dev, b_dev = jnp.asarray(a), jnp.asarray(b)
    t_device = median_seconds(lambda: (a_dev @ b_dev).block_until_ready(), 5)
    summary = {
        "size": args.size,
        "first_seconds": round(first, 3),
        "warm_seconds": round(warm, 3),
        "numpy_float64_seconds": round(t_numpy, 4),
        "device_float64_matmul_seconds": round(t_device, 5),
        "ratio_to_numpy": round(warm / t_numpy, 2),
        "ratio_to_device_matmul": round(warm / t_device, 1),
        "readouts_per_second": round(report.readouts / warm),
        "stages": {k: round(v, 3) for k, v in report.seconds_by_stage.items()},
        **{c: getattr(report, c) for c in COUNTS},
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
