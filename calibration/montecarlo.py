"""Monte Carlo over fabricated chips: each evaluated uncalibrated and calibrated on one workload.

Every chip draws from its own seed, SeedSequence(seed, spawn_key=(index,)), so
its results do not depend on how many workers run or in which order. Each
finished chip is written to ``chips/chip_NNNNNN.json`` (atomically), so an
interrupted run started again with the same arguments skips what it has and
ends with the same files. ``results.csv`` (one row per chip, by index),
``summary.json`` and ``histograms.png`` are written from those files; timings
go to ``timings.csv``. :func:`yield_plot` draws yield against sigma scale from
several runs' summaries.

Metrics, uncalibrated and calibrated: residue error rate of random dot
products on every MDPU row at the configured laser power (with noise); the
relative error against float64 of a fixed GEMM through the chip; the rms
residual phase error of noiseless readouts. The calibrated chip is also read
after the drift that follows calibration (``phase_error_after_drift_rad``).
A chip passes when its residue error rate and GEMM error meet the spec; yields
come with a Wilson 95 % interval.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from scipy.stats import binomtest
from tqdm import tqdm

from calibration.calibrate import calibrate, probe_phase_error, readout_fields
from calibration.chip import nominal_trims, sample_chip, tile_rows
from calibration.config import StudyConfig
from calibration.files import write_text_atomic
from circuits.readout import Receivers, drive_phase_sigma_rad, read_rows
from mvm.gemm import Chip, rns_gemm
from mvm.tile import ModulusTile
from photonics.errors import UsageError, check_fits

SINGLE_THREAD = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
PROBES_PER_ROW = 128
WORKLOAD_SHAPE = (32, 64, 32)
FIELDS = [
    "chip",
    "residue_error_rate_uncalibrated",
    "residue_error_rate_calibrated",
    "gemm_rel_error_uncalibrated",
    "gemm_rel_error_calibrated",
    "phase_error_uncalibrated_rad",
    "phase_error_calibrated_rad",
    "phase_error_after_drift_rad",
    "pass_uncalibrated",
    "pass_calibrated",
    "ambient_offset_k",
    "drift_k",
]
# Each chip's row and timing, held as dicts and JSON while the run finishes (twelve fields), with its future.
BYTES_PER_CHIP = 4096


def workload(seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m, k, n = WORKLOAD_SHAPE
    return rng.standard_normal((m, k)), rng.standard_normal((k, n))


def compiled_tiles(sample, trims, with_drift: bool = False) -> list[list]:
    """Every tile's compiled rows for one state of the chip (compiled once, read many times)."""
    return [tile_rows(sample, i, trims, with_drift) for i in range(len(sample.tiles))]


def chip_state(sample, trims, with_drift: bool = False) -> Chip:
    """One state of the chip as the GEMM reads it, its engine built (:func:`engines`)."""
    chip = Chip(sample.config, tuple(ModulusTile.from_rows(rows) for rows in compiled_tiles(sample, trims, with_drift)))
    engines(chip)
    return chip


def engines(chip: Chip) -> tuple:
    """Each tile's :class:`mvm.engine.TileEngine` for the chip's noisy readout, built once per chip: the same that
    :func:`mvm.gemm.rns_gemm` reads the chip through, so the probes below read the GEMM's device tables."""
    cfg = chip.config
    return chip.prepare("engine", cfg.readout(True), cfg.noise.skip_probability).tiles


def _states(sample, trims, with_drift: bool, chip: Chip | None):
    """(rows, engine or None) of every tile: the chip's, with its engine, if given."""
    if chip is None:
        return [(rows, None) for rows in compiled_tiles(sample, trims, with_drift)]
    return [(list(t.rows), e) for t, e in zip(chip.tiles, engines(chip), strict=True)]


def residue_error_rate(sample, trims, rng, chip: Chip | None = None) -> float:
    """Residue error rate of PROBES_PER_ROW random dot products on every row, with noise.

    Each tile's rows are read in one call (:func:`circuits.readout.read_rows`):
    its residues drawn for every row (R, probes, h), x then w, then the read's
    noise, tile by tile; the laser's drift is one draw per tile's reading.
    ``chip``: the state to read (:func:`chip_state`), else compiled from ``trims``.
    """
    readout = sample.config.readout(True)
    errors = total = 0
    for rows, engine in _states(sample, trims, False, chip):
        m, h = rows[0].design.modulus, rows[0].design.h
        x, w = (rng.integers(0, m, (len(rows), PROBES_PER_ROW, h)) for _ in range(2))
        drive = drive_phase_sigma_rad(rows[0], x, w, readout)  # the design's drive slopes: the same on every row
        receivers = Receivers.of(rows, readout).expand(1)
        fields = readout_fields(rows, x, w, engine)
        got = read_rows(receivers, fields, readout, rng, drive_sigma_rad=drive).residue
        errors += int(np.count_nonzero(got != (x * w).sum(-1) % m))
        total += got.size
    return errors / total


def phase_error(sample, trims, with_drift: bool = False, chip: Chip | None = None) -> float:
    """RMS noiseless read-phase error of random dot products on every row (:func:`probe_phase_error`)."""
    err = [
        probe_phase_error(rows, np.random.default_rng(7), engine=e)
        for rows, e in _states(sample, trims, with_drift, chip)
    ]
    return float(np.sqrt(np.mean(np.concatenate([e.ravel() for e in err]) ** 2)))


def gemm_error(sample, trims, rng, chip: Chip | None = None) -> float:
    a, b = workload()
    chip = chip or chip_state(sample, trims)
    c, _ = rns_gemm(a, b, chip, noise=True, seed=rng)
    exact = a @ b
    return float(np.linalg.norm(c - exact) / np.linalg.norm(exact))


def run_chip(study: StudyConfig, seed: int, index: int) -> tuple[dict, dict]:
    """One chip's row of results, and its timings."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    sample = sample_chip(study.chip, study.variation, rng, study.layout)
    nominal = nominal_trims(study.chip)
    row = {"chip": index, "ambient_offset_k": sample.ambient_offset_k, "drift_k": sample.drift_k}
    chip = chip_state(sample, nominal)
    row["residue_error_rate_uncalibrated"] = residue_error_rate(sample, nominal, rng, chip)
    row["gemm_rel_error_uncalibrated"] = gemm_error(sample, nominal, rng, chip)
    row["phase_error_uncalibrated_rad"] = phase_error(sample, nominal, chip=chip)
    t1 = time.perf_counter()
    trims, _ = calibrate(
        sample, rng, repeats=study.calibration.repeats, laser_power_mw=study.calibration.laser_power_mw, report=False
    )
    t2 = time.perf_counter()
    chip = chip_state(sample, trims)
    row["residue_error_rate_calibrated"] = residue_error_rate(sample, trims, rng, chip)
    row["gemm_rel_error_calibrated"] = gemm_error(sample, trims, rng, chip)
    row["phase_error_calibrated_rad"] = phase_error(sample, trims, chip=chip)
    row["phase_error_after_drift_rad"] = phase_error(sample, trims, with_drift=True)
    spec = study.spec
    for state in ("uncalibrated", "calibrated"):
        row[f"pass_{state}"] = bool(
            row[f"residue_error_rate_{state}"] <= spec.max_residue_error_rate
            and row[f"gemm_rel_error_{state}"] <= spec.max_gemm_rel_error
        )
    t3 = time.perf_counter()
    return row, {"chip": index, "seconds": t3 - t0, "calibration_seconds": t2 - t1}


def wilson_interval(passes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a pass rate (scipy's binomial test)."""
    ci = binomtest(passes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def _run_key(study: StudyConfig, chips: int, seed: int) -> dict:
    return {"chips": chips, "seed": seed, "study": repr(study)}


def _worker(args):
    study, seed, index = args
    return run_chip(study, seed, index)


def run_montecarlo(study: StudyConfig, chips: int, out_dir: str | Path, workers: int = 1, seed: int = 0) -> dict:
    """Run (or resume) the Monte Carlo; write every file; return the summary."""
    if chips < 1:
        raise UsageError(f"--chips must be at least 1 (got {chips})")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    check_fits(chips * BYTES_PER_CHIP, f"--chips {chips}: the run's per-chip records")
    out = Path(out_dir)
    parts = out / "chips"
    parts.mkdir(parents=True, exist_ok=True)
    key = _run_key(study, chips, seed)
    run_file = out / "run.json"
    if run_file.exists() and json.loads(run_file.read_text()) != key:
        raise UsageError(f"{out} holds a different Monte Carlo run; give a new --out or the same arguments")
    write_text_atomic(run_file, json.dumps(key))
    todo = [i for i in range(chips) if not (parts / f"chip_{i:06d}.json").exists()]
    # tqdm's disable=None: the bar shows on a terminal only
    bar = tqdm(total=chips, initial=chips - len(todo), unit="chip", desc="Monte Carlo", disable=None)

    def save(result):
        row, timing = result
        write_text_atomic(parts / f"chip_{row['chip']:06d}.json", json.dumps({"row": row, "timing": timing}))
        bar.update()

    if workers == 1:
        from threadpoolctl import threadpool_limits

        # One BLAS thread, as in the workers (SINGLE_THREAD): a chip's products are small, and a BLAS pool
        # spinning for them on shared cores cost more than the products (1.7 s of 2.7 s a chip, measured).
        with threadpool_limits(limits=1, user_api="blas"):
            for i in todo:
                save(run_chip(study, seed, i))
    else:
        import multiprocessing

        # One thread per worker: XLA's and BLAS's own pools would otherwise oversubscribe the cores.
        saved = {k: os.environ.get(k) for k in SINGLE_THREAD}
        os.environ.update(SINGLE_THREAD)
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                for future in as_completed([pool.submit(_worker, (study, seed, i)) for i in todo]):
                    save(future.result())
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    bar.close()
    return _finish(out, study, chips)


def _finish(out: Path, study: StudyConfig, chips: int) -> dict:
    records = [json.loads((out / "chips" / f"chip_{i:06d}.json").read_text()) for i in range(chips)]
    rows = [r["row"] for r in records]
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    with (out / "timings.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, ["chip", "seconds", "calibration_seconds"])
        writer.writeheader()
        writer.writerows(r["timing"] for r in records)
    summary = {"chips": chips, "sigma_scale": study.variation.scale, "spec": dataclasses.asdict(study.spec)}
    for state in ("uncalibrated", "calibrated"):
        passes = sum(r[f"pass_{state}"] for r in rows)
        summary[f"yield_{state}"] = passes / chips
        summary[f"yield_{state}_ci95"] = list(wilson_interval(passes, chips))
        for metric in ("residue_error_rate", "gemm_rel_error", "phase_error"):
            col = f"{metric}_{state}" + ("_rad" if metric == "phase_error" else "")
            summary[f"median_{col}"] = float(np.median([r[col] for r in rows]))
    summary["median_phase_error_after_drift_rad"] = float(np.median([r["phase_error_after_drift_rad"] for r in rows]))
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    _plots(out, rows, summary)
    return summary


def _plots(out: Path, rows: list[dict], summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, metric, label in zip(
        axes,
        ("phase_error", "gemm_rel_error", "residue_error_rate"),
        ("rms residual phase error (rad)", "GEMM relative error vs float64", "residue error rate"),
    ):
        for state, colour in (("uncalibrated", "tab:red"), ("calibrated", "tab:blue")):
            col = f"{metric}_{state}" + ("_rad" if metric == "phase_error" else "")
            values = np.array([r[col] for r in rows], dtype=float)
            values = np.clip(values, 1e-6, None)
            bins = np.geomspace(values.min() / 1.5, values.max() * 1.5, 30)
            ax.hist(values, bins=bins, alpha=0.6, color=colour, label=state)
        ax.set_xscale("log")
        ax.set(xlabel=label, ylabel="chips")
        ax.legend(fontsize="small")
    fig.suptitle(f"{summary['chips']} chips, sigma scale {summary['sigma_scale']:g}")
    fig.tight_layout()
    fig.savefig(out / "histograms.png", dpi=110)
    plt.close(fig)


def yield_plot(path: str | Path, summaries: list[dict]) -> None:
    """Yield against sigma scale with 95 % intervals, one point per Monte Carlo run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(summaries, key=lambda s: s["sigma_scale"])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for state, colour in (("uncalibrated", "tab:red"), ("calibrated", "tab:blue")):
        y = np.array([r[f"yield_{state}"] for r in runs])
        ci = np.array([r[f"yield_{state}_ci95"] for r in runs])
        err = np.clip(np.stack([y - ci[:, 0], ci[:, 1] - y]), 0, None)
        ax.errorbar([r["sigma_scale"] for r in runs], y, yerr=err, fmt="o-", color=colour, capsize=3, label=state)
    ax.set(xlabel="variation (sigma scale)", ylabel="yield", ylim=(-0.02, 1.02), title="yield with 95 % intervals")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
