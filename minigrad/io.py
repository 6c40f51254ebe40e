"""Writing files: atomically (nobody ever sees half a file), and matplotlib figures as files.

    write_atomically(path, data)            # checkpoints, metrics.json, reports, pictures
    plt = pyplot()                          # None without the ``plot`` extra
    if plt is None:
        print(plot_missing(path))
    else:
        figure, axis = plt.subplots()
        ...
        save_figure(figure, path)           # png, svg or pdf, by the extension

This module imports neither matplotlib nor graphviz until a figure is drawn, so that
saving a checkpoint or writing metrics stays free of both.
"""

from __future__ import annotations

import os
import tempfile
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

PLOT_EXTRA = "pip install 'minigrad[plot]'"


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place: a reader
    sees the old file or the new one, never half of one. Creates missing folders; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(handle, 0o666 & ~umask)  # mkstemp makes 0600; the file is as readable as any new file
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def pyplot() -> ModuleType | None:
    """``matplotlib.pyplot`` set to draw into files only (the Agg backend, no window), or None
    when matplotlib (the ``plot`` extra) is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_missing(path: str | os.PathLike) -> str:
    """The one line said instead of drawing ``path`` when matplotlib is missing."""
    return f"{Path(path).name} not drawn: matplotlib is missing ({PLOT_EXTRA})"


def figure_bytes(figure: Any, fmt: str = "png", dpi: int = 100) -> bytes:
    """A matplotlib figure encoded as ``fmt`` (png, svg, pdf, ...); the figure is closed after."""
    import matplotlib.pyplot as plt

    buffer = BytesIO()
    try:
        figure.savefig(buffer, format=fmt, dpi=dpi)
    finally:
        plt.close(figure)  # pyplot keeps every open figure alive until closed
    return buffer.getvalue()


def save_figure(figure: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write a matplotlib figure to ``path`` atomically, in the format its extension names
    (png when it has none), and close it. Returns the path."""
    path = Path(path)
    return write_atomically(path, figure_bytes(figure, path.suffix.lstrip(".").lower() or "png", dpi))
