"""Page 9, exercise: write the independently recurrent cell (IndRNN, Li et al. 2018) as a plugin.

The lecture's history lists 独立循环神经网络 (Independent RNN) among the answers to long-term
dependencies. Its step replaces the lecture's matrix W by one weight per unit, u, multiplied
elementwise, and uses ReLU:  s_t = relu(x_t · U + u ∘ s_{t-1} + b).
Each unit then only feeds itself through time. The cell needs no backward: check_cell compares
the gradients of backward() with finite differences through 2 layers and both directions.

    .venv/bin/python examples/exercises/09_independent_rnn.py
"""

import numpy as np

import minigrad as mg


class IndRNN(mg.nn.Cell):
    """s_t = relu(x_t·U + u ∘ s_{t-1} + b): rows, as the lecture writes x_t·U."""

    name = "indrnn"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.U = self.uniform_parameter(input_size, hidden_size)
        self.u = self.uniform_parameter(hidden_size)  # a vector: unit i only sees its own past
        self.b = self.uniform_parameter(hidden_size) if bias else None

    def forward(self, x, s):
        h = x @ self.U + self.u * s
        if self.b is not None:
            h = h + self.b
        s = h.relu()
        return s, s


class Plugin:
    @mg.hookimpl
    def minigrad_cells(self):
        return [IndRNN]


worst = mg.testing.check_cell(IndRNN)
print(f"check_cell(IndRNN): worst gradient error {worst:.1e}")
assert worst < 1e-6

mg.plugins.register(Plugin(), name="indrnn-exercise")
try:
    layer = mg.nn.Recurrent("indrnn", input_size=2, hidden_size=4, num_layers=2)
    names = [name for name, _ in layer.named_parameters()]
    print("Recurrent('indrnn') parameters:", names)
    assert names == ["U_l0", "u_l0", "b_l0", "U_l1", "u_l1", "b_l1"]

    # Independent units: unit 0's state at step 3 does not depend on unit 1's state at step 1,
    # in one layer (a layer above mixes the units again through its U).
    one = mg.nn.Recurrent("indrnn", input_size=2, hidden_size=4)
    parameters = dict(one.named_parameters())
    parameters["b_l0"].data[:] = 2.0  # every unit active (relu' = 1), so that a path shows as non-zero
    parameters["u_l0"].data[:] = 0.5
    x = mg.tensor(np.random.default_rng(0).normal(size=(1, 3, 2)), requires_grad=True)
    s_0 = mg.tensor(np.full((1, 1, 4), 0.5), requires_grad=True)  # (layers, batch, hidden)
    output, _ = one(x, s_0)
    (grad,) = mg.gradients(output[0, 2, 0], [s_0])
    print("d s_3[unit 0] / d s_0:", np.round(grad[0, 0], 4))
    assert grad[0, 0, 0] != 0 and np.all(grad[0, 0, 1:] == 0), "only unit 0's own past reaches it"
finally:
    mg.plugins.unregister("indrnn-exercise")
