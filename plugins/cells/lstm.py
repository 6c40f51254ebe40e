"""The LSTM cell with PyTorch's equations and gate order (i, f, g, o).

    i = sigmoid(x W_ii^T + b_ii + h W_hi^T + b_hi)     input gate
    f = sigmoid(x W_if^T + b_if + h W_hf^T + b_hf)     forget gate
    g = tanh(x W_ig^T + b_ig + h W_hg^T + b_hg)        candidate cell state
    o = sigmoid(x W_io^T + b_io + h W_ho^T + b_ho)     output gate
    c' = f * c + i * g                                 the cell state: a path with no squashing
    h' = o * tanh(c')

The four gates' weights are stacked in ``weight_ih`` (4H, input) and ``weight_hh``
(4H, H). The gradient reaches c_{t-1} through f * c as well as through h: a
hand-written backward that drops that path is wrong, backward() cannot forget it.
"""

import numpy as np

import minigrad as mg


class LSTMCell(mg.nn.Cell):
    name = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = self.uniform_parameter(4 * hidden_size, input_size)
        self.weight_hh = self.uniform_parameter(4 * hidden_size, hidden_size)
        self.bias_ih = self.uniform_parameter(4 * hidden_size) if bias else None
        self.bias_hh = self.uniform_parameter(4 * hidden_size) if bias else None

    def init_state(self, batch_size: int) -> tuple[mg.Tensor, mg.Tensor]:
        zeros = np.zeros((batch_size, self.hidden_size), dtype=self.weight_ih.dtype)
        return mg.tensor(zeros, name="h_0"), mg.tensor(zeros, name="c_0")

    # --8<-- [start:step]
    def input_projection(self, x):
        """The four gates' x_t part and both biases, which do not depend on the state."""
        if self.bias_ih is None:
            return mg.nn.linear(x, self.weight_ih)
        return mg.nn.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def recurrence(self, xu, state):
        h, c = state
        gates = mg.nn.linear(h, self.weight_hh, xu)  # xU + b + h W_hhᵀ as one op, xU + b its bias
        i, f, g, o = mg.split(gates, self.hidden_size, axis=1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        c.name, h.name = "c_t", "h_t"  # names show in graph pictures, with t replaced by the step
        return h, (h, c)
    # --8<-- [end:step]


@mg.hookimpl
def minigrad_cells():
    return [LSTMCell]
