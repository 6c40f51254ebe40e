"""Grad mode: whether ops are recorded, which tags they get, whether NaNs are hunted.

Each thread has its own, as in PyTorch: ``mg.no_grad()`` in one thread leaves another
thread's training recording as before.
"""

from __future__ import annotations

import contextlib
import threading
from types import MappingProxyType
from typing import Any, Callable


class _ThreadState(threading.local):
    """Grad mode, the current tags and anomaly detection: each thread its own, as in PyTorch."""

    def __init__(self) -> None:
        self.grad_enabled, self.tags, self.detect_anomaly = True, MappingProxyType({}), False
        self.recorder = None  # mg.jit's recorder while it records a call in this thread (jit.py); None otherwise


state = _ThreadState()  # read by every op (autograd.primitive)


class _Switch(contextlib.ContextDecorator):
    """Set one field of this thread's state inside a block or a decorated function, then restore it."""

    field, value = "", None

    def __new__(cls, function: Callable | None = None, *args: Any, **kwargs: Any):
        switch = super().__new__(cls)
        switch.saved = []  # a stack, so a decorated recursive function restores correctly
        return switch if function is None or not callable(function) else switch(function)  # bare @mg.no_grad

    def __enter__(self) -> None:
        self.saved.append(getattr(state, self.field))
        setattr(state, self.field, self.value)

    def __exit__(self, *exc_info: Any) -> None:
        setattr(state, self.field, self.saved.pop())


class no_grad(_Switch):
    """Record nothing inside: ``with mg.no_grad():``, ``@mg.no_grad`` (evaluation, updates)."""

    field, value = "grad_enabled", False


class detect_anomaly(_Switch):
    """Raise ``mg.AnomalyError`` at the first NaN or infinity, forward or backward (anomaly.py)."""

    field, value = "detect_anomaly", True


class time_step(_Switch):
    """Tag every op recorded inside with ``step`` (and e.g. ``layer=``, ``direction=``); the graph
    view groups nodes by these. ``step=None``: work of a layer but of no single step."""

    field = "tags"

    def __init__(self, step: int | None, **tags: Any):
        self.step, self.more = step, tags

    def __enter__(self) -> None:
        self.value = MappingProxyType({**state.tags, "step": self.step, **self.more})  # read-only: safely shared
        super().__enter__()


def is_grad_enabled() -> bool:
    """True unless inside ``mg.no_grad()`` (in this thread)."""
    return state.grad_enabled
