"""The minimal gated unit (MGU; Zhou, Wu, Zhang and Zhou, 2016): a GRU with one gate.

    f_t = sigmoid(x_t W_fx^T + h_{t-1} W_fh^T + b_f)            forget gate
    n_t = tanh(x_t W_nx^T + (f_t * h_{t-1}) W_nh^T + b_n)       candidate state
    h_t = (1 - f_t) * h_{t-1} + f_t * n_t

Only a forward step: minigrad's backward() derives the gradients.
"""

import minigrad as mg


class MGUCell(mg.nn.Cell):
    name = "mgu"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        # Gate f and candidate n stacked, as PyTorch stacks a GRU's gates: rows [f; n].
        self.weight_ih = self.uniform_parameter(2 * hidden_size, input_size)
        self.weight_hh = self.uniform_parameter(2 * hidden_size, hidden_size)
        self.bias_ih = self.uniform_parameter(2 * hidden_size) if bias else None

    def forward(self, x, h):
        x_f, x_n = mg.split(mg.nn.linear(x, self.weight_ih, self.bias_ih), self.hidden_size, axis=1)
        w_f, w_n = mg.split(self.weight_hh, self.hidden_size, axis=0)
        f = (x_f + mg.nn.linear(h, w_f)).sigmoid()
        n = (x_n + mg.nn.linear(f * h, w_n)).tanh()
        h = (1 - f) * h + f * n
        return h, h


@mg.hookimpl
def minigrad_cells():
    return [MGUCell]
