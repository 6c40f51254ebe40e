"""Gradient flow through time: how much of the loss's gradient reaches each step.

∂loss/∂h_1 for a loss at step T is a product of T Jacobians ∏ ∂h_t/∂h_{t-1}. In a plain
tanh RNN each factor is diag(1 - s_t²) W, and the product shrinks geometrically (the
gradient vanishes); an LSTM's cell state carries it through f_t instead.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from minigrad.tensor import Tensor, gradients


def gradient_flow(loss: Tensor, states: Tensor | Sequence[Tensor]) -> np.ndarray:
    """‖∂loss/∂h_t‖ for t = 1 ... T.

    ``states`` is the list h_1 ... h_T, or the output of a one-directional
    ``mg.nn.Recurrent`` (batch, T, hidden), which is ``stack(h_1, ..., h_T)``. The gradient
    with respect to h_t counts every path from h_t to the loss, through all later steps:
    for a loss at the last step it is what BPTT carries back to step t. No ``.grad`` changes.
    """
    if isinstance(states, Tensor):
        if states.op != "stack":
            raise ValueError(
                "gradient_flow: pass the per-step tensors h_1 ... h_T, or the output of a one-directional "
                "mg.nn.Recurrent (a stack of them)"
            )
        states = list(states.parents)
    grads = gradients(loss, list(states), retain_graph=True)
    return np.array([float(np.linalg.norm(g)) for g in grads])
