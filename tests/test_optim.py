"""Optimizers (SGD, momentum, Adam), gradient clipping and the seeded generator."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import Parameter, clip_grad_norm_
from minigrad.optim import SGD, Adam, AdamW


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def trajectories(draw, max_steps=6):
    """A starting value and a sequence of gradients for one parameter."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
    steps = draw(st.integers(1, max_steps))
    start = draw(hnp.arrays(np.float64, shape, elements=floats(-5, 5)))
    grads = draw(hnp.arrays(np.float64, (steps, *shape), elements=floats(-5, 5)))
    return start, grads


def _run(optimizer_factory, start, grads):
    p = Parameter(start.copy())
    opt = optimizer_factory([p])
    for g in grads:
        p.grad = g.copy()
        opt.step()
    return p.data


# ------------------------------------------------------------ SGD


@settings(max_examples=40, deadline=None)
@given(trajectories(), floats(1e-4, 1.0))
def test_sgd_matches_formula(trajectory, lr):
    """Plain SGD: p <- p - lr * g at every step."""
    start, grads = trajectory
    expected = start.copy()
    for g in grads:
        expected = expected - lr * g
    np.testing.assert_allclose(_run(lambda ps: SGD(ps, lr=lr), start, grads), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(trajectories(), floats(1e-4, 1.0), floats(0.01, 0.99))
def test_sgd_momentum_matches_formula(trajectory, lr, momentum):
    """SGD with momentum in PyTorch's form: v <- mu v + g; p <- p - lr v (v starts at 0)."""
    start, grads = trajectory
    expected, v = start.copy(), np.zeros_like(start)
    for g in grads:
        v = momentum * v + g
        expected = expected - lr * v
    result = _run(lambda ps: SGD(ps, lr=lr, momentum=momentum), start, grads)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


def test_sgd_momentum_hand_values():
    """lr 0.1, momentum 0.9, gradient 1 three times: the velocity is 1, 1.9, 2.71."""
    p = Parameter(np.array([0.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    positions = []
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step()
        positions.append(p.data[0])
    np.testing.assert_allclose(positions, [-0.1, -0.29, -0.561], rtol=1e-12)


def test_sgd_momentum_applies_the_current_lr_to_the_whole_velocity():
    """PyTorch's form (p -= lr * v with v = mu v + g) and the 'v = mu v - lr g' form differ
    once lr changes: after lr 0.1 then 1.0 with gradients 1, PyTorch's form gives
    -0.1 - 1.0 * 1.9 = -2.0."""
    p = Parameter(np.array([0.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([1.0])
    opt.step()
    opt.lr = 1.0
    p.grad = np.array([1.0])
    opt.step()
    assert p.data[0] == pytest.approx(-2.0)  # the other form would give -0.1 - 0.9*0.1 - 1.0 = -1.19


# ------------------------------------------------------------ Adam


def _adam_reference(start, grads, lr, beta1, beta2, eps):
    """Kingma & Ba, Algorithm 1, with bias correction."""
    theta, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


@settings(max_examples=40, deadline=None)
@given(
    trajectories(max_steps=8),
    floats(1e-4, 0.5),
    floats(0.0, 0.99),
    floats(0.9, 0.9999),
    st.sampled_from([1e-8, 1e-6, 1e-3]),
)
def test_adam_matches_kingma_ba(trajectory, lr, beta1, beta2, eps):
    """Adam equals a direct NumPy implementation of Kingma & Ba with bias correction, step by step."""
    start, grads = trajectory
    result = _run(lambda ps: Adam(ps, lr=lr, betas=(beta1, beta2), eps=eps), start, grads)
    np.testing.assert_allclose(result, _adam_reference(start, grads, lr, beta1, beta2, eps), rtol=1e-10, atol=1e-12)


def test_adam_first_step_moves_by_lr():
    """Thanks to bias correction, Adam's first step moves every element by lr * sign(g), whatever |g|."""
    p = Parameter(np.array([1.0, 1.0, 1.0]))
    p.grad = np.array([1e-3, -50.0, 2.0])
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, [0.99, 1.01, 0.99], rtol=1e-5)


def test_adam_default_hyperparameters():
    """Adam defaults as in the paper and PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8."""
    start, grads = np.array([0.5, -2.0]), np.array([[1.0, -3.0], [0.5, 0.25], [-2.0, 1.0]])
    result = _run(lambda ps: Adam(ps), start, grads)
    np.testing.assert_allclose(result, _adam_reference(start, grads, 1e-3, 0.9, 0.999, 1e-8), rtol=1e-12)


# ------------------------------------------------------------ skipped parameters


@pytest.mark.parametrize(
    "make", [lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)]
)
def test_parameters_without_grad_are_skipped(make):
    """step() leaves a parameter whose grad is None untouched while updating the others."""
    a, b = Parameter(np.array([1.0, 2.0])), Parameter(np.array([3.0]))
    opt = make([a, b])
    for _ in range(3):
        a.grad = np.array([0.5, -0.5])
        b.grad = None
        opt.step()
    np.testing.assert_array_equal(b.data, [3.0])
    assert not np.array_equal(a.data, [1.0, 2.0])


def test_adam_skipped_steps_do_not_advance_bias_correction():
    """A parameter that had no gradient for a while starts Adam afresh when it gets one: its
    first update is the same as a brand-new Adam's first update (PyTorch keeps one step
    count per parameter)."""
    late, early = Parameter(np.array([1.0])), Parameter(np.array([1.0]))
    opt = Adam([early, late], lr=0.1)
    for step in range(3):
        early.grad = np.array([1.0])
        late.grad = np.array([2.0]) if step == 2 else None
        opt.step()
    np.testing.assert_allclose(late.data, _adam_reference(np.array([1.0]), [np.array([2.0])], 0.1, 0.9, 0.999, 1e-8))
    np.testing.assert_allclose(late.data, [0.9], rtol=1e-6)


def test_sgd_momentum_skipped_steps_keep_velocity():
    """With momentum, a skipped step neither decays nor applies the velocity (as PyTorch)."""
    p = Parameter(np.array([0.0]))
    opt = SGD([p], lr=0.1, momentum=0.5)
    for g in ([1.0], None, [1.0]):
        p.grad = None if g is None else np.array(g)
        opt.step()
    # v: 1 -> (skipped) -> 0.5 * 1 + 1 = 1.5 ; p = -0.1 - 0.15
    assert p.data[0] == pytest.approx(-0.25)


# ------------------------------------------------------------ general behaviour


def test_optimizer_zero_grad_clears_grads():
    """Optimizer.zero_grad() sets every parameter's grad to None."""
    ps = [Parameter(np.ones(2)), Parameter(np.ones(3))]
    for p in ps:
        p.grad = np.ones(p.shape)
    SGD(ps, lr=0.1).zero_grad()
    assert all(p.grad is None for p in ps)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_optimizer_rejects_bad_arguments(cls):
    """An empty parameter list or a non-positive lr is a ValueError."""
    with pytest.raises(ValueError, match="empty"):
        cls([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        cls([Parameter(np.ones(1))], lr=0.0)


@pytest.mark.parametrize(
    "make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1), lambda ps: AdamW(ps, lr=0.1)]
)
def test_optimizers_keep_float32_parameters_float32(make):
    """Updating float32 parameters keeps them float32, in place (the same array object)."""
    p = Parameter(np.ones(3, dtype=np.float32))
    array = p.data
    opt = make([p])
    p.grad = np.ones(3, dtype=np.float32)
    opt.step()
    assert p.dtype == np.float32 and p.data is array and not np.array_equal(array, np.ones(3))


def test_adamw_with_zero_decay_is_adam_and_decay_shrinks_weights():
    """AdamW(weight_decay=0) takes Adam's steps exactly; with decay and a zero gradient the
    weights shrink by the factor 1 - lr * weight_decay per step (the Adam part adds nothing)."""
    rng = np.random.default_rng(1)
    start, grads = rng.normal(size=5), [rng.normal(size=5) for _ in range(4)]
    plain, decoupled = _run(lambda ps: Adam(ps, lr=0.1), start, grads), _run(lambda ps: AdamW(ps, lr=0.1, weight_decay=0), start, grads)
    np.testing.assert_array_equal(plain, decoupled)
    p = Parameter(start.copy())
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        p.grad = np.zeros(5)
        opt.step()
    np.testing.assert_allclose(p.data, start * (1 - 0.1 * 0.5) ** 3, rtol=1e-12)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW([p], lr=0.1, weight_decay=-1)


def test_optimizers_agree_with_pytorch():
    """Over several steps, with one parameter skipped at times, SGD-momentum and Adam give
    PyTorch's values (skipped if torch is not installed)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    grads = [[rng.normal(size=s.shape) if (k + i) % 3 else None for i, s in enumerate(starts)] for k in range(6)]
    for ours, theirs in [
        (lambda ps: SGD(ps, lr=0.05, momentum=0.8), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8)),
        (lambda ps: Adam(ps, lr=0.05), lambda ps: torch.optim.Adam(ps, lr=0.05)),
        (lambda ps: AdamW(ps, lr=0.05, weight_decay=0.3), lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.3)),
    ]:
        mine = [Parameter(s.copy()) for s in starts]
        reference = [torch.nn.Parameter(torch.tensor(s)) for s in starts]
        opt_mine, opt_ref = ours(mine), theirs(reference)
        for step_grads in grads:
            for p, q, g in zip(mine, reference, step_grads):
                p.grad = None if g is None else g.copy()
                q.grad = None if g is None else torch.tensor(g)
            opt_mine.step()
            opt_ref.step()
        for p, q in zip(mine, reference):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ clip_grad_norm_


@st.composite
def gradient_sets(draw):
    count = draw(st.integers(1, 4))
    arrays = [
        draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=floats(-10, 10)))
        for _ in range(count)
    ]
    return arrays


@settings(max_examples=50, deadline=None)
@given(gradient_sets(), floats(0.01, 20.0))
def test_clip_grad_norm_returns_norm_and_clips(grads, max_norm):
    """clip_grad_norm_ returns the joint L2 norm before clipping; all gradients are scaled by
    one common factor so the joint norm becomes min(norm, max_norm); gradients whose norm is
    clearly below max_norm are left exactly as they were."""
    params = [Parameter(np.zeros(g.shape)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    total = np.sqrt(sum(np.sum(g**2) for g in grads))
    returned = clip_grad_norm_(params, max_norm)
    assert returned == pytest.approx(total, rel=1e-12, abs=1e-12)
    new_total = np.sqrt(sum(np.sum(p.grad**2) for p in params))
    # PyTorch's formula divides by norm + 1e-6, so "becomes max_norm" holds to about 1e-6.
    assert new_total == pytest.approx(min(total, max_norm), rel=1e-9, abs=2e-6)
    factor = min(1.0, max_norm / total) if total else 1.0
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * factor, rtol=1e-9, atol=2e-6)
    if total < max_norm - 1e-5:
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(p.grad, g)


def test_clip_grad_norm_hand_value_and_skips_missing_grads():
    """Gradients (3, 4) have norm 5; clipping to 1 gives (0.6, 0.8); a parameter without grad
    is ignored; a generator of parameters works."""
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    a.grad = np.array([3.0, 4.0])
    norm = clip_grad_norm_((p for p in [a, b]), 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [0.6, 0.8], rtol=1e-5)
    assert b.grad is None


def test_clip_grad_norm_with_module_parameters():
    """clip_grad_norm_(module.parameters(), ...) clips a module's gradients in place."""
    mg.manual_seed(0)
    layer = mg.nn.Linear(3, 2)
    (layer(mg.tensor(np.full((4, 3), 10.0))) ** 2).sum().backward()
    before = np.sqrt(sum(np.sum(p.grad**2) for p in layer.parameters()))
    assert before > 1.0
    assert clip_grad_norm_(layer.parameters(), 1.0) == pytest.approx(before)
    after = np.sqrt(sum(np.sum(p.grad**2) for p in layer.parameters()))
    assert after == pytest.approx(1.0, rel=1e-5)


# ------------------------------------------------------------ seeding


def test_manual_seed_makes_default_rng_repeatable():
    """mg.manual_seed(s) resets mg.default_rng() so the same draws follow; another seed differs."""
    mg.manual_seed(42)
    first = mg.default_rng().normal(size=5)
    more = mg.default_rng().normal(size=5)
    mg.manual_seed(42)
    np.testing.assert_array_equal(mg.default_rng().normal(size=5), first)
    np.testing.assert_array_equal(mg.default_rng().normal(size=5), more)
    mg.manual_seed(43)
    assert not np.array_equal(mg.default_rng().normal(size=5), first)


def test_manual_seed_returns_the_generator():
    """manual_seed returns the numpy Generator that default_rng() then hands out."""
    generator = mg.manual_seed(0)
    assert isinstance(generator, np.random.Generator)
    assert mg.default_rng() is generator
