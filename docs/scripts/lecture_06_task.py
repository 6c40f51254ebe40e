"""Remember-the-first-input and the forget gate's start, for docs/lecture/06-lstm-gru.md.

    .venv/bin/python docs/scripts/lecture_06_task.py        (or: make docs-images)

Writes docs/images/06/task.txt: one sequence of the task as examples/06_lstm_gru.py trains it
(minigrad.gradflow.remember_first_data, with the example's number of steps, which this script
checks against the example's transcript), and the forget gate at the start of training,
σ(bias), with PyTorch's biases (near 0) and with the example's forget bias.
"""

import inspect
import re
from pathlib import Path

import numpy as np

from minigrad.gradflow import remember_first_data
from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images" / "06" / "task.txt"
TRANSCRIPT = ROOT / "docs" / "images" / "06" / "gradflow.txt"


def example_settings() -> tuple[int, float]:
    """The number of steps and the forget bias, as the example's transcript states them."""
    text = TRANSCRIPT.read_text(encoding="utf-8")
    steps = int(re.search(r"(\d+) steps", text).group(1))
    bias = float(re.search(r"forget bias ([\d.]+)", text).group(1))
    return steps, bias


def sigmoid(a: float) -> float:
    return 1 / (1 + np.exp(-a))


def describe(steps: int, bias: float) -> str:
    defaults = inspect.signature(remember_first_data).parameters
    names, fillers = defaults["names"].default, defaults["fillers"].default
    x, target = remember_first_data(np.random.default_rng(0), 1, steps)
    words = x[0].argmax(axis=1)  # names are the words 0 ... names - 1, fillers the rest
    assert words[0] < names <= words[1:].min()
    closed, opened = sigmoid(0.0), sigmoid(bias)
    lines = [
        f"{names} names, {fillers} filler words: one-hot vectors of {names + fillers}; chance {1 / names:.2f}",
        f"one sequence of {steps} steps: " + " ".join(str(w) for w in words),
        f"  step 1: name {words[0]}; steps 2 to {steps}: {steps - 1} filler words; the answer: {target[0]}",
        "",
        "the forget gate at the start, f_t = σ(forget bias + small terms), and its product over the fillers:",
        f"  bias ≈ 0 (PyTorch's init)  σ(0) = {closed:.3f}   σ(0)^{steps - 1} = {closed ** (steps - 1):.1e}",
        f"  bias {bias:g} (opened)          σ({bias:g}) = {opened:.3f}   σ({bias:g})^{steps - 1} = {opened ** (steps - 1):.1e}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = describe(*example_settings())
    write_atomically(OUT, text.encode("utf-8"))
    print(text, end="")
    print(f"wrote {OUT.relative_to(ROOT)}")
