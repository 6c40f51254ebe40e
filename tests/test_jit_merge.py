"""mg.jit's plan merges one elementwise call per time step into one call over all steps
(rewrites.merge_steps), after moving each step's buffers of one role into one block
(rewrites.line_up_steps). Rewritten or not, a plan must compute the same bits: these tests run
random step loops both ways, with calls in between that read or write the same regions."""

from __future__ import annotations

from functools import partial

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.rewrites import line_up_steps, merge_steps

FUNCS = [np.add, np.subtract, np.multiply, np.negative, np.copyto]


def _region(buffers, rows, width, spec, t, steps):
    """A (rows, width) block of one buffer: its row block is t's, counted forwards or backwards, or
    the previous step's (a recurrence), or always the same one; or step t's own buffer."""
    if spec[0] == "number":
        return spec[1]
    if spec[0] == "own":
        return buffers[3][spec[1]][t]
    which, order, column = spec
    block = {"forward": t, "backward": steps - 1 - t, "previous": max(t - 1, 0)}.get(order, order)
    return buffers[which][block * rows : (block + 1) * rows, column * width : (column + 1) * width]


def _kernel(func, out, ins):
    if func is np.copyto:
        return partial(np.copyto, out, ins[0])
    return partial(func, *ins, out)


def _scale_first_buffer(buffers):  # a step no merge may cross: not a NumPy call
    buffers[0] *= 1.5


def _program(buffers, spec):
    """The kernels of a step loop, then of a loop back over the steps (as the walk goes back
    through time): each step runs its loop's body, and now and then another call."""
    steps, rows, width, (body, back), _ = spec
    kernels = []
    for t in range(steps):
        for k, own in enumerate(buffers[3]):  # each step's own buffers, made from its rows first
            kernels.append(partial(np.multiply, buffers[k % 2][t * rows : (t + 1) * rows, :width], 0.5, own[t]))
        for func, out, ins in body:
            kernels.append(_kernel(func, *_operands(buffers, rows, width, out, ins, t, steps)))
        _extras(kernels, buffers, spec, t)
    for t in reversed(range(steps)):
        for func, out, ins in back:
            kernels.append(_kernel(func, *_operands(buffers, rows, width, out, ins, t, steps)))
    return kernels


def _extras(kernels, buffers, spec, t):
    """Calls at step t only: a barrier (not a NumPy call), a closure, or one more call."""
    steps, rows, width, _, extras = spec
    for when, kind, func, out, ins in extras:
        if when != t:
            continue
        if kind == "barrier":
            kernels.append(partial(_scale_first_buffer, buffers))
        elif kind == "closure":  # a generic op's closure: it writes only the pinned buffer
            pinned = buffers[2]
            kernels.append(lambda pinned=pinned: np.multiply(pinned, 0.75, out=pinned))
        else:
            kernels.append(_kernel(func, *_operands(buffers, rows, width, out, ins, t, steps)))


def _operands(buffers, rows, width, out, ins, t, steps):
    return _region(buffers, rows, width, out, t, steps), [_region(buffers, rows, width, i, t, steps) for i in ins]


@st.composite
def step_loops(draw):
    steps, rows, columns, width = (draw(st.integers(2, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                                   draw(st.integers(1, 4)))  # fmt: skip
    orders = st.one_of(st.sampled_from(["forward", "backward", "previous"]), st.integers(0, steps - 1))
    array = st.tuples(st.integers(0, 2), orders, st.integers(0, columns - 1))
    own = st.tuples(st.just("own"), st.integers(0, 1))  # read only: a step's own buffer is an input
    operand = st.one_of(array, own, st.tuples(st.just("number"), st.sampled_from([0.5, 1.0, 2])))

    def call(draw_from):
        func = draw_from(st.sampled_from(FUNCS))
        arity = 1 if func in (np.negative, np.copyto) else 2
        ins = [draw_from(st.one_of(array, own) if func is np.copyto else operand) for _ in range(arity)]
        if func is not np.copyto and all(i[0] == "number" for i in ins):
            ins[0] = draw_from(array)
        return func, draw_from(array), ins

    body = [call(draw) for _ in range(draw(st.integers(1, 4)))]
    back = [call(draw) for _ in range(draw(st.integers(0, 3)))]
    extras = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["call", "barrier", "closure"]))
        extras.append((draw(st.integers(0, steps - 1)), kind, *call(draw)))
    return steps, rows, columns, width, (body, back), extras


# Found by this test: a call that joins a group runs earlier than calls already recorded, and
# the last-use maps must keep the later of the two places (here the walk's second negative of
# step 0 reads b1[1] after the first merged call, so the third, which writes b1[1], must stay).
A_HOISTED_CALL_DOES_NOT_HIDE_A_LATER_READ = (
    2, 1, 1, 1,
    ([(np.add, (0, "forward", 0), [("own", 0), (0, "forward", 0)])],
     [(np.negative, (1, "forward", 0), [(1, "backward", 0)]),
      (np.negative, (0, "forward", 0), [(1, "backward", 0)]),
      (np.negative, (1, "backward", 0), [("own", 0)])]),
    [],
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(loop=step_loops(), seed=st.integers(0, 2**16))
@example(loop=A_HOISTED_CALL_DOES_NOT_HIDE_A_LATER_READ, seed=0)
def test_merged_plans_compute_the_same_bits(loop, seed):
    steps, rows, columns, width, body, extras = loop
    rng = np.random.default_rng(seed)
    start = [rng.uniform(0.5, 2.0, size=(steps * rows, columns * width)) for _ in range(3)]

    def buffers():  # the three shared buffers, and two lists of each step's own buffers
        return [*(b.copy() for b in start), [[np.empty((rows, width)) for _ in range(steps)] for _ in range(2)]]

    one, two = buffers(), buffers()
    spec = (steps, rows, width, body, extras)
    for kernel in _program(one, spec):
        kernel()
    owned = {id(b) for own in two[3] for b in own}
    for kernel in merge_steps(line_up_steps(_program(two, spec), [], owned, [two[2]]), pinned=[two[2]]):
        kernel()
    for a, b in zip(one[:3], two[:3]):
        assert a.view(np.uint64).tobytes() == b.view(np.uint64).tobytes()


def test_a_loop_of_independent_calls_becomes_one_call_per_kind():
    """1 - s_t² for every step: one multiply and one subtract over all steps' rows."""
    steps, rows, width = 5, 2, 3
    states = np.random.default_rng(0).normal(size=(steps * rows, width))
    slopes = np.empty_like(states)
    kernels = []
    for t in reversed(range(steps)):  # the backward walk goes from the last step to the first
        s, slope = states[t * rows : (t + 1) * rows], slopes[t * rows : (t + 1) * rows]
        kernels += [partial(np.multiply, s, s, slope), partial(np.subtract, 1, slope, slope)]
    merged = merge_steps(kernels, pinned=[])
    assert [k.func for k in merged] == [np.multiply, np.subtract]
    for kernel in merged:
        kernel()
    np.testing.assert_array_equal(slopes, 1 - states * states)


def test_a_call_reading_what_an_earlier_step_writes_stays_in_its_step():
    """Step t reads the row step t - 1 wrote: the calls depend on each other and must not merge."""
    rows = np.arange(1.0, 7.0).reshape(6, 1)
    kernels = [partial(np.multiply, rows[t - 1 : t], 2.0, rows[t : t + 1]) for t in range(1, 6)]
    merged = merge_steps(kernels, pinned=[])
    assert len(merged) == 5
    for kernel in merged:
        kernel()
    np.testing.assert_array_equal(rows.ravel(), [1, 2, 4, 8, 16, 32])


def _trusted_plan(layer):
    """The kernels of a training step of ``layer`` (batch 2, 6 steps) once mg.jit trusts its plan."""
    target = np.zeros((2, layer.hidden_size))

    @mg.jit
    def step(x):
        layer.zero_grad()
        output, _ = layer(x)
        loss = mg.nn.mse_loss(output[:, -1], target)
        loss.backward()
        return loss

    x = np.random.default_rng(0).normal(size=(2, 6, layer.input_size))
    step(mg.tensor(x))
    step(mg.tensor(x + 1))  # the trial: the plan is built, replayed and compared with eager
    (entry,) = step.entries.values()
    assert entry.trusted
    return entry.program.plan.kernels


def test_an_rnn_plan_computes_the_slope_of_tanh_for_all_steps_in_one_call():
    mg.manual_seed(0)
    kernels = _trusted_plan(mg.nn.RNN(3, 4))
    subtracts = [k for k in kernels if getattr(k, "func", None) is np.subtract and type(k.args[0]) is int]
    assert len(subtracts) == 2  # the last step's own (its state has a buffer of its own), then all others at once
    assert subtracts[1].args[1].shape == (5, 2, 4)


def test_an_lstm_plan_computes_each_gates_slope_for_all_steps_at_once():
    """σ(1 - σ) of the input, forget and output gates: each gate's σ_t moves into one block, so
    the walk's 1 - σ and (1 - σ) σ become one call per gate for the steps that share a layout."""
    mg.manual_seed(0)
    kernels = _trusted_plan(mg.nn.LSTM(3, 4))
    merged = [k for k in kernels if getattr(k, "func", None) is np.subtract and k.args[1].ndim == 3]
    assert len(merged) >= 3
