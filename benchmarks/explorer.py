"""The explorer at scale: a 200-step LSTM's page, its size, the time to write it and to open it.

    .venv/bin/python benchmarks/explorer.py [--opens N]        (needs dot, playwright and chromium)

Two pages, each past the node budget (300 ops), so each time step is one box:
- ``minigrad explore lstm --steps 200 --input-size 2``: the command, run in this process
  (its example built, forward, backward, laid out by dot, written);
- ``mg.nn.LSTM(2, 3)`` on one sequence of 200 steps, the loss the squared last output:
  ``mg.viz.explore(loss, path)`` alone (the forward pass is built before the clock starts).
Each page is then opened from disk in headless Chromium the way the browser tests open it
(tests/browser.py: Debian's chromium through Playwright, the network blocked, a console error
fails), a fresh tab each time, timed from ``goto`` until ``window.minigradExplorer.ready``;
the median of ``--opens`` opens. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

import minigrad as mg
from minigrad import cli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import CHROMIUM_ARGS, Session  # the browser tests' set-up, shared

STEPS = 200


def command_page(path: Path) -> float:
    """Seconds to run ``minigrad explore lstm --steps 200 --input-size 2 -o path``."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # its "wrote ..." line: the table says it
        status = cli.main(["explore", "lstm", "--steps", str(STEPS), "--input-size", "2", "-o", str(path)])
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"minigrad explore failed with status {status}")
    return seconds


def module_page(path: Path) -> float:
    """Seconds for ``mg.viz.explore`` on mg.nn.LSTM(2, 3), batch 1, 200 steps, loss on the last output."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3)
    x = mg.tensor(np.random.default_rng(0).normal(size=(1, STEPS, 2)), name="x")
    output, _ = lstm(x)
    loss = (output[:, -1] ** 2).sum()
    loss.name = "loss"
    start = time.perf_counter()
    mg.viz.explore(loss, path)
    return time.perf_counter() - start


def open_seconds(browser, path: Path, opens: int) -> tuple[float, int]:
    """The median seconds from opening ``path`` to the explorer being ready, and its backward steps."""
    times = []
    for _ in range(opens):
        session = Session(browser)
        start = time.perf_counter()
        page = session.open(path)
        times.append(time.perf_counter() - start)
        steps = page.evaluate("window.minigradExplorer.trace.backward_order.length")
        session.check()
        session.close()
    return statistics.median(times), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=5, help="times each page is opened (default 5)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for what, make in (
            (f"`minigrad explore lstm --steps {STEPS} --input-size 2`", command_page),
            (f"`mg.nn.LSTM(2, 3)`, batch 1, {STEPS} steps, loss on the last output", module_page),
        ):
            path = Path(folder) / "page.html"
            write = make(path)
            opened, steps = open_seconds(browser, path, args.opens)
            rows.append((what, path.stat().st_size / 1e6, write, opened, steps))
        browser.close()
    print(f"| page | size (MB) | write (s) | open until ready (s, median of {args.opens}) | backward steps |")
    print("|---|---:|---:|---:|---:|")
    for what, size, write, opened, steps in rows:
        print(f"| {what} | {size:.2f} | {write:.2f} | {opened:.2f} | {steps} |")


if __name__ == "__main__":
    main()
