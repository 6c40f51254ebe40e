"""The lecture's GRU (ai-edu textbook 20.2, after Cho et al. 2014), with PyTorch's parameter layout.

The textbook writes it with row vectors and no biases; its h_t is the state and z_t the
update gate:

    z_t = σ(x_t·U_z + h_{t-1}·W_z)                     update gate (更新门)
    r_t = σ(x_t·U_r + h_{t-1}·W_r)                     reset gate (重置门)
    h̃_t = tanh(x_t·U_h + (r_t ∘ h_{t-1})·W_h)          candidate state
    h_t = (1 - z_t) ∘ h_{t-1} + z_t ∘ h̃_t

Here, with PyTorch's names and both biases:

    r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
    z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
    n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn)      n is the lecture's h̃_t
    h' = (1 - z) * h + z * n

Mapping: U_r = W_ir^T, U_z = W_iz^T, U_h = W_in^T; W_r = W_hr^T, W_z = W_hz^T, W_h = W_hn^T.
``weight_ih`` is [W_ir; W_iz; W_in] (3H, input) and ``weight_hh`` [W_hr; W_hz; W_hn] (3H, H),
rows r, z, n as in ``torch.nn.GRU`` (the textbook's code orders the blocks z, r, h̃).
``bias=False`` gives the textbook's equations exactly.

Two differences from the built-in ``gru`` (PyTorch's form), with the same parameters:
the reset gate multiplies h_{t-1} *before* the product with W_h, where PyTorch multiplies
(h W_hn^T + b_hn) after it; and z weighs the new candidate, where PyTorch's z keeps the old
state (h' = (1 - z) * n + z * h).
"""

import minigrad as mg


class TextbookGRUCell(mg.nn.Cell):
    """The lecture's GRU: the reset gate acts on h_{t-1} before W_h; z gates the candidate."""

    name = "gru-textbook"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = self.uniform_parameter(3 * hidden_size, input_size)
        self.weight_hh = self.uniform_parameter(3 * hidden_size, hidden_size)
        self.bias_ih = self.uniform_parameter(3 * hidden_size) if bias else None
        self.bias_hh = self.uniform_parameter(3 * hidden_size) if bias else None

    def input_projection(self, x: mg.Tensor) -> mg.Tensor:
        """x_t U + b for all three blocks. Unlike PyTorch's GRU, b_hn sits outside r's product,
        so every block's two biases can be added here."""
        if self.bias_ih is None:
            return mg.nn.linear(x, self.weight_ih)
        return mg.nn.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def recurrence(self, xu: mg.Tensor, h: mg.Tensor) -> tuple[mg.Tensor, mg.Tensor]:
        H = self.hidden_size
        x_rz, x_n = mg.split(xu, [2 * H, H], axis=1)
        W_rz, W_n = mg.split(self.weight_hh, [2 * H, H], axis=0)  # W_n multiplies r ∘ h, not h
        r, z = mg.split(mg.nn.linear(h, W_rz, x_rz).sigmoid(), H, axis=1)  # one sigmoid for both gates
        n = mg.nn.linear(r * h, W_n, x_n).tanh()  # h̃_t = tanh(x_t U_h + (r_t ∘ h_{t-1}) W_h)
        h = h + z * (n - h)  # (1 - z) * h + z * n, with one op fewer
        h.name = "h_t"  # names show in graph pictures, with t replaced by the step
        return h, h


@mg.hookimpl
def minigrad_cells():
    return [TextbookGRUCell]
