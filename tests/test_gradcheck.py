"""mg.gradcheck: finite differences as the independent witness of backward()."""

from __future__ import annotations

import re
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import primitive

_MESSAGE = re.compile(r"input (\d+)(?: \('(\w+)'\))? at index (\([\d, ]*\)): analytic (\S+), numeric (\S+)")


def _parse(error: mg.GradcheckError):
    match = _MESSAGE.search(str(error))
    assert match, f"unexpected gradcheck message: {error}"
    position, name, index, analytic, numeric = match.groups()
    return int(position), name, eval(index), float(analytic.rstrip(",")), float(numeric.rstrip(","))


@primitive
def _square_with_wrong_backward(a):
    """a**2 whose backward forgets the factor 2: the kind of bug gradcheck exists to catch."""

    def backward(g):
        return (g * a,)

    return a * a, backward


values = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
    elements=st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=25, deadline=None)
@given(values, st.integers(0, 2**32 - 1))
def test_correct_functions_pass(x_value, seed):
    """gradcheck returns True for a correct composite of ops (scalar output)."""
    w_value = np.random.default_rng(seed).normal(size=(x_value.shape[-1], 3))
    x = mg.tensor(x_value, requires_grad=True)
    w = mg.tensor(w_value, requires_grad=True)
    assert mg.gradcheck(lambda a, b: ((a @ b).tanh() * a.sum()).sum(), [x, w]) is True


@settings(max_examples=15, deadline=None)
@given(values)
def test_non_scalar_outputs_pass(x_value):
    """A function with a non-scalar output is checked through its vector-Jacobian product."""
    x = mg.tensor(x_value, requires_grad=True)
    assert mg.gradcheck(lambda a: a.sigmoid() * a + a.T.sum(), [x]) is True


def test_wrong_gradient_raises_naming_input_index_and_values():
    """A function whose backward is wrong (x.detach() * x: analytic x, true 2x) raises
    GradcheckError naming the input's position and name, the index, and the analytic and
    numeric values -- which are off by exactly the missing factor 2."""
    c = mg.tensor([1.0, 2.0])
    w = mg.tensor([[0.5, -1.5], [2.0, 3.0]], requires_grad=True, name="w")
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda a, b: (b.detach() * b).sum() + a.sum(), [c, w])
    assert "\n" not in str(info.value)
    position, name, index, analytic, numeric = _parse(info.value)
    assert (position, name, index) == (1, "w", (0, 0))
    assert analytic != 0
    assert numeric == pytest.approx(2 * analytic, rel=1e-5)


def test_wrong_primitive_is_caught_on_non_scalar_output():
    """An op with a buggy backward fails gradcheck also when the output is not a scalar."""
    x = mg.tensor(np.array([[0.3, -0.7, 1.1]]), requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(_square_with_wrong_backward, [x])
    position, name, index, analytic, numeric = _parse(info.value)
    assert (position, name, index) == (0, None, (0, 0))
    assert numeric == pytest.approx(2 * analytic, rel=1e-5)


def test_gradcheck_error_is_an_assertion_error():
    """GradcheckError is an AssertionError, so a failing check reads as a test failure."""
    assert issubclass(mg.GradcheckError, AssertionError)


def test_tolerances_are_used():
    """A deliberately wrong gradient passes when atol is larger than the error and fails otherwise."""
    x = mg.tensor(np.array([1e-3, -2e-3]), requires_grad=True)
    fn = lambda a: (a.detach() * a).sum()  # noqa: E731  analytic a, numeric 2a: error |a| <= 2e-3
    assert mg.gradcheck(fn, [x], atol=1e-2) is True
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(fn, [x], atol=1e-4, rtol=0.0)


def test_warns_on_float32_inputs():
    """Float32 inputs trigger a warning that finite differences will be inaccurate."""
    x = mg.tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        assert mg.gradcheck(lambda a: (a * a).sum(), [x], eps=1e-2, atol=1e-2, rtol=1e-2) is True


def test_no_warning_on_float64_inputs():
    """Float64 inputs check silently."""
    x = mg.tensor(np.array([0.5, -1.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.gradcheck(lambda a: (a * a).sum(), [x]) is True


@pytest.mark.parametrize("correct", [True, False])
def test_leaves_data_and_existing_grad_untouched(correct):
    """After gradcheck, passing or failing, inputs hold the same values and the same
    .grad object with the same contents as before."""
    x_value = np.array([[0.4, -1.2, 2.0], [0.1, 0.0, -0.5]])
    x = mg.tensor(x_value.copy(), requires_grad=True)
    y = mg.tensor(np.array([1.5, -0.5, 0.25]), requires_grad=True)
    existing = np.full(x.shape, 7.0)
    x.grad = existing
    if correct:
        fn = lambda a, b: (a * b).tanh().sum()  # noqa: E731
        assert mg.gradcheck(fn, [x, y]) is True
    else:
        fn = lambda a, b: (a.detach() * a * b).sum()  # noqa: E731
        with pytest.raises(mg.GradcheckError):
            mg.gradcheck(fn, [x, y])
    np.testing.assert_array_equal(x.data, x_value)
    np.testing.assert_array_equal(y.data, [1.5, -0.5, 0.25])
    assert x.grad is existing
    np.testing.assert_array_equal(existing, 7.0)
    assert y.grad is None


def test_nothing_requires_grad_raises_clearly():
    """gradcheck with no input requiring grad is an error that says so, not a silent True."""
    x = mg.tensor(np.ones(3))
    with pytest.raises(ValueError, match="requires_grad") as info:
        mg.gradcheck(lambda a: (a * a).sum(), [x])
    assert "\n" not in str(info.value)


def test_only_inputs_requiring_grad_are_checked():
    """Constant inputs are passed to fn but not perturbed; an input fn ignores has gradient 0."""
    calls = []
    c = mg.tensor(np.array([2.0, 3.0]))
    x = mg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    unused = mg.tensor(np.array([1.0]), requires_grad=True)

    def fn(a, b, u):
        calls.append(a.data.copy())
        return (a * b * b).sum()

    assert mg.gradcheck(fn, [c, x, unused]) is True
    assert all(np.array_equal(seen, [2.0, 3.0]) for seen in calls)


def test_non_leaf_input():
    """A correct function passes gradcheck even when an input is itself computed (non-leaf)."""
    base = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = base * 3.0
    assert mg.gradcheck(lambda a: (a * a).sum(), [x]) is True
