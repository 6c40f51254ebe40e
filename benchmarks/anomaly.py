"""The cost of ``mg.detect_anomaly()``: one LSTM training step with and without it.

    .venv/bin/python benchmarks/anomaly.py [--rounds N] [--budget SECONDS]

The step is run.py's: an LSTM layer (mg.nn.Recurrent("lstm", ...), which is what mg.nn.LSTM
builds), batch 32, 32 steps, hidden 128; forward, mean squared error of the last step's output,
backward through time; float32 and float64. The two variants are timed back to back in one
process, round after round (which goes first alternates); the times are medians over the
rounds, the ratio the median of each round's ratio: on a shared machine absolute times drift,
a ratio measured together holds.
Prints a markdown table; benchmarks/results.md is written by run.py, not by this script.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import minigrad as mg

sys.path.insert(0, str(Path(__file__).parent))
from run import INPUT, blas_threads, minigrad_step  # noqa: E402

BATCH, STEPS, HIDDEN = 32, 32, 128


def measure(dtype: type, rounds: int, budget: float) -> tuple[float, float, float]:
    """Median seconds of one training step without and with anomaly detection, and the median
    of the ratios measured round by round (the two timed back to back: robust to drift)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, STEPS, INPUT)).astype(dtype)
    y = rng.normal(size=(BATCH, HIDDEN)).astype(dtype)
    step, _ = minigrad_step("lstm", x, y, dtype)

    def checked_step() -> dict:
        with mg.detect_anomaly():
            return step()

    plain, checked = step(), checked_step()  # also the warm-up
    for name in plain:  # the check only reads the arrays: the gradients must not change
        if not np.array_equal(plain[name], checked[name]):
            sys.exit(f"anomaly.py: detect_anomaly changed the gradient of {name}")
    start = time.perf_counter()
    step()
    inner = max(1, int(budget / rounds / 2 / (time.perf_counter() - start)))
    plain_times: list[float] = []
    checked_times: list[float] = []
    pair = [(step, plain_times), (checked_step, checked_times)]
    for round_number in range(rounds):
        for function, times in pair if round_number % 2 == 0 else pair[::-1]:  # neither always goes first
            start = time.perf_counter()
            for _ in range(inner):
                function()
            times.append((time.perf_counter() - start) / inner)
    ratios = np.array(checked_times) / np.array(plain_times)
    return float(np.median(plain_times)), float(np.median(checked_times)), float(np.median(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="rounds of alternate timing (default 9)")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per dtype, all rounds (default 4)")
    args = parser.parse_args()
    if args.rounds < 1 or not args.budget > 0:
        parser.error(f"--rounds must be at least 1 and --budget above 0, got {args.rounds} and {args.budget}")
    print(f"LSTM training step, batch {BATCH}, {STEPS} steps, hidden {HIDDEN}, input {INPUT}; "
          f"median of {args.rounds} alternating rounds; NumPy {np.__version__}, {blas_threads()}\n")  # fmt: skip
    print("| dtype | without | with `mg.detect_anomaly()` | ratio (median of the rounds' ratios) |")
    print("|---|---:|---:|---:|")
    for dtype in (np.float32, np.float64):
        plain, checked, ratio = measure(dtype, args.rounds, args.budget)
        print(f"| {np.dtype(dtype).name} | {plain * 1e3:.2f} ms | {checked * 1e3:.2f} ms | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
