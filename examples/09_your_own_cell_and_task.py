"""Page 9: your own cell and your own task, as plugins.

1. A cell: the lecture's RNN written in its own notation (row vectors, U, W, b_u) as an
   mg.nn.Cell. Nothing but a forward step: backward() derives its BPTT.
2. A task: running parity. The input is a sequence of bits; the answer at step t is 1 if
   x_1 ... x_t hold an odd number of ones. Many-to-many, a logistic output at every step.
3. Both registered by hand (mg.plugins.register), checked by mg.testing.check_cell, then
   trained with the Trainer, which writes model.safetensors, metrics.json and loss.png.
   The task's model is drawn folded.

    .venv/bin/python examples/09_your_own_cell_and_task.py [--out DIR] [--smoke]
"""

# %%
from dataclasses import dataclass

import numpy as np
from _common import Example

import minigrad as mg
from minigrad.task import option
from minigrad.train import Trainer

ex = Example(9, __doc__)


# %% [markdown]
# ## 1. A cell: the lecture's RNN, a forward step only

# %%
# --8<-- [start:cell]
class LectureRNN(mg.nn.Cell):
    """The lecture's cell as written: h = x·U + s·W + b_u, s = tanh(h)."""

    name = "lecture"
    state_name = "s"  # the initial state is drawn as s_0

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.U = self.uniform_parameter(input_size, hidden_size)  # (in, H): row vectors, x·U
        self.W = self.uniform_parameter(hidden_size, hidden_size)
        self.b_u = self.uniform_parameter(hidden_size) if bias else None

    def forward(self, x, s):
        h = x @ self.U + s @ self.W
        if self.b_u is not None:
            h = h + self.b_u
        h.name = "h_t"  # a name ending in _t is drawn with its step: h_1, h_2, ...
        s = h.tanh()
        s.name = "s_t"
        return s, s  # this step's output, and the state handed to the next step
# --8<-- [end:cell]


# %% [markdown]
# ## 2. A task: running parity

# %%
# --8<-- [start:task]
class ParityModel(mg.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.rnn = mg.nn.Recurrent(config.cell, 1, config.hidden_size, config.num_layers)
        self.out = mg.nn.Linear(config.hidden_size, 1)  # V, b_v

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output)  # z_t at every step: (batch, steps, 1)


class Parity(mg.Task):
    """Is the number of ones so far odd? One answer per step."""

    name = "parity"
    main_metric = "accuracy"
    target = 1.0  # stop once every validation sequence is right

    @dataclass
    class Config(mg.TaskConfig):  # each field is also a command-line option, with its help: --steps, --samples
        cell: str = option("lecture", "the recurrent cell: a registered name")
        hidden_size: int = option(8, "units in the recurrent layer")
        steps: int = option(6, "bits per sequence")
        epochs: int = option(200, "passes over the training sequences (at most: training stops at accuracy 1)")
        lr: float = option(0.02, "Adam's learning rate")
        samples: int = option(512, "training sequences")

    def make_data(self, rng):
        def split(count):
            x = rng.integers(0, 2, (count, self.config.steps, 1)).astype(float)
            return x, np.cumsum(x, axis=1) % 2

        return {"train": split(self.config.samples), "valid": split(256), "test": split(256)}

    def build_model(self):
        return ParityModel(self.config)

    def loss(self, model, batch):
        x, y = batch
        return mg.nn.bce_with_logits(model(mg.tensor(x)), y)

    def evaluate(self, model, split, name):
        x, y = split
        right = (model(mg.tensor(x)).data > 0) == (y > 0.5)
        return {"accuracy": float(np.mean(np.all(right, axis=(1, 2)))), "bit_accuracy": float(np.mean(right))}
# --8<-- [end:task]


# %% [markdown]
# ## 3. Both registered, checked, trained; the model drawn folded

# %%
# --8<-- [start:register]
class TutorialPlugin:
    """What an entry point's module provides: the two hooks."""

    @mg.hookimpl
    def minigrad_cells(self):
        return [LectureRNN]

    @mg.hookimpl
    def minigrad_tasks(self):
        return [Parity]


mg.plugins.register(TutorialPlugin(), name="tutorial")
# --8<-- [end:register]

# %%
with ex.transcript("plugin.txt"):
    # --8<-- [start:use]
    print("mg.cells()['lecture'] is LectureRNN:", mg.cells()["lecture"] is LectureRNN)
    print("mg.tasks()['parity'] is Parity:", mg.tasks()["parity"] is Parity)
    print(f"check_cell(LectureRNN): worst gradient error {mg.testing.check_cell(LectureRNN):.1e}")

    task = mg.tasks()["parity"](Parity.Config(epochs=ex.pick(200, 3)))
    metrics = Trainer(task, out_dir=ex.out / "parity", progress=False).fit()
    print(f"parity: {metrics['accuracy']:.0%} of the test sequences right in every bit, "
          f"after {metrics['epochs']} epochs")
    # --8<-- [end:use]
ex.show("parity/loss.png")  # in a notebook: the loss curve the Trainer wrote

# %%
model = task.build_model()
model.out.weight.name, model.out.bias.name = "V", "b_v"
loss = task.loss(model, tuple(a[:1] for a in task.make_data(np.random.default_rng(0))["train"]))
loss.name = "loss"
ex.graph(mg.viz.draw(loss, folded=True), "parity_folded.svg")
mg.plugins.unregister("tutorial")
ex.done()
