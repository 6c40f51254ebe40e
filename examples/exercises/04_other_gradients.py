"""Page 4, exercise 2: dL/dU, dL/db_u and dL/dV by hand, checked against backward().

Single output, L = ½ (a_3 - y_3)², with δ_t = ∂L/∂h_t as on the page:

    h_t = x_t·U + s_{t-1}·W + b_u   uses U and b_u at every step:
        dL/dU   = Σ_t x_tᵀ·δ_t            dL/db_u = Σ_t δ_t
    z_3 = s_3·V + b_v               uses V once (only step 3 has an output):
        dL/dV   = s_3ᵀ·(a_3 - y_3)        dL/db_v = a_3 - y_3

The network is page 4's (the same draws as examples/04_bptt.py).

    python examples/exercises/04_other_gradients.py
"""

import numpy as np

import minigrad as mg

T = 3
rng = np.random.default_rng(0)
U, W = rng.normal(0, 0.8, (2, 2)), rng.normal(0, 0.8, (2, 2))
V, b_u, b_v = rng.normal(0, 0.8, (2, 1)), rng.normal(0, 0.1, 2), rng.normal(0, 0.1, 1)
x = [rng.uniform(0, 1, (1, 2)) for _ in range(T)]
y = [rng.uniform(0, 1, (1, 1)) for _ in range(T)]

# --- by hand: forward, then the δ recursion of the page -----------------------------------------
s = [np.zeros((1, 2))]
for t in range(1, T + 1):
    s.append(np.tanh(x[t - 1] @ U + s[t - 1] @ W + b_u))
error = s[3] @ V + b_v - y[2]  # a_3 - y_3 = dL/dz_3
delta = {3: (error @ V.T) * (1 - s[3] ** 2)}
for t in (2, 1):
    delta[t] = (delta[t + 1] @ W.T) * (1 - s[t] ** 2)

by_hand = {
    "U": sum(x[t - 1].T @ delta[t] for t in (1, 2, 3)),  # one term per step, like W
    "b_u": sum(delta[t][0] for t in (1, 2, 3)),
    "V": s[3].T @ error,  # one term only: V meets the loss at step 3 alone
    "b_v": error[0],
}

# --- by backward(): the same network from tensor ops ---------------------------------------------
params = {
    name: mg.tensor(value, requires_grad=True, name=name)
    for name, value in (("U", U), ("W", W), ("V", V), ("b_u", b_u), ("b_v", b_v))
}
s_t = mg.tensor(np.zeros((1, 2)))
for t in range(1, T + 1):
    s_t = (mg.tensor(x[t - 1]) @ params["U"] + s_t @ params["W"] + params["b_u"]).tanh()
loss = (((s_t @ params["V"] + params["b_v"]) - mg.tensor(y[2])) ** 2 * 0.5).sum()
loss.backward()

for name, gradient in by_hand.items():
    difference = np.abs(gradient - params[name].grad).max()
    print(
        f"dL/d{name:<4} by hand {np.array2string(gradient.ravel(), precision=6, floatmode='fixed', sign='+')}"
        f"   largest difference from backward() {difference:.1e}"
    )
    assert difference < 1e-12, f"dL/d{name} by hand disagrees with backward()"
print("every hand-written gradient equals backward()'s")
