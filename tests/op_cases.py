"""The table of op cases: one row per op (or per way of calling it), shared by
``test_ops.py`` and ``test_ops_reference.py``.

Each row (an ``OpCase``) holds

* ``inputs``   -- a Hypothesis strategy that draws an ``Example``: the float64 arrays
                  that become the differentiable inputs, and the constants of the call
                  (axis, index, exponent, ...);
* ``minigrad`` -- the call under test, ``minigrad(*tensors, **params)``;
* ``numpy``    -- the same computation written in plain NumPy, ``numpy(*arrays, **params)``:
                  the forward values minigrad must reproduce.

The strategies keep shapes small (each side 1..4, at most 3 axes) so that finite
differences stay fast, and keep values away from the places where an op has no
derivative or a steep one: relu's inputs are never near 0, ``max`` never sees ties,
``log``, ``/`` and ``**`` never see a base or denominator near 0, and ``**`` with a
non-integer exponent only sees positive bases.

Adding an op means adding one row here (and its PyTorch twin in
``test_ops_reference.py``); every property test then covers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg


@dataclass
class Example:
    """One drawn input: the arrays that get gradients, and the constants of the call."""

    arrays: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpCase:
    """One row of the table: how to draw inputs, call minigrad, and compute the answer in NumPy."""

    name: str
    inputs: st.SearchStrategy[Example]
    minigrad: Callable[..., Any]
    numpy: Callable[..., Any]


def joined(outputs: Any, concat: Callable, flatten: Callable) -> Any:
    """Turn a list of output pieces (``split``) into one flat array; leave a single output alone.

    gradcheck and ``backward(grad)`` need one output. Flattening every piece and
    joining them keeps every output element, so no piece's gradient goes unchecked.
    """
    if isinstance(outputs, (list, tuple)):
        return concat([flatten(piece) for piece in outputs])
    return outputs


def joined_tensor(outputs: Any) -> mg.Tensor:
    """``joined`` for minigrad outputs."""
    return joined(outputs, lambda pieces: mg.concat(pieces, axis=0), lambda t: t.reshape(-1))


# ------------------------------------------------------------ building blocks

SIDE = st.integers(1, 4)


def shapes(min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes with ``min_dims..max_dims`` axes, each of size 1..4."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4)


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def arrays(shape: tuple[int, ...], low: float = -3.0, high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` with values in ``[low, high]``."""
    return hnp.arrays(np.float64, shape, elements=floats(low, high))


def away_from_zero(shape: tuple[int, ...], low: float = 0.5, high: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays whose values have magnitude in ``[low, high]``, either sign."""
    return hnp.arrays(np.float64, shape, elements=floats(low, high) | floats(-high, -low))


@st.composite
def distinct(draw, shape: tuple[int, ...]) -> np.ndarray:
    """float64 values at least 0.4 apart, in a random order: ``max`` never meets a tie.

    A tie would make max non-differentiable (and finite differences of size 1e-6
    would flip the winner), so the values are a shuffled ladder with rungs 0.5 apart,
    each nudged by less than 0.1.
    """
    size = int(np.prod(shape))
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    nudge = draw(hnp.arrays(np.float64, (size,), elements=floats(0.0, 0.1)))
    return (0.5 * order + nudge - 0.25 * size).reshape(shape)


@st.composite
def unary(draw, values=arrays, min_dims: int = 0, max_dims: int = 3) -> Example:
    """One array of any small shape, values drawn by ``values(shape)``."""
    shape = draw(shapes(min_dims, max_dims))
    return Example((draw(values(shape)),))


@st.composite
def broadcast_pair(draw, left=arrays, right=arrays) -> Example:
    """Two arrays whose shapes broadcast against each other, e.g. (3, 1) and (2, 1, 4)."""
    left_shape, right_shape = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)).input_shapes
    return Example((draw(left(left_shape)), draw(right(right_shape))))


@st.composite
def with_number(draw, values=arrays, number=floats(-3.0, 3.0)) -> Example:
    """One array and a plain Python number ``c``."""
    shape = draw(shapes())
    return Example((draw(values(shape)),), {"c": draw(number)})


@st.composite
def with_constant_array(draw) -> Example:
    """One array and a constant NumPy array ``c`` (no gradient) that broadcasts against it."""
    c_shape, x_shape = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)).input_shapes
    return Example((draw(arrays(x_shape)),), {"c": draw(arrays(c_shape))})


@st.composite
def integer_power(draw) -> Example:
    """Any sign of base (away from 0) and a whole exponent -3..3."""
    shape = draw(shapes())
    return Example((draw(away_from_zero(shape, 0.5, 2.0)),), {"exponent": draw(st.integers(-3, 3))})


@st.composite
def real_power(draw) -> Example:
    """A positive base and a fractional exponent."""
    shape = draw(shapes())
    return Example((draw(arrays(shape, 0.5, 3.0)),), {"exponent": draw(floats(-2.5, 2.5))})


# ------------------------------------------------------------------ matmul


@st.composite
def matmul_operands(draw, layout: str) -> Example:
    """Operands for ``a @ b``; ``layout`` is e.g. "2d@1d" or "nd@nd" (nd: with batch axes).

    Batch axes of the two sides are drawn mutually broadcastable, e.g. (2, 1) and (3,).
    """
    m, k, n = draw(SIDE), draw(SIDE), draw(SIDE)
    left, right = layout.split("@")
    batch_a = batch_b = ()
    if "nd" in layout:
        batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2, max_side=3))
        batch_a, batch_b = batch.input_shapes
        if left != right:  # only one side is batched: give it the whole batch shape
            batch_a = batch_b = batch.result_shape
    a_shape = {"1d": (k,), "2d": (m, k), "nd": batch_a + (m, k)}[left]
    b_shape = {"1d": (k,), "2d": (k, n), "nd": batch_b + (k, n)}[right]
    return Example((draw(arrays(a_shape)), draw(arrays(b_shape))))


@st.composite
def linear_operands(draw) -> Example:
    """x of shape (..., in) with 0-2 leading axes, and a weight of shape (out, in)."""
    k, n = draw(SIDE), draw(SIDE)
    lead = draw(st.lists(SIDE, min_size=0, max_size=2).map(tuple))
    return Example((draw(arrays(lead + (k,))), draw(arrays((n, k)))))


@st.composite
def linear_bias_operands(draw) -> Example:
    """x (..., in), a weight (out, in) and a bias that broadcasts to the output: (out,) as in a
    layer, the output's own shape as a cell's xU + b, or any trailing axes, some of them 1."""
    x, weight = draw(linear_operands()).arrays
    out_shape = x.shape[:-1] + weight.shape[:1]
    trailing = out_shape[len(out_shape) - draw(st.integers(1, len(out_shape))) :]
    bias_shape = tuple(draw(st.sampled_from([1, side])) for side in trailing)
    return Example((x, weight, draw(arrays(bias_shape))))


# -------------------------------------------------------------- reductions


@st.composite
def reduction_axes(draw, ndim: int) -> None | int | tuple[int, ...]:
    """``axis=`` for sum/mean/max: None, one axis, or a tuple of axes; any may be negative."""
    kind = draw(st.sampled_from(["none", "int", "tuple"])) if ndim else "none"
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(axis - ndim if draw(st.booleans()) else axis for axis in chosen)


@st.composite
def reduction(draw, values=arrays) -> Example:
    shape = draw(shapes())
    return Example(
        (draw(values(shape)),),
        {"axis": draw(reduction_axes(len(shape))), "keepdims": draw(st.booleans())},
    )


# --------------------------------------------------------------- shape ops


@st.composite
def reshape_target(draw) -> Example:
    """An array and a new shape with as many elements (sometimes spelled with -1)."""
    shape = draw(shapes())
    size = int(np.prod(shape))
    targets = [(size,), (-1,), tuple(reversed(shape)), (1, *shape), (*shape, 1)]
    if size % 2 == 0:
        targets.append((2, -1))
    if size == 1:
        targets.append(())
    return Example((draw(arrays(shape)),), {"shape": draw(st.sampled_from(targets))})


@st.composite
def permutation(draw) -> Example:
    """An array and an order of its axes; each axis may be written as a negative number."""
    shape = draw(shapes(min_dims=1))
    ndim = len(shape)
    order = draw(st.permutations(range(ndim)))
    axes = tuple(axis - ndim if draw(st.booleans()) else axis for axis in order)
    return Example((draw(arrays(shape)),), {"axes": axes})


# ----------------------------------------------------------------- indexing


def slices(size: int) -> st.SearchStrategy[slice]:
    """Slices with a positive step (PyTorch has no negative steps); bounds may be negative or past the end."""
    bound = st.none() | st.integers(-size - 1, size + 1)
    return st.builds(slice, bound, bound, st.none() | st.integers(1, 3))


@st.composite
def basic_index(draw) -> Example:
    """Ints (possibly negative) and slices, for the first axes or, after ``...``, the last ones."""
    shape = draw(shapes(min_dims=1))
    count = draw(st.integers(1, len(shape)))
    from_the_end = draw(st.booleans())
    sizes = shape[-count:] if from_the_end else shape[:count]
    parts = tuple(draw(st.integers(-size, size - 1) | slices(size)) for size in sizes)
    index = (Ellipsis, *parts) if from_the_end else parts
    if len(index) == 1 and draw(st.booleans()):
        index = index[0]  # x[2] as well as x[(2,)]
    return Example((draw(arrays(shape)),), {"index": index})


@st.composite
def integer_array_index(draw) -> Example:
    """x[idx] with idx a list, a 1-D or a 2-D integer array; some entry always repeats.

    A repeated row is read twice, so its gradient must be the sum of both uses.
    """
    shape = draw(shapes(min_dims=1))
    rows = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=4))
    rows = rows + [rows[0]]
    form = draw(st.sampled_from(["list", "array", "2-D array"]))
    index = {"list": rows, "array": np.array(rows), "2-D array": np.array(rows + rows).reshape(2, -1)}[form]
    return Example((draw(arrays(shape)),), {"index": index})


@st.composite
def mixed_index(draw) -> Example:
    """A tuple of slices and one integer array (with a repeat), maybe with an int right next to it.

    The int sits next to the array because only then do NumPy and PyTorch put the
    result's axes in the same place.
    """
    shape = draw(shapes(min_dims=2))
    where = draw(st.integers(0, len(shape) - 1))
    parts: list[Any] = [draw(slices(size)) for size in shape]
    rows = draw(st.lists(st.integers(-shape[where], shape[where] - 1), min_size=1, max_size=3))
    parts[where] = np.array(rows + [rows[-1]])
    neighbour = draw(st.sampled_from([None, where - 1, where + 1]))
    if neighbour is not None and 0 <= neighbour < len(shape):
        parts[neighbour] = draw(st.integers(-shape[neighbour], shape[neighbour] - 1))
    return Example((draw(arrays(shape)),), {"index": tuple(parts)})


# ------------------------------------------------------ softmax and joining


@st.composite
def along_an_axis(draw, low: float = -5.0, high: float = 5.0) -> Example:
    """An array with at least one axis and one of its axes (maybe negative)."""
    shape = draw(shapes(min_dims=1))
    return Example((draw(arrays(shape, low, high)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})


@st.composite
def concat_inputs(draw) -> Example:
    """1-3 arrays that agree on every axis but ``axis``, where each has its own length."""
    shape = list(draw(shapes(min_dims=1)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        shape[axis] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(shape))))
    return Example(tuple(pieces), {"axis": axis})


@st.composite
def stack_inputs(draw) -> Example:
    """1-3 arrays of one shape and the position of the new axis (maybe negative)."""
    shape = draw(shapes(max_dims=2))
    count = draw(st.integers(1, 3))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return Example(tuple(draw(arrays(shape)) for _ in range(count)), {"axis": axis})


@st.composite
def split_by_size(draw) -> Example:
    """An array, an axis and a piece size (may exceed the length: then one piece)."""
    example = draw(along_an_axis())
    length = example.arrays[0].shape[example.params["axis"]]
    example.params["size"] = draw(st.integers(1, length + 1))
    return example


@st.composite
def split_by_sections(draw) -> Example:
    """An array, an axis and piece lengths adding up to that axis's length (a length may be 0)."""
    example = draw(along_an_axis())
    length = example.arrays[0].shape[example.params["axis"]]
    cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
    example.params["sections"] = [int(b - a) for a, b in zip([0, *cuts], [*cuts, length])]
    return example


def numpy_split_by_size(x, axis, size):
    return np.split(x, list(range(size, x.shape[axis], size)), axis=axis)


def numpy_split_by_sections(x, axis, sections):
    return np.split(x, np.cumsum(sections)[:-1], axis=axis)


# ----------------------------------------------------------- textbook formulas


def numpy_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def numpy_log_softmax(x, axis):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


# ------------------------------------------------------------------- the table

CASES: list[OpCase] = [
    # arithmetic, with NumPy broadcasting between the operands
    OpCase("add", broadcast_pair(), lambda x, y: x + y, lambda x, y: x + y),
    OpCase("sub", broadcast_pair(), lambda x, y: x - y, lambda x, y: x - y),
    OpCase("mul", broadcast_pair(), lambda x, y: x * y, lambda x, y: x * y),
    OpCase("div", broadcast_pair(right=away_from_zero), lambda x, y: x / y, lambda x, y: x / y),
    OpCase("neg", unary(), lambda x: -x, lambda x: -x),
    # a plain number or NumPy array on either side
    OpCase("add-number", with_number(), lambda x, c: x + c, lambda x, c: x + c),
    OpCase("rsub-number", with_number(), lambda x, c: c - x, lambda x, c: c - x),
    OpCase("rdiv-number", with_number(away_from_zero), lambda x, c: c / x, lambda x, c: c / x),
    OpCase("rmul-ndarray", with_constant_array(), lambda x, c: c * x, lambda x, c: c * x),
    # powers: tensor ** number (op `power`), tensor ** tensor and number ** tensor (op `pow`)
    OpCase("power-int", integer_power(), lambda x, exponent: x**exponent, lambda x, exponent: x**exponent),
    OpCase("power-real", real_power(), lambda x, exponent: x**exponent, lambda x, exponent: x**exponent),
    OpCase(
        "pow",
        broadcast_pair(left=lambda s: arrays(s, 0.5, 3.0), right=lambda s: arrays(s, -2.0, 2.0)),
        lambda x, y: x**y,
        lambda x, y: x**y,
    ),
    OpCase("rpow-number", with_number(number=floats(0.5, 3.0)), lambda x, c: c**x, lambda x, c: c**x),
    # matrix products, NumPy's rules for 1-D operands and batch axes
    OpCase("matmul-2d@2d", matmul_operands("2d@2d"), lambda a, b: a @ b, lambda a, b: a @ b),
    OpCase("matmul-1d@2d", matmul_operands("1d@2d"), lambda a, b: a @ b, lambda a, b: a @ b),
    OpCase("matmul-2d@1d", matmul_operands("2d@1d"), lambda a, b: a @ b, lambda a, b: a @ b),
    OpCase("matmul-1d@1d", matmul_operands("1d@1d"), mg.matmul, np.matmul),
    OpCase("matmul-batched", matmul_operands("nd@nd"), lambda a, b: a @ b, lambda a, b: a @ b),
    OpCase("matmul-1d@batched", matmul_operands("1d@nd"), lambda a, b: a @ b, lambda a, b: a @ b),
    OpCase("matmul-batched@1d", matmul_operands("nd@1d"), lambda a, b: a @ b, lambda a, b: a @ b),
    OpCase("linear", linear_operands(), mg.ops.linear, lambda x, w: x @ w.T),
    OpCase("linear-bias", linear_bias_operands(), mg.nn.linear, lambda x, w, b: x @ w.T + b),
    # reductions: axis None, int, negative int or tuple; keepdims True or False
    OpCase("sum", reduction(), lambda x, **kw: x.sum(**kw), lambda x, **kw: np.sum(x, **kw)),
    OpCase("mean", reduction(), lambda x, **kw: x.mean(**kw), lambda x, **kw: np.mean(x, **kw)),
    OpCase("max", reduction(distinct), lambda x, **kw: x.max(**kw), lambda x, **kw: np.max(x, **kw)),
    # elementwise functions
    OpCase("exp", unary(), lambda x: x.exp(), np.exp),
    OpCase("log", unary(lambda s: arrays(s, 0.1, 5.0)), mg.log, np.log),
    OpCase("tanh", unary(lambda s: arrays(s, -4.0, 4.0)), lambda x: x.tanh(), np.tanh),
    OpCase("sigmoid", unary(lambda s: arrays(s, -6.0, 6.0)), mg.sigmoid, numpy_sigmoid),
    OpCase("relu", unary(lambda s: away_from_zero(s, 0.1, 3.0)), lambda x: x.relu(), lambda x: np.maximum(x, 0)),
    OpCase("softplus", unary(lambda s: arrays(s, -6.0, 6.0)), mg.softplus, lambda x: np.log1p(np.exp(x))),
    # shape ops
    OpCase("reshape", reshape_target(), lambda x, shape: x.reshape(*shape), lambda x, shape: x.reshape(shape)),
    OpCase("transpose", unary(), lambda x: x.transpose(), np.transpose),
    OpCase("transpose-axes", permutation(), lambda x, axes: x.transpose(*axes), np.transpose),
    OpCase("T", unary(), lambda x: x.T, lambda x: x.T),
    # indexing
    OpCase("getitem-basic", basic_index(), lambda x, index: x[index], lambda x, index: x[index]),
    OpCase("getitem-int-array", integer_array_index(), lambda x, index: x[index], lambda x, index: x[index]),
    OpCase("getitem-mixed", mixed_index(), lambda x, index: x[index], lambda x, index: x[index]),
    # softmax family
    OpCase("softmax", along_an_axis(), lambda x, axis: mg.softmax(x, axis=axis), numpy_softmax),
    OpCase("log_softmax", along_an_axis(), lambda x, axis: x.log_softmax(axis=axis), numpy_log_softmax),
    # joining and cutting
    OpCase(
        "concat",
        concat_inputs(),
        lambda *xs, axis: mg.concat(list(xs), axis=axis),
        lambda *xs, axis: np.concatenate(xs, axis=axis),
    ),
    OpCase(
        "stack",
        stack_inputs(),
        lambda *xs, axis: mg.stack(list(xs), axis=axis),
        lambda *xs, axis: np.stack(xs, axis=axis),
    ),
    OpCase(
        "unbind",
        along_an_axis(),
        lambda x, axis: list(mg.unbind(x, axis=axis)),
        lambda x, axis: list(np.moveaxis(x, axis, 0)),
    ),
    OpCase("split-size", split_by_size(), lambda x, axis, size: mg.split(x, size, axis=axis), numpy_split_by_size),
    OpCase(
        "split-sections",
        split_by_sections(),
        lambda x, axis, sections: x.split(sections, axis=axis),
        numpy_split_by_sections,
    ),
]

CASES_BY_NAME = {case.name: case for case in CASES}
assert len(CASES_BY_NAME) == len(CASES), "op case names must be unique"
