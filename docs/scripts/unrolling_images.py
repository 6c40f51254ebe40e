"""Every picture of docs/unrolling.md, written into docs/images/unrolling/.

    .venv/bin/python docs/scripts/unrolling_images.py        (or: make docs-images)
    .venv/bin/python docs/scripts/unrolling_images.py --no-training   (the pictures and listings only)

Seeded, so every run draws the same graphs. The pictures that a ``minigrad graph ...``
command can draw are made with that command's own defaults (``graph_command``); the
others are built here, in the lecture's names (``echo_rnn``, ``binary_subtraction``).
Beside each picture of sections 3 to 6 a listing (``*_nodes.txt``, ``lstm_collapsed.txt``)
says what it holds: its parameters, boxes and nodes with their labels, its op counts. Last,
``minigrad gradflow`` trains three cells and prints its table. Every number the page quotes is
in a transcript written here (``*.txt``), which the page includes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import cli
from minigrad.viz.tape import box_order, collect, display_name, kind, shape_text, step_key

DOCS = Path(__file__).resolve().parent.parent
OUT = DOCS / "images" / "unrolling"


def save(picture, name: str) -> None:
    print(f"wrote {mg.viz.render(picture, OUT / name).relative_to(DOCS.parent)}")


@contextlib.contextmanager
def transcript(name: str) -> Iterator[None]:
    """Keep what is printed inside in OUT/name (written atomically), and print it as well.
    "wrote PATH" lines are printed but not kept: the path is this machine's."""
    kept = io.StringIO()
    with contextlib.redirect_stdout(kept):
        yield
    print(kept.getvalue(), end="")
    text = "".join(line for line in kept.getvalue().splitlines(keepends=True) if not line.startswith("wrote "))
    temporary = OUT / f".{name}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, OUT / name)  # a reader never sees half a file
    print(f"wrote {(OUT / name).relative_to(DOCS.parent)}")


# --- (a) the lecture's echo RNN: two steps, an output at t = 2 only -------------------------


def echo_rnn() -> mg.Tensor:
    """The echo network of the lecture (ch. 19): 1 input, 1 hidden unit, 1 output.

    t = 1:  h_1 = x_1·U + b_u                 (no s_0: the first step has no W term)
            s_1 = tanh(h_1)
    t = 2:  h_2 = x_2·U + s_1·W + b_u
            s_2 = tanh(h_2)
            z_2 = s_2·V + b_v                 a_2 = z_2 (fitting: identity)
            loss = (z_2 - y_2)² / 2           y_2 = x_1: echo the previous input
    """
    mg.manual_seed(0)
    rng = mg.default_rng()
    U, W, V = (mg.nn.Parameter(rng.normal(size=(1, 1)), name=n) for n in "UWV")
    b_u = mg.nn.Parameter(np.zeros((1, 1)), name="b_u")
    b_v = mg.nn.Parameter(np.zeros((1, 1)), name="b_v")
    xs = rng.uniform(0, 1, 2)  # the lecture's data: random numbers, the target is the one before
    s = None
    for t in (1, 2):
        with mg.time_step(t):  # every tensor made in here is tagged with step t
            x_t = mg.tensor([[xs[t - 1]]], name="x_t")  # "_t" is drawn as the step number: x_1, x_2
            h = x_t @ U if s is None else x_t @ U + s @ W
            h = h + b_u
            h.name = "h_t"
            s = h.tanh()
            s.name = "s_t"
    with mg.time_step(2):  # the output layer and the loss, at the last step only
        z = s @ V + b_v
        z.name = "z_t"
        y = mg.tensor([[xs[0]]], name="y_t")
        loss = ((z - y) ** 2 * 0.5).sum()
        loss.name = "loss"
    return loss


# --- (b) binary subtraction: four steps, an output and a loss at every step ---------------


def binary_subtraction(parts: dict | None = None) -> mg.Tensor:
    """13 - 6 = 7 in 4 bits, lowest bit first: x_t = (bit t of 13, bit t of 6), y_t = bit t of 7.

    mg.nn.RNN(2, 4) is U, W (and PyTorch's two biases); mg.nn.Linear(4, 1) is V, b_v. The
    lecture's network has no biases; this one keeps the layers' defaults, to show where they
    enter. At every step z_t = s_t·V + b_v and loss_t = BCE(σ(z_t), y_t), the logistic a_t fused
    into the loss (mg.nn.bce_with_logits); loss = Σ_t loss_t. ``parts``, if given, receives the
    layers and the tensors of every step, for ``subtraction_gradients``.
    """
    mg.manual_seed(0)
    rnn = mg.nn.RNN(input_size=2, hidden_size=4)
    head = mg.nn.Linear(4, 1)
    rnn.weight_ih_l0.name, rnn.weight_hh_l0.name = "weight_ih_l0 (U)", "weight_hh_l0 (W)"
    head.weight.name, head.bias.name = "V", "b_v"

    def bits(n: int) -> list[int]:
        return [(n >> t) & 1 for t in range(4)]  # lowest bit first: the order the steps see them

    x = mg.tensor(np.array([bits(13), bits(6)], dtype=float).T[None], name="x")  # (batch 1, 4 steps, 2)
    y = np.array(bits(13 - 6), dtype=float)
    output, _ = rnn(x)  # Recurrent tags each step and names x_t, h_t, s_t
    zs, losses = [], []
    for t in range(4):
        with mg.time_step(t + 1):
            z = head(output[:, t])
            z.name = "z_t"
            loss_t = mg.nn.bce_with_logits(z, [[y[t]]])
            loss_t.name = "loss_t"
        zs.append(z)
        losses.append(loss_t)
    loss = mg.stack(losses).sum()
    loss.name = "loss"
    if parts is not None:
        parts.update(rnn=rnn, head=head, output=output, zs=zs, losses=losses, y=y)
    return loss


def subtraction_gradients() -> None:
    """The ‖grad‖ lines of the gradient view, per step and per parameter."""
    parts: dict = {}
    loss = binary_subtraction(parts)
    states = list(parts["output"].parents)  # output = stack(s_1, ..., s_4): the states themselves
    pre = [s.parents[0] for s in states]  # s_t = tanh(h_t)
    grads = mg.gradients(loss, [*parts["losses"], *parts["zs"], *states, *pre], retain_graph=True)
    d_loss, d_z, d_s, d_h = grads[:4], grads[4:8], grads[8:12], grads[12:]
    loss.backward()
    print("13 - 6 = 7, ‖grad‖ = ‖d(loss)/d(node)‖ as the gradient view draws it")
    print(" t   loss_t   z_t      |σ(z_t) - y_t|   s_t      h_t")
    for t in range(4):
        z = parts["zs"][t].item()
        miss = abs(1 / (1 + np.exp(-z)) - parts["y"][t])
        print(f" {t + 1}   {np.linalg.norm(d_loss[t]):.1e}  {np.linalg.norm(d_z[t]):.1e}  {miss:.1e}          "
              f"{np.linalg.norm(d_s[t]):.1e}  {np.linalg.norm(d_h[t]):.1e}")
    rnn, head = parts["rnn"], parts["head"]
    print("parameters: " + "   ".join(f"{p.name} {np.linalg.norm(p.grad):.1e}" for p in (
        head.weight, rnn.weight_ih_l0, rnn.weight_hh_l0)))


# --- (c, d, and a big graph) what `minigrad graph ...` draws --------------------------------


def graph_command(command: str, name: str) -> None:
    """Draw what ``minigrad graph ARGS`` draws: run the command line itself."""
    status = cli.main(["graph", *command.split(), "-o", str(OUT / name)])
    if status:
        raise SystemExit(status)


def at_initialisation(steps: int = 50, hidden_size: int = 32, seed: int = 0) -> None:
    """The rnn and lstm of the gradflow run at initialisation (same seed, same probe batch):
    how fast ‖∂L/∂h_t‖ shrinks per step back, and what each step multiplies the gradient by."""
    from minigrad.gradflow import RememberFirst, remember_first_data

    for cell in ("rnn", "lstm"):
        mg.manual_seed(seed)  # as run_experiment does: the model first, then the probe batch
        rng = np.random.default_rng(seed)
        model = RememberFirst(cell, steps, hidden_size)
        x, target = remember_first_data(rng, 32, steps)
        flow = model.flow(x, target)
        ratio = flow[0] / flow[-1]
        print(f"{cell} at initialisation: ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = {ratio:.1e}, "
              f"{ratio ** (1 / (steps - 1)):.2f} per step back")
        with mg.no_grad():
            if cell == "rnn":  # Jacobian diag(1 - s_t²)·Wᵀ
                states, _ = model.rnn(mg.tensor(x))
                weight = model.rnn.weight_hh_l0.data
                radius = np.abs(np.linalg.eigvals(weight)).max()
                slope = np.mean(1 - states.data**2)
                print(f"  largest singular value of W {np.linalg.norm(weight, 2):.2f}")
                print(f"  largest |eigenvalue| of W {radius:.2f} × mean of 1 - s_t² {slope:.2f} = {radius * slope:.2f}")
            else:  # the cell-state path multiplies by the forget gate f_t
                lstm = model.rnn.cells[0]
                state, forget = lstm.init_state(len(x)), []
                for t in range(steps):
                    x_t = mg.tensor(x[:, t])
                    gates = mg.nn.linear(x_t, lstm.weight_ih, lstm.bias_ih) + mg.nn.linear(
                        state[0], lstm.weight_hh, lstm.bias_hh)
                    forget.append(mg.split(gates, hidden_size, axis=1)[1].sigmoid().data)
                    _, state = lstm(x_t, state)
                print(f"  mean forget gate f_t {np.mean(forget):.2f}")


# --- what each picture holds, counted: the node lists the page quotes ----------------------


def shape_label(node: mg.Tensor) -> str:
    """A node as the picture labels it: its op (or "constant") and shape, and its name if it has one."""
    label = f"{node.op or 'constant'} {shape_text(node)}"
    name = display_name(node)
    return f"{label} ({name})" if name else label


def node_listing(loss: mg.Tensor, steps_shown: int = 1) -> None:
    """Print what the unrolled picture of ``loss`` holds, with the labels the picture gives:
    the parameters, the nodes outside every step's box, the boxes, and the nodes of the first
    ``steps_shown`` boxes of each layer and direction in the order they were made. Constants
    and parameters are the picture's too; an op is counted as the picture counts ops (a
    parameter's transpose is drawn as the parameter itself)."""
    nodes = collect(loss)
    drawn = [n for n in nodes if not (n.op == "transpose" and kind(n.parents[0]) == "parameter")]
    boxes: dict = {}
    outside = []
    for node in drawn:
        key = step_key(node)
        (boxes.setdefault(key, []) if key is not None else outside).append(node)
    parameters = [n for n in outside if kind(n) == "parameter"]
    print(f"{sum(kind(n) == 'op' for n in drawn)} ops in {len(boxes)} step boxes and outside them")
    print("parameters: " + ", ".join(f"{p.name} {shape_text(p)}" for p in parameters))
    rest = [n for n in outside if kind(n) != "parameter"]
    print("outside every box: " + ", ".join(shape_label(n) for n in rest))
    shown: dict = {}
    several = len({key[:2] for key in boxes}) > 1  # label boxes with their layer and direction too
    for key in sorted(boxes, key=box_order):
        members = boxes[key]
        group = key[:2]
        shown[group] = shown.get(group, 0) + 1
        ops = sum(kind(n) == "op" for n in members)
        label = f"t = {key.step}" + (f" · layer {key.layer} · {key.direction}" if several else "")
        if shown[group] <= steps_shown:
            print(f"{label}, {ops} ops: " + ", ".join(shape_label(n) for n in members))
        else:
            print(f"{label}, {ops} ops")
    between = sum(
        1 for n in drawn for p in n.parents
        if (a := step_key(p)) is not None and (b := step_key(n)) is not None and a != b
    )
    print(f"edges from one box into another (red): {between}")


def collapsed_counts(loss: mg.Tensor, max_nodes: int) -> None:
    """What the collapsed picture says: its title (the op count against ``max_nodes``) and each
    step box's count, as ``mg.viz.draw`` computes them."""
    nodes = collect(loss)
    ops = sum(kind(n) == "op" and not (n.op == "transpose" and kind(n.parents[0]) == "parameter") for n in nodes)
    print(f"max_nodes {max_nodes}; the picture has {ops} ops, so each time step is drawn as one node")
    per_step: dict = {}
    for node in nodes:
        if (key := step_key(node)) is not None and node.op:
            per_step.setdefault(key, Counter())[node.op] += 1
    runs: list[tuple[list[int], Counter]] = []  # consecutive steps with the same ops, printed once
    for key in sorted(per_step, key=box_order):
        if runs and runs[-1][1] == per_step[key]:
            runs[-1][0].append(key.step)
        else:
            runs.append(([key.step], per_step[key]))
    for steps, counts in runs:
        which = f"t = {steps[0]}" if len(steps) == 1 else f"t = {steps[0]} to {steps[-1]}, each"
        print(f"{which}: {sum(counts.values())} ops, " + ", ".join(f"{op} ×{n}" for op, n in sorted(counts.items())))
    outside = sum(1 for n in nodes if n.op and step_key(n) is None)
    print(f"outside the steps: {outside} ops")


def boxes_left_to_right(svg: Path) -> None:
    """The step boxes of each row of a rendered picture, in the order Graphviz placed them,
    left to right (a box's title is the cluster's name: cluster_step_l{layer}_{direction}_t{step})."""
    text = svg.read_text(encoding="utf-8")
    found = re.findall(r"<title>cluster_step_l(\d+)_(\w+?)_t(\d+)</title>\s*<path[^>]*d=\"M([-\d.]+)", text)
    found += re.findall(r"<title>cluster_step_l(\d+)_(\w+?)_t(\d+)</title>\s*<polygon[^>]*points=\"([-\d.]+)", text)
    rows: dict = {}
    for layer, direction, step, x in found:
        rows.setdefault((int(layer), direction), []).append((float(x), int(step)))
    for (layer, direction), boxes in sorted(rows.items()):
        order = ", ".join(f"t = {step}" for _, step in sorted(boxes))
        print(f"left to right in the picture, layer {layer} · {direction}: {order}")


def graph_listing(command: str, name: str, collapsed: bool = False, picture: str | None = None) -> None:
    """The listing of what ``minigrad graph ARGS`` draws, the loss rebuilt as the command builds
    it; ``collapsed``: the counts of the collapsed view (at the command's --max-nodes);
    ``picture``: the rendered SVG whose step boxes to list left to right."""
    args = cli.build_parser().parse_args(["graph", *command.split(), "-o", "unused.svg"])
    loss = cli.example("graph", args, cli.FORMATS)()
    with transcript(name):
        print(f"$ minigrad graph {command}")
        if collapsed:
            collapsed_counts(loss, args.max_nodes)
        else:
            node_listing(loss)
        if picture:
            boxes_left_to_right(OUT / picture)


def main() -> None:
    parser = argparse.ArgumentParser(description="Every picture and transcript of docs/unrolling.md.")
    parser.add_argument("--no-training", action="store_true",
                        help="leave out section 7's gradflow run (it trains three cells), keep its files")
    options = parser.parse_args()
    start = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)

    save(mg.viz.draw(echo_rnn()), "echo_unrolled.svg")
    save(mg.viz.draw(echo_rnn(), folded=True), "echo_folded.svg")

    save(mg.viz.draw(binary_subtraction()), "subtraction_unrolled.svg")
    save(mg.viz.draw(binary_subtraction(), folded=True), "subtraction_folded.svg")
    save(mg.viz.draw(binary_subtraction(), grad=True), "subtraction_grad.svg")
    with transcript("subtraction_grad.txt"):
        subtraction_gradients()
    with transcript("subtraction_nodes.txt"):
        node_listing(binary_subtraction())

    graph_command("lstm --steps 3", "lstm_unrolled.svg")
    graph_command("lstm --steps 3 --folded", "lstm_folded.svg")
    graph_listing("lstm --steps 3", "lstm_nodes.txt")
    graph_command("rnn --steps 3 --layers 2 --bidirectional", "bidirectional.svg")
    graph_listing("rnn --steps 3 --layers 2 --bidirectional", "bidirectional_nodes.txt", picture="bidirectional.svg")
    graph_command("lstm --steps 16", "lstm_collapsed.svg")
    graph_listing("lstm --steps 16", "lstm_collapsed.txt", collapsed=True)

    if options.no_training:
        print(f"\n{time.perf_counter() - start:.1f} s")
        return
    # (e) gradient flow: the command line itself, which prints its table
    flow = ["gradflow", "--steps", "50", "--iterations", "300", "--quiet", "-o"]
    with transcript("gradflow.txt"):
        print("$ minigrad", *flow, "docs/images/unrolling/gradflow.png")
        status = cli.main([*flow, str(OUT / "gradflow.png")])
    if status:
        raise SystemExit(status)
    with transcript("at_initialisation.txt"):
        at_initialisation()
    print(f"\n{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
