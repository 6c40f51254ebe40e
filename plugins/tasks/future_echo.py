"""Future echo: at step t, name the symbol that comes ``--shift`` steps later. Why bidirectional.

Each sequence is ``--steps`` symbols drawn uniformly from an alphabet of ``--alphabet``
(one-hot inputs x_t); the target at step t is the input x_{t+k}, k = ``--shift``. A
forward network's state s_t has seen x_1 ... x_t only, and x_{t+k} is independent of them:
it can do no better than chance, 1 / alphabet. A bidirectional network also runs a reverse
direction from x_T back to x_1, whose state s'_t has read x_T ... x_t, x_{t+k} among them (k
steps before it reached t): it solves the task. The output z_t = [s_t, s'_t] V + b is a score
per symbol at every step.

The last k steps have no x_{t+k}: they are neither trained nor scored, so ``accuracy`` is the
share of the first T - k steps whose symbol is named right. The default network is
forward-only, so that ``minigrad train future-echo`` shows the failure and ``--bidirectional``
is the one flag that fixes it.
"""

from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option


class FutureEchoModel(mg.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.rnn = mg.nn.Recurrent(
            config.cell, config.alphabet, config.hidden_size, config.num_layers, config.bidirectional
        )
        self.out = mg.nn.Linear(config.hidden_size * (2 if config.bidirectional else 1), config.alphabet)  # V

    def forward(self, x):
        output, _ = self.rnn(x)  # [s_t, s'_t] at every t (s_t alone when forward only)
        return self.out(output)  # z_t at every step: (batch, steps, alphabet)


class FutureEcho(mg.Task):
    name = "future-echo"
    main_metric = "accuracy"
    target = 1.0  # every scored step right: nothing left to learn

    @dataclass
    class Config(mg.TaskConfig):
        alphabet: int = option(4, "distinct symbols (chance accuracy: 1 / alphabet)")
        shift: int = option(2, "k: the target at step t is the input at step t + k")
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(16, "units in each recurrent layer")
        steps: int = option(10, "symbols per sequence")
        samples: int = option(2000, "training sequences (validation and test: a quarter each)")
        batch_size: int = option(32, "sequences per update")
        lr: float = option(0.01, "Adam's learning rate")
        epochs: int = option(30, "passes over the training data (at most, with early stopping)")
        patience: int = option(5, "stop after this many epochs without a better validation metric (0: never)")

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "alphabet", self.alphabet >= 2, "at least 2")
            mg.task.require(self, "shift", 0 <= self.shift < self.steps, f"in [0, --steps) = [0, {self.steps})")
            mg.task.require(self, "samples", self.samples >= 4, "at least 4")

    def make_data(self, rng):
        k, steps = self.config.shift, self.config.steps

        def split(count):
            symbols = rng.integers(0, self.config.alphabet, (count, steps))
            x = np.eye(self.config.alphabet)[symbols]  # one-hot: (count, steps, alphabet)
            return x, symbols[:, k:]  # targets for t = 1 .. T - k: the symbol k steps on

        n = self.config.samples
        return {"train": split(n), "valid": split(n // 4), "test": split(n // 4)}

    def build_model(self):
        return FutureEchoModel(self.config)

    def scored(self, model, x):
        """The scores z_t of the steps that have a target: t = 1 .. T - k."""
        return model(mg.tensor(x))[:, : self.config.steps - self.config.shift]

    def loss(self, model, batch):
        x, y = batch
        return mg.nn.cross_entropy(self.scored(model, x), y)

    def evaluate(self, model, split, name):
        x, y = split
        return {"accuracy": float(np.mean(self.scored(model, x).data.argmax(axis=-1) == y))}


@mg.hookimpl
def minigrad_tasks():
    return [FutureEcho]
