"""Every op gives the same values and gradients as an independent reference
implementation (PyTorch, CPU) to 1e-9 in float64.

The inputs come from the same strategies as ``test_ops.py`` (the table in
``op_cases.py``). Each example runs twice -- once in minigrad, once in PyTorch --
and both are handed the same random upstream gradient for ``backward``.

PyTorch is optional for a developer: without it this file is skipped. CI installs
it, so there (``CI=true``) a missing torch is an error, not a skip.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_cases import CASES, CASES_BY_NAME, OpCase, arrays, joined, joined_tensor

import minigrad as mg

if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
    import torch  # CI installs PyTorch: if it is missing, fail loudly instead of skipping
else:
    torch = pytest.importorskip("torch")

TOLERANCE = {"rtol": 1e-9, "atol": 1e-9}


def dims(axis, ndim):
    """NumPy's ``axis=None`` (all axes) in PyTorch's spelling."""
    return tuple(range(ndim)) if axis is None else axis


def torch_index(index):
    """NumPy integer arrays inside an index become torch tensors; ints, slices and ``...`` stay."""
    if isinstance(index, tuple):
        return tuple(torch_index(part) for part in index)
    return torch.from_numpy(index) if isinstance(index, np.ndarray) else index


def reversed_axes(x):
    return x.permute(tuple(reversed(range(x.ndim))))


# The PyTorch twin of every row of the table, by case name. Arguments are torch
# tensors (float64, requires_grad) and the row's constants.
TORCH = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "neg": lambda x: -x,
    "add-number": lambda x, c: x + c,
    "rsub-number": lambda x, c: c - x,
    "rdiv-number": lambda x, c: c / x,
    "rmul-ndarray": lambda x, c: torch.from_numpy(c) * x,
    "power-int": lambda x, exponent: x**exponent,
    "power-real": lambda x, exponent: x**exponent,
    "pow": lambda x, y: x**y,
    "rpow-number": lambda x, c: c**x,
    "matmul-2d@2d": torch.matmul,
    "matmul-1d@2d": torch.matmul,
    "matmul-2d@1d": torch.matmul,
    "matmul-1d@1d": torch.matmul,
    "matmul-batched": torch.matmul,
    "matmul-1d@batched": torch.matmul,
    "matmul-batched@1d": torch.matmul,
    "linear": torch.nn.functional.linear,
    "linear-bias": lambda x, w, b: torch.nn.functional.linear(x, w) + b,
    "sum": lambda x, axis, keepdims: torch.sum(x, dim=dims(axis, x.ndim), keepdim=keepdims),
    "mean": lambda x, axis, keepdims: torch.mean(x, dim=dims(axis, x.ndim), keepdim=keepdims),
    "max": lambda x, axis, keepdims: torch.amax(x, dim=dims(axis, x.ndim), keepdim=keepdims),
    "exp": torch.exp,
    "log": torch.log,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softplus": torch.nn.functional.softplus,
    "reshape": lambda x, shape: x.reshape(shape),
    "transpose": reversed_axes,
    "transpose-axes": lambda x, axes: x.permute(axes),
    "T": reversed_axes,  # torch's own .T is deprecated for ndim != 2
    "getitem-basic": lambda x, index: x[torch_index(index)],
    "getitem-int-array": lambda x, index: x[torch_index(index)],
    "getitem-mixed": lambda x, index: x[torch_index(index)],
    "softmax": lambda x, axis: torch.softmax(x, dim=axis),
    "log_softmax": lambda x, axis: torch.log_softmax(x, dim=axis),
    "concat": lambda *xs, axis: torch.cat(xs, dim=axis),
    "stack": lambda *xs, axis: torch.stack(xs, dim=axis),
    "unbind": lambda x, axis: torch.unbind(x, dim=axis),
    "split-size": lambda x, axis, size: torch.split(x, size, dim=axis),
    "split-sections": lambda x, axis, sections: torch.split(x, sections, dim=axis),
}


def test_every_case_has_a_torch_twin():
    """No row of the table escapes the reference comparison."""
    assert set(TORCH) == set(CASES_BY_NAME)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@given(data=st.data())
def test_values_and_gradients_match_pytorch(case: OpCase, data):
    """Same inputs and upstream gradient: minigrad and PyTorch agree on the output and every input's gradient."""
    example = data.draw(case.inputs, label="example")

    ours = [mg.tensor(a.copy(), requires_grad=True) for a in example.arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in example.arrays]
    our_out = joined_tensor(case.minigrad(*ours, **example.params))
    their_out = joined(
        TORCH[case.name](*theirs, **example.params), lambda pieces: torch.cat(pieces), lambda t: t.reshape(-1)
    )

    assert our_out.shape == tuple(their_out.shape)
    np.testing.assert_allclose(our_out.data, their_out.detach().numpy(), **TOLERANCE)

    upstream = data.draw(arrays(our_out.shape, -1.0, 1.0), label="upstream gradient")
    our_out.backward(upstream)
    their_out.backward(torch.from_numpy(upstream.copy()))
    for i, (x, t) in enumerate(zip(ours, theirs)):
        assert x.grad is not None and t.grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(x.grad, t.grad.numpy(), **TOLERANCE, err_msg=f"gradient of input {i}")
