"""Where a NaN is born: the check ``mg.detect_anomaly()`` runs on every op's output going
forward and on every gradient going backward (off by default: it costs a pass over each array)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import AnomalyError


def check_finite(value: Any, op: str, direction: str, step: int | None, tensors: tuple) -> None:
    """Raise AnomalyError if ``value`` (an array or a tuple of arrays) holds a NaN or an infinity.

    ``tensors`` are the op's inputs going forward, the tensor receiving the gradient going backward.
    """
    for array in value if type(value) is tuple else (value,):
        if np.isfinite(array).all():
            continue
        what = "NaN" if np.isnan(array).any() else "infinity"
        where = f"at time step {step}" if step is not None else "outside any time step"
        names = ", ".join(t.name for t in tensors if t.name) or "unnamed"
        if direction == "forward":
            place = f"in the output of {op!r} going forward, {where}, shape {np.shape(array)}, inputs: {names}"
        else:
            place = f"in the gradient going backward into {names} (made by {op!r}), {where}, shape {np.shape(array)}"
        raise AnomalyError(f"detect_anomaly: {what} {place}")
