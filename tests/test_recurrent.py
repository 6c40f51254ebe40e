"""mg.nn.Recurrent: shapes, directions, initial state, lengths=, names, step tags, unroll(), errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.plugins import PluginError

CELLS = ["rnn", "lstm", "gru", "mgu"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "mgu": 2}


@st.composite
def configs(draw, bidirectional=None):
    return dict(
        cell=draw(st.sampled_from(CELLS)),
        batch=draw(st.integers(1, 3)),
        steps=draw(st.integers(1, 5)),
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(1, 4)),
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()) if bidirectional is None else bidirectional,
        seed=draw(st.integers(0, 2**16)),
    )


def build(cfg):
    mg.manual_seed(cfg["seed"])
    layer = mg.nn.Recurrent(
        cfg["cell"], cfg["input_size"], cfg["hidden_size"], cfg["num_layers"], bidirectional=cfg["bidirectional"]
    )
    rng = np.random.default_rng(cfg["seed"])
    return layer, rng


def parts(state):
    """The components of a state: (h,) or (h, c)."""
    return state if isinstance(state, tuple) else (state,)


def is_pair(layer) -> bool:
    return isinstance(layer.cells[0].init_state(1), tuple)


def state_tensors(arrays, index=slice(None)):
    """Leaf tensors (requiring grad) of the batch slice ``index`` of each state array; tuple for pairs."""
    tensors = tuple(mg.tensor(a[:, index].copy(), requires_grad=True) for a in arrays)
    return tensors if len(tensors) > 1 else tensors[0]


def weighted_loss(output, h_n, w_out, w_state):
    loss = (output * mg.tensor(w_out)).sum()
    for part, w in zip(parts(h_n), w_state):
        loss = loss + (part * mg.tensor(w)).sum()
    return loss


# ------------------------------------------------------------------ shapes and final states


@given(configs())
def test_shapes_and_final_state_match_output(cfg):
    """output (B, T, D*H); h_n (D*L, B, H); last layer's h_n is output[:, -1, :H] / output[:, 0, H:]."""
    layer, rng = build(cfg)
    B, T, I, H, L = cfg["batch"], cfg["steps"], cfg["input_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    output, h_n = layer(mg.tensor(rng.normal(size=(B, T, I))))
    assert output.shape == (B, T, D * H)
    assert isinstance(h_n, tuple) == (cfg["cell"] == "lstm")
    for part in parts(h_n):
        assert part.shape == (D * L, B, H)
    h = parts(h_n)[0].data
    np.testing.assert_array_equal(h[D * (L - 1)], output.data[:, -1, :H])
    if D == 2:
        np.testing.assert_array_equal(h[D * (L - 1) + 1], output.data[:, 0, H:])


@given(configs())
@settings(max_examples=15)
def test_initial_state_is_used_and_receives_gradient(cfg):
    """A non-zero initial state changes the result, and every slice of it gets a gradient."""
    layer, rng = build(cfg)
    B, T, I, H, L = cfg["batch"], cfg["steps"], cfg["input_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    x = mg.tensor(rng.normal(size=(B, T, I)))
    zero_out, _ = layer(x)
    arrays = [rng.normal(size=(D * L, B, H)) for _ in range(2 if is_pair(layer) else 1)]
    state = state_tensors(arrays)
    output, h_n = layer(x, state)
    assert output.shape == zero_out.shape
    assert not np.allclose(output.data, zero_out.data)
    # an explicit zero state is the same as no state
    zeros = state_tensors([np.zeros_like(a) for a in arrays])
    np.testing.assert_allclose(layer(x, zeros)[0].data, zero_out.data, rtol=0, atol=1e-14)
    w_out = rng.normal(size=output.shape)
    w_state = [rng.normal(size=p.shape) for p in parts(h_n)]
    weighted_loss(output, h_n, w_out, w_state).backward()
    h0 = parts(state)[0]
    assert h0.grad is not None and h0.grad.shape == (D * L, B, H)
    for index in range(D * L):  # every layer and direction starts from its own slice
        assert np.abs(h0.grad[index]).sum() > 0, index


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_of_input_and_initial_state_match_finite_differences(cell):
    """gradcheck through a 2-layer bidirectional layer with an initial state and lengths."""
    mg.manual_seed(3)
    layer = mg.nn.Recurrent(cell, 2, 2, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(4)
    x = mg.tensor(rng.normal(size=(2, 3, 2)), requires_grad=True)
    arrays = [rng.normal(size=(4, 2, 2)) for _ in range(2 if is_pair(layer) else 1)]
    state = parts(state_tensors(arrays))

    def fn(x, *state):
        output, h_n = layer(x, state if len(state) > 1 else state[0], lengths=[3, 2])
        return mg.concat([output.reshape(-1)] + [p.reshape(-1) for p in parts(h_n)], axis=0)

    assert mg.gradcheck(fn, [x, *state], atol=1e-7, rtol=1e-5)


# ------------------------------------------------------------------ lengths=


@st.composite
def padded_configs(draw):
    cfg = draw(configs())
    cfg["lengths"] = draw(st.lists(st.integers(1, cfg["steps"]), min_size=cfg["batch"], max_size=cfg["batch"]))
    cfg["with_state"] = draw(st.booleans())
    return cfg


@given(padded_configs())
@settings(max_examples=20)
def test_lengths_equal_running_each_sequence_alone(cfg):
    """Padded steps output zero and get zero gradient; the rest equals a run at the true length."""
    layer, rng = build(cfg)
    B, T, I, H, L = cfg["batch"], cfg["steps"], cfg["input_size"], cfg["hidden_size"], cfg["num_layers"]
    D = 2 if cfg["bidirectional"] else 1
    lengths = np.array(cfg["lengths"])
    xs = rng.normal(size=(B, T, I))
    for b, n in enumerate(lengths):  # padding is garbage: it must not matter
        xs[b, n:] = 1e3 * rng.normal(size=(T - n, I))
    arrays = [rng.normal(size=(D * L, B, H)) for _ in range(2 if is_pair(layer) else 1)]
    x = mg.tensor(xs, requires_grad=True)
    state = state_tensors(arrays) if cfg["with_state"] else None
    output, h_n = layer(x, state, lengths=lengths)
    w_out = rng.normal(size=output.shape)
    w_state = [rng.normal(size=p.shape) for p in parts(h_n)]
    weighted_loss(output, h_n, w_out, w_state).backward()

    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(output.data[b, n:], 0.0)
        np.testing.assert_array_equal(x.grad[b, n:], 0.0)
        x_b = mg.tensor(xs[b : b + 1, :n].copy(), requires_grad=True)
        state_b = state_tensors(arrays, slice(b, b + 1)) if cfg["with_state"] else None
        out_b, h_b = layer(x_b, state_b)
        np.testing.assert_allclose(output.data[b : b + 1, :n], out_b.data, rtol=1e-12, atol=1e-12)
        for whole, alone in zip(parts(h_n), parts(h_b)):
            np.testing.assert_allclose(whole.data[:, b : b + 1], alone.data, rtol=1e-12, atol=1e-12)
        w_b = [w[:, b : b + 1] for w in w_state]
        weighted_loss(out_b, h_b, w_out[b : b + 1, :n], w_b).backward()
        np.testing.assert_allclose(x.grad[b : b + 1, :n], x_b.grad, rtol=1e-10, atol=1e-12)
        if cfg["with_state"]:
            for whole, alone in zip(parts(state), parts(state_b)):
                np.testing.assert_allclose(whole.grad[:, b : b + 1], alone.grad, rtol=1e-10, atol=1e-12)


def test_full_lengths_change_nothing():
    """lengths equal to the time axis give exactly the unmasked result."""
    mg.manual_seed(0)
    layer = mg.nn.Recurrent("lstm", 3, 4, num_layers=2, bidirectional=True)
    x = mg.tensor(np.random.default_rng(0).normal(size=(2, 5, 3)))
    out, (h, c) = layer(x)
    out2, (h2, c2) = layer(x, lengths=np.array([5, 5]))
    np.testing.assert_allclose(out2.data, out.data, atol=1e-15)
    np.testing.assert_allclose(h2.data, h.data, atol=1e-15)
    np.testing.assert_allclose(c2.data, c.data, atol=1e-15)


# ------------------------------------------------------------------ names


@given(configs(), st.booleans())
@settings(max_examples=15)
def test_parameter_names_are_pytorchs(cfg, bias):
    """weight_ih_l0, weight_hh_l1_reverse, ...; shapes (gates*H, input of that layer)."""
    mg.manual_seed(0)
    I, H, L = cfg["input_size"], cfg["hidden_size"], cfg["num_layers"]
    layer = mg.nn.Recurrent(cfg["cell"], I, H, L, bidirectional=cfg["bidirectional"], bias=bias)
    D = 2 if cfg["bidirectional"] else 1
    own = [n for n, _ in layer.cells[0].named_parameters()]
    if cfg["cell"] != "mgu":
        assert own == ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
    expected = [f"{n}_l{l}{s}" for l in range(L) for s in ["", "_reverse"][:D] for n in own]
    assert [n for n, _ in layer.named_parameters()] == expected
    assert list(layer.state_dict()) == expected
    gates = GATES[cfg["cell"]]
    for l in range(L):
        for s in ["", "_reverse"][:D]:
            assert getattr(layer, f"weight_ih_l{l}{s}").shape == (gates * H, I if l == 0 else D * H)
            assert getattr(layer, f"weight_hh_l{l}{s}").shape == (gates * H, H)
            if bias and cfg["cell"] != "mgu":
                assert getattr(layer, f"bias_hh_l{l}{s}").shape == (gates * H,)


def test_named_parameters_are_the_ones_the_cells_use():
    """Changing weight_hh_l1_reverse changes the output; its gradient is filled by backward()."""
    mg.manual_seed(1)
    layer = mg.nn.GRU(2, 3, num_layers=2, bidirectional=True)
    x = mg.tensor(np.random.default_rng(1).normal(size=(2, 4, 2)))
    before = layer(x)[0].data.copy()
    layer.weight_hh_l1_reverse.data += 0.5
    after, _ = layer(x)
    assert not np.allclose(before[..., 3:], after.data[..., 3:])
    np.testing.assert_array_equal(before[..., :3], after.data[..., :3])  # the forward direction is untouched
    after.sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and np.abs(p.grad).sum() > 0, name


def test_same_seed_same_parameters():
    mg.manual_seed(7)
    a = mg.nn.LSTM(3, 4, num_layers=2).state_dict()
    mg.manual_seed(7)
    b = mg.nn.LSTM(3, 4, num_layers=2).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    mg.manual_seed(8)
    c = mg.nn.LSTM(3, 4, num_layers=2).state_dict()
    assert not np.array_equal(a["weight_ih_l0"], c["weight_ih_l0"])


# ------------------------------------------------------------------ cells as sub-modules


def test_eval_and_train_reach_every_cell():
    """eval() on a 2-layer bidirectional LSTM switches all four cells off training; train() back on."""
    layer = mg.nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    assert len(layer.cells) == 4 and all(cell.training for cell in layer.cells)
    layer.eval()
    assert [cell.training for cell in layer.cells] == [False] * 4
    layer.train()
    assert [cell.training for cell in layer.cells] == [True] * 4


def test_named_modules_and_repr_show_the_cells():
    """named_modules() lists the cells at cells.<layer * directions + direction>, and repr shows each."""
    layer = mg.nn.GRU(2, 3, num_layers=2, bidirectional=True)
    modules = dict(layer.named_modules())
    assert list(modules) == ["", "cells", "cells.0", "cells.1", "cells.2", "cells.3"]
    assert [modules[f"cells.{i}"] for i in range(4)] == list(layer.cells)
    text = repr(layer)
    assert text.count("GRUCell(") == 4
    assert "(0): GRUCell(2, 3)" in text and "(3): GRUCell(6, 3)" in text  # layer 1 reads both directions


def test_each_parameter_is_registered_once_in_its_cell():
    """The flat names are a mapping: the Recurrent registers no parameter of its own, each
    parameter sits in exactly one cell, and layer.weight_hh_l1_reverse is that cell's weight_hh."""
    layer = mg.nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    assert not layer._parameters
    holders = [m for m in layer.modules() for p in m._parameters.values() if p is layer.weight_hh_l1_reverse]
    assert holders == [layer.cells[3]]
    assert layer.cells[3].weight_hh is layer.weight_hh_l1_reverse
    assert layer.cells[3].weight_hh.name == "weight_hh_l1_reverse"  # the label pictures show
    with pytest.raises(AttributeError, match="weight_hh_l2"):
        layer.weight_hh_l2


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("num_layers", "bidirectional", "bias"), [(1, False, True), (2, True, True), (3, True, False)])
def test_state_dict_keys_are_torchs(cell, num_layers, bidirectional, bias):
    """state_dict() and named_parameters() give torch.nn.RNN/LSTM/GRU's keys, in torch's order."""
    torch = pytest.importorskip("torch")
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    expected = list(module(2, 3, num_layers, bias=bias, batch_first=True, bidirectional=bidirectional).state_dict())
    layer = mg.nn.Recurrent(cell, 2, 3, num_layers, bidirectional=bidirectional, bias=bias)
    assert list(layer.state_dict()) == expected
    assert [name for name, _ in layer.named_parameters()] == expected


def test_state_dict_round_trip_gives_the_same_layer():
    """Another seed's layer, loaded with this one's state_dict, computes the same output and final
    state; loading changes the parameters in place, so the cells use the loaded values."""
    mg.manual_seed(0)
    source = mg.nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    mg.manual_seed(1)
    target = mg.nn.LSTM(2, 3, num_layers=2, bidirectional=True)
    x = mg.tensor(np.random.default_rng(0).normal(size=(2, 5, 2)))
    before, _ = target(x)
    assert not np.allclose(before.data, source(x)[0].data)
    kept = target.cells[2].weight_ih
    target.load_state_dict(source.state_dict())
    assert target.cells[2].weight_ih is kept
    np.testing.assert_array_equal(kept.data, source.weight_ih_l1.data)
    (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = source(x), target(x)
    for a, b in ((out_a, out_b), (h_a, h_b), (c_a, c_b)):
        np.testing.assert_array_equal(a.data, b.data)
    assert all(np.array_equal(v, target.state_dict()[k]) for k, v in source.state_dict().items())


# ------------------------------------------------------------------ step tags on the tape


def tape(*roots):
    seen, order, todo = set(), [], list(roots)
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        todo.extend(node.parents)
    return order


@given(configs())
@settings(max_examples=15)
def test_every_op_is_tagged_with_step_layer_direction(cfg):
    """Walking the tape from output and h_n: each op of a step carries step (1-based), layer, direction."""
    layer, rng = build(cfg)
    layer.fuse_input = False  # x_t U inside every step: every op but the joins belongs to a step
    B, T, I, L = cfg["batch"], cfg["steps"], cfg["input_size"], cfg["num_layers"]
    directions = ["forward", "reverse"] if cfg["bidirectional"] else ["forward"]
    x = mg.tensor(rng.normal(size=(B, T, I)), requires_grad=True)
    output, h_n = layer(x)
    seen = set()
    for node in tape(output, *parts(h_n)):
        if node.op is None:
            continue
        if node.op in ("stack", "concat") and "step" not in node.tags:
            continue  # joining the steps' outputs belongs to no single step
        tags = node.tags
        assert 1 <= tags["step"] <= T and node.step == tags["step"], (node.op, tags)
        assert 0 <= tags["layer"] < L and tags["direction"] in directions, (node.op, tags)
        seen.add((tags["step"], tags["layer"], tags["direction"]))
    assert seen == {(t, l, d) for t in range(1, T + 1) for l in range(L) for d in directions}
    # the step tag is the position in the sequence: output[:, t] was made in step t + 1
    stacks = output.parents if cfg["bidirectional"] else (output,)
    for stacked, direction in zip(stacks, directions):
        assert stacked.op == "stack" and len(stacked.parents) == T
        for t, h in enumerate(stacked.parents):
            assert h.tags == {"step": t + 1, "layer": L - 1, "direction": direction}
    # layer 0 reads x[:, t] in step t + 1
    reads = [n for n in tape(output) if n.op == "getitem" and n.parents and n.parents[0] is x]
    assert len(reads) == T * len(directions)
    for read in reads:
        t = read.tags["step"] - 1
        assert read.tags["layer"] == 0
        np.testing.assert_array_equal(read.data, x.data[:, t, :])


# ------------------------------------------------------------------ unroll()


@given(configs(bidirectional=False), st.booleans())
@settings(max_examples=15)
def test_unroll_equals_forward_on_the_generated_sequence(cfg, with_state):
    """unroll(x1, T, next_input) == forward(stack([x1, next_input(h1), ...]))."""
    layer, rng = build(cfg)
    B, T, I, H, L = cfg["batch"], cfg["steps"], cfg["input_size"], cfg["hidden_size"], cfg["num_layers"]
    M = mg.tensor(rng.normal(size=(H, I)))
    inputs = [mg.tensor(rng.normal(size=(B, I)), requires_grad=True)]
    calls = []

    def next_input(h):
        calls.append(h)
        assert h.shape == (B, H)
        inputs.append((h @ M).tanh())
        return inputs[-1]

    arrays = [rng.normal(size=(L, B, H)) for _ in range(2 if is_pair(layer) else 1)]
    state = state_tensors(arrays) if with_state else None
    out, h_n = layer.unroll(inputs[0], T, next_input, state=state)
    assert len(calls) == T - 1
    assert out.shape == (B, T, H)
    for part in parts(h_n):
        assert part.shape == (L, B, H)
    sequence = mg.stack(inputs, axis=1)
    again_state = state_tensors(arrays) if with_state else None
    out2, h_n2 = layer(sequence, again_state)
    np.testing.assert_allclose(out.data, out2.data, rtol=1e-13, atol=1e-13)
    for a, b in zip(parts(h_n), parts(h_n2)):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-13, atol=1e-13)
    for t, h in enumerate(calls):  # each fed-back h_t is the output of step t
        np.testing.assert_array_equal(h.data, out.data[:, t])


def test_unroll_gradient_flows_through_the_feedback():
    """The gradient of the last output reaches x_1 through the fed-back inputs too (gradcheck)."""
    mg.manual_seed(2)
    layer = mg.nn.Recurrent("gru", 2, 3, num_layers=2)
    M = mg.tensor(np.random.default_rng(2).normal(size=(3, 2)))
    x1 = mg.tensor(np.random.default_rng(3).normal(size=(2, 2)), requires_grad=True)
    assert mg.gradcheck(lambda x: layer.unroll(x, 4, lambda h: h @ M)[0], [x1], atol=1e-7, rtol=1e-5)


def test_unroll_errors():
    """Bidirectional, a wrong first_input shape and a non-positive step count are one-line errors."""
    with pytest.raises(ValueError, match="bidirectional"):
        mg.nn.Recurrent("rnn", 2, 3, bidirectional=True).unroll(mg.tensor(np.zeros((1, 2))), 3, lambda h: h)
    layer = mg.nn.Recurrent("rnn", 2, 3)
    with pytest.raises(mg.ShapeError, match=r"\(batch, 2\)"):
        layer.unroll(mg.tensor(np.zeros((1, 1, 2))), 3, lambda h: h)
    for steps in (0, -1):
        with pytest.raises(ValueError, match="steps") as info:
            layer.unroll(mg.tensor(np.zeros((1, 2))), steps, lambda h: h[:, :2])
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------ errors


def one_line(error_info) -> str:
    text = str(error_info.value)
    assert "\n" not in text and text
    return text


def test_bad_input_shapes():
    layer = mg.nn.Recurrent("gru", 3, 4)
    for shape in [(2, 3), (2, 5, 2), (1, 2, 3, 3)]:
        with pytest.raises(mg.ShapeError) as info:
            layer(mg.tensor(np.zeros(shape)))
        text = one_line(info)
        assert "(batch, time, 3)" in text and str(shape) in text


def test_bad_lengths():
    layer = mg.nn.Recurrent("rnn", 2, 3)
    x = mg.tensor(np.zeros((2, 4, 2)))
    with pytest.raises(mg.ShapeError) as info:
        layer(x, lengths=[3])
    assert "2 integers" in one_line(info)
    with pytest.raises(mg.ShapeError):
        layer(x, lengths=[1.0, 2.0])
    for bad in ([0, 2], [1, 5], [-1, 2]):
        with pytest.raises(ValueError) as info:
            layer(x, lengths=bad)
        assert "between 1 and 4" in one_line(info)


def test_bad_initial_state():
    x = mg.tensor(np.zeros((2, 4, 2)))
    gru = mg.nn.Recurrent("gru", 2, 3, num_layers=2, bidirectional=True)
    with pytest.raises(mg.ShapeError) as info:
        gru(x, mg.tensor(np.zeros((2, 2, 3))))
    assert "(4, 2, 3)" in one_line(info)
    lstm = mg.nn.LSTM(2, 3)
    with pytest.raises(mg.ShapeError) as info:
        lstm(x, mg.tensor(np.zeros((1, 2, 3))))
    assert "tuple of 2" in one_line(info)
    with pytest.raises(mg.ShapeError) as info:
        lstm(x, (mg.tensor(np.zeros((1, 2, 3))), mg.tensor(np.zeros((1, 3, 3)))))
    assert "(1, 2, 3)" in one_line(info)


def test_unknown_cell_and_bad_sizes():
    with pytest.raises(PluginError) as info:
        mg.nn.Recurrent("lstmm", 2, 3)
    text = one_line(info)
    assert "'lstmm'" in text and all(name in text for name in CELLS)
    with pytest.raises(TypeError, match="Cell"):
        mg.nn.Recurrent(int, 2, 3)
    for kwargs in ({"input_size": 0}, {"hidden_size": -1}, {"num_layers": 0}, {"hidden_size": 2.5}):
        args = {"input_size": 2, "hidden_size": 3, "num_layers": 1, **kwargs}
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            mg.nn.Recurrent("rnn", **args)


def test_cell_class_instead_of_name():
    cls = mg.cells()["gru"]
    layer = mg.nn.Recurrent(cls, 2, 3)
    assert layer.cell_class is cls and isinstance(layer.cells[0], cls)
    assert isinstance(mg.nn.LSTM(2, 3).cells[0], mg.cells()["lstm"])
    relu = mg.nn.RNN(2, 3, nonlinearity="relu")
    out, _ = relu(mg.tensor(np.random.default_rng(0).normal(size=(4, 5, 2))))
    assert (out.data >= 0).all() and (out.data == 0).any()
    with pytest.raises(ValueError, match="nonlinearity"):
        mg.nn.RNN(2, 3, nonlinearity="sigmoid")


@pytest.mark.parametrize("cell", CELLS)
def test_float32_stays_float32(cell):
    """A .float() layer on float32 input keeps float32 in outputs, states and gradients (lengths too)."""
    mg.manual_seed(0)
    layer = mg.nn.Recurrent(cell, 2, 3, num_layers=2, bidirectional=True).float()
    x = mg.tensor(np.random.default_rng(0).normal(size=(2, 3, 2)).astype(np.float32), requires_grad=True)
    output, h_n = layer(x, lengths=[3, 1])
    output.sum().backward()
    assert output.dtype == np.float32 and x.grad.dtype == np.float32
    assert all(p.dtype == np.float32 for p in parts(h_n))
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_the_cycle_collector_is_paused_only_while_unrolling():
    """Recurrent.forward turns Python's cyclic GC off while it runs and back on after, also when
    the input is bad; a collector the caller had turned off stays off."""
    import gc

    seen = []

    class Watching(mg.nn.Cell):
        name = "watching-gc"

        def __init__(self, input_size, hidden_size, bias=True):
            super().__init__()
            self.hidden_size = hidden_size
            self.weight = mg.nn.Parameter(np.ones((hidden_size, input_size)))

        def forward(self, x, state):
            seen.append(gc.isenabled())
            h = mg.nn.linear(x, self.weight) + state
            return h, h

    layer = mg.nn.Recurrent(Watching, 2, 3)
    x = mg.tensor(np.ones((1, 4, 2)))
    assert gc.isenabled()
    layer(x)
    assert seen == [False] * 4 and gc.isenabled()
    with pytest.raises(mg.ShapeError):
        layer(mg.tensor(np.ones((1, 4, 5))))
    assert gc.isenabled()
    gc.disable()
    try:
        layer(x)
        assert not gc.isenabled()
    finally:
        gc.enable()
