"""glibc's allocator set to keep freed memory for the next arrays: a process setting, like JAX's compilation
cache (:mod:`photonics.jax_setup`), made with it by :func:`photonics.process.set_up_process`.

glibc serves an allocation above its mmap threshold by mapping fresh pages (each faulted in on first touch, then
unmapped on free) and trims the heap's free top above its trim threshold. By default the mmap threshold starts
at 128 kB and rises to the size of the largest mapped block freed so far, so how a loop's temporaries (a few MB
each: a batch of readouts, a chunk's residues) are served depends on what the process allocated and freed before
them. Fixed thresholds make it the same in every process: arrays up to 32 MB (glibc's own largest dynamic
threshold on 64-bit) come from the heap, which keeps up to 128 MB free at its top. Measured (2 cores, processes
alternated): the 0.22 mW chip's 256^3 product, every readout simulated, 4.40-4.69 s with glibc's defaults against
3.81-3.96 s (the whole of what the flagged-cell engine seemed to cost it: the code before it, 3.75-3.83 s either
way); the varied, calibrated chip's 2048^3 product 11.0-13.6 s against 10.5-11.7 s at the same peak RSS (661-766
MB); its 512^3 product the same within the machine's noise (134-189 ms either way). Dask's nanny starts its
workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also pins the mmap threshold at 128 kB: a Monte Carlo chip
then took 0.45 s on one core against 0.28 s with these thresholds (40 chips), and 19 of 68 CPU seconds of 100
chips on two workers went to the kernel. Results do not depend on it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# glibc's mallopt parameters and the values keep_freed_memory sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES = 32 * 2**20, 128 * 2**20


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (``MMAP_THRESHOLD_BYTES``, ``TRIM_THRESHOLD_BYTES``) for this process;
    False where the C library has no ``mallopt`` (not glibc: its allocator is left as it is)."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
