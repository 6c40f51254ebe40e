"""The contract tests for a cell plugin: ``mg.testing.check_cell(MyCell)``.

Put one line in your plugin's test suite:

    def test_my_cell_keeps_the_contract():
        mg.testing.check_cell(MyCell)

It raises ``CellContractError`` (or ``mg.GradcheckError``) saying what is wrong, or
returns the worst gradient error it measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import GradcheckError
from minigrad.gradcheck import gradient_errors
from minigrad.nn.cell import Cell
from minigrad.nn.recurrent import Recurrent
from minigrad.rng import default_rng, manual_seed
from minigrad.tensor import Tensor


class CellContractError(AssertionError):
    """A cell class breaks the contract of ``mg.nn.Cell``."""


def _fail(cell_class: type, message: str) -> None:
    raise CellContractError(f"{getattr(cell_class, '__name__', cell_class)}: {message}")


def _components(state: Any) -> tuple:
    return state if isinstance(state, tuple) else (state,)


def _call(cell_class: type, what: str, fn: Any, *args: Any) -> Any:
    """Run the cell's own code; an exception in it is a contract failure naming the cell."""
    try:
        return fn(*args)
    except CellContractError:
        raise
    except Exception as error:
        _fail(cell_class, f"{what} raised {type(error).__name__}: {error}")


def _check_one_step(cell_class: type, cell: Cell, batch: int, input_size: int, hidden_size: int) -> None:
    state = _call(cell_class, f"init_state({batch})", cell.init_state, batch)
    parts = _components(state)
    if not parts or not all(isinstance(p, Tensor) for p in parts):
        _fail(cell_class, f"init_state({batch}) must return a Tensor or a tuple of Tensors, got {state!r}")
    for part in parts:
        if part.ndim < 1 or part.shape[0] != batch:
            _fail(cell_class, f"init_state({batch}) returned shape {part.shape}; the first axis must be the batch")
    x = Tensor(np.random.default_rng(1).normal(size=(batch, input_size)))
    result = _call(cell_class, "forward(x, state)", cell, x, state)
    if not (isinstance(result, tuple) and len(result) == 2):
        _fail(cell_class, "forward(x, state) must return (h, new_state)")
    h, new_state = result
    if not isinstance(h, Tensor) or h.shape != (batch, hidden_size):
        _fail(cell_class, f"forward returned h of shape {getattr(h, 'shape', h)}, expected {(batch, hidden_size)}")
    new_parts = _components(new_state)
    if isinstance(new_state, tuple) != isinstance(state, tuple) or [p.shape for p in new_parts] != [
        p.shape for p in parts
    ]:
        _fail(cell_class, "forward's new state must have the structure and shapes of init_state's")


def check_cell(
    cell_class: type,
    input_size: int = 2,
    hidden_size: int = 3,
    steps: int = 4,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    **cell_kwargs: Any,
) -> float:
    """Run the cell contract: construction, ``init_state``, output and state shapes for
    batch 1 and 3, determinism under ``mg.manual_seed``, and finite-difference gradients
    of every parameter and the input through a 2-layer bidirectional ``Recurrent`` over
    ``steps`` steps (float64). ``cell_kwargs`` go to the cell (``nonlinearity="relu"``).
    Returns the worst gradient error it saw, relative where a gradient exceeds 1 in
    size and absolute below. The global generator is left as it was."""
    saved = default_rng().bit_generator.state
    try:
        return _check_cell(cell_class, input_size, hidden_size, steps, atol, rtol, cell_kwargs)
    finally:
        default_rng().bit_generator.state = saved


def _check_cell(
    cell_class: type, input_size: int, hidden_size: int, steps: int, atol: float, rtol: float, cell_kwargs: dict
) -> float:
    if not (isinstance(cell_class, type) and issubclass(cell_class, Cell)):
        raise CellContractError(f"{cell_class!r} is not a subclass of mg.nn.Cell")
    if not isinstance(getattr(cell_class, "name", None), str) or not cell_class.name:
        _fail(cell_class, "needs a class attribute `name` (its registry key, e.g. 'mycell')")
    try:
        manual_seed(0)
        cell = cell_class(input_size, hidden_size, bias=True, **cell_kwargs)
    except Exception as error:
        _fail(cell_class, f"cell_class({input_size}, {hidden_size}, bias=True) raised {type(error).__name__}: {error}")
    if not list(cell.parameters()):
        _fail(cell_class, "has no parameters; assign mg.nn.Parameter attributes in __init__")
    for batch in (1, 3):
        _check_one_step(cell_class, cell, batch, input_size, hidden_size)

    manual_seed(0)
    again = cell_class(input_size, hidden_size, bias=True, **cell_kwargs)
    for (name, a), (_, b) in zip(cell.named_parameters(), again.named_parameters()):
        if not np.array_equal(a.data, b.data):
            _fail(cell_class, f"parameter {name} differs under the same seed; draw it from mg.default_rng()")

    manual_seed(0)
    layer = Recurrent(cell_class, input_size, hidden_size, num_layers=2, bidirectional=True, **cell_kwargs)
    names, parameters = zip(*layer.named_parameters())
    x = Tensor(np.random.default_rng(2).normal(size=(2, steps, input_size)), requires_grad=True, name="x")

    def loss(x: Tensor, *_: Tensor) -> Tensor:
        output, _ = layer(x)
        return output

    worst = 0.0
    measured = _call(cell_class, "the 2-layer bidirectional Recurrent", list, gradient_errors(loss, [x, *parameters]))
    for position, index, analytic, numeric in measured:
        label = "the input x" if position == 0 else f"parameter {names[position - 1]}"
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            raise GradcheckError(
                f"{cell_class.__name__}: gradient of {label} at index {index} through a 2-layer bidirectional "
                f"Recurrent: analytic {analytic:.8g}, numeric {numeric:.8g}"
            )
        worst = max(worst, abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1.0))
    return worst
