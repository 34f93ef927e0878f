"""Monte Carlo over fabricated chips: each evaluated uncalibrated and calibrated on one workload.

Every chip draws from its own seed, SeedSequence(seed, spawn_key=(index,)) (:func:`chip_generator`), and
is computed on one BLAS thread, alone in its process
(:func:`calibration.distributed.deterministic`), so its row is a function of the
study, the seed and its index: not of the workers, the machines (of one CPU
type), the order chips ran in, how they were grouped into tasks, or a resume.
The chips run in this process, on an embedded Dask cluster (``workers``) or on
any Dask cluster (``scheduler``), a few chips a task (``CHIPS_PER_TASK``). Each finished chip is written to
``chips/chip_NNNNNN.json`` (atomically) as its task's results arrive, so an
interrupted run started again with the same arguments skips what it has and
ends with the same files; a lost worker's tasks are recomputed elsewhere.
``results.csv`` (one row per chip, by index), ``summary.json`` and
``histograms.png`` are written from those files; timings go to
``timings.csv``. :func:`yield_plot` draws yield against sigma scale from
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
import hashlib
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest
from tqdm import tqdm

from calibration.calibrate import calibrate, probe_phase_error, readout_arms
from calibration.chip import nominal_trims, sample_chip, tile_rows
from calibration.config import StudyConfig
from calibration.distributed import ChipRunner
from calibration.files import atomic_path, write_text_atomic
from circuits.readout import Receivers, drive_phase_sigma_rad, read_arms
from mvm.gemm import Chip, rns_gemm
from mvm.tile import ModulusTile
from photonics.errors import UsageError, check_fits

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
# What the summary holds per chip while the run finishes: its numeric columns, one float64 each (rows are streamed
# from the chips' files to results.csv, never held together).
NUMERIC_FIELDS = [f for f in FIELDS if f != "chip" and not f.startswith("pass_")]
BYTES_PER_CHIP = 8 * len(NUMERIC_FIELDS)
# The most chips one task computes, one after another (of the chips still to do, in index order): each cluster task
# costs the client process (and the scheduler in it) about 9 ms of CPU, which two workers on two cores pay from their
# own time. Four a task: 2.8 ms a chip, and the run 8 % faster (300 chips, two workers, alternated). Fewer where the
# chips to do are too few to give each worker two tasks.
CHIPS_PER_TASK = 4


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
    :func:`mvm.gemm.rns_gemm` reads the chip through, so the probes below read the GEMM's device tables (and no
    receiver map is built: nothing here proves readouts)."""
    cfg = chip.config
    return chip.prepare("engine", cfg.readout(True), cfg.noise.skip_probability).tiles


def _states(sample, trims, with_drift: bool, chip: Chip | None):
    """(rows, engine or None) of every tile: the chip's, with its engine, if given."""
    if chip is None:
        return [(rows, None) for rows in compiled_tiles(sample, trims, with_drift)]
    return [(list(t.rows), e) for t, e in zip(chip.tiles, engines(chip), strict=True)]


def residue_error_rate(sample, trims, rng, chip: Chip | None = None) -> float:
    """Residue error rate of PROBES_PER_ROW random dot products on every row, with noise.

    Each tile's rows are read in one call (:func:`circuits.readout.read_arms`):
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
        receivers = (Receivers.of(rows, readout) if engine is None else engine.receivers).expand(1)  # the same
        arm = readout_arms(rows, x, w, engine)
        got = read_arms(receivers, arm, readout, rng, drive_sigma_rad=drive).residue
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
    """Relative error against float64 of the workload's GEMM through the chip, with noise: every readout simulated
    in full from the engine's fields (``path="full"``: one small product per chip state, so proving readouts,
    which needs the tiles' receiver maps, would cost more than it saves)."""
    a, b = workload()
    chip = chip or chip_state(sample, trims)
    c, _ = rns_gemm(a, b, chip, noise=True, seed=rng, path="full")
    exact = a @ b
    return float(np.linalg.norm(c - exact) / np.linalg.norm(exact))


def run_chips(study: StudyConfig, seed: int, indices: list[int]) -> list[tuple[dict, dict]]:
    """:func:`run_chip` of each chip of ``indices``, one after another (one task: see ``CHIPS_PER_TASK``)."""
    return [run_chip(study, seed, i) for i in indices]


def chip_generator(seed: int, index: int) -> np.random.Generator:
    """Chip ``index``'s random numbers: numpy's SFC64 generator, seeded by SeedSequence(seed, spawn_key=(index,)),
    so that chips draw independent streams whatever order they run in. SFC64 (Doty-Humphrey's small fast chaotic
    generator, by PractRand's author; expected period 2**255, at least 2**64) rather than numpy's default PCG64:
    a chip draws about 3.3 million normal numbers, mostly for its calibration's noisy readings, and SFC64 draws
    them in 14.3 ns each against PCG64's 17.6 on the 2-core machine (measured in one run)."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(index,))))


def run_chip(study: StudyConfig, seed: int, index: int) -> tuple[dict, dict]:
    """One chip's row of results, and its timings."""
    t0 = time.perf_counter()
    rng = chip_generator(seed, index)
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


def chip_file(out: Path, index: int) -> Path:
    """Where chip ``index``'s row and timing are kept (written whole or not at all)."""
    return out / "chips" / f"chip_{index:06d}.json"


def run_montecarlo(
    study: StudyConfig,
    chips: int,
    out_dir: str | Path,
    workers: int = 1,
    seed: int = 0,
    scheduler: str | None = None,
    runner: ChipRunner | None = None,
) -> dict:
    """Run (or resume) the Monte Carlo; write every file; return the summary.

    The chips run where :class:`calibration.distributed.ChipRunner` puts them
    (``workers`` processes of an embedded Dask cluster, or the cluster at
    ``scheduler``; ``runner``: one already started, for several runs). Each
    finished chip's file is written as it arrives; the files at the end do not
    depend on the order chips finished in.
    """
    if chips < 1:
        raise UsageError(f"--chips must be at least 1 (got {chips})")
    check_fits(chips * BYTES_PER_CHIP, f"--chips {chips}: the run's per-chip columns")
    out = Path(out_dir)
    (out / "chips").mkdir(parents=True, exist_ok=True)
    key = _run_key(study, chips, seed)
    run_file = out / "run.json"
    if run_file.exists() and json.loads(run_file.read_text()) != key:
        raise UsageError(f"{out} holds a different Monte Carlo run; give a new --out or the same arguments")
    write_text_atomic(run_file, json.dumps(key))
    todo = [i for i in range(chips) if not chip_file(out, i).exists()]
    # tqdm's disable=None: the bar shows on a terminal only
    bar = tqdm(total=chips, initial=chips - len(todo), unit="chip", desc="Monte Carlo", disable=None)
    # the tasks' names on a cluster: this run's and every chip of the task's
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    def save(results):
        for row, timing in results:
            write_text_atomic(chip_file(out, row["chip"]), json.dumps({"row": row, "timing": timing}))
            bar.update()

    def compute(runner: ChipRunner) -> None:
        size = max(1, min(CHIPS_PER_TASK, len(todo) // (2 * runner.worker_count())))
        tasks = ((study, seed, todo[i : i + size]) for i in range(0, len(todo), size))
        runner.map(run_chips, tasks, save, keys=lambda args: f"mirage-chips-{digest}-{'-'.join(map(str, args[2]))}")

    try:
        if runner is None:
            with ChipRunner(workers, scheduler) as own:
                compute(own)
        else:
            compute(runner)
    finally:
        bar.close()
    return _finish(out, study, chips)


def _finish(out: Path, study: StudyConfig, chips: int) -> dict:
    """results.csv and timings.csv streamed from the chips' files in index order; the summary from their columns."""
    columns = np.empty((len(NUMERIC_FIELDS), chips))
    passes = dict.fromkeys(("uncalibrated", "calibrated"), 0)
    with atomic_path(out / "results.csv") as results, atomic_path(out / "timings.csv") as timings:
        with results.open("w", newline="") as fr, timings.open("w", newline="") as ft:
            rows = csv.DictWriter(fr, FIELDS)
            times = csv.DictWriter(ft, ["chip", "seconds", "calibration_seconds"])
            rows.writeheader()
            times.writeheader()
            for i in range(chips):
                record = json.loads(chip_file(out, i).read_text())
                row = record["row"]
                rows.writerow(row)
                times.writerow(record["timing"])
                columns[:, i] = [row[f] for f in NUMERIC_FIELDS]
                for state in passes:
                    passes[state] += bool(row[f"pass_{state}"])
    col = dict(zip(NUMERIC_FIELDS, columns, strict=True))
    summary = {"chips": chips, "sigma_scale": study.variation.scale, "spec": dataclasses.asdict(study.spec)}
    for state in ("uncalibrated", "calibrated"):
        summary[f"yield_{state}"] = passes[state] / chips
        summary[f"yield_{state}_ci95"] = list(wilson_interval(passes[state], chips))
        for metric in ("residue_error_rate", "gemm_rel_error", "phase_error"):
            name = f"{metric}_{state}" + ("_rad" if metric == "phase_error" else "")
            summary[f"median_{name}"] = float(np.median(col[name]))
    summary["median_phase_error_after_drift_rad"] = float(np.median(col["phase_error_after_drift_rad"]))
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    _plots(out, col, summary)
    return summary


def _plots(out: Path, col: dict[str, np.ndarray], summary: dict) -> None:
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
            values = np.clip(col[f"{metric}_{state}" + ("_rad" if metric == "phase_error" else "")], 1e-6, None)
            bins = np.geomspace(values.min() / 1.5, values.max() * 1.5, 30)
            ax.hist(values, bins=bins, alpha=0.6, color=colour, label=state)
        ax.set_xscale("log")
        ax.set(xlabel=label, ylabel="chips")
        ax.legend(fontsize="small")
    fig.suptitle(f"{summary['chips']} chips, sigma scale {summary['sigma_scale']:g}")
    fig.tight_layout()
    with atomic_path(out / "histograms.png") as tmp:
        fig.savefig(tmp, dpi=110)
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
