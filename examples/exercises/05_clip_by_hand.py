"""Page 5, exercise 2: clipping by hand, and why all gradients are scaled together.

clip_grad_norm_(params, c) computes the joint norm N = sqrt(Σ_p ‖g_p‖²) of every gradient and,
when N > c, multiplies each g_p by c / N. This script takes one gradient of page 5's exploding
network (ρ = 1.5, the regression of its clipping section, one batch), clips it by hand and with
mg.nn.clip_grad_norm_, and compares the two. Then it clips each parameter's gradient on its own
instead: every piece is then short, but the whole points elsewhere.

    python examples/exercises/05_clip_by_hand.py
"""

import numpy as np

import minigrad as mg

HIDDEN, CLIP = 32, 1.0


def orthogonal(rng: np.random.Generator, size: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(size, size)))
    return q * np.sign(np.diag(r))


def one_gradient() -> list[mg.Tensor]:
    """The parameters of page 5's ρ = 1.5 network after one backward() on one batch."""
    mg.manual_seed(0)
    rnn = mg.nn.RNN(1, HIDDEN)
    rnn.weight_hh_l0.data[:] = 1.5 * orthogonal(np.random.default_rng(0), HIDDEN)
    head = mg.nn.Linear(HIDDEN, 1)
    x = np.random.default_rng(0).uniform(0, 1, (32, 30, 1))
    y = x[:, :5, 0].sum(axis=1, keepdims=True)  # the sum of the first inputs, as in the script
    output, _ = rnn(mg.tensor(x))
    mg.nn.mse_loss(head(output[:, -1]), y).backward()
    return [*rnn.parameters(), *head.parameters()]


def flat(grads: list[np.ndarray]) -> np.ndarray:
    """All gradients as one long vector: the direction an update moves the weights in."""
    return np.concatenate([g.ravel() for g in grads])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


params = one_gradient()
original = [p.grad.copy() for p in params]

# By hand: one joint norm, one scale for every gradient.
joint = np.sqrt(sum(np.sum(g * g) for g in original))
by_hand = [g * min(1.0, CLIP / joint) for g in original]

# minigrad's clip_grad_norm_ scales p.grad in place and returns the norm before clipping.
returned = mg.nn.clip_grad_norm_(params, CLIP)
library = [p.grad for p in params]

# Per parameter: each gradient clipped to CLIP on its own.
separately = [g * min(1.0, CLIP / np.linalg.norm(g)) for g in original]

print(f"joint norm before clipping    {joint:.4g} (clip_grad_norm_ returned {returned:.4g})")
# clip_grad_norm_ divides by N + 1e-6 (no division by zero): the two agree to about 1e-6 relative.
print(f"by hand vs clip_grad_norm_    largest difference {np.abs(flat(by_hand) - flat(library)).max():.1e}")
for label, clipped in (("joint clipping", by_hand), ("per-parameter clipping", separately)):
    print(
        f"{label:<29} norm {np.linalg.norm(flat(clipped)):.4f}, "
        f"cosine with the unclipped gradient {cosine(flat(clipped), flat(original)):.6f}"
    )
assert np.isclose(returned, joint) and joint > CLIP, "this gradient is large enough to be clipped"
assert np.allclose(flat(by_hand), flat(library), rtol=1e-5), "by hand and clip_grad_norm_ differ"
assert np.isclose(cosine(flat(by_hand), flat(original)), 1.0), "joint clipping keeps the direction"
assert cosine(flat(separately), flat(original)) < 0.999, "per-parameter clipping should turn the step"
print("joint clipping only shortens the step; clipping each parameter alone also turns it")
