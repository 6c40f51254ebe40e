"""Pictures of the recorded graph: ``mg.viz.draw`` (unrolled, folded, gradient view),
``mg.viz.render`` (svg/png/pdf/dot files) and ``mg.viz.gradient_flow``.

``draw`` builds a ``graphviz.Digraph``, so the graphviz package is imported on its first use:
``import minigrad`` (and saving a checkpoint) does not load it.
"""

from typing import TYPE_CHECKING, Any

from minigrad.viz import tape  # noqa: F401  (mg.viz.tape: reading the tape needs no graphviz)
from minigrad.viz.flow import gradient_flow
from minigrad.viz.output import render

if TYPE_CHECKING:
    from minigrad.viz.picture import draw

__all__ = ["draw", "render", "gradient_flow"]


def __getattr__(name: str) -> Any:
    if name == "draw":
        from minigrad.viz.picture import draw

        return draw
    raise AttributeError(f"module 'minigrad.viz' has no attribute {name!r}")
