"""The lecture's table 19-1, with the trained echo network's answers beside it, for page 3.

    .venv/bin/python docs/scripts/lecture_03_table_19_1.py        (or: make docs-images)

The lecture's table lists a signal X sent at t1 ... t6 and its echo Y, received one second
later. This script trains the `echo` task with its defaults (an RNN of 4 units, windows of two
steps, seed 0: the run of examples/03_echo_and_subtraction.py) and then gives the network the
lecture's own signal, one window (x_{t-1}, x_t) at a time, as the lecture describes it: on
receiving 0.35 and 0.46 the system answers 0.35. At t1 nothing came before, so the window is
(0, x_1): silence, then the first value. Writes docs/images/03/table_19_1.txt, a Markdown table.
"""

import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: one BLAS thread, on a shared machine

import numpy as np

import minigrad as mg
from minigrad.io import write_atomically
from minigrad.train import Trainer

OUT = Path(__file__).resolve().parent.parent / "images" / "03" / "table_19_1.txt"

# 表19-1 每一时刻的发射信号和回波信号, as the lecture prints it
LECTURE_X = [0.35, 0.46, 0.12, 0.69, 0.24, 0.94]  # 发射随机信号X
LECTURE_Y = [0, 0.35, 0.46, 0.12, 0.69, 0.24]  # 接收回波信号Y


def trained_echo() -> tuple[Trainer, dict]:
    """The echo task with its default configuration, trained."""
    Echo = mg.tasks()["echo"]
    trainer = Trainer(Echo(Echo.Config()), progress=False)
    return trainer, trainer.fit()


def answers(model: mg.nn.Module, signal: list[float]) -> np.ndarray:
    """The network's answer at every step: the window (x_{t-1}, x_t), with x_0 = 0."""
    before = np.concatenate([[0.0], signal[:-1]])
    windows = np.stack([before, signal], axis=1)[:, :, None]  # (steps, 2, 1)
    with mg.no_grad():
        return model(mg.tensor(windows)).data[:, 0]


def table(metrics: dict, network: np.ndarray) -> str:
    """The lecture's two rows, our network's row, and the gap between it and Y."""

    def row(label: str, values) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    lines = [
        row("时刻 (time)", [f"t{t}" for t in range(1, len(LECTURE_X) + 1)]),
        row("---", ["---:"] * len(LECTURE_X)),
        row("发射随机信号X (signal sent, the lecture)", [f"{x:g}" for x in LECTURE_X]),
        row("接收回波信号Y (echo received, the lecture)", [f"{y:g}" for y in LECTURE_Y]),
        row("minigrad's echo network", [f"{z:.3f}" for z in network]),
        row("network − Y", [f"{round(z - y, 3) + 0.0:+.3f}" for z, y in zip(network, LECTURE_Y)]),  # + 0.0: no "-0.000"
    ]
    caption = (
        f"The network: the `echo` task's defaults (an RNN of {metrics['hidden_size']} units), trained "
        f"for {metrics['epochs']} epochs; test R² {metrics['r2']:.4f} on fresh signals."
    )
    return "\n".join(lines) + "\n\n" + caption + "\n"


def main() -> None:
    trainer, metrics = trained_echo()
    metrics = {**metrics, "hidden_size": trainer.task.config.hidden_size}
    network = answers(trainer.model, LECTURE_X)
    # The claim the page makes: every answer is within a few hundredths of the lecture's Y.
    assert np.max(np.abs(network - np.array(LECTURE_Y))) < 0.05, network
    text = table(metrics, network)
    print(text, end="")
    write_atomically(OUT, text.encode("utf-8"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
