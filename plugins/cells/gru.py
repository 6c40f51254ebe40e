"""The GRU cell with PyTorch's equations and gate order (r, z, n).

    r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)        reset gate
    z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)        update gate
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))     candidate state
    h' = (1 - z) * n + z * h
"""

import minigrad as mg


class GRUCell(mg.nn.Cell):
    name = "gru"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = self.uniform_parameter(3 * hidden_size, input_size)
        self.weight_hh = self.uniform_parameter(3 * hidden_size, hidden_size)
        self.bias_ih = self.uniform_parameter(3 * hidden_size) if bias else None
        self.bias_hh = self.uniform_parameter(3 * hidden_size) if bias else None

    def input_projection(self, x):
        return mg.nn.linear(x, self.weight_ih, self.bias_ih)  # the three gates' x_t part at once

    # --8<-- [start:step]
    def recurrence(self, xu, h):
        both_gates = [2 * self.hidden_size, self.hidden_size]  # (r, z) and n
        x_rz, x_n = mg.split(xu, both_gates, axis=1)
        h_rz, h_n = mg.split(mg.nn.linear(h, self.weight_hh, self.bias_hh), both_gates, axis=1)
        r, z = mg.split((x_rz + h_rz).sigmoid(), self.hidden_size, axis=1)  # one sigmoid for both gates
        n = (x_n + r * h_n).tanh()
        h = n + z * (h - n)  # (1 - z) * n + z * h, with one op fewer
        h.name = "h_t"  # names show in graph pictures, with t replaced by the step
        return h, h
    # --8<-- [end:step]


@mg.hookimpl
def minigrad_cells():
    return [GRUCell]
