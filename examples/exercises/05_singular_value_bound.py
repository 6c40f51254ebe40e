"""Page 5, exercise 1: the largest singular value bounds how fast the gradient can grow.

One step back multiplies the row dL/ds_t by diag(1 - s_t²)·Wᵀ. Its norm grows at most by the
largest singular value of W times the largest tanh' (1), so over the T - 1 steps from s_T to s_1

    ‖dL/ds_1‖ / ‖dL/ds_T‖  ≤  σ_max(W)^(T-1)

With W = ρ·Q, Q orthogonal, σ_max(W) = ρ. This script builds page 5's networks (the same
seeds as examples/05_vanishing_exploding.py), measures the ratio with mg.viz.gradient_flow, and
checks it against the bound and against docs/images/05/product.txt. Then the case where the
bound is reached: every state at 0, where tanh' = 1.

    python examples/exercises/05_singular_value_bound.py
"""

import re
from pathlib import Path

import numpy as np

import minigrad as mg

TRANSCRIPT = Path(__file__).resolve().parents[2] / "docs" / "images" / "05" / "product.txt"
HIDDEN, STEPS = 32, 50  # as in the script (its transcript's first line)


def orthogonal(rng: np.random.Generator, size: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(size, size)))
    return q * np.sign(np.diag(r))


def ratio(weight_hh: np.ndarray, zero_input: bool = False) -> float:
    """‖dL/ds_1‖ / ‖dL/ds_T‖ for page 5's tanh RNN with this recurrent weight (PyTorch's layout).
    With `zero_input`, the input and the biases are zero, so every state stays at 0."""
    mg.manual_seed(0)
    rnn = mg.nn.RNN(1, HIDDEN)
    rnn.weight_hh_l0.data[:] = weight_hh
    x = np.random.default_rng(1).normal(0, 1, (1, STEPS, 1))
    if zero_input:
        x[:] = 0
        rnn.bias_ih_l0.data[:] = rnn.bias_hh_l0.data[:] = 0
    v = np.random.default_rng(2).normal(0, 1, (1, HIDDEN))  # L = s_T·vᵀ
    output, _ = rnn(mg.tensor(x))
    flow = mg.viz.gradient_flow((output[:, -1] * mg.tensor(v)).sum(), output)
    return float(flow[0] / flow[-1])


printed = dict(re.findall(r"ρ = ([\d.]+):\s+by hand \S+\s+backward\(\) (\S+)", TRANSCRIPT.read_text(encoding="utf-8")))
assert f"{HIDDEN} hidden units, {STEPS} steps" in TRANSCRIPT.read_text(encoding="utf-8")

print(f"{'ρ':>4} {'σ_max(W)':>9} {'bound ρ^(T-1)':>14} {'measured':>10} {'transcript':>11}")
for rho_text, from_script in printed.items():
    rho = float(rho_text)
    W = rho * orthogonal(np.random.default_rng(0), HIDDEN)
    singular = np.linalg.svd(W, compute_uv=False)
    assert np.allclose(singular, rho), "every singular value of ρ·Q is ρ"
    measured, bound = ratio(W), rho ** (STEPS - 1)
    print(f"{rho:4} {singular.max():9.3f} {bound:14.2e} {measured:10.2e} {from_script:>11}")
    assert measured <= bound, "the bound is broken"
    assert f"{measured:.2e}" == from_script, "not the script's network"
print("every measured ratio is below its bound; for ρ > 1 far below, because tanh' is 1 only at 0")

# When is the bound reached? When every tanh' is 1: zero biases and zero input keep every state at 0.
rho = 1.5
W = rho * orthogonal(np.random.default_rng(0), HIDDEN)
silent = ratio(W, zero_input=True)
print(f"ρ = {rho}, zero input and biases (every state 0): measured {silent:.6e}, ρ^(T-1) = {rho ** (STEPS - 1):.6e}")
assert np.isclose(silent, rho ** (STEPS - 1), rtol=1e-9), "with tanh' = 1 everywhere the bound is exact"
print("the bound is reached exactly: each step back multiplies the norm by ρ")
