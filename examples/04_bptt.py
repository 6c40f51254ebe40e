"""Page 4: backpropagation through time by hand, and the same numbers from backward().

The lecture's network over three steps, in its letters, with row vectors and every weight on
the right (the lecture writes the output as z_t = V·s_t + b_v; with s_t a row it is s_t·V):

    h_t = x_t·U + s_{t-1}·W + b_u        s_t = σ(h_t) = tanh(h_t)
    z_t = s_t·V + b_v                    a_t = C(z_t) = z_t (identity: a regression)

x_t has 2 features, s_t 2 hidden units, a_t 1 output; s_0 = 0. Two losses:

    single output      L = ½ (a_3 - y_3)²            (the output at the last step only)
    every-step output  L = Σ_t ½ (a_t - y_t)²        (an output at every step)

For each, dL/dW is computed twice: by hand, with the chain rule written out step by
step in NumPy, and by minigrad's backward() on the same network built from tensor ops.

    .venv/bin/python examples/04_bptt.py [--out DIR] [--smoke]
"""

# %%
import numpy as np
from _common import Example

import minigrad as mg

ex = Example(4, __doc__)
T = 3
rng = np.random.default_rng(0)
U, W = rng.normal(0, 0.8, (2, 2)), rng.normal(0, 0.8, (2, 2))
V, b_u, b_v = rng.normal(0, 0.8, (2, 1)), rng.normal(0, 0.1, 2), rng.normal(0, 0.1, 1)
x = [rng.uniform(0, 1, (1, 2)) for _ in range(T)]  # x_1, x_2, x_3: row vectors
y = [rng.uniform(0, 1, (1, 1)) for _ in range(T)]  # y_1, y_2, y_3


def show(matrix):
    return np.array2string(matrix, precision=6, floatmode="fixed", sign="+").replace("\n", "\n" + " " * 22)


# %% [markdown]
# ## By hand: the forward pass, every value kept

# %%
# --8<-- [start:forward]
s = {0: np.zeros((1, 2))}  # s_0 = 0
h, z, a = {}, {}, {}
for t in range(1, T + 1):
    h[t] = x[t - 1] @ U + s[t - 1] @ W + b_u
    s[t] = np.tanh(h[t])
    z[t] = s[t] @ V + b_v
    a[t] = z[t]  # C is the identity
# --8<-- [end:forward]


# %% [markdown]
# ## By hand: the single-output case, the three steps written out

# %%
# --8<-- [start:single]
# L = ½ (a_3 - y_3)²; dL/dz_3 = a_3 - y_3, and tanh'(h_t) = 1 - s_t².
# δ_t = dL/dh_t. Only step 3 has an output, so the earlier δ come back through W alone.
delta_3 = ((a[3] - y[2]) @ V.T) * (1 - s[3] ** 2)
delta_2 = (delta_3 @ W.T) * (1 - s[2] ** 2)
delta_1 = (delta_2 @ W.T) * (1 - s[1] ** 2)
# W is used at every step, so dL/dW sums one term per step: s_{t-1}ᵀ·δ_t.
dW_single = s[2].T @ delta_3 + s[1].T @ delta_2 + s[0].T @ delta_1
# --8<-- [end:single]
single_terms = {3: s[2].T @ delta_3, 2: s[1].T @ delta_2, 1: s[0].T @ delta_1}
single_deltas = {1: delta_1, 2: delta_2, 3: delta_3}


# %% [markdown]
# ## By hand: the every-step case, as a loop from the last step to the first

# %%
# --8<-- [start:every]
# L = Σ_t ½ (a_t - y_t)²: now s_t gets gradient from its own output *and* from step t + 1.
delta = {T + 1: np.zeros((1, 2))}  # nothing comes back from after the last step
dW_every = np.zeros_like(W)
for t in range(T, 0, -1):
    ds = (a[t] - y[t - 1]) @ V.T + delta[t + 1] @ W.T  # dL/ds_t: its output, plus the future
    delta[t] = ds * (1 - s[t] ** 2)  # dL/dh_t
    dW_every += s[t - 1].T @ delta[t]
# --8<-- [end:every]


# %% [markdown]
# ## By backward(): the same network from tensor ops

# %%
# --8<-- [start:backward]
def network(every_step):
    """Returns the loss and h_1 ... h_T, so that their gradients (the δ_t) can be asked for."""
    params = {name: mg.tensor(value, requires_grad=True, name=name)
              for name, value in (("U", U), ("W", W), ("V", V), ("b_u", b_u), ("b_v", b_v))}
    s_t = mg.tensor(np.zeros((1, 2)), name="s_0")
    hs, losses = [], []
    for t in range(1, T + 1):
        with mg.time_step(t):
            h_t = mg.tensor(x[t - 1], name="x_t") @ params["U"] + s_t @ params["W"] + params["b_u"]
            h_t.name = "h_t"
            s_t = h_t.tanh()
            s_t.name = "s_t"
            if every_step or t == T:
                a_t = s_t @ params["V"] + params["b_v"]  # a_t = z_t
                a_t.name = "a_t"
                loss_t = ((a_t - mg.tensor(y[t - 1], name="y_t")) ** 2 * 0.5).sum()
                loss_t.name = "loss_t"
                losses.append(loss_t)
        hs.append(h_t)
    loss = mg.stack(losses).sum() if len(losses) > 1 else losses[0]
    loss.name = "loss"
    return loss, hs, params


loss, hs, params = network(every_step=False)
deltas = mg.gradients(loss, hs, retain_graph=True)  # dL/dh_t from the tape, touching no .grad
loss.backward()
# --8<-- [end:backward]
ex.graph(mg.viz.draw(network(every_step=False)[0], grad=True), "single_output.svg")
# --8<-- [start:explore]
mg.viz.explore(network(every_step=False)[0], ex.out / "explorer.html")  # the same walk, one op at a time
# --8<-- [end:explore]
print(f"wrote {ex.out / 'explorer.html'}")

# %% [markdown]
# ## The single-output case: by hand against backward()

# %%
with ex.transcript("single_output.txt"):
    print("single output, L = ½ (a_3 - y_3)²")
    for t in (3, 2, 1):
        print(f"δ_{t} by hand           {show(single_deltas[t])}")
        print(f"δ_{t} from the tape     {show(deltas[t - 1])}")
    print()
    for t in (3, 2, 1):
        print(f"term t = {t}: s_{t - 1}ᵀ·δ_{t}   {show(single_terms[t])}")
    print(f"dL/dW by hand         {show(dW_single)}")
    print(f"W.grad (backward)     {show(params['W'].grad)}")
    print(f"largest difference    {np.abs(dW_single - params['W'].grad).max():.1e}")
    print()
    print("   ".join(f"‖δ_{t}‖ {np.linalg.norm(single_deltas[t]):.3f}" for t in (3, 2, 1)))

# %% [markdown]
# ## The every-step case: by hand against backward()

# %%
loss, hs, params = network(every_step=True)
loss.backward()
ex.graph(mg.viz.draw(network(every_step=True)[0], grad=True), "every_step.svg")
with ex.transcript("every_step.txt"):
    print("every-step output, L = Σ_t ½ (a_t - y_t)²")
    print(f"dL/dW by hand         {show(dW_every)}")
    print(f"W.grad (backward)     {show(params['W'].grad)}")
    print(f"largest difference    {np.abs(dW_every - params['W'].grad).max():.1e}")
ex.done()
