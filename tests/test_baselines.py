"""The benchmark's floor (benchmarks/baselines.py): its hand-written gradients are minigrad's.

The floor is the yardstick every speed ratio is measured against, so a wrong floor would
make every ratio wrong without anyone noticing; these sizes are tiny, the check is exact.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg

_path = Path(__file__).resolve().parents[1] / "benchmarks" / "baselines.py"
_spec = importlib.util.spec_from_file_location("baselines", _path)
baselines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baselines)

INPUT = 3


def _problem(cell: str, batch: int, steps: int, hidden: int):
    rng = np.random.default_rng([batch, steps, hidden])
    x = rng.normal(size=(batch, steps, INPUT))
    y = rng.normal(size=(batch, hidden))
    mg.manual_seed(1)
    layer = mg.nn.Recurrent(cell, INPUT, hidden)
    w = {name: p.data for name, p in layer.named_parameters()}
    floor = baselines.FLOORS[cell](w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"], x, y)
    return layer, floor, x, y


def _minigrad_grads(layer, x: np.ndarray, y: np.ndarray) -> dict:
    output, _ = layer(mg.tensor(x))
    mg.nn.mse_loss(output[:, -1], y).backward()
    return {name: p.grad for name, p in layer.named_parameters()}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("batch", "steps", "hidden"), [(1, 1, 2), (1, 6, 4), (3, 5, 5)])
def test_floor_gradients_equal_minigrads(cell: str, batch: int, steps: int, hidden: int) -> None:
    layer, floor, x, y = _problem(cell, batch, steps, hidden)
    ours = floor.torch_grads(floor.step())
    expected = _minigrad_grads(layer, x, y)
    assert ours.keys() == expected.keys()
    for name, grad in expected.items():
        assert ours[name].shape == grad.shape, name
        np.testing.assert_allclose(ours[name], grad, rtol=0, atol=1e-10 * np.max(np.abs(grad)), err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_floor_steps_repeat_and_leave_inputs_alone(cell: str) -> None:
    """The buffers are reused: a later step must not see anything left by an earlier one."""
    layer, floor, x, y = _problem(cell, 2, 4, 3)
    before = [p.data.copy() for p in layer.parameters()] + [x.copy(), y.copy()]
    first = floor.torch_grads(floor.step())
    second = floor.torch_grads(floor.step())
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    for original, now in zip(before, [p.data for p in layer.parameters()] + [x, y]):
        np.testing.assert_array_equal(original, now)
