"""mg.jit against eager minigrad and the hand-written floor (benchmarks/baselines.py).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/jit.py [--hidden 128 512] [--cells rnn lstm gru]

The training step is benchmarks/run.py's: forward through a one-layer recurrent layer (T=32,
input 8), the MSE of the last step's output, backward through time, the gradients read.
Each configuration times the floor, eager minigrad and the jitted step alternately in one
process (run.py's ``alternate``: the median of rounds) and prints their ratios to the floor.
The jitted step's gradients are checked bit-identical to eager's first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import minigrad as mg

sys.path.insert(0, str(Path(__file__).parent))
from run import INPUT, alternate, blas_threads, floor_for, minigrad_step  # noqa: E402

STEPS = 32


def jitted_step(layer: mg.nn.Module, x: np.ndarray, y: np.ndarray):
    """The same step as run.py's, through mg.jit, warmed up until it replays."""
    x_tensor = mg.tensor(x)

    def step(inputs: mg.Tensor) -> None:
        layer.zero_grad()
        output, _ = layer(inputs)
        mg.nn.mse_loss(output[:, -1], y).backward()

    jitted = mg.jit(step)
    jitted(x_tensor)
    jitted(mg.tensor(x + 1))  # other values: the trial replay, compared with eager
    jitted(x_tensor)
    assert jitted.replays == 1, "the step does not replay"

    def run() -> dict:
        jitted(x_tensor)
        return {name: p.grad for name, p in layer.named_parameters()}

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    parser.add_argument("--hidden", nargs="+", type=int, default=[128])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per configuration (more for H512)")
    args = parser.parse_args()
    print(f"NumPy {np.__version__} ({blas_threads()}); T={STEPS}, input {INPUT}")
    print("| cell | dtype | batch | hidden | floor ms | eager / floor | jit / floor | jit / eager |")
    print("|---|---|---|---|---|---|---|---|")
    for cell in args.cells:
        for hidden in args.hidden:
            for batch in args.batch:
                for dtype in (np.float32, np.float64):
                    rng = np.random.default_rng(0)
                    x = rng.normal(size=(batch, STEPS, INPUT)).astype(dtype)
                    y = rng.normal(size=(batch, hidden)).astype(dtype)
                    eager, layer = minigrad_step(cell, x, y, dtype)
                    expected = {k: v.copy() for k, v in eager().items()}
                    replay = jitted_step(layer, x, y)
                    for name, grad in replay().items():
                        assert grad.tobytes() == expected[name].tobytes(), f"{cell}: jit's {name} differs from eager's"
                    floor = floor_for(cell, layer, x, y)
                    budget = args.budget * (3 if hidden >= 512 else 1)
                    floor_s, eager_s, jit_s = alternate([floor.step, eager, replay], budget=budget)
                    print(f"| {cell} | {np.dtype(dtype).name} | {batch} | {hidden} | {floor_s * 1e3:.2f} | "
                          f"{eager_s / floor_s:.2f}x | **{jit_s / floor_s:.2f}x** | {jit_s / eager_s:.2f}x |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
