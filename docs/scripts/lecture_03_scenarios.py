"""The lecture's table of parameters per scenario, with what minigrad's tasks do beside it, for page 3.

    .venv/bin/python docs/scripts/lecture_03_scenarios.py        (or: make docs-images)

The lecture's table (不同场景下的循环神经网络参数) has one column per problem: the echo, binary
subtraction and PM2.5. For each, this script builds minigrad's task (`echo`,
`binary-subtraction`, `pm25 --mode classify`: the lecture's PM2.5 network classifies) and reads
its answers from the code, not from its documentation: the steps and batch size from its
default configuration, where the outputs are from the shape the model returns, the loss (and
with it the kind of output and the function applied to it) from the loss function the task
calls, the biases from the model's parameters. Writes docs/images/03/scenarios.txt, a
Markdown table.
"""

import contextlib
import os
from pathlib import Path
from unittest import mock

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: one BLAS thread, on a shared machine

import numpy as np

import minigrad as mg
from minigrad.io import write_atomically

OUT = Path(__file__).resolve().parent.parent / "images" / "03" / "scenarios.txt"

# The lecture's table, row by row: (row, echo, binary subtraction, PM2.5), as it prints them.
LECTURE = [
    ("时间步 (time steps)", "2", "4", "用户指定参数 (set by the user)"),
    ("网络输出类别 (kind of output)", "回归 (regression)", "二分类 (two classes)", "多分类 (several classes)"),
    ("分类函数 (classification function)", "无 (none)", "Logistic函数", "Softmax函数"),
    (
        "损失函数 (loss)",
        "均方差 (mean squared error)",
        "二分类交叉熵 (binary cross-entropy)",
        "多分类交叉熵 (cross-entropy)",
    ),
    ("时间步输出 (outputs at)", "最后一个 (the last step)", "每一个 (every step)", "最后一个 (the last step)"),
    ("批大小 (batch size)", "1", "1", "用户指定参数 (set by the user)"),
    ("有无偏移值 (biases)", "有 (yes)", "无 (no)", "有 (yes)"),
]
TASKS = [("echo", {}), ("binary-subtraction", {}), ("pm25", {"mode": "classify"})]
LOSSES = {  # the loss function a task calls -> (kind of output, function on the output, loss)
    "mse_loss": ("regression", "none", "mean squared error (`mse_loss`)"),
    "bce_with_logits": ("two classes", "logistic σ, inside the loss", "binary cross-entropy (`bce_with_logits`)"),
    "cross_entropy": ("{classes} classes", "softmax, inside the loss", "cross-entropy (`cross_entropy`)"),
}


def loss_called(task: mg.Task, model: mg.nn.Module, batch) -> str:
    """The name of the loss function in mg.nn that ``task.loss`` calls on ``batch``."""
    called = []

    def recording(name):
        real = getattr(mg.nn, name)

        def loss(*args, **kwargs):
            called.append(name)
            return real(*args, **kwargs)

        return loss

    # The tasks look the loss up as mg.nn.NAME when they call it, so a stand-in there sees the call.
    with contextlib.ExitStack() as stack:
        for name in LOSSES:
            stack.enter_context(mock.patch.object(mg.nn, name, recording(name)))
        task.loss(model, batch)
    assert len(called) == 1, called
    return called[0]


def describe(name: str, options: dict) -> list[str]:
    """minigrad's answers to the lecture's seven rows, for one task."""
    Task = mg.tasks()[name]
    task = Task(Task.Config(**options))
    model = task.build_model()
    data = task.make_data(np.random.default_rng(0))
    x, y = (part[:2] for part in data["train"])
    output = model(mg.tensor(x))
    kind, function, loss = LOSSES[loss_called(task, model, (x, y))]
    config = task.config
    option_note = {"steps": " (`--steps`)", "batch_size": " (`--batch-size`)"}
    biases = [key for key, _ in model.named_parameters() if "bias" in key]
    return [
        f"{config.steps}" + (option_note["steps"] if name != "binary-subtraction" else " (fixed by the data)"),
        kind.format(classes=output.shape[-1]),
        function,
        loss,
        "every step" if output.ndim == 3 else "the last step",
        f"{config.batch_size}" + option_note["batch_size"],
        "yes" if biases else "no",
    ]


def table() -> str:
    ours = [describe(name, options) for name, options in TASKS]
    header = (
        "| | echo: the lecture | `echo` | subtraction: the lecture | `binary-subtraction` "
        "| PM2.5: the lecture | `pm25 --mode classify` |"
    )
    lines = [header, "|---" * 7 + "|"]
    for index, (row, *lecture) in enumerate(LECTURE):
        cells = [cell for pair in zip(lecture, (column[index] for column in ours)) for cell in pair]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    text = table()
    print(text, end="")
    write_atomically(OUT, text.encode("utf-8"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
