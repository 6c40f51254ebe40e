"""Recurrent: runs any Cell over time -- stacked layers, both directions, variable lengths.

This loop is the whole of "unrolling": it calls the same cell (the same U, W
parameters) once per time step, and the tape records one copy of the cell per step.
``loss.backward()`` then walks those copies from the last step to the first, which
is backpropagation through time. Every op is tagged with its step, layer and
direction (``mg.time_step``) so the graph view can draw the unrolled network.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from minigrad.collector import collector_paused
from minigrad.errors import ShapeError
from minigrad.grad_mode import time_step
from minigrad.nn.cell import Cell, State
from minigrad.nn.module import Module, ModuleList
from minigrad.plugins import lookup
from minigrad.tensor import Tensor, concat, stack, unbind


def resolve_cell(cell: str | type[Cell]) -> type[Cell]:
    """A registered cell name ("lstm") or a Cell subclass -> the Cell subclass."""
    if isinstance(cell, str):
        return lookup("minigrad_cells", Cell, cell).cls
    if isinstance(cell, type) and issubclass(cell, Cell):
        return cell
    raise TypeError(f"cell must be a registered name or a subclass of mg.nn.Cell, got {cell!r}")


def _map_state(fn: Callable[..., Tensor], *states: State) -> State:
    """Apply ``fn`` to each component of a state (a Tensor, or a tuple such as LSTM's (h, c))."""
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states))
    return fn(*states)


class Recurrent(Module):
    """A multi-layer, optionally bidirectional recurrent layer built from any cell.

    ``Recurrent(cell, input_size, hidden_size, num_layers=1, bidirectional=False,
    bias=True, **cell_kwargs)(x, state=None, lengths=None)`` takes ``x`` of shape
    (batch, time, input_size), batch first, and returns ``(output, h_n)`` with
    PyTorch's shapes: output (batch, time, directions * hidden_size), h_n
    (directions * num_layers, batch, hidden_size), or a tuple of such for a cell whose
    state is a tuple (LSTM: (h_n, c_n)). ``state`` has the shape of ``h_n``.
    ``lengths`` (batch,) marks how many steps of each sequence are real: padding after
    them changes no output, final state or gradient, and its outputs are zero.

    The cells are sub-modules (``cells[layer * directions + direction]``), so ``train()``,
    ``eval()`` and ``named_modules()`` reach them. Their parameters are named as in PyTorch in
    ``named_parameters()`` and ``state_dict()``: the cell's ``weight_ih`` becomes ``weight_ih_l0``,
    ``weight_ih_l1_reverse``, ... (see ``parameter_key``), and ``layer.weight_ih_l0`` reads it.
    """

    def __init__(
        self,
        cell: str | type[Cell],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        bias: bool = True,
        fuse_input: bool = True,
        **cell_kwargs: Any,
    ):
        super().__init__()
        for label, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Recurrent: {label} must be a positive integer, got {value!r}")
        self.cell_class = resolve_cell(cell)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.bias = bidirectional, bias
        # A cell that splits off its input projection gets it for all steps in one matmul;
        # fuse_input=False keeps x_t U inside every step, as the lecture draws it.
        self.fuse_input = fuse_input and self.cell_class.splits_input_projection()
        self.directions = 2 if bidirectional else 1
        self.cells = ModuleList()  # cell index = layer * directions + direction
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.directions
            for _ in range(self.directions):
                self.cells.append(self.cell_class(layer_input, hidden_size, bias=bias, **cell_kwargs))
        self.label_parameters()  # pictures show weight_ih_l0, ...

    def parameter_key(self, path: str) -> str:
        """PyTorch's flat names: ``cells.3.weight_ih`` -> ``weight_ih_l1_reverse`` (two directions)."""
        head, _, rest = path.partition(".")
        if head != "cells":
            return path
        index, _, name = rest.partition(".")
        layer, direction = divmod(int(index), self.directions)
        return name.replace(".", "_") + f"_l{layer}" + ("_reverse" if direction else "")

    def __getattr__(self, name: str) -> Any:
        """``layer.weight_hh_l0`` and the like, as on ``torch.nn.LSTM``: the parameter of that
        name, which lives in its cell. Only called when ordinary lookup fails."""
        if not name.startswith("_") and "cells" in self.__dict__:
            for key, parameter in self._every_named_parameter():
                if key == name:
                    return parameter
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def extra_repr(self) -> str:
        return (
            f"{self.cell_class.name!r}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bidirectional={self.bidirectional}"
        )

    # -- checks ---------------------------------------------------------------------
    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ShapeError(
                f"Recurrent: input must be (batch, time, {self.input_size}), batch first; got shape {x.shape}"
            )

    def _check_lengths(self, lengths: Any, batch: int, steps: int) -> np.ndarray:
        lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
            raise ShapeError(f"Recurrent: lengths must be {batch} integers (one per sequence), got {lengths!r}")
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(f"Recurrent: lengths must be between 1 and {steps} (the time axis), got {lengths}")
        return lengths

    def _initial_state(self, state: State | None, index: int, batch: int) -> State:
        """The starting state of cell ``index`` (= layer * directions + direction)."""
        cell = self.cells[index]
        if state is None:
            return cell.init_state(batch)
        expected = cell.init_state(batch)
        if isinstance(expected, tuple) != isinstance(state, tuple) or (
            isinstance(state, tuple) and len(state) != len(expected)
        ):
            raise ShapeError(f"Recurrent: a {self.cell_class.name} state is {_describe_state(expected)}")

        def pick(whole: Tensor, start: Tensor) -> Tensor:
            needed = (len(self.cells), *start.shape)
            if whole.shape != needed:
                raise ShapeError(f"Recurrent: initial state must have shape {needed}, got {whole.shape}")
            return whole[index]

        return _map_state(pick, state, expected)

    # -- running ----------------------------------------------------------------------
    def forward(self, x: Tensor, state: State | None = None, lengths: Any = None) -> tuple[Tensor, State]:
        with collector_paused():  # the tape needs no rescanning while it grows (collector.py)
            return self._unroll_layers(x, state, lengths)

    def _unroll_layers(self, x: Tensor, state: State | None, lengths: Any) -> tuple[Tensor, State]:
        self._check_input(x)
        batch, steps, _ = x.shape
        masks = None
        if lengths is not None:  # masks[t] is 1 for sequences still running at step t
            lengths = self._check_lengths(lengths, batch, steps)
            masks = [Tensor((t < lengths).astype(x.dtype)[:, None]) for t in range(steps)]
        finals: list[State] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                index = layer * self.directions + direction
                sequence, final = self._run_cell(index, layer, direction, layer_input, state, masks)
                outputs.append(sequence)
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else concat(outputs, axis=2)
        h_n = _map_state(lambda *parts: stack(list(parts), axis=0), *finals)
        return layer_input, h_n

    def _run_cell(
        self, index: int, layer: int, direction: int, inputs: Tensor, state: State | None, masks: list | None
    ) -> tuple[Tensor, State]:
        """Unroll one cell over the time axis, forwards or (direction 1) backwards."""
        cell = self.cells[index]
        batch, steps, features = inputs.shape
        order = range(steps) if direction == 0 else range(steps - 1, -1, -1)
        way = "reverse" if direction else "forward"
        with time_step(order[0] + 1, layer=layer, direction=way):  # the state enters at the first step
            s = self._initial_state(state, index, batch)
        if self.fuse_input:  # x_t U + b for every t in one matmul over all batch*steps rows
            with time_step(None, layer=layer, direction=way):  # belongs to every step: drawn outside them
                projected = cell.input_projection(inputs.reshape(batch * steps, features))
                projected = unbind(projected.reshape(batch, steps, projected.shape[-1]), axis=1)  # one op
        outputs: list[Tensor] = [None] * steps  # type: ignore[list-item]
        for t in order:
            with time_step(t + 1, layer=layer, direction=way):
                if self.fuse_input:
                    xu_t = projected[t]
                    xu_t.name = "xU_t"
                    xu_t.tags = {**xu_t.tags, "step": t + 1}  # cut out with every step's slice: drawn in step t
                    h, new_s = cell.recurrence(xu_t, s)
                else:
                    x_t = inputs[:, t, :]
                    if layer == 0:
                        x_t.name = "x_t"
                    h, new_s = cell(x_t, s)
                if masks is not None:  # past a sequence's end: output 0, state unchanged
                    m = masks[t]
                    h = h * m
                    new_s = _map_state(lambda new, old: new * m + old * (1 - m), new_s, s)
                outputs[t] = h
                s = new_s
        return stack(outputs, axis=1), s

    def unroll(
        self, first_input: Tensor, steps: int, next_input: Callable[[Tensor], Tensor], state: State | None = None
    ) -> tuple[Tensor, State]:
        """One-to-many: feed each step's output back in, for ``steps`` steps (generation).

        ``first_input`` is x_1 of shape (batch, input_size); ``next_input(h_t)`` maps the
        top layer's output h_t (batch, hidden_size) to x_{t+1}. Returns ``(output, h_n)``
        shaped as ``forward``'s. Unidirectional layers only: the future is not known yet.
        """
        if self.bidirectional:
            raise ValueError("Recurrent.unroll: a bidirectional layer cannot generate (it needs the whole sequence)")
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"Recurrent.unroll: steps must be a positive integer, got {steps!r}")
        if first_input.ndim != 2 or first_input.shape[1] != self.input_size:
            raise ShapeError(f"Recurrent.unroll: first_input must be (batch, {self.input_size}), got {first_input.shape}")
        batch = first_input.shape[0]
        states = []
        for layer in range(self.num_layers):
            with time_step(1, layer=layer, direction="forward"):
                states.append(self._initial_state(state, layer, batch))
        x, outputs = first_input, []
        for t in range(steps):
            h = x
            for layer, cell in enumerate(self.cells):
                with time_step(t + 1, layer=layer, direction="forward"):
                    h, states[layer] = cell(h, states[layer])
            outputs.append(h)
            if t + 1 < steps:
                x = next_input(h)
        h_n = _map_state(lambda *parts: stack(list(parts), axis=0), *states)
        return stack(outputs, axis=1), h_n


def _describe_state(state: State) -> str:
    if isinstance(state, tuple):
        return f"a tuple of {len(state)} tensors"
    return "one tensor"


class _BuiltIn(Recurrent):
    """A Recurrent of one built-in cell, with torch.nn.RNN/LSTM/GRU's constructor (batch first)."""

    cell_name = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        bidirectional: bool = False,
        fuse_input: bool = True,
        **cell_kwargs: Any,
    ):
        super().__init__(
            self.cell_name, input_size, hidden_size, num_layers, bidirectional, bias, fuse_input, **cell_kwargs
        )


class RNN(_BuiltIn):
    """Elman RNN, as ``torch.nn.RNN(batch_first=True)``: s_t = tanh(x_t U + s_{t-1} W + b);
    ``nonlinearity="relu"`` for ReLU."""

    cell_name = "rnn"


class LSTM(_BuiltIn):
    """LSTM, as ``torch.nn.LSTM(batch_first=True)``; its state is the pair (h, c)."""

    cell_name = "lstm"


class GRU(_BuiltIn):
    """GRU, as ``torch.nn.GRU(batch_first=True)``."""

    cell_name = "gru"


__all__: Sequence[str] = ["Recurrent", "RNN", "LSTM", "GRU", "resolve_cell"]
