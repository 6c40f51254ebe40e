"""docs/lecture/index.md, the map of the lecture: every page, script, block and picture it names exists.

The map is one table, lecture section -> course page -> script and block -> pictures. Pages
and pictures are Markdown links relative to docs/lecture/; scripts are written as
``examples/NN_name.py:block`` (the snippet syntax the pages use), and a block is a
``--8<-- [start:block]`` marker in that script.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "lecture" / "index.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
SCRIPT = re.compile(r"`(examples/[0-9]{2}_[a-z0-9_]+\.py)((?::[a-z-]+)?)`")
MORE_BLOCKS = re.compile(r"`:([a-z-]+)`")


def table_rows() -> list[str]:
    """The table's body rows: the lines that start with "|", less the header and its rule."""
    rows = [line for line in MAP.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    return rows[2:]


def test_the_map_is_one_table_with_a_row_per_section():
    rows = table_rows()
    assert len(rows) > 20, "the lecture has more than twenty sections"
    assert all(row.count("|") - 1 == 5 for row in rows), "every row has the five columns"


def links() -> list[str]:
    return sorted({target for row in table_rows() for target in LINK.findall(row)})


@pytest.mark.parametrize("target", links())
def test_every_linked_page_and_picture_exists(target):
    assert (MAP.parent / target).resolve().is_file(), f"the map links {target}, which does not exist"


def test_every_course_page_is_on_the_map():
    pages = {path.name for path in MAP.parent.glob("0[1-9]-*.md")}
    assert pages and pages <= {Path(target).name for target in links()}


def script_blocks() -> list[tuple[str, str]]:
    """(script, block) for every block the map names; (script, "") for a script named alone."""
    found = []
    for row in table_rows():
        cell = row.split("|")[4]
        scripts = SCRIPT.findall(cell)
        assert len(scripts) <= 1, f"one script per row: {cell}"
        assert cell.count("examples/") == len(scripts), f"a script not written as `examples/NN_name.py:block`: {cell}"
        for script, first in scripts:
            blocks = [first.lstrip(":")] + MORE_BLOCKS.findall(cell) if first else [""]
            found += [(script, block) for block in blocks]
    return found


@pytest.mark.parametrize("script, block", script_blocks())
def test_every_script_and_block_exists(script, block):
    path = ROOT / script
    assert path.is_file(), f"the map names {script}, which does not exist"
    if block:
        assert f"--8<-- [start:{block}]" in path.read_text(encoding="utf-8"), f"{script} has no block {block!r}"
