"""Page 4, exercise 3: cut the graph at s_2 and W.grad keeps only the term of step 3.

`s_2.detach()` hands step 3 the same values but no route back: backward() then stops at step 3,
and W.grad is the single term s_2ᵀ·δ_3 that page 4's transcript prints as "term t = 3". Keeping
only the last k steps of the sum is truncated BPTT; here k = 1.

    python examples/exercises/04_truncated.py
"""

import re
from pathlib import Path

import numpy as np

import minigrad as mg

TRANSCRIPT = Path(__file__).resolve().parents[2] / "docs" / "images" / "04" / "single_output.txt"

T = 3
rng = np.random.default_rng(0)  # page 4's network: the same draws as examples/04_bptt.py
U, W = rng.normal(0, 0.8, (2, 2)), rng.normal(0, 0.8, (2, 2))
V, b_u, b_v = rng.normal(0, 0.8, (2, 1)), rng.normal(0, 0.1, 2), rng.normal(0, 0.1, 1)
x = [rng.uniform(0, 1, (1, 2)) for _ in range(T)]
y = [rng.uniform(0, 1, (1, 1)) for _ in range(T)]


def w_grad(cut_before_step: int | None) -> np.ndarray:
    """W.grad for L = ½ (a_3 - y_3)², with the state detached before step `cut_before_step` (None: no cut)."""
    U_, W_, V_ = (mg.tensor(p, requires_grad=True) for p in (U, W, V))
    s_t = mg.tensor(np.zeros((1, 2)))
    for t in range(1, T + 1):
        if t == cut_before_step:
            s_t = s_t.detach()  # same values, no gradient through here
        s_t = (mg.tensor(x[t - 1]) @ U_ + s_t @ W_ + mg.tensor(b_u)).tanh()
    loss = (((s_t @ V_ + mg.tensor(b_v)) - mg.tensor(y[2])) ** 2 * 0.5).sum()
    loss.backward()
    return W_.grad


def printed(label: str) -> np.ndarray:
    """The 2 x 2 matrix the script printed after `label` (it spans two lines of the transcript)."""
    lines = TRANSCRIPT.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    return np.array([float(n) for n in re.findall(r"[-+]\d+\.\d+", lines[start] + lines[start + 1])]).reshape(2, 2)


def show(matrix: np.ndarray) -> str:
    return np.array2string(matrix.ravel(), precision=6, floatmode="fixed", sign="+")


full, truncated = w_grad(None), w_grad(cut_before_step=3)
term_3 = printed("term t = 3")
print(f"W.grad, the whole graph          {show(full)}")
print(f"W.grad, s_2 detached             {show(truncated)}")
print(f"'term t = 3' in the transcript   {show(term_3)}")
assert np.allclose(truncated, term_3, atol=5e-7), "the truncated gradient is not the last term"
assert np.allclose(full, printed("W.grad (backward)"), atol=5e-7)
assert not np.allclose(truncated, full), "cutting the graph should change W.grad"
print("with s_2 detached, W.grad is the last term alone: steps 1 and 2 no longer contribute")
