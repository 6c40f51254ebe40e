"""What mg.jit records for one RNN training step, and what a replay of it runs: the two
lists docs/jit.md includes.

A one-layer tanh RNN (input 2, hidden 3) over T = 2 steps, batch 1, the MSE of the last
state, backward(). The script records the step and prints the recording as a program: the
forward's array calls in order, then the backward walk's instructions. It then calls the
step with other values (the trial, which lowers the recording onto buffers) and prints the
plan every later call runs: one NumPy call per line, each writing into a buffer of its own.

    .venv/bin/python docs/scripts/jit_recording.py   # writes docs/images/jit/recording.txt, plan.txt
"""

from functools import partial
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.io import write_atomically
from minigrad.jit import BACK, CALL, LEAF, SEED, WALK

OUT = Path(__file__).resolve().parent.parent / "images" / "jit" / "recording.txt"
PLAN_OUT = OUT.with_name("plan.txt")


def main() -> None:
    mg.manual_seed(0)
    layer = mg.nn.RNN(2, 3)
    names = {id(p): name for name, p in layer.named_parameters()}

    def step(x, y):
        layer.zero_grad()
        output, _ = layer(x)
        loss = mg.nn.mse_loss(output[:, -1], y)
        loss.backward()
        return loss

    jitted = mg.jit(step)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 2))  # (batch, time steps, input)
    y = rng.normal(size=(1, 3))
    jitted(mg.tensor(x), y)
    program = next(iter(jitted.entries.values())).program
    batch, steps, _ = x.shape
    header = (f"a one-layer tanh RNN: input size {layer.input_size}, hidden size {layer.hidden_size}, "
              f"{steps} time steps, batch {batch}; the loss is the MSE of the last state")  # fmt: skip

    label = {0: "x", 1: "y"}
    for slot, t in program.live:
        label[slot] = names.get(id(t), "live")
    for slot, array in program.constants:
        label[slot] = f"const{array.shape}" if array.size > 1 else f"const {array.item():g}"
    for slot, source in program.copies:
        label[slot] = f"copy of {label[source]}"
    lines = ["forward (each line: one call of a primitive's forward on arrays):"]
    walk_lines: list[str] = []
    for index, (forward, ins, params, outs) in enumerate(program.ops):
        out_slots = outs if type(outs) is tuple else (outs,)
        for p, slot in enumerate(out_slots):
            label[slot] = f"v{index}" + (f".{p}" if len(out_slots) > 1 else "")
        shown = {k: v for k, v in params.items() if not isinstance(v, np.ndarray)}
        extra = "".join(f", {k}={v!r}" for k, v in shown.items())
        lines.append(f"  op {index:2}: {', '.join(label[s] for s in out_slots)} = "
                     f"{forward.__name__}({', '.join(label[s] for s in ins)}{extra})")  # fmt: skip
    walk_order: list[int] = []  # op indices in the order the backward walk runs them
    for event in program.events:
        if event[0] == CALL:
            lines.insert(0, f"call: {event[1].__qualname__}()")
        if event[0] != WALK:
            continue
        walk_lines.append("backward walk (each line: one instruction):")
        for instruction in event[1]:
            if instruction[0] == SEED:
                # the loss is the output of the op whose BACK instruction starts at the root
                root = next(i[1] for i in event[1] if i[0] == BACK and i[2] == instruction[1])
                walk_lines.append(f"  v{root} (the loss) receives 1, the seed")
            elif instruction[0] == BACK:
                _, index, _, joint, sends = instruction
                walk_order.append(index)
                who = f"op {index}'s backward"
                given = "the gradients of all its outputs" if joint else "its output's gradient"
                ins = program.ops[index][1]
                to = ", ".join(label[ins[k]] for k, _, _ in sends) or "nothing"
                walk_lines.append(f"  {who}({given}) -> add to what {to} received")
            elif instruction[0] == LEAF:
                where, ref = instruction[2]
                name = names.get(id(ref), "input") if where == "live" else "x"
                walk_lines.append(f"  {name}.grad = what {name} received")
    lines += walk_lines
    lines.append(f"{len(program.ops)} forward calls, {sum(len(e[1]) for e in program.events if e[0] == WALK)} "
                 "walk instructions")  # fmt: skip
    lines.append(cell_copies(program, label, names, walk_order))
    text = header + "\n" + "\n".join(lines) + "\n"
    print(text, end="")
    write_atomically(OUT, text.encode())
    print(f"wrote {OUT}")

    jitted(mg.tensor(x + 1), y)  # the trial: lowered, replayed, compared with eager
    assert jitted.replays == 0 and next(iter(jitted.entries.values())).trusted
    plan_text = plan_listing(program, names) + "\n"
    print(plan_text, end="")
    write_atomically(PLAN_OUT, plan_text.encode())
    print(f"wrote {PLAN_OUT}")


def plan_listing(program, names: dict) -> str:
    """The lowered plan: every kernel as the NumPy call it makes, arrays named by their memory."""
    plan = program.plan
    known = {id(plan.inputs[0]): "x", id(plan.inputs[1]): "y"}
    known |= {id(t.data): names.get(id(t), "live") for _, t in program.live}
    known |= {id(array): f"const{array.shape}" for _, array in program.constants}
    blocks: dict[int, str] = {}  # id of the array owning some memory -> m0, m1, ...

    def name(a) -> str:
        if id(a) in known:
            return known[id(a)]
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        block = known.get(id(root)) or blocks.setdefault(id(root), f"m{len(blocks)}")
        if a.ndim == 2 and a.shape == root.shape[::-1] and a.strides == root.strides[::-1] != root.strides:
            return f"{block}.T"
        start = (a.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // a.itemsize
        if a.shape == root.shape and start == 0:
            return block
        return f"{block}[{'x'.join(map(str, a.shape)) or '()'}" + (f" at {start}]" if start else "]")

    def shown(value) -> str:
        if isinstance(value, np.ndarray):
            return name(value)
        if type(value) in (list, tuple):
            return "[" + ", ".join(shown(v) for v in value) + "]"
        return repr(value)

    lines = []
    for kernel in plan.kernels:
        func = kernel.func if type(kernel) is partial else kernel
        owner = getattr(func, "__self__", None)
        if type(kernel) is not partial:
            lines.append(f"  {func.__qualname__}  (an op with no lowering: its own forward, copied in)")
        elif func.__name__ == "_to_leaf":
            where, ref, g = kernel.args
            leaf = names.get(id(ref), "x") if where == "live" else "x"
            lines.append(f"  {leaf}.grad = copy of {name(g)}")
        elif func.__name__ == "_product_to_leaf":
            where, ref, left, right = kernel.args
            leaf = names.get(id(ref), "x") if where == "live" else "x"
            lines.append(f"  {leaf}.grad = np.matmul({name(left)}, {name(right)})  (a new array, no copy)")
        elif isinstance(owner, np.ndarray):
            lines.append(f"  {name(owner)}.{func.__name__}({', '.join(map(shown, kernel.args))})")
        elif owner is not None and not isinstance(owner, np.ufunc):
            lines.append(f"  {type(owner).__name__}.{func.__name__}()")
        elif isinstance(func, np.ufunc) and "out" not in kernel.keywords:
            *ins, out = kernel.args
            lines.append(f"  np.{func.__name__}({', '.join(map(shown, ins))}, out={name(out)})")
        else:
            keywords = {k: v for k, v in kernel.keywords.items() if k != "out"}
            arguments = [*map(shown, kernel.args), *(f"{k}={shown(v)}" for k, v in keywords.items())]
            out = kernel.keywords.get("out")
            into = f", out={name(out)}" if out is not None else ""
            lines.append(f"  np.{func.__name__}({', '.join(arguments)}{into})")
    head = (f"the plan a replay runs: {len(plan.kernels)} NumPy calls on {len(blocks)} blocks of memory "
            "(m0, m1, ...), allocated once; m3[1x3 at 6] is a 1x3 view of m3 from its element 6")  # fmt: skip
    return "\n".join([head, *lines])


def cell_copies(program, label: dict, names: dict, walk_order: list[int]) -> str:
    """One line naming the ops of the cell's copies: each op that reads weight_hh_l0, and the op
    that reads its result (the activation); then the order in which the walk runs them."""
    hh = next(slot for slot, t in program.live if names.get(id(t)) == "weight_hh_l0")
    reads_hh = [i for i, (_, ins, _, _) in enumerate(program.ops) if hh in ins]
    copies = []
    for i in reads_hh:
        out = program.ops[i][3]
        after = next(j for j, (_, ins, _, _) in enumerate(program.ops) if out in ins)
        copies.append((i, after))
    ops = sorted(k for pair in copies for k in pair)
    shown = ", ".join(f"ops {i} and {j}" for i, j in copies)
    walked = ", ".join(str(i) for i in walk_order if i in ops)
    return (f"the cell, once per time step ({len(copies)} copies, each reading {label[hh]}): {shown}; "
            f"ops {ops[0]} to {ops[-1]}, walked in the order {walked}")


if __name__ == "__main__":
    main()
