"""Property tests for every primitive op, driven by the table in ``op_cases.py``.

For every row of the table and every drawn example:

1. the forward value equals NumPy's to 1e-12;
2. ``mg.gradcheck`` (finite differences, float64, default tolerances) passes;
3. the gradient of each input has that input's shape;
4. float32 inputs give float32 outputs.

Then: gradcheck itself catches a wrong backward and says where; the ops that
exponentiate (sigmoid, softplus, softmax, log_softmax) stay finite and warning-free
at |x| = 1e4.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_cases import CASES, Example, OpCase, arrays, joined_tensor

import minigrad as mg
from minigrad.autograd import primitive

# A NumPy warning (overflow, divide by zero, invalid value) inside any op is a bug here.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

each_case = pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)


def leaves(example: Example, dtype=np.float64) -> list[mg.Tensor]:
    """Fresh tensors that require grad, one per drawn array, named x0, x1, ..."""
    return [
        mg.tensor(np.array(a, dtype=dtype), requires_grad=True, name=f"x{i}") for i, a in enumerate(example.arrays)
    ]


def params_as(example: Example, dtype) -> dict:
    """The constants of the call, with float arrays among them cast to ``dtype``."""
    return {
        key: value.astype(dtype) if isinstance(value, np.ndarray) and value.dtype.kind == "f" else value
        for key, value in example.params.items()
    }


def run(case: OpCase, example: Example, tensors: list[mg.Tensor], dtype=np.float64) -> mg.Tensor:
    """Call the op on ``tensors``; a list of outputs (split) comes back flattened and joined."""
    return joined_tensor(case.minigrad(*tensors, **params_as(example, dtype)))


def joined_numpy(expected):
    """NumPy twin of ``joined_tensor``: the pieces of a split flattened and joined."""
    if isinstance(expected, list):
        return np.concatenate([piece.reshape(-1) for piece in expected])
    return np.asarray(expected)


@each_case
@given(data=st.data())
def test_forward_matches_numpy(case: OpCase, data):
    """The op computes what NumPy computes: same shapes, same dtype, same values to 1e-12."""
    example = data.draw(case.inputs, label="example")
    got = case.minigrad(*leaves(example), **example.params)
    expected = case.numpy(*(a.copy() for a in example.arrays), **example.params)
    if isinstance(expected, list):  # split: one output per piece
        assert isinstance(got, list) and len(got) == len(expected)
    else:
        got, expected = [got], [expected]
    for piece, want in zip(got, expected):
        want = np.asarray(want)
        assert isinstance(piece, mg.Tensor)
        assert piece.shape == want.shape
        assert piece.dtype == want.dtype
        np.testing.assert_allclose(piece.data, want, rtol=1e-12, atol=1e-12)


@each_case
@given(data=st.data())
def test_gradcheck_passes(case: OpCase, data):
    """backward() agrees with central finite differences for every input element."""
    example = data.draw(case.inputs, label="example")
    assert mg.gradcheck(lambda *xs: run(case, example, list(xs)), leaves(example)) is True


@each_case
@given(data=st.data())
def test_gradient_has_the_input_shape(case: OpCase, data):
    """After backward, each input's .grad is an array of exactly that input's shape and dtype."""
    example = data.draw(case.inputs, label="example")
    tensors = leaves(example)
    out = run(case, example, tensors)
    upstream = data.draw(arrays(out.shape, -1.0, 1.0), label="upstream gradient")
    out.backward(upstream)
    for x in tensors:
        assert isinstance(x.grad, np.ndarray), f"{x.name} got no gradient"
        assert x.grad.shape == x.shape
        assert x.grad.dtype == x.dtype


@each_case
@given(data=st.data())
def test_float32_stays_float32(case: OpCase, data):
    """float32 in, float32 out (no silent promotion to float64), forward and backward."""
    example = data.draw(case.inputs, label="example")
    tensors = leaves(example, np.float32)
    out = run(case, example, tensors, np.float32)
    assert out.dtype == np.float32
    expected = joined_numpy(case.numpy(*example.arrays, **example.params))
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-4)
    out.backward(np.ones(out.shape, dtype=np.float32))
    for x in tensors:
        assert x.grad.dtype == np.float32


# ------------------------------------------------------------ gradcheck can fail


@primitive
def tanh_with_wrong_derivative(a):
    """tanh, but its backward uses 1 - tanh(x) where 1 - tanh(x)**2 is right."""
    out = np.tanh(a)

    def backward(g):
        return (g * (1 - out),)

    return out, backward


def test_gradcheck_catches_a_wrong_derivative():
    """A backward with the wrong formula raises GradcheckError naming the input and the first bad index."""
    x = mg.tensor([[0.5, 1.0], [1.5, 2.0]], requires_grad=True, name="x")
    with pytest.raises(mg.GradcheckError, match=r"input 0 \('x'\) at index \(0, 0\)"):
        mg.gradcheck(tanh_with_wrong_derivative, [x])


def mul_with_one_wrong_entry(bad_index):
    """x * y whose backward adds 1 to the gradient of y at ``bad_index`` only."""

    @primitive
    def mul(a, b):
        def backward(g):
            grad_b = g * a
            grad_b[bad_index] += 1.0
            return g * b, grad_b

        return a * b, backward

    return mul


@st.composite
def same_shape_pair_and_an_index(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x, y = draw(arrays(shape)), draw(arrays(shape))
    bad_index = tuple(draw(st.integers(0, size - 1)) for size in shape)
    return x, y, bad_index


@given(same_shape_pair_and_an_index())
def test_gradcheck_names_the_input_and_index_of_a_single_wrong_entry(drawn):
    """One wrong gradient entry, anywhere, is found: the error names input 1 ('y') and that exact index."""
    x_data, y_data, bad_index = drawn
    x = mg.tensor(x_data, requires_grad=True, name="x")
    y = mg.tensor(y_data, requires_grad=True, name="y")
    with pytest.raises(mg.GradcheckError) as caught:
        mg.gradcheck(mul_with_one_wrong_entry(bad_index), [x, y])
    message = str(caught.value)
    assert f"input 1 ('y') at index {bad_index}" in message
    assert "analytic" in message and "numeric" in message


def test_gradcheck_passes_the_same_op_without_the_wrong_entry():
    """Control for the test above: the correct x * y passes gradcheck on the same kind of inputs."""
    x = mg.tensor(np.linspace(-2, 2, 6).reshape(2, 3), requires_grad=True, name="x")
    y = mg.tensor(np.linspace(1, 3, 6).reshape(2, 3), requires_grad=True, name="y")
    assert mg.gradcheck(lambda a, b: a * b, [x, y]) is True


# ------------------------------------------------------- no overflow at |x| = 1e4

BIG = 1e4


def limit_sigmoid(x):
    return (x > 0).astype(x.dtype)  # 1 far right, 0 far left


def limit_softplus(x):
    return np.maximum(x, 0)  # log(1 + e^x) -> x far right, 0 far left


def limit_softmax(x):
    return (x == x.max(axis=-1, keepdims=True)).astype(x.dtype)  # all weight on the largest entry


def limit_log_softmax(x):
    return x - x.max(axis=-1, keepdims=True)  # log of that one-hot, up to e^-1e4 terms


SATURATING = {
    "sigmoid": (mg.sigmoid, limit_sigmoid),
    "softplus": (mg.softplus, limit_softplus),
    "softmax": (mg.softmax, limit_softmax),
    "log_softmax": (mg.log_softmax, limit_log_softmax),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", SATURATING)
def test_huge_inputs_give_finite_values_and_no_warning(name, dtype):
    """At |x| = 1e4 (e^x overflows) the op returns its mathematical limit, finite, without a RuntimeWarning."""
    op, limit = SATURATING[name]
    data = np.array([[BIG, -BIG, -BIG], [-BIG, 0.5 * BIG, BIG]], dtype=dtype)
    x = mg.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning, e.g. "overflow encountered in exp", fails the test
        out = op(x)
        out.backward(np.linspace(-1, 1, out.size).reshape(out.shape).astype(dtype))
    assert out.dtype == dtype
    assert np.all(np.isfinite(out.data))
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(out.data, limit(data), rtol=1e-6, atol=1e-6)
