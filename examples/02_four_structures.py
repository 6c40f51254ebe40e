"""Page 2: the four structures of a recurrent network, each drawn unrolled.

    one-to-many               one input, then an output at every step, each fed back as the next input
    many-to-one               an input at every step, one output after the last
    many-to-many, equal       an output at every step
    many-to-many, unequal     read the whole input, then write an output of another length

All four use the same cell: mg.nn.RNN, hidden size 2, one input and one output unit,
with a logistic output a_t = σ(z_t) and a binary cross-entropy loss. The parameters are
labelled with the lecture's letters.

    .venv/bin/python examples/02_four_structures.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example

import minigrad as mg

ex = Example(2, __doc__)
HIDDEN = 2


# %% [markdown]
# The parts every structure shares: the cell, the output layer, the loss at one step.


# %%
def rnn(label=""):
    """An mg.nn.RNN without biases, x_t·U inside every step (fuse_input=False) as the lecture draws it."""
    layer = mg.nn.RNN(1, HIDDEN, bias=False, fuse_input=False)
    layer.weight_ih_l0.name, layer.weight_hh_l0.name = f"U{label}", f"W{label}"
    return layer


def output_layer():
    head = mg.nn.Linear(HIDDEN, 1)
    head.weight.name, head.bias.name = "V", "b_v"
    return head


def step_loss(z, y):
    """loss_t = BCE(σ(z_t), y_t); the logistic a_t is fused into the loss."""
    loss_t = mg.nn.bce_with_logits(z, np.full(z.shape, y))
    loss_t.name = "loss_t"
    return loss_t


def total(losses):
    loss = mg.stack(losses).sum() if len(losses) > 1 else losses[0]
    loss.name = "loss"
    return loss


# %%
rng = np.random.default_rng(0)
x = mg.tensor(rng.uniform(0, 1, (1, 3, 1)), name="x")  # one sequence of three steps
y = [1.0, 0.0, 1.0]


# %% [markdown]
# ## The four structures, each a function that returns its loss


# %%
# --8<-- [start:one-to-many]
def one_to_many(steps=3):
    """x_1 only; then a_t = σ(z_t) becomes x_{t+1} (generation: music, a caption, a name)."""
    cell, head = rnn().cells[0], output_layer()  # the cell: one step, s_t = tanh(x_t·U + s_{t-1}·W)
    s = cell.init_state(1)  # s_0 = 0
    losses = []
    for t in range(1, steps + 1):
        with mg.time_step(t):
            if t == 1:
                x_t = mg.tensor([[0.5]], name="x_1")  # the one input
            s, _ = cell(x_t, s)
            z = head(s)
            z.name = "z_t"
            losses.append(step_loss(z, t % 2))
            if t < steps:
                x_t = z.sigmoid()  # a_t, fed back as x_{t+1}
                x_t.name = "a_t"
    return total(losses)
# --8<-- [end:one-to-many]


# %%
# --8<-- [start:many-to-one]
def many_to_one():
    """An input at every step, one output from the last state (sentiment, a name's language)."""
    layer, head = rnn(), output_layer()
    _, h_n = layer(x)
    z = head(h_n[-1])  # s_T, the last step's state
    z.name = "z"
    return total([step_loss(z, 1.0)])
# --8<-- [end:many-to-one]


# %%
# --8<-- [start:many-to-many]
def many_to_many():
    """An output at every step (binary subtraction: one bit of the difference per step)."""
    layer, head = rnn(), output_layer()
    output, _ = layer(x)
    losses = []
    for t in range(3):
        with mg.time_step(t + 1):
            z = head(output[:, t])
            z.name = "z_t"
            losses.append(step_loss(z, y[t]))
    return total(losses)
# --8<-- [end:many-to-many]


# %%
# --8<-- [start:encoder-decoder]
def encoder_decoder(out_steps=2):
    """Read three steps, then write two (translation): an encoder cell, then a decoder cell with
    its own parameters that starts from the encoder's last state s_3, the context."""
    encoder, decoder = rnn(" (encoder)").cells[0], rnn(" (decoder)").cells[0]
    head = output_layer()
    s = encoder.init_state(1)
    for t in range(3):  # steps 1, 2, 3: read
        with mg.time_step(t + 1):
            x_t = mg.tensor(x.data[:, t], name="x_t")
            s, _ = encoder(x_t, s)
    losses = []
    for t in range(out_steps):  # steps 4, 5: write, starting from s_3
        with mg.time_step(4 + t):
            # the decoder's input: a start symbol, then the right answer so far (teacher forcing)
            previous = mg.tensor([[0.0]], name="go") if t == 0 else mg.tensor([[y[t - 1]]], name="y_prev")
            s, _ = decoder(previous, s)
            z = head(s)
            z.name = "z_t"
            losses.append(step_loss(z, y[t]))
    return total(losses)
# --8<-- [end:encoder-decoder]


# %% [markdown]
# ## Each drawn unrolled, then trained the same way: `backward()` from its loss

# %%
mg.manual_seed(0)
for name, build in (
    ("one_to_many", one_to_many),
    ("many_to_one", many_to_one),
    ("many_to_many", many_to_many),
    ("encoder_decoder", encoder_decoder),
):
    loss = build()
    ex.graph(mg.viz.draw(loss), f"{name}.svg")
    loss.backward()  # every structure trains the same way: backward() from the loss
ex.done()
