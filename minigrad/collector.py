"""Python's cyclic garbage collector, paused while a tape is built and walked.

The tape is a DAG: reference counting frees it, and the cyclic collector finds nothing
in it. Yet every op adds objects that count towards the next collection, and each
collection rescans every tensor still kept for backward(): pausing it speeds up long
unrolls (benchmarks/results.md has the figures).

The collector is one switch for the whole process, so the pause counts who is inside: with two
threads training at once, it stays off until the last one leaves, and is then switched back on
(if it was on when the first one came in). A program whose other threads must never see it off
can leave minigrad's pauses out with ``gc.disable``/``gc.enable`` of its own: a collector that
is already off is left off.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

_lock = threading.Lock()
_inside = 0  # blocks, in any thread, now inside collector_paused
_switched_off = False  # whether the first of them turned the collector off (and the last turns it on)


class collector_paused:
    """The cyclic collector off inside this block, then back as it was (off stays off)."""

    def __enter__(self) -> None:
        global _inside, _switched_off
        with _lock:
            if _inside == 0:
                _switched_off = gc.isenabled()
                gc.disable()
            _inside += 1

    def __exit__(self, *exc_info: Any) -> None:
        global _inside
        with _lock:
            _inside -= 1
            if _inside == 0 and _switched_off:
                gc.enable()
