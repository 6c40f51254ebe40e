"""Tensor: a NumPy array that remembers how it was made, with Python's operators.

Every operator calls an op of ``ops.py``; the op records the result on the tape
(``autograd.py``) when an input requires a gradient. ``loss.backward()`` hands the
tape to ``autograd.backward_walk``, which is backpropagation through time when the
tape holds an unrolled network.
"""

from __future__ import annotations

import numbers
from types import MappingProxyType
from typing import Any, Sequence

import numpy as np

from minigrad import autograd, ops
from minigrad.autograd import Node, backward_walk
from minigrad.errors import ShapeError
from minigrad.grad_mode import state


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to an array, refusing what is not numbers."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"tensor: expected numbers or an array of numbers, got {_describe(data)} ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"tensor: expected numbers (bool, int or float), got {_describe(data)} with dtype {array.dtype}"
        )
    return array


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


class Tensor(Node):
    """An n-dimensional array with an optional gradient, as ``torch.Tensor``.

    ``data`` is the NumPy array; ``grad`` is a NumPy array of the same shape filled by
    ``backward()`` (leaves only, as in PyTorch); ``name`` labels the tensor in graph
    pictures (``"s_t"``, ``"W"``). The tape's fields come from ``autograd.Node``.
    """

    __array_ufunc__ = None  # `ndarray + Tensor` defers to Tensor.__radd__ instead of looping in NumPy
    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None):
        self.data: np.ndarray = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"tensor: only floating-point tensors can require gradients, got dtype {self.data.dtype}; "
                "pass floats (e.g. 1.0) or dtype=float"
            )
        super().__init__(self.data, bool(requires_grad), name)

    def __getstate__(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in Node.__slots__ if name not in ("_created", "__weakref__")}
        return {**fields, "tags": dict(self.tags)}  # a mappingproxy cannot be pickled

    def __setstate__(self, fields: dict[str, Any]) -> None:
        """Unpickled or deep-copied: a new creation number, after those of its (already rebuilt) parents."""
        for name, value in fields.items():
            setattr(self, name, value)
        self.tags, self._created = MappingProxyType(self.tags), next(autograd.creation_order)

    # -- what a tensor is ---------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """Made by the user rather than by an op; only leaves keep ``.grad``."""
        return self.op is None

    @property
    def step(self) -> int | None:
        """The time step this tensor was computed in, if it was made inside ``mg.time_step``."""
        return self.tags.get("step")

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = [f"dtype={self.dtype}"] if self.dtype != np.float64 else []
        if self.name:
            extras.append(f"name={self.name!r}")
        if self.op:
            extras.append(f"op={self.op!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        if state.recorder is not None:  # mg.jit: a value read inside a recorded step is a decision it cannot replay
            state.recorder.value_read(self, "numpy()")
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, got shape {self.shape}")
        if state.recorder is not None:  # mg.jit: as in numpy()
            state.recorder.value_read(self, "item()")
        return self.data.item()

    def detach(self) -> Tensor:
        """The same values, cut off from the tape (no gradient flows through it)."""
        return Tensor(self.data, name=self.name)

    # -- backward -------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor: add d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` is the gradient of some final scalar with respect to ``self``; it may be
        left out when ``self`` has one element (it is then 1). Leaves accumulate as in
        PyTorch: call ``zero_grad()`` between steps. The tape is freed afterwards unless
        ``retain_graph=True``.
        """
        backward_walk(self, _seed_gradient(self, grad, "backward"), retain_graph)

    # -- operators, all defined in ops.py -----------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, _lift(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(_lift(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, _lift(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(_lift(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, _lift(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(_lift(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, _lift(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(_lift(other, self), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor):
            return ops.pow(self, exponent)
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"pow: exponent must be a number or a Tensor, got {_describe(exponent)}")
        return ops.power(self, exponent=exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return ops.pow(_lift(base, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(_lift(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index=_plain_index(index))

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis=axis, keepdims=keepdims)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def softplus(self) -> Tensor:
        return ops.softplus(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.log_softmax(self, axis=axis)

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape=shape)

    def transpose(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes=axes or None)

    @property
    def T(self) -> Tensor:
        """All axes reversed, as ``ndarray.T``."""
        return ops.transpose(self, axes=None)

    def split(self, split_size_or_sections: int | list[int], axis: int = 0) -> list[Tensor]:
        return split(self, split_size_or_sections, axis)

    def unbind(self, axis: int = 0) -> tuple[Tensor, ...]:
        return unbind(self, axis)


def tensor(data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None) -> Tensor:
    """Make a Tensor from numbers, nested lists or a NumPy array (floats default to float64).

    The data is copied, as ``torch.tensor`` copies: later updates never reach the caller's array.
    """
    return Tensor(_as_array(data, dtype).copy(), requires_grad=requires_grad, name=name)


def _lift(value: Any, like: Tensor) -> Tensor:
    """Wrap a plain number or array as a constant; a Python float keeps ``like``'s float dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and like.dtype.kind == "f":
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


def _plain_index(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if type(index) is tuple and any(isinstance(i, Tensor) for i in index):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _seed_gradient(output: Tensor, grad: Any, caller: str) -> np.ndarray:
    """The gradient that starts a backward walk: given, or 1 for a one-element output."""
    if not output.requires_grad:
        raise RuntimeError(
            f"{caller}: this tensor does not require grad; "
            "create an input with requires_grad=True (or use mg.nn.Parameter) first"
        )
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: a gradient can be implied only for a one-element output, got shape {output.shape}; "
                "pass a gradient of that shape"
            )
        return np.ones_like(output.data)
    grad = _as_array(grad, output.dtype)
    if grad.shape != output.shape:
        raise ShapeError(f"{caller}: grad has shape {grad.shape} but the tensor has shape {output.shape}")
    return grad


def gradients(output: Tensor, inputs: Sequence[Tensor], grad: Any = None, retain_graph: bool = False) -> list[np.ndarray]:
    """d(output)/d(input) for each input, leaving every ``.grad`` untouched (``torch.autograd.grad``).

    Inputs may be leaves or computed tensors; one that ``output`` does not depend on gets zeros.
    """
    found = backward_walk(output, _seed_gradient(output, grad, "gradients"), retain_graph, set(inputs))
    return [np.array(found[x], dtype=x.dtype) if x in found else np.zeros_like(x.data) for x in inputs]


def as_tensor(value: Any, dtype: Any = None) -> Tensor:
    """``value`` itself if it is a Tensor, else a constant Tensor of it, as ``torch.as_tensor``
    (an array is not copied unless ``dtype`` asks for another type)."""
    return value if isinstance(value, Tensor) else Tensor(value, dtype=dtype)


def concat(tensors: list[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis, as ``torch.cat``."""
    return ops.concat(*tensors, axis=axis)


def stack(tensors: list[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis, as ``torch.stack``."""
    return ops.stack(*tensors, axis=axis)


def split(x: Tensor, split_size_or_sections: int | list[int], axis: int = 0) -> list[Tensor]:
    """Cut ``x`` along ``axis`` into pieces, as ``torch.split``.

    An int is the size of each piece (the last may be smaller); a list gives each size.
    The pieces are views of ``x``, made by one op; their gradients join into one array.
    """
    shape = x.data.shape
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"split: axis {axis} is out of range for a tensor of shape {shape}")
    length = shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: the piece size must be positive, got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} of {x.shape} has {length}")
    return list(ops.split(x, sizes=tuple(sizes), axis=axis))


def unbind(x: Tensor, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``axis``, that axis removed, as ``torch.unbind``: stack's inverse.

    ``mg.nn.Recurrent`` reads x_t U + b of every step this way, with one op for all steps.
    """
    if not -x.ndim <= axis < x.ndim:
        raise ShapeError(f"unbind: axis {axis} is out of range for a tensor of shape {x.shape}")
    return ops.unbind(x, axis=axis)



Node.result_type = Tensor  # ops wrap their results, and constant inputs, in Tensors
