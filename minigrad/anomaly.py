"""Where a NaN is born: the check ``mg.detect_anomaly()`` runs on every op's output going
forward and on every gradient going backward (off by default: it costs a pass over each array)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import AnomalyError


def check_output(value: Any, op: str, step: int | None, inputs: tuple) -> None:
    """Going forward: raise if an op's output (an array, or a tuple of them) is not finite."""
    for array in value if type(value) is tuple else (value,):
        if not np.isfinite(array).all():
            names = ", ".join(_label(t) for t in inputs if t.name) or "unnamed"
            raise AnomalyError(f"detect_anomaly: {_what(array)} in the output of {op!r} going forward, "
                               f"{_at(step)}, shape {np.shape(array)}, from inputs {names}")  # fmt: skip


def check_gradient(grad: np.ndarray, sender: Any, receiver: Any) -> None:
    """Going backward: raise if the gradient ``sender``'s backward hands to ``receiver`` is not finite."""
    if not np.isfinite(grad).all():
        raise AnomalyError(f"detect_anomaly: {_what(grad)} in the gradient that {sender.op!r} sends backward "
                           f"into {_label(receiver) if receiver.name else 'its input'} (shape {np.shape(grad)}), "
                           f"{_at(sender.tags.get('step'))}")  # fmt: skip


def _what(array: np.ndarray) -> str:
    return "NaN" if np.isnan(array).any() else "infinity"


def _at(step: int | None) -> str:
    return f"at time step {step}" if step is not None else "outside any time step"


def _label(tensor: Any) -> str:
    """A tensor's name with its step filled in, as the pictures label it: s_t at step 82 is s_82."""
    step = tensor.tags.get("step")
    return tensor.name.replace("_t", f"_{step}") if step is not None and tensor.name.endswith("_t") else tensor.name
