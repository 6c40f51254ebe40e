"""The errors minigrad raises on purpose, each with one line saying what was wrong."""


class ShapeError(ValueError):
    """An op was given shapes it cannot combine, e.g. ``matmul: (3, 4) @ (5, 2): ...``."""


class GradcheckError(AssertionError):
    """``mg.gradcheck`` found an analytic gradient that disagrees with finite differences."""


class GraphFreedError(RuntimeError):
    """``backward()`` reached a part of the graph that an earlier ``backward()`` freed."""


class AnomalyError(RuntimeError):
    """``mg.detect_anomaly()`` found a NaN or an infinity; the message names the op, step and shape."""


def op_error(op: str, shapes: list[tuple[int, ...]], error: Exception) -> Exception:
    """NumPy's complaint inside an op, as one line naming the op and its inputs' shapes."""
    if isinstance(error, ShapeError):  # the op's own message says it already
        return error
    reason = "cannot be broadcast together" if "broadcast" in str(error) else str(error).strip()
    kind = IndexError if isinstance(error, IndexError) else ShapeError  # IndexError ends `for row in x`
    return kind(f"{op}: {' and '.join(str(shape) for shape in shapes)}: {reason}")
