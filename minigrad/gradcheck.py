"""Finite differences: the independent witness that every backward() is right.

For each input element x_i, the central difference
    (f(x + eps*e_i) - f(x - eps*e_i)) / (2*eps)
approximates df/dx_i with error O(eps^2). ``gradcheck`` compares it with what
the backward walk computed. A non-scalar output is reduced to the scalar
f = sum(v * output) with a fixed random v in [0.5, 1.5], which checks the
vector-Jacobian product the walk really computes. Nothing's ``.grad`` changes.
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterator, Sequence

import numpy as np

from minigrad.errors import GradcheckError
from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor, gradients


def gradient_errors(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6
) -> Iterator[tuple[int, tuple[int, ...], float, float]]:
    """For every element of every input that requires grad, yield
    ``(input position, element index, analytic gradient, numeric gradient)``."""
    inputs = list(inputs)
    checked = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    if any(x.dtype != np.float64 for _, x in checked):
        warnings.warn("gradcheck: inputs are not float64; finite differences will be inaccurate", stacklevel=3)

    output = fn(*inputs)
    # A one-element output is checked as it is; a larger one through sum(v * output), v fixed.
    weights = np.ones(output.shape) if output.size == 1 else np.random.default_rng(0).uniform(0.5, 1.5, output.shape)

    def objective() -> float:
        with no_grad():
            return float(np.sum(fn(*inputs).data * weights))

    tensors = [x for _, x in checked]
    if output.requires_grad:
        analytic = gradients(output, tensors, weights)  # leaves every .grad as it was
    else:  # nothing the output depends on requires grad: every gradient is 0
        analytic = [np.zeros_like(x.data) for x in tensors]

    for (position, x), exact in zip(checked, analytic):
        for index in np.ndindex(*x.shape):
            original = x.data[index]
            try:
                x.data[index] = original + eps
                above = objective()
                x.data[index] = original - eps
                below = objective()
            finally:
                x.data[index] = original  # even if fn raises, the input is left as it was
            yield position, index, float(exact[index]), (above - below) / (2 * eps)


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check ``backward()`` of ``fn(*inputs)`` against central differences.

    Every element of every input with ``requires_grad=True`` is perturbed. Returns
    True, or raises ``mg.GradcheckError`` naming the input, the element index and
    the analytic and numeric values. Inputs should be float64: in float32 the
    differences drown in rounding error.
    """
    inputs = list(inputs)
    for position, index, analytic, numeric in gradient_errors(fn, inputs, eps):
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            name = inputs[position].name
            label = f"input {position}" + (f" ({name!r})" if name else "")
            raise GradcheckError(
                f"gradcheck: {label} at index {index}: analytic {analytic:.8g}, numeric {numeric:.8g} "
                f"(difference {abs(analytic - numeric):.3g} > atol + rtol*|numeric| = "
                f"{atol + rtol * abs(numeric):.3g})"
            )
    return True
