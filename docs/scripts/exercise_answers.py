"""What the worked answers print, for the pages' collapsed answers.

    .venv/bin/python docs/scripts/exercise_answers.py          (or: make docs-images)
    .venv/bin/python docs/scripts/exercise_answers.py 03       (page 3 only)

For each page that quotes an answer's output (docs/images/NN/answer_NAME.txt), runs every
examples/exercises/NN_*.py in full (not MINIGRAD_SMOKE) and writes what it prints to
docs/images/NN/answer_NAME.txt, NAME being the script's name without "NN_": the page quotes
the script and its output side by side. A script that fails stops this one.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]


def pages_quoting_answers() -> list[str]:
    """The page numbers whose text includes a docs/images/NN/answer_*.txt."""
    found = set()
    for page in (ROOT / "docs" / "lecture").glob("[0-9][0-9]-*.md"):
        found.update(re.findall(r'docs/images/(\d\d)/answer_', page.read_text(encoding="utf-8")))
    return sorted(found)


def main() -> None:
    pages = sys.argv[1:] or pages_quoting_answers()
    environment = {key: value for key, value in os.environ.items() if key != "MINIGRAD_SMOKE"}
    environment.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, on a shared machine
    for page in pages:
        for script in sorted((ROOT / "examples" / "exercises").glob(f"{page}_*.py")):
            done = subprocess.run([sys.executable, str(script)], env=environment, capture_output=True, text=True,
                                  check=True)  # fmt: skip
            out = ROOT / "docs" / "images" / page / f"answer_{script.stem.removeprefix(page + '_')}.txt"
            write_atomically(out, done.stdout.encode("utf-8"))
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
