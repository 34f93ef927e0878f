"""Monte Carlo throughput and memory: chips sampled, evaluated, calibrated and evaluated again, per second.

Run: `.venv/bin/python benchmarks/bench_montecarlo.py [CHIPS[,CHIPS...]] [WORKERS] [SCHEDULER]` (default
1000 chips, 2 workers of an embedded Dask cluster; `make bench` runs 100; a SCHEDULER address runs on that
cluster instead). Default chip: three moduli, a 16 x 16 tile each, calibration included. For each chip
count it prints the wall time, chips per second, the median seconds per chip in a worker (from
timings.csv) and the peak resident memory of this process and of its children (the embedded cluster's
workers), from getrusage: with rows streamed to disk it should stay flat as the chip count grows. Each
count runs in a fresh process, so that one count's peak is not another's; the results land in a
temporary directory. The machine's speed is printed beside them: numpy's float64 512^3 matmul on one core
(median, before and after the runs), so that figures from runs on a busier or quieter machine can be compared.
"""

import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def one(chips: int, workers: int, scheduler: str | None) -> dict:
    """One run in this process; its numbers as a dict."""
    from calibration.config import load_study
    from calibration.montecarlo import run_montecarlo
    from photonics.process import set_up_process

    set_up_process()  # as the CLI does (with one worker the chips run in this process)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        summary = run_montecarlo(load_study(None), chips, out, workers=workers, seed=0, scheduler=scheduler)
        wall = time.perf_counter() - t0
        with open(Path(out) / "timings.csv") as f:
            per_chip = [float(r["seconds"]) for r in csv.DictReader(f)]
    kib = 1024  # ru_maxrss is in KiB on Linux
    return {
        "chips": chips,
        "wall_s": wall,
        "median_chip_s": statistics.median(per_chip),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / 2**20,
        "peak_rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / 2**20,
        "summary": summary,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _, _, chips, workers, scheduler = sys.argv
        print(json.dumps(one(int(chips), int(workers), scheduler or None)))
        return
    counts = [int(c) for c in (sys.argv[1] if len(sys.argv) > 1 else "1000").split(",")]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    scheduler = sys.argv[3] if len(sys.argv) > 3 else ""
    where = f"the cluster at {scheduler}" if scheduler else f"{workers} workers"
    print(f"Monte Carlo: default chip (3 moduli, 16 x 16 tiles, calibration included), {where}")
    reference = numpy_matmul_seconds()
    for chips in counts:
        cmd = [sys.executable, __file__, "--one", str(chips), str(workers), scheduler]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        s = r["summary"]
        print(
            f"  {chips} chips: wall {r['wall_s']:.1f} s, {chips / r['wall_s']:.2f} chips/s (target: 1000 chips in 120 s), "
            f"median {r['median_chip_s']:.2f} s a chip in a worker; peak RSS {r['peak_rss_mb']:.0f} MB (client), "
            f"{r['peak_rss_children_mb']:.0f} MB (largest worker)"
        )
        print(
            f"    yield uncalibrated {s['yield_uncalibrated']:.3f}, calibrated {s['yield_calibrated']:.3f}; median "
            f"phase error {s['median_phase_error_uncalibrated_rad']:.3f} -> {s['median_phase_error_calibrated_rad']:.4f} rad, "
            f"{s['median_phase_error_after_drift_rad']:.3f} rad after the drift that follows"
        )
    after = numpy_matmul_seconds()
    print(
        f"  machine: numpy's 512^3 float64 matmul on one core {reference * 1e3:.2f} ms before the runs, "
        f"{after * 1e3:.2f} ms after"
    )


def numpy_matmul_seconds() -> float:
    """Median seconds of numpy's 512^3 float64 matmul on one BLAS thread (in a fresh process: the thread count is
    fixed when OpenBLAS loads), as the Monte Carlo's workers compute."""
    code = (
        "import numpy as np\n"
        "from benchmarks._timing import median_seconds\n"
        "a, b = np.random.default_rng(0).standard_normal((2, 512, 512))\n"
        "print(median_seconds(lambda: a @ b, 31))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    root = Path(__file__).resolve().parents[1]  # `python -c` finds the benchmarks package from its directory
    return float(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env, cwd=root
        ).stdout
    )


if __name__ == "__main__":
    main()
