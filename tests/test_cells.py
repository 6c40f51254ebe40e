"""Cell plugins: mg.testing.check_cell passes for every cell and catches broken ones; BPTT behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import primitive
from minigrad.testing import CellContractError, check_cell

CELLS = ["rnn", "lstm", "gru", "mgu"]


@pytest.mark.parametrize("name", CELLS)
def test_check_cell_passes_for_every_registered_cell(name):
    worst = check_cell(mg.cells()[name])
    assert 0 <= worst < 1e-6


def test_every_registered_cell_is_covered():
    assert set(CELLS) <= set(mg.cells())


def _variant(name, **fixed):
    """A subclass of a registered cell that always builds with ``fixed`` keyword arguments."""
    base = mg.cells()[name]

    class Variant(base):
        def __init__(self, input_size, hidden_size, bias=True):
            super().__init__(input_size, hidden_size, **{"bias": bias, **fixed})

    Variant.__name__ = f"{base.__name__}({fixed})"
    return Variant


@pytest.mark.parametrize(
    "name, fixed",
    [("rnn", {"nonlinearity": "relu"}), ("rnn", {"bias": False}), ("rnn", {"nonlinearity": "relu", "bias": False}),
     ("lstm", {"bias": False}), ("gru", {"bias": False}), ("mgu", {"bias": False})],
)
def test_check_cell_passes_for_variants(name, fixed):
    """rnn with relu, and every cell without biases, keep the contract."""
    cls = _variant(name, **fixed)
    cell = cls(2, 3)
    if fixed.get("bias") is False:
        assert not any("bias" in n for n, _ in cell.named_parameters())
    if "nonlinearity" in fixed:
        assert cell.nonlinearity == "relu"
    assert check_cell(cls) < 1e-6


# ------------------------------------------------------------------ broken cells check_cell must catch


class TinyCell(mg.nn.Cell):
    """A correct Elman cell; the broken cells below each change one thing."""

    name = "tiny"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = self.uniform_parameter(hidden_size, input_size)
        self.weight_hh = self.uniform_parameter(hidden_size, hidden_size)

    def pre(self, x, h):
        return mg.nn.linear(x, self.weight_ih) + mg.nn.linear(h, self.weight_hh)

    def forward(self, x, h):
        h = self.pre(x, h).tanh()
        return h, h


class WrongShapeCell(TinyCell):
    def forward(self, x, h):
        h, _ = super().forward(x, h)
        out = mg.concat([h, h[:, :1]], axis=1)  # one column too many
        return out, h


class WrongStateCell(TinyCell):
    def forward(self, x, h):
        h, _ = super().forward(x, h)
        return h, (h,)  # a tuple here, a single tensor from init_state


class NumpyRandomCell(TinyCell):
    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(input_size, hidden_size, bias)
        self.weight_hh = mg.nn.Parameter(np.random.uniform(-0.5, 0.5, (hidden_size, hidden_size)))


class DetachedStateCell(TinyCell):
    def forward(self, x, h):
        h = self.pre(x, h.detach()).tanh()  # truncates BPTT to one step
        return h, h


@primitive
def tanh_with_wrong_backward(a):
    out = np.tanh(a)

    def backward(g):
        return (g * (1 - out),)  # should be 1 - out**2

    return out, backward


class WrongBackwardCell(TinyCell):
    def forward(self, x, h):
        h = tanh_with_wrong_backward(self.pre(x, h))
        return h, h


class DetachedCellStateLSTM(mg.cells()["lstm"]):
    """The LSTM with its cell state cut off from the tape: only the c path is wrong."""

    def forward(self, x, state):
        h, c = state
        return super().forward(x, (h, c.detach()))


class NoNameCell(TinyCell):
    name = ""


class NoParameterCell(mg.nn.Cell):
    name = "noparams"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.hidden_size = hidden_size

    def forward(self, x, h):
        return h, h


class NotATupleCell(TinyCell):
    def forward(self, x, h):
        return super().forward(x, h)[0]


@pytest.mark.parametrize(
    "cls, error, fragment",
    [
        (WrongShapeCell, CellContractError, "shape"),
        (WrongStateCell, CellContractError, "state"),
        (NumpyRandomCell, CellContractError, "mg.default_rng"),
        (DetachedStateCell, mg.GradcheckError, "analytic"),
        (WrongBackwardCell, mg.GradcheckError, "analytic"),
        (DetachedCellStateLSTM, mg.GradcheckError, "analytic"),
        (NoNameCell, CellContractError, "name"),
        (NoParameterCell, CellContractError, "no parameters"),
        (NotATupleCell, CellContractError, "(h, new_state)"),
        (int, CellContractError, "not a subclass"),
    ],
)
def test_check_cell_catches_broken_cells(cls, error, fragment):
    """Each broken cell fails check_cell with a one-line message naming the class and the problem."""
    with pytest.raises(error) as info:
        check_cell(cls)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert cls.__name__ in message


class RaisingCell(TinyCell):
    def forward(self, x, h):
        return super().forward(x, h[:, :, None])  # a shape bug: forward raises


def test_check_cell_reports_a_forward_that_raises():
    """A forward that raises is a broken contract, reported as CellContractError naming the class."""
    with pytest.raises(CellContractError) as info:
        check_cell(RaisingCell)
    assert "RaisingCell" in str(info.value) and "forward" in str(info.value)


def test_the_correct_tiny_cell_passes():
    """The base of the broken cells keeps the contract, so each failure above is its one change."""
    assert check_cell(TinyCell) < 1e-6


def test_wrong_backward_names_the_parameter():
    with pytest.raises(mg.GradcheckError, match=r"gradient of (the input x|parameter weight_\w+)"):
        check_cell(WrongBackwardCell)


# ------------------------------------------------------------------ backpropagation through time


def _finite_difference(fn, array, index, eps=1e-6):
    original = array[index]
    array[index] = original + eps
    above = fn()
    array[index] = original - eps
    below = fn()
    array[index] = original
    return (above - below) / (2 * eps)


def test_lstm_backpropagates_through_200_steps():
    """A 200-step LSTM sequence backpropagates; gradients of x_1 and weight_hh match finite differences."""
    mg.manual_seed(0)
    layer = mg.nn.LSTM(3, 4)
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.normal(size=(2, 200, 3)), requires_grad=True)
    weights = rng.normal(size=(2, 200, 4))
    output, (h_n, c_n) = layer(x)
    assert output.shape == (2, 200, 4)
    loss = (output * mg.tensor(weights)).sum() + c_n.sum()
    loss.backward()
    assert np.isfinite(x.grad).all() and np.abs(x.grad[:, 0]).sum() > 0

    def value():
        with mg.no_grad():
            out, (_, c) = layer(x)
            return float((out.data * weights).sum() + c.data.sum())

    for index in [(0, 0, 0), (1, 0, 2)]:
        numeric = _finite_difference(value, x.data, index)
        assert x.grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
    w = layer.weight_hh_l0
    numeric = _finite_difference(value, w.data, (5, 1))  # shared by all 200 steps
    assert w.grad[5, 1] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_rnn_gradient_vanishes_with_small_weights():
    """Loss on the last step: ||dL/dx_1|| << ||dL/dx_T||, and the norm grows towards step T."""
    mg.manual_seed(0)
    layer = mg.nn.RNN(3, 4)
    layer.weight_hh_l0.data *= 0.2 / np.abs(layer.weight_hh_l0.data).max()
    T = 20
    x = mg.tensor(np.random.default_rng(1).normal(size=(1, T, 3)), requires_grad=True)
    output, _ = layer(x)
    output[:, -1].sum().backward()
    norms = np.linalg.norm(x.grad[0], axis=1)
    assert norms[-1] > 0
    assert norms[0] < 1e-8 * norms[-1]
    assert np.all(np.diff(norms) > 0)


def test_rnn_gradient_does_not_vanish_on_an_identity_recurrence():
    """Contrast: with W_hh = I and relu the gradient reaches x_1 undiminished."""
    mg.manual_seed(0)
    layer = mg.nn.RNN(3, 4, nonlinearity="relu", bias=False)
    layer.weight_hh_l0.data[...] = np.eye(4)
    layer.weight_ih_l0.data[...] = np.abs(layer.weight_ih_l0.data)
    T = 20
    x = mg.tensor(np.abs(np.random.default_rng(1).normal(size=(1, T, 3))), requires_grad=True)
    output, _ = layer(x)
    output[:, -1].sum().backward()
    np.testing.assert_allclose(x.grad[0, 0], x.grad[0, -1])
    assert np.abs(x.grad[0, 0]).sum() > 0
