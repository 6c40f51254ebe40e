"""The worked example of docs/autodiff.md: every number on that page is printed here.

A 2-step scalar RNN, s_t = tanh(x_t*u + s_{t-1}*w), loss = s_2**2. The script prints
the tape, the gradients backward() hands from node to node next to the same numbers
by hand, and the smaller demonstrations (accumulation, retain_graph, mg.gradients,
10,000 steps, gradcheck, no_grad, detach, tags). It also writes
docs/images/autodiff_tape.dot and, when Graphviz `dot` is installed, renders
docs/images/autodiff_tape.svg.

    .venv/bin/python docs/scripts/autodiff_example.py
"""

import math
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.autograd import topological_order

IMAGES = Path(__file__).resolve().parent.parent / "images"

# --- the worked example -----------------------------------------------------
XS = [1.0, 0.5]   # x_1, x_2
S0 = 0.5          # s_0: not zero, so that w also matters at t = 1
U0, W0 = 0.8, 0.6  # the two weights


def rnn_loss(u, w, detach_state=False):
    s = mg.tensor(S0, name="s_0")
    for t, x in enumerate(XS, start=1):
        with mg.time_step(t):                     # every tensor made in here gets tags {"step": t}
            if detach_state:
                s = s.detach()                    # truncated BPTT: no gradient into earlier steps
            x_t = mg.tensor(x, name=f"x_{t}")
            h = x_t * u + s * w                   # mul, mul, add
            h.name = f"h_{t}"
            s = h.tanh()                          # tanh
            s.name = f"s_{t}"
    return s ** 2                                 # power (x ** constant)


u = mg.tensor(U0, requires_grad=True, name="u")
w = mg.tensor(W0, requires_grad=True, name="w")
loss = rnn_loss(u, w)
loss.name = "loss"

# --- 1. the tape --------------------------------------------------------------
order = topological_order(loss)  # the order backward() uses, reversed: inputs before outputs
labels = {id(n): n.name or f"#{i}" for i, n in enumerate(order, start=1)}
label = lambda n: labels.get(id(n)) or n.name  # noqa: E731  (constants have names)

print("== 1. the tape, inputs before outputs ==")
print(f"{'':>6}  {'op':<6} {'tags':<12} {'value':>10}   parents")
for n in order:
    parents = ", ".join(label(p) for p in n.parents)
    print(f"{label(n):>6}  {n.op or 'leaf':<6} {str(n.tags):<12} {n.item():>10.6f}   {parents}".rstrip())
print(f"constants (requires_grad=False, never walked): s_0={S0}, x_1={XS[0]}, x_2={XS[1]}")

# --- 2. backward(), watched -----------------------------------------------------
# Wrap every recorded backward function so that we see what each node receives and hands on.
log = {}
for n in order:
    if n._backward is not None:
        def watched(g, n=n, inner=n._backward):
            out = inner(g)
            log[id(n)] = (g, out)
            print(f"{label(n):>6}  {n.op:<6} receives {float(g):+.6f}  hands on  "
                  + ", ".join(f"{label(p)}: {float(pg):+.6f}" for p, pg in zip(n.parents, out) if p.requires_grad))
            return out
        n._backward = watched

print("\n== 2. loss.backward(), node by node ==")
loss.backward()
print(f"leaves: u.grad = {u.grad:+.6f}   w.grad = {w.grad:+.6f}")
leaf_grads = {"u": float(u.grad), "w": float(w.grad)}  # kept for the picture

s2 = loss.parents[0]
h2 = s2.parents[0]
xu2, sw2 = h2.parents
s1 = sw2.parents[0]
h1 = s1.parents[0]
xu1, sw1 = h1.parents
handed = lambda node, k: float(log[id(node)][1][k])  # noqa: E731  gradient node handed to parent k

S1 = math.tanh(XS[0] * U0 + S0 * W0)
S2 = math.tanh(XS[1] * U0 + S1 * W0)
dS2 = 2 * S2
dH2 = dS2 * (1 - S2**2)
dS1 = dH2 * W0
dH1 = dS1 * (1 - S1**2)
rows = [
    ("dL/ds_2", "2 s_2", dS2, handed(loss, 0)),
    ("dL/dh_2", "dL/ds_2 (1 - s_2^2)", dH2, handed(s2, 0)),
    ("dL/ds_1", "dL/dh_2 w", dS1, handed(sw2, 0)),
    ("dL/dh_1", "dL/ds_1 (1 - s_1^2)", dH1, handed(s1, 0)),
    ("dL/dw, t=2", "dL/dh_2 s_1", dH2 * S1, handed(sw2, 1)),
    ("dL/dw, t=1", "dL/dh_1 s_0", dH1 * S0, handed(sw1, 1)),
    ("w.grad", "sum of the two", dH2 * S1 + dH1 * S0, float(w.grad)),
    ("dL/du, t=2", "dL/dh_2 x_2", dH2 * XS[1], handed(xu2, 1)),
    ("dL/du, t=1", "dL/dh_1 x_1", dH1 * XS[0], handed(xu1, 1)),
    ("u.grad", "sum of the two", dH2 * XS[1] + dH1 * XS[0], float(u.grad)),
]
print("\n== 2. by hand (math.tanh, plain floats) vs backward() ==")
print(f"{'':<11} {'chain rule':<20} {'by hand':>10} {'backward()':>11}")
for name, rule, hand, auto in rows:
    print(f"{name:<11} {rule:<20} {hand:>+10.6f} {auto:>+11.6f}")
print(f"largest difference: {max(abs(h - a) for _, _, h, a in rows):.1e}")

print("\n== 2. the graph is freed; leaves accumulate ==")
try:
    loss.backward()
except mg.GraphFreedError as error:
    print("second loss.backward():", error)
rnn_loss(u, w).backward()  # a fresh graph, but u.grad and w.grad were not reset
print(f"after a second forward+backward without zeroing: w.grad = {w.grad:+.6f}")
u.grad = w.grad = None
again = rnn_loss(u, w)
again.backward(retain_graph=True)
again.backward()  # allowed: the first call kept the graph
print(f"backward(retain_graph=True) then backward():      w.grad = {w.grad:+.6f}")
fresh = rnn_loss(u, w)
fresh_h1 = fresh.parents[0].parents[0].parents[1].parents[0].parents[0]  # loss <- s_2 <- h_2 <- #7 <- s_1 <- h_1
du, dw, dh1 = mg.gradients(fresh, [u, w, fresh_h1])  # no .grad changes
print(f"mg.gradients(loss, [u, w, h_1]): {float(du):+.6f}, {float(dw):+.6f}, {float(dh1):+.6f};  "
      f"w.grad still {w.grad:+.6f}")

u.grad = w.grad = None
s = mg.tensor(0.0)
for t in range(1, 10_001):
    with mg.time_step(t):
        s = (mg.tensor(math.sin(t)) * u + s * w).tanh()
long_loss = s ** 2
print(f"10,000 steps: {len(topological_order(long_loss))} tensors on the walk, "
      f"Python's recursion limit is {sys.getrecursionlimit()}")
long_loss.backward()
print(f"10,000 steps: backward() done, w.grad = {w.grad:+.6f}")

# --- 4. gradcheck ---------------------------------------------------------------
print("\n== 4. gradcheck ==")
u.grad = w.grad = None
print("gradcheck(rnn_loss, [u, w]):", mg.gradcheck(rnn_loss, [u, w]))


@mg.primitive
def sin(a):  # a new op is one entry: forward, and its backward next to it
    def backward(g):
        return (g * np.cos(a),)

    return np.sin(a), backward


@mg.primitive
def tanh_wrong(a):  # a deliberate bug: the derivative of tanh is 1 - tanh^2, not 1 - tanh
    out = np.tanh(a)

    def backward(g):
        return (g * (1 - out),)

    return out, backward


x = mg.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True, name="x")
print("gradcheck(sin, [x]) with x of shape (2, 3):", mg.gradcheck(sin, [x]))
try:
    mg.gradcheck(tanh_wrong, [x])
except mg.GradcheckError as error:
    print(error)
v = np.random.default_rng(0).uniform(0.5, 1.5, x.shape)  # the projection gradcheck uses (see gradcheck.py)
t00 = np.tanh(x.data[0, 0])
print(f"x[0,0] = {x.data[0, 0]:g}, v[0,0] = {v[0, 0]:.6f}: v*(1 - tanh^2) = {v[0, 0] * (1 - t00**2):.6f}, "
      f"v*(1 - tanh) = {v[0, 0] * (1 - t00):.6f}")

for dtype in (np.float64, np.float32):  # rounding in f, magnified by the division by 2*eps
    machine_eps = np.finfo(dtype).eps
    print(f"{np.dtype(dtype).name}: machine epsilon {machine_eps:.1e}, rounding error of the quotient "
          f"up to about |f| * {machine_eps:.1e} / 1e-6 = |f| * {machine_eps / 1e-6:.1e}")
x32 = mg.tensor(x.data, requires_grad=True, name="x", dtype=np.float32)  # the same x, in float32
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        print("float32: gradcheck(sin, [x32]):", mg.gradcheck(sin, [x32]))
    except mg.GradcheckError as error:
        print("float32:", error)
for warning in caught:
    print("warning:", warning.message)

# --- 5. no_grad, detach, tags ----------------------------------------------------
print("\n== 5. no_grad, detach, tags ==")
with mg.no_grad():
    quiet = rnn_loss(u, w)
print(f"under no_grad: value {quiet.item():.6f}, requires_grad={quiet.requires_grad}, "
      f"op={quiet.op}, parents={quiet.parents}")
u.grad = w.grad = None
rnn_loss(u, w, detach_state=True).backward()
print(f"with s detached at each step: w.grad = {w.grad:+.6f}  (only the t=2 term: {dH2 * S1:+.6f})")
with mg.time_step(3, layer=0, direction="reverse"):
    tagged = u * 2
print(f"tags: s_1 {s1.tags}, loss {loss.tags}, u {u.tags}")
print(f"inside time_step(3, layer=0, direction='reverse'): {tagged.tags}")

# --- the picture ----------------------------------------------------------------
def walk(root):
    """Every tensor the loss was made from, constants included, in no particular order."""
    seen, stack, nodes = set(), [root], []
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen.add(id(n))
            nodes.append(n)
            stack.extend(n.parents)
    return nodes


nodes = walk(loss)  # the walk's order depends only on the graph, so the keys are the same every run
keys = {id(n): f"n{i}" for i, n in enumerate(nodes)}
constant_names = {"s_0", "x_1", "x_2"}


def dot_node(n):
    key = keys[id(n)]
    if n.op:  # an op: its name and its value
        return f'{key} [label="{label(n)} = {n.op}\\n{n.item():.4f}", shape=ellipse];'
    if n.name in constant_names:  # a constant: dashed, no gradient flows into it
        return f'{key} [label="{n.name} = {n.item():g}", shape=box, style=dashed];'
    text = f"{n.name} = {n.item():g}\\ngrad {leaf_grads[n.name]:.4f}"  # a weight: its value and its .grad
    return f'{key} [label="{text}", shape=box, style="bold,filled", fillcolor="#eeeeee"];'


lines = ["// The tape of docs/autodiff.md's worked example; written by docs/scripts/autodiff_example.py",
         "digraph tape {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];',
         '  edge [color="#555555"];']
for step in (1, 2):
    lines += [f"  subgraph cluster_t{step} {{", f'    label="t = {step}"; style=rounded; color="#888888";']
    lines += [f"    {dot_node(n)}" for n in nodes if n.step == step]
    lines.append("  }")
lines += [f"  {dot_node(n)}" for n in nodes if n.step is None]
lines += [f"  {keys[id(p)]} -> {keys[id(n)]};" for n in reversed(nodes) for p in n.parents]
lines.append("}")
source = "\n".join(lines) + "\n"
IMAGES.mkdir(parents=True, exist_ok=True)
(IMAGES / "autodiff_tape.dot").write_text(source)
if shutil.which("dot"):
    subprocess.run(["dot", "-Tsvg", "autodiff_tape.dot", "-o", "autodiff_tape.svg"], cwd=IMAGES, check=True)
    print("\nwrote docs/images/autodiff_tape.dot and docs/images/autodiff_tape.svg")
else:
    print("\nwrote docs/images/autodiff_tape.dot (install Graphviz to render the .svg)")
