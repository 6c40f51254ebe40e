"""The shapes and gate blocks that docs/lecture/notation.md quotes, computed, into docs/images/notation/shapes.txt.

    .venv/bin/python docs/scripts/notation_shapes.py        (or: make docs-images)

For each built-in cell: the parameters of a one-layer ``mg.nn.Recurrent`` with their
names and shapes (PyTorch's), the lecture's U and W as their transposes, and which rows of
``weight_ih`` each gate block takes. Then the claim behind those rows is checked: one step
computed in NumPy from the lecture's row-vector equations, with U_i = rows of ``weight_ih``
transposed and so on, against the cell's own step. A difference at rounding level means the
blocks are where the page says.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

import minigrad as mg

DOCS = Path(__file__).resolve().parent.parent
OUT = DOCS / "images" / "notation" / "shapes.txt"
INPUT, HIDDEN, OUTPUTS, BATCH = 2, 3, 1, 4  # small, so that every shape differs from the others

# Each cell's gate blocks, in the order its code stacks the rows of weight_ih and weight_hh.
BLOCKS = {"rnn": ["h"], "lstm": ["i", "f", "g", "o"], "gru": ["r", "z", "n"], "gru-textbook": ["r", "z", "n"]}


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def lecture_step(cell: str, x: np.ndarray, s: np.ndarray, c: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """One step in the lecture's row notation, from the PyTorch-layout parameters ``p``.

    U_k and W_k are block k of weight_ih and weight_hh transposed; b_k is the sum of the
    block's two biases (PyTorch's GRU keeps b_hn inside the reset gate's product)."""
    H = HIDDEN
    U = {k: p["weight_ih"][j * H:(j + 1) * H].T for j, k in enumerate(BLOCKS[cell])}
    W = {k: p["weight_hh"][j * H:(j + 1) * H].T for j, k in enumerate(BLOCKS[cell])}
    b_ih = {k: p["bias_ih"][j * H:(j + 1) * H] for j, k in enumerate(BLOCKS[cell])}
    b_hh = {k: p["bias_hh"][j * H:(j + 1) * H] for j, k in enumerate(BLOCKS[cell])}
    b = {k: b_ih[k] + b_hh[k] for k in BLOCKS[cell]}
    if cell == "rnn":  # h_t = x_t·U + s_{t-1}·W + b_u,  s_t = tanh(h_t)
        return np.tanh(x @ U["h"] + s @ W["h"] + b["h"])
    if cell == "lstm":
        i, f, g, o = (x @ U[k] + s @ W[k] + b[k] for k in "ifgo")
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c)
    r = sigmoid(x @ U["r"] + s @ W["r"] + b["r"])
    z = sigmoid(x @ U["z"] + s @ W["z"] + b["z"])
    if cell == "gru":  # PyTorch's: r after the product, z keeps the old state
        n = np.tanh(x @ U["n"] + b_ih["n"] + r * (s @ W["n"] + b_hh["n"]))
        return (1 - z) * n + z * s
    n = np.tanh(x @ U["n"] + (r * s) @ W["n"] + b["n"])  # the textbook's: r before the product, z on h̃
    return (1 - z) * s + z * n


def describe(cell: str, rng: np.random.Generator) -> None:
    mg.manual_seed(0)
    layer = mg.nn.Recurrent(cell, INPUT, HIDDEN)
    print(f"{cell}: mg.nn.Recurrent({cell!r}, input_size={INPUT}, hidden_size={HIDDEN})")
    for name, parameter in layer.named_parameters():
        print(f"  {name:<13} {'×'.join(map(str, parameter.shape)):>6}")
    rows = ", ".join(f"{k} rows {j * HIDDEN}–{(j + 1) * HIDDEN - 1}" for j, k in enumerate(BLOCKS[cell]))
    print(f"  weight_ih_l0 and weight_hh_l0, block by block: {rows}")
    U, W = layer.weight_ih_l0.data.T, layer.weight_hh_l0.data.T
    print(f"  the lecture's U = weight_ih_l0.T is {U.shape[0]}×{U.shape[1]}, W = weight_hh_l0.T is {W.shape[0]}×{W.shape[1]}")

    one = layer.cells[0]
    x, s, c = rng.normal(size=(BATCH, INPUT)), rng.normal(size=(BATCH, HIDDEN)), rng.normal(size=(BATCH, HIDDEN))
    state = (mg.tensor(s), mg.tensor(c)) if cell == "lstm" else mg.tensor(s)
    with mg.no_grad():
        output, _ = one(mg.tensor(x), state)
    parameters = {name: value.data for name, value in one.named_parameters()}
    difference = np.abs(lecture_step(cell, x, s, c, parameters) - output.data).max()
    print(f"  one step from the equations with these blocks, against the cell: max |difference| {difference:.1e}")


def main() -> None:
    rng = np.random.default_rng(0)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    kept = io.StringIO()
    with contextlib.redirect_stdout(kept):
        for cell in BLOCKS:
            describe(cell, rng)
        mg.manual_seed(0)
        head = mg.nn.Linear(HIDDEN, OUTPUTS)
        V = head.weight.data.T
        print(f"output layer: mg.nn.Linear({HIDDEN}, {OUTPUTS})")
        print(f"  weight {'×'.join(map(str, head.weight.shape)):>6}   the lecture's V = weight.T is {V.shape[0]}×{V.shape[1]}")
        print(f"  bias   {'×'.join(map(str, head.bias.shape)):>6}   the lecture's b_v")
    text = kept.getvalue()
    print(text, end="")
    temporary = OUT.with_name(f".{OUT.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, OUT)  # a reader never sees half a file
    print(f"wrote {OUT.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
