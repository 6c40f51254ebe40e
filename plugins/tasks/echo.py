"""The echo task (the lecture's table 19-1): remember the previous value of a signal.

The signal is U(0, 1) noise; each example is two consecutive values (x_1, x_2) and the
answer, read from the output at the last step, is x_1. A feed-forward net seeing only
x_2 cannot do better than guessing the mean; a recurrent net carries x_1 in its state.
Regression with mean squared error; the metric is R² on held-out data.
"""

from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option


class EchoModel(mg.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.rnn = mg.nn.Recurrent(config.cell, 1, config.hidden_size, config.num_layers, config.bidirectional)
        self.out = mg.nn.Linear(config.hidden_size * (2 if config.bidirectional else 1), 1)  # V

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output[:, -1])  # z_T: the answer sits at the last step


class Echo(mg.Task):
    name = "echo"
    main_metric = "r2"

    @dataclass
    class Config(mg.TaskConfig):
        steps: int = option(2, "time steps per example")
        batch_size: int = option(1, "examples per update (the lecture: 1)")
        epochs: int = option(20, "passes over the training examples")
        lr: float = option(0.005, "Adam's learning rate")
        samples: int = option(400, "training examples (validation and test: a quarter each)")

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "steps", self.steps >= 2, "at least 2 (the answer is a step back)")
            mg.task.require(self, "samples", self.samples >= 4, "at least 4")

    def make_data(self, rng):
        def split(count):
            x = rng.uniform(0, 1, (count, self.config.steps, 1))
            return x, x[:, -2, :]  # the answer: the value one step before the last

        n = self.config.samples
        return {"train": split(n), "valid": split(n // 4), "test": split(n // 4)}

    def build_model(self):
        return EchoModel(self.config)

    def loss(self, model, batch):
        x, y = batch
        return mg.nn.mse_loss(model(mg.tensor(x)), y)

    def evaluate(self, model, split, name):
        x, y = split
        prediction = model(mg.tensor(x)).data
        return {"r2": mg.r2_score(prediction, y), "mse": float(np.mean((prediction - y) ** 2))}


@mg.hookimpl
def minigrad_tasks():
    return [Echo]
