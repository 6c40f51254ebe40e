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
"""

from __future__ import annotations

import builtins
import heapq
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.deferred import Deferred, ProductSum, Scatter, resolve

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
            if len(grad.lefts) == 1:
                return self.run(np.matmul, grad.lefts[0].T, grad.rights[0])
            lefts = self.run(np.concatenate, grad.lefts)
            rights = self.run(np.concatenate, grad.rights)
            return self.run(np.matmul, lefts.T, rights)
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
                g = k.value(pending[node])
                pending[node] = None
                k.call(partial(self._to_leaf, where, ref, g))
            else:  # SEED: never written (kernels write only into buffers of their own)
                pending[instruction[1]] = instruction[2]

    def _to_leaf(self, where: str, ref: Any, g: np.ndarray) -> None:
        leaf = self.current[ref] if where == "arg" else ref
        if leaf.grad is None:
            leaf.grad = np.array(g, dtype=leaf.data.dtype)  # its own copy, as backward_walk
        else:
            leaf.grad += g

    def still_bound(self) -> bool:
        """The parameters still hold the arrays the kernels were bound to (updates are in place)."""
        return all(t.data is array for t, array in self.bound)

    def run(self, inputs: list, arrays: list[np.ndarray]) -> None:
        for buffer, array in zip(self.inputs, arrays):
            np.copyto(buffer, array)
        self.current = inputs
        for kernel in self.kernels:
            kernel()


# -- copies avoided ------------------------------------------------------------------------------

JOINS = (np.concatenate, np.stack)
# Calls whose every result element is one correctly rounded operation, whatever the layout of their
# arrays. A part laid out otherwise in its region (a column block, strided) moves only if nothing
# else touches it: a transcendental ufunc, a reduction or a matmul may take another code path, or
# sum in another order, on another layout.
EXACT = {"add", "subtract", "multiply", "divide", "negative", "copyto", "concatenate", "stack", "fill"}


def place(kernels: list, values: list, owned: set[int], pinned: list) -> list:
    """The kernels with joins (concatenate, stack: the gradient of split and unbind, the weight
    sums' rows, a stacked output) made in place where they can be: a part computed into a buffer
    of its own that nothing else views is computed straight into its region of the joined buffer,
    and the join no longer copies it. Joins are taken last first, so that a joined buffer can
    itself move into a later join. The values are unchanged; ``values`` is updated in place."""
    users: dict[int, set[int]] = {}  # id of the array owning some memory -> ids of the arrays seen on it
    unknown: list[np.ndarray] = []  # views whose owner NumPy does not record (np.broadcast_to)
    functions: dict[int, set] = {}  # id of an array -> the functions of the kernels that use it
    seen: list[np.ndarray] = [*values, *pinned]
    for kernel in kernels:
        for a in _arrays_in(kernel):
            functions.setdefault(id(a), set()).add(getattr(kernel.func, "__name__", kernel.func))
            seen.append(a)
    for a in seen:
        if isinstance(a, np.ndarray):
            root = _root(a)
            if root is None:
                unknown.append(a)
            else:
                users.setdefault(id(root), set()).add(id(a))
    held = {id(a) for a in pinned}  # read or written by a generic closure, which cannot be rewritten
    moved: dict[int, np.ndarray] = {}  # id of a part's buffer -> its region of a joined buffer
    result = list(kernels)
    for position in reversed(range(len(result))):
        kernel = result[position]
        if type(kernel) is not partial or kernel.func not in JOINS:
            continue
        parts, joined = kernel.args[0], kernel.keywords["out"]
        joined = moved.get(id(joined), joined)
        copies = []
        times = Counter(map(id, parts))
        for part, region in zip(parts, _regions(kernel.func, parts, joined, kernel.keywords.get("axis", 0))):
            movable = (
                id(part) in owned
                and id(part) not in held
                and part.base is None
                and users.get(id(part)) == {id(part)}
                and times[id(part)] == 1
                and (part.shape, part.dtype) == (region.shape, region.dtype)
                and (part.strides == region.strides or functions.get(id(part), set()) <= EXACT)
                and not any(np.may_share_memory(part, u) for u in unknown)
            )
            if movable:
                moved[id(part)] = region
                owned.discard(id(part))
            else:
                copies.append(partial(np.copyto, region, part))
        result[position : position + 1] = copies
    if not moved:
        return result

    def replace(a: np.ndarray) -> np.ndarray:
        return moved.get(id(a), a)

    values[:] = [replace(v) for v in values]
    return [_rewritten(kernel, replace) for kernel in result]


def share_memory(kernels: list, kept: list, owned: set[int], pinned: list) -> list:
    """The kernels with buffers that are never needed at the same time sharing memory: a buffer
    whose last reader has run lends its memory to one first written later (the backward walk's
    gradients, each read once, share a few blocks between them, as a hand-written loop reuses
    its temporaries). Returned and pinned buffers, and any a view NumPy cannot trace may see,
    keep their own. The values are unchanged."""
    first: dict[int, int] = {}  # id of a buffer -> the position of the first kernel that uses it
    last: dict[int, int] = {}
    buffers: dict[int, np.ndarray] = {}
    unknown: list[np.ndarray] = []
    for position, kernel in enumerate(kernels):
        for a in _arrays_in(kernel):
            root = _root(a)
            if root is None:
                unknown.append(a)
            elif id(root) in owned:
                first.setdefault(id(root), position)
                last[id(root)], buffers[id(root)] = position, root
    fixed = {key for key, b in buffers.items() if not b.flags.c_contiguous or b.nbytes == 0}
    for a in [*kept, *pinned]:
        root = _root(a)
        if root is None:
            unknown.append(a)
        else:
            fixed.add(id(root))
    for view in unknown:
        fixed.update(key for key, b in buffers.items() if np.may_share_memory(view, b))
    memory: dict[int, np.ndarray] = {}  # id of a buffer -> the buffer whose memory it uses
    free: dict[int, list[np.ndarray]] = {}  # bytes -> memory no longer needed
    holding: list[tuple[int, int]] = []  # (last use, id) of the buffers holding memory, soonest first
    for key in sorted(first, key=first.__getitem__):
        if key in fixed:
            continue
        while holding and holding[0][0] < first[key]:  # strictly before: never a kernel's input and output
            _, done = heapq.heappop(holding)
            free.setdefault(memory[done].nbytes, []).append(memory[done])
        buffer = buffers[key]
        pool = free.get(buffer.nbytes)
        memory[key] = pool.pop() if pool else buffer
        heapq.heappush(holding, (last[key], key))
    lent = {key: m for key, m in memory.items() if m is not buffers[key]}
    if not lent:
        return kernels
    rebased: dict[int, np.ndarray] = {}

    def rebase(a: np.ndarray) -> np.ndarray:
        if id(a) not in rebased:
            root = _root(a)
            target = lent.get(id(root)) if root is not None else None
            if target is None:
                rebased[id(a)] = a
            else:
                offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
                rebased[id(a)] = np.ndarray(a.shape, a.dtype, buffer=target, offset=offset, strides=a.strides)
        return rebased[id(a)]

    return [_rewritten(kernel, rebase) for kernel in kernels]


# -- one call for many steps ----------------------------------------------------------------------

# Elementwise calls whose every result element is one correctly rounded operation on the same
# element of each operand: one call over many regions gives the same bits as one call per region.
ELEMENTWISE = {np.add, np.subtract, np.multiply, np.divide, np.negative, np.copyto}


def merge_steps(kernels: list, pinned: list) -> list:
    """The kernels with one elementwise call over many time steps where the recording made one
    per step, as a hand-written BPTT computes tanh's slope 1 - s_t² for every step before its loop:
    calls of one function on regions that step through their buffers by a fixed stride (row t of
    a block of rows, column t of a stacked output) become one call on a view with one more axis,
    made where the first of them was. A call joins only if nothing between there and its own place
    writes what it reads or touches what it writes; once joined it counts as run there, so 1 - s²
    joins right after s² has. Every element gets the same operation on the same numbers: the
    values are unchanged."""
    memory = _Memory(pinned)
    forms = [_elementwise_form(k, memory) if type(k) is partial else None for k in kernels]
    kinds = [None if form is None else _kind(form, memory) for form in forms]
    repeated = {kind for kind, count in Counter(kinds).items() if kind is not None and count > 1}
    memory.track({id(memory.root(a)) for kind, form in zip(kinds, forms) if kind in repeated for a in form[1]})
    groups: dict[tuple, _Group] = {}  # the open group of each kind of call
    closed: list[_Group] = []
    for position, kernel in enumerate(kernels):
        if type(kernel) is not partial:
            continue  # a generic op's closure: it touches only pinned buffers, which nothing merged uses
        if not _is_numpy(kernel.func):  # an optimizer's step, a leaf's gradient: nothing moves across it
            closed += groups.values()
            groups.clear()
            continue
        written = _written(kernel)
        read = [a for a in _arrays_in(kernel) if not any(a is w for w in written)]
        runs_at, kind = position, kinds[position]
        if kind in repeated:
            func, arrays, numbers = forms[position]
            group = groups.get(kind)
            if group is not None and group.admits(arrays, memory) and memory.latest(read, written) < group.positions[0]:
                group.add(position, arrays, memory)
                runs_at = group.positions[0]
            else:
                closed += [group] if group is not None else []
                groups[kind] = _Group(position, func, arrays, numbers)
        memory.record(runs_at, read, written)
    replaced: dict[int, Callable | None] = {}  # position -> its group's one call (None: merged into it)
    for group in [*closed, *groups.values()]:
        if len(group.positions) > 1:
            replaced[group.positions[0]] = group.kernel(memory)
            replaced.update({p: None for p in group.positions[1:]})
    result = [replaced.get(p, kernel) for p, kernel in enumerate(kernels)]
    return [kernel for kernel in result if kernel is not None]


def _kind(form: tuple, memory: _Memory) -> tuple:
    """What calls share to merge: the function, its numbers, and each array's buffer and layout."""
    func, arrays, numbers = form
    return func, tuple(numbers.items()), tuple((id(memory.root(a)), a.shape, a.strides, a.dtype) for a in arrays)


class _Group:
    """Calls of one function whose arrays step through their buffers by fixed strides."""

    def __init__(self, position: int, func: Callable, arrays: list[np.ndarray], numbers: dict[int, Any]):
        self.positions, self.func, self.numbers = [position], func, numbers
        self.first = self.last = arrays
        self.out = 0 if func is np.copyto else len(arrays) - 1  # which array is written
        self.steps: list[int] = []  # bytes from one call's array to the next one's, per array

    def admits(self, arrays: list[np.ndarray], memory: _Memory) -> bool:
        """``arrays`` continue the strides, the output's regions stay apart, and an array in the
        output's buffer is the output itself (in place)."""
        steps = [memory.address(a) - memory.address(b) for a, b in zip(arrays, self.last)]
        if self.steps:
            return steps == self.steps and _tiles(self._merged_shape(1), self._merged_strides(), arrays[0].itemsize)
        out = self.first[self.out]
        self.steps = steps  # tried on the second call: kept only if it joins
        admitted = _tiles(self._merged_shape(1), self._merged_strides(), out.itemsize) and all(
            memory.root(a) is not memory.root(out)
            or (memory.address(a), a.strides, step) == (memory.address(out), out.strides, steps[self.out])
            for a, step in zip(self.first, steps)
        )
        if not admitted:
            self.steps = []
        return admitted

    def add(self, position: int, arrays: list[np.ndarray], memory: _Memory) -> None:
        self.positions.append(position)
        self.last = arrays

    def _merged_shape(self, more: int = 0) -> tuple[int, ...]:
        return (len(self.positions) + more, *self.first[self.out].shape)

    def _merged_strides(self) -> tuple[int, ...]:
        return (self.steps[self.out], *self.first[self.out].strides)

    def kernel(self, memory: _Memory) -> Callable:
        """One call over every step's regions: each array a view with the steps as its first axis."""
        views = []
        for first, step in zip(self.first, self.steps):
            root = memory.root(first)
            views.append(np.ndarray(self._merged_shape(), first.dtype, buffer=root,
                                    offset=memory.address(first) - memory.address(root),
                                    strides=(step, *first.strides)))  # fmt: skip
        arrays = iter(views)
        count = len(self.first) + len(self.numbers)
        return partial(self.func, *[self.numbers[i] if i in self.numbers else next(arrays) for i in range(count)])


class _Memory:
    """What ``merge_steps`` knows of the buffers: each array's buffer and address (NumPy computes
    them slowly: kept), and for each element of each buffer the place of the last kernel that
    wrote it and of the last that touched it, in maps shaped like the buffers (an array's part of
    a map is a view with the array's own shape and strides)."""

    def __init__(self, pinned: list) -> None:
        self.roots: dict[int, np.ndarray | None] = {}
        self.addresses: dict[int, int] = {}
        self.views: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id of a buffer -> (written, touched)
        self.held = {id(self.root(a)) for a in pinned if isinstance(a, np.ndarray)}  # a generic closure's
        self.tracked: set[int] = set()  # the buffers of calls that may merge: only their uses matter

    def track(self, buffers: set[int]) -> None:
        self.tracked = buffers

    def root(self, a: np.ndarray) -> np.ndarray | None:
        if id(a) not in self.roots:
            self.roots[id(a)] = _root(a)
        return self.roots[id(a)]

    def address(self, a: np.ndarray) -> int:
        if id(a) not in self.addresses:
            self.addresses[id(a)] = a.__array_interface__["data"][0]
        return self.addresses[id(a)]

    def mergeable(self, a: np.ndarray) -> bool:
        """In a buffer a merged call can view (C-contiguous) that no generic closure touches."""
        root = self.root(a)
        return root is not None and root.flags.c_contiguous and id(root) not in self.held

    def _maps_of(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if id(a) in self.views:
            return self.views[id(a)]
        root = self.root(a)
        if id(root) not in self.maps:
            self.maps[id(root)] = (np.full(root.size, -1, np.int32), np.full(root.size, -1, np.int32))
        maps = self.maps[id(root)]
        offset, size = self.address(a) - self.address(root), root.itemsize
        if a.itemsize == size and offset % size == 0 and all(stride % size == 0 for stride in a.strides):
            scale = maps[0].itemsize
            maps = tuple(np.ndarray(a.shape, np.int32, buffer=m, offset=offset // size * scale,
                                    strides=[stride // size * scale for stride in a.strides]) for m in maps)  # fmt: skip
        self.views[id(a)] = maps  # else the whole buffer stands for it
        return maps

    def latest(self, read: list[np.ndarray], written: list[np.ndarray]) -> int:
        """The place of the last kernel that wrote what is read or written, or touched what is written."""
        last = -1
        for a in read:
            if id(self.root(a)) in self.tracked:
                last = builtins.max(last, int(self._maps_of(a)[0].max(initial=-1)))
        for a in written:
            if id(self.root(a)) in self.tracked:
                last = builtins.max(last, int(self._maps_of(a)[1].max(initial=-1)))
        return last

    def record(self, position: int, read: list[np.ndarray], written: list[np.ndarray]) -> None:
        for a in [*read, *written]:
            if self.root(a) is None:  # a view NumPy does not trace to its buffer: nothing moves across it
                self.maps = {key: (np.full_like(w, position), np.full_like(t, position)) for key, (w, t) in self.maps.items()}
                self.views.clear()
                return
        for a in read:
            if id(self.root(a)) in self.tracked:
                self._maps_of(a)[1][...] = position
        for a in written:
            if id(self.root(a)) in self.tracked:
                was_written, touched = self._maps_of(a)
                was_written[...] = position
                touched[...] = position


def _elementwise_form(kernel: partial, memory: _Memory) -> tuple[Callable, list[np.ndarray], dict[int, Any]] | None:
    """(function, arrays, {argument position: number}) of a kernel that is one elementwise call
    without broadcasting (every array shaped as the output) on buffers a merged call can view."""
    if kernel.keywords or kernel.func not in ELEMENTWISE:
        return None
    arrays, numbers = [], {}
    for i, value in enumerate(kernel.args):
        if isinstance(value, np.ndarray):
            arrays.append(value)
        elif type(value) in (int, float, bool):
            numbers[i] = value
        else:
            return None
    out = 0 if kernel.func is np.copyto else len(kernel.args) - 1
    if out in numbers or arrays[0].size == 0 or any(a.shape != arrays[0].shape for a in arrays):
        return None
    if not all(memory.mergeable(a) for a in arrays) or not memory.root(arrays[0 if out == 0 else -1]).flags.writeable:
        return None
    return kernel.func, arrays, numbers


def _is_numpy(func: Callable) -> bool:
    """A NumPy function, ufunc or array method: every array it uses is among the kernel's arguments."""
    owner = getattr(func, "__self__", None)
    if isinstance(func, np.ufunc) or isinstance(owner, (np.ndarray, np.ufunc)):
        return True
    module = getattr(func, "__module__", None) or ""
    return (owner is None or type(owner).__name__ == "module") and (module == "numpy" or module.startswith("numpy."))


def _written(kernel: partial) -> list[np.ndarray]:
    """The arrays a NumPy kernel writes: its ``out``, a copy's or ``fill``'s target; all, if unsure."""
    func = kernel.func
    if "out" in kernel.keywords:
        out = kernel.keywords["out"]
        return list(out) if type(out) is tuple else [out]
    if isinstance(func, np.ufunc):
        return [kernel.args[-1]]
    if func is np.copyto or getattr(func, "__name__", "") == "at":
        return [kernel.args[0]]
    if isinstance(getattr(func, "__self__", None), np.ndarray):
        return [func.__self__]
    return _arrays_in(kernel)


def _tiles(shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int) -> bool:
    """No two elements of an array so laid out share memory: each axis steps over the extent of
    all the smaller ones."""
    extent = itemsize
    for stride, size in sorted((abs(s), n) for n, s in zip(shape, strides) if n > 1):
        if stride < extent:
            return False
        extent += stride * (size - 1)
    return True


def _regions(join: Callable, parts: list, joined: np.ndarray, axis: int) -> list[np.ndarray]:
    """Each part's region (a view) of the joined buffer."""
    axis %= joined.ndim
    before = (slice(None),) * axis
    if join is np.stack:
        return [joined[(*before, i, ...)] for i in range(len(parts))]  # ...: a 0-d region is a view too
    ends = np.cumsum([p.shape[axis] for p in parts])
    return [joined[(*before, slice(end - p.shape[axis], end))] for p, end in zip(parts, ends)]


def _root(a: np.ndarray) -> np.ndarray | None:
    """The array that owns ``a``'s memory (NumPy points every view at it), None if not an array."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a if a.base is None else None


def _arrays_in(kernel: Callable) -> list[np.ndarray]:
    """The arrays a kernel refers to (generic kernels are closures: they pin theirs instead)."""
    if type(kernel) is not partial:
        return []
    found = []
    for value in (*kernel.args, *kernel.keywords.values(), getattr(kernel.func, "__self__", None)):
        if isinstance(value, np.ndarray):
            found.append(value)
        elif type(value) in (list, tuple):
            found += [v for v in value if isinstance(v, np.ndarray)]
    return found


def _replaced(value: Any, replace: Callable[[np.ndarray], np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        return replace(value)
    if type(value) in (list, tuple):
        return type(value)(_replaced(v, replace) for v in value)
    return value


def _rewritten(kernel: Callable, replace: Callable[[np.ndarray], np.ndarray]) -> Callable:
    """The kernel with each array it refers to replaced (a generic closure is left as it is)."""
    if type(kernel) is not partial:
        return kernel
    func = kernel.func
    owner = getattr(func, "__self__", None)
    if isinstance(owner, np.ndarray):  # total.fill(0)
        func = getattr(replace(owner), func.__name__)
    args = tuple(_replaced(a, replace) for a in kernel.args)
    keywords = {name: _replaced(v, replace) for name, v in kernel.keywords.items()}
    return partial(func, *args, **keywords)


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
