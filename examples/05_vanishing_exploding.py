"""Page 5: vanishing and exploding gradients, and three partial fixes.

0. The slopes. The largest value of tanh' and of sigmoid' (the lecture puts both in [0, 1];
   sigmoid' is at most a quarter).
1. The product. With the loss at step T, the gradient reaching s_t is, with row vectors,

       dL/ds_t = dL/ds_T · ∏_{i = T ... t+1} diag(f'(h_i)) · Wᵀ

   h_i is the pre-activation (the lecture's z_i in its product ∏ diag[f'(z_i)]W, whose W is
   untransposed because it is written for column vectors).

   A tanh RNN with W = ρ·Q (Q orthogonal, so every singular value of W is ρ) is run over
   50 steps. The product is computed by hand in NumPy and compared with what backward()
   carries back (mg.viz.gradient_flow): ρ < 1 vanishes, ρ = 1.5 explodes.
2. The overflow. The ρ = 1.5 RNN fed zeros (its state stays at 0, where tanh' = 1) over 300
   steps in float32: the gradient passes float32's largest number, and mg.detect_anomaly()
   names the step where it becomes infinite.
3. Clipping. The same RNN with ρ = 1.5 trained with SGD: without clipping one huge
   gradient throws the weights away; with mg.nn.clip_grad_norm_ training goes on.
4. ReLU and initialisation. Gradient flow at initialisation over 100 steps: tanh with
   PyTorch's initialisation, tanh with an orthogonal W, ReLU with W = I (IRNN).

    .venv/bin/python examples/05_vanishing_exploding.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example, plt

import minigrad as mg

ex = Example(5, __doc__)
HIDDEN = 32


def orthogonal(rng, size):
    q, r = np.linalg.qr(rng.normal(size=(size, size)))
    return q * np.sign(np.diag(r))


def tanh_rnn(rho, seed=0):
    """A tanh RNN (1 input, 32 hidden units) whose W has every singular value equal to ρ."""
    mg.manual_seed(seed)
    rnn = mg.nn.RNN(1, HIDDEN)
    rnn.weight_hh_l0.data[:] = rho * orthogonal(np.random.default_rng(seed), HIDDEN)
    return rnn


# %% [markdown]
# ## 0. The slopes of the squashing functions

# %%
with ex.transcript("slopes.txt"):
    # --8<-- [start:slopes]
    h = np.linspace(-6, 6, 1201)  # pre-activations; 0 is among them
    tanh_slope = 1 - np.tanh(h) ** 2  # tanh' = 1 - tanh²
    sigmoid = 1 / (1 + np.exp(-h))
    sigmoid_slope = sigmoid * (1 - sigmoid)  # sigmoid' = σ(1 - σ)
    print(f"largest tanh'    {tanh_slope.max():.3f}, at h = {h[tanh_slope.argmax()]:.1f}")
    print(f"largest sigmoid' {sigmoid_slope.max():.3f}, at h = {h[sigmoid_slope.argmax()]:.1f}")
    # --8<-- [end:slopes]

# %% [markdown]
# ## 1. The product, by hand and by backward()

# %%
steps = 50
x = np.random.default_rng(1).normal(0, 1, (1, steps, 1))
v = np.random.default_rng(2).normal(0, 1, (1, HIDDEN))  # L = s_T·vᵀ: a loss at the last step only
figure, axis = plt.subplots(figsize=(7, 3.6))
with ex.transcript("product.txt"):
    print(f"tanh RNN, {HIDDEN} hidden units, {steps} steps, W = ρ·Q: ‖dL/ds_1‖ / ‖dL/ds_T‖, "
          "by hand and by backward()")
    for rho, colour in ((0.5, "tab:purple"), (0.9, "tab:blue"), (1.1, "tab:green"), (1.5, "tab:red")):
        rnn = tanh_rnn(rho)
        output, _ = rnn(mg.tensor(x))
        loss = (output[:, -1] * mg.tensor(v)).sum()
        # --8<-- [start:product]
        s = output.data[0]  # s_1 ... s_T, (T, hidden)
        W = rnn.weight_hh_l0.data.T  # the lecture's W (PyTorch stores it transposed)
        g = v.copy()  # dL/ds_T
        by_hand = [np.linalg.norm(g)]
        for i in range(steps - 1, 0, -1):  # from s_T back to s_1, one Jacobian per step
            g = (g * (1 - s[i] ** 2)) @ W.T  # dL/ds_{i-1} = dL/ds_i · diag(1 - s_i²) · Wᵀ
            by_hand.append(np.linalg.norm(g))
        by_hand = np.array(by_hand[::-1])  # t = 1 ... T
        flow = mg.viz.gradient_flow(loss, output)  # ‖dL/ds_t‖ from the tape
        # --8<-- [end:product]
        t = np.arange(1, steps + 1)
        axis.semilogy(t, flow, color=colour, label=f"ρ = {rho}")
        axis.semilogy(t[::4], by_hand[::4], "o", color=colour, markersize=4, markerfacecolor="none")
        print(f"  ρ = {rho}:  by hand {by_hand[0] / by_hand[-1]:.2e}   backward() {flow[0] / flow[-1]:.2e}   "
              f"largest relative difference {np.max(np.abs(by_hand - flow) / flow):.1e}   "
              f"{abs(np.log10(flow[0] / flow[-1])):.1f} orders of magnitude {'down' if flow[0] < flow[-1] else 'up'}")
axis.set(xlabel="time step t (the loss is at t = 50)", ylabel="‖dL/ds_t‖",
         title="The gradient reaching step t (lines: backward(); circles: by hand)")
axis.legend(ncol=4, fontsize=9)
ex.figure(figure, "product.png")

# %%
# The ρ = 0.9 run again, in the explorer: its bar chart of ‖dL/ds_t‖ grows as the walk goes back.
# --8<-- [start:explore]
rnn = tanh_rnn(0.9)
output, _ = rnn(mg.tensor(x))
mg.viz.explore((output[:, -1] * mg.tensor(v)).sum(), ex.out / "explorer.html")
# --8<-- [end:explore]
print(f"wrote {ex.out / 'explorer.html'}")


# %% [markdown]
# ## 2. Where the explosion overflows

# %%
steps = 300


def silent_rnn(dtype):
    """The ρ = 1.5 RNN with zero biases, fed zeros, loss L = s_T·vᵀ. Its state stays at 0, where
    tanh' = 1: every step back multiplies ‖dL/ds_t‖ by exactly ρ, the largest a factor can be."""
    rnn = tanh_rnn(1.5).to_dtype(dtype)
    rnn.bias_ih_l0.data[:] = rnn.bias_hh_l0.data[:] = 0
    output, _ = rnn(mg.tensor(np.zeros((1, steps, 1), dtype)))
    return rnn, output, (output[:, -1] * mg.tensor(v.astype(dtype))).sum()


float32_max, float64_max = np.finfo(np.float32).max, np.finfo(np.float64).max
with np.errstate(over="ignore", invalid="ignore"), ex.transcript("anomaly.txt"):
    print(f"tanh RNN, ρ = 1.5, zero biases, {steps} steps of zero input, loss at step {steps}")
    _, output, loss = silent_rnn(np.float64)
    grads = mg.gradients(loss, list(output.parents))  # output = stack(s_1, ..., s_T): dL/ds_t for every t
    norms = [np.linalg.norm(g) for g in grads]
    overflows = max(t for t, g in enumerate(grads, 1) if np.abs(g).max() > float32_max)  # it grows going back
    print(f"float64: ‖dL/ds_t‖ grows {norms[-2] / norms[-1]:.4f} times per step back; its largest entry is "
          f"beyond float32's largest number, {float32_max:.1e}, from t = {overflows} back "
          f"(‖dL/ds_{overflows}‖ = {norms[overflows - 1]:.1e})")
    print(f"float64, whose largest number is {float64_max:.1e}, would overflow about "
          f"{np.log(float64_max / norms[-1]) / np.log(1.5):.0f} steps back from the loss")
    rnn, _, loss = silent_rnn(np.float32)
    loss.backward()
    nan = sum(int(np.isnan(p.grad).sum()) for p in rnn.parameters())
    print(f"float32: backward() runs to the end; {nan} of the {sum(p.size for p in rnn.parameters())} "
          "parameter gradient entries are NaN")
    print("float32 under mg.detect_anomaly():")
    # --8<-- [start:anomaly]
    try:
        with mg.detect_anomaly():  # check every op's output, and every gradient, for NaN and inf
            _, output, loss = silent_rnn(np.float32)
            loss.backward()
    except mg.AnomalyError as error:
        print(error)
    # --8<-- [end:anomaly]


# %% [markdown]
# ## 3. Clipping

# %%
LR = 0.1
# the task: the sum of the first SUMMED of STEPS inputs, BATCH sequences a step, W's largest singular value RHO
STEPS, SUMMED, BATCH, RHO = 30, 5, 32, 1.5
GONE = 1e30  # a loss this large means the weights are gone: the run stops


def train(clip, updates, rho=RHO, lr=LR, seed=0):
    """Regress the sum of the first SUMMED of STEPS inputs from the last state; SGD, batch BATCH."""
    rnn = tanh_rnn(rho, seed)
    head = mg.nn.Linear(HIDDEN, 1)
    params = [*rnn.parameters(), *head.parameters()]
    optimizer = mg.optim.SGD(params, lr=lr)
    rng = np.random.default_rng(seed)
    norms, losses = [], []
    for _ in range(updates):
        x = rng.uniform(0, 1, (BATCH, STEPS, 1))
        y = x[:, :SUMMED, 0].sum(axis=1, keepdims=True)
        # --8<-- [start:clip]
        optimizer.zero_grad()
        output, _ = rnn(mg.tensor(x))
        loss = mg.nn.mse_loss(head(output[:, -1]), y)
        loss.backward()
        norm = mg.nn.clip_grad_norm_(params, clip)  # the norm before clipping; grads now at most `clip`
        optimizer.step()
        # --8<-- [end:clip]
        norms.append(float(norm))
        losses.append(loss.item())
        if not np.isfinite(losses[-1]) or losses[-1] > GONE:
            break  # the weights are gone
    return norms, losses


updates = ex.pick(150, 20)
with np.errstate(all="ignore"), ex.transcript("clipping.txt"):
    print(f"the task: the sum of the first {SUMMED} of {STEPS} inputs, from the last state of a tanh RNN "
          f"(ρ = {RHO}); SGD, lr {LR}, batch {BATCH}")
    runs = {"no clipping": train(float("inf"), updates), "clipped to norm 1": train(1.0, updates)}
    for (label, (norms, losses)), clip in zip(runs.items(), (float("inf"), 1.0)):
        print(f"{label}: largest gradient norm {max(norms):.1e}, largest step lr·‖gradient‖ "
              f"{LR * min(max(norms), clip):.1e}")
        print(f"  loss after {len(losses)} updates {losses[-1]:.3g}, smallest {min(losses):.3g}"
              f"{f'; stopped: the loss is past {GONE:.0e}' if len(losses) < updates else ''}")

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
for label, (norms, losses) in runs.items():
    left.semilogy(norms, label=label)
    right.semilogy(losses, label=label)
left.axhline(1.0, color="0.5", linestyle="--", linewidth=1)
left.set(xlabel="update", ylabel="‖gradient‖ before clipping", title="Gradient norm")
right.set(xlabel="update", ylabel="loss", title="Loss")
right.legend()
ex.figure(figure, "clipping.png")

# %% [markdown]
# ## 4. ReLU and initialisation

# %%
steps = 100
x = np.random.default_rng(3).uniform(0, 1, (1, steps, 1))  # a positive signal, as the echo task's
v = np.random.default_rng(2).normal(0, 1, (1, HIDDEN))
figure, axis = plt.subplots(figsize=(7, 3.6))
with ex.transcript("fixes.txt"):
    print(f"gradient flow at initialisation, {steps} steps: ‖dL/ds_1‖ / ‖dL/ds_T‖")
    for label in ("tanh, PyTorch's initialisation", "tanh, orthogonal W", "ReLU, W = I (IRNN)"):
        mg.manual_seed(0)
        # --8<-- [start:fixes]
        if label.startswith("ReLU"):
            rnn = mg.nn.RNN(1, HIDDEN, nonlinearity="relu")
            rnn.weight_hh_l0.data[:] = np.eye(HIDDEN)  # s_t = relu(x_t·U + s_{t-1} + b)
            rnn.bias_ih_l0.data[:] = rnn.bias_hh_l0.data[:] = 0
        else:
            rnn = mg.nn.RNN(1, HIDDEN)  # uniform in ±1/√32
            if "orthogonal" in label:
                rnn.weight_hh_l0.data[:] = orthogonal(np.random.default_rng(0), HIDDEN)  # singular values 1
        # --8<-- [end:fixes]
        output, _ = rnn(mg.tensor(x))
        flow = mg.viz.gradient_flow((output[:, -1] * mg.tensor(v)).sum(), output)
        axis.semilogy(np.arange(1, steps + 1), flow, label=label)
        print(f"  {label:<32} {flow[0] / flow[-1]:.1e}")
axis.set(xlabel="time step t (the loss is at t = 100)", ylabel="‖dL/ds_t‖", title="At initialisation")
axis.legend(fontsize=9)
ex.figure(figure, "fixes.png")
ex.done()
