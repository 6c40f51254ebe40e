"""The errors minigrad raises on purpose, each with one line saying what was wrong."""


class ShapeError(ValueError):
    """An op was given shapes it cannot combine, e.g. ``matmul: (3, 4) @ (5, 2): ...``."""


class GradcheckError(AssertionError):
    """``mg.gradcheck`` found an analytic gradient that disagrees with finite differences."""


class GraphFreedError(RuntimeError):
    """``backward()`` reached a part of the graph that an earlier ``backward()`` freed."""


class AnomalyError(RuntimeError):
    """``mg.detect_anomaly()`` found a NaN or an infinity; the message names the op, step and shape."""
