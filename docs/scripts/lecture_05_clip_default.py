"""The Trainer's default clipping threshold, for docs/lecture/05-vanishing-exploding.md.

    .venv/bin/python docs/scripts/lecture_05_clip_default.py        (or: make docs-images)

Writes docs/images/05/clip_default.txt: the --clip entry of `minigrad train echo --help` (the
Trainer passes that value, TaskConfig.clip, to clip_grad_norm_), as the command line prints it.
"""

import contextlib
import io
from pathlib import Path

from minigrad import cli
from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images" / "05" / "clip_default.txt"


def clip_help() -> str:
    """The lines of `minigrad train echo --help` that describe --clip."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.suppress(SystemExit):
        cli.main(["train", "echo", "--help"])
    lines = printed.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("--clip"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("--"))
    return " ".join(" ".join(lines[start:end]).split())  # one line: the help wraps at the terminal width


if __name__ == "__main__":
    text = "$ minigrad train echo --help\n" + clip_help() + "\n"
    write_atomically(OUT, text.encode("utf-8"))
    print(text, end="")
    print(f"wrote {OUT.relative_to(ROOT)}")
