"""Page 7, exercise: which inputs can each half of a bidirectional layer's output at step t depend on?

The forward half (the lecture's 正向循环, left to right) at step t has read x_1 ... x_t; the
reverse half (逆向循环, right to left) has read x_T ... x_t. mg.gradients measures it: the
gradient of one half at step t with respect to every x_k is exactly zero where it cannot see.

    .venv/bin/python examples/exercises/07_what_each_direction_sees.py
"""

import numpy as np

import minigrad as mg

T, H, t = 5, 4, 3  # steps, hidden units per direction, the step looked at (1-based)
mg.manual_seed(0)
rnn = mg.nn.RNN(1, H, bidirectional=True)
x = mg.tensor(np.random.default_rng(0).normal(size=(1, T, 1)), requires_grad=True)
output, _ = rnn(x)  # (batch, T, 2·H): the forward half first

for half, columns in (("forward", slice(0, H)), ("reverse", slice(H, 2 * H))):
    (grad,) = mg.gradients(output[:, t - 1, columns].sum(), [x], retain_graph=True)
    seen = [k + 1 for k in range(T) if grad[0, k, 0] != 0]
    print(f"{half} half at step {t} depends on x_k for k in {seen}")
    assert seen == (list(range(1, t + 1)) if half == "forward" else list(range(t, T + 1)))
