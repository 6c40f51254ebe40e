"""Binary subtraction (the lecture's second example): a - b, bit by bit, with the borrow.

Every pair 0 <= b <= a <= 15 as 4-bit numbers, least significant bit first: at step t
the input is the pair of bits (a_t, b_t) and the output is bit t of a - b, which depends
on the borrow carried from step t - 1 -- exactly what the state s_t must remember. A
logistic output at every step, binary cross-entropy, no biases, as the lecture's net.
A pair counts as right only if all four bits are.
"""

from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option

BITS = 4


def to_bits(numbers):
    """(n,) integers -> (n, BITS) bits, least significant first."""
    return (numbers[:, None] >> np.arange(BITS)) & 1


class SubtractionModel(mg.nn.Module):
    def __init__(self, config):
        super().__init__()
        directions = 2 if config.bidirectional else 1
        self.rnn = mg.nn.Recurrent(
            config.cell, 2, config.hidden_size, config.num_layers, config.bidirectional, bias=False
        )
        self.out = mg.nn.Linear(config.hidden_size * directions, 1, bias=False)  # V

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output)  # z_t at every step: (batch, 4, 1) logits


class BinarySubtraction(mg.Task):
    name = "binary-subtraction"
    main_metric = "accuracy"
    target = 1.0  # every pair right: nothing left to learn

    @dataclass
    class Config(mg.TaskConfig):
        steps: int = option(BITS, "bits per number (fixed by the data)")
        batch_size: int = option(8, "pairs per update")
        epochs: int = option(600, "at most: training stops once every pair is right")
        lr: float = option(0.05, "Adam's learning rate")

    def make_data(self, rng):
        a, b = np.array([(a, b) for a in range(2**BITS) for b in range(a + 1)]).T
        x = np.stack([to_bits(a), to_bits(b)], axis=-1).astype(float)  # (136, 4, 2)
        y = to_bits(a - b)[..., None].astype(float)  # (136, 4, 1)
        every_pair = (x, y)
        return {"train": every_pair, "valid": every_pair, "test": every_pair}  # the whole space, as the lecture

    def build_model(self):
        if self.config.steps != BITS:
            raise ValueError(f"binary-subtraction: --steps must be {BITS} (4-bit numbers), got {self.config.steps}")
        return SubtractionModel(self.config)

    def loss(self, model, batch):
        x, y = batch
        return mg.nn.bce_with_logits(model(mg.tensor(x)), y)

    def evaluate(self, model, split, name):
        x, y = split
        bits = model(mg.tensor(x)).data > 0
        return {"accuracy": float(np.mean(np.all(bits == (y > 0.5), axis=(1, 2))))}


@mg.hookimpl
def minigrad_tasks():
    return [BinarySubtraction]
