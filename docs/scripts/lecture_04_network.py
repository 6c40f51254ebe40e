"""The sizes of page 4's network, read from the example itself, for docs/lecture/04-bptt.md.

    .venv/bin/python docs/scripts/lecture_04_network.py        (or: make docs-images)

Runs examples/04_bptt.py (--smoke, pictures into a temporary folder) and writes the shapes of
its vectors and weights to docs/images/04/network.txt, so that the page states no size by hand.
"""

import contextlib
import io
import runpy
import sys
import tempfile
from pathlib import Path

from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "04_bptt.py"
OUT = ROOT / "docs" / "images" / "04" / "network.txt"


def run_example() -> dict:
    """The example's globals after it has run (its own printing is swallowed)."""
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        argv, sys.argv = sys.argv, [str(EXAMPLE), "--out", folder, "--smoke"]
        sys.path.insert(0, str(EXAMPLE.parent))  # the example imports its neighbour _common
        try:
            return runpy.run_path(str(EXAMPLE), run_name="__main__")
        finally:
            sys.argv = argv
            sys.path.remove(str(EXAMPLE.parent))


def shape(array) -> str:
    return " × ".join(str(n) for n in array.shape)


def describe(ex: dict) -> str:
    x, s, a, U, W, V = ex["x"][0], ex["s"][1], ex["a"][1], ex["U"], ex["W"], ex["V"]
    lines = [
        f"T = {ex['T']} steps",
        f"s_0  {shape(ex['s'][0]):<6} {'zeros' if not ex['s'][0].any() else 'NOT zero'}",
        f"x_t  {shape(x):<6} a row of {x.shape[1]} features",
        f"s_t  {shape(s):<6} a row of {s.shape[1]} hidden units",
        f"a_t  {shape(a):<6} {a.shape[1]} output",
        f"U    {shape(U):<6} features × hidden units",
        f"W    {shape(W):<6} hidden units × hidden units",
        f"V    {shape(V):<6} hidden units × outputs (on the right: s_t·V)",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = describe(run_example())
    write_atomically(OUT, text.encode("utf-8"))
    print(text, end="")
    print(f"wrote {OUT.relative_to(ROOT)}")
