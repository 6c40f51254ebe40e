"""What every numbered example shares: its two options, and how it saves pictures and text.

    python examples/03_echo_and_subtraction.py                 # pictures in out/examples/03/
    python examples/03_echo_and_subtraction.py --out DIR        # pictures in DIR (make docs-images: docs/images/03)
    python examples/03_echo_and_subtraction.py --smoke          # seconds, not a minute: for CI

``--smoke`` (or the environment variable MINIGRAD_SMOKE=1) shortens training. The
pictures are still drawn, so a smoke run checks that every picture can be made.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt  # noqa: E402

import minigrad as mg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Example:
    """The options of one example script, and the folder its pictures go to."""

    def __init__(self, number: int, description: str):
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument(
            "--out", type=Path, default=ROOT / "out" / "examples" / f"{number:02d}",
            help=f"folder for the pictures (default out/examples/{number:02d})",
        )
        parser.add_argument(
            "--smoke", action="store_true", default=os.environ.get("MINIGRAD_SMOKE") == "1",
            help="train for seconds only (also: MINIGRAD_SMOKE=1)",
        )
        args = parser.parse_args()
        self.out: Path = args.out
        self.smoke: bool = args.smoke
        self.out.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()

    def pick(self, full, smoke):
        """``full`` normally, ``smoke`` under --smoke: a training length, a number of steps."""
        return smoke if self.smoke else full

    def graph(self, picture, name: str) -> None:
        """Write a ``mg.viz.draw`` picture (without Graphviz's dot, svg is drawn in-process: the svg extra)."""
        print(f"wrote {mg.viz.render(picture, self.out / name)}")

    def figure(self, figure, name: str) -> None:
        """Write a matplotlib figure and close it."""
        figure.tight_layout()
        figure.savefig(self.out / name, dpi=100)
        plt.close(figure)
        print(f"wrote {self.out / name}")

    @contextlib.contextmanager
    def transcript(self, name: str):
        """Print as usual, and also keep what is printed in ``name``: the pages quote these files."""
        kept = io.StringIO()

        class Both(io.TextIOBase):
            def write(self, text: str) -> int:
                kept.write(text)
                return sys.__stdout__.write(text)

        with contextlib.redirect_stdout(Both()):
            yield
        (self.out / name).write_text(kept.getvalue(), encoding="utf-8")
        print(f"wrote {self.out / name}")

    def done(self) -> None:
        print(f"done in {time.perf_counter() - self.started:.1f} s{' (--smoke)' if self.smoke else ''}")
