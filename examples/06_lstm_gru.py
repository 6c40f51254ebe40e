"""Page 6: LSTM and GRU -- their folded graphs, their gradient flow, and a backward written by hand.

1. The folded graph of each cell, as `minigrad graph lstm --folded` draws it.
2. Gradient flow again, on remember-the-first-input (30 steps, the answer is the first
   input): a plain RNN, an LSTM as PyTorch initialises it, an LSTM whose forget gate
   starts open (bias 2), and a GRU; at initialisation and after 200 updates.
3. The textbook's hand-written LSTM backward leaves out the cell-state path
   dL/dc_{t-1} = dL/dc_t ⊙ f_t. Written here in NumPy, with and without that term, as a
   minigrad primitive: mg.gradcheck passes one and catches the other.
4. The textbook's GRU (ai-edu 20.2, which the lecture summarises: the gru-textbook cell) beside
   PyTorch's (gru) on remember-the-first-input:
   the same seeds, so the same initial weights, and the same budget.

    .venv/bin/python examples/06_lstm_gru.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example

import minigrad as mg
from minigrad import cli
from minigrad.gradflow import FlowResult, RememberFirst, plot_flows, remember_first_data

ex = Example(6, __doc__)

# %% [markdown]
# ## 1. The folded cells

# %%
for cell in ("lstm", "gru"):
    cli.main(["graph", cell, "--folded", "-o", str(ex.out / f"{cell}_folded.svg")])  # the command line itself
    ex.show(f"{cell}_folded.svg")  # in a notebook: the picture under this cell


# %% [markdown]
# ## 2. Gradient flow, before and after training


# %%
def experiment(cell, forget_bias=None, steps=30, hidden=16, updates=200, seed=0):
    """Train `cell` on remember-the-first-input (Adam, clipping at 1, sequences growing from 10 steps
    to `steps` over the first half); ‖dL/dh_t‖ on one probe batch before and after."""
    mg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = RememberFirst(cell, steps, hidden)
    if forget_bias is not None:
        # --8<-- [start:forget-bias]
        lstm = model.rnn.cells[0]
        forget = slice(hidden, 2 * hidden)  # the gates are stacked i, f, g, o
        lstm.bias_ih.data[forget] = 0.0
        lstm.bias_hh.data[forget] = forget_bias  # f_t starts near σ(2), close to 1: c_t keeps most of c_{t-1}
        # --8<-- [end:forget-bias]
    probe_x, probe_target = remember_first_data(rng, 32, steps)
    at_init = model.flow(probe_x, probe_target)
    optimizer = mg.optim.Adam(list(model.parameters()), lr=0.01)
    for i in range(updates):
        x, target = remember_first_data(rng, 32, min(steps, 10 + 2 * steps * i // updates))
        optimizer.zero_grad()
        mg.nn.cross_entropy(model(mg.tensor(x)), target).backward()
        mg.nn.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    test_x, test_target = remember_first_data(rng, 1000, steps)
    return model.flow(probe_x, probe_target), at_init, model.accuracy(test_x, test_target)


# %%
results = []
with ex.transcript("gradflow.txt"):
    print("remember-the-first-input, 30 steps, hidden 16, 200 updates; ‖dL/dh_1‖ / ‖dL/dh_T‖")
    print(f"{'':<22} {'at init':>8} {'trained':>8} {'test accuracy (chance 0.25)':>28}")
    for label, cell, bias in (("rnn", "rnn", None), ("lstm", "lstm", None), ("lstm, forget bias 2", "lstm", 2.0),
                              ("gru", "gru", None)):
        trained, at_init, accuracy = experiment(cell, bias, updates=ex.pick(200, 10))
        result = FlowResult(label, at_init, trained, accuracy, 0.25)
        results.append(result)
        print(f"{label:<22} {result.ratio(at_init):8.1e} {result.ratio(trained):8.1e} {accuracy:28.3f}")
plot_flows(results, ex.out / "gradflow.png")
print(f"wrote {ex.out / 'gradflow.png'}")
ex.show("gradflow.png")


# %% [markdown]
# ## 3. The cell-state path, checked by gradcheck


# %%
def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# --8<-- [start:textbook]
def textbook_lstm(cell_state_path):
    """An LSTM over a whole sequence as one primitive op, its backward written by hand in the
    lecture's notation: h_t = x_t·U + s_{t-1}·W + b split into i, f, g, o; c_t = f ⊙ c_{t-1} + i ⊙ g;
    s_t = o ⊙ tanh(c_t). Returns s_1 ... s_T as (batch, T, H)."""

    @mg.primitive
    def lstm_sequence(x, U, W, b):
        batch, steps, _ = x.shape
        H = W.shape[0]
        s, c, gates = [np.zeros((batch, H))], [np.zeros((batch, H))], []
        for t in range(steps):
            h = x[:, t] @ U + s[-1] @ W + b
            i, f, g, o = sigmoid(h[:, :H]), sigmoid(h[:, H:2 * H]), np.tanh(h[:, 2 * H:3 * H]), sigmoid(h[:, 3 * H:])
            c.append(f * c[-1] + i * g)
            s.append(o * np.tanh(c[-1]))
            gates.append((i, f, g, o))

        def backward(grad):  # grad = dL/ds_t for every t, (batch, T, H)
            dx, dU, dW, db = np.zeros_like(x), np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
            ds_next = np.zeros((batch, H))  # from step t+1, through W
            dc_next = np.zeros((batch, H))  # from step t+1, through c_{t+1} = f_{t+1} ⊙ c_t + ...
            for t in reversed(range(steps)):
                i, f, g, o = gates[t]
                ds = grad[:, t] + ds_next
                dc = ds * o * (1 - np.tanh(c[t + 1]) ** 2)
                if cell_state_path:
                    dc = dc + dc_next  # the term the textbook's LSTMCell_1_2.backward leaves out
                dh = np.concatenate([dc * g * i * (1 - i), dc * c[t] * f * (1 - f), dc * i * (1 - g ** 2),
                                     ds * np.tanh(c[t + 1]) * o * (1 - o)], axis=1)
                dx[:, t], dU, dW, db = dh @ U.T, dU + x[:, t].T @ dh, dW + s[t].T @ dh, db + dh.sum(axis=0)
                ds_next, dc_next = dh @ W.T, dc * f
            return dx, dU, dW, db

        return np.stack(s[1:], axis=1), backward

    return lstm_sequence
# --8<-- [end:textbook]


# %% [markdown]
# minigrad's own LSTM beside the hand-written one: the same weights, in the lecture's layout.

# %%
mg.manual_seed(0)
reference = mg.nn.LSTM(2, 3)  # minigrad's LSTM: no backward written by anyone
rng = np.random.default_rng(1)
x = mg.tensor(rng.normal(size=(2, 6, 2)), requires_grad=True, name="x")  # batch 2, 6 steps
Y = rng.uniform(-0.5, 0.5, size=(2, 6, 3))
U = mg.tensor(reference.weight_ih_l0.data.T, requires_grad=True, name="U")  # the lecture's layout
W = mg.tensor(reference.weight_hh_l0.data.T, requires_grad=True, name="W")
b = mg.tensor(reference.bias_ih_l0.data + reference.bias_hh_l0.data, requires_grad=True, name="b")

with ex.transcript("cell_state_path.txt"):
    for with_path in (True, False):
        # --8<-- [start:gradcheck]
        lstm_sequence = textbook_lstm(cell_state_path=with_path)

        def loss(x, U, W, b):
            diff = lstm_sequence(x, U, W, b) - mg.tensor(Y)
            return (diff * diff).sum() * 0.5  # L = Σ_t ½ ‖s_t - y_t‖²

        label = "with the cell-state path:   " if with_path else "without the cell-state path:"
        try:
            print(f"{label} mg.gradcheck -> {mg.gradcheck(loss, [x, U, W, b])}")
        except mg.GradcheckError as error:
            print(f"{label} {error}")
        # --8<-- [end:gradcheck]

    output, _ = reference(x)  # the same network, with backward() derived from the forward pass
    (((output - mg.tensor(Y)) ** 2).sum() * 0.5).backward()
    ours = {"U": reference.weight_ih_l0.grad.T, "W": reference.weight_hh_l0.grad.T, "b": reference.bias_ih_l0.grad,
            "x": x.grad}
    hand = {}
    for with_path in (True, False):
        diff = textbook_lstm(with_path)(x, U, W, b) - mg.tensor(Y)
        hand[with_path] = dict(zip("xUWb", mg.gradients((diff * diff).sum() * 0.5, [x, U, W, b])))
    print()
    print(f"{'gradient':<10}{'largest':>9}{'with c path':>14}{'without c path':>16}   (|hand-written - backward()|)")
    for name in "UWbx":
        print(f"{name:<10}{np.abs(ours[name]).max():9.3g}{np.abs(hand[True][name] - ours[name]).max():14.1e}"
              f"{np.abs(hand[False][name] - ours[name]).max():16.1e}")


# %% [markdown]
# ## 4. The textbook's GRU beside PyTorch's
#
# gru-textbook (plugins/cells/gru_textbook.py) draws its parameters as gru does, so under one seed both
# start from the same weights: only the equations differ. One run tells little, so several seeds.

# %%
with ex.transcript("gru_textbook.txt"):
    # --8<-- [start:gru-textbook]
    updates, seeds = ex.pick(200, 10), range(ex.pick(8, 1))
    print(f"remember-the-first-input, 30 steps, hidden 16, {updates} updates; ‖dL/dh_1‖ / ‖dL/dh_T‖; chance 0.25")
    print(f"{'':6}{'gru (PyTorch)':^30}{'gru-textbook (the textbook)':^30}".rstrip())
    print(f"{'seed':<6}" + f"{'at init':>10}{'trained':>10}{'accuracy':>10}" * 2)
    accuracies = {"gru": [], "gru-textbook": []}
    for seed in seeds:
        row = f"{seed:<6}"
        for cell, scores in accuracies.items():
            trained, at_init, accuracy = experiment(cell, updates=updates, seed=seed)
            scores.append(accuracy)
            row += f"{FlowResult.ratio(at_init):10.1e}{FlowResult.ratio(trained):10.1e}{accuracy:10.3f}"
        print(row)
    for cell, scores in accuracies.items():
        print(f"{cell}: mean accuracy {np.mean(scores):.3f}, above 0.9 in {sum(a > 0.9 for a in scores)} of {len(scores)}")
    # --8<-- [end:gru-textbook]
ex.done()
