"""Trainer: epochs of minibatches (shuffled, or as the task's ``batches`` hook orders them),
validation, early stopping, the best model kept.

    trainer = Trainer(task, out_dir="out/echo")
    test_metrics = trainer.fit()      # out/echo/model.safetensors, metrics.json, loss.png

Everything random comes from the config's seed: the data, the initial weights
(``mg.manual_seed``) and the shuffling, so the same seed gives the same run bit for bit.
After every epoch the trainer writes ``last.safetensors`` (model, optimizer and shuffling
state), from which ``fit(resume=True)`` continues exactly where the run stopped.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from minigrad.checkpoint import load_with_extras, save
from minigrad.collector import collector_paused
from minigrad.grad_mode import no_grad
from minigrad.io import plot_missing, pyplot, save_figure, write_atomically
from minigrad.jit import Jitted
from minigrad.nn.clip import clip_grad_norm_
from minigrad.nn.layers import Dropout
from minigrad.nn.module import Module
from minigrad.optim import Adam, AdamW, load_optimizer_state, optimizer_state
from minigrad.rng import default_rng, manual_seed
from minigrad.task import Task, detach_state

MODEL, LAST, METRICS, PLOT = "model.safetensors", "last.safetensors", "metrics.json", "loss.png"


class Trainer:
    """Trains ``task.build_model()`` on ``task.make_data(...)`` with Adam, as ``task.config`` says."""

    def __init__(self, task: Task, out_dir: str | Path | None = None, progress: bool = True, jit: bool | None = None):
        self.task, self.config, self.progress = task, task.config, progress
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.data = task.make_data(np.random.default_rng([self.config.seed, 1]))
        manual_seed(self.config.seed)
        self.model = task.build_model()
        parameters, decay = list(self.model.parameters()), self.config.weight_decay
        self.optimizer = AdamW(parameters, self.config.lr, weight_decay=decay) if decay else Adam(parameters, self.config.lr)
        self.shuffle = np.random.default_rng([self.config.seed, 2])
        self.history: list[dict[str, float]] = []
        self.best_metric, self.best_loss = -np.inf, np.inf
        self.best_state = self.model.state_dict()
        self.seconds = 0.0
        self.since_best = 0  # epochs without a better validation metric
        self.plot_note: str | None = None
        self.reports: list[Path] = []
        # mg.jit replays the step's forward and backward (None: where the step qualifies); bit-identical to eager
        self.jit = jit_qualifies(self.data["train"], self.model) if jit is None else jit
        # asked for (--jit), a fall-back to eager is said; by default it is silent: eager is the reference
        self._step = Jitted(self._loss_and_backward, warn=jit is not None) if self.jit else self._loss_and_backward

    # -- one epoch ------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> float:
        from tqdm import tqdm

        losses = []
        self.optimizer.lr = self.task.learning_rate(epoch)
        parts = self.task.batches(self.data["train"], self.config.batch_size, self.shuffle)
        state = None  # truncated BPTT's carried state: every epoch starts from s_0 = 0
        for batch in tqdm(parts, desc=f"epoch {epoch}", leave=False, disable=not self.progress):
            with collector_paused():  # the whole step: its tape is freed before anything would scan it
                self.optimizer.zero_grad()
                loss, state = self._step(batch, state)
                if self.config.clip > 0:
                    clip_grad_norm_(self.model.parameters(), self.config.clip)
                self.optimizer.step()
                losses.append(loss.item())
                del loss
        return float(np.mean(losses))

    def _loss_and_backward(self, batch: Any, state: Any) -> tuple[Any, Any]:
        """One batch's loss and gradients; the carried state detached for the next batch. What
        mg.jit records and replays (clipping and the update stay outside: they are NumPy work)."""
        loss, state = self.task.loss_and_state(self.model, batch, state)
        state = detach_state(state)  # the next batch starts from these values; no gradient flows back
        loss.backward()
        return loss, state

    def validate(self) -> dict[str, float]:
        """The validation loss and metrics. Batches in order, carrying their own state from s_0 = 0:
        nothing of training's is read or changed."""
        losses, state = [], None
        with no_grad(), evaluating(self.model):
            for batch in self.task.batches(self.data["valid"], 1024, None):
                loss, state = self.task.loss_and_state(self.model, batch, state)
                losses.append(loss.item())
            metrics = self.task.evaluate(self.model, self.data["valid"], "valid")
        return {"valid_loss": float(np.mean(losses)), **metrics}

    # -- the loop ----------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> dict[str, Any]:
        """Train, keep the model with the best validation metric, and return its test metrics
        (with ``epochs`` and ``seconds``). With ``resume``, continue from ``out_dir/last.safetensors``."""
        if resume:
            self._resume()
        main = self.task.main_metric
        for epoch in range(len(self.history) + 1, self.config.epochs + 1):
            if self._should_stop():  # a resumed run that had already stopped trains no further
                break
            start = time.perf_counter()
            train_loss = self.train_epoch(epoch)
            record = {"epoch": epoch, "train_loss": train_loss, **self.validate()}
            self.seconds += time.perf_counter() - start
            self.history.append(record)
            better = record[main] > self.best_metric or (  # a tie goes to the lower validation loss
                record[main] == self.best_metric and record["valid_loss"] < self.best_loss
            )
            if better:
                self.best_metric, self.best_loss = record[main], record["valid_loss"]
                self.best_state, self.since_best = self.model.state_dict(), 0
            else:
                self.since_best += 1
            self._save_last()
            if self.progress:
                print(f"epoch {epoch}: train loss {train_loss:.4g}, valid {main} {record[main]:.4g}", flush=True)
        self.model.load_state_dict(self.best_state)
        with no_grad(), evaluating(self.model):
            test = self.task.evaluate(self.model, self.data["test"], "test")
        metrics = {**test, "epochs": len(self.history), "seconds": round(self.seconds, 3)}
        self._write_outputs(metrics)
        return metrics

    def _should_stop(self) -> bool:
        """The target reached, or ``patience`` epochs without a better validation metric."""
        if not self.history:
            return False
        reached = self.task.target is not None and self.history[-1][self.task.main_metric] >= self.task.target
        return reached or bool(self.config.patience and self.since_best >= self.config.patience)

    # -- files ---------------------------------------------------------------------------------
    def metadata(self, **more: Any) -> dict[str, Any]:
        return {"task": self.task.name, "cell": self.config.cell, "config": self.config.as_dict(), **more}

    def _save_last(self) -> None:
        if self.out_dir is None:
            return
        extras = {f"optimizer.{k}": v for k, v in optimizer_state(self.optimizer).items()}
        extras |= {f"best.{k}": v for k, v in self.best_state.items()}
        state = {"history": self.history, "best_metric": self.best_metric, "seconds": self.seconds,
                 "best_loss": self.best_loss, "since_best": self.since_best, "shuffle": self.shuffle.bit_generator.state,
                 "dropout": default_rng().bit_generator.state}  # fmt: skip
        save(self.model, self.out_dir / LAST, self.metadata(trainer=state), extra_arrays=extras)

    def _resume(self) -> None:
        if self.out_dir is None:
            raise ValueError("resume needs the output directory of the run to continue")
        state_dict, metadata, extras = load_with_extras(self.out_dir / LAST)
        if metadata.get("task") != self.task.name:
            raise ValueError(f"{self.out_dir / LAST}: a run of task {metadata.get('task')!r}, not {self.task.name!r}")
        saved, wanted = dict(metadata.get("config", {})), self.config.as_dict()
        saved.pop("epochs", None), wanted.pop("epochs", None)  # running longer is what resuming is for
        if saved != wanted:
            changed = sorted(k for k in wanted if saved.get(k) != wanted[k])
            raise ValueError(f"{self.out_dir / LAST}: it was trained with other options ({', '.join(changed)}); resume with the same")
        self.model.load_state_dict(state_dict)
        load_optimizer_state(self.optimizer, {k[len("optimizer.") :]: v for k, v in extras.items() if k.startswith("optimizer.")})
        self.best_state = {k[len("best.") :]: v for k, v in extras.items() if k.startswith("best.")}
        trainer = metadata["trainer"]
        self.history, self.best_metric, self.seconds = trainer["history"], trainer["best_metric"], trainer["seconds"]
        self.since_best, self.best_loss = trainer["since_best"], trainer["best_loss"]
        self.shuffle.bit_generator.state = trainer["shuffle"]
        default_rng().bit_generator.state = trainer["dropout"]  # the generator dropout masks come from

    def _write_outputs(self, metrics: dict[str, Any]) -> None:
        if self.out_dir is None:
            return
        save(self.best_state, self.out_dir / MODEL, self.metadata(metrics=metrics))
        write_atomically(self.out_dir / METRICS, (json.dumps(metrics, indent=2) + "\n").encode())
        self.plot_note = plot_history(self.history, self.task.main_metric, self.out_dir / PLOT)
        with no_grad(), evaluating(self.model):
            self.reports = self.task.write_reports(self.model, self.data, self.out_dir)


def jit_qualifies(train: Any, model: Module) -> bool:
    """Whether mg.jit can replay this task's step: float inputs only (integer arrays are part of a
    recording's signature, so each batch of token ids would record again) and no dropout (random
    masks cannot be replayed). A step that still cannot be replayed runs eagerly after a warning."""
    arrays = train if isinstance(train, (tuple, list)) else [train]
    floats = all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays)
    return floats and not any(isinstance(m, Dropout) and m.p > 0 for _, m in model.named_modules())


@contextmanager
def evaluating(model: Module) -> Iterator[None]:
    """``model.eval()`` inside (dropout off), training mode again after."""
    model.eval()
    try:
        yield
    finally:
        model.train()


def plot_history(history: list[dict[str, float]], metric: str, path: Path) -> str | None:
    """Train and validation loss, and the validation metric, per epoch. Returns a one-line
    note instead when matplotlib (the ``plot`` extra) is missing."""
    plt = pyplot()
    if plt is None:
        return plot_missing(path)
    epochs = [h["epoch"] for h in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(epochs, [h["train_loss"] for h in history], label="train")
    left.plot(epochs, [h["valid_loss"] for h in history], label="validation")
    left.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    left.legend()
    right.plot(epochs, [h[metric] for h in history], color="tab:green")
    right.set(xlabel="epoch", ylabel=metric, title=f"validation {metric}")
    figure.tight_layout()
    save_figure(figure, path)
    return None
