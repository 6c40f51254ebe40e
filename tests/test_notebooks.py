"""The course's notebooks, notebooks/NN_*.ipynb, made from examples/NN_*.py by scripts/notebooks.py.

Two checks: each stored notebook's cells are its script's as converted today (outputs are not
compared), so a script edited without a rebuild fails here; and each notebook runs in a
python3 kernel, in smoke mode, and shows under its cells every picture its page shows.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("notebooks", ROOT / "scripts" / "notebooks.py")
notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebooks)
SCRIPTS = notebooks.scripts()
IDS = [script.stem for script in SCRIPTS]
REBUILD = ".venv/bin/python scripts/notebooks.py"


def test_there_is_one_notebook_per_script_and_no_other():
    stored = sorted(path.name for path in notebooks.NOTEBOOKS.glob("*.ipynb"))
    assert stored == [notebooks.notebook_path(script).name for script in SCRIPTS], f"rebuild with {REBUILD}"


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_stored_notebook_is_in_sync_with_its_script(script: Path):
    stored = nbformat.read(notebooks.notebook_path(script), as_version=4)
    expected = notebooks.cell_sources(notebooks.notebook_from_script(script))
    assert notebooks.cell_sources(stored) == expected, (
        f"notebooks/{script.stem}.ipynb is not examples/{script.name} any more: rerun {REBUILD} {script.name[:2]}"
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_stored_notebook_was_run(script: Path):
    """Stored with the outputs of a full run: a code host shows numbers and pictures, not only code."""
    stored = nbformat.read(notebooks.notebook_path(script), as_version=4)
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{script.stem}.ipynb was stored without running it"
    text = "".join(out.get("text", "") for cell in code for out in cell.outputs if out.output_type == "stream")
    assert "done in" in text and "(--smoke)" not in text, f"{script.stem}.ipynb holds no full run's outputs"


def pictures_on_page(number: str) -> set[str]:
    """The svg and png files of docs/images/NN/ that the page embeds."""
    page = next((ROOT / "docs" / "lecture").glob(f"{number}-*.md")).read_text(encoding="utf-8")
    return {name for name in re.findall(rf"\]\(\.\./images/{number}/([^)\s]+)\)", page)
            if name.endswith((".svg", ".png"))}


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_notebook_runs_in_smoke_mode_and_shows_its_pictures(script: Path, tmp_path: Path):
    notebook = notebooks.notebook_from_script(script)
    try:
        notebooks.run(notebook, smoke=True, out=tmp_path, timeout=600)
    except CellExecutionError as error:
        pytest.fail(f"{script.stem}.ipynb failed in smoke mode:\n{str(error)[-4000:]}")
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "(--smoke)" in text, f"{script.stem}.ipynb did not report its smoke run"
    shown = [out for out in outputs if out.output_type == "display_data"
             and {"image/svg+xml", "image/png"} & set(out.data)]
    pictures = pictures_on_page(script.name[:2])
    missing = sorted(name for name in pictures if not (tmp_path / name).is_file())
    assert not missing, f"{script.stem}.ipynb did not write {missing}"
    assert len(shown) >= len(pictures), (
        f"{script.stem}.ipynb shows {len(shown)} pictures under its cells, its page {len(pictures)}"
    )
