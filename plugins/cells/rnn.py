"""The Elman RNN cell, the lecture's s_t = tanh(x_t U + s_{t-1} W + b_u), in PyTorch's layout.

    s_t = tanh(x_t W_ih^T + b_ih + s_{t-1} W_hh^T + b_hh)

U is ``weight_ih`` (transposed), W is ``weight_hh`` (transposed); PyTorch keeps two
biases where the lecture has one b_u = b_ih + b_hh.
"""

import minigrad as mg


class RNNCell(mg.nn.Cell):
    name = "rnn"
    state_name = "s"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.weight_ih = self.uniform_parameter(hidden_size, input_size)  # U
        self.weight_hh = self.uniform_parameter(hidden_size, hidden_size)  # W
        self.bias_ih = self.uniform_parameter(hidden_size) if bias else None
        self.bias_hh = self.uniform_parameter(hidden_size) if bias else None

    # --8<-- [start:step]
    def input_projection(self, x: mg.Tensor) -> mg.Tensor:
        """x_t U + b: the part of h_t that does not depend on the state (b = b_ih + b_hh)."""
        if self.bias_ih is None:
            return mg.nn.linear(x, self.weight_ih)
        return mg.nn.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def recurrence(self, xu: mg.Tensor, s: mg.Tensor) -> tuple[mg.Tensor, mg.Tensor]:
        h = mg.nn.linear(s, self.weight_hh, xu)  # h_t = s_{t-1} W + (x_t U + b): one op, xU + b its bias
        h.name = "h_t"  # names show in graph pictures, with t replaced by the step
        s = h.tanh() if self.nonlinearity == "tanh" else h.relu()
        s.name = "s_t"
        return s, s
    # --8<-- [end:step]


@mg.hookimpl
def minigrad_cells():
    return [RNNCell]
