"""The lecture's GRU (`gru-textbook`): the cell contract, one step by hand in NumPy, exactly where
it differs from PyTorch's GRU (`gru`), inside Recurrent, and on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from minigrad_plugins.cells.gru_textbook import TextbookGRUCell

import minigrad as mg
from minigrad import cli
from minigrad.testing import check_cell

I, H = 3, 4


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def step(cell, x, h):
    """One step of ``cell`` on NumPy arrays; returns h_t as an array."""
    out, _ = cell(mg.tensor(x), mg.tensor(h))
    return out.numpy()


def pair(seed=0):
    """A `gru` and a `gru-textbook` cell holding the same parameters, and an input and a state."""
    mg.manual_seed(seed)
    pytorch, textbook = mg.cells()["gru"](I, H), TextbookGRUCell(I, H)
    textbook.load_state_dict(pytorch.state_dict())
    rng = np.random.default_rng(seed)
    return pytorch, textbook, rng.normal(size=(5, I)), rng.normal(size=(5, H))


def test_it_is_a_builtin_cell_with_pytorchs_gru_parameters():
    found = mg.plugins.provided("minigrad_cells", mg.nn.Cell)["gru-textbook"]
    assert found.cls is TextbookGRUCell and found.plugin.builtin
    layer = mg.nn.Recurrent("gru-textbook", I, H, num_layers=2, bidirectional=True)
    ours = {name: p.shape for name, p in layer.named_parameters()}
    assert ours == {name: p.shape for name, p in mg.nn.GRU(I, H, num_layers=2, bidirectional=True).named_parameters()}
    assert ours["weight_ih_l0"] == (3 * H, I) and ours["weight_hh_l0"] == (3 * H, H) and ours["bias_hh_l0"] == (3 * H,)


@pytest.mark.parametrize("bias", [True, False])
def test_check_cell_passes(bias):
    class Cell(TextbookGRUCell):
        def __init__(self, input_size, hidden_size, bias=bias):
            super().__init__(input_size, hidden_size, bias=bias)

    assert check_cell(Cell) < 1e-6


def test_gradcheck_on_the_command_line(capsys):
    assert cli.main(["gradcheck", "gru-textbook"]) == 0
    assert "gru-textbook" in capsys.readouterr().out


@pytest.mark.parametrize("bias", [True, False])
def test_one_step_equals_the_lectures_equations_in_numpy(bias):
    """z_t = σ(x_t U_z + h_{t-1} W_z), r_t likewise, h̃_t = tanh(x_t U_h + (r_t ∘ h_{t-1}) W_h),
    h_t = (1 - z_t) ∘ h_{t-1} + z_t ∘ h̃_t, with U = weight_ih^T and W = weight_hh^T cut into r, z, h̃."""
    mg.manual_seed(1)
    cell = TextbookGRUCell(I, H, bias=bias)
    rng = np.random.default_rng(1)
    x, h = rng.normal(size=(5, I)), rng.normal(size=(5, H))
    U_r, U_z, U_h = np.split(cell.weight_ih.numpy().T, 3, axis=1)
    W_r, W_z, W_h = np.split(cell.weight_hh.numpy().T, 3, axis=1)
    b = cell.bias_ih.numpy() + cell.bias_hh.numpy() if bias else np.zeros(3 * H)
    b_r, b_z, b_h = np.split(b, 3)
    z = sigmoid(x @ U_z + h @ W_z + b_z)
    r = sigmoid(x @ U_r + h @ W_r + b_r)
    h_tilde = np.tanh(x @ U_h + (r * h) @ W_h + b_h)
    expected = (1 - z) * h + z * h_tilde
    assert step(cell, x, h).dtype == np.float64
    np.testing.assert_allclose(step(cell, x, h), expected, rtol=0, atol=1e-12)


def flip_update_gate(cell):
    """Negate every weight and bias of the z block: σ(-a) = 1 - σ(a), so the cell's z becomes 1 - z."""
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data[H : 2 * H] *= -1


def make_forms_agree(pytorch, textbook):
    """Undo the two differences: flip the textbook's z (σ(-a) = 1 - σ(a), so its z is PyTorch's 1 - z),
    make W_hn diagonal (then r ∘ (h W_hn) = (r ∘ h) W_hn) and b_hn zero (PyTorch multiplies it by r)."""
    n = slice(2 * H, 3 * H)
    for cell in (pytorch, textbook):
        cell.weight_hh.data[n] = np.diag(np.diag(cell.weight_hh.data[n]))
        cell.bias_hh.data[n] = 0.0
    flip_update_gate(textbook)


def test_the_same_weights_give_different_steps():
    pytorch, textbook, x, h = pair()
    assert np.abs(step(pytorch, x, h) - step(textbook, x, h)).max() > 1e-2


def test_the_two_forms_differ_exactly_where_the_equations_say():
    pytorch, textbook, x, h = pair()
    make_forms_agree(pytorch, textbook)
    np.testing.assert_allclose(step(textbook, x, h), step(pytorch, x, h), rtol=0, atol=1e-12)

    n = slice(2 * H, 3 * H)
    for undo in ("z", "W_hn", "b_hn"):  # put back one difference at a time
        pytorch, textbook, x, h = pair()
        make_forms_agree(pytorch, textbook)
        if undo == "z":  # z keeps the old state in one form and takes the candidate in the other
            flip_update_gate(textbook)
        elif undo == "W_hn":  # units mix through W_hn: r before the product is not r after it
            full = np.random.default_rng(2).uniform(-0.5, 0.5, (H, H))
            pytorch.weight_hh.data[n] = textbook.weight_hh.data[n] = full
        else:  # the textbook adds b_hn whole; PyTorch scales it by r
            pytorch.bias_hh.data[n] = textbook.bias_hh.data[n] = 0.5
        assert np.abs(step(textbook, x, h) - step(pytorch, x, h)).max() > 1e-3, undo


def test_with_the_reset_gate_open_only_the_update_gate_differs():
    """r = 1 (a large b_ir): both candidates are tanh(x W_in^T + b_in + h W_hn^T + b_hn); flipping z is then enough."""
    pytorch, textbook, x, h = pair()
    for cell in (pytorch, textbook):
        cell.bias_ih.data[:H] = 50.0  # σ(50) = 1 in float64
    assert np.abs(step(textbook, x, h) - step(pytorch, x, h)).max() > 1e-2
    flip_update_gate(textbook)
    np.testing.assert_allclose(step(textbook, x, h), step(pytorch, x, h), rtol=0, atol=1e-12)


def test_recurrent_runs_its_cells_in_layers_and_both_directions():
    mg.manual_seed(3)
    layer = mg.nn.Recurrent("gru-textbook", I, H, num_layers=2, bidirectional=True)
    x = np.random.default_rng(3).normal(size=(2, 6, I))
    output, h_n = layer(mg.tensor(x))
    assert output.shape == (2, 6, 2 * H) and h_n.shape == (4, 2, H)

    inputs, finals = x, []
    for level in range(2):
        halves = []
        for direction in range(2):
            cell, h = layer.cells[2 * level + direction], np.zeros((2, H))
            order = range(6) if direction == 0 else reversed(range(6))
            states = {}
            for t in order:
                h = step(cell, inputs[:, t], h)
                states[t] = h
            halves.append(np.stack([states[t] for t in range(6)], axis=1))
            finals.append(h)
        inputs = np.concatenate(halves, axis=2)
    np.testing.assert_allclose(output.numpy(), inputs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), np.stack(finals), rtol=0, atol=1e-12)

    unfused = mg.nn.Recurrent("gru-textbook", I, H, num_layers=2, bidirectional=True, fuse_input=False)
    unfused.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(unfused(mg.tensor(x))[0].numpy(), output.numpy(), rtol=0, atol=1e-12)


def test_minigrad_train_runs_a_task_with_it(tmp_path):
    out = tmp_path / "run"
    quick = ["--epochs", "1", "--samples", "8", "--hidden-size", "4", "--quiet"]
    assert cli.main(["train", "echo", "--cell", "gru-textbook", *quick, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and np.isfinite(metrics["mse"])
    state, _ = mg.load(out / "model.safetensors")
    assert any(name.endswith("weight_hh_l0") and array.shape == (12, 4) for name, array in state.items())
