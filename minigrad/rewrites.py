"""The rewrites of a plan (lowering.py) before it is kept: each leaves every value the plan
computes unchanged, bit for bit, and makes a replay do less.

- ``place``: a part of a join (concatenate, stack) is computed straight into its region of the
  joined buffer, and the join no longer copies it;
- ``line_up_steps``: buffers that each step makes for the same purpose move into one block;
- ``merge_steps``: one elementwise call over all time steps where the recording made one per step;
- ``share_memory``: buffers never needed at the same time share memory.

A kernel is a ``functools.partial`` of a NumPy call with its arrays bound (or a closure, for an op
with no lowering, whose arrays are *pinned*: nothing here moves them); a rewrite returns new
kernels with arrays replaced by others, never changes an array's values.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

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
    first, last, buffers, fixed = _uses(kernels, kept, pinned)
    fixed |= {key for key, b in buffers.items() if not b.flags.c_contiguous or b.nbytes == 0}
    memory: dict[int, np.ndarray] = {}  # id of a buffer -> the buffer whose memory it uses
    free: dict[int, list[np.ndarray]] = {}  # bytes -> memory no longer needed
    holding: list[tuple[int, int]] = []  # (last use, id) of the buffers holding memory, soonest first
    for key in sorted((key for key in first if key in owned), key=first.__getitem__):
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


def line_up_steps(kernels: list, kept: list, owned: set[int], pinned: list) -> list:
    """The kernels with the buffers that each step makes for the same purpose (a gate's σ_t, read
    once per step by the walk's σ(1 - σ)) moved into one block, one row each, in the order the
    calls read them: then their calls step through one buffer, and ``merge_steps`` can make them
    one. Only buffers a call reads move, each whole into a row of the same layout, so every
    element is computed as before, and only buffers alive all at once (a forward value the walk
    reads back), so that no memory is lost; one that several such calls read in different
    orders stays."""
    memory = _Memory(pinned)
    first, last, _, fixed = _uses(kernels, kept, pinned)

    def private(a: np.ndarray) -> bool:  # a whole buffer of the plan's own, free to move
        return memory.root(a) is a and id(a) in owned and id(a) not in fixed and a.flags.c_contiguous

    callers: dict[tuple, list[list[np.ndarray]]] = {}  # a kind of call, its private inputs' homes open -> arrays
    for kernel in kernels:
        form = _elementwise_form(kernel, memory) if type(kernel) is partial else None
        if form is None:
            continue
        func, arrays, numbers = form
        out = arrays[0] if func is np.copyto else arrays[-1]
        homes = tuple("row" if a is not out and private(a) else id(memory.root(a)) for a in arrays)
        kind = (func, tuple(numbers.items()), homes, tuple((a.shape, a.strides, a.dtype) for a in arrays))
        callers.setdefault(kind, []).append(arrays)
    rows: dict[int, np.ndarray] = {}  # id of a buffer -> its row of a block
    for (func, _, homes, _), calls in callers.items():
        out = 0 if func is np.copyto else len(homes) - 1
        placed = [j for j, home in enumerate(homes) if home != "row"]  # out among them
        period = _period([[memory.address(arrays[j]) for j in placed] for arrays in calls], placed.index(out))
        for chain in range(period or 0):  # a loop's body may call this kind several times a step (three gates)
            members = calls[chain::period]
            for j in (j for j, home in enumerate(homes) if home == "row" and len(members) > 1):
                buffers = [arrays[j] for arrays in members]
                if len({id(b) for b in buffers}) < len(buffers) or any(id(b) in rows for b in buffers):
                    continue
                if max(first[id(b)] for b in buffers) > min(last[id(b)] for b in buffers):
                    continue  # not all alive at once: apart, they would share memory (share_memory)
                block = np.empty((len(buffers), *buffers[0].shape), buffers[0].dtype)
                owned.add(id(block))
                rows.update({id(b): block[i, ...] for i, b in enumerate(buffers)})  # ...: a 0-d row is a view too
    if not rows:
        return kernels
    moved: dict[int, np.ndarray] = {}

    def replace(a: np.ndarray) -> np.ndarray:
        root = memory.root(a)
        row = rows.get(id(root)) if root is not None else None
        if row is None:
            return a
        if id(a) not in moved:
            offset = memory.address(a) - memory.address(root) + memory.address(row) - memory.address(row.base)
            moved[id(a)] = np.ndarray(a.shape, a.dtype, buffer=row.base, offset=offset, strides=a.strides)
        return moved[id(a)]

    return [_rewritten(kernel, replace) for kernel in kernels]


def _period(addresses: list[list[int]], out: int, longest: int = 8) -> int | None:
    """The smallest p such that every call's arrays are the arrays of the call p before, moved by
    one fixed step each (the output's not zero): p calls of this kind per step of a loop."""
    for p in range(1, min(longest, len(addresses) // 2) + 1):
        steps = [a - b for a, b in zip(addresses[p], addresses[0])]
        if steps[out] != 0 and all(
            [a - b for a, b in zip(later, earlier)] == steps for later, earlier in zip(addresses[p:], addresses)
        ):
            return p
    return None


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
        steps = self._steps_to(arrays, memory)
        out = self.first[self.out]
        return (
            (not self.steps or steps == self.steps)
            and _tiles((len(self.positions) + 1, *out.shape), (steps[self.out], *out.strides), out.itemsize)
            and all(
                memory.root(a) is not memory.root(out)
                or (memory.address(a), a.strides, step) == (memory.address(out), out.strides, steps[self.out])
                for a, step in zip(self.first, steps)
            )
        )

    def add(self, position: int, arrays: list[np.ndarray], memory: _Memory) -> None:
        self.steps = self._steps_to(arrays, memory)
        self.positions.append(position)
        self.last = arrays

    def _steps_to(self, arrays: list[np.ndarray], memory: _Memory) -> list[int]:
        return [memory.address(a) - memory.address(b) for a, b in zip(arrays, self.last)]

    def kernel(self, memory: _Memory) -> Callable:
        """One call over every step's regions: each array a view with the steps as its first axis."""
        views = []
        for first, step in zip(self.first, self.steps):
            root = memory.root(first)
            views.append(np.ndarray((len(self.positions), *first.shape), first.dtype, buffer=root,
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
                last = max(last, int(self._maps_of(a)[0].max(initial=-1)))
        for a in written:
            if id(self.root(a)) in self.tracked:
                last = max(last, int(self._maps_of(a)[1].max(initial=-1)))
        return last

    def record(self, position: int, read: list[np.ndarray], written: list[np.ndarray]) -> None:
        for a in [*read, *written]:
            if self.root(a) is None:  # a view NumPy does not trace to its buffer: nothing moves across it
                self.maps = {
                    key: (np.full_like(w, position), np.full_like(t, position)) for key, (w, t) in self.maps.items()
                }
                self.views.clear()
                return
        for a in [*read, *written]:  # a call that joined a group ran earlier than calls recorded before it
            if id(self.root(a)) in self.tracked:
                touched = self._maps_of(a)[1]
                np.maximum(touched, position, out=touched)
        for a in written:
            if id(self.root(a)) in self.tracked:
                was_written = self._maps_of(a)[0]
                np.maximum(was_written, position, out=was_written)


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


def _uses(kernels: list, kept: list, pinned: list) -> tuple[dict, dict, dict, set[int]]:
    """Where each buffer the kernels use is first and last used, the buffers (all keyed by id),
    and the ids of those that must stay where they are: returned or pinned ones, and any a view
    NumPy cannot trace to its buffer (``np.broadcast_to``) may see."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    buffers: dict[int, np.ndarray] = {}
    unknown: list[np.ndarray] = []
    for position, kernel in enumerate(kernels):
        for a in _arrays_in(kernel):
            root = _root(a)
            if root is None:
                unknown.append(a)
            else:
                first.setdefault(id(root), position)
                last[id(root)], buffers[id(root)] = position, root
    fixed: set[int] = set()
    for a in [*kept, *pinned]:
        root = _root(a) if isinstance(a, np.ndarray) else None
        if root is not None:
            fixed.add(id(root))
        elif isinstance(a, np.ndarray):
            unknown.append(a)
    for view in unknown:
        fixed.update(key for key, b in buffers.items() if np.may_share_memory(view, b))
    return first, last, buffers, fixed


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
