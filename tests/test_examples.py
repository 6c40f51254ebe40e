"""The tutorial's scripts, examples/NN_*.py: each runs with --smoke, and draws every picture and
writes every text file that its page (docs/lecture/NN-*.md) shows from docs/images/NN/.

Graph pictures need Graphviz's `dot`. Without it mg.viz.render writes the .dot source instead,
and the test accepts that, but only off CI: under CI=true a missing `dot` is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("[0-9][0-9]_*.py"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
HAVE_DOT = shutil.which("dot") is not None


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
    if IN_CI and not HAVE_DOT:
        pytest.fail("Graphviz's dot is missing under CI: the graph pictures cannot be drawn")
    out = tmp_path / "out"
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    # The working directory is a temporary one, to show the script needs no particular one.
    run = subprocess.run(
        [sys.executable, str(script), "--smoke", "--out", str(out)],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, f"{script.name} --smoke failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert "(--smoke)" in run.stdout, f"{script.name} did not report its smoke run"
    missing = []
    for name in sorted(shown_on_page(script.name[:2])):
        if (out / name).is_file():
            continue
        if name.endswith(".svg") and not HAVE_DOT and (out / name).with_suffix(".dot").is_file():
            continue  # no Graphviz here (and not CI): the .dot source stands in for the picture
        missing.append(name)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert not missing, f"{script.name} --smoke did not write {missing}; it wrote {written}"
    if not HAVE_DOT and any(name.endswith(".svg") for name in shown_on_page(script.name[:2])):
        pytest.skip("Graphviz's dot is missing: the graphs were checked as .dot sources only")
