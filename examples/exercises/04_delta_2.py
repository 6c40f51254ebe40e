"""Page 4, exercise 1: δ_2 written out as one chain of Jacobians, checked against the script's printout.

With the loss at step 3 only, L = ½ (a_3 - y_3)², the chain rule from the loss down to h_2 is

    δ_2 = ∂L/∂h_2 = (a_3 - y_3) · Vᵀ · diag(1 - s_3²) · Wᵀ · diag(1 - s_2²)

(row vectors: every Jacobian multiplies from the right). This script builds page 4's network
(the same seed and the same draws as examples/04_bptt.py), computes δ_2 with that product of
matrices, and compares it with the δ_2 printed in docs/images/04/single_output.txt.

    python examples/exercises/04_delta_2.py
"""

import re
from pathlib import Path

import numpy as np

TRANSCRIPT = Path(__file__).resolve().parents[2] / "docs" / "images" / "04" / "single_output.txt"

# Page 4's network, drawn exactly as examples/04_bptt.py draws it.
T = 3
rng = np.random.default_rng(0)
U, W = rng.normal(0, 0.8, (2, 2)), rng.normal(0, 0.8, (2, 2))
V, b_u, b_v = rng.normal(0, 0.8, (2, 1)), rng.normal(0, 0.1, 2), rng.normal(0, 0.1, 1)
x = [rng.uniform(0, 1, (1, 2)) for _ in range(T)]
y = [rng.uniform(0, 1, (1, 1)) for _ in range(T)]

# The forward pass, every state kept: s[0] = s_0 = 0.
s = [np.zeros((1, 2))]
for t in range(1, T + 1):
    s.append(np.tanh(x[t - 1] @ U + s[t - 1] @ W + b_u))
a_3 = s[3] @ V + b_v


def tanh_jacobian(s_t: np.ndarray) -> np.ndarray:
    """∂s_t/∂h_t for s_t = tanh(h_t): a diagonal matrix, 1 - s_t² on the diagonal."""
    return np.diag(1 - s_t[0] ** 2)


# ∂L/∂a_3, then one Jacobian per edge of the chain a_3 <- s_3 <- h_3 <- s_2 <- h_2.
delta_2 = (a_3 - y[2]) @ V.T @ tanh_jacobian(s[3]) @ W.T @ tanh_jacobian(s[2])


def printed(label: str) -> np.ndarray:
    """The row the script printed after `label` in its transcript."""
    for line in TRANSCRIPT.read_text(encoding="utf-8").splitlines():
        if line.startswith(label):
            return np.array([float(n) for n in re.findall(r"[-+]\d+\.\d+", line)])
    raise LookupError(f"{label!r} is not in {TRANSCRIPT}")


from_script = printed("δ_2 by hand")
print(f"δ_2 as a product of Jacobians   {np.array2string(delta_2[0], precision=6, floatmode='fixed', sign='+')}")
print(f"δ_2 in the script's transcript  {np.array2string(from_script, precision=6, floatmode='fixed', sign='+')}")
assert np.allclose(delta_2[0], from_script, atol=5e-7), "the chain of Jacobians disagrees with the printout"
print("they agree to the six decimals printed")
