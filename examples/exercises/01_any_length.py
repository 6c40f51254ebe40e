"""Page 1, exercise: what sharing U, W and V buys.

The lecture: three feed-forward nets linked h1 -> h2 -> h3 by W are, "if that were all", only a
stack; in a recurrent network the three U are one matrix, the three V one matrix and the two W
one matrix. Count the parameters of the stack and of the shared network for 3 and for 20 steps. Then train the shared network on the
echo with sequences of 3 steps and run it on sequences of 20: does it still echo?

    .venv/bin/python examples/exercises/01_any_length.py
"""

import os

import numpy as np

import minigrad as mg

HIDDEN = 2
UPDATES = 300 if os.environ.get("MINIGRAD_SMOKE") == "1" else 600


class Shared(mg.nn.Module):
    """h_t = x_t·U + s_{t-1}·W + b_u, s_t = tanh(h_t), z_t = s_t·V + b_v: one U, W, V for every step."""

    def __init__(self):
        super().__init__()
        rng = mg.default_rng()
        self.U = mg.nn.Parameter(rng.normal(0, 0.5, (1, HIDDEN)))
        self.W = mg.nn.Parameter(rng.normal(0, 0.5, (HIDDEN, HIDDEN)))
        self.V = mg.nn.Parameter(rng.normal(0, 0.5, (HIDDEN, 1)))
        self.b_u = mg.nn.Parameter(np.zeros(HIDDEN))
        self.b_v = mg.nn.Parameter(np.zeros(1))

    def forward(self, x: np.ndarray) -> mg.Tensor:
        """x: (batch, steps, 1), any number of steps -> z: (batch, steps, 1)."""
        s = mg.tensor(np.zeros((len(x), HIDDEN)))  # s_0 = 0
        outputs = []
        for t in range(x.shape[1]):  # the same parameters at every step: the loop can run as long as x is
            s = (mg.tensor(x[:, t]) @ self.U + s @ self.W + self.b_u).tanh()
            outputs.append(s @ self.V + self.b_v)
        return mg.stack(outputs, axis=1)


def stack_size(net: Shared, steps: int) -> int:
    """Parameters of the unshared stack: its own U, V, b_u, b_v at each step, its own W between steps."""
    per_step = net.U.data.size + net.V.data.size + net.b_u.data.size + net.b_v.data.size
    return steps * per_step + (steps - 1) * net.W.data.size


def echo(rng: np.random.Generator, batch: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """A U(0, 1) signal and its echo one step late (0 at the first step)."""
    x = rng.uniform(0, 1, (batch, steps, 1))
    return x, np.concatenate([np.zeros((batch, 1, 1)), x[:, :-1]], axis=1)


mg.manual_seed(0)
net = Shared()
shared = sum(p.data.size for p in net.parameters())
for steps in (3, 20):
    print(
        f"{steps:2d} steps: a stack of feed-forward nets has {stack_size(net, steps):3d} parameters, "
        f"the recurrent net {shared}"
    )
assert stack_size(net, 20) > stack_size(net, 3) > shared  # the stack grows with the sequence; sharing does not

rng = np.random.default_rng(0)
optimizer = mg.optim.Adam(list(net.parameters()), lr=0.05)
for _ in range(UPDATES):
    x, y = echo(rng, 32, steps=3)  # trained on 3 steps only
    optimizer.zero_grad()
    loss = mg.nn.mse_loss(net(x), y)
    loss.backward()
    optimizer.step()

scores = {}
for steps in (3, 20):
    x, y = echo(np.random.default_rng(1), 1000, steps)
    with mg.no_grad():
        scores[steps] = mg.r2_score(net(x).data, y)
    print(f"trained on 3 steps, tested on {steps:2d}: R² {scores[steps]:.3f}")
assert scores[20] > 0.95  # the same cell, applied 20 times, still echoes
