"""Beijing PM2.5, the next hour from the last ``--steps`` hours (textbook sections 19.4 and 19.6).

Six features per hour (pm2.5, dew point, temperature, pressure, wind direction code,
wind speed), min-max normalised with the training years' range; 2010-2013 train, 2014
test. ``--mode regression`` predicts the next hour's pm2.5; ``--mode classify`` its
class (< 50, < 100, < 150, < 200, < 300, >= 300 µg/m³).

The test year is predicted as the textbook does: in blocks of 8, 4, 2 and 1 hours, where
inside a block each prediction is fed back as the next hour's pm2.5 input -- so an 8-hour
block forecasts 8 hours ahead from real data that ends where the block starts.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

import minigrad as mg
from minigrad.task import option
from minigrad_plugins.tasks.pm25_data import preprocess

LEVELS = np.array([50, 100, 150, 200, 300])  # class boundaries, µg/m³
BLOCKS = (8, 4, 2, 1)


class PM25Model(mg.nn.Module):
    def __init__(self, config, outputs):
        super().__init__()
        directions = 2 if config.bidirectional else 1
        self.rnn = mg.nn.Recurrent(config.cell, 6, config.hidden_size, config.num_layers, config.bidirectional)
        self.out = mg.nn.Linear(config.hidden_size * directions, outputs)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output[:, -1])


class PM25(mg.Task):
    name = "pm25"

    @dataclass
    class Config(mg.TaskConfig):
        mode: Literal["regression", "classify"] = option("regression", "predict the value, or its class")
        hidden_size: int = option(16, "units in each recurrent layer")
        steps: int = option(24, "hours of history per prediction")
        batch_size: int = option(64, "windows per update")
        epochs: int = option(10, "passes over the training years (at most, with early stopping)")
        lr: float = option(0.005, "Adam's learning rate")
        patience: int = option(3, "stop after this many epochs without a better validation metric (0: never)")

    def __init__(self, config=None):
        super().__init__(config)
        self.main_metric = "r2" if self.config.mode == "regression" else "accuracy"
        train_x, _, test_x, _ = preprocess()
        self.low, self.high = train_x.min(axis=0), train_x.max(axis=0)
        self.hours = {"train": self.normalise(train_x), "test": self.normalise(test_x)}

    def normalise(self, x):
        return (x - self.low) / (self.high - self.low)

    def pm25(self, normalised):
        return normalised * (self.high[0] - self.low[0]) + self.low[0]

    def windows(self, hours):
        """Every window of ``steps`` hours and the pm2.5 of the hour after it."""
        steps = self.config.steps
        starts = np.arange(len(hours) - steps)
        x = hours[starts[:, None] + np.arange(steps)]
        return x, hours[starts + steps, 0]

    def make_data(self, rng):
        x, y = self.windows(self.hours["train"])
        valid = rng.random(len(x)) < 0.1  # a tenth of the training windows, for early stopping
        test = self.windows(self.hours["test"])
        return {"train": (x[~valid], y[~valid]), "valid": (x[valid], y[valid]), "test": test}

    def build_model(self):
        return PM25Model(self.config, 1 if self.config.mode == "regression" else len(LEVELS) + 1)

    def classes(self, normalised):
        return np.searchsorted(LEVELS, self.pm25(normalised), side="right")

    def loss(self, model, batch):
        x, y = batch
        prediction = model(mg.tensor(x))
        if self.config.mode == "regression":
            return mg.nn.mse_loss(prediction, y[:, None])
        return mg.nn.cross_entropy(prediction, self.classes(y))

    def predict(self, model, x):
        """Normalised pm2.5 for each window (the class's middle value when classifying)."""
        out = model(mg.tensor(x)).data
        if self.config.mode == "regression":
            return out[:, 0]
        middles = np.array([25, 75, 125, 175, 250, 400])
        return self.normalise_pm25(middles[out.argmax(axis=1)])

    def normalise_pm25(self, value):
        return (value - self.low[0]) / (self.high[0] - self.low[0])

    def score(self, predicted, truth):
        if self.config.mode == "regression":
            return mg.r2_score(self.pm25(predicted), self.pm25(truth))
        return float(np.mean(self.classes(predicted) == self.classes(truth)))

    def evaluate(self, model, split, name):
        x, y = split
        metrics = {self.main_metric: self.score(self.predict(model, x), y)}
        if name == "test":  # the test year: also block by block, as the textbook reports it
            for block in BLOCKS:
                metrics[f"{self.main_metric}_{block}h"] = self.score(self.in_blocks(model, x, block), y)
        return metrics

    def in_blocks(self, model, x, block):
        """Predict in blocks of ``block`` hours, each prediction fed back as the next pm2.5 input."""
        predicted = np.empty(len(x))
        for first in range(block):  # the first, second, ... hour of every block at once
            rows = np.arange(first, len(x), block)
            windows = x[rows].copy()
            for back in range(1, first + 1):  # replace the pm2.5 the block has already predicted
                windows[:, -back, 0] = predicted[rows - back]
            predicted[rows] = self.predict(model, windows)
        return predicted


@mg.hookimpl
def minigrad_tasks():
    return [PM25]
