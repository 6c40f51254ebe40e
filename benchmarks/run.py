"""minigrad's benchmarks: `make bench`. Never part of `make test`.

Each figure is a ratio against a baseline timed in the same process, alternately,
as the median of repeated runs: absolute times drift on a shared machine, ratios
measured together hold. Writes benchmarks/results.md.
"""

from __future__ import annotations

import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import numpy as np

import minigrad as mg


def median_time(fn: Callable[[], object], repeats: int = 7, inner: int = 200) -> float:
    """Median over `repeats` runs of the mean time of `inner` calls, in seconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return float(np.median(samples))


def per_op_overhead() -> tuple[float, float]:
    """Elementwise add of two 4x4 arrays, forward and backward: minigrad vs NumPy by hand."""
    a_data, b_data = np.random.rand(4, 4), np.random.rand(4, 4)

    def by_hand() -> None:
        out = a_data + b_data
        grad = np.ones_like(out)
        grad_a, grad_b = grad.copy(), grad.copy()  # what backward of add hands each input

    a = mg.tensor(a_data, requires_grad=True)
    b = mg.tensor(b_data, requires_grad=True)

    def with_minigrad() -> None:
        a.grad = b.grad = None
        (a + b).backward(np.ones((4, 4)))

    hand, ours = [], []
    for _ in range(5):  # alternate, so drift hits both alike
        hand.append(median_time(by_hand, repeats=3, inner=2000))
        ours.append(median_time(with_minigrad, repeats=3, inner=2000))
    return float(np.median(hand)), float(np.median(ours))


def long_chain(steps: int = 10_000) -> tuple[float, int]:
    """A 10,000-step tanh recurrence, forward and backward: seconds and peak memory (bytes)."""
    w = mg.tensor(np.random.rand(8, 8) * 0.1, requires_grad=True)
    tracemalloc.start()
    start = time.perf_counter()
    s = mg.tensor(np.zeros((1, 8)))
    for _ in range(steps):
        s = (s @ w + 0.1).tanh()
    s.sum().backward()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def main() -> None:
    hand, ours = per_op_overhead()
    chain_seconds, chain_peak = long_chain()
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {platform.processor() or 'unknown CPU'}; Python {sys.version.split()[0]}; "
        f"NumPy {np.__version__}; minigrad {mg.__version__}.",
        "",
        "| benchmark | baseline | minigrad | ratio |",
        "|---|---|---|---|",
        f"| per-op overhead: 4x4 add, forward + backward | NumPy by hand {hand * 1e6:.2f} µs "
        f"| {ours * 1e6:.2f} µs | {ours / hand:.1f}x |",
        f"| 10,000-step tanh chain (8 units), forward + backward | - | {chain_seconds:.2f} s, "
        f"peak {chain_peak / 2**20:.1f} MiB | - |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    target = Path(__file__).with_name("results.md")
    partial = target.with_suffix(".md.tmp")
    partial.write_text(text)
    partial.replace(target)  # atomic: never a half-written results file


if __name__ == "__main__":
    main()
