"""keep_freed_memory: arrays of a few MB come from the heap, not from pages mapped for each and unmapped after."""

import ctypes
import ctypes.util
import subprocess
import sys

import pytest

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
if len(sys.argv) > 1:
    from photonics.allocator import keep_freed_memory
    assert keep_freed_memory()
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
    def mapped_mb(*extra) -> float:
        out = subprocess.run([sys.executable, "-c", SCRIPT, *extra], capture_output=True, text=True, check=True)
        return int(out.stdout) / 2**20

    assert mapped_mb() >= 31  # glibc's defaults: every one mapped for itself
    assert mapped_mb("keep") == 0  # thresholds fixed at 32 MB: all from the heap
