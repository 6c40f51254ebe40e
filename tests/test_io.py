"""minigrad.io: atomic writes, and matplotlib figures saved through them (the plot extra)."""

from __future__ import annotations

import os
import stat
import sys
import xml.etree.ElementTree as ET

import pytest

from minigrad import io

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


def test_write_atomically_makes_folders_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a" / "b" / "notes.txt"
    assert io.write_atomically(target, b"first") == target
    assert io.write_atomically(str(target), b"second") == target  # a str path too; the file is replaced
    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["notes.txt"]


def test_write_atomically_failing_at_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    """If the rename fails, the old file is untouched and no temporary file is left."""
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        io.write_atomically(target, b"new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_written_file_permissions_follow_the_umask(tmp_path):
    """A file is as readable as any new file (0666 minus the umask), not mkstemp's private 0600."""
    umask = os.umask(0o022)
    try:
        written = io.write_atomically(tmp_path / "graph.dot", b"digraph {}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o644


def test_without_matplotlib_pyplot_is_none_and_the_note_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    assert io.pyplot() is None
    note = io.plot_missing("out/run/loss.png")
    assert "\n" not in note
    assert note.startswith("loss.png not drawn") and "matplotlib" in note and "minigrad[plot]" in note


@pytest.mark.parametrize("name", ["plot.png", "plot.PDF", "plot.svg", "plot"])
def test_save_figure_writes_the_format_its_extension_names_and_closes_the_figure(tmp_path, name):
    plt = io.pyplot()  # matplotlib is in the dev extra
    assert plt.get_backend().lower() == "agg"  # files only, never a window
    figure, axis = plt.subplots()
    axis.plot([0, 1, 2], [1, 0, 1])
    written = io.save_figure(figure, tmp_path / name)
    assert written == tmp_path / name
    assert not plt.fignum_exists(figure.number)
    data = written.read_bytes()
    fmt = written.suffix.lstrip(".").lower() or "png"
    if fmt == "svg":
        assert ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"
    else:
        assert data.startswith(MAGIC[fmt])
    assert os.listdir(tmp_path) == [name]
