"""Tensor: a NumPy array that remembers how it was made, and backward() that walks that record.

Every op (see ``ops.py``) returns a new Tensor. When any input requires a gradient,
the result also stores

* ``op``        -- the op's name, e.g. ``"tanh"``,
* ``parents``   -- the input Tensors,
* ``_backward`` -- a function from the gradient of the output to the gradients of the inputs,
* ``tags``      -- where in the unrolled network it was made (``{"step": 3, ...}``).

That record is the *tape*. ``loss.backward()`` sorts it so that every tensor comes
after everything computed from it, then hands gradients from the loss back to the
leaves. For a recurrent network the tape holds one copy of the cell per time step,
so this walk *is* backpropagation through time (BPTT).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import numbers
import operator
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.deferred import Deferred
from minigrad.errors import GraphFreedError, ShapeError

# Global recording state: is the tape on, and which tags go on new nodes.
_grad_enabled = True
_current_tags: dict[str, Any] = {}
_creation_order = itertools.count()


class no_grad(contextlib.ContextDecorator):
    """Record nothing inside this block (evaluation, optimizer updates).

    ``with mg.no_grad(): ...``, or as a decorator, ``@mg.no_grad`` or ``@mg.no_grad()``.
    """

    def __new__(cls, function: Callable | None = None):
        instance = super().__new__(cls)
        instance._previous = []  # a stack, so a decorated recursive function restores correctly
        return instance if function is None else instance(function)  # bare @mg.no_grad

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = False

    def __exit__(self, *exc_info: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._previous.pop()


def is_grad_enabled() -> bool:
    """True unless inside ``mg.no_grad()``."""
    return _grad_enabled


class time_step(contextlib.ContextDecorator):
    """Tag every op recorded inside with ``step`` (and e.g. ``layer=``, ``direction=``);
    ``step=None`` marks work that belongs to a layer but to no single step.

    ``mg.nn.Recurrent`` wraps each step of the unrolled loop in this; the graph view
    groups nodes by these tags. (A class rather than a generator: it is entered once per
    step of every sequence, and this costs a third as much.)
    """

    def __init__(self, step: int | None, **tags: Any):
        self.step, self.tags = step, tags
        self._previous: list[dict] = []  # a stack, so a decorated recursive function restores correctly

    def __enter__(self) -> None:
        global _current_tags
        self._previous.append(_current_tags)
        _current_tags = {**_current_tags, "step": self.step, **self.tags}

    def __exit__(self, *exc_info: Any) -> None:
        global _current_tags
        _current_tags = self._previous.pop()


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


class Tensor:
    """An n-dimensional array with an optional gradient, as ``torch.Tensor``.

    ``data`` is the NumPy array; ``grad`` is a NumPy array of the same shape filled by
    ``backward()`` (leaves only, as in PyTorch); ``name`` labels the tensor in graph
    pictures (``"s_t"``, ``"W"``).
    """

    __array_ufunc__ = None  # `ndarray + Tensor` defers to Tensor.__radd__ instead of looping in NumPy
    __slots__ = (
        "data", "grad", "requires_grad", "name", "op", "parents", "tags", "_backward", "_created", "__weakref__"
    )  # fmt: skip

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None):
        self.data: np.ndarray = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"tensor: only floating-point tensors can require gradients, got dtype {self.data.dtype}; "
                "pass floats (e.g. 1.0) or dtype=float"
            )
        self.requires_grad: bool = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self.name = name
        # The tape: filled in by `record` for tensors that an op made.
        self.op: str | None = None
        self.parents: tuple[Tensor, ...] = ()
        self.tags: dict[str, Any] = _current_tags
        self._backward: Callable[[np.ndarray], tuple] | None = None
        self._created = next(_creation_order)  # after every input's: backward() and pictures sort by it

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in Tensor.__slots__ if name not in ("_created", "__weakref__")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled or deep-copied: a new creation number, after those of its (already rebuilt) parents."""
        for name, value in state.items():
            setattr(self, name, value)
        self._created = next(_creation_order)

    @classmethod
    def _from_op(
        cls, data: np.ndarray, op: str | None = None, parents: tuple[Tensor, ...] = (), backward: Callable | None = None
    ) -> Tensor:
        """An op's result, on the tape when ``backward`` is given: the same fields as __init__,
        without checking data NumPy just made."""
        result = object.__new__(cls)
        result.data = data if type(data) is np.ndarray else np.asarray(data)
        result.requires_grad = backward is not None
        result.grad = result.name = None
        result.op = op
        result.parents = parents
        result._backward = backward
        result.tags = _current_tags
        result._created = next(_creation_order)
        return result

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
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, got shape {self.shape}")
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
        _backpropagate(self, _seed_gradient(self, grad, "backward"), retain_graph, wanted=None)

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


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo NumPy broadcasting: sum ``grad`` over the axes that broadcasting added or stretched.

    If ``x`` of shape ``(3,)`` was added to ``y`` of shape ``(2, 3)``, each ``x[j]`` was used
    twice, so its gradient is the sum of the output gradient over axis 0.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


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


def _backpropagate(
    root: Tensor, grad: np.ndarray, retain_graph: bool, wanted: set[Tensor] | None
) -> dict[Tensor, np.ndarray]:
    """The backward walk, from ``root`` to the leaves, in reverse topological order.

    Each node receives the sum of the gradients of everything computed from it before it
    hands gradients on to its parents. With ``wanted=None`` leaves accumulate into
    ``.grad``; otherwise the gradients of the wanted tensors are returned and no
    ``.grad`` changes. (Tensors hash by identity, so they key the dictionaries.)
    """
    found: dict[Tensor, np.ndarray] = {}
    grads: dict[Tensor, np.ndarray] = {root: grad}  # gradients still to be handed on
    for node in reversed(_topological_order(root)):
        g = grads.pop(node, None)
        if g is None:  # nothing downstream depends on this node
            continue
        if isinstance(g, Deferred):  # a sum kept factored until now (deferred.py)
            g = g.value()
        if wanted is not None and node in wanted:
            found[node] = g
        backward = node._backward
        if node.op is None:  # a leaf
            if wanted is None:
                _accumulate_into_leaf(node, g)
            continue
        if backward is None:
            raise GraphFreedError(
                f"backward: the graph through {node.op!r} was freed by an earlier backward(); "
                "pass retain_graph=True to the first backward() to walk it again"
            )
        if type(backward) is _Joint:  # one of several outputs: the op's backward takes all their gradients
            g, backward = backward.gather(node, g, grads, wanted, found), backward.backward
        for parent, parent_grad in zip(node.parents, backward(g)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.shape != parent.data.shape:
                if isinstance(parent_grad, Deferred):
                    parent_grad = parent_grad.value()
                parent_grad = unbroadcast(parent_grad, parent.data.shape)
                if parent_grad.shape != parent.data.shape:  # a bug in the op's backward, not the user's
                    raise RuntimeError(
                        f"backward of {node.op!r} returned a gradient of shape {parent_grad.shape} "
                        f"for an input of shape {parent.data.shape}"
                    )
            earlier = grads.get(parent)
            grads[parent] = parent_grad if earlier is None else earlier + parent_grad
        if not retain_graph:
            node._backward = None  # drop the saved arrays; `op` and `parents` stay for pictures
    return found


def gradients(output: Tensor, inputs: Sequence[Tensor], grad: Any = None, retain_graph: bool = False) -> list[np.ndarray]:
    """d(output)/d(input) for each input, leaving every ``.grad`` untouched (``torch.autograd.grad``).

    Inputs may be leaves or computed tensors; one that ``output`` does not depend on gets zeros.
    """
    found = _backpropagate(output, _seed_gradient(output, grad, "gradients"), retain_graph, set(inputs))
    return [np.array(found[x], dtype=x.dtype) if x in found else np.zeros_like(x.data) for x in inputs]


def _topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor that ``root`` depends on and that requires grad, inputs before outputs.

    A tensor is always made after its inputs, so the order of creation is a topological
    order: find the tensors with an explicit stack (no recursion, so a 10,000-step
    unrolled sequence needs no recursion limit), then sort them by when they were made.
    """
    found = {root}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=_creation)


_creation = operator.attrgetter("_created")


def _accumulate_into_leaf(leaf: Tensor, grad: np.ndarray) -> None:
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=leaf.dtype, copy=True)  # own copy: ops may hand out shared arrays
    else:
        leaf.grad += grad


def _as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def primitive(forward: Callable[..., tuple[np.ndarray, Callable]]) -> Callable[..., Tensor]:
    """Turn ``forward(*arrays, **params) -> (out, backward)`` into an op on Tensors.

    The wrapped function unwraps Tensor inputs to arrays, calls ``forward`` and, when
    a gradient is wanted, records the result on the tape. ``backward(g)`` returns one
    gradient per Tensor input, shaped like the output where the op broadcast;
    ``backward()`` in this file reduces it with ``unbroadcast``. A ``forward`` that returns a
    tuple of arrays makes an op with several outputs (``split``): a Tensor for each, and
    ``backward`` then takes a tuple of their gradients (None for an output nothing used).
    """
    name = forward.__name__

    @functools.wraps(forward)
    def op(*inputs: Any, **params: Any) -> Tensor:
        tensors = inputs
        for x in inputs:
            if not isinstance(x, Tensor):  # a number or an array: a constant
                tensors = tuple(_as_tensor(x) for x in inputs)
                break
        try:
            out, backward = forward(*[t.data for t in tensors], **params)
        except ShapeError:
            raise
        except (ValueError, IndexError) as error:  # NumPy's complaint, prefixed with the op and shapes
            shapes = " and ".join(str(t.shape) for t in tensors)
            reason = "cannot be broadcast together" if "broadcast" in str(error) else str(error).strip()
            kind = IndexError if isinstance(error, IndexError) else ShapeError  # IndexError ends `for row in x`
            raise kind(f"{name}: {shapes}: {reason}") from None
        if type(out) is tuple:  # several outputs (split): a Tensor each, sharing one backward
            return _record_pieces(out, name, tensors, backward)
        if _grad_enabled:
            for t in tensors:
                if t.requires_grad:  # a gradient is wanted: record the op on the tape
                    return Tensor._from_op(out, name, tensors, backward)
        return Tensor._from_op(out)

    return op


def _record_pieces(pieces: tuple, name: str, parents: tuple[Tensor, ...], backward: Callable) -> tuple[Tensor, ...]:
    if not (_grad_enabled and [t for t in parents if t.requires_grad]):
        return tuple([Tensor._from_op(piece) for piece in pieces])
    joint = _Joint(backward)
    outputs = tuple([Tensor._from_op(piece, name, parents, joint) for piece in pieces])
    joint.outputs = [weakref.ref(output) for output in outputs]  # weak: the outputs hold `joint`, so no cycle
    return outputs


def _gone() -> None:
    """Stands in for the weak reference to an output that no longer exists."""
    return None


class _Joint:
    """The backward of an op with several outputs (split, unbind), shared by all of them.

    Its outputs were made together, so everything computed from any of them was made later:
    when the walk reaches the first of them, every output's gradient is complete, and the
    op's backward runs once, on all of them (None for an output nothing used).
    """

    def __init__(self, backward: Callable):
        self.backward = backward
        self.outputs: list[Callable[[], Tensor | None]] = []

    def gather(self, node: Tensor, g: np.ndarray, grads: dict, wanted: set | None, found: dict) -> tuple:
        """Every output's gradient, ``g`` being ``node``'s; the others are taken out of ``grads``."""
        gathered, reached = [], False
        for ref in self.outputs:
            output = ref()
            reached = reached or output is node
            other = g if output is node else grads.pop(output, None)
            if isinstance(other, Deferred):
                other = other.value()
            if other is not None and wanted is not None and output in wanted:
                found[output] = other
            gathered.append(other)
        if not reached:  # a copy.copy of one output: which output it stands for is unknown
            raise RuntimeError(
                f"backward: this tensor is a shallow copy of one output of {node.op!r}; "
                "deep-copy the whole graph (copy.deepcopy of the loss) or detach() the copy"
            )
        return tuple(gathered)

    def __deepcopy__(self, memo: dict) -> _Joint:
        """A copied graph gets a joint of its own over copies of every output, all made before
        anything computed from them, so the rule above holds in the copy too."""
        copied = _Joint(self.backward)  # a function of saved arrays: shared, as deepcopy shares functions
        memo[id(self)] = copied
        outputs = [ref() for ref in self.outputs]
        copied.outputs = [_gone if out is None else weakref.ref(copy.deepcopy(out, memo)) for out in outputs]
        return copied


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


from minigrad import ops  # noqa: E402  (ops builds on `primitive` above; Tensor's methods call into it)
