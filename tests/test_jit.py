"""mg.jit: replayed steps equal eager ones bit for bit; what cannot be replayed runs eagerly
after one warning; a new signature records again; recording is this thread's business only."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.grad_mode import state
from minigrad.jit import Jitted, JitWarning
from op_cases import CASES, joined_tensor

INPUT = 3


class TwoGateCell(mg.nn.Cell):
    """A plugin cell, not a built-in: h' = tanh(x U + h W) * sigmoid(x V)."""

    name = "two-gate-test"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.hidden_size = hidden_size
        self.u = self.uniform_parameter(hidden_size, input_size)
        self.w = self.uniform_parameter(hidden_size, hidden_size)
        self.v = self.uniform_parameter(hidden_size, input_size)

    def forward(self, x, h):
        h = mg.nn.linear(h, self.w, mg.nn.linear(x, self.u)).tanh() * mg.nn.linear(x, self.v).sigmoid()
        return h, h


CELLS = ["rnn", "lstm", "gru", TwoGateCell]


def build(cell, hidden, layers, bidirectional, dtype, optimizer):
    """A recurrent layer and its training step (Adam's update inside the step when asked)."""
    mg.manual_seed(0)
    layer = mg.nn.Recurrent(cell, INPUT, hidden, num_layers=layers, bidirectional=bidirectional)
    if dtype == np.float32:
        layer.float()
    opt = mg.optim.Adam(layer.parameters(), lr=0.01)

    def step(x, y, lengths=None):
        opt.zero_grad()
        output, _ = layer(x, lengths=lengths)
        loss = mg.nn.mse_loss(output[:, -1], y)
        loss.backward()
        if optimizer:
            opt.step()
        return loss

    return layer, step


def assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@settings(max_examples=40, deadline=None)
@given(
    cell=st.sampled_from(CELLS),
    batch=st.integers(1, 3),
    steps=st.integers(1, 4),
    hidden=st.integers(1, 4),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    optimizer=st.booleans(),
    masked=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_replayed_steps_equal_eager_steps_bit_for_bit(cell, batch, steps, hidden, layers, bidirectional, dtype,
                                                      optimizer, masked, seed):  # fmt: skip
    eager_layer, eager_step = build(cell, hidden, layers, bidirectional, dtype, optimizer)
    jit_layer, step = build(cell, hidden, layers, bidirectional, dtype, optimizer)
    jitted = mg.jit(step)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, steps + 1, size=batch) if masked else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)  # a step of ops only: never a fallback
        for _ in range(5):
            x = rng.normal(size=(batch, steps, INPUT)).astype(dtype)
            y = rng.normal(size=(batch, hidden * (2 if bidirectional else 1))).astype(dtype)
            expected = eager_step(mg.tensor(x), y, lengths)
            got = jitted(mg.tensor(x), y, lengths)
            assert_same(expected.data, got.data)
            for (name, p), (_, q) in zip(eager_layer.named_parameters(), jit_layer.named_parameters()):
                assert_same(p.data, q.data)
                assert_same(p.grad, q.grad)
    assert jitted.recordings == 1 and jitted.replays >= 2


def test_a_replay_makes_no_tensors():
    layer, step = build("lstm", 4, 1, False, np.float64, True)
    jitted = mg.jit(step)
    rng = np.random.default_rng(0)
    for _ in range(3):
        jitted(mg.tensor(rng.normal(size=(2, 5, INPUT))), rng.normal(size=(2, 4)))
    from minigrad import autograd

    before = next(autograd.creation_order)
    loss = jitted(mg.tensor(rng.normal(size=(2, 5, INPUT))), rng.normal(size=(2, 4)))
    # the argument and the returned loss are the only tensors made (and the counter's own read)
    assert next(autograd.creation_order) - before == 3
    assert isinstance(loss.item(), float)


def test_a_new_signature_records_again():
    _, step = build("gru", 3, 1, False, np.float64, False)
    jitted = mg.jit(step)
    rng = np.random.default_rng(0)
    for batch in (2, 2, 2, 3, 3, 3):
        jitted(mg.tensor(rng.normal(size=(batch, 4, INPUT))), rng.normal(size=(batch, 3)))
    assert jitted.recordings == 2 and jitted.replays == 2


def test_item_inside_the_step_falls_back_with_one_warning():
    layer, step = build("rnn", 3, 1, False, np.float64, False)
    reference_layer, reference = build("rnn", 3, 1, False, np.float64, False)

    def with_item(x, y):
        return step(x, y).item()  # a Python number: a replay could only repeat the first one

    jitted = mg.jit(with_item)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            x, y = rng.normal(size=(2, 4, INPUT)), rng.normal(size=(2, 3))
            assert jitted(mg.tensor(x), y) == reference(mg.tensor(x), y).item()
    assert len([w for w in caught if issubclass(w.category, JitWarning)]) == 1
    assert jitted.replays == 0
    for p, q in zip(layer.parameters(), reference_layer.parameters()):
        assert_same(p.grad, q.grad)


def branching_step():
    w = mg.nn.Parameter(np.ones(3))
    opt = mg.optim.SGD([w], lr=0.1)  # its zero_grad() is recorded; a bare `w.grad = None` is not

    def step(x):
        opt.zero_grad()
        y = x * w
        if y.sum().item() > 0:  # a decision on a value
            loss = (y * y).sum()
        else:
            loss = (y * 3.0).sum()
        loss.backward()
        return loss

    return w, mg.jit(step)


def test_control_flow_on_a_value_that_takes_another_path_in_the_trial_falls_back():
    w, jitted = branching_step()
    with pytest.warns(JitWarning, match="runs eagerly"):
        for x in ([1.0, 2.0, 3.0], [-5.0, 1.0, 1.0], [-6.0, 1.0, 1.0]):
            jitted(mg.tensor(x))
    assert w.grad.tolist() == [-18.0, 3.0, 3.0]  # the second branch: 3 x
    assert jitted.replays == 0


def test_control_flow_on_a_value_is_never_replayed():
    w, jitted = branching_step()
    with pytest.warns(JitWarning, match=r"reads a value it computed \(item\(\)\)"):
        for x in ([1.0, 2.0, 3.0], [2.0, 1.0, 1.0], [-5.0, 1.0, 1.0]):  # the trial would take the first path again
            jitted(mg.tensor(x))
    assert w.grad.tolist() == [-15.0, 3.0, 3.0]  # eager's answer for the last x: the second branch, 3 x
    assert jitted.replays == 0 and jitted.recordings == 1


def test_a_quiet_jit_falls_back_without_a_warning(recwarn):
    w, loud = branching_step()
    quiet = Jitted(loud.fn, warn=False)  # the Trainer's default
    for x in ([1.0, 2.0, 3.0], [-5.0, 1.0, 1.0]):
        quiet(mg.tensor(x))
    assert not [warning for warning in recwarn if issubclass(warning.category, JitWarning)]
    assert quiet.warned and quiet.replays == 0  # it knows why it runs eagerly, and does
    assert w.grad.tolist() == [-15.0, 3.0, 3.0]


def test_dropout_falls_back_with_a_warning():
    mg.manual_seed(0)
    linear, dropout = mg.nn.Linear(3, 2), mg.nn.Dropout(0.5)

    def step(x):
        linear.zero_grad()
        loss = dropout(linear(x)).sum()
        loss.backward()
        return loss

    with pytest.warns(JitWarning, match="random"):
        mg.jit(step)(mg.tensor(np.ones((4, 3))))


def test_clipping_inside_the_step_is_caught_by_the_trial_replay():
    layer, step = build("rnn", 3, 1, False, np.float64, False)

    def clipped(x, y):
        loss = step(x, y)
        mg.nn.clip_grad_norm_(layer.parameters(), 1e-3)  # NumPy on the gradients: no op records it
        return loss

    jitted = mg.jit(clipped)
    rng = np.random.default_rng(0)
    with pytest.warns(JitWarning, match="differed"):
        for _ in range(3):
            jitted(mg.tensor(rng.normal(size=(2, 4, INPUT))), rng.normal(size=(2, 3)))
    assert jitted.replays == 0


def test_recording_in_one_thread_leaves_another_threads_steps_alone():
    _, step = build("lstm", 3, 1, False, np.float64, True)
    other_layer, other_step = build("lstm", 3, 1, False, np.float64, True)
    reference_layer, reference_step = build("lstm", 3, 1, False, np.float64, True)
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(2, 6, INPUT)), rng.normal(size=(2, 3))) for _ in range(20)]
    go = threading.Barrier(2)

    def record_many():
        jitted = mg.jit(step)
        go.wait()
        for x, y in batches:
            jitted(mg.tensor(x), y)

    thread = threading.Thread(target=record_many)
    thread.start()
    go.wait()
    for x, y in batches:  # eager, in this thread, while the other thread records and replays
        assert state.recorder is None
        other_step(mg.tensor(x), y)
    thread.join()
    for x, y in batches:
        reference_step(mg.tensor(x), y)
    for p, q in zip(other_layer.parameters(), reference_layer.parameters()):
        assert_same(p.data, q.data)


def test_a_parameter_of_another_shape_records_again():
    w = mg.nn.Parameter(np.ones(3))
    opt = mg.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (x * w).sum()
        loss.backward()
        return loss

    jitted = mg.jit(step)
    for value in (1.0, 2.0, 3.0):
        jitted(mg.tensor(np.full(3, value)))
    assert jitted.replays == 1
    w.data = np.ones(1)  # broadcasting still works, with another shape
    jitted(mg.tensor(np.full(3, 4.0)))
    assert jitted.recordings == 2 and w.grad.tolist() == [12.0]


def test_a_bare_grad_reset_inside_the_step_is_caught_by_the_trial_replay():
    w = mg.nn.Parameter(np.ones(3))

    def step(x):
        w.grad = None  # an attribute write: nothing records it, so a replay would accumulate
        (x * w).sum().backward()

    jitted = mg.jit(step)
    with pytest.warns(JitWarning, match="differed"):
        for value in (1.0, 2.0, 3.0, 4.0):
            jitted(mg.tensor(np.full(3, value)))
    assert w.grad.tolist() == [4.0, 4.0, 4.0]


@settings(max_examples=10, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_op_replays_bit_for_bit(case, data):
    """Each primitive, lowered onto buffers (lowering.py) or run generically, replays to the
    eager step's loss and gradients exactly, on values it was not recorded with."""
    example = data.draw(case.inputs)

    def step(*tensors):
        out = joined_tensor(case.minigrad(*tensors, **example.params))
        loss = (out * out).sum()
        loss.backward()
        return loss

    jitted = mg.jit(step)
    calls = [[a * scale for a in example.arrays] for scale in (1.0, 1.1, 0.9, 1.05)]  # scaled: off every kink
    # the first call records, the first with other values is the trial, every later call a replay
    trial = next((i for i, arrays in enumerate(calls) if not all(map(np.array_equal, arrays, calls[0]))), len(calls))
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)  # ops only: never a fallback
        for arrays in calls:
            eager_inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
            jit_inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
            expected, got = step(*eager_inputs), jitted(*jit_inputs)
            assert_same(expected.data, got.data)
            for e, g in zip(eager_inputs, jit_inputs):
                assert_same(e.grad, g.grad)
    assert jitted.replays == max(0, len(calls) - 1 - trial)


def test_a_view_of_an_input_made_inside_the_step_is_replayed_as_a_view():
    """``y[:, None]`` (pm25's target) is NumPy work on an input: replayed as the same view of
    each new input, not frozen as a constant."""
    layer, _ = build("rnn", 3, 1, False, np.float64, False)

    def step(x, y):
        layer.zero_grad()
        output, _ = layer(x)
        loss = mg.nn.mse_loss(output[:, -1, :1], y[:, None])
        loss.backward()
        return loss

    jitted = mg.jit(step)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)
        for _ in range(4):
            x, y = rng.normal(size=(2, 4, INPUT)), rng.normal(size=2)
            expected = step(mg.tensor(x), y).data
            grads = [p.grad.copy() for p in layer.parameters()]
            assert_same(jitted(mg.tensor(x), y).data, expected)
            for p, g in zip(layer.parameters(), grads):
                assert_same(p.grad, g)
    assert jitted.replays == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", CELLS)
def test_replays_equal_eager_at_sizes_where_numpy_vectorises(cell, dtype):
    """Odd sizes large enough for NumPy's SIMD loops and their tails (the property test above
    keeps sizes tiny): the plan's placed and shared buffers still give eager's bits."""
    eager_layer, eager_step = build(cell, 37, 2, True, dtype, True)
    jit_layer, step = build(cell, 37, 2, True, dtype, True)
    jitted = mg.jit(step)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x, y = rng.normal(size=(9, 6, INPUT)).astype(dtype), rng.normal(size=(9, 74)).astype(dtype)
        assert_same(eager_step(mg.tensor(x), y).data, jitted(mg.tensor(x), y).data)
        for p, q in zip(eager_layer.parameters(), jit_layer.parameters()):
            assert_same(p.data, q.data)
            assert_same(p.grad, q.grad)
    assert jitted.replays == 2
