"""The conventions at the kinks, where an op has no derivative and a framework must choose one.

* relu'(0) = 0, as in PyTorch: an entry exactly at 0 (or -0.0) passes no gradient.
* ``max`` shares the gradient equally among tied maxima: each of the k entries equal to
  the maximum of their slice gets g / k, as ``torch.amax`` (and ``torch.max(x)`` without a
  dim) does. ``torch.max(x, dim)`` differs: it gives all of g to the one index it returns.

The op tests (test_ops.py) keep away from these points on purpose, so they cannot tell
``a > 0`` from ``a >= 0`` in relu, or an equal share from the whole gradient in max. These
tests land on the kinks on purpose. ``check_relu`` and ``check_max`` take the op as an
argument, so that a changed op can be run through the same checks.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import ops

if os.environ.get("CI") == "true":
    import torch  # in CI a missing torch is a failure, not a skip
else:
    try:
        import torch
    except ImportError:
        torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (the properties above still run)")

DTYPES = {np.float32: 1e-6, np.float64: 1e-12}  # dtype -> tolerance against torch
dtypes = st.sampled_from(sorted(DTYPES, key=str))
shapes = hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)


def gradient(op: Callable[..., mg.Tensor], a: np.ndarray, g: np.ndarray, **params) -> np.ndarray:
    """d(sum(op(a) * g)) / da: the gradient ``op``'s backward sends to ``a`` for an upstream ``g``."""
    x = mg.tensor(a, requires_grad=True)
    op(x, **params).backward(g)
    return x.grad


def torch_gradient(op: Callable, a: np.ndarray, g: np.ndarray, **params) -> np.ndarray:
    x = torch.tensor(a, requires_grad=True)
    op(x, **params).backward(torch.tensor(g))
    return x.grad.numpy()


# ---------------------------------------------------------------- relu


@st.composite
def at_zero(draw, dtype):
    """An array of a few values, -0.0 and 0.0 among them, with at least one exact zero."""
    a = draw(hnp.arrays(dtype, shapes, elements=st.sampled_from([-2.0, -0.5, -0.0, 0.0, 0.5, 2.0])))
    a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([0.0, -0.0]))
    return a


def upstream(dtype, shape) -> st.SearchStrategy[np.ndarray]:
    """A nonzero upstream gradient of ``shape``, so that a gradient of 0 means the op sent none."""
    return hnp.arrays(dtype, shape, elements=st.floats(0.25, 4, width=32) | st.floats(-4, -0.25, width=32))


def check_relu(relu: Callable[..., mg.Tensor], a: np.ndarray, g: np.ndarray) -> None:
    """relu's gradient is g where a > 0 and exactly 0 elsewhere, at a == 0 included."""
    grad = gradient(relu, a, g)
    assert grad.dtype == a.dtype
    np.testing.assert_array_equal(grad[a > 0], g[a > 0])
    np.testing.assert_array_equal(grad[a <= 0], 0, err_msg="relu passed gradient at or below 0")


def test_relu_gradient_at_zero_is_zero():
    a = np.array([-1.0, -0.0, 0.0, 1e-300, 1.0])
    grad = gradient(ops.relu, a, np.ones(5))
    np.testing.assert_array_equal(grad, [0, 0, 0, 1, 1])


@given(st.data(), dtypes)
def test_relu_at_zero(data, dtype):
    a = data.draw(at_zero(dtype))
    check_relu(ops.relu, a, data.draw(upstream(dtype, a.shape)))


@needs_torch
@given(st.data(), dtypes)
def test_relu_at_zero_as_torch(data, dtype):
    a = data.draw(at_zero(dtype))
    g = data.draw(upstream(dtype, a.shape))
    np.testing.assert_array_equal(gradient(ops.relu, a, g), torch_gradient(torch.relu, a, g))


# ---------------------------------------------------------------- max


@st.composite
def tied(draw, dtype):
    """``(a, axis, keepdims)``: ``a`` holds three distinct values only, so most slices have ties."""
    a = draw(hnp.arrays(dtype, shapes, elements=st.sampled_from([-1.0, 0.5, 2.0])))
    axis = draw(st.none() | st.integers(-a.ndim, a.ndim - 1) | hnp.valid_tuple_axes(a.ndim, min_size=1))
    return a, axis, draw(st.booleans())


def out_shape(a: np.ndarray, axis, keepdims: bool) -> tuple[int, ...]:
    return np.max(a, axis=axis, keepdims=keepdims).shape


def check_max(max_op: Callable[..., mg.Tensor], a: np.ndarray, g: np.ndarray, axis, keepdims: bool) -> None:
    """Each of the k maxima of a slice gets g / k: the other entries get 0, the maxima of one
    slice get equal shares, and the shares add up to that slice's g."""
    grad = gradient(max_op, a, g, axis=axis, keepdims=keepdims)
    assert grad.shape == a.shape and grad.dtype == a.dtype
    winners = a == np.max(a, axis=axis, keepdims=True)
    np.testing.assert_array_equal(grad[~winners], 0, err_msg="max sent gradient to an entry below the maximum")
    largest = np.max(np.where(winners, grad, -np.inf), axis=axis)
    smallest = np.min(np.where(winners, grad, np.inf), axis=axis)
    np.testing.assert_array_equal(largest, smallest, err_msg="tied maxima got unequal shares")
    total = np.sum(grad, axis=axis, keepdims=keepdims)
    tolerance = DTYPES[a.dtype.type]
    np.testing.assert_allclose(total, g, rtol=tolerance, atol=tolerance, err_msg="the shares do not add up to g")


def test_max_shares_equally_between_ties():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 4.0]])
    grad = gradient(ops.max, a, np.array([6.0, 6.0, 6.0]), axis=1)
    np.testing.assert_array_equal(grad, [[0, 3, 3], [2, 2, 2], [0, 6, 0]])


@given(st.data(), dtypes)
def test_max_with_ties(data, dtype):
    a, axis, keepdims = data.draw(tied(dtype))
    g = data.draw(upstream(dtype, out_shape(a, axis, keepdims)))
    check_max(ops.max, a, g, axis, keepdims)


@needs_torch
@given(st.data(), dtypes)
def test_max_with_ties_as_torch_amax(data, dtype):
    a, axis, keepdims = data.draw(tied(dtype))
    g = data.draw(upstream(dtype, out_shape(a, axis, keepdims)))
    dim = tuple(range(a.ndim)) if axis is None else axis  # amax's dim=() would mean "no axes" in old torch
    expected = torch_gradient(torch.amax, a, g, dim=dim, keepdim=keepdims)
    tolerance = DTYPES[dtype]
    ours = gradient(ops.max, a, g, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(ours, expected, rtol=tolerance, atol=tolerance)


@needs_torch
def test_torch_max_with_dim_is_not_the_rule():
    """The one PyTorch rule minigrad does not follow: ``torch.max(x, dim)`` sends all of g to one index."""
    a = np.array([[1.0, 3.0, 3.0]])
    theirs = torch_gradient(lambda x: torch.max(x, dim=1).values, a, np.ones(1))
    ours = gradient(ops.max, a, np.ones(1), axis=1)
    assert sorted(theirs[0]) == [0, 0, 1] and sorted(ours[0]) == [0, 0.5, 0.5]
