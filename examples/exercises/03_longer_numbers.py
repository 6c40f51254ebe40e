"""Page 3, exercise: subtract 8-bit numbers with the network trained on 4-bit ones.

The network has one U, one W and one V, shared by every step, so it runs for as many steps as
the input has: give it numbers of 8 bits. It never saw more than 3 borrows in a row (in 4 bits
with a >= b, the top bit passes none on). Does it handle the longer chains 8 bits bring?

    .venv/bin/python examples/exercises/03_longer_numbers.py      (seconds: training stops once every pair is right)
"""

import numpy as np

import minigrad as mg
from minigrad.train import Trainer


def to_bits(numbers: np.ndarray, width: int) -> np.ndarray:
    """(n,) integers -> (n, width) bits, lowest first, as the task feeds them."""
    return (numbers[:, None] >> np.arange(width)) & 1


def borrow_chains(a_bits: np.ndarray, b_bits: np.ndarray) -> np.ndarray:
    """For every pair: the longest run of consecutive steps that pass a borrow on."""
    borrow_in = np.zeros(len(a_bits), dtype=int)
    run = longest = np.zeros(len(a_bits), dtype=int)
    for t in range(a_bits.shape[1]):
        borrow_in = (a_bits[:, t] - b_bits[:, t] - borrow_in < 0).astype(int)
        run = (run + 1) * borrow_in
        longest = np.maximum(longest, run)
    return longest


def pairs(width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair 0 <= b <= a < 2**width."""
    return np.array([(a, b) for a in range(2**width) for b in range(a + 1)]).T


Subtraction = mg.tasks()["binary-subtraction"]
trainer = Trainer(Subtraction(Subtraction.Config(epochs=600)), progress=False)
assert trainer.fit()["accuracy"] == 1.0
x4, _ = trainer.data["test"]
trained_chain = borrow_chains(x4[..., 0].astype(int), x4[..., 1].astype(int)).max()

a, b = pairs(8)
a_bits, b_bits = to_bits(a, 8), to_bits(b, 8)
x = np.stack([a_bits, b_bits], axis=-1).astype(float)  # (32896, 8, 2): the same layout, twice as long
with mg.no_grad():
    bits = (trainer.model(mg.tensor(x)).data[..., 0] > 0).astype(int)  # the same network, 8 steps
right = np.all(bits == to_bits(a - b, 8), axis=1)
chains = borrow_chains(a_bits, b_bits)

print(f"trained on 4-bit pairs, where the longest borrow chain is {trained_chain}")
print(f"8-bit pairs: {right.sum()} of {len(right)} right ({right.mean():.2%})")
for length in range(chains.max() + 1):
    chosen = chains == length
    print(f"  longest borrow chain {length}: {chosen.sum():5d} pairs, {right[chosen].mean():7.2%} right")
assert trained_chain == 3
assert right.mean() > 0.99  # the rule it learned is a rule per step, so it carries over
assert right[chains > trained_chain].all()  # even borrow chains longer than any it was trained on

wrong_per_step = np.sum(bits != to_bits(a - b, 8), axis=0)
print("wrong bits at steps 1 ... 8:", " ".join(str(n) for n in wrong_per_step))
assert wrong_per_step[:4].sum() == 0  # the few mistakes all come after the 4 steps it was trained on
