"""The settings a process makes once, before any work, as the `mirage` CLI does: one call for every entry point
(the CLI, the benchmarks, each Monte Carlo worker, a user's own script).

- JAX's persistent compilation cache (:func:`photonics.jax_setup.enable_persistent_cache`): compiled programs
  are kept across runs in the user's cache directory (``MIRAGE_JAX_CACHE=off``: not);
- glibc's allocator keeping freed memory (:func:`photonics.allocator.keep_freed_memory`): a product's few-MB
  temporaries come from the heap in every process, not from pages mapped for each.

Neither changes a result.
"""

from __future__ import annotations

from photonics.allocator import keep_freed_memory
from photonics.jax_setup import enable_persistent_cache


def set_up_process() -> None:
    """JAX's persistent compilation cache on, and glibc's allocator thresholds fixed, for this process."""
    enable_persistent_cache()
    keep_freed_memory()
