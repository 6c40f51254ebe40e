"""backward(): the graph walk that is backpropagation through time.

Covers long unrolled chains, shared sub-expressions, retain_graph, the errors
backward() raises, no_grad, detach, time_step tags, dtypes and broadcasting.
"""

from __future__ import annotations

import copy
import sys

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg


def _rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# ------------------------------------------------------------ long sequences


def test_10000_step_tanh_recurrence_at_default_recursion_limit():
    """A 10,000-step unrolled h_t = tanh(w h_{t-1} + x_t) backpropagates with the
    recursion limit at Python's default (1000), and every gradient equals the chain
    rule worked by hand: dL/dh0 is the product of the per-step derivatives."""
    steps = 10_000
    rng = np.random.default_rng(1)
    xs = rng.normal(0.0, 0.05, steps)
    w_value, h0_value = 1.0, 0.3

    w = mg.tensor(w_value, requires_grad=True, name="w")
    h0 = mg.tensor(h0_value, requires_grad=True, name="h0")
    x = [mg.tensor(v, requires_grad=True) for v in xs]
    h = h0
    for t in range(steps):
        h = (w * h + x[t]).tanh()

    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        h.backward()
    finally:
        sys.setrecursionlimit(previous_limit)

    # Forward and backward by hand in NumPy.
    hs = np.empty(steps + 1)
    hs[0] = h0_value
    for t in range(steps):
        hs[t + 1] = np.tanh(w_value * hs[t] + xs[t])
    local = 1.0 - hs[1:] ** 2  # d tanh(a_t) / d a_t
    # dL/da_t = prod_{k>t} (w * local_k) * local_t ; dL/dh0 = prod_t (w * local_t)
    expected_h0 = np.prod(w_value * local)
    suffix = np.ones(steps)  # suffix[t] = prod_{k>t} w * local_k
    for t in range(steps - 2, -1, -1):
        suffix[t] = suffix[t + 1] * w_value * local[t + 1]
    expected_x = suffix * local
    expected_w = np.sum(expected_x * hs[:-1])

    assert expected_h0 > 1e-200  # the product is representable, so the comparison means something
    np.testing.assert_allclose(h0.grad, expected_h0, rtol=1e-9)
    np.testing.assert_allclose([xi.grad for xi in x], expected_x, rtol=1e-9)
    np.testing.assert_allclose(w.grad, expected_w, rtol=1e-9)


# ------------------------------------------------------------ shared nodes


def test_diamond_graph_sums_both_paths():
    """A tensor used by two branches that meet again gets the sum of both branches' gradients."""
    x_value = _rand((3, 4))
    x = mg.tensor(x_value, requires_grad=True)
    a = x * 3.0  # the shared node
    out = (a.tanh() + a * a).sum()
    out.backward()
    a_value = 3.0 * x_value
    expected = 3.0 * ((1 - np.tanh(a_value) ** 2) + 2 * a_value)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_same_leaf_used_twice_in_one_op():
    """x * x gives 2x: both operand slots of one op feed the same leaf."""
    x_value = _rand((5,), seed=2)
    x = mg.tensor(x_value, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x_value, rtol=1e-12)


def test_retain_graph_twice_accumulates_exactly_twice():
    """Two backward() calls with retain_graph=True add the gradient into leaves exactly
    twice; an interior node with several consumers is not counted more often."""
    x_value = _rand((4,), seed=3)
    x = mg.tensor(x_value, requires_grad=True)
    w = mg.tensor(_rand((4,), seed=4), requires_grad=True)
    h = x * w  # interior node with three consumers: h*h (twice) and h.sum()
    out = (h * h).sum() + 3.0 * h.sum()

    out.backward(retain_graph=True)
    once_x, once_w = x.grad.copy(), w.grad.copy()
    h_value = x_value * w.data
    np.testing.assert_allclose(once_x, (2 * h_value + 3) * w.data, rtol=1e-12)
    np.testing.assert_allclose(once_w, (2 * h_value + 3) * x_value, rtol=1e-12)

    out.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, 2 * once_x)
    np.testing.assert_array_equal(w.grad, 2 * once_w)
    assert h.grad is None and out.grad is None


def test_second_backward_without_retain_graph_raises_graph_freed():
    """After a plain backward() the tape is freed: a second backward() raises
    mg.GraphFreedError with a one-line message pointing at retain_graph, and leaves
    keep the gradient from the first call."""
    x = mg.tensor(_rand((3,)), requires_grad=True)
    out = (x.tanh() * 2.0).sum()
    out.backward()
    first = x.grad.copy()
    with pytest.raises(mg.GraphFreedError, match="retain_graph") as info:
        out.backward()
    message = str(info.value)
    assert "\n" not in message and "freed" in message
    assert isinstance(info.value, RuntimeError)
    np.testing.assert_array_equal(x.grad, first)


def test_retain_graph_then_plain_backward_then_freed():
    """retain_graph keeps the tape for one more call; the call without it frees it."""
    x = mg.tensor(_rand((2,)), requires_grad=True)
    out = (x * x).sum()
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data, rtol=1e-12)
    with pytest.raises(mg.GraphFreedError):
        out.backward()


def test_leaf_gradients_accumulate_across_graphs():
    """As in PyTorch, a leaf's .grad adds up over separate backward() calls until cleared."""
    x = mg.tensor(_rand((3,)), requires_grad=True)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2.0 + 2 * x.data, rtol=1e-12)


# ------------------------------------------------------------ ops with several outputs


@given(
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    st.data(),
)
def test_split_and_unbind_pieces_get_their_own_gradients_and_unused_ones_zero(shape, data):
    """Each piece of a split (or unbind) sends its gradient to its own place in the input;
    pieces nothing used send zeros, a piece used twice sends the sum, and cutting the same
    tensor twice adds both cuts' gradients."""
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    x_value = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2)), label="x")
    x = mg.tensor(x_value, requires_grad=True)
    pieces = mg.unbind(x, axis=axis) if data.draw(st.booleans(), label="unbind") else mg.split(x, 1, axis=axis)
    used = data.draw(st.lists(st.integers(0, len(pieces) - 1), max_size=4), label="pieces used")
    whole = data.draw(st.booleans(), label="also cut the whole tensor again")
    total = mg.tensor(0.0)
    for k in used:  # a piece drawn twice is used twice
        total = total + (pieces[k] * pieces[k]).sum()
    if whole:
        total = total + sum(piece.sum() for piece in mg.split(x, 1, axis=axis))
    if not total.requires_grad:
        return  # nothing used: no graph to walk
    total.backward()
    expected = np.zeros_like(x_value)
    moved, target = np.moveaxis(x_value, axis, 0), np.moveaxis(expected, axis, 0)  # views: writes land in expected
    for k in used:
        target[k] += 2 * moved[k]
    if whole:
        expected += 1
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_split_pieces_walked_twice_with_retain_graph():
    """retain_graph=True: a second walk through the same split adds the same gradient again."""
    x = mg.tensor(_rand((2, 6)), requires_grad=True)
    a, b, c = mg.split(x, 2, axis=1)
    out = (a * 2.0 + c * 3.0).sum()
    out.backward(retain_graph=True)
    first = x.grad.copy()
    out.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-12)
    np.testing.assert_array_equal(first, np.repeat([[2.0, 0.0, 3.0]], 2, axis=1).reshape(1, 6).repeat(2, axis=0))


def test_gradients_reach_each_piece_and_sibling_pieces_walk_separately():
    """mg.gradients returns each piece's own gradient (zeros for a piece nothing used); a
    backward() through one piece leaves its siblings walkable, as in PyTorch."""
    x = mg.tensor(_rand((2, 6)), requires_grad=True)
    a, b, c = mg.split(x, 2, axis=1)
    out = (a * 2.0).sum() + (c * c).sum()
    grad_a, grad_b, grad_c = mg.gradients(out, [a, b, c])
    np.testing.assert_array_equal(grad_a, np.full((2, 2), 2.0))
    np.testing.assert_array_equal(grad_b, np.zeros((2, 2)))
    np.testing.assert_allclose(grad_c, 2 * c.data, rtol=1e-12)
    assert x.grad is None  # gradients() leaves .grad alone
    (a * 3.0).sum().backward()
    (b * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.repeat([[3.0, 5.0, 0.0]], 2, axis=1).repeat(2, axis=0))


def test_a_shallow_copy_of_a_piece_refuses_to_walk_with_a_clear_error():
    """copy.copy of one output of a split shares its backward without being one of its
    outputs: backward() says so, rather than dropping its gradient."""
    x = mg.tensor(_rand((2, 4)), requires_grad=True)
    a, _ = mg.split(x, 2, axis=1)
    with pytest.raises(RuntimeError, match="shallow copy of one output of 'split'"):
        copy.copy(a).sum().backward()


@pytest.mark.parametrize("cut", ["split", "unbind", "recurrent"])
def test_a_deep_copied_graph_walks_like_the_original(cut):
    """copy.deepcopy of a loss copies its whole tape, pieces of a split or unbind included:
    backward() through the copy gives the original's gradients, and leaves the original
    walkable."""
    mg.manual_seed(0)
    x = mg.tensor(_rand((2, 3, 4)), requires_grad=True)
    if cut == "split":
        a, b, c = mg.split(x, [1, 1, 2], axis=2)
        loss = (a * 2.0).sum() + (c * c).sum()
    elif cut == "unbind":
        pieces = mg.unbind(x, axis=1)
        loss = (pieces[0] * pieces[2]).sum() + pieces[2].tanh().sum()
    else:
        output, _ = mg.nn.Recurrent("lstm", 4, 3)(x)
        loss = (output[:, -1] ** 2).sum()
    copied = copy.deepcopy(loss)
    copied_x = next(t for t in mg.viz.tape.collect(copied) if t.op is None and t.shape == x.shape)
    copied.backward()
    loss.backward()
    np.testing.assert_allclose(copied_x.grad, x.grad, rtol=1e-12)
    assert np.abs(x.grad).sum() > 0


# ------------------------------------------------------------ backward's arguments


def test_backward_with_explicit_grad_for_non_scalar():
    """backward(G) on a non-scalar y computes the vector-Jacobian product G^T dy/dx."""
    x_value, g = _rand((2, 3), seed=5), _rand((2, 3), seed=6)
    x = mg.tensor(x_value, requires_grad=True)
    y = x * x
    y.backward(g)
    np.testing.assert_allclose(x.grad, 2 * x_value * g, rtol=1e-12)


def test_backward_without_grad_on_non_scalar_raises():
    """backward() on a many-element output without a gradient raises, naming the shape."""
    x = mg.tensor(_rand((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2, 3\)") as info:
        (x * 2.0).backward()
    assert "\n" not in str(info.value)
    assert x.grad is None


def test_backward_without_grad_on_one_element_tensor():
    """A one-element output of shape (1, 1) needs no explicit gradient (it is taken as 1)."""
    x = mg.tensor([[2.0]], requires_grad=True)
    (x * x).backward()
    np.testing.assert_allclose(x.grad, [[4.0]])


def test_backward_on_tensor_not_requiring_grad_raises():
    """backward() on a constant (nothing requires grad) raises and says how to fix it."""
    y = mg.tensor(_rand((2,))).sum()
    with pytest.raises(RuntimeError, match="requires_grad") as info:
        y.backward()
    assert "\n" not in str(info.value)


def test_backward_grad_shape_mismatch_raises():
    """backward(grad) with a gradient of the wrong shape raises ShapeError naming both shapes."""
    x = mg.tensor(_rand((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(mg.ShapeError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))
    assert x.grad is None


# ------------------------------------------------------------ no_grad and detach


def test_no_grad_records_nothing():
    """Inside mg.no_grad() results require no grad and carry no tape; outside, recording resumes."""
    x = mg.tensor(_rand((3,)), requires_grad=True)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2.0).tanh()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.op is None and y.parents == () and y.is_leaf
    z = x * 2.0
    assert z.requires_grad and z.op is not None and z.parents[0] is x


def test_no_grad_restores_mode_after_exception_and_nesting():
    """no_grad puts the previous mode back when its block raises and when nested blocks end."""
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            1 / 0
    assert mg.is_grad_enabled()
    with mg.no_grad():
        with mg.no_grad():
            pass
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_no_grad_as_decorator():
    """@mg.no_grad() turns recording off only while the decorated function runs, every call."""
    x = mg.tensor(_rand((3,)), requires_grad=True)

    @mg.no_grad()
    def evaluate(t):
        assert not mg.is_grad_enabled()
        return (t * t).sum()

    for _ in range(2):
        out = evaluate(x)
        assert not out.requires_grad
        assert mg.is_grad_enabled()
    np.testing.assert_allclose(out.item(), np.sum(x.data**2))


def test_detach_cuts_the_graph():
    """detach() gives the same values with no gradient path: d(x.detach() * x)/dx = x, not 2x."""
    x_value = _rand((4,), seed=7)
    x = mg.tensor(x_value, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.data, x_value)
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad, x_value, rtol=1e-12)
    assert d.grad is None


def test_graph_through_detached_value_only_does_not_require_grad():
    """A result computed only from a detached tensor is a constant."""
    x = mg.tensor(_rand((2,)), requires_grad=True)
    y = (x.detach() * 3.0).sum()
    assert not y.requires_grad
    with pytest.raises(RuntimeError):
        y.backward()


# ------------------------------------------------------------ time-step tags


def test_time_step_tags_nodes_and_nesting_restores():
    """mg.time_step(t, **tags) tags ops made inside with the step and extra tags; an inner
    block adds to/overrides them and the outer tags come back when it ends."""
    x = mg.tensor(_rand((2,)), requires_grad=True)
    before = x * 1.0
    with mg.time_step(3, layer=1):
        a = x * 2.0
        with mg.time_step(4, direction="reverse"):
            b = a.tanh()
        c = b + a
    after = c * 1.0
    assert before.step is None and "step" not in before.tags
    assert a.tags == {"step": 3, "layer": 1} and a.step == 3
    assert b.tags == {"step": 4, "layer": 1, "direction": "reverse"} and b.step == 4
    assert c.tags == {"step": 3, "layer": 1}
    assert after.step is None and after.tags == {}


def test_time_step_as_a_decorator_restores_tags_in_recursion():
    """@mg.time_step(t) on a recursive function: each call tags its ops, and the tags in
    force before the outermost call are back after it."""
    x = mg.tensor(1.0, requires_grad=True)
    made = []

    @mg.time_step(5, layer=2)
    def chain(depth):
        made.append(x * 2.0)
        if depth:
            chain(depth - 1)
        made.append(x * 3.0)

    with mg.time_step(1):
        chain(3)
        after = x * 4.0
    assert all(t.tags == {"step": 5, "layer": 2} for t in made)
    assert after.tags == {"step": 1}


def test_time_step_restores_after_exception():
    """Tags do not leak out of a time_step block that raised."""
    with pytest.raises(KeyError):
        with mg.time_step(7, layer=0):
            raise KeyError("boom")
    y = mg.tensor([1.0], requires_grad=True) * 2.0
    assert y.step is None and y.tags == {}


def test_time_step_tags_survive_backward():
    """Tags stay on nodes after backward(), so the graph can still be drawn by step."""
    h = mg.tensor([0.5], requires_grad=True)
    nodes = []
    for t in range(3):
        with mg.time_step(t):
            h = (h * 0.9).tanh()
            nodes.append(h)
    h.sum().backward()
    assert [n.step for n in nodes] == [0, 1, 2]
    assert [n.op for n in nodes] == ["tanh"] * 3


# ------------------------------------------------------------ what .grad holds


def test_float32_leaf_gets_float32_grad():
    """A float32 leaf's gradient is float32, even when float64 values join the graph."""
    x = mg.tensor(_rand((3,), dtype=np.float32), requires_grad=True)
    (x * 2.0).tanh().sum().backward()
    assert x.grad.dtype == np.float32

    y = mg.tensor(_rand((3,), dtype=np.float32), requires_grad=True)
    w = _rand((3,), seed=9)  # float64 constant upcasts the product
    out = (y * mg.tensor(w)).sum()
    assert out.dtype == np.float64
    out.backward()
    assert y.grad.dtype == np.float32
    np.testing.assert_allclose(y.grad, w, rtol=1e-6)


def test_non_leaf_grad_stays_none():
    """Only leaves keep .grad (as in PyTorch); intermediate results stay None."""
    x = mg.tensor(_rand((3,)), requires_grad=True)
    h = x.tanh()
    out = (h * h).sum()
    out.backward()
    assert x.grad is not None
    assert h.grad is None and out.grad is None
    assert x.is_leaf and not h.is_leaf


def test_constant_inputs_get_no_grad():
    """Inputs that do not require grad are left with .grad None."""
    x = mg.tensor(_rand((3,)), requires_grad=True)
    c = mg.tensor(_rand((3,), seed=1))
    (x * c).sum().backward()
    assert c.grad is None


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), st.integers(0, 2**32 - 1))
def test_broadcast_inputs_get_gradients_of_their_own_shape(shapes, seed):
    """For a * b with NumPy broadcasting, each input's gradient has that input's shape and
    equals the sum of the upstream gradient over every output position it was copied to."""
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    a_value, b_value = rng.normal(size=shape_a), rng.normal(size=shape_b)
    g = rng.normal(size=out_shape)
    a = mg.tensor(a_value, requires_grad=True)
    b = mg.tensor(b_value, requires_grad=True)
    (a * b).backward(g)
    assert a.grad.shape == shape_a and b.grad.shape == shape_b

    def expected(shape, other):
        # dL/dv[j] = sum over outputs of g * other * [output position reads v[j]]
        result = np.zeros(shape)
        for j in np.ndindex(*shape):
            e = np.zeros(shape)
            e[j] = 1.0
            result[j] = np.sum(g * np.broadcast_to(other, out_shape) * np.broadcast_to(e, out_shape))
        return result

    np.testing.assert_allclose(a.grad, expected(shape_a, b_value), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad, expected(shape_b, a_value), rtol=1e-10, atol=1e-12)


def test_a_tensor_unpickled_from_another_process_gets_its_gradient():
    """backward() orders tensors by when they were made; one unpickled from a process that had
    made many more tensors must still come before the ops computed from it here."""
    import pickle
    import subprocess
    import sys

    code = (
        "import pickle, sys, numpy as np, minigrad as mg\n"
        "for _ in range(1000): mg.tensor(1.0)\n"
        "sys.stdout.buffer.write(pickle.dumps(mg.nn.Parameter(np.ones(3), name='w')))\n"
    )
    w = pickle.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    x = mg.tensor([1.0, 2.0, 3.0])
    (w * x).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0, 3.0])
    assert isinstance(w, mg.nn.Parameter) and w.name == "w"


def test_no_grad_works_as_a_bare_decorator_and_when_recursing():
    """`@mg.no_grad` without parentheses records nothing, and a recursive decorated function
    restores grad mode at every level."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)

    @mg.no_grad
    def double(t, depth=2):
        return t * 2 if depth == 0 else double(t, depth - 1)

    y = double(x)
    assert not y.requires_grad and mg.is_grad_enabled()
    assert (x * 2).requires_grad


def test_watch_sees_every_op_of_the_walk_in_order_with_what_it_sends():
    """backward_walk's watch: each op once, in the order of the walk (outputs before inputs), with
    the gradient reaching it and one sent gradient per input; what W is sent sums to W.grad."""
    from minigrad.autograd import backward_walk, topological_order
    from minigrad.deferred import resolve

    W = mg.tensor(np.array([[0.5, -0.2], [0.1, 0.3]]), requires_grad=True, name="W")
    s = mg.tensor(np.ones((1, 2)))
    for t in range(1, 4):
        with mg.time_step(t):
            s = (s @ W).tanh()
    loss = (s * s).sum()
    seen = []
    expected = [n for n in reversed(topological_order(loss)) if n.op is not None]
    backward_walk(loss, np.ones(()), watch=lambda node, g, sent: seen.append((node, g, sent)))
    assert [node for node, _, _ in seen] == expected
    assert all(len(sent) == len(node.parents) for node, _, sent in seen)
    to_W = [(node.step, resolve(sent[i])) for node, _, sent in seen for i, parent in enumerate(node.parents) if parent is W]
    assert [step for step, _ in to_W] == [3, 2, 1]  # one contribution per time step, the last first
    np.testing.assert_allclose(sum(g for _, g in to_W), W.grad, rtol=1e-12)
