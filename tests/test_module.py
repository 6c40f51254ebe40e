"""Module and Parameter (registration, names, state), Linear and Embedding."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import Embedding, Linear, Module, ModuleList, Parameter


class Cell(Module):
    def __init__(self, n=3):
        super().__init__()
        self.weight = Parameter(np.arange(n * n, dtype=float).reshape(n, n))
        self.bias = Parameter(np.zeros(n))
        self.not_a_parameter = mg.tensor(np.ones(n), requires_grad=True)
        self.scale = 2.0

    def forward(self, x):
        return (x @ self.weight.T + self.bias) * self.scale


class Net(Module):
    def __init__(self):
        super().__init__()
        self.encoder = Cell()
        self.decoder = Module()
        self.decoder.inner = Cell()
        self.head = Parameter(np.ones(3))

    def forward(self, x):
        return (self.decoder.inner(self.encoder(x)) * self.head).sum()


def _fill_grads(module, value=1.0):
    for p in module.parameters():
        p.grad = np.full(p.shape, value)


# ------------------------------------------------------------ registration and names


def test_assigning_parameters_and_modules_registers_them():
    """Assigning a Parameter or Module attribute registers it; plain tensors and numbers do not."""
    cell = Cell()
    assert [name for name, _ in cell.named_parameters()] == ["weight", "bias"]
    assert all(isinstance(p, Parameter) and p.requires_grad for p in cell.parameters())
    net = Net()
    assert list(net.children()) == [net.encoder, net.decoder]


def test_reassigning_and_deleting_unregisters():
    """Replacing a Parameter attribute by something else, or deleting it, removes it from parameters()."""
    cell = Cell()
    cell.bias = None
    assert [name for name, _ in cell.named_parameters()] == ["weight"]
    del cell.weight
    assert list(cell.parameters()) == []


def test_nested_modules_have_dotted_names():
    """named_parameters() walks sub-modules depth first and joins names with dots."""
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["head", "encoder.weight", "encoder.bias", "decoder.inner.weight", "decoder.inner.bias"]


def test_shared_parameter_listed_once():
    """A Parameter reachable under two names appears once in parameters() and named_parameters()."""
    net = Net()
    net.decoder.inner.weight = net.encoder.weight  # tied weights
    params = list(net.parameters())
    assert sum(p is net.encoder.weight for p in params) == 1
    assert len(params) == len({id(p) for p in params}) == 4
    assert "encoder.weight" in dict(net.named_parameters())


def test_module_list_registers_its_modules():
    """A ModuleList's modules are sub-modules "0", "1", ...: indexing, len, iteration, and the
    tree walks (parameters, named_modules, train/eval) reach them."""
    cells = ModuleList([Cell(), Cell()])
    cells.append(Cell(2))
    assert len(cells) == 3 and cells[-1].weight.shape == (2, 2) and list(cells) == [cells[0], cells[1], cells[2]]
    assert [name for name, _ in cells.named_modules()] == ["", "0", "1", "2"]
    assert [name for name, _ in cells.named_parameters()][:2] == ["0.weight", "0.bias"]
    cells.eval()
    assert not any(cell.training for cell in cells)


class Flat(Module):
    """Exposes its sub-module's parameters under flat names, as Recurrent does (weight_ih_l0)."""

    def __init__(self):
        super().__init__()
        self.inner = ModuleList([Cell(), Cell()])

    def parameter_key(self, path):
        _, index, name = path.split(".", 2)
        return f"{name}_{index}"


def test_parameter_key_renames_in_named_parameters_and_state_dicts():
    """parameter_key maps names in named_parameters(), state_dict() and load_state_dict(), at
    every depth (a parent prefixes the mapped names), and leaves the registration alone."""
    flat = Flat()
    assert [name for name, _ in flat.named_parameters()] == ["weight_0", "bias_0", "weight_1", "bias_1"]
    assert list(flat.state_dict()) == ["weight_0", "bias_0", "weight_1", "bias_1"]
    flat.load_state_dict({**flat.state_dict(), "bias_1": np.full(3, 7.0)})
    np.testing.assert_array_equal(flat.inner[1].bias.data, np.full(3, 7.0))
    with pytest.raises(KeyError, match="unexpected inner.1.bias"):
        flat.load_state_dict({**flat.state_dict(), "inner.1.bias": np.zeros(3)})
    outer = Module()
    outer.flat = flat
    assert list(outer.state_dict()) == ["flat.weight_0", "flat.bias_0", "flat.weight_1", "flat.bias_1"]
    assert list(flat.inner._modules["0"]._parameters) == ["weight", "bias"]


def test_label_parameters_names_each_by_its_key():
    """label_parameters() sets each parameter's name (the label pictures show) to its key; a
    parameter reached by two names takes the first, once."""
    net = Net()
    net.decoder.inner.weight = net.encoder.weight
    assert net.label_parameters() is net
    assert [p.name for p in net.parameters()] == [name for name, _ in net.named_parameters()]
    assert net.encoder.weight.name == "encoder.weight"


def test_repr_lists_sub_modules_as_torch_does():
    """repr: Name(extra) for a leaf; with sub-modules, extra and each "(name): child" on its own line."""
    assert repr(Embedding(5, 2)) == "Embedding(5, 2)"
    outer = Module()
    outer.inner = Embedding(5, 2)
    assert repr(outer) == "Module(\n  (inner): Embedding(5, 2)\n)"
    outer.extra_repr = lambda: "size=2"
    assert repr(outer) == "Module(\n  size=2\n  (inner): Embedding(5, 2)\n)"


def test_super_init_required_before_assignment():
    """Setting an attribute before Module.__init__ ran is an AttributeError saying what to do."""

    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.ones(2))

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_call_runs_forward():
    """module(x) is module.forward(x)."""
    cell = Cell()
    x = mg.tensor(np.ones((2, 3)))
    np.testing.assert_array_equal(cell(x).data, cell.forward(x).data)
    with pytest.raises(NotImplementedError):
        Module()(x)


# ------------------------------------------------------------ state dicts


def test_state_dict_returns_copies():
    """state_dict() holds copies: later changes to the parameters do not alter it, and vice versa."""
    net = Net()
    state = net.state_dict()
    assert list(state) == [name for name, _ in net.named_parameters()]
    before = state["encoder.weight"].copy()
    net.encoder.weight.data += 1.0
    np.testing.assert_array_equal(state["encoder.weight"], before)
    state["head"][...] = 99.0
    np.testing.assert_array_equal(net.head.data, np.ones(3))


def test_load_state_dict_round_trip():
    """Loading one model's state_dict into another makes both compute the same thing."""
    a, b = Net(), Net()
    rng = np.random.default_rng(0)
    for p in a.parameters():
        p.data[...] = rng.normal(size=p.shape)
    b.load_state_dict(a.state_dict())
    for (name_a, pa), (name_b, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert name_a == name_b and pa is not pb
        np.testing.assert_array_equal(pa.data, pb.data)
    x = mg.tensor(rng.normal(size=(4, 3)))
    assert a(x).item() == b(x).item()


def test_load_state_dict_accepts_tensors_and_keeps_dtype():
    """Values may be Tensors; loading keeps the module's dtype (float32 stays float32)."""
    cell = Cell().float()
    cell.load_state_dict({"weight": mg.tensor(np.eye(3)), "bias": np.array([1.0, 2.0, 3.0])})
    assert cell.weight.dtype == np.float32 and cell.bias.dtype == np.float32
    np.testing.assert_array_equal(cell.weight.data, np.eye(3))
    np.testing.assert_array_equal(cell.bias.data, [1.0, 2.0, 3.0])


def test_load_state_dict_strict_names_missing_and_unexpected_keys():
    """strict loading raises KeyError naming every missing and unexpected key, loading nothing."""
    net = Net()
    state = net.state_dict()
    del state["encoder.bias"]
    state["encoder.typo"] = np.zeros(3)
    state["head"] = np.full(3, 5.0)
    with pytest.raises(KeyError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "missing" in message and "encoder.bias" in message
    assert "unexpected" in message and "encoder.typo" in message
    assert "\n" not in message
    np.testing.assert_array_equal(net.head.data, np.ones(3))


def test_load_state_dict_non_strict_loads_what_matches():
    """strict=False ignores unknown keys and leaves missing parameters as they were."""
    net = Net()
    net.load_state_dict({"head": np.full(3, 4.0), "unknown": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(net.head.data, np.full(3, 4.0))
    np.testing.assert_array_equal(net.encoder.bias.data, np.zeros(3))


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_shape_mismatch_names_parameter(strict):
    """A shape that differs raises ShapeError naming the parameter and both shapes, and changes nothing."""
    net = Net()
    state = net.state_dict()
    state["head"] = np.full(3, 8.0)
    state["decoder.inner.weight"] = np.zeros((3, 4))
    with pytest.raises(mg.ShapeError) as info:
        net.load_state_dict(state, strict=strict)
    message = str(info.value)
    assert "decoder.inner.weight" in message and "(3, 4)" in message and "(3, 3)" in message
    np.testing.assert_array_equal(net.head.data, np.ones(3))


# ------------------------------------------------------------ grads, modes, dtypes


def test_zero_grad_clears_every_parameter():
    """zero_grad() sets every parameter's grad (nested included) to None."""
    net = Net()
    net(mg.tensor(np.ones((2, 3)))).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_and_eval_are_recursive():
    """eval() and train() set .training on the module and every sub-module, and return the module."""
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.decoder.inner.training


def test_float_and_double_change_dtypes_and_forward_works():
    """float() makes every parameter float32 and forward then computes in float32 (and
    backward gives float32 grads); double() goes back to float64, values kept."""
    net = Net()
    original = {name: p.data.copy() for name, p in net.named_parameters()}
    assert net.float() is net
    assert all(p.dtype == np.float32 for p in net.parameters())
    x = mg.tensor(np.ones((2, 3), dtype=np.float32))
    out = net(x)
    assert out.dtype == np.float32
    out.backward()
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.data, original[name], rtol=1e-6)


# ------------------------------------------------------------ Linear


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_linear_matches_x_w_transpose_plus_b(in_features, out_features, batch_shape, bias, seed):
    """Linear(x) = x W^T + b for inputs of any leading shape; without bias there is no bias parameter."""
    mg.manual_seed(seed)
    layer = Linear(in_features, out_features, bias=bias)
    assert layer.weight.shape == (out_features, in_features)
    x_value = np.random.default_rng(seed).normal(size=(*batch_shape, in_features))
    y = layer(mg.tensor(x_value))
    expected = x_value @ layer.weight.data.T
    if bias:
        assert layer.bias.shape == (out_features,)
        expected = expected + layer.bias.data
    else:
        assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert y.shape == (*batch_shape, out_features)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


def test_linear_with_a_bias_of_another_dtype_promotes_as_numpy_does():
    """float32 x W with a float64 bias gives float64, and integer x W with a float bias gives
    floats, as x @ W.T + b does in NumPy."""
    w32 = mg.tensor(np.ones((3, 2)), dtype=np.float32, requires_grad=True)
    out = mg.nn.linear(mg.tensor(np.ones((4, 2)), dtype=np.float32), w32, mg.tensor(np.full(3, 0.5)))
    assert out.dtype == np.float64
    out.sum().backward()
    assert w32.grad.dtype == np.float32
    integers = mg.nn.linear(mg.tensor(np.ones((4, 2), dtype=int)), mg.tensor(np.ones((3, 2), dtype=int)), 0.5)
    np.testing.assert_array_equal(integers.data, np.full((4, 3), 2.5))


def test_linear_bias_that_would_enlarge_the_output_is_a_shape_error():
    """The bias must broadcast to x Wᵀ's shape (as in PyTorch): one line naming the op and shapes."""
    x, w = mg.tensor(np.ones((4, 2))), mg.tensor(np.ones((3, 2)))
    with pytest.raises(mg.ShapeError, match=r"linear: \(4, 2\) and \(3, 2\) and \(2, 4, 3\)"):
        mg.nn.linear(x, w, mg.tensor(np.ones((2, 4, 3))))


def test_linear_gradients_pass_gradcheck():
    """Linear's weight, bias and input gradients agree with finite differences."""
    mg.manual_seed(0)
    layer = Linear(3, 2)
    x = mg.tensor(np.random.default_rng(1).normal(size=(4, 3)), requires_grad=True)
    assert mg.gradcheck(lambda a, w, b: (a @ w.T + b).tanh(), [x, layer.weight, layer.bias])
    assert mg.gradcheck(lambda a: layer(a).tanh(), [x])


@pytest.mark.parametrize("in_features", [1, 4, 100])
def test_linear_init_uses_pytorch_bounds(in_features):
    """Weights and bias are uniform in +-1/sqrt(in_features), as torch.nn.Linear: all inside
    the bound, spread across it, centred on zero."""
    mg.manual_seed(123)
    layer = Linear(in_features, 400)
    bound = 1 / np.sqrt(in_features)
    for values in (layer.weight.data.ravel(), layer.bias.data):
        assert np.all(np.abs(values) <= bound)
        assert np.max(values) > 0.95 * bound and np.min(values) < -0.95 * bound
        assert abs(np.mean(values)) < 0.15 * bound
        assert np.std(values) == pytest.approx(bound / np.sqrt(3), rel=0.15)


def test_same_seed_same_initialisation():
    """mg.manual_seed(s) before construction gives bit-identical layers; another seed differs."""
    mg.manual_seed(5)
    a = Linear(3, 4)
    mg.manual_seed(5)
    b = Linear(3, 4)
    mg.manual_seed(6)
    c = Linear(3, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)


# ------------------------------------------------------------ Embedding


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.data())
def test_embedding_lookup_returns_rows(num, dim, data):
    """Embedding(indices) is weight[indices]: one row per index, indices of any shape."""
    layer = Embedding(num, dim)
    index_shapes = hnp.array_shapes(min_dims=0, max_dims=2, max_side=4)
    indices = data.draw(hnp.arrays(np.int64, index_shapes, elements=st.integers(0, num - 1)))
    out = layer(indices)
    assert out.shape == (*indices.shape, dim)
    np.testing.assert_array_equal(out.data, layer.weight.data[indices])
    np.testing.assert_array_equal(layer(mg.tensor(indices)).data, out.data)


def test_embedding_gradient_accumulates_for_repeated_indices():
    """A row looked up several times gets the sum of the gradients of each lookup; rows
    never looked up get zero."""
    layer = Embedding(5, 3)
    indices = np.array([[1, 3], [1, 1]])
    upstream = np.random.default_rng(0).normal(size=(2, 2, 3))
    layer(indices).backward(upstream)
    expected = np.zeros((5, 3))
    expected[1] = upstream[0, 0] + upstream[1, 0] + upstream[1, 1]
    expected[3] = upstream[0, 1]
    np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-12)


def test_embedding_init_is_standard_normal():
    """Embedding weights are drawn N(0, 1), as torch.nn.Embedding."""
    mg.manual_seed(0)
    weight = Embedding(200, 50).weight.data
    assert abs(weight.mean()) < 0.05 and weight.std() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize(
    ("indices", "error", "pattern"),
    [
        (np.array([0, 5]), IndexError, r"\[0, 5\)"),
        (np.array([-1, 2]), IndexError, r"\[0, 5\)"),
        (np.array([0.0, 1.0]), TypeError, "integer"),
        (np.array([True, False]), TypeError, "integer"),
    ],
)
def test_embedding_bad_indices_raise(indices, error, pattern):
    """Out-of-range (including negative) or non-integer indices raise a one-line error naming
    the valid range or the dtype."""
    layer = Embedding(5, 2)
    with pytest.raises(error, match=pattern) as info:
        layer(indices)
    assert "\n" not in str(info.value)


# -- Dropout ----------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(st.floats(0.1, 0.9), st.integers(0, 2**16))
def test_dropout_zeroes_a_share_p_and_scales_the_rest(p, seed):
    """In training: each element is 0 or x / (1 - p), about a share p of them 0, and the
    gradient is the same mask (kept elements get 1 / (1 - p), dropped ones 0). In eval: x."""
    mg.manual_seed(seed)
    drop = mg.nn.Dropout(p)
    x = mg.tensor(np.random.default_rng(seed).uniform(1, 2, (200, 50)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - p), rtol=1e-12)
    assert abs((~kept).mean() - p) < 0.05
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / (1 - p), rtol=1e-12)
    drop.eval()
    assert drop(x) is x


def test_dropout_masks_repeat_with_the_seed_and_keep_float32():
    x = mg.tensor(np.ones((4, 6), dtype=np.float32))
    masks = []
    for _ in range(2):
        mg.manual_seed(3)
        masks.append(mg.nn.Dropout(0.3)(x).data)
    np.testing.assert_array_equal(*masks)
    assert masks[0].dtype == np.float32
    with pytest.raises(ValueError, match="p must be in"):
        mg.nn.Dropout(1.0)
