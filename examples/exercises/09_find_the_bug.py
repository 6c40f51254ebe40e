"""Page 9, exercise: this cell runs, has the right shapes and is seeded, yet something is wrong.
mg.testing.check_cell finds it; fix it.

The bug: the recurrent product s_{t-1}·W is computed in NumPy (`.data`), so it is a constant
to the tape. Forward values are right; backward() gets no gradient through time and none for W.

    .venv/bin/python examples/exercises/09_find_the_bug.py
"""

import numpy as np

import minigrad as mg


class Buggy(mg.nn.Cell):
    """The lecture's step s_t = tanh(x_t·U + s_{t-1}·W + b_u), with one mistake."""

    name = "buggy"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.U = self.uniform_parameter(input_size, hidden_size)
        self.W = self.uniform_parameter(hidden_size, hidden_size)
        self.b_u = self.uniform_parameter(hidden_size) if bias else None

    def recurrent_part(self, s):
        return mg.tensor(s.data @ self.W.data)  # the mistake: NumPy arrays, off the tape

    def forward(self, x, s):
        h = x @ self.U + self.recurrent_part(s)
        if self.b_u is not None:
            h = h + self.b_u
        s = h.tanh()
        return s, s


class Fixed(Buggy):
    name = "fixed"

    def recurrent_part(self, s):
        return s @ self.W  # Tensor ops: recorded, so backward() reaches W and the earlier steps


try:
    mg.testing.check_cell(Buggy)
except mg.GradcheckError as error:
    print(f"check_cell(Buggy) fails: {error}")
else:
    raise AssertionError("check_cell should have caught the bug")

worst = mg.testing.check_cell(Fixed)
print(f"check_cell(Fixed): worst gradient error {worst:.1e}")
assert worst < 1e-6

# The same forward values: only the gradients differ.
mg.manual_seed(0)
buggy = mg.nn.Recurrent(Buggy, 2, 3)
mg.manual_seed(0)
fixed = mg.nn.Recurrent(Fixed, 2, 3)
x = mg.tensor(np.random.default_rng(0).normal(size=(1, 4, 2)))
assert np.allclose(buggy(x)[0].data, fixed(x)[0].data)
for layer, label in ((buggy, "Buggy"), (fixed, "Fixed")):
    layer(x)[0].sum().backward()
    grad = dict(layer.named_parameters())["W_l0"].grad  # None: backward() never reached W
    print(f"{label}: same outputs; gradient of W: {'none' if grad is None else f'norm {np.linalg.norm(grad):.3g}'}")
    assert (grad is None) == (layer is buggy)
