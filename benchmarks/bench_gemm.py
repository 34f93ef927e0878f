"""The RNS-BFP GEMM through the simulated tiles against numpy's float64 matmul.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_gemm.py`). Prints, for
a 512 x 512 x 512 product with the default chip (three moduli), the median time
with noise on and off as a ratio to numpy's matmul of the same shapes measured
in the same run, the simulated MACs per second, the process's peak memory, and
where the time goes; then times for M, K and N doubled (scaling); then the cost
when readouts must be simulated in full: a chip whose segments are off by a
little phase per level, at the laser power the link budget gives for a 1e-6
residue error rate.
"""

import dataclasses
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import median_seconds  # noqa: E402
from mvm.config import ChipConfig  # noqa: E402
from mvm.gemm import build_chip, rns_gemm  # noqa: E402


def operands(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)), rng.standard_normal((k, n))


def timed(chip, m, k, n, noise, repeats=7):
    a, b = operands(m, k, n)
    t_np = median_seconds(lambda: a @ b, 21)
    t = median_seconds(lambda: rns_gemm(a, b, chip, noise=noise), repeats)
    return t, t_np, rns_gemm(a, b, chip, noise=noise)[1]


def main() -> None:
    chip = build_chip(ChipConfig())
    print("RNS-BFP GEMM, default chip: moduli (31, 32, 33), 6-bit mantissas, h = 16, R = 16, 10 mW")
    for noise in (True, False):
        t, t_np, report = timed(chip, 512, 512, 512, noise)
        target = 50 if noise else 15
        print(
            f"  512^3 noise {'on ' if noise else 'off'}: {t * 1e3:7.1f} ms, numpy {t_np * 1e3:5.2f} ms, ratio {t / t_np:5.1f}x "
            f"(target <= {target}x), {report.macs_per_second:.3g} MAC/s, "
            f"{report.simulated_readouts} of {report.readouts} readouts simulated in full"
        )
    stages = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in report.seconds_by_stage.items())
    print(f"  where the time goes (one call; JAX finishes asynchronously, so waits land in later stages): {stages}")
    print(
        f"  peak memory of the process (RSS, includes the JAX runtime): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print("  scaling, noise on (medians of 7 interleaved runs; time / time at 512^3):")
    shapes = [(512, 512, 512), (1024, 512, 512), (512, 1024, 512), (512, 512, 1024)]
    pairs = {s: operands(*s) for s in shapes}
    times = {s: [] for s in shapes}
    for s in shapes:
        rns_gemm(*pairs[s], chip)
    for _ in range(7):
        for s in shapes:
            t0 = time.perf_counter()
            rns_gemm(*pairs[s], chip)
            times[s].append(time.perf_counter() - t0)
    for s in shapes[1:]:
        print(f"    {s}: {np.median(times[s]) * 1e3:7.1f} ms, {np.median(times[s]) / np.median(times[shapes[0]]):.2f}x")

    # Readouts that must be simulated: a per-level phase error of 10 urad on every segment and the
    # laser at the link-budget power leave no tile provably exact.
    from circuits.compiled import compile_mdpu
    from circuits.link_budget import link_budget
    from mvm.tile import ModulusTile
    from photonics.laser import Laser

    power = link_budget(compile_mdpu(ChipConfig().mdpu_design(31)), ChipConfig().readout(), 1e-6).laser_power_mw
    config = dataclasses.replace(ChipConfig(), laser=Laser(power_mw=power))
    ideal = build_chip(config)
    tiles = []
    for tile in ideal.tiles:
        rows = []
        for row in tile.rows:
            seg = row.segment_t * np.exp(1e-5j * np.arange(row.segment_t.shape[-1]))
            rows.append(dataclasses.replace(row, segment_t=seg))
        tiles.append(ModulusTile.from_rows(rows))
    imperfect = dataclasses.replace(ideal, tiles=tuple(tiles))
    a, b = operands(256, 256, 256)
    t0 = time.perf_counter()
    _, report = rns_gemm(a, b, imperfect, noise=True)
    seconds = time.perf_counter() - t0
    print(
        f"  imperfect chip at {power:.2f} mW, 256^3: {seconds:.2f} s, residue error rate {report.residue_error_rate:.2e}, "
        f"{report.simulated_readouts} of {report.readouts} readouts simulated in full "
        f"({seconds / max(report.simulated_readouts, 1) * 1e6:.2f} us each, all costs included)"
    )


if __name__ == "__main__":
    main()
