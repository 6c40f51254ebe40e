"""Page 7, exercise: the best test R² any forward network, and any bidirectional one, can reach
on the look-ahead task y_t = x_{t+1} - x_{t-1}, against what the page's networks reached.

The inputs x_0 ... x_{T+1} are independent and uniform on [-1, 1], so Var(y_t) = 2 Var(x). The
network reads x_1 ... x_T only. The best prediction is the part of y_t it can know: a forward
network at step t knows x_{t-1} if t >= 2 (x_0 is never shown), a bidirectional one also knows
x_{t+1} if t <= T - 1 (x_{T+1} is never shown). Each known term explains half of Var(y_t).

    .venv/bin/python examples/exercises/07_lookahead_ceiling.py
"""

import re
from pathlib import Path

import numpy as np

import minigrad as mg

T = 10
ROOT = Path(__file__).resolve().parents[2]


def data(rng, batch, steps=T):
    """The page's data (examples/07_deep_bidirectional.py): x_1 ... x_T, and y_t = x_{t+1} - x_{t-1}."""
    x = rng.uniform(-1, 1, (batch, steps + 2, 1))
    return x[:, 1:-1], x[:, 2:] - x[:, :-2]


def best_forward(x):
    """-x_{t-1} where the network has seen it (t >= 2); 0, the mean, at t = 1."""
    guess = np.zeros_like(x)
    guess[:, 1:] = -x[:, :-1]
    return guess


def best_bidirectional(x):
    """The forward part, plus x_{t+1} where it is in the input (t <= T - 1)."""
    guess = best_forward(x)
    guess[:, :-1] += x[:, 1:]
    return guess


# Each step explains half the variance per known term: the ceiling is the mean over the T steps.
forward_ceiling = ((T - 1) * 0.5 + 0.0) / T  # steps 2..T know one term, step 1 none
both_ceiling = ((T - 2) * 1.0 + 2 * 0.5) / T  # steps 2..T-1 know both, steps 1 and T one
print(f"analytic ceilings, T = {T}: forward {forward_ceiling:.3f}, bidirectional {both_ceiling:.3f}")

test_x, test_y = data(np.random.default_rng(9), 500)  # the page's test set
reached = {
    "forward": mg.r2_score(best_forward(test_x), test_y),
    "both": mg.r2_score(best_bidirectional(test_x), test_y),
}
print(
    f"the best predictors on the page's 500 test sequences: forward {reached['forward']:.3f}, "
    f"bidirectional {reached['both']:.3f}"
)
assert abs(reached["forward"] - forward_ceiling) < 0.03 and abs(reached["both"] - both_ceiling) < 0.03

# The page's trained networks, from the transcript examples/07 writes: none beats its ceiling.
transcript = (ROOT / "docs" / "images" / "07" / "lookahead.txt").read_text(encoding="utf-8")
rows = re.findall(r"^\s+(\d)\s+(forward|both)\s+([-\d.]+)$", transcript, re.MULTILINE)
assert len(rows) == 4, f"expected the page's four networks in lookahead.txt, found {rows}"
for layers, directions, r2 in rows:
    ceiling = reached[directions]
    print(
        f"{layers} layer(s), {directions:<7}: R² {float(r2):.3f} <= {ceiling:.3f}, {float(r2) / ceiling:.0%} of the ceiling"
    )
    assert float(r2) <= ceiling + 0.01, "no network can beat the best prediction"
