"""Pictures of the recorded graph: ``mg.viz.draw`` (unrolled, folded, gradient view),
``mg.viz.render`` (svg/png/pdf/dot files) and ``mg.viz.gradient_flow``."""

from minigrad.viz.picture import draw
from minigrad.viz.flow import gradient_flow
from minigrad.viz.output import render

__all__ = ["draw", "render", "gradient_flow"]
