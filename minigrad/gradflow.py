"""Why LSTM and GRU exist, measured: gradient flow on remember-the-first-input.

The lecture's example: a long passage that begins with 佳佳 and ends "大家都夸奖了___": the
blank is the name itself, so the network must remember who was named at the start.
``remember_first_data`` makes that task: the first input names one of a few people, the rest
are filler words, and the answer at the last step is the name. ``run_experiment`` measures
‖∂loss/∂h_t‖ for a cell at initialisation, trains it, and measures again; ``minigrad
gradflow`` plots it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.io import plot_missing, pyplot, save_figure
from minigrad.nn.clip import clip_grad_norm_
from minigrad.nn.layers import Linear
from minigrad.nn.losses import cross_entropy
from minigrad.nn.module import Module
from minigrad.nn.recurrent import Recurrent
from minigrad.optim import Adam
from minigrad.rng import manual_seed
from minigrad.tensor import Tensor
from minigrad.viz.flow import gradient_flow


def remember_first_data(
    rng: np.random.Generator, batch: int, steps: int, names: int = 4, fillers: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot sequences (batch, steps, names + fillers): a name first, then filler words.
    The target, one per sequence, is the name's index."""
    target = rng.integers(0, names, batch)
    words = np.concatenate([target[:, None], names + rng.integers(0, fillers, (batch, steps - 1))], axis=1)
    return np.eye(names + fillers)[words], target


class RememberFirst(Module):
    """A recurrent layer and a linear read-out of its last output: which name came first?"""

    def __init__(self, cell: str | type, steps: int, hidden_size: int = 32, names: int = 4, fillers: int = 8):
        super().__init__()
        self.steps, self.names, self.fillers = steps, names, fillers
        self.rnn = Recurrent(cell, names + fillers, hidden_size)
        self.readout = Linear(hidden_size, names)

    def forward(self, x: Tensor) -> Tensor:
        output, _ = self.rnn(x)
        return self.readout(output[:, -1])

    def flow(self, x: np.ndarray, target: np.ndarray) -> np.ndarray:
        """‖∂loss/∂h_t‖ for each step on this batch."""
        output, _ = self.rnn(Tensor(x))
        return gradient_flow(cross_entropy(self.readout(output[:, -1]), target), output)

    def accuracy(self, x: np.ndarray, target: np.ndarray) -> float:
        with no_grad():
            return float(np.mean(self(Tensor(x)).data.argmax(axis=1) == target))


@dataclass
class FlowResult:
    """One cell's gradient flow before and after training, and what it learned."""

    cell: str
    at_init: np.ndarray
    trained: np.ndarray
    accuracy: float
    chance: float

    @staticmethod
    def ratio(flow: np.ndarray) -> float:
        """‖∂loss/∂h_1‖ / ‖∂loss/∂h_T‖: how much of the gradient survives the trip back."""
        return float(flow[0] / flow[-1]) if flow[-1] > 0 else float("nan")


def run_experiment(
    cell: str,
    steps: int = 100,
    hidden_size: int = 32,
    iterations: int = 300,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
    curriculum: bool = True,
    progress: Callable[[int], None] | None = None,
) -> FlowResult:
    """Measure a cell's gradient flow at initialisation, train it on remember-the-first-input
    with Adam (gradients clipped to norm 1), measure again, and test on 1,000 new sequences.

    With ``curriculum`` the training sequences grow from 10 steps to ``steps`` over the first
    half of training (from scratch, no cell here learns a 100-step lag in 1,000 updates).
    """
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = RememberFirst(cell, steps, hidden_size)
    probe_x, probe_target = remember_first_data(rng, batch_size, steps)
    at_init = model.flow(probe_x, probe_target)
    optimizer = Adam(list(model.parameters()), lr=lr)
    for i in range(iterations):
        length = min(steps, 10 + steps * i // max(iterations // 2, 1)) if curriculum else steps
        x, target = remember_first_data(rng, batch_size, length)
        optimizer.zero_grad()
        cross_entropy(model(Tensor(x)), target).backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if progress:
            progress(1)
    test_x, test_target = remember_first_data(rng, 1000, steps)
    return FlowResult(cell, at_init, model.flow(probe_x, probe_target), model.accuracy(test_x, test_target), 1 / model.names)


def plot_flows(results: list[FlowResult], path: str | Path) -> Path:
    """Two panels, at initialisation and after training: ‖∂loss/∂h_t‖ against t, log scale.
    Needs matplotlib (the ``plot`` extra); written atomically."""
    plt = pyplot()
    if plt is None:
        raise ImportError(plot_missing(path))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, title, attribute in ((axes[0], "at initialisation", "at_init"), (axes[1], "after training", "trained")):
        for result in results:
            flow = getattr(result, attribute)
            label = f"{result.cell}"
            if attribute == "trained":
                label += f" (accuracy {result.accuracy:.2f})"
            axis.semilogy(np.arange(1, len(flow) + 1), np.maximum(flow, 1e-300), label=label)
        axis.set_title(title)
        axis.set_xlabel("time step t (the loss sits at the last step)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    axes[0].set_ylabel("‖∂loss/∂h_t‖")
    figure.suptitle("Gradient flow through time on remember-the-first-input")
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)
