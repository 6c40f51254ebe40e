"""Page 3, exercise: make the subtraction network forget the borrow, and watch which step fails.

Train the `binary-subtraction` task, then run the trained cell one step at a time with its state
reset to zero before every step: s_{t-1} = 0, as at the first step, so nothing is carried from
the bit below. Which bits come out wrong?

    .venv/bin/python examples/exercises/03_forget_the_borrow.py      (seconds: training stops once every pair is right)
"""

import numpy as np

import minigrad as mg
from minigrad.train import Trainer


def borrows_in(a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
    """For every pair and step: 1 where a borrow comes in from the bit below."""
    into = np.zeros_like(a_bits)
    for t in range(1, a_bits.shape[1]):
        into[:, t] = a_bits[:, t - 1] - b_bits[:, t - 1] - into[:, t - 1] < 0
    return into


def forgetful_bits(model: mg.nn.Module, x: np.ndarray) -> np.ndarray:
    """The network's bits when every step starts from s_{t-1} = 0 instead of the carried state."""
    cell = model.rnn.cells[0]
    bits = []
    with mg.no_grad():
        for t in range(x.shape[1]):
            s, _ = cell(mg.tensor(x[:, t]), cell.init_state(len(x)))  # a fresh zero state every step
            bits.append(model.out(s).data[:, 0] > 0)
    return np.stack(bits, axis=1).astype(int)


Subtraction = mg.tasks()["binary-subtraction"]
trainer = Trainer(Subtraction(Subtraction.Config(epochs=600)), progress=False)
metrics = trainer.fit()
assert metrics["accuracy"] == 1.0, metrics  # with its memory, every pair is right
x, y = trainer.data["test"]  # all 136 pairs 0 <= b <= a <= 15, lowest bit first
a_bits, b_bits, truth = x[..., 0].astype(int), x[..., 1].astype(int), y[..., 0].astype(int)

wrong = forgetful_bits(trainer.model, x) != truth
borrow = borrows_in(a_bits, b_bits) == 1
print(f"trained: every bit right for {metrics['accuracy']:.0%} of the pairs, after {metrics['epochs']} epochs")
print(
    f"state reset before every step: {wrong.sum()} of {wrong.size} bits wrong, "
    f"{np.all(~wrong, axis=1).mean():.0%} of the pairs still right"
)
print(
    f"bits with a borrow coming in: {borrow.sum()}; wrong bits among them: {(wrong & borrow).sum()}; "
    f"wrong bits without one: {(wrong & ~borrow).sum()}"
)
assert np.array_equal(wrong, borrow)  # it fails exactly where the borrow was needed

pair = next(
    i for i, (a, b) in enumerate(zip(a_bits @ 2 ** np.arange(4), b_bits @ 2 ** np.arange(4))) if (a, b) == (13, 6)
)
print("13 - 6 = 7 without memory: steps", [t + 1 for t in range(4) if wrong[pair, t]], "fail")
