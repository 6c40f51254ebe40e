"""Deferred gradients: sums the backward walk keeps factored until a node needs the value,
and the joint backward of an op with several outputs, deferred until all their gradients are in.

An unrolled network uses each weight once per time step, so its gradient is a sum of T
pieces. Added one by one, that is T small matrix products and T additions; kept as
factors, it is one product over all T*B rows at the end -- the trick a hand-written
BPTT uses. The same holds for a tensor sliced once per step: T zero-filled copies
become one array with T slices written into it.

Ops may return these from backward; the walk (autograd.py) adds them with ``+`` and
``resolve``s them before a gradient is handed to an op's backward or stored in ``.grad``.
"""

from __future__ import annotations

import copy
import weakref
from typing import Any, Callable

import numpy as np


class Deferred:
    """A gradient not yet computed: it knows its shape, how to merge, and its value."""

    __array_ufunc__ = None  # `ndarray + Deferred` defers to Deferred.__radd__
    shape: tuple[int, ...]

    def value(self) -> np.ndarray:
        raise NotImplementedError

    def __add__(self, other: Any) -> Any:
        if type(other) is type(self) and self.shape == other.shape:
            return self.merged(other)
        return self.value() + (other.value() if isinstance(other, Deferred) else other)

    __radd__ = __add__

    def merged(self, other: Any) -> Deferred:
        raise NotImplementedError


def resolve(grad: Any) -> Any:
    """The value of a deferred gradient; anything else as it is."""
    return grad.value() if isinstance(grad, Deferred) else grad


class ProductSum(Deferred):
    """Σ_i a_iᵀ b_i, kept as the lists of a_i and b_i: the gradient of a weight used in
    ``x_i @ Wᵀ`` at every step (with a_i = g_i, b_i = x_i) is one matmul over all rows."""

    def __init__(self, left: np.ndarray, right: np.ndarray):
        self.lefts, self.rights = [left], [right]
        self.shape = (left.shape[-1], right.shape[-1])

    def merged(self, other: ProductSum) -> ProductSum:
        self.lefts += other.lefts
        self.rights += other.rights
        return self

    def value(self) -> np.ndarray:
        if len(self.lefts) == 1:
            return self.lefts[0].T @ self.rights[0]
        return np.concatenate(self.lefts).T @ np.concatenate(self.rights)


class Scatter(Deferred):
    """Gradients of slices of one array, written into a single zero array when needed
    (instead of a zero-filled copy of the whole array per slice)."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, index: Any, grad: np.ndarray, basic: bool):
        self.shape, self.dtype = shape, dtype
        self.parts = [(index, grad, basic)]

    def merged(self, other: Scatter) -> Scatter:
        self.parts += other.parts
        return self

    def value(self) -> np.ndarray:
        total = np.zeros(self.shape, dtype=self.dtype)
        for index, grad, basic in self.parts:
            if basic:
                total[index] += grad  # distinct slices may overlap: add, never overwrite
            else:
                np.add.at(total, index, grad)  # an index array may repeat an element
        return total


def _gone() -> None:
    """Stands in for the weak reference to an output that no longer exists."""
    return None


class Joint:
    """The backward of an op with several outputs (split, unbind), shared by all of them.

    Its outputs were made together, so everything computed from any of them was made later:
    when the walk reaches the first of them, every output's gradient is complete, and the
    op's backward runs once, on all of them (None for an output nothing used).
    """

    def __init__(self, backward: Callable):
        self.backward = backward
        self.outputs: list[Callable[[], Any]] = []

    def own(self, outputs: tuple) -> tuple:
        """Remember the outputs, weakly: they hold this joint, so no reference cycle."""
        self.outputs = [weakref.ref(output) for output in outputs]
        return outputs

    def gather(self, node: Any, grad: np.ndarray, take: Callable[[Any], Any]) -> tuple:
        """Every output's gradient, ``grad`` being ``node``'s; ``take`` hands over the others'."""
        outputs = [ref() for ref in self.outputs]
        if not any(output is node for output in outputs):  # a copy.copy of one output: which one is unknown
            raise RuntimeError(
                f"backward: this tensor is a shallow copy of one output of {node.op!r}; "
                "deep-copy the whole graph (copy.deepcopy of the loss) or detach() the copy"
            )
        return tuple(grad if output is node else take(output) for output in outputs)

    def __deepcopy__(self, memo: dict) -> Joint:
        """A copied graph gets a joint of its own over copies of every output, all made before
        anything computed from them, so the rule above holds in the copy too."""
        copied = Joint(self.backward)  # a function of saved arrays: shared, as deepcopy shares functions
        memo[id(self)] = copied
        outputs = [ref() for ref in self.outputs]
        copied.outputs = [_gone if out is None else weakref.ref(copy.deepcopy(out, memo)) for out in outputs]
        return copied
