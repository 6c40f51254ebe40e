"""Cell: the base class of every recurrent cell plugin -- parameters plus one time step."""

from __future__ import annotations

from typing import Union

import numpy as np

from minigrad.nn.module import Module, Parameter
from minigrad.rng import default_rng
from minigrad.tensor import Tensor

State = Union[Tensor, tuple[Tensor, ...]]


class Cell(Module):
    """One step of a recurrent network: ``h_t, state_t = cell(x_t, state_{t-1})``.

    A subclass sets ``name`` (its registry key), creates its Parameters in
    ``__init__(input_size, hidden_size, bias=True, ...)`` and writes ``forward`` from
    tensor ops only: ``backward()`` derives the gradients, so no cell has a backward.
    ``mg.nn.Recurrent`` unrolls it over time, stacks it in layers and runs it backwards.

    The state is a Tensor (RNN, GRU: s_t) or a tuple of Tensors (LSTM: (h_t, c_t)),
    each of shape (batch, ...).
    """

    name: str = ""
    state_name: str = "h"  # the initial state is drawn as h_0 (the lecture's RNN: s_0)

    def __init__(self) -> None:
        super().__init__()

    def uniform_parameter(self, *shape: int) -> Parameter:
        """A new Parameter drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)),
        PyTorch's initialisation for its recurrent cells; set ``self.hidden_size`` first."""
        bound = 1 / np.sqrt(self.hidden_size)
        return Parameter(default_rng().uniform(-bound, bound, shape))

    def init_state(self, batch_size: int) -> State:
        """The state before the first step: zeros of shape (batch_size, hidden_size)."""
        return Tensor(np.zeros((batch_size, self.hidden_size), dtype=self._dtype()), name=f"{self.state_name}_0")

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """One time step: input x_t (batch, input_size) and the previous state ->
        (output h_t of shape (batch, hidden_size), new state)."""
        if type(self).recurrence is Cell.recurrence:
            raise NotImplementedError(f"{type(self).__name__} does not define forward(x, state)")
        return self.recurrence(self.input_projection(x), state)

    # Optional, for speed: a step split into the part that does not depend on the state
    # (x_t U + b) and the rest. A cell that defines both lets Recurrent compute the first
    # for all time steps in one matmul; forward() above then needs no definition.
    def input_projection(self, x: Tensor) -> Tensor:
        """x_t U + b for x of shape (rows, input_size): the state-free part of a step."""
        raise NotImplementedError(f"{type(self).__name__} does not define input_projection(x)")

    def recurrence(self, projected: Tensor, state: State) -> tuple[Tensor, State]:
        """The rest of a step, from ``input_projection(x_t)`` and the previous state."""
        raise NotImplementedError(f"{type(self).__name__} does not define recurrence(projected, state)")

    @classmethod
    def splits_input_projection(cls) -> bool:
        """Whether this cell defines ``input_projection`` and ``recurrence`` (and leaves
        ``forward`` to them, so a subclass that overrides ``forward`` is run through it)."""
        return (
            cls.forward is Cell.forward
            and cls.recurrence is not Cell.recurrence
            and cls.input_projection is not Cell.input_projection
        )

    def _dtype(self) -> np.dtype:
        first = next(self.parameters(), None)
        return first.dtype if first is not None else np.dtype(np.float64)

    def extra_repr(self) -> str:
        return f"{getattr(self, 'input_size', '?')}, {getattr(self, 'hidden_size', '?')}"
