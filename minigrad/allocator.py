"""Keep freed memory in the process, so a training loop does not page-fault on every array.

An autodiff step allocates a fresh array for every op and frees them all after
backward(). With glibc's defaults, arrays of 128 KiB and more are mmap-ed and handed
back to the operating system when freed, and so is free memory at the top of the heap:
the next step then pays a page fault for every page it touches again.

This changes malloc for the whole process, so ``import minigrad`` never does it: the
``minigrad`` command calls ``tune_malloc()`` (it owns its process), and a program of your
own may call it too. ``MINIGRAD_MALLOC=default`` makes the call do nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: arrays below this come from the heap
TRIM_THRESHOLD = 256 * 2**20  # free heap kept before any is returned to the system


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds; True if done (Linux with glibc only)."""
    if os.environ.get("MINIGRAD_MALLOC") == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # only glibc has mallopt with these parameters
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
