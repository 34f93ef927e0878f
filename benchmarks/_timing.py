"""Median wall time of a callable, after one warm-up call (which compiles under jit).

Importing this module enables JAX's persistent compilation cache, as the `mirage`
CLI does (:func:`photonics.jax_setup.enable_persistent_cache`): a benchmark's cold
figures are those of a machine that has run it before.
"""

import statistics
import time

from photonics.jax_setup import enable_persistent_cache

enable_persistent_cache()


def median_seconds(fn, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
