"""The main demo: the lecture's RNN unrolled over three steps, BPTT by backward(),
and the same gradient measured by finite differences.

    h_t = x_t U + s_{t-1} W + b_u      s_t = tanh(h_t)
    z_t = s_t V + b_v                  loss = (z_T - y)^2

Run it with `make demo`.
"""

from collections import Counter

import numpy as np

import minigrad as mg

mg.manual_seed(0)
rng = mg.default_rng()
HIDDEN = 3
U = mg.tensor(rng.normal(0, 0.5, (1, HIDDEN)), requires_grad=True, name="U")
W = mg.tensor(rng.normal(0, 0.5, (HIDDEN, HIDDEN)), requires_grad=True, name="W")
V = mg.tensor(rng.normal(0, 0.5, (HIDDEN, 1)), requires_grad=True, name="V")
b_u = mg.tensor(np.zeros(HIDDEN), requires_grad=True, name="b_u")
b_v = mg.tensor(np.zeros(1), requires_grad=True, name="b_v")
xs = [0.9, 0.2, 0.6]  # the echo task: the answer is the previous input
y = 0.2


def rnn_loss(U, W, V, b_u, b_v):
    s = mg.tensor(np.zeros((1, HIDDEN)), name="s_0")
    for t, x in enumerate(xs, start=1):
        with mg.time_step(t):  # every op inside is tagged with its time step
            x_t = mg.tensor([[x]], name=f"x_{t}")
            h = x_t @ U + s @ W + b_u
            s = h.tanh()
            s.name = f"s_{t}"
    z = s @ V + b_v
    return ((z - y) ** 2).sum()


loss = rnn_loss(U, W, V, b_u, b_v)
print(f"forward: three steps of the lecture's RNN, loss = {loss.item():.6f}\n")


def tape(root):
    seen, stack, nodes = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(node.parents)
    return nodes


print("the tape, grouped by time step (each step holds the same ops: the unrolled cell):")
by_step = Counter((node.step, node.op) for node in tape(loss) if node.op)
for step in sorted({s for s, _ in by_step}, key=lambda s: (s is None, s)):
    ops = ", ".join(f"{op} x{n}" for (s, op), n in sorted(by_step.items(), key=str) if s == step)
    print(f"  {'after the loop' if step is None else f't = {step}':>14}: {ops}")

loss.backward()  # BPTT: the walk back through t = 3, 2, 1
print("\nbackward() gives dloss/dW (W is shared by all three steps, so it sums three contributions):")
print(np.array2string(W.grad, precision=6, suppress_small=True))

print("\nthe same entries by central differences, (L(W + eps) - L(W - eps)) / 2 eps:")
eps = 1e-6
numeric = np.zeros_like(W.data)
for index in np.ndindex(*W.shape):
    original = W.data[index]
    W.data[index] = original + eps
    above = rnn_loss(U, W, V, b_u, b_v).item()
    W.data[index] = original - eps
    below = rnn_loss(U, W, V, b_u, b_v).item()
    W.data[index] = original
    numeric[index] = (above - below) / (2 * eps)
print(np.array2string(numeric, precision=6, suppress_small=True))
print(f"largest difference: {np.max(np.abs(numeric - W.grad)):.2e}")

mg.gradcheck(rnn_loss, [U, W, V, b_u, b_v])
print("\nmg.gradcheck over every parameter (U, W, V, b_u, b_v): all agree with finite differences")

# The tape drawn: one box per time step, U, W, V drawn once with an edge into every step.
picture = mg.viz.draw(rnn_loss(U, W, V, b_u, b_v))
print(f"\nthe unrolled graph: {mg.viz.render(picture, 'out/demo_unrolled.svg')}")
print("more pictures: .venv/bin/minigrad graph lstm --folded -o lstm.svg   (see docs/unrolling.md)")
