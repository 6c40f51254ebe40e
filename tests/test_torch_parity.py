"""mg.nn.RNN / LSTM / GRU against torch.nn: same state_dict -> same outputs, states and gradients."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg

if os.environ.get("CI") == "true":
    import torch  # in CI a missing torch is a failure, not a skip
else:
    torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-9, atol=1e-9)
MODES = {  # name -> (torch class, minigrad class, extra keyword arguments)
    "rnn_tanh": ("RNN", "RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", "RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", "LSTM", {}),
    "gru": ("GRU", "GRU", {}),
}
sizes = st.fixed_dictionaries(
    {
        "batch": st.integers(1, 3),
        "steps": st.integers(1, 5),
        "input_size": st.integers(1, 4),
        "hidden_size": st.integers(1, 4),
        "seed": st.integers(0, 2**16),
    }
)


def run_torch(model, x, state, upstream):
    x = torch.tensor(x, requires_grad=True)
    state_t = None
    if state is not None:
        state_t = tuple(torch.tensor(s, requires_grad=True) for s in state)
    output, h_n = model(x, None if state_t is None else (state_t if len(state_t) > 1 else state_t[0]))
    finals = h_n if isinstance(h_n, tuple) else (h_n,)
    loss = (output * torch.tensor(upstream[0])).sum()
    for final, g in zip(finals, upstream[1:]):
        loss = loss + (final * torch.tensor(g)).sum()
    loss.backward()
    grads = {name: p.grad.numpy() for name, p in model.named_parameters()}
    grads["input"] = x.grad.numpy()
    for i, s in enumerate(state_t or ()):
        grads[f"state{i}"] = s.grad.numpy()
    return [output.detach().numpy()] + [f.detach().numpy() for f in finals], grads


def run_minigrad(model, x, state, upstream):
    x = mg.tensor(x, requires_grad=True)
    state_m = None
    if state is not None:
        state_m = tuple(mg.tensor(s, requires_grad=True) for s in state)
    output, h_n = model(x, None if state_m is None else (state_m if len(state_m) > 1 else state_m[0]))
    finals = h_n if isinstance(h_n, tuple) else (h_n,)
    loss = (output * mg.tensor(upstream[0])).sum()
    for final, g in zip(finals, upstream[1:]):
        loss = loss + (final * mg.tensor(g)).sum()
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    grads["input"] = x.grad
    for i, s in enumerate(state_m or ()):
        grads[f"state{i}"] = s.grad
    return [output.data] + [f.data for f in finals], grads


def compare(mode, num_layers, bidirectional, bias, with_state, cfg):
    """Build both models from one state_dict and return the largest absolute difference seen."""
    torch_name, mg_name, extra = MODES[mode]
    B, T, I, H = cfg["batch"], cfg["steps"], cfg["input_size"], cfg["hidden_size"]
    D = 2 if bidirectional else 1
    torch.manual_seed(cfg["seed"])
    reference = getattr(torch.nn, torch_name)(
        I, H, num_layers=num_layers, bias=bias, batch_first=True, bidirectional=bidirectional,
        dtype=torch.float64, **extra,
    )
    model = getattr(mg.nn, mg_name)(I, H, num_layers=num_layers, bias=bias, bidirectional=bidirectional, **extra)
    state_dict = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    assert list(state_dict) == [name for name, _ in model.named_parameters()]
    model.load_state_dict(state_dict)

    rng = np.random.default_rng(cfg["seed"])
    x = rng.normal(size=(B, T, I))
    n_state = 2 if mode == "lstm" else 1
    state = [rng.normal(size=(D * num_layers, B, H)) for _ in range(n_state)] if with_state else None
    upstream = [rng.normal(size=(B, T, D * H))] + [rng.normal(size=(D * num_layers, B, H)) for _ in range(n_state)]

    expected, expected_grads = run_torch(reference, x, state, upstream)
    actual, actual_grads = run_minigrad(model, x, state, upstream)
    worst = 0.0
    for label, a, e in zip(["output", "h_n", "c_n"], actual, expected):
        np.testing.assert_allclose(a, e, err_msg=label, **TOL)
        worst = max(worst, float(np.abs(a - e).max()))
    assert set(actual_grads) == set(expected_grads)
    for name, e in expected_grads.items():
        a = actual_grads[name]
        assert a is not None, name
        np.testing.assert_allclose(a, e, err_msg=f"gradient of {name}", **TOL)
        worst = max(worst, float(np.abs(a - e).max()))
    return worst


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "initial_state"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("mode", list(MODES))
@settings(max_examples=10)
@given(cfg=sizes)
def test_two_layers_match_torch(mode, bidirectional, bias, with_state, cfg):
    """2 layers: outputs, h_n (c_n) and gradients of input, initial state and every parameter."""
    assert compare(mode, 2, bidirectional, bias, with_state, cfg) <= 1e-9


@pytest.mark.parametrize("mode", list(MODES))
@settings(max_examples=15)
@given(cfg=sizes, num_layers=st.sampled_from([1, 3]), bidirectional=st.booleans(), with_state=st.booleans())
def test_other_depths_match_torch(mode, cfg, num_layers, bidirectional, with_state):
    assert compare(mode, num_layers, bidirectional, True, with_state, cfg) <= 1e-9


def test_parity_check_can_fail():
    """A perturbed parameter is noticed: the comparison is not vacuous."""
    torch.manual_seed(0)
    reference = torch.nn.GRU(2, 3, batch_first=True, dtype=torch.float64)
    model = mg.nn.GRU(2, 3)
    state_dict = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    state_dict["bias_hh_l0"][7] += 1e-6  # the n gate's hidden bias, inside r * (h W_hn + b_hn)
    model.load_state_dict(state_dict)
    x = np.random.default_rng(0).normal(size=(2, 3, 2))
    with torch.no_grad():
        expected = reference(torch.tensor(x))[0].numpy()
    actual = model(mg.tensor(x))[0].data
    assert not np.allclose(actual, expected, **TOL)
