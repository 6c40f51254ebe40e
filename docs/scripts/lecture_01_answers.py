"""What each worked answer of page 1 prints, for the page's collapsed answers.

    .venv/bin/python docs/scripts/lecture_01_answers.py        (or: make docs-images)

Runs every examples/exercises/01_*.py in full (not MINIGRAD_SMOKE) and writes what it prints
to docs/images/01/answer_NAME.txt, NAME being the script's name without "01_": the page
quotes the script and its output side by side. A script that fails stops this one.
"""

import os
import subprocess
import sys
from pathlib import Path

from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
PAGE = "01"


def main() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "MINIGRAD_SMOKE"}
    environment.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, on a shared machine
    for script in sorted((ROOT / "examples" / "exercises").glob(f"{PAGE}_*.py")):
        done = subprocess.run([sys.executable, str(script)], env=environment, capture_output=True, text=True, check=True)
        out = ROOT / "docs" / "images" / PAGE / f"answer_{script.stem.removeprefix(PAGE + '_')}.txt"
        write_atomically(out, done.stdout.encode("utf-8"))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
