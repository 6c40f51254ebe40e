"""Pictures of the recorded graph: ``mg.viz.draw`` (unrolled, folded, gradient view),
``mg.viz.render`` (svg/png/pdf/dot files), ``mg.viz.gradient_flow``, and ``mg.viz.explore``
(the interactive explorer: the backward walk step by step, in one HTML page).

``draw`` builds a ``graphviz.Digraph``, so the graphviz package is imported on first use of
``draw`` or ``explore``: ``import minigrad`` (and saving a checkpoint) does not load it.
"""

from typing import TYPE_CHECKING, Any

from minigrad.viz import tape  # noqa: F401  (mg.viz.tape: reading the tape needs no graphviz)
from minigrad.viz.explore import Explorer, explore  # the function; its module: sys.modules["minigrad.viz.explore"]
from minigrad.viz.flow import gradient_flow
from minigrad.viz.output import render

if TYPE_CHECKING:
    from minigrad.viz.picture import draw

__all__ = ["draw", "render", "gradient_flow", "explore", "Explorer"]


def __getattr__(name: str) -> Any:
    if name == "draw":
        from minigrad.viz.picture import draw

        return draw
    raise AttributeError(f"module 'minigrad.viz' has no attribute {name!r}")
