"""Python's cyclic garbage collector, paused while a tape is built and walked.

The tape is a DAG: reference counting frees it, and the cyclic collector finds nothing
in it. Yet every op adds objects that count towards the next collection, and each
collection rescans every tensor still kept for backward(): pausing it speeds up long
unrolls (benchmarks/results.md has the figures).
"""

from __future__ import annotations

import gc
from typing import Any


class collector_paused:
    """The cyclic collector off inside this block, then back as it was (off stays off)."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: Any) -> None:
        if self.was_enabled:
            gc.enable()
