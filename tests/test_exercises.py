"""Every exercise's worked answer runs: examples/exercises/NN_*.py, quoted in the pages' collapsed
answers, check their own claims with assert and exit 0 (MINIGRAD_SMOKE=1 keeps any training short)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = sorted((ROOT / "examples" / "exercises").glob("[0-9][0-9]_*.py"))


def test_every_page_has_answers():
    pages = {path.name[:2] for path in ANSWERS}
    assert pages >= {f"{n:02d}" for n in range(1, 10)}, f"pages without an exercise answer: {sorted(pages)}"


@pytest.mark.parametrize("script", ANSWERS, ids=[path.stem for path in ANSWERS])
def test_answer_runs(script, tmp_path):
    env = {**os.environ, "MINIGRAD_SMOKE": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "an answer prints what it found"
