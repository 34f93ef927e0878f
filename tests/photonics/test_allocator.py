"""keep_freed_memory: arrays of a few MB come from the heap, not from pages mapped for each and unmapped after."""

import ctypes
import ctypes.util
import os
import subprocess
import sys

import pytest

from photonics.jax_setup import machine_tag

LIBC = ctypes.util.find_library("c")
HAS_MALLINFO2 = LIBC is not None and hasattr(ctypes.CDLL(LIBC), "mallinfo2")

# In a fresh process: the bytes glibc holds in mappings of their own (mallinfo2's hblkhd) while each of arrays of
# 1, 2, 4, 8 and 16 MB lives, summed; keep_freed_memory first if asked. glibc's own mmap threshold starts at 128 kB
# and rises to the size of each mapped block freed, so each of these, larger than the last, is mapped afresh.
SCRIPT = """
import ctypes, ctypes.util, sys
import numpy as np

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Mallinfo2
if sys.argv[1:] == ["keep"]:
    from photonics.allocator import keep_freed_memory
    assert keep_freed_memory()
elif sys.argv[1:] == ["process"]:  # the CLI's whole set-up
    import jax
    from photonics.process import set_up_process
    set_up_process()
    print(jax.config.jax_compilation_cache_dir)
mapped = 0
for mb in (1, 2, 4, 8, 16):
    before = libc.mallinfo2().hblkhd
    a = np.ones(mb * 2**20 // 8)
    mapped += libc.mallinfo2().hblkhd - before
    del a
print(mapped)
"""


@pytest.mark.skipif(not HAS_MALLINFO2, reason="glibc's mallinfo2 (glibc 2.33 or later) is needed to see mappings")
def test_arrays_of_a_few_mb_come_from_the_heap_once_freed_memory_is_kept():
    assert mapped_mb() >= 31  # glibc's defaults: every one mapped for itself
    assert mapped_mb("keep") == 0  # thresholds fixed at 32 MB: all from the heap


@pytest.mark.skipif(not HAS_MALLINFO2, reason="glibc's mallinfo2 (glibc 2.33 or later) is needed to see mappings")
def test_the_clis_process_set_up_keeps_freed_memory_and_turns_the_compilation_cache_on(tmp_path):
    out = run_script("process", env={**os.environ, "MIRAGE_JAX_CACHE": str(tmp_path / "jax")}).splitlines()
    assert out[0] == str(tmp_path / "jax" / machine_tag())  # this CPU's programs, in the cache the user named
    assert int(out[1]) == 0  # and the allocator's thresholds fixed: nothing mapped for itself


def run_script(*extra, env=None) -> str:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *extra], capture_output=True, text=True, check=True, env=env
    ).stdout


def mapped_mb(*extra) -> float:
    return int(run_script(*extra)) / 2**20
