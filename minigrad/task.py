"""Task: the base class of every task plugin -- data, a model, a loss and metrics.

A task declares its hyperparameters as a dataclass (``Config``, a subclass of
``TaskConfig`` with the task's own defaults and options), each field declared with
``option(default, help)``; ``minigrad train TASK`` derives its ``--options`` from the
fields and their help, so a task's options need no CLI code.

    class Echo(mg.Task):
        name = "echo"
        main_metric = "r2"

        @dataclass
        class Config(mg.TaskConfig):
            steps: int = option(2, "time steps per example")

        def make_data(self, rng): ...      # {"train": arrays, "valid": ..., "test": ...}
        def build_model(self): ...         # an mg.nn.Module
        def loss(self, model, batch): ...  # a scalar Tensor
        def evaluate(self, model, split, name): ...  # {"r2": 0.99, ...}; name: "valid" or "test"

Each split is a tuple of arrays with the examples on axis 0 (inputs, targets, ...);
the trainer shuffles and slices all of them together, unless the task's ``batches``
hook cuts them its own way (``char-lm --bptt``: windows in order).

A task keeps no state between calls: ``loss`` is a function of the model and the batch,
``evaluate`` of the model, the split and its name. Truncated BPTT's carried state travels
through the trainer, as in a PyTorch loop::

    state = None                               # every epoch starts from s_0 = 0
    for batch in task.batches(split, size, rng):
        loss, state = task.loss_and_state(model, batch, state)
        state = detach_state(state)            # the same values, cut off from the tape
        loss.backward()                        # ... which stops at this window's first step

Validation runs the same loop with its own state, so it cannot disturb training's.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from minigrad.nn.module import Module
from minigrad.tensor import Tensor

Split = tuple[np.ndarray, ...]


def option(default: Any, help: str, **field_kwargs: Any) -> Any:
    """A config field with its command-line help: ``lr: float = option(0.01, "Adam's learning rate")``.
    The help is kept in the field's metadata (``field.metadata["help"]``); a mutable default
    (a list, a dict, a set) is copied for every config, as ``dataclasses`` requires."""
    metadata = {"help": help}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata, **field_kwargs)
    return dataclasses.field(default=default, metadata=metadata, **field_kwargs)


@dataclass
class TaskConfig:
    """The hyperparameters every task has. Field names become command-line options
    (``hidden_size`` -> ``--hidden-size``), each with the help it is declared with (``option``)."""

    cell: str = option("rnn", "the recurrent cell: a registered name")
    hidden_size: int = option(4, "units in each recurrent layer")
    num_layers: int = option(1, "stacked recurrent layers")
    bidirectional: bool = option(False, "a forward and a reverse direction")
    steps: int = option(4, "time steps per sequence")
    batch_size: int = option(32, "sequences per update")
    lr: float = option(0.01, "Adam's learning rate")
    epochs: int = option(20, "passes over the training data (at most, with early stopping)")
    seed: int = option(0, "seeds data, initialisation and shuffling: the same seed, the same run")
    clip: float = option(1.0, "clip the gradients' joint norm to this (0: no clipping)")
    weight_decay: float = option(
        0.0, "shrink every weight by lr * this per step, apart from the gradient (AdamW; 0: plain Adam)"
    )
    patience: int = option(0, "stop after this many epochs without a better validation metric (0: never)")

    # Fields a task does not use, left out of its command-line options (e.g. ("steps",)).
    unused_options: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "steps", "batch_size", "epochs", "lr"):
            require(self, name, getattr(self, name) > 0, "a positive number")
        for name in ("clip", "patience", "weight_decay"):
            require(self, name, getattr(self, name) >= 0, "zero or more")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def require(config: TaskConfig, name: str, condition: bool, expected: str) -> None:
    """A bad value is named as its command-line option: ``--batch-size must be ...``."""
    if not condition:
        raise ValueError(f"--{name.replace('_', '-')} must be {expected}, got {getattr(config, name)!r}")


def minibatches(split: Split, size: int, rng: np.random.Generator | None) -> list[Split]:
    """The split cut into minibatches of ``size`` examples, shuffled by ``rng`` (in order when rng is None)."""
    count = len(split[0])
    order = rng.permutation(count) if rng is not None else np.arange(count)
    return [tuple(a[order[i : i + size]] for a in split) for i in range(0, count, size)]


def detach_state(state: Any) -> Any:
    """A carried state's values without their history: a Tensor, or a tuple or list of them
    (an LSTM's (h, c)), detached; None stays None. The next window starts from these values,
    and the gradient of its loss stops there (PyTorch's ``repackage_hidden``)."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(part) for part in state)
    return state.detach()


class Task:
    """Base class of task plugins; see the module docstring for what a subclass defines."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[TaskConfig]] = TaskConfig
    main_metric: ClassVar[str] = "accuracy"  # higher is better; early stopping and the best model follow it
    target: ClassVar[float | None] = None  # stop as soon as validation reaches this

    def __init__(self, config: TaskConfig | None = None):
        self.config = config if config is not None else self.Config()

    def make_data(self, rng: np.random.Generator) -> dict[str, Split]:
        """The "train", "valid" and "test" splits, generated from ``rng`` or loaded."""
        raise NotImplementedError

    def build_model(self) -> Module:
        """A fresh model for ``self.config`` (drawn from ``mg.default_rng()``)."""
        raise NotImplementedError

    def loss(self, model: Module, batch: Split) -> Tensor:
        """The scalar training loss on one batch: a function of ``model`` and ``batch`` alone."""
        raise NotImplementedError

    def loss_and_state(self, model: Module, batch: Split, state: Any) -> tuple[Tensor, Any]:
        """Truncated BPTT's hook: the loss on ``batch`` begun in ``state``, and the state the batch
        ended in. The trainer hands each batch the state the batch before it returned, detached
        (``detach_state``), and None at the start of every epoch and of validation. Default, for
        batches that carry nothing from one to the next: ``loss(model, batch)`` and no state."""
        return self.loss(model, batch), None

    def evaluate(self, model: Module, split: Split, name: str) -> dict[str, float]:
        """Metrics on a whole split (called under ``mg.no_grad()``), including ``main_metric``;
        ``name`` says which split it is ("valid" or "test"), for a task that scores them differently."""
        raise NotImplementedError

    def batches(self, split: Split, batch_size: int, rng: np.random.Generator | None) -> list[Split]:
        """The batching hook: ``split`` cut into the batches ``loss`` sees, one update each, in the
        order returned. The trainer calls it at the start of every epoch (``rng``: its seeded
        shuffling generator) and for the validation loss (``rng`` None: in order). Default:
        shuffled minibatches of ``batch_size`` examples. A task whose batches continue one
        another (truncated BPTT) returns them in order and carries the state in ``loss_and_state``."""
        return minibatches(split, batch_size, rng)

    def learning_rate(self, epoch: int) -> float:
        """The schedule hook: the learning rate for ``epoch`` (counted from 1), set on the
        optimizer before the epoch starts. Constant ``config.lr`` unless a task overrides it."""
        return self.config.lr

    def generate(self, model: Module, prompt: str, length: int, temperature: float, rng: np.random.Generator) -> str:
        """Optional, for generative tasks: ``minigrad generate TASK`` calls it."""
        raise NotImplementedError(f"task {self.name!r} does not generate")

    def write_reports(self, model: Module, data: dict[str, Split], out_dir: Path) -> list[Path]:
        """Optional: extra files about the trained model (a confusion matrix, samples). None by default."""
        return []


def r2_score(prediction: np.ndarray, target: np.ndarray) -> float:
    """1 - MSE / variance of the target: 1 is perfect, 0 is no better than the mean."""
    variance = float(np.var(target))
    return 1.0 - float(np.mean((prediction - target) ** 2)) / variance if variance > 0 else float("nan")
