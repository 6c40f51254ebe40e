"""Losses: values equal the NumPy formulas, gradients pass gradcheck, extreme logits stay finite."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import bce_with_logits, cross_entropy, mse_loss

REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}
reductions = st.sampled_from(sorted(REDUCE))
shapes = hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def pairs(draw, low=-10.0, high=10.0, target_low=-10.0, target_high=10.0):
    shape = draw(shapes)
    x = draw(hnp.arrays(np.float64, shape, elements=floats(low, high)))
    y = draw(hnp.arrays(np.float64, shape, elements=floats(target_low, target_high)))
    return x, y


@st.composite
def logits_and_targets(draw, max_dims=2, low=-20.0, high=20.0):
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, max_side=4))
    classes = draw(st.integers(1, 5))
    logits = draw(hnp.arrays(np.float64, (*batch, classes), elements=floats(low, high)))
    target = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, classes - 1)))
    return logits, target


def _np_cross_entropy(logits, target):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, target[..., None], axis=-1)[..., 0]


def _check(loss, expected):
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------ values


@settings(max_examples=40, deadline=None)
@given(pairs(), reductions)
def test_mse_matches_numpy(pair, reduction):
    """mse_loss = reduce((p - t)^2), for every reduction."""
    p, t = pair
    _check(mse_loss(mg.tensor(p), t, reduction=reduction), REDUCE[reduction]((p - t) ** 2))
    _check(mse_loss(mg.tensor(p), mg.tensor(t), reduction=reduction), REDUCE[reduction]((p - t) ** 2))


@settings(max_examples=40, deadline=None)
@given(pairs(low=-50.0, high=50.0, target_low=0.0, target_high=1.0), reductions)
def test_bce_with_logits_matches_numpy(pair, reduction):
    """bce_with_logits = reduce(-[y log s(x) + (1-y) log(1-s(x))]), written stably as log(1+e^x) - x y."""
    x, y = pair
    expected = np.logaddexp(0.0, x) - x * y
    _check(bce_with_logits(mg.tensor(x), y, reduction=reduction), REDUCE[reduction](expected))


@settings(max_examples=40, deadline=None)
@given(pairs(low=-8.0, high=8.0, target_low=0.0, target_high=1.0))
def test_bce_with_logits_matches_textbook_formula(pair):
    """On moderate logits it equals the textbook -[y log s + (1-y) log(1-s)] with s = 1/(1+e^-x)."""
    x, y = pair
    s = 1 / (1 + np.exp(-x))
    expected = -(y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(bce_with_logits(mg.tensor(x), y, reduction="none").data, expected, rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(logits_and_targets(), reductions)
def test_cross_entropy_matches_numpy(pair, reduction):
    """cross_entropy = reduce(logsumexp(x) - x[target]) over the last axis, any batch shape."""
    logits, target = pair
    expected = REDUCE[reduction](_np_cross_entropy(logits, target))
    _check(cross_entropy(mg.tensor(logits), target, reduction=reduction), expected)


def test_cross_entropy_hand_value():
    """Uniform logits over C classes give exactly log C."""
    loss = cross_entropy(mg.tensor(np.zeros((2, 4))), [0, 3])
    assert loss.item() == pytest.approx(np.log(4))


# ------------------------------------------------------------ gradients


@settings(max_examples=25, deadline=None)
@given(pairs(low=-3.0, high=3.0), reductions)
def test_mse_gradients_pass_gradcheck(pair, reduction):
    """mse_loss's gradients with respect to prediction and target agree with finite differences."""
    p, t = (mg.tensor(a, requires_grad=True) for a in pair)
    assert mg.gradcheck(lambda a, b: mse_loss(a, b, reduction=reduction), [p, t])


@settings(max_examples=25, deadline=None)
@given(pairs(low=-5.0, high=5.0, target_low=0.0, target_high=1.0), reductions)
def test_bce_with_logits_gradients_pass_gradcheck(pair, reduction):
    """bce_with_logits's gradients with respect to logits and target agree with finite differences."""
    x, y = (mg.tensor(a, requires_grad=True) for a in pair)
    assert mg.gradcheck(lambda a, b: bce_with_logits(a, b, reduction=reduction), [x, y])


@settings(max_examples=25, deadline=None)
@given(logits_and_targets(max_dims=3, low=-5.0, high=5.0), reductions)
def test_cross_entropy_gradients_pass_gradcheck(pair, reduction):
    """cross_entropy's gradient with respect to the logits agrees with finite differences."""
    logits, target = pair
    x = mg.tensor(logits, requires_grad=True)
    assert mg.gradcheck(lambda a: cross_entropy(a, target, reduction=reduction), [x])


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    """d mean-CE / d logits = (softmax(x) - onehot(target)) / N."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4))
    target = rng.integers(0, 4, size=6)
    x = mg.tensor(logits, requires_grad=True)
    cross_entropy(x, target).backward()
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, (softmax - np.eye(4)[target]) / 6, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ extreme logits


def test_bce_with_logits_stable_at_huge_logits():
    """At logits +-1e4 the losses are finite and exact (0 when right, 1e4 when wrong) and the
    gradient is sigmoid(x) - y, i.e. 0 or +-1 (per element, before the mean)."""
    x = mg.tensor(np.array([1e4, 1e4, -1e4, -1e4]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = bce_with_logits(x, y, reduction="sum")
    loss.backward()
    np.testing.assert_array_equal(bce_with_logits(x, y, reduction="none").data, [0.0, 1e4, 0.0, 1e4])
    assert loss.item() == 2e4
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, -1.0])


def test_cross_entropy_stable_at_huge_logits():
    """At logits of +-1e4 cross-entropy is finite and exact: 0 for the dominant class, 1e4 or
    2e4 for the others, and the gradient is softmax - one-hot with no NaN."""
    x = mg.tensor(np.array([[1e4, 0.0, -1e4]] * 3), requires_grad=True)
    target = np.array([0, 1, 2])
    losses = cross_entropy(x, target, reduction="none")
    np.testing.assert_array_equal(losses.data, [0.0, 1e4, 2e4])
    cross_entropy(x, target, reduction="sum").backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad, [[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [1.0, 0.0, -1.0]], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(pairs(low=-1e4, high=1e4, target_low=0.0, target_high=1.0))
def test_bce_with_logits_finite_over_wide_range(pair):
    """Across logits in [-1e4, 1e4] the loss and gradient are finite and match the stable formula."""
    x_value, y = pair
    x = mg.tensor(x_value, requires_grad=True)
    loss = bce_with_logits(x, y, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), np.sum(np.logaddexp(0.0, x_value) - x_value * y), rtol=1e-10, atol=1e-8)
    sigmoid = np.exp(-np.logaddexp(0.0, -x_value))
    np.testing.assert_allclose(x.grad, sigmoid - y, atol=1e-12)


# ------------------------------------------------------------ sequences


def test_cross_entropy_on_sequences():
    """Logits (N, T, C) with targets (N, T): per-step losses of shape (N, T), the mean over all
    N*T steps, and gradients that pass gradcheck."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 5, 4))
    target = rng.integers(0, 4, size=(2, 5))
    per_step = cross_entropy(mg.tensor(logits), target, reduction="none")
    assert per_step.shape == (2, 5)
    expected = np.array([[_np_cross_entropy(logits[n, t], target[n, t]) for t in range(5)] for n in range(2)])
    np.testing.assert_allclose(per_step.data, expected, rtol=1e-12)
    assert cross_entropy(mg.tensor(logits), target).item() == pytest.approx(expected.mean(), rel=1e-12)
    x = mg.tensor(logits, requires_grad=True)
    assert mg.gradcheck(lambda a: cross_entropy(a, target), [x])


def test_cross_entropy_accepts_tensor_and_list_targets():
    """Targets may be an integer Tensor or a list as well as an array."""
    logits = np.random.default_rng(4).normal(size=(3, 2))
    expected = cross_entropy(mg.tensor(logits), np.array([1, 0, 1])).item()
    assert cross_entropy(mg.tensor(logits), mg.tensor([1, 0, 1])).item() == expected
    assert cross_entropy(mg.tensor(logits), [1, 0, 1]).item() == expected


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("target", "error", "pattern"),
    [
        (np.array([0.0, 1.0]), TypeError, "integer"),
        (np.array([True, False]), TypeError, "integer"),
        (np.array([0, 3]), IndexError, r"\[0, 3\).*0\.\.3"),
        (np.array([-1, 0]), IndexError, r"\[0, 3\)"),
        (np.array([0, 1, 2]), mg.ShapeError, r"\(2, 3\).*\(2,\).*\(3,\)"),
        (np.array([[0, 1]]), mg.ShapeError, r"\(1, 2\)"),
    ],
)
def test_cross_entropy_bad_targets_raise(target, error, pattern):
    """Non-integer, out-of-range or wrongly shaped targets raise a one-line error saying which."""
    with pytest.raises(error, match=pattern) as info:
        cross_entropy(mg.tensor(np.zeros((2, 3))), target)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("loss", [mse_loss, bce_with_logits])
def test_elementwise_losses_reject_shape_mismatch(loss):
    """mse_loss and bce_with_logits need prediction and target of one shape (no silent broadcasting)."""
    with pytest.raises(mg.ShapeError, match=r"\(3, 1\).*\(3,\)"):
        loss(mg.tensor(np.zeros((3, 1))), np.zeros(3))


@pytest.mark.parametrize("loss", [mse_loss, bce_with_logits, cross_entropy])
def test_unknown_reduction_raises(loss):
    """A reduction other than mean, sum or none is a ValueError naming it."""
    target = np.zeros(2, dtype=int) if loss is cross_entropy else np.zeros((2, 3))
    with pytest.raises(ValueError, match="'avg'"):
        loss(mg.tensor(np.zeros((2, 3))), target, reduction="avg")
