"""mg.jit's replay: a recorded step lowered to NumPy calls on buffers allocated once.

A ``Plan`` is built by running the recording once. Every array the step computes gets a
buffer of its own, kept from replay to replay, and every NumPy call is kept as a *kernel*:
the call with its arguments bound and ``out=`` its buffer. A replay copies the new inputs
into their buffers and calls the kernels in order -- no Tensors, no closures, no allocation:

    np.matmul(h_0, W_hh.T, out=v3)       # linear: h_{t-1} W^T ...
    np.add(v3, xU_1, out=v3)             #         ... + (x_t U + b), in place as in ops.linear
    np.tanh(v3, out=v4)                  # s_t

The table below (``LOWERINGS``) has each hot primitive of ops.py again, its forward and its
backward side by side as there, written on buffers: the same NumPy functions on the same
operands in the same order, so the results are bit-identical (the trial replay in jit.py
checks it). Views (reshape, slices, split, unbind) cost nothing: a view of a fixed buffer stays
valid. An op without an entry runs its own forward and backward at every replay and its results
are copied into its buffers (``generic``). The backward walk is lowered the same way, its
pending gradients followed at build time: a weight's gradient over all steps stays one
matmul over all rows (``ProductSum``), with the rows gathered into one buffer allocated once.
The kernels are then rewritten without changing a value (rewrites.py): joins computed in place,
one call for many steps where the steps' calls do not depend on each other, memory shared.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.deferred import Deferred, ProductSum, Scatter, resolve
from minigrad.rewrites import line_up_steps, merge_steps, place, share_memory

OPS, WALK, CALL = 0, 1, 2  # the kinds of events of a recorded program (jit.py)
SEED, BACK, LEAF = 0, 1, 2  # the kinds of instructions of a recorded walk

LOWERINGS: dict[Callable, Callable] = {}  # an op's forward function -> its lowering


def lowers(op: Callable) -> Callable[[Callable], Callable]:
    def register(lowering: Callable) -> Callable:
        LOWERINGS[op.__wrapped__] = lowering
        return lowering

    return register


class NotLowered(Exception):
    """A lowering declines these operands (before emitting anything): the op runs generically."""


class Builder:
    """Runs each call now and keeps it, ``out=`` a buffer of its own, for every later replay."""

    def __init__(self) -> None:
        self.kernels: list[Callable[[], Any]] = []
        self.owned: set[int] = set()  # buffers made here, which ``place`` may move into a join
        self.pinned: list[np.ndarray] = []  # arrays held inside closures, which must stay where they are

    def run(self, function: Callable, *args: Any, out: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """``function(*args, out=out)``; without ``out``, a new buffer shaped like the result."""
        if out is None:
            result = function(*args, **kwargs)  # learns the result's shape and dtype
            out = result if type(result) is np.ndarray else np.array(result)
            self.owned.add(id(out))
        if type(function) is np.ufunc and not kwargs:
            kernel = partial(function, *args, out)  # out= given by position: a third less call overhead
        else:
            kernel = partial(function, *args, out=out, **kwargs)
        kernel()  # the out= call itself, the one every replay makes
        self.kernels.append(kernel)
        return out

    def call(self, kernel: Callable[[], Any]) -> None:
        """A kernel that is not one NumPy call (a leaf's gradient, an optimizer's step)."""
        kernel()
        self.kernels.append(kernel)

    def reshaped(self, a: np.ndarray, shape: tuple) -> np.ndarray:
        """``np.reshape(a, shape)``: a view where NumPy gives one, else a buffer copied into."""
        view = np.reshape(a, shape)
        if np.may_share_memory(view, a):
            return view
        out = np.empty(view.shape, a.dtype)
        self.owned.add(id(out))
        self.call(partial(np.copyto, out.reshape(a.shape), a))  # C order, as reshape copies
        return out

    def value(self, grad: Any) -> Any:
        """A deferred gradient's value (``Deferred.value``), computed into buffers; anything else as is."""
        if type(grad) is ProductSum:
            return self.run(np.matmul, *self.factors(grad))
        if type(grad) is Scatter:
            total = np.zeros(grad.shape, dtype=grad.dtype)
            self.owned.add(id(total))
            self.call(partial(total.fill, 0))
            for index, part, basic in grad.parts:
                if basic:
                    window = total[_as_view(index)]  # distinct slices may overlap: add, never overwrite
                    self.run(np.add, window, part, out=window)
                else:
                    self.call(partial(np.add.at, total, index, part))
            return total
        if isinstance(grad, Deferred):
            raise NotLowered(f"a {type(grad).__name__} gradient")
        return grad

    def factors(self, grad: ProductSum) -> tuple[np.ndarray, np.ndarray]:
        """The two matrices whose product is a ``ProductSum``'s value: every step's rows, gathered."""
        if len(grad.lefts) == 1:
            return grad.lefts[0].T, grad.rights[0]
        return self.run(np.concatenate, grad.lefts).T, self.run(np.concatenate, grad.rights)

    def add(self, earlier: Any, grad: Any) -> Any:
        """``earlier + grad`` as the walk adds gradients: deferred sums of one kind merge."""
        if earlier is None:
            return grad
        if isinstance(earlier, Deferred) and type(grad) is type(earlier) and earlier.shape == grad.shape:
            return earlier.merged(grad)
        if isinstance(grad, Deferred) and not isinstance(earlier, Deferred):
            earlier, grad = grad, earlier  # ndarray + Deferred is Deferred.__radd__: its value first
        return self.run(np.add, self.value(earlier), self.value(grad))

    def unbroadcast(self, grad: np.ndarray, shape: tuple) -> np.ndarray:
        """autograd.unbroadcast, into buffers."""
        extra = grad.ndim - len(shape)
        if extra > 0:
            grad = self.run(np.sum, grad, axis=tuple(range(extra)))
        stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
        return self.run(np.sum, grad, axis=stretched, keepdims=True) if stretched else grad


class Plan:
    """A recorded program (jit.Program) lowered onto buffers. Building it runs it once, on
    ``inputs``: that run is a replay. ``run`` replays it again on new input arrays."""

    def __init__(self, program: Any, inputs: list, arrays: list[np.ndarray]):
        k = Builder()
        self.current = inputs  # this replay's input tensors: an input that requires grad gets .grad
        values: list[Any] = [None] * program.slots
        self.inputs = [_laid_out_like(a) for a in arrays]  # new inputs are copied in at each replay
        values[: len(arrays)] = self.inputs
        for slot, source in program.copies:  # mg.tensor(x) of an input x: the same values, never written
            values[slot] = self.inputs[source]
        for slot, source, shape, strides, offset in program.views:  # y[:, None] of an input y
            buffer = self.inputs[source]
            values[slot] = np.ndarray(shape, buffer.dtype, buffer=buffer, offset=offset, strides=strides)
        self.bound = [(t, t.data) for _, t in program.live]  # parameters, read where they are
        for slot, t in program.live:
            values[slot] = t.data
        for slot, array in program.constants:
            values[slot] = array
        backwards: list[Any] = [None] * len(program.ops)
        for event in program.events:
            if event[0] == OPS:
                for index in range(event[1], event[2]):
                    forward, ins, params, outs = program.ops[index]
                    operands = [values[s] for s in ins]
                    try:
                        if forward not in LOWERINGS:
                            raise NotLowered(forward.__name__)
                        out, backwards[index] = LOWERINGS[forward](k, *operands, **params)
                    except NotLowered:
                        out, backwards[index] = generic(k, forward, operands, params)
                    if type(outs) is int:
                        values[outs] = out
                    else:
                        for slot, piece in zip(outs, out):
                            values[slot] = piece
            elif event[0] == WALK:
                self._walk(k, event[1], backwards, program)
            else:  # an optimizer's or module's step / zero_grad
                k.call(partial(event[1], *event[2], **event[3]))
        kept = [values[slot] for slot in program.returned_slots]  # what the step returns
        kernels = place(k.kernels, kept, k.owned, k.pinned)  # updates kept where a part moved
        kernels = line_up_steps(kernels, kept, k.owned, k.pinned)  # each step's buffers of one role, in one block
        kernels = merge_steps(kernels, k.pinned)  # one elementwise call for many steps
        self.kernels = share_memory(kernels, kept, k.owned, k.pinned)
        self.values = dict(zip(program.returned_slots, kept))

    def _walk(self, k: Builder, instructions: list, backwards: list, program: Any) -> None:
        """``backward_walk``'s arithmetic, in its order, from the recorded instructions."""
        pending: list[Any] = [None] * program.gnodes
        for instruction in instructions:
            kind = instruction[0]
            if kind == BACK:
                _, index, node, joint, sends = instruction
                if joint is None:
                    g = k.value(pending[node])
                    pending[node] = None
                else:
                    g = tuple(k.value(pending[n]) for n in joint)
                    for n in joint:
                        pending[n] = None
                needs = [False] * len(program.ops[index][1])
                for i, _, _ in sends:
                    needs[i] = True
                sent = backwards[index](k, g, tuple(needs))
                for i, parent, shape in sends:
                    grad = sent[i]
                    if grad.shape != shape:
                        grad = k.unbroadcast(k.value(grad), shape)
                    pending[parent] = k.add(pending[parent], grad)
            elif kind == LEAF:
                _, node, (where, ref) = instruction
                g, pending[node] = pending[node], None
                if type(g) is ProductSum:  # a weight's gradient: its matmul makes the leaf's array, as in eager
                    k.call(partial(self._product_to_leaf, where, ref, *k.factors(g)))
                else:
                    k.call(partial(self._to_leaf, where, ref, k.value(g)))
            else:  # SEED: never written (kernels write only into buffers of their own)
                pending[instruction[1]] = instruction[2]

    def _to_leaf(self, where: str, ref: Any, g: np.ndarray, fresh: bool = False) -> None:
        leaf = self.current[ref] if where == "arg" else ref
        if leaf.grad is None:  # its own array, as backward_walk: a copy, unless g was made for it
            leaf.grad = g if fresh and g.dtype == leaf.data.dtype else np.array(g, dtype=leaf.data.dtype)
        else:
            leaf.grad += g

    def _product_to_leaf(self, where: str, ref: Any, left: np.ndarray, right: np.ndarray) -> None:
        """A weight's gradient, left @ right, made anew at each replay and handed to the leaf:
        no buffer of the plan's holds it, and no copy is made (eager makes one)."""
        self._to_leaf(where, ref, np.matmul(left, right), fresh=True)

    def still_bound(self) -> bool:
        """The parameters still hold the arrays the kernels were bound to (updates are in place)."""
        return all(t.data is array for t, array in self.bound)

    def run(self, inputs: list, arrays: list[np.ndarray]) -> None:
        for buffer, array in zip(self.inputs, arrays):
            np.copyto(buffer, array)
        self.current = inputs
        for kernel in self.kernels:
            kernel()


def generic(k: Builder, forward: Callable, arrays: list, params: dict) -> tuple:
    """An op with no lowering: its own forward and backward run at every replay, and what
    they return is copied into buffers of its own."""
    out, backward = forward(*arrays, **params)
    many = type(out) is tuple
    pieces = out if many else (out,)
    # a view of an operand stays that view (as in eager, it sees later changes of the operand);
    # anything else is copied into a buffer of its own at every replay
    views = [type(p) is np.ndarray and any(np.may_share_memory(p, a) for a in arrays) for p in pieces]
    buffers = tuple(p if view else np.array(p, copy=True) for p, view in zip(pieces, views))
    closure = [backward]  # the backward of the latest replay's forward

    def forward_kernel() -> None:
        out, closure[0] = forward(*arrays, **params)
        for buffer, piece, view in zip(buffers, out if many else (out,), views):
            if not view:
                np.copyto(buffer, piece)

    k.kernels.append(forward_kernel)  # it ran above
    k.pinned += [*arrays, *buffers]

    def lowered_backward(k: Builder, g: Any, needs: tuple) -> tuple:
        sent = closure[0](g)
        grads = [None if s is None or not need else np.array(resolve(s), copy=True) for s, need in zip(sent, needs)]

        def backward_kernel() -> None:
            for buffer, s in zip(grads, closure[0](g)):
                if buffer is not None:
                    np.copyto(buffer, resolve(s))

        k.kernels.append(backward_kernel)  # it ran above
        k.pinned += [a for a in (*(g if type(g) is tuple else (g,)), *grads) if a is not None]
        return tuple(grads)

    return (buffers if many else buffers[0]), lowered_backward


# -- the hot primitives, on buffers -------------------------------------------------------------


@lowers(ops.add)
def add(k, a, b):
    def backward(k, g, needs):
        return g, g

    return k.run(np.add, a, b), backward


@lowers(ops.sub)
def sub(k, a, b):
    def backward(k, g, needs):
        return g, (k.run(np.negative, g) if needs[1] else None)

    return k.run(np.subtract, a, b), backward


@lowers(ops.mul)
def mul(k, a, b):
    def backward(k, g, needs):
        return (k.run(np.multiply, g, b) if needs[0] else None), (k.run(np.multiply, g, a) if needs[1] else None)

    return k.run(np.multiply, a, b), backward


@lowers(ops.linear)
def linear(k, x, weight, bias=None):
    if weight.ndim != 2 or x.ndim == 0 or (bias is not None and bias.dtype != np.result_type(x, weight)):
        raise NotLowered("linear with type promotion")
    rows_x = x if x.ndim == 2 else k.reshaped(x, (-1, x.shape[-1]))
    out = k.run(np.matmul, rows_x, weight.T)
    if x.ndim != 2:
        out = out.reshape(*x.shape[:-1], weight.shape[0])  # a view: the buffer is contiguous
    if bias is not None:
        k.run(np.add, out, bias, out=out)  # in place, as ops.linear

    def backward(k, g, needs):
        rows_g = g if g.ndim == 2 else k.reshaped(g, (-1, g.shape[-1]))
        grad_x = None
        if needs[0]:
            grad_x = k.run(np.matmul, rows_g, weight)
            if x.ndim != 2:
                grad_x = grad_x.reshape(x.shape)
        grad_weight = ProductSum(rows_g, rows_x)  # summed over the walk, then one matmul (Builder.value)
        return (grad_x, grad_weight) if bias is None else (grad_x, grad_weight, g)

    return out, backward


@lowers(ops.tanh)
def tanh(k, a):
    out = k.run(np.tanh, a)

    def backward(k, g, needs):
        slope = k.run(np.multiply, out, out)
        k.run(np.subtract, 1, slope, out=slope)  # 1 - tanh²
        k.run(np.multiply, slope, g, out=slope)
        return (slope,)

    return out, backward


@lowers(ops.sigmoid)
def sigmoid(k, a):
    out = k.run(np.multiply, a, 0.5)  # (1 + tanh(a/2)) / 2, as ops._stable_sigmoid
    k.run(np.tanh, out, out=out)
    k.run(np.multiply, out, 0.5, out=out)
    k.run(np.add, out, 0.5, out=out)

    def backward(k, g, needs):
        slope = k.run(np.subtract, 1, out)  # σ (1 - σ) g
        k.run(np.multiply, slope, out, out=slope)
        k.run(np.multiply, slope, g, out=slope)
        return (slope,)

    return out, backward


@lowers(ops.relu)
def relu(k, a):
    positive = k.run(np.greater, a, 0)

    def backward(k, g, needs):
        return (k.run(np.multiply, g, positive),)

    return k.run(np.multiply, a, positive), backward


@lowers(ops.sum)
def sum(k, a, *, axis=None, keepdims=False):
    def backward(k, g, needs):
        return (np.broadcast_to(ops._restore_axes(g, axis, keepdims, a.ndim), a.shape),)

    return k.run(np.sum, a, axis=axis, keepdims=keepdims), backward


@lowers(ops.mean)
def mean(k, a, *, axis=None, keepdims=False):
    if a.dtype not in (np.float32, np.float64):  # float16's mean rounds its float32 sum first given out=
        raise NotLowered("mean of another dtype")
    out = k.run(np.mean, a, axis=axis, keepdims=keepdims)
    count = a.size // out.size if out.size else 1

    def backward(k, g, needs):
        share = k.run(np.divide, ops._restore_axes(g, axis, keepdims, a.ndim), count)
        return (np.broadcast_to(share, a.shape),)

    return out, backward


@lowers(ops.reshape)
def reshape(k, a, *, shape):
    def backward(k, g, needs):
        return (k.reshaped(g, a.shape),)

    return k.reshaped(a, shape), backward


@lowers(ops.getitem)
def getitem(k, a, *, index):
    basic = ops._is_basic(index)
    picked = a[index]
    if type(picked) is np.ndarray and np.may_share_memory(picked, a):
        out = picked  # a view of a fixed buffer, as eager's: nothing to do at replay
    else:  # a copy, as eager's (an advanced index; a number where every axis is indexed)
        out = np.array(picked, copy=True)
        k.call(partial(_take, a, index, out))

    def backward(k, g, needs):
        return (Scatter(a.shape, a.dtype, index, g, basic),)

    return out, backward


def _laid_out_like(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` with its strides, so that every call sees the input laid out as eager does
    (a reduction sums in memory order; the signature holds the strides)."""
    if a.flags.c_contiguous or a.flags.f_contiguous or min(a.strides, default=0) < 0:
        return np.array(a, copy=True, order="K")
    span = builtins.sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + a.itemsize if a.size else 0
    memory = np.empty(span, np.uint8)
    copy = np.ndarray(a.shape, a.dtype, buffer=memory, strides=a.strides)
    np.copyto(copy, a)
    return copy


def _as_view(index: Any) -> Any:
    """A basic index that gives a view even where it indexes every axis (``a[0]`` of a vector is a
    number, ``a[0, ...]`` a 0-d view)."""
    parts = index if type(index) is tuple else (index,)
    return parts if any(part is Ellipsis for part in parts) else (*parts, Ellipsis)


def _layers(a: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The slices along ``axis``, as views (``[i, ...]``: a 0-d slice is a view, not a number)."""
    layers = np.moveaxis(a, axis, 0)
    return tuple(layers[i, ...] for i in range(len(layers)))


def _take(a: np.ndarray, index: Any, out: np.ndarray) -> None:
    out[...] = a[index]  # advanced indexing copies: into the buffer


@lowers(ops.split)
def split(k, a, *, sizes, axis=0):
    before = (slice(None),) * (axis % a.ndim)
    pieces, start = [], 0
    for size in sizes:
        pieces.append(a[(*before, slice(start, start + size))])  # views
        start += size

    def backward(k, grads, needs):
        parts = [np.zeros(p.shape, a.dtype) if g is None else g for g, p in zip(grads, pieces)]
        return (k.run(np.concatenate, parts, axis=axis),)

    return tuple(pieces), backward


@lowers(ops.unbind)
def unbind(k, a, *, axis=0):
    slices = _layers(a, axis)

    def backward(k, grads, needs):
        parts = [np.zeros(s.shape, a.dtype) if g is None else g for g, s in zip(grads, slices)]
        return (k.run(np.stack, parts, axis=axis),)

    return slices, backward


@lowers(ops.stack)
def stack(k, *arrays, axis=0):
    def backward(k, g, needs):
        return _layers(g, axis)

    return k.run(np.stack, list(arrays), axis=axis), backward


@lowers(ops.concat)
def concat(k, *arrays, axis=0):
    ends = np.cumsum([x.shape[axis] for x in arrays])[:-1]

    def backward(k, g, needs):
        return tuple(np.split(g, ends, axis=axis))  # views

    return k.run(np.concatenate, list(arrays), axis=axis), backward
