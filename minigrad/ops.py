"""Every primitive op: its forward and its backward, side by side.

Each entry takes NumPy arrays and returns ``(out, backward)``, where ``backward(g)``
maps the gradient ``g = dL/d(out)`` to one gradient per array input (``dL/d(input)``).
An op with several outputs (split) returns a tuple of them, and its ``backward`` takes a
tuple of their gradients, None for an output nothing used.
``@primitive`` (in autograd.py) makes the entry work on Tensors and records it on the
tape. Where an op broadcasts, its backward may return output-shaped gradients:
``unbroadcast`` sums them back to each input's shape, once, for every op.

Read top to bottom: arithmetic, elementwise functions, reductions, shape ops,
softmax family, joining and cutting.
"""

from __future__ import annotations

import numpy as np

from minigrad.autograd import primitive
from minigrad.deferred import ProductSum, Scatter
from minigrad.errors import ShapeError

# ---------------------------------------------------------------- arithmetic


@primitive
def add(a, b):
    def backward(g):
        return g, g

    return a + b, backward


@primitive
def sub(a, b):
    def backward(g):
        return g, -g

    return a - b, backward


@primitive
def mul(a, b):
    def backward(g):
        return g * b, g * a

    return a * b, backward


@primitive
def div(a, b):
    def backward(g):
        return g / b, -g * a / (b * b)

    return a / b, backward


@primitive
def neg(a):
    def backward(g):
        return (-g,)

    return -a, backward


@primitive
def power(a, *, exponent):
    """a ** c for a constant number c."""

    def backward(g):
        return (g * exponent * a ** (exponent - 1),)

    return a**exponent, backward


@primitive
def pow(a, b):
    """a ** b for two tensors; d/db = a**b * log(a) needs a > 0."""
    out = a**b

    def backward(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0.0)
        return g * b * a ** (b - 1), g * out * log_a

    return out, backward


@primitive
def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands and broadcast batch axes."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: {a.shape} @ {b.shape}: both operands need at least one dimension")
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner_b:
        raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and {inner_b} differ")

    def backward(g):
        # Treat a vector as a one-row (a) or one-column (b) matrix, then undo that.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:  # first: for vector @ vector, g is 0-d and only gains its -2 axis after this
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = g2 @ np.swapaxes(b2, -1, -2)  # dL/dA = G B^T
        grad_b = np.swapaxes(a2, -1, -2) @ g2  # dL/dB = A^T G
        if a.ndim == 1:
            grad_a = grad_a.squeeze(-2)
        if b.ndim == 1:
            grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b

    return a @ b, backward


@primitive
def linear(x, weight, bias=None):
    """x Wᵀ + b: the affine map of every layer and cell, with PyTorch's weight layout (out, in).

    The bias is added to the product in place (one array, not two) and may be any array
    that broadcasts to the product's shape: a cell passes its x_t U + b here (PyTorch's addmm).
    The weight gradient Σ gᵀx is kept factored (deferred.py), so a weight used at every
    time step gets one matmul over all steps' rows instead of one per step.
    """
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: {x.shape} @ {weight.shape}ᵀ: the input's last axis must match the weight's columns")

    # (…, in) as one matrix of rows: one BLAS call, not one per leading index
    rows_x = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
    out = rows_x @ weight.T
    if x.ndim != 2:
        out = out.reshape(*x.shape[:-1], weight.shape[0])
    if bias is not None:
        if bias.dtype != out.dtype:  # NumPy's type promotion, as in every op: a float64 bias gives float64
            out = out.astype(np.result_type(out, bias))
        out += bias  # the bias must broadcast to the product, as in PyTorch

    def backward(g):
        rows_g = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        grad_x = rows_g @ weight
        if x.ndim != 2:
            grad_x = grad_x.reshape(x.shape)
        grad_weight = ProductSum(rows_g, rows_x)
        return (grad_x, grad_weight) if bias is None else (grad_x, grad_weight, g)  # unbroadcast sums g for b

    return out, backward


# ----------------------------------------------------- elementwise functions


@primitive
def exp(a):
    out = np.exp(a)

    def backward(g):
        return (g * out,)

    return out, backward


@primitive
def log(a):
    def backward(g):
        return (g / a,)

    return np.log(a), backward


@primitive
def tanh(a):
    out = np.tanh(a)

    def backward(g):
        slope = 1 - out * out  # tanh' = 1 - tanh²
        slope *= g  # in place: no third array
        return (slope,)

    return out, backward


def _stable_sigmoid(a):
    """1 / (1 + e^-a), computed as (1 + tanh(a/2)) / 2, the same function: tanh never overflows,
    so no e^-a of a very negative a can reach inf (and no warning needs silencing)."""
    out = np.tanh(a * 0.5)
    out *= 0.5  # in place: no more arrays (for 0-d input NumPy gives scalars, and these rebind)
    out += 0.5
    return out


@primitive
def sigmoid(a):
    """σ(a) = 1 / (1 + e^-a), exactly 0 or 1 far out in the tails."""
    out = _stable_sigmoid(a)

    def backward(g):
        slope = 1 - out  # σ' = σ (1 - σ), then times g, in place: one array, not three
        slope *= out
        slope *= g
        return (slope,)

    return out, backward


@primitive
def relu(a):
    """max(a, 0); its slope at exactly 0 is taken as 0, as in PyTorch."""
    positive = a > 0

    def backward(g):
        return (g * positive,)

    return a * positive, backward


@primitive
def softplus(a):
    """log(1 + e^a) = max(a, 0) + log(1 + e^-|a|), stable for large |a|; its slope is sigmoid(a)."""
    out = np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))

    def backward(g):
        return (g * _stable_sigmoid(a),)

    return out, backward


# ---------------------------------------------------------------- reductions


def _restore_axes(g, axis, keepdims, ndim):
    """Put back the axes a reduction removed, so ``g`` broadcasts against the input."""
    if keepdims or axis is None:
        return g if keepdims else np.reshape(g, (1,) * ndim)
    axes = (axis,) if isinstance(axis, int) else axis
    return np.expand_dims(g, tuple(ax % ndim for ax in axes))


@primitive
def sum(a, *, axis=None, keepdims=False):
    def backward(g):
        return (np.broadcast_to(_restore_axes(g, axis, keepdims, a.ndim), a.shape),)

    return np.sum(a, axis=axis, keepdims=keepdims), backward


@primitive
def mean(a, *, axis=None, keepdims=False):
    out = np.mean(a, axis=axis, keepdims=keepdims)
    count = a.size // out.size if out.size else 1  # how many inputs share each output

    def backward(g):
        return (np.broadcast_to(_restore_axes(g, axis, keepdims, a.ndim) / count, a.shape),)

    return out, backward


@primitive
def max(a, *, axis=None, keepdims=False):
    """The gradient goes to the maximal entries, shared equally between ties: PyTorch's rule
    for ``amax`` (its ``max(dim)`` instead gives all of it to one index)."""
    out = np.max(a, axis=axis, keepdims=keepdims)

    def backward(g):
        peak = _restore_axes(out, axis, keepdims, a.ndim)
        winners = a == peak
        share = winners / np.sum(winners, axis=axis, keepdims=True)
        return (_restore_axes(g, axis, keepdims, a.ndim) * share,)

    return out, backward


# ---------------------------------------------------------------- shape ops


@primitive
def reshape(a, *, shape):
    def backward(g):
        return (g.reshape(a.shape),)

    return np.reshape(a, shape), backward


@primitive
def transpose(a, *, axes=None):
    def backward(g):
        # The inverse permutation; axes are taken mod ndim first, as (-1, 0) means (ndim - 1, 0).
        return (np.transpose(g, None if axes is None else np.argsort([axis % a.ndim for axis in axes])),)

    return np.transpose(a, axes), backward


def _is_basic(index):
    """Slices, ints, None and ... only: such an index picks each element at most once."""
    for part in index if type(index) is tuple else (index,):
        if not (part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer))):
            return False
    return True


@primitive
def getitem(a, *, index):
    """Basic slicing and integer-array indexing; repeated indices add their gradients."""

    def backward(g):
        # Written into a zero array of a's shape -- one array for all the slices of a (deferred.py).
        return (Scatter(a.shape, a.dtype, index, g, _is_basic(index)),)

    return a[index], backward


# ----------------------------------------------------------- softmax family


@primitive
def softmax(a, *, axis=-1):
    """e^a / sum(e^a), shifted by the max first so that no exponential overflows."""
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    out = e / np.sum(e, axis=axis, keepdims=True)

    def backward(g):
        return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)

    return out, backward


@primitive
def log_softmax(a, *, axis=-1):
    """a - log(sum(e^a)), computed with the max subtracted first."""
    shifted = a - np.max(a, axis=axis, keepdims=True)
    out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def backward(g):
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)

    return out, backward


# ------------------------------------------------------- joining and cutting


@primitive
def concat(*arrays, axis=0):
    """Join along an existing axis; each input gets its own slice of the gradient back."""
    ends = np.cumsum([x.shape[axis] for x in arrays])[:-1]

    def backward(g):
        return tuple(np.split(g, ends, axis=axis))

    return np.concatenate(arrays, axis=axis), backward


@primitive
def stack(*arrays, axis=0):
    """Join along a new axis; each input gets its own layer of the gradient back."""
    out = np.stack(arrays, axis=axis)

    def backward(g):
        return tuple(np.moveaxis(g, axis, 0))

    return out, backward


def _zeros_for_unused(grads, shapes, dtype):
    """The pieces' gradients, zeros where a piece was not used."""
    return [np.zeros(shape, dtype) if g is None else g for g, shape in zip(grads, shapes)]


@primitive
def split(a, *, sizes, axis=0):
    """Pieces of the given sizes along an axis, views of ``a``; their gradients are joined once."""
    before = (slice(None),) * (axis % a.ndim)
    pieces, start = [], 0
    for size in sizes:  # basic slices, not np.split: several times less overhead
        pieces.append(a[(*before, slice(start, start + size))])
        start += size
    shapes = [piece.shape for piece in pieces]

    def backward(grads):
        return (np.concatenate(_zeros_for_unused(grads, shapes, a.dtype), axis=axis),)

    return tuple(pieces), backward


@primitive
def unbind(a, *, axis=0):
    """The slices along an axis, that axis removed: stack's inverse. Their gradients are
    stacked once."""
    slices = tuple(np.moveaxis(a, axis, 0))
    shapes = [piece.shape for piece in slices]

    def backward(grads):
        return (np.stack(_zeros_for_unused(grads, shapes, a.dtype), axis=axis),)

    return slices, backward
