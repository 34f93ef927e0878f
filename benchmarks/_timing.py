"""Median wall time of a callable, after one warm-up call (which compiles under jit), and :func:`settle`.

Importing this module sets the process up as the `mirage` CLI does
(:func:`photonics.process.set_up_process`: JAX's persistent compilation cache, so that a
benchmark's cold figures are those of a machine that has run it before, and glibc's
allocator keeping freed memory).
"""

import statistics
import time

from photonics.process import set_up_process

set_up_process()

# After a call, OpenBLAS's worker threads busy-wait before they sleep: after numpy's 512^3 matmul the process
# burns 0.1 s of CPU in a 0.2-0.4 s sleep (measured with os.times on the 2-core machine). A call timed inside
# that window shares its cores with them (the varied chip's 512^3 product: 87 ms right after numpy's matmul,
# 65 ms after a 0.3 s pause, 54 ms back to back).
SETTLE_S = 0.25


def settle() -> None:
    """Wait until the threads of the previous call (BLAS, XLA) have stopped spinning, so that the next timed call
    has the machine's cores to itself, as it would in use."""
    time.sleep(SETTLE_S)


def median_seconds(fn, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
