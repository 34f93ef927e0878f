"""Monte Carlo: files, determinism across workers, resuming after a kill, CLI."""

import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from calibration.config import load_study
from calibration.montecarlo import FIELDS, run_montecarlo, wilson_interval
from tests.mirage.test_cli import run

MIRAGE = Path(sys.executable).parent / "mirage"
SMALL_CHIP = "[tile]\nrows = 4\nh = 4\n"  # a small tile keeps these runs quick; the machinery is the same


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "small.toml"
    path.write_text(SMALL_CHIP)
    return path


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, small):
    out = tmp_path_factory.mktemp("mc1")
    summary = run_montecarlo(load_study(str(small)), 3, out, workers=1, seed=5)
    return out, summary


def test_outputs(one_worker):
    out, summary = one_worker
    for name in ("results.csv", "summary.json", "timings.csv", "histograms.png"):
        assert (out / name).exists()
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert header == FIELDS and "seconds" not in header
    assert summary["chips"] == 3
    for key in (
        "yield_uncalibrated",
        "yield_calibrated",
        "median_residue_error_rate_uncalibrated",
        "median_residue_error_rate_calibrated",
    ):
        assert key in summary
    assert summary["yield_calibrated"] > summary["yield_uncalibrated"]
    assert json.loads((out / "summary.json").read_text()) == summary


@pytest.mark.slow  # two worker processes each pay JAX's warm-up (about 30 s); the fast test below runs the same runner
def test_two_workers_give_the_same_csv(one_worker, small, tmp_path):
    out, _ = one_worker
    run_montecarlo(load_study(str(small)), 3, tmp_path, workers=2, seed=5)
    assert (tmp_path / "results.csv").read_text() == (out / "results.csv").read_text()


def _blas_threads_after(x: int, delay_s: float) -> tuple[int, int]:
    """A task for the runner (module level, so worker processes can unpickle it)."""
    from threadpoolctl import threadpool_info

    time.sleep(delay_s)
    return x, max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def test_an_embedded_cluster_returns_every_task_once_each_on_one_blas_thread():
    from calibration.distributed import runner

    got = []
    with runner(workers=2) as r:  # later tasks sleep less, so results arrive out of order
        r.map(_blas_threads_after, [(i, 0.02 * (8 - i)) for i in range(8)], got.append)
    assert sorted(x for x, _ in got) == list(range(8))
    assert {threads for _, threads in got} == {1}


def _mapped_bytes_of_a_4_mb_array(_: int) -> int:
    """glibc's mmap-ed bytes (mallinfo2's hblkhd) held while a 4 MB array is alive, less those before it."""
    import ctypes

    import numpy as np

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
        ]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    before = libc.mallinfo2().hblkhd
    a = np.ones(2**19)  # 4 MB
    during = libc.mallinfo2().hblkhd
    del a
    return during - before


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator (mallinfo2: glibc 2.33 or later)")
def test_embedded_workers_keep_a_chips_arrays_on_the_heap_and_run_no_profiler():
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which maps every array over 128 kB; the
    # worker setup raises glibc's thresholds so that a chip's arrays come from (and return to) the heap.
    from calibration.distributed import runner

    got = []
    with runner(workers=2) as r:
        r.map(_mapped_bytes_of_a_4_mb_array, [(i,) for i in range(2)], got.append)
        profiling = r.client.run(lambda dask_worker: "profile-cycle" in dask_worker.periodic_callbacks)
        monitor = r.client.run(lambda: __import__("dask").config.get("distributed.worker.memory.monitor-interval"))
    assert got == [0, 0]
    assert list(profiling.values()) == [False, False]  # no statistical profiler taking the GIL from the chips
    assert list(monitor.values()) == ["1s", "1s"]  # the cluster's settings reached the workers


def test_chips_grouped_into_tasks_give_the_files_of_one_chip_a_task(small, tmp_path, monkeypatch):
    """Six chips run as two tasks of three (CHIPS_PER_TASK 4, at most a third of them a task on one worker) and
    as six tasks of one: the same files, and each chip once."""
    from calibration import montecarlo

    tasks = []
    run_chips = montecarlo.run_chips
    monkeypatch.setattr(montecarlo, "run_chips", lambda *args: tasks.append(args[2]) or run_chips(*args))
    grouped = run_montecarlo(load_study(str(small)), 6, tmp_path / "grouped", workers=1, seed=5)
    assert tasks == [[0, 1, 2], [3, 4, 5]]
    tasks.clear()
    monkeypatch.setattr(montecarlo, "CHIPS_PER_TASK", 1)
    single = run_montecarlo(load_study(str(small)), 6, tmp_path / "single", workers=1, seed=5)
    assert tasks == [[i] for i in range(6)] and grouped == single
    for name in ("results.csv", "summary.json"):
        assert (tmp_path / "grouped" / name).read_text() == (tmp_path / "single" / name).read_text()


def test_a_partial_run_resumes_to_the_same_files(one_worker, small, tmp_path):
    # What a killed run leaves: some chips' files and no results; the rerun computes only the missing chip.
    out, _ = one_worker
    (tmp_path / "chips").mkdir()
    (tmp_path / "run.json").write_bytes((out / "run.json").read_bytes())
    for chip in sorted((out / "chips").glob("chip_*.json"))[:2]:
        (tmp_path / "chips" / chip.name).write_bytes(chip.read_bytes())
    run_montecarlo(load_study(str(small)), 3, tmp_path, workers=1, seed=5)
    for name in ("results.csv", "summary.json"):
        assert (tmp_path / name).read_text() == (out / name).read_text()


@pytest.mark.slow  # two fresh processes, each with its warm-up; the test above resumes in-process
def test_killed_run_resumes_to_the_same_files(one_worker, small, tmp_path):
    out, _ = one_worker
    args = [str(MIRAGE), "montecarlo", "--chips", "3", "--out", str(tmp_path), "--seed", "5", "--config", str(small)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not list((tmp_path / "chips").glob("chip_*.json")):  # kill only once a chip is finished
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"no chip file appeared before the run {'ended' if proc.poll() is not None else 'timed out'}")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((tmp_path / "chips").glob("chip_*.json")))
    assert 1 <= finished < 3 and not (tmp_path / "results.csv").exists()  # killed mid-run, with work to resume
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    for name in ("results.csv", "summary.json"):
        assert (tmp_path / name).read_text() == (out / name).read_text()


def test_a_different_run_in_the_same_directory_is_refused(one_worker, small):
    out, _ = one_worker
    with pytest.raises(ValueError, match="holds a different Monte Carlo run"):
        run_montecarlo(load_study(str(small)), 3, out, workers=1, seed=6)


@pytest.mark.parametrize("passes, n", [(0, 5), (3, 7), (8, 10), (50, 50), (999, 1000)])
def test_wilson_interval_matches_the_closed_form(passes, n):
    z = norm.ppf(0.975)
    p = passes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(passes, n) == pytest.approx((centre - half, centre + half), abs=1e-12)


def test_wilson_interval():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["montecarlo", "--chips", "0", "--out", "x"], "--chips must be at least 1"),
        (["montecarlo", "--chips", "2", "--out", "x", "--workers", "0"], "--workers must be at least 1"),
        (["montecarlo", "--chips", "2", "--out", "x", "--sigma-scale", "-1"], "--sigma-scale must be >= 0"),
        (["montecarlo", "--chips", "2", "--out", "x", "--scales", "1,a"], "--scales must be a comma-separated list"),
        (["gemm", "--m", "2", "--k", "2", "--n", "2", "--calibrate"], "give --variation too"),
        (["gemm", "--m", "2", "--k", "2", "--n", "2", "--sigma-scale", "3"], "--sigma-scale scales the variation"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_bad_variation_config(capsys, tmp_path):
    path = tmp_path / "chip.toml"
    path.write_text("[variation]\nwidth_nm = 3\n")
    code, _, err = run(capsys, "calibrate", "--config", str(path))
    assert code == 2 and "[variation.width_nm]: must be a table, got 3" in err
    path.write_text("[variation.width_nm]\nsigma = 3\n")
    code, _, err = run(capsys, "calibrate", "--config", str(path))
    assert code == 2 and "[variation.width_nm] sigma: unknown key" in err


@pytest.mark.slow  # the calibrate command end to end (14 s); calibration itself is tested fast in test_calibrate.py
def test_calibrate_cli(capsys):
    code, out, _ = run(capsys, "calibrate", "--seed", "2", "--json")
    r = json.loads(out)
    assert code == 0 and r["improvement"] > 10 and r["residue_error_rate_after"] < r["residue_error_rate_before"]


def test_gemm_on_a_calibrated_chip(capsys):
    code, out, _ = run(capsys, "gemm", "--m", "16", "--k", "32", "--n", "16", "--variation", "--calibrate", "--json")
    r = json.loads(out)
    assert code == 0 and r["variation"] and r["calibrated"]
    assert r["rel_error_vs_float64"] == pytest.approx(r["bfp_rel_error"], rel=0.05)


def test_a_chips_row_depends_on_its_index_only_on_the_default_chip():
    """The default chip file: rows computed in another order, after the process's caches were filled on two BLAS
    threads, equal rows computed first (two BLAS threads once drew other variation fields)."""
    from threadpoolctl import threadpool_limits

    from calibration import chip
    from calibration.distributed import deterministic
    from calibration.montecarlo import run_chip

    study = load_study(None)
    first = [deterministic(run_chip, study, 7, i)[0] for i in (0, 1)]
    chip._factor.cache_clear()
    with threadpool_limits(limits=2, user_api="blas"):
        chip.sample_chip(study.chip, study.variation, np.random.default_rng(0), study.layout)  # refills the caches
        again = [deterministic(run_chip, study, 7, i)[0] for i in (1, 0)]
    assert again[::-1] == first
    assert first[0] != first[1]  # two different chips
