"""Deferred gradients: sums the backward walk keeps factored until a node needs the value.

An unrolled network uses each weight once per time step, so its gradient is a sum of T
pieces. Added one by one, that is T small matrix products and T additions; kept as
factors, it is one product over all T*B rows at the end -- the trick a hand-written
BPTT uses. The same holds for a tensor sliced once per step: T zero-filled copies
become one array with T slices written into it.

Ops may return these from backward; ``_backpropagate`` adds them with ``+`` and calls
``value()`` before a gradient is handed to an op's backward or stored in ``.grad``.
"""

from __future__ import annotations

from typing import Any

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
