"""Page 3: the lecture's two first problems, trained live.

1. Echo: the output at step t is the input of step t - 1 (the lecture's table 19-1).
   The task plugin `echo`, trained with the Trainer; a table and a plot of the signal,
   its echo and the network's answer.
2. Binary subtraction: a - b for 4-bit numbers, lowest bit first. Each bit of the
   difference depends on the borrow from the bit below, which the state must carry.
   The task plugin `binary-subtraction`; 13 - 6 bit by bit, and the hidden unit that
   learned the borrow.

    .venv/bin/python examples/03_echo_and_subtraction.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example, plt

import minigrad as mg
from minigrad.train import Trainer

ex = Example(3, __doc__)

# %% [markdown]
# ## 1. Echo

# %%
# --8<-- [start:echo]
Echo = mg.tasks()["echo"]
echo = Echo(Echo.Config(epochs=ex.pick(20, 2)))  # an RNN, hidden size 4, 2 steps per example
trainer = Trainer(echo, progress=False)
metrics = trainer.fit()
# --8<-- [end:echo]

# %%
signal = np.random.default_rng(7).uniform(0, 1, 31)  # a fresh signal x_0 ... x_30
windows = np.stack([signal[:-1], signal[1:]], axis=1)[:, :, None]  # (x_{t-1}, x_t) for t = 1 ... 30
with mg.no_grad():
    answer = trainer.model(mg.tensor(windows)).data[:, 0]  # the output after reading x_t

with ex.transcript("echo.txt"):
    print(f"echo, RNN with 4 hidden units: test R² {metrics['r2']:.4f} after {metrics['epochs']} epochs")
    print()
    print(f"{'t':>3}  {'x_t':>6}  {'y_t = x_(t-1)':>13}  {'network':>8}")
    for t in range(1, 9):
        print(f"{t:>3}  {signal[t]:6.3f}  {signal[t - 1]:13.3f}  {answer[t - 1]:8.3f}")

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [2, 1]})
steps = np.arange(1, 31)
left.plot(steps, signal[1:], "o-", color="0.7", label="input x_t")
left.plot(steps, signal[:-1], "s", color="tab:blue", label="target y_t = x_(t-1)")
left.plot(steps, answer, "x", color="tab:red", markersize=8, label="network's answer")
left.set(xlabel="time step t", title="The echo, one step late")
left.legend(fontsize=8, loc="upper right", ncol=3)
left.set_ylim(-0.05, 1.3)
epochs = [h["epoch"] for h in trainer.history]
right.plot(epochs, [h["train_loss"] for h in trainer.history], label="train")
right.plot(epochs, [h["valid_loss"] for h in trainer.history], label="validation")
right.set(xlabel="epoch", ylabel="mean squared error", yscale="log", title="Training")
right.legend()
ex.figure(figure, "echo.png")

# %% [markdown]
# ## 2. Binary subtraction

# %%
# --8<-- [start:subtraction]
Subtraction = mg.tasks()["binary-subtraction"]
subtraction = Subtraction(Subtraction.Config(epochs=ex.pick(600, 20)))  # stops when all 136 pairs are right
trainer = Trainer(subtraction, progress=False)
metrics = trainer.fit()
# --8<-- [end:subtraction]

# %%
x, y = trainer.data["test"]  # every pair 0 <= b <= a <= 15
with mg.no_grad():
    states, _ = trainer.model.rnn(mg.tensor(x))  # s_t for every pair and step: (136, 4, hidden)
    probability = trainer.model(mg.tensor(x)).sigmoid().data[..., 0]  # a_t = σ(z_t)
a_bits, b_bits = x[..., 0].astype(int), x[..., 1].astype(int)
borrow_out = np.zeros_like(a_bits)  # the borrow each step passes to the next bit
borrow_in = np.zeros(len(x), dtype=int)
for t in range(4):
    borrow_out[:, t] = a_bits[:, t] - b_bits[:, t] - borrow_in < 0
    borrow_in = borrow_out[:, t]

with ex.transcript("subtraction.txt"):
    print(f"binary subtraction, RNN with 4 hidden units: all 4 bits right for {metrics['accuracy']:.0%} "
          f"of the {len(x)} pairs after {metrics['epochs']} epochs")
    pair = next(i for i, (a, b) in enumerate(zip(a_bits @ 2 ** np.arange(4), b_bits @ 2 ** np.arange(4)))
                if (a, b) == (13, 6))
    print()
    print("13 - 6 = 7, lowest bit first:")
    print(f"{'t':>3}  {'a_t':>3}  {'b_t':>3}  {'borrow in':>9}  {'bit of 7':>8}  {'σ(z_t)':>7}  {'borrow out':>10}")
    for t in range(4):
        before = borrow_out[pair, t - 1] if t else 0
        print(f"{t + 1:>3}  {a_bits[pair, t]:>3}  {b_bits[pair, t]:>3}  {before:>9}  {int(y[pair, t, 0]):>8}  "
              f"{probability[pair, t]:7.3f}  {borrow_out[pair, t]:>10}")
    s = states.data.reshape(-1, states.shape[-1])
    correlation = [np.corrcoef(s[:, k], borrow_out.reshape(-1))[0, 1] for k in range(s.shape[1])]
    unit = int(np.argmax(np.abs(correlation)))
    print()
    print("correlation of each hidden unit of s_t with the borrow out of step t, over all pairs and steps:")
    print("  " + "  ".join(f"unit {k}: {c:+.2f}" for k, c in enumerate(correlation)))
    print()
    print("range of each hidden unit of s_t, after a bit with no borrow out and with one:")
    for k in range(s.shape[1]):
        none, borrow = s[borrow_out.reshape(-1) == 0, k], s[borrow_out.reshape(-1) == 1, k]
        apart = none.max() < borrow.min() or borrow.max() < none.min()
        print(f"  unit {k}:  no borrow {none.min():+.2f} … {none.max():+.2f}   "
              f"borrow {borrow.min():+.2f} … {borrow.max():+.2f}   {'apart' if apart else 'overlapping'}")

# %%
figure, axis = plt.subplots(figsize=(7, 3.2))
jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(s))
for value, colour in ((0, "tab:blue"), (1, "tab:orange")):
    chosen = borrow_out.reshape(-1) == value
    for k in range(s.shape[1]):
        axis.scatter(k + jitter[chosen] + (0.2 if value else -0.2), s[chosen, k], s=6, color=colour,
                     label=f"borrow out = {value}" if k == 0 else None)
axis.set_xticks(range(s.shape[1]), [f"unit {k}" for k in range(s.shape[1])])
axis.set(ylabel="s_t", title=f"The state after each bit: unit {unit} carries the borrow")
axis.legend(fontsize=8)
ex.figure(figure, "borrow.png")
ex.done()
