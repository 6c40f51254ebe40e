"""Writing a picture to disk: svg, png, pdf or dot, atomically, with or without Graphviz installed."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import graphviz

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(handle, 0o666 & ~umask)  # mkstemp makes 0600; a picture is as readable as any new file
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def render(graph: graphviz.Digraph, path: str | os.PathLike) -> tuple[Path, str | None]:
    """Write ``graph`` to ``path``, its format taken from the extension.

    Returns the path written and a one-line note, or None. Without Graphviz's ``dot``
    program an svg/png/pdf cannot be drawn: the DOT text goes to ``path`` with the
    suffix ``.dot`` instead, and the note says how to install Graphviz.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot write {path.name!r}: the file must end in {', '.join('.' + f for f in FORMATS)}")
    if fmt == "dot":
        write_atomically(path, graph.source.encode())
        return path, None
    if shutil.which("dot") is None:
        fallback = path.with_suffix(".dot")
        write_atomically(fallback, graph.source.encode())
        note = (
            f"Graphviz's dot program was not found, so {fallback} was written instead of {path.name}; "
            f"{INSTALL_HINT}, then: dot -T{fmt} {fallback} -o {path}"
        )
        return fallback, note
    write_atomically(path, graph.pipe(format=fmt))
    return path, None
