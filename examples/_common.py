"""What every numbered example shares: its two options, and how it saves pictures and text.

    python examples/03_echo_and_subtraction.py                 # pictures in out/examples/03/
    python examples/03_echo_and_subtraction.py --out DIR        # pictures in DIR (make docs-images: docs/images/03)
    python examples/03_echo_and_subtraction.py --smoke          # seconds, not a minute: for CI

``--smoke`` (or the environment variable MINIGRAD_SMOKE=1) shortens training. The
pictures are still drawn, so a smoke run checks that every picture can be made.

Each script is also a notebook, notebooks/NN_*.ipynb, built by scripts/notebooks.py (the
``# %%`` lines mark its cells). A notebook has no command line of its own, so in a Jupyter
kernel the options come from the environment only (MINIGRAD_SMOKE=1, MINIGRAD_OUT=DIR), and
every picture is also shown under the cell that draws it.
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


def in_notebook() -> bool:
    """True inside a Jupyter kernel: its command line is the kernel's, and pictures can be shown."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it; a plain script has not
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def default_out(number: int) -> Path:
    """MINIGRAD_OUT if set, else out/examples/NN: relative to the working directory in a notebook,
    so that the paths a stored notebook prints do not name the machine it was built on."""
    if os.environ.get("MINIGRAD_OUT"):
        return Path(os.environ["MINIGRAD_OUT"])
    folder = ROOT / "out" / "examples" / f"{number:02d}"
    if in_notebook():
        with contextlib.suppress(ValueError):  # another drive (Windows): keep it absolute
            return Path(os.path.relpath(folder))
    return folder


def show(path: Path) -> None:
    """In a notebook, show the picture at ``path`` (svg or png) under the running cell; elsewhere nothing."""
    if not in_notebook():
        return
    from IPython.display import SVG, Image, display

    display(SVG(filename=str(path)) if Path(path).suffix == ".svg" else Image(filename=str(path)))


class Example:
    """The options of one example script, and the folder its pictures go to."""

    def __init__(self, number: int, description: str):
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument(
            "--out", type=Path, default=default_out(number),
            help=f"folder for the pictures (default out/examples/{number:02d}, or MINIGRAD_OUT)",
        )
        parser.add_argument(
            "--smoke", action="store_true", default=os.environ.get("MINIGRAD_SMOKE") == "1",
            help="train for seconds only (also: MINIGRAD_SMOKE=1)",
        )
        args = parser.parse_args([] if in_notebook() else None)  # a kernel's argv is not ours
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
        show(self.out / name)

    def show(self, name: str) -> None:
        """Show ``name``, a picture already written into the folder, when running as a notebook."""
        show(self.out / name)

    def figure(self, figure, name: str) -> None:
        """Write a matplotlib figure and close it."""
        figure.tight_layout()
        figure.savefig(self.out / name, dpi=100)
        plt.close(figure)
        print(f"wrote {self.out / name}")
        show(self.out / name)

    @contextlib.contextmanager
    def transcript(self, name: str):
        """Print as usual, and also keep what is printed in ``name``: the pages quote these files."""
        kept = io.StringIO()
        shown = sys.stdout  # the terminal, or in a notebook the cell's output

        class Both(io.TextIOBase):
            def write(self, text: str) -> int:
                kept.write(text)
                return shown.write(text)

        with contextlib.redirect_stdout(Both()):
            yield
        (self.out / name).write_text(kept.getvalue(), encoding="utf-8")
        print(f"wrote {self.out / name}")

    def done(self) -> None:
        print(f"done in {time.perf_counter() - self.started:.1f} s{' (--smoke)' if self.smoke else ''}")
