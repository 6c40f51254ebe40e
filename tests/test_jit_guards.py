"""mg.jit where a replay could silently drift from eager: each step below once replayed to other
bits than eager (found in review), while its trial passed. Each must now equal eager bit for bit
on every call, or record again; none may fall back with a warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.jit import JitWarning


def run_both(build, inputs, calls=6, between=None):
    """An eager step and its jitted twin, built alike, on the same inputs: compared every call."""
    eager_params, eager_step = build()
    jit_params, jit_step = build()
    jitted = mg.jit(jit_step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)
        for i in range(calls):
            if between is not None:
                between(i, eager_params, jit_params)
            args = inputs(i)
            expected = eager_step(*[mg.tensor(a) for a in args])
            got = jitted(*[mg.tensor(a) for a in args])
            assert expected.data.tobytes() == got.data.tobytes(), f"call {i}: loss"
            for p, q in zip(eager_params, jit_params):
                assert p.data.tobytes() == q.data.tobytes(), f"call {i}: a parameter"
                assert (p.grad is None) == (q.grad is None), f"call {i}: a gradient"
                assert p.grad is None or p.grad.tobytes() == q.grad.tobytes(), f"call {i}: a gradient"
    return jitted


def sgd_step(params, loss_of, update=False):
    opt = mg.optim.SGD(params, lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = loss_of(x)
        loss.backward()
        if update:
            opt.step()
        return loss

    return step


def test_a_stacked_part_read_by_an_op_without_lowering():
    def build():
        mg.manual_seed(0)
        w1, w2 = (mg.nn.Parameter(mg.default_rng().normal(size=4)) for _ in range(2))

        def loss(x):
            h1, h2 = (x * w1).tanh(), (x * w2).tanh()
            s = mg.stack([h1, h2])  # h1 could be computed straight into s[0] ...
            return (s * s).sum() + h1.exp().sum()  # ... but exp (run generically) reads h1 itself

        return [w1, w2], sgd_step([w1, w2], loss)

    rng = np.random.default_rng(1)
    assert run_both(build, lambda i: [rng.normal(size=4)]).replays == 4


def test_a_weight_sum_row_block_a_generic_backward_reads():
    def build():
        mg.manual_seed(0)
        w = mg.nn.Parameter(mg.default_rng().normal(size=(3, 3)))
        c = mg.nn.Parameter(mg.default_rng().normal(size=(2, 3)))

        def loss(x):
            z = mg.nn.linear(mg.nn.linear(x, w).tanh(), w) + c.exp()  # w twice: its rows are joined
            return (z * z).sum()

        return [w, c], sgd_step([w, c], loss)

    rng = np.random.default_rng(1)
    assert run_both(build, lambda i: [rng.normal(size=(2, 3))]).replays == 4


def test_a_part_in_a_strided_region_read_by_a_matmul():
    def build():
        def dyadic(*shape):
            return mg.nn.Parameter((np.arange(np.prod(shape)).reshape(shape) % 5 - 2) / 8.0)

        a, a_bias, c, w = dyadic(2, 3), dyadic(2), dyadic(2, 3), dyadic(1, 2)

        def loss(u):
            p = mg.nn.linear(u, a, a_bias)
            joined = mg.concat([p, mg.nn.linear(u, c)], axis=1)  # p's region: a column block
            z = mg.nn.linear(p, w)  # w's gradient reads p as a matmul operand
            return (z * z).sum() + (joined * joined).sum()

        return [a, a_bias, c, w], sgd_step([a, a_bias, c, w], loss)

    rng = np.random.default_rng(0)

    def inputs(i):  # recorded and tried on small integers, whose sums are exact in any order
        return [rng.integers(-3, 4, size=(64, 3)).astype(float) if i < 2 else rng.normal(size=(64, 3))]

    assert run_both(build, inputs).replays == 4


def test_a_float16_mean():
    def build():
        w = mg.nn.Parameter(np.ones(7, np.float16))
        return [w], sgd_step([w], lambda x: (x * w).mean())

    rng = np.random.default_rng(0)
    fixed = [np.full(7, 0.5, np.float16), np.full(7, 0.25, np.float16)]
    run_both(build, lambda i: [fixed[i] if i < 2 else rng.normal(size=7).astype(np.float16)], calls=8)


@pytest.mark.parametrize("read", ["element", "transpose"])
def test_a_value_of_a_parameter_read_after_the_update(read):
    """``w[0]`` is a copy in eager, ``w.T`` a view: after ``opt.step()`` the first keeps the old
    value and the second shows the new one, in a replay as in eager."""
    rng = np.random.default_rng(0)

    def build():
        w = mg.nn.Parameter(np.linspace(0.5, 1.5, 6).reshape(3, 2))
        opt = mg.optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            early = w[0, 0] if read == "element" else w.T
            loss = (x * w).sum()
            loss.backward()
            opt.step()
            return loss + early.sum()

        return [w], step

    def inputs(i):
        x = rng.normal(size=(3, 2))
        if i == 1:
            x[:, 0] = 0.0  # the trial's update leaves w[:, 0] as it was
        return [x]

    assert run_both(build, inputs).replays == 4


def test_an_input_in_another_memory_layout():
    """A plain array input summed by NumPy in memory order: its layout is part of the signature."""

    def build():
        w = mg.nn.Parameter(np.linspace(0.5, 1.5, 40))
        opt = mg.optim.SGD([w], lr=0.1)

        def step(y):
            opt.zero_grad()
            loss = (mg.as_tensor(y) * w).sum()
            loss.backward()
            return loss

        return w, step

    eager_w, eager_step = build()
    jit_w, jit_step = build()
    jitted = mg.jit(jit_step)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)
        for i in range(6):
            y = rng.normal(size=(50, 40))
            y = np.asfortranarray(y) if i >= 3 else y  # a batch cut from column-major data
            assert eager_step(y).data.tobytes() == jitted(y).data.tobytes()
            assert eager_w.grad.tobytes() == jit_w.grad.tobytes()
    assert jitted.recordings == 2


def test_a_numpy_number_passed_in():
    def build():
        w = mg.nn.Parameter(np.linspace(0.5, 1.5, 3))
        opt = mg.optim.SGD([w], lr=0.1)

        def step(x, weight):
            opt.zero_grad()
            loss = (x * w).sum() * weight
            loss.backward()
            return loss

        return [w], step

    schedule = np.array([1.0, 1.0, 1.0, 0.5, 0.25, 0.25])
    eager_params, eager_step = build()
    jit_params, jit_step = build()
    jitted = mg.jit(jit_step)
    rng = np.random.default_rng(0)
    for weight in schedule:
        x = rng.normal(size=3)
        assert eager_step(mg.tensor(x), weight).data.tobytes() == jitted(mg.tensor(x), weight).data.tobytes()
        assert eager_params[0].grad.tobytes() == jit_params[0].grad.tobytes()
    assert jitted.recordings == 3  # a NumPy number is the signature by value, as a Python number


def test_a_parameter_or_an_optimizer_replaced_records_again():
    class Model(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = mg.nn.Parameter(np.linspace(0.5, 1.5, 4))

    class Training:  # as the Trainer: the step is a method, the model and optimizer attributes
        def __init__(self):
            self.model = Model()
            self.opt = mg.optim.SGD(self.model.parameters(), lr=0.1)

        def step(self, x):
            self.opt.zero_grad()
            loss = (x * self.model.w).sum()
            loss.backward()
            self.opt.step()
            return loss

    eager, jitted_training = Training(), Training()
    jitted = mg.jit(jitted_training.step)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)
        for i in range(9):
            for training in (eager, jitted_training):
                if i == 3:  # a new parameter object, and an optimizer over it
                    training.model.w = mg.nn.Parameter(np.linspace(-1.0, 1.0, 4))
                    training.opt = mg.optim.SGD(training.model.parameters(), lr=0.1)
                if i == 6:  # a new optimizer only
                    training.opt = mg.optim.SGD(training.model.parameters(), lr=0.05)
            x = rng.normal(size=4)
            assert eager.step(mg.tensor(x)).data.tobytes() == jitted(mg.tensor(x)).data.tobytes()
            assert eager.model.w.data.tobytes() == jitted_training.model.w.data.tobytes()
    assert jitted.recordings == 3 and jitted.replays == 3


def test_train_and_eval_are_part_of_the_signature():
    mg.manual_seed(0)
    layer = mg.nn.Linear(3, 3)
    dropout = mg.nn.Dropout(0.5)
    model = mg.nn.ModuleList([layer, dropout])

    def step(x):
        layer.zero_grad()
        loss = (dropout(layer(x)) ** 2).sum()
        loss.backward()
        return loss

    jitted = mg.jit(step)
    model.eval()
    rng = np.random.default_rng(0)
    for _ in range(3):
        jitted(mg.tensor(rng.normal(size=(2, 3))))
    assert jitted.replays == 1
    model.train()  # dropout on: a new signature, which cannot be replayed (random masks)
    with pytest.warns(JitWarning, match="random numbers"):
        jitted(mg.tensor(rng.normal(size=(2, 3))))
    assert jitted.recordings == 2
