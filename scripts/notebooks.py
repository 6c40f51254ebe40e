"""Build the course's notebooks, notebooks/NN_*.ipynb, from its scripts, examples/NN_*.py.

    .venv/bin/python scripts/notebooks.py              # convert and run every page in full, store with outputs
    .venv/bin/python scripts/notebooks.py 03 05        # only pages 3 and 5
    .venv/bin/python scripts/notebooks.py --smoke      # run each in smoke mode into a temporary folder
    .venv/bin/python scripts/notebooks.py --check      # are the stored notebooks' cells their scripts'? (no run)

The script is the one copy: its ``# %%`` and ``# %% [markdown]`` lines (jupytext's percent
format) say where the cells begin. :func:`notebook_from_script` converts it with jupytext and
makes three changes that only a notebook needs: the module docstring becomes the first
markdown cell, a cell puts examples/ on ``sys.path`` (for ``_common``), and the
``# --8<--`` lines that mark what the docs quote are left out.

A full build runs each notebook as its script runs with no option, so the stored outputs are
the real numbers and pictures; pages 6 and 8 take minutes. ``--smoke`` sets MINIGRAD_SMOKE=1
and leaves notebooks/ alone: what tests/test_notebooks.py runs. The kernel is ``python3``,
which jupyter_client starts with this interpreter, so the venv's ipykernel is the one used.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = ROOT / "notebooks"
SNIPPET_MARKER = re.compile(r"^\s*# --8<-- \[(start|end):[\w-]+\]\s*$")
PATH_CELL = '''\
# The code of examples/{script}, cut into cells; its helpers are in examples/_common.py.
import sys

sys.path.insert(0, "../examples")'''


def scripts() -> list[Path]:
    """Every page's script, examples/NN_*.py, in page order."""
    return sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))


def notebook_path(script: Path) -> Path:
    """Where the notebook of ``script`` is stored: notebooks/NN_name.ipynb."""
    return NOTEBOOKS / f"{script.stem}.ipynb"


def docstring_markdown(docstring: str, script: Path) -> str:
    """The module docstring as markdown: its first line a title, then where the notebook comes from."""
    title, _, rest = docstring.strip().partition("\n")
    pages = sorted((ROOT / "docs" / "lecture").glob(f"{script.name[:2]}-*.md"))
    page = f" Its page: [docs/lecture/{pages[0].name}](../docs/lecture/{pages[0].name})." if pages else ""
    source = (f"*Made from [examples/{script.name}](../examples/{script.name}) by scripts/notebooks.py: "
              f"edit the script, not this notebook.{page}*")
    return f"# {title}\n\n{source}\n{rest}"


def notebook_from_script(script: Path) -> nbformat.NotebookNode:
    """The notebook of ``script``, without outputs: jupytext's cells and the three changes above."""
    converted = jupytext.read(script, fmt="py:percent")
    cells = []
    for cell in converted.cells:
        if cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines() if not SNIPPET_MARKER.match(line)]
            source = "\n".join(lines).strip("\n")
            if source:
                cells.append(nbformat.v4.new_code_cell(source))
        else:
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
    first = cells[0].source if cells else ""
    if cells and cells[0].cell_type == "code" and is_docstring(first):
        cells[0] = nbformat.v4.new_markdown_cell(docstring_markdown(ast.literal_eval(first), script))
        cells.insert(1, nbformat.v4.new_code_cell(PATH_CELL.format(script=script.name)))
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number:02d}"  # stable ids: a rebuild changes only what changed
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    }
    return notebook


def is_docstring(source: str) -> bool:
    """True if ``source`` is one string literal and nothing else."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str)


def cell_sources(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What the sync check compares: each cell's type and source, outputs left out."""
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def run(notebook: nbformat.NotebookNode, smoke: bool, out: Path | None = None,
        timeout: int | None = None) -> nbformat.NotebookNode:
    """Execute ``notebook`` in a fresh python3 kernel whose working directory is notebooks/.

    ``smoke`` sets MINIGRAD_SMOKE=1; ``out`` (MINIGRAD_OUT) is where its pictures go, by default
    out/examples/NN like the script's. Raises CellExecutionError at the first failing cell."""
    environment = {key: value for key, value in os.environ.items() if key not in ("MINIGRAD_SMOKE", "MINIGRAD_OUT")}
    environment["MPLBACKEND"] = "Agg"
    if smoke:
        environment["MINIGRAD_SMOKE"] = "1"
    if out is not None:
        environment["MINIGRAD_OUT"] = str(out)
    NOTEBOOKS.mkdir(exist_ok=True)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=timeout, record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no warning about TCP on every start
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute(env=environment)
    return notebook


def check(selected: list[Path]) -> int:
    """Print each stored notebook that is missing or whose cells are not its script's; 0 if none."""
    stale = []
    for script in selected:
        stored = notebook_path(script)
        if not stored.is_file():
            stale.append(f"{stored.relative_to(ROOT)} is missing")
        elif cell_sources(nbformat.read(stored, as_version=4)) != cell_sources(notebook_from_script(script)):
            stale.append(f"{stored.relative_to(ROOT)} is not in sync with examples/{script.name}")
    orphans = sorted(set(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) - {notebook_path(s) for s in scripts()})
    stale += [f"{path.relative_to(ROOT)} has no script in examples/" for path in orphans]
    for line in stale:
        print(line)
    if stale:
        print("rebuild with: .venv/bin/python scripts/notebooks.py [NN ...]")
        return 1
    print(f"{len(selected)} notebooks in sync with their scripts")
    return 0


def build(selected: list[Path], smoke: bool) -> int:
    """Convert and run each script's notebook: into notebooks/, or under --smoke into a temporary folder."""
    target = Path(tempfile.mkdtemp(prefix="minigrad-notebooks-")) if smoke else NOTEBOOKS
    target.mkdir(exist_ok=True)
    started = time.perf_counter()
    for script in selected:
        notebook = notebook_from_script(script)
        path = target / notebook_path(script).name
        out = target / script.stem if smoke else None
        begun = time.perf_counter()
        try:
            run(notebook, smoke, out)
        except CellExecutionError as error:
            print(f"{script.name}: a cell failed\n{error}", file=sys.stderr)
            return 1
        nbformat.write(notebook, path)
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {len(notebook.cells)} cells, run in {time.perf_counter() - begun:.0f} s, "
              f"{path.stat().st_size / 1024:.0f} kB", flush=True)
    size = sum(path.stat().st_size for path in target.glob("*.ipynb"))
    print(f"{len(selected)} notebooks in {time.perf_counter() - started:.0f} s; {target}: {size / 1e6:.1f} MB of notebooks")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build notebooks/NN_*.ipynb from examples/NN_*.py (jupytext, nbclient).")
    parser.add_argument("pages", nargs="*", help="page numbers, e.g. 03 5 (default: every page)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="run in smoke mode into a temporary folder, notebooks/ untouched")
    mode.add_argument("--check", action="store_true", help="only check that the stored notebooks match their scripts")
    args = parser.parse_args(argv)
    by_number = {int(script.name[:2]): script for script in scripts()}
    selected = []
    for page in args.pages:
        if not page.isdigit() or int(page) not in by_number:
            parser.exit(2, f"notebooks.py: no page {page!r}; the pages are {', '.join(f'{n:02d}' for n in by_number)}\n")
        selected.append(by_number[int(page)])
    selected = selected or list(by_number.values())
    return check(selected) if args.check else build(selected, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
