"""Monte Carlo throughput: chips sampled, evaluated, calibrated and evaluated again, per second.

Run: `.venv/bin/python benchmarks/bench_montecarlo.py [CHIPS] [WORKERS]` (default 1000 chips, 2
workers; `make bench` runs 100). Default chip: three moduli, a 16 x 16 tile each, calibration
included. Prints the wall time, chips per second and the median seconds per chip in a worker
(from timings.csv); the results land in a temporary directory.
"""

import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.config import load_study  # noqa: E402
from calibration.montecarlo import run_montecarlo  # noqa: E402


def main() -> None:
    chips = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        summary = run_montecarlo(load_study(None), chips, out, workers=workers, seed=0)
        wall = time.perf_counter() - t0
        with open(Path(out) / "timings.csv") as f:
            per_chip = [float(r["seconds"]) for r in csv.DictReader(f)]
    print(f"Monte Carlo: {chips} chips (3 moduli, 16 x 16 tiles, calibration included), {workers} workers")
    print(f"  wall time {wall:.1f} s (target for 1000 chips: 300 s), {chips / wall:.2f} chips/s")
    print(
        f"  median {statistics.median(per_chip):.2f} s per chip in a worker (first chip of each worker includes JIT warm-up)"
    )
    print(
        f"  yield uncalibrated {summary['yield_uncalibrated']:.3f}, calibrated {summary['yield_calibrated']:.3f}; "
        f"median residual phase error {summary['median_phase_error_uncalibrated_rad']:.3f} -> "
        f"{summary['median_phase_error_calibrated_rad']:.4f} rad"
    )


if __name__ == "__main__":
    main()
