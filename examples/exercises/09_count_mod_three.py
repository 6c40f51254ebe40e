"""Page 9, exercise: a task of your own, `mod3`: at step t, how many ones have x_1 ... x_t held,
modulo 3? Three classes at every step, so the model ends in three scores z_t and the loss is
softmax cross-entropy (the lecture's 多分类交叉熵). Registered by hand, trained by the Trainer.

    .venv/bin/python examples/exercises/09_count_mod_three.py      (MINIGRAD_SMOKE=1: a few epochs)
"""

import os
import tempfile
from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option
from minigrad.train import Trainer

SMOKE = os.environ.get("MINIGRAD_SMOKE") == "1"


class CountModel(mg.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.rnn = mg.nn.Recurrent(config.cell, 1, config.hidden_size, config.num_layers)
        self.out = mg.nn.Linear(config.hidden_size, 3)  # V, b_v: a score per class

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output)  # (batch, steps, 3)


class CountModThree(mg.Task):
    """The number of ones so far, modulo 3, at every step."""

    name = "mod3"
    main_metric = "accuracy"
    target = 1.0  # stop once every validation sequence is right at every step

    @dataclass
    class Config(mg.TaskConfig):
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(16, "units in the recurrent layer")
        steps: int = option(8, "bits per sequence")
        epochs: int = option(150, "passes over the training sequences (at most)")
        lr: float = option(0.02, "Adam's learning rate")
        samples: int = option(1024, "training sequences")

    def make_data(self, rng):
        def split(count):
            x = rng.integers(0, 2, (count, self.config.steps, 1)).astype(float)
            return x, np.cumsum(x[..., 0], axis=1).astype(int) % 3

        return {"train": split(self.config.samples), "valid": split(256), "test": split(256)}

    def build_model(self):
        return CountModel(self.config)

    def loss(self, model, batch):
        x, y = batch
        return mg.nn.cross_entropy(model(mg.tensor(x)), y)

    def evaluate(self, model, split, name):
        x, y = split
        right = model(mg.tensor(x)).data.argmax(axis=-1) == y
        return {"accuracy": float(np.mean(np.all(right, axis=1))), "step_accuracy": float(np.mean(right))}


class Plugin:
    @mg.hookimpl
    def minigrad_tasks(self):
        return [CountModThree]


mg.plugins.register(Plugin(), name="mod3-exercise")
try:
    task_class = mg.tasks()["mod3"]
    assert task_class is CountModThree
    task = task_class(task_class.Config(epochs=3 if SMOKE else 150))
    with tempfile.TemporaryDirectory() as folder:
        metrics = Trainer(task, out_dir=folder, progress=False).fit()
    print(
        f"mod3 with a GRU of 16: {metrics['accuracy']:.1%} of the test sequences right at every step, "
        f"{metrics['step_accuracy']:.1%} of the steps, after {metrics['epochs']} epochs"
    )
    if not SMOKE:
        assert metrics["accuracy"] > 0.95, "a GRU of 16 learns to count modulo 3"
finally:
    mg.plugins.unregister("mod3-exercise")
