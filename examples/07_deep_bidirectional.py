"""Page 7: deep and bidirectional recurrent networks.

1. The graphs: two layers (the state sequence of layer 0 is the input sequence of
   layer 1), and one layer run in both directions, as `minigrad graph` draws them.
2. A task that needs the future: at step t, output x_{t+1} - x_{t-1}. A network that reads
   left to right only knows x_{t-1} at step t; a bidirectional one also knows x_{t+1}.
   Four networks trained on it: 1 or 2 layers, one or both directions.
3. The pm25 task (Beijing's PM2.5, the next hour from the last 24) with one layer and with two,
   the textbook's comparison, trained with the library's Trainer.

    .venv/bin/python examples/07_deep_bidirectional.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example, plt

import minigrad as mg
from minigrad import cli
from minigrad.train import Trainer

ex = Example(7, __doc__)

# %% [markdown]
# ## 1. The graphs

# %%
cli.main(["graph", "rnn", "--steps", "3", "--layers", "2", "-o", str(ex.out / "deep.svg")])
ex.show("deep.svg")  # in a notebook: the picture under this cell
cli.main(["graph", "rnn", "--steps", "3", "--bidirectional", "-o", str(ex.out / "bidirectional.svg")])
ex.show("bidirectional.svg")


# %% [markdown]
# ## 2. The look-ahead task


# %%
def data(rng, batch, steps=10):
    """x_1 ... x_T in [-1, 1] and y_t = x_{t+1} - x_{t-1} (x_0 and x_{T+1} are given to y, not to the net)."""
    x = rng.uniform(-1, 1, (batch, steps + 2, 1))
    return x[:, 1:-1], x[:, 2:] - x[:, :-2]


def train(num_layers, bidirectional, updates, hidden=8, seed=0):
    mg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    # --8<-- [start:model]
    rnn = mg.nn.RNN(1, hidden, num_layers=num_layers, bidirectional=bidirectional)
    head = mg.nn.Linear(hidden * (2 if bidirectional else 1), 1)  # output: (batch, T, directions·hidden)
    # --8<-- [end:model]
    params = [*rnn.parameters(), *head.parameters()]
    optimizer = mg.optim.Adam(params, lr=0.02)
    for _ in range(updates):
        x, y = data(rng, 32)
        optimizer.zero_grad()
        output, _ = rnn(mg.tensor(x))
        mg.nn.mse_loss(head(output), y).backward()
        optimizer.step()
    return lambda x: head(rnn(mg.tensor(x))[0]).data


# %%
test_x, test_y = data(np.random.default_rng(9), 500)
predictions = {}
with ex.transcript("lookahead.txt"):
    print("y_t = x_(t+1) - x_(t-1), 10 steps, hidden 8, 300 Adam updates of batch 32")
    print(f"{'layers':>6}  {'directions':<10}  {'test R²':>7}")
    for layers, both in ((1, False), (2, False), (1, True), (2, True)):
        predict = train(layers, both, ex.pick(300, 20))
        with mg.no_grad():
            predictions[layers, both] = predict(test_x)
        r2 = mg.r2_score(predictions[layers, both], test_y)
        print(f"{layers:>6}  {'both' if both else 'forward':<10}  {r2:7.3f}")

# %%
figure, axis = plt.subplots(figsize=(7, 3.2))
t = np.arange(1, 11)
axis.plot(t, test_y[0, :, 0], "s-", color="0.6", label="target x_(t+1) - x_(t-1)")
axis.plot(t, predictions[1, False][0, :, 0], "o--", label="forward only")
axis.plot(t, predictions[1, True][0, :, 0], "x-", markersize=8, label="bidirectional")
axis.set(xlabel="time step t", title="One test sequence")
axis.legend(fontsize=8)
ex.figure(figure, "lookahead.png")


# %% [markdown]
# ## 3. PM2.5 with one layer and with two

# %%
PM25 = mg.tasks()["pm25"]
defaults = PM25.Config()
with ex.transcript("pm25_layers.txt"):
    print(f"pm25 ({defaults.mode}, {defaults.steps} h of history, hidden {defaults.hidden_size}, the task's defaults),")
    print("test R² when predicting in blocks of")
    print(f"{'layers':>6}  {'epochs':>6}  {'8 h':>6}  {'4 h':>6}  {'2 h':>6}  {'1 h':>6}")
    for layers in (1, 2):
        config = PM25.Config(num_layers=layers, epochs=ex.pick(defaults.epochs, 1))
        metrics = Trainer(PM25(config), progress=False).fit()
        blocks = "".join(f"  {metrics[f'r2_{hours}h']:6.3f}" for hours in (8, 4, 2, 1))
        print(f"{layers:>6}  {metrics['epochs']:>6}{blocks}")
ex.done()
