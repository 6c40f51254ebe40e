"""Page 1: from a feed-forward net to a recurrent one.

1. The same small MLP applied at every time step: x_t -> s_t -> z_t, no link between steps.
2. One new edge, s_{t-1}·W, turns it into the lecture's recurrent network. U, V, W are
   shared by every step; folded, the picture closes into the lecture's fan.
3. Both nets trained on the echo task (the answer at step t is the input of step t - 1):
   only the recurrent one can learn it.
4. An LSTM trained on the same task with the library's Trainer, and its unrolled graph.

    .venv/bin/python examples/01_feedforward_to_recurrent.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example, plt

import minigrad as mg
from minigrad.train import Trainer

ex = Example(1, __doc__)
HIDDEN = 2


# %% [markdown]
# The lecture's network, and the same net with the edge between steps left out:

# %%
# --8<-- [start:net]
class LectureNet(mg.nn.Module):
    """The lecture's notation: h_t = x_t·U (+ s_{t-1}·W) + b_u, s_t = tanh(h_t), z_t = s_t·V + b_v."""

    def __init__(self, recurrent):
        super().__init__()
        rng = mg.default_rng()
        self.recurrent = recurrent
        self.U = mg.nn.Parameter(rng.normal(0, 0.5, (1, HIDDEN)), name="U")
        self.V = mg.nn.Parameter(rng.normal(0, 0.5, (HIDDEN, 1)), name="V")
        self.b_u = mg.nn.Parameter(np.zeros(HIDDEN), name="b_u")
        self.b_v = mg.nn.Parameter(np.zeros(1), name="b_v")
        if recurrent:  # the one new parameter: the edge from one step to the next
            self.W = mg.nn.Parameter(rng.normal(0, 0.5, (HIDDEN, HIDDEN)), name="W")

    def forward(self, x):
        """x: (batch, steps, 1) -> z: one (batch, 1) output per step."""
        batch, steps, _ = x.shape
        s = mg.tensor(np.zeros((batch, HIDDEN)), name="s_0")
        outputs = []
        for t in range(steps):
            with mg.time_step(t + 1):  # tags the step's ops: the picture draws one box per step
                x_t = mg.tensor(x[:, t], name="x_t")
                h = x_t @ self.U
                if self.recurrent:
                    h = h + s @ self.W  # s_{t-1}·W: the only difference
                h = h + self.b_u
                h.name = "h_t"
                s = h.tanh()
                s.name = "s_t"
                z = s @ self.V + self.b_v
                z.name = "z_t"
            outputs.append(z)
        return outputs
# --8<-- [end:net]


# %% [markdown]
# The echo task's data, and its loss summed over the steps:


# %%
def echo_data(rng, batch, steps=3):
    """A random signal and its echo: y_t = x_{t-1}, and y_1 = 0 (silence before the signal)."""
    x = rng.uniform(0, 1, (batch, steps, 1))
    y = np.concatenate([np.zeros((batch, 1, 1)), x[:, :-1]], axis=1)
    return x, y


# --8<-- [start:loss]
def echo_loss(net, x, y):
    """loss = Σ_t ½ (z_t - y_t)², averaged over the batch."""
    losses = []
    for t, z in enumerate(net(x)):
        with mg.time_step(t + 1):
            y_t = mg.tensor(y[:, t], name="y_t")
            loss_t = ((z - y_t) ** 2 * 0.5).mean()
            loss_t.name = "loss_t"
        losses.append(loss_t)
    loss = mg.stack(losses).sum()
    loss.name = "loss"
    return loss
# --8<-- [end:loss]


# %% [markdown]
# ## 1 and 2. The two nets unrolled, and the recurrent one folded

# %%
data_rng = np.random.default_rng(0)
x_one, y_one = echo_data(data_rng, 1)
mg.manual_seed(0)
feedforward, recurrent = LectureNet(recurrent=False), LectureNet(recurrent=True)
ex.graph(mg.viz.draw(echo_loss(feedforward, x_one, y_one)), "feedforward_unrolled.svg")
ex.graph(mg.viz.draw(echo_loss(recurrent, x_one, y_one)), "recurrent_unrolled.svg")
ex.graph(mg.viz.draw(echo_loss(recurrent, x_one, y_one), folded=True), "recurrent_folded.svg")

# %% [markdown]
# ## 3. Both nets trained on the echo task

# %%
iterations = ex.pick(600, 60)
with ex.transcript("echo.txt"):
    curves = {}
    for net in (feedforward, recurrent):
        label = "recurrent" if net.recurrent else "feed-forward"
        optimizer = mg.optim.Adam(list(net.parameters()), lr=0.05)
        curves[label] = []
        # --8<-- [start:train]
        for i in range(iterations):
            x, y = echo_data(data_rng, 32)
            optimizer.zero_grad()
            loss = echo_loss(net, x, y)
            loss.backward()  # BPTT: back through all three steps
            optimizer.step()
            curves[label].append(loss.item())
        # --8<-- [end:train]
        x, y = echo_data(np.random.default_rng(1), 1000)
        with mg.no_grad():
            z = np.stack([z_t.data for z_t in net(x)], axis=1)
        r2 = mg.r2_score(z, y)
        print(f"{label:>12}: loss {curves[label][-1]:.4f} after {iterations} updates, test R² {r2:.3f}")

# %%
figure, axis = plt.subplots(figsize=(6, 3.2))
for label, curve in curves.items():
    axis.plot(curve, label=label)
axis.set(xlabel="update (batch of 32 sequences)", ylabel="loss", yscale="log",
         title="Learning to echo the previous input")
axis.legend()
ex.figure(figure, "echo_training.png")

# %% [markdown]
# ## 4. An LSTM, trained with the library's Trainer

# %%
with ex.transcript("lstm.txt"):
    # --8<-- [start:lstm]
    Echo = mg.tasks()["echo"]  # the task plugin: data, model, loss, metric
    task = Echo(Echo.Config(cell="lstm", hidden_size=4, epochs=ex.pick(20, 1)))
    trainer = Trainer(task, progress=False)  # no out_dir: nothing is written
    metrics = trainer.fit()
    print(f"LSTM on echo: test R² {metrics['r2']:.4f} after {metrics['epochs']} epochs")
    # --8<-- [end:lstm]

# %%
# --8<-- [start:lstm-graph]
model = trainer.model
model.rnn.fuse_input = False  # x_t·U inside every step, as the lecture draws it
model.rnn.weight_ih_l0.name, model.rnn.weight_hh_l0.name = "weight_ih_l0 (U)", "weight_hh_l0 (W)"
model.out.weight.name, model.out.bias.name = "V", "b_v"
x, y = trainer.data["test"]
loss = task.loss(model, (x[:1], y[:1]))  # one test sequence of 2 steps
loss.name = "loss"
ex.graph(mg.viz.draw(loss, grad=True), "lstm_unrolled.svg")
# --8<-- [end:lstm-graph]
ex.done()
