"""The tape: how an op is recorded, and the backward walk that replays it in reverse.

An op made with ``@primitive`` computes its output and, when an input wants a gradient, stores on
it how it was made: ``op`` (its name), ``parents`` (inputs), ``_backward`` (output gradient -> input
gradients), ``tags`` (its time step). An unrolled network's tape holds one copy of the cell per
step, so ``backward_walk`` below *is* backpropagation through time."""

from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from minigrad.anomaly import check_gradient, check_output
from minigrad.deferred import Joint, resolve
from minigrad.errors import GraphFreedError, op_error
from minigrad.grad_mode import state

creation_order = itertools.count()  # a tensor is made after its inputs: this numbers a topological order


class Node:
    """A value on the tape (``Tensor`` adds the operators): its array, its gradient, how it was made.
    ``Node(data)`` is a leaf, made by the user; ``from_op`` makes an op's result."""

    __slots__ = ("data", "grad", "requires_grad", "name", "op", "parents", "tags", "_backward", "_created",
                 "__weakref__")  # fmt: skip
    result_type: type[Node]  # the class ops wrap their results and constants in: tensor.py sets Tensor

    def __init__(self, data: np.ndarray, requires_grad: bool = False, name: str | None = None):
        self.data, self.requires_grad, self.grad, self.name = data, requires_grad, None, name
        self.op, self.parents, self._backward = None, (), None
        self.tags, self._created = state.tags, next(creation_order)

    @classmethod
    def from_op(cls, data: Any, op: str | None = None, parents: tuple = (), backward: Any = None) -> Node:
        """An op's result; on the tape when ``backward`` is given."""
        result = object.__new__(cls)
        result.data = data if type(data) is np.ndarray else np.asarray(data)
        result.requires_grad, result.grad, result.name = backward is not None, None, None
        result.op, result.parents, result._backward = op, parents, backward
        result.tags, result._created = state.tags, next(creation_order)
        return result


def primitive(forward: Callable[..., tuple[Any, Callable]]) -> Callable[..., Any]:
    """Turn ``forward(*arrays, **params) -> (out, backward)`` into an op on tensors. ``backward(g)``
    returns one gradient per input (None: none), output-shaped where the op broadcast (the walk sums
    it back). A tuple of outputs shares one backward that runs once (``split``; see ``Joint``)."""
    name = forward.__name__

    def op(*inputs: Any, **params: Any) -> Any:
        tensors = tuple([x if isinstance(x, Node) else Node.result_type(x) for x in inputs])  # numbers: constants
        call = forward if state.recorder is None else state.recorder(forward, params, tensors)  # mg.jit, this thread
        try:
            out, backward = call(*[t.data for t in tensors], **params)
        except (ValueError, IndexError) as error:  # NumPy's complaint, said with the op and the shapes
            raise op_error(name, [t.shape for t in tensors], error) from None
        if state.detect_anomaly:
            check_output(out, name, state.tags.get("step"), tensors)
        make = Node.result_type.from_op
        if not (state.grad_enabled and True in [t.requires_grad for t in tensors]):  # no gradient wanted: no record
            return tuple(make(piece) for piece in out) if type(out) is tuple else make(out)
        if type(out) is not tuple:
            return make(out, name, tensors, backward)
        joint = Joint(backward)  # several outputs: the op's backward runs once for all of them
        return joint.own(tuple(make(piece, name, tensors, joint) for piece in out))

    op.__name__, op.__qualname__, op.__doc__, op.__wrapped__ = name, name, forward.__doc__, forward
    return op


def topological_order(root: Node) -> list[Node]:
    """Every tensor ``root`` depends on that requires grad, inputs before outputs: found with an
    explicit stack (a 10,000-step sequence needs no recursion limit), sorted by creation."""
    found, stack = {root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=lambda node: node._created)


def backward_walk(
    root: Node, grad: Any, retain_graph: bool = False, wanted: set | None = None, watch: Callable | None = None
) -> dict:
    """From ``root`` to the leaves, each node after everything computed from it: BPTT.

    With ``wanted=None`` leaves add their gradient into ``.grad``; otherwise the gradients of the
    ``wanted`` tensors are returned and no ``.grad`` changes. ``watch(node, g, sent)`` sees each op
    the walk reaches: the gradient reaching it and those its backward sends (the explorer's view).
    """
    pending, found = {root: grad}, {}  # gradients received and not yet handed on; those asked for

    def take(node: Node) -> np.ndarray | None:  # everything ``node`` received, as one array, or None
        g = resolve(pending.pop(node, None))  # a sum kept factored until now gets its value
        if wanted is not None and g is not None and node in wanted:
            found[node] = g
        return g

    for node in reversed(topological_order(root)):
        g = take(node)
        if g is None:  # nothing downstream depends on this node
            continue
        if node.op is None:  # a leaf keeps its gradient and adds to it, as in PyTorch (zero_grad() clears)
            if wanted is None and node.grad is None:
                node.grad = np.array(g, dtype=node.data.dtype)  # its own copy: ops may hand out shared arrays
            elif wanted is None:
                node.grad += g
            continue
        backward = node._backward
        if backward is None:
            raise GraphFreedError(f"backward: the graph through {node.op!r} was freed by an earlier backward(); "
                                  "pass retain_graph=True to the first backward() to walk it again")  # fmt: skip
        if type(backward) is Joint:  # one of several outputs: gather all of theirs, run the op's backward once
            g, backward = backward.gather(node, g, take), backward.backward
        sent = backward(g)
        if watch is not None:
            watch(node, g, sent)
        for parent, parent_grad in zip(node.parents, sent):
            if parent_grad is not None and parent.requires_grad:
                accumulate(pending, parent, parent_grad, node)
        if not retain_graph:
            node._backward = None  # drop the saved arrays; `op` and `parents` stay for pictures
    return found


def accumulate(pending: dict, node: Node, grad: Any, sender: Node) -> None:
    """Add ``grad`` (``sender``'s backward sent it) to what ``node`` received, summed to its shape."""
    if grad.shape != node.data.shape:
        grad = unbroadcast(resolve(grad), node.data.shape)
        if grad.shape != node.data.shape:  # a bug in an op's backward, not the user's
            raise RuntimeError(f"backward: a gradient of shape {grad.shape} for a tensor of shape {node.data.shape}")
    if state.detect_anomaly:
        check_gradient(resolve(grad), sender, node)
    earlier = pending.get(node)
    pending[node] = grad if earlier is None else earlier + grad  # Deferred sums stay factored (deferred.py)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo NumPy broadcasting: sum ``grad`` over the axes broadcasting added or stretched
    (``x`` of shape (3,) added to a (2, 3) array was used twice: its gradient sums axis 0)."""
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad
