"""The default chip file on Dask: the same files with one worker, an embedded cluster of two, and an external
cluster (`dask scheduler` and two `dask worker` on 127.0.0.1); a worker killed mid-run loses nothing."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CHIPS, SEED = "12", "7"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Subprocesses share one JAX compilation cache (a temporary one)."""
    return {**os.environ, "MIRAGE_JAX_CACHE": str(tmp_path_factory.mktemp("jax-cache"))}


def montecarlo(out, env, *extra, wait=True):
    args = [str(BIN / "mirage"), "montecarlo", "--chips", CHIPS, "--seed", SEED, "--out", str(out), *extra]
    if wait:
        return subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, timeout=1800)
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(env, tmp_path):
    """A `dask scheduler` and two `dask worker` processes (no nanny: each worker is the process we hold)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = []
    log = (tmp_path / "dask.log").open("w")
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    address.rsplit(":", 1)[1],
                    "--no-dashboard",
                ],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(BIN / "dask"),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, env):
    out = tmp_path_factory.mktemp("w1")
    montecarlo(out, env, "--workers", "1")
    return out


def same_files(a: Path, b: Path) -> None:
    for name in ("results.csv", "summary.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_two_workers_give_the_same_files(one_worker, env, tmp_path):
    montecarlo(tmp_path, env, "--workers", "2")
    same_files(one_worker, tmp_path)


def test_an_external_cluster_gives_the_same_files(one_worker, env, cluster, tmp_path):
    address, _ = cluster
    montecarlo(tmp_path, env, "--scheduler", address)
    same_files(one_worker, tmp_path)


def test_a_worker_killed_mid_run_loses_nothing(one_worker, env, cluster, tmp_path):
    address, workers = cluster
    client = montecarlo(tmp_path, env, "--scheduler", address, wait=False)
    deadline = time.time() + 900
    while not list((tmp_path / "chips").glob("chip_*.json")):  # chips are in flight on both workers
        if client.poll() is not None or time.time() > deadline:
            client.kill()
            pytest.fail("no chip finished before the run ended or timed out")
        time.sleep(0.05)
    os.kill(workers[0].pid, signal.SIGKILL)
    assert len(list((tmp_path / "chips").glob("chip_*.json"))) < int(CHIPS)  # killed with chips left to do
    assert client.wait(timeout=1800) == 0
    same_files(one_worker, tmp_path)
