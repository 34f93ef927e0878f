"""Where a study's chips are computed: in this process, on an embedded Dask cluster, or on any Dask cluster.

:class:`ChipRunner` runs ``fn(*args)`` for many argument tuples and hands each
result to a callback as it arrives (in whatever order they finish):

- ``workers=1`` (and no scheduler): one after another in this process;
- ``workers=N``: an embedded :class:`distributed.LocalCluster` of N worker
  processes, one thread each;
- ``scheduler="tcp://host:8786"``: an existing Dask cluster (``dask scheduler``
  and ``dask worker``, or any deployment Dask supports).

A worker process killed mid-run loses nothing: Dask's scheduler gives its tasks
to other workers. Every task runs through :func:`deterministic`, so a task's
result does not depend on which of these computed it, on how many threads the
machine's BLAS or XLA would use, or on what else ran in the process before. The
bit-identity holds between machines with the same CPU type (as do JAX's cached
programs, :func:`photonics.jax_setup.machine_tag`); a heterogeneous cluster may
round differently.

Workers are set up by :class:`WorkerSetup` (a Dask worker plugin): XLA on one
thread when JAX has not started yet, then the CLI's process settings
(:func:`photonics.process.set_up_process`): JAX's persistent compilation cache,
so that a worker loads the programs another process compiled, and glibc's
allocator keeping the chip's arrays.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from photonics.errors import UsageError

# One thread per worker: XLA's and BLAS's own pools would otherwise oversubscribe the cores (a chip's products
# are small; a BLAS pool spinning for them cost more than the products: 1.7 s of 2.7 s a chip, measured).
SINGLE_THREAD = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# Dask settings of the embedded cluster (its scheduler, nannies and workers): no statistical profiler, and its
# monitors polling less often. The profiler's thread samples the running chip every 10 ms and takes the GIL to do
# it; the memory monitors (every 100 ms), system monitors (500 ms) and event-loop ticks (20 ms) wake threads and
# processes that share the two cores with the chips. Measured on two workers, a chip's wall time against its CPU
# time: 1.19-1.26x with Dask's defaults, 1.14-1.19x without the profiler, 1.13-1.14x with the monitors slower as
# well. Memory is still watched every second (a worker over its limit is still restarted). On a cluster started
# with `dask worker`, the same settings go in its environment (docs/montecarlo.md).
CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "500ms",
}
# Tasks in flight per worker: enough to keep each busy while the client writes results, few enough that the
# client's memory does not grow with the number of tasks.
IN_FLIGHT_PER_WORKER = 4
CONNECT_TIMEOUT_S = 30

_one_at_a_time = threading.Lock()


def deterministic(fn: Callable, *args):
    """``fn(*args)`` on one BLAS thread, one call at a time in this process.

    A result then depends on its arguments only: OpenBLAS rounds differently on
    different thread counts (the variation's eigenvectors moved a chip's fields by
    1e-5 sigma, which calibration amplifies), and the chip layer's caches are
    per process, not per thread (a worker started with several threads still
    computes one call at a time).
    """
    with _one_at_a_time, _blas().limit(limits=1, user_api="blas"):
        return fn(*args)


_controller = None


def _blas():
    """threadpoolctl's controller of the process's BLAS libraries (numpy's and scipy's), found once: looking for
    them scans every loaded library (3.7 ms, about 2 % of a chip), setting their threads does not (0.02 ms)."""
    global _controller
    if _controller is None:
        import scipy.linalg  # noqa: F401  (numpy's BLAS and scipy's, loaded before they are looked for)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def _worker_setup_class():
    from distributed import WorkerPlugin

    class WorkerSetup(WorkerPlugin):
        """XLA on one thread (if JAX has not started in the worker), then the CLI's process settings
        (:func:`photonics.process.set_up_process`: JAX's persistent compilation cache, malloc keeping freed
        memory), imported after the flags: it imports JAX, whose backend reads them when it starts."""

        name = "mirage-worker-setup"

        def setup(self, worker) -> None:
            if "jax" not in sys.modules:  # XLA reads its flags when its backend starts
                for key, value in SINGLE_THREAD.items():
                    os.environ.setdefault(key, value)
            from photonics.process import set_up_process

            set_up_process()

    return WorkerSetup


class ChipRunner:
    """Runs tasks in this process or on a Dask cluster (see the module's docstring); use as a context manager."""

    def __init__(self, workers: int = 1, scheduler: str | None = None) -> None:
        if workers < 1:
            raise UsageError(f"--workers must be at least 1 (got {workers})")
        self.workers, self.scheduler = workers, scheduler
        self.client = self._cluster = None

    @property
    def local(self) -> bool:
        return self.workers == 1 and self.scheduler is None

    def __enter__(self) -> ChipRunner:
        if self.local:
            return self
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(
                    f"--scheduler {self.scheduler}: no Dask scheduler answered there ({exc}); give the address "
                    "`dask scheduler` prints, such as tcp://10.0.0.5:8786"
                ) from None
        else:
            with dask.config.set(CLUSTER_CONFIG):  # the nannies hand their configuration to the workers they start
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    env=SINGLE_THREAD,
                )
            self.client = Client(self._cluster)
        self.client.register_plugin(_worker_setup_class()())
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
        self.client = self._cluster = None

    def worker_count(self) -> int:
        """The workers computing the tasks: 1 in this process, else those the scheduler knows now."""
        if self.client is None:
            return 1
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def _slots(self) -> int:
        return 1 if self.client is None else IN_FLIGHT_PER_WORKER * self.worker_count()

    def map(self, fn: Callable, tasks: Iterable[tuple], on_result: Callable, keys: Callable | None = None) -> None:
        """Call ``on_result(result)`` for ``deterministic(fn, *args)`` of every ``args`` in ``tasks``, as each
        finishes; ``keys(args)``: the task's name on the cluster. A task that raises raises here, its traceback
        kept."""
        if self.client is None:
            for args in tasks:
                on_result(deterministic(fn, *args))
            return
        from distributed import as_completed

        pending = iter(tasks)

        def submit(batch: Iterator[tuple]):
            return [
                self.client.submit(deterministic, fn, *args, key=None if keys is None else keys(args), pure=False)
                for args in batch
            ]

        done = as_completed(submit(islice(pending, self._slots())))
        for future in done:
            result = future.result()
            future.release()
            on_result(result)
            for nxt in submit(islice(pending, 1)):
                done.add(nxt)


@contextmanager
def runner(workers: int = 1, scheduler: str | None = None) -> Iterator[ChipRunner]:
    """A :class:`ChipRunner`, started and closed around the block."""
    with ChipRunner(workers, scheduler) as r:
        yield r
