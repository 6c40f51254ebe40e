"""Page 1, exercise: an echo that comes back d steps late. How big must the state be?

Train the recurrent network on y_t = x_{t-d} for d = 1, 2 (and 3 unless MINIGRAD_SMOKE=1) with
d and with d + 1 hidden units. At step t the answer x_{t-d} is read from s_t, which must also
keep x_t, ..., x_{t-d+1} for the answers still to come: d + 1 numbers in all.

    .venv/bin/python examples/exercises/01_late_echo.py
"""

import os

import numpy as np

import minigrad as mg

DELAYS = (1, 2) if os.environ.get("MINIGRAD_SMOKE") == "1" else (1, 2, 3)


def echo(rng: np.random.Generator, batch: int, steps: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    """A U(0, 1) signal and its echo ``delay`` steps late."""
    x = rng.uniform(0, 1, (batch, steps, 1))
    return x, np.concatenate([np.zeros((batch, delay, 1)), x[:, :-delay]], axis=1)


def trained_r2(delay: int, hidden: int, updates: int = 600) -> float:
    """Train mg.nn.RNN + a linear V on the delayed echo; R² on fresh sequences.
    Only the steps that have an echo count (from step d + 1 on)."""
    mg.manual_seed(0)
    rnn, out = mg.nn.RNN(1, hidden), mg.nn.Linear(hidden, 1)
    optimizer = mg.optim.Adam(list(rnn.parameters()) + list(out.parameters()), lr=0.05)
    rng, steps = np.random.default_rng(0), delay + 2
    for _ in range(updates):
        x, y = echo(rng, 32, steps, delay)
        optimizer.zero_grad()
        states, _ = rnn(mg.tensor(x))
        loss = mg.nn.mse_loss(out(states)[:, delay:], y[:, delay:])
        loss.backward()
        optimizer.step()
    x, y = echo(np.random.default_rng(100), 1000, steps, delay)
    with mg.no_grad():
        states, _ = rnn(mg.tensor(x))
        return mg.r2_score(out(states).data[:, delay:], y[:, delay:])


for delay in DELAYS:
    small, enough = trained_r2(delay, hidden=delay), trained_r2(delay, hidden=delay + 1)
    print(f"echo {delay} step(s) late: {delay} hidden unit(s) R² {small:.3f}, {delay + 1} units R² {enough:.3f}")
    assert enough > 0.95 > small  # d units are too few; d + 1 are enough
