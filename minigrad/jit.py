"""mg.jit: a training step recorded once, then replayed on new arrays.

    step = mg.jit(train_step)      # train_step(x, y): forward, loss, backward(), maybe opt.step()
    loss = step(x, y)              # first call: eager, recorded

The first call of a signature (shapes, dtypes and layouts, which tensors require gradients,
grad mode, the values of integer arrays and of plain Python and NumPy numbers, the modules and
optimizers the step reaches with their parameters and train/eval mode) runs eagerly while a
recorder, installed for this thread only (``grad_mode.state.recorder``), writes down every
primitive the step calls: its forward function, its parameters, where its inputs came from
and where its outputs go. Each op's backward is watched too, and from the order the walk
called them the recorder writes the walk out as a flat list of instructions: which backward
runs with which gradient, which pending gradient each result is added to (summed back where
the op broadcast), which leaf's ``.grad`` receives what. Optimizer and module ``step`` /
``zero_grad`` calls are recorded as calls.

The recording is then lowered into a plan (lowering.py): the same NumPy calls in the same
order as eager, forward and walk, each bound to its arrays and writing ``out=`` into a buffer
allocated once. A replay copies the new inputs in and makes those calls: no Tensors, tape,
closures or topological sort. Gradients, losses and parameters are bit-identical.

Nothing is trusted before it has been checked: the first call with *different* input
values builds the plan, replays it, puts everything back (parameters, gradients, optimizer
state) and runs the step eagerly, and compares the two bit for bit. A step whose replay
would differ -- a decision taken on a value (``.item()``, control flow on data), random
numbers (dropout), NumPy work on gradients between ops (clipping), a constant computed
from an input -- then runs eagerly for that signature, after one ``JitWarning``.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import autograd
from minigrad.grad_mode import state
from minigrad.lowering import BACK, CALL, LEAF, OPS, SEED, WALK, Plan
from minigrad.nn.module import Module
from minigrad.optim import Optimizer
from minigrad.rng import default_rng
from minigrad.tensor import Tensor

MAX_SIGNATURES = 16  # beyond this many recordings of one function, new signatures run eagerly


class JitWarning(UserWarning):
    """A jitted step runs eagerly from now on, for the reason the message gives."""


class Unsupported(Exception):
    """Raised inside a recording: the step cannot be replayed faithfully (the message says why)."""


def jit(fn: Callable[..., Any]) -> Jitted:
    """``fn`` recorded on its first call for each signature and replayed on later ones.

    ``fn`` is a whole training step: forward, loss, ``backward()``, optionally an optimizer's
    ``zero_grad()`` and ``step()``. Tensors it returns come back as values (no graph) on a
    replay. What cannot be replayed runs eagerly after one ``JitWarning``; never a wrong answer.
    """
    return Jitted(fn)


# -- signatures -------------------------------------------------------------------------


def _flatten(value: Any, leaves: list, key: list) -> None:
    """The arrays and tensors inside nested tuples, lists and dicts, and a hashable description."""
    kind = type(value)
    if kind in (tuple, list):
        key.append((kind, len(value)))
        for part in value:
            _flatten(part, leaves, key)
    elif kind is dict:
        key.append((dict, tuple(value)))
        for part in value.values():
            _flatten(part, leaves, key)
    elif isinstance(value, Tensor):
        data = value.data
        if data.dtype.kind == "f":  # a float tensor is an input: its values change from call to call
            leaves.append(value)  # its layout too is the signature's: NumPy may sum in memory order
            key.append(("tensor", data.shape, data.dtype, data.strides, value.requires_grad))
        else:  # integers (lengths, token ids) decide indices and masks: their values are the signature
            key.append(("int tensor", data.shape, data.dtype, data.tobytes()))
    elif isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            leaves.append(value)
            key.append(("array", value.shape, value.dtype, value.strides))
        else:
            key.append(("int array", value.shape, value.dtype, value.tobytes()))
    elif value is None or kind in (bool, int, float, str):
        key.append((kind, value))
    elif isinstance(value, np.generic):  # a NumPy number: by value, as a Python number
        key.append((kind, value.item()))
    else:
        key.append(("object", id(value)))


def _arrays(leaves: list) -> list[np.ndarray]:
    return [leaf.data if isinstance(leaf, Tensor) else leaf for leaf in leaves]


# -- recording ----------------------------------------------------------------------------


class Recorder:
    """Writes down one eager call: installed as this thread's ``state.recorder``, it sees every
    primitive before it runs (``autograd.primitive``) and hands back a forward that records."""

    def __init__(self, inputs: list):
        self.start = next(autograd.creation_order)  # tensors numbered below this existed before the call
        self.slots = 0
        self.array_slots: dict[int, int] = {}  # id(array) -> slot: inputs and op outputs
        self.tensor_slots: dict[int, int] = {}  # id(tensor) -> slot: input tensors and live ones
        self.keep: list = []  # everything whose id is a key above stays alive while recording
        self.arg_leaves: dict[int, int] = {}  # id(input tensor) -> its index among the inputs
        for index, leaf in enumerate(inputs):
            slot = self._new_slot()
            array = leaf.data if isinstance(leaf, Tensor) else leaf
            self.array_slots[id(array)] = slot
            if isinstance(leaf, Tensor):
                self.tensor_slots[id(leaf)], self.arg_leaves[id(leaf)] = slot, index
            self.keep.append(leaf)
        self.inputs = inputs
        self.copies: list[tuple[int, int]] = []  # (slot, input): copies of inputs made inside the step
        self.views: list[tuple] = []  # (slot, input, shape, strides, offset): views of inputs made inside it
        self.live: list[tuple[int, Tensor]] = []  # tensors made before the call: read afresh each replay
        self.constants: list[tuple[int, np.ndarray]] = []  # arrays made during the call, outside any op
        self.ops: list[tuple] = []  # (forward, input slots, params, output slot or slots)
        self.producer: dict[int, tuple[int, int | None]] = {}  # output slot -> (op, piece)
        self.op_inputs: list[tuple] = []  # per op: its input tensors (for the walk's parents)
        self.events: list[list] = []
        self.gnodes: dict[Any, int] = {}  # what can receive a gradient -> its number
        self.gnode_keys: list = []  # number -> ("leaf", id) or (op, piece)
        self.gnode_made: list[tuple] = []  # number -> its place in creation order
        self.leaf_refs: dict[int, tuple] = {}  # gnode -> ("arg", index) or ("live", tensor)
        self.walk: Walk | None = None
        self.failure: str | None = None

    def _new_slot(self) -> int:
        self.slots += 1
        return self.slots - 1

    def slot_of(self, t: Tensor) -> int:
        """Where an op's input comes from in a replay."""
        slot = self.tensor_slots.get(id(t))
        if slot is None:
            slot = self.array_slots.get(id(t.data))
        if slot is None:
            slot = self._new_slot()
            if t._created < self.start:  # a parameter, or another tensor the step did not make
                self.tensor_slots[id(t)] = slot
                self.live.append((slot, t))
            elif (source := self._copied_input(t.data)) is not None:  # mg.tensor(x) of an input x: a copy
                self.array_slots[id(t.data)] = slot
                self.copies.append((slot, source))
            elif (view := self._viewed_input(t.data)) is not None:  # y[:, None] of an input y: a view
                self.array_slots[id(t.data)] = slot
                self.views.append((slot, *view))
            else:  # made inside the step, not by an op: a constant
                self.array_slots[id(t.data)] = slot
                self.constants.append((slot, t.data))
            self.keep.append(t)
        return slot

    def _copied_input(self, array: np.ndarray) -> int | None:
        """The input this array is an exact copy of, if any (the trial replay checks the guess).
        A single number is taken for a constant: it equals an input by coincidence too often."""
        if array.size < 2:
            return None
        for index, leaf in enumerate(self.inputs):
            source = leaf.data if isinstance(leaf, Tensor) else leaf
            if source.shape == array.shape and source.dtype == array.dtype and np.array_equal(source, array):
                return index
        return None

    def _viewed_input(self, array: np.ndarray) -> tuple | None:
        """(input, shape, strides, offset) if this array is a view into an input's memory (an input
        laid out in C order, as a replay's copy of it is); the trial replay checks the guess."""
        if array.base is None or min(array.strides, default=0) < 0:
            return None
        for index, leaf in enumerate(self.inputs):
            source = leaf.data if isinstance(leaf, Tensor) else leaf
            if source.dtype == array.dtype and source.flags.c_contiguous and np.may_share_memory(source, array):
                offset = array.__array_interface__["data"][0] - source.__array_interface__["data"][0]
                return index, array.shape, array.strides, offset
        return None

    def __call__(self, forward: Callable, params: dict, tensors: tuple) -> Callable:
        """Called by ``primitive`` before each op: the forward to run in its place."""
        if self.walk is not None:
            self.finish_walk()
        ins = tuple(self.slot_of(t) for t in tensors)
        index = len(self.ops)
        recorder = self

        def recording_forward(*arrays: np.ndarray, **kwargs: Any) -> tuple:
            out, backward = forward(*arrays, **kwargs)
            if type(out) is tuple:
                out = tuple(piece if type(piece) is np.ndarray else np.asarray(piece) for piece in out)
                outs: Any = tuple(recorder._output(piece, index, p) for p, piece in enumerate(out))
            else:
                out = out if type(out) is np.ndarray else np.asarray(out)  # as Node.from_op would: same object
                outs = recorder._output(out, index, None)
            recorder.ops.append((forward, ins, params, outs))
            recorder.op_inputs.append(tensors)
            if not recorder.events or recorder.events[-1][0] != OPS:
                recorder.events.append([OPS, index, index])
            recorder.events[-1][2] = index + 1

            def watched_backward(g: Any) -> Any:
                sent = backward(g)
                recorder.on_backward(index, g, sent)
                return sent

            return out, watched_backward

        return recording_forward

    def value_read(self, t: Tensor, how: str) -> None:
        """``t.item()`` or ``t.numpy()`` inside the step: a value computed in it may steer Python
        (``if loss.item() > 0``), which a replay cannot follow. The step runs eagerly."""
        if self.failure is None and t._created >= self.start:
            self.failure = f"the step reads a value it computed ({how}): a decision on it could not be replayed"

    def _output(self, array: np.ndarray, op: int, piece: int | None) -> int:
        slot = self._new_slot()
        self.array_slots[id(array)] = slot
        self.producer[slot] = (op, piece)
        self.keep.append(array)
        return slot

    def call(self, method: Callable, args: tuple, kwargs: dict) -> None:
        """An optimizer's or module's ``step`` / ``zero_grad``: replayed as the call itself."""
        if self.walk is not None:
            self.finish_walk()
        self.events.append([CALL, method, args, kwargs])

    # -- the backward walk, written out as instructions --------------------------------
    def gnode(self, t: Tensor) -> int:
        """The number of a tensor that receives gradients in the walk."""
        if t.op is not None:
            if t._created < self.start:
                raise Unsupported("the step backpropagates into a graph built before it was called")
            slot = self.array_slots.get(id(t.data))
            if slot not in self.producer:
                raise Unsupported(f"a result of {t.op!r} whose array the recorder did not see made")
            key: Any = self.producer[slot]
        else:
            if id(t) in self.arg_leaves:
                ref: tuple = ("arg", self.arg_leaves[id(t)])
            elif t._created < self.start:
                ref = ("live", t)
            else:
                raise Unsupported("a tensor that requires grad is made inside the step")
            key = ("leaf", id(t))
        number = self.gnodes.get(key)
        if number is None:
            number = self._number(key, (0, t._created, 0) if key[0] == "leaf" else (1, key[0], key[1] or 0))
            if key[0] == "leaf":
                self.leaf_refs[number] = ref
                self.keep.append(t)
        return number

    def _number(self, key: Any, made: tuple) -> int:
        """A new gradient receiver; ``made`` sorts as the tensors' creation numbers would."""
        number = self.gnodes[key] = len(self.gnode_keys)
        self.gnode_keys.append(key)
        self.gnode_made.append(made)
        return number

    def on_backward(self, index: int, g: Any, sent: tuple) -> None:
        """An op's backward just ran inside a walk: follow the walk up to it."""
        if self.failure is not None:
            return
        try:
            if self.walk is None or not self.walk.reach(index, sent):
                if self.walk is not None:
                    self.finish_walk()
                outs = self.ops[index][3]
                if type(outs) is tuple:
                    raise Unsupported("backward() from one output of a multi-output op")
                self.walk = Walk(self, self.gnodes_of(index)[0], g)
                self.events.append([WALK, self.walk.instructions])
                if not self.walk.reach(index, sent):
                    raise Unsupported("the walk did not start where it was expected to")
        except Unsupported as reason:
            self.failure = str(reason)

    def gnodes_of(self, op: int) -> list[int]:
        outs = self.ops[op][3]
        keys = [(op, p) for p in range(len(outs))] if type(outs) is tuple else [(op, None)]
        return [self.gnodes[key] if key in self.gnodes else self._number(key, (1, op, key[1] or 0)) for key in keys]

    def finish_walk(self) -> None:
        if self.walk is not None and self.failure is None:
            try:
                self.walk.finish()
            except Unsupported as reason:
                self.failure = str(reason)
        self.walk = None


class Walk:
    """``autograd.backward_walk`` followed step by step on the recorder's numbering: the same
    order (reversed creation order), the same accumulation, written out as instructions."""

    def __init__(self, recorder: Recorder, root: int, seed: Any):
        self.recorder = recorder
        self.instructions: list[tuple] = [(SEED, root, np.array(seed, copy=True))]
        self.order = self._reversed_order(root)
        self.position = 0
        self.pending = {root}

    def _parents(self, node: int) -> list[tuple[int, Tensor]]:
        """The inputs of the op that made ``node`` that want a gradient (none for a leaf)."""
        key = self.recorder.gnode_keys[node]
        if key[0] == "leaf":
            return []
        return [(k, t) for k, t in enumerate(self.recorder.op_inputs[key[0]]) if t.requires_grad]

    def _reversed_order(self, root: int) -> list[int]:
        """What ``topological_order`` finds from the root, last made first."""
        found, stack = {root}, [root]
        while stack:
            for _, t in self._parents(stack.pop()):
                parent = self.recorder.gnode(t)
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
        return sorted(found, key=self.recorder.gnode_made.__getitem__, reverse=True)

    def reach(self, index: int, sent: tuple) -> bool:
        """Advance to op ``index``'s backward (leaves passed on the way get their gradient);
        False if the walk ends first (``index`` starts another walk)."""
        keys = self.recorder.gnode_keys
        while self.position < len(self.order):
            node = self.order[self.position]
            self.position += 1
            if node not in self.pending:
                continue
            self.pending.discard(node)
            key = keys[node]
            if key[0] == "leaf":
                self.instructions.append((LEAF, node, self.recorder.leaf_refs[node]))
                continue
            if key[0] != index:
                raise Unsupported(f"the walk ran op {index} where op {key[0]} was expected")
            joint = None
            if key[1] is not None:  # one output of several: the others' gradients are gathered now
                joint = tuple(self.recorder.gnodes_of(index))
                self.pending.difference_update(joint)
            sends = []
            for k, t in self._parents(node):
                if k < len(sent) and sent[k] is not None:
                    parent = self.recorder.gnode(t)
                    self.pending.add(parent)
                    sends.append((k, parent, t.data.shape))
            self.instructions.append((BACK, index, node, joint, tuple(sends)))
            return True
        return False

    def finish(self) -> None:
        """The rest of the walk: only leaves may be left."""
        if self.reach(-1, ()):
            raise Unsupported("an op's backward expected by the walk never ran")


# -- a program: the recording, replayed -----------------------------------------------------


class Program:
    """A recorded step, ready to replay on new input arrays."""

    def __init__(self, recorder: Recorder, returned: Any):
        self.returned = self._template(returned, recorder)  # first: it may add constants
        self.slots = recorder.slots
        self.live = recorder.live
        self.live_signature = [(t.data.shape, t.data.dtype, t.requires_grad) for _, t in recorder.live]
        self.constants = [(slot, array.copy()) for slot, array in recorder.constants]  # never the caller's array
        self.copies, self.views = recorder.copies, recorder.views
        self.ops = recorder.ops
        self.events = recorder.events
        self.gnodes = len(recorder.gnode_keys)
        self.returned_slots = sorted(_slots_in(self.returned))
        self.plan: Plan | None = None
        self.lock = threading.Lock()

    def _template(self, value: Any, recorder: Recorder) -> Any:
        """How to rebuild what the step returned from a replay's arrays."""
        if type(value) in (tuple, list):
            return (type(value), [self._template(v, recorder) for v in value])
        if type(value) is dict:
            return (dict, {k: self._template(v, recorder) for k, v in value.items()})
        if isinstance(value, Tensor):
            if id(value) in recorder.arg_leaves:
                return ("arg", recorder.arg_leaves[id(value)])
            if value._created < recorder.start:
                return ("same", value)
            return ("tensor", recorder.slot_of(value))
        if isinstance(value, np.ndarray) and id(value) in recorder.array_slots:
            return ("array", recorder.array_slots[id(value)])
        if isinstance(value, np.ndarray):
            raise Unsupported("it returns an array no op made")
        return ("same", value)

    def live_ok(self) -> bool:
        """The parameters still have the shapes, dtypes and requires_grad they were recorded with."""
        return all(
            (t.data.shape, t.data.dtype, t.requires_grad) == expected
            for (_, t), expected in zip(self.live, self.live_signature)
        )

    def replay(self, inputs: list) -> Any:
        """The step on new inputs: the lowered plan (lowering.py), built by the trial, or again
        where a parameter's array was replaced."""
        arrays = _arrays(inputs)
        with self.lock:  # one set of buffers: two threads replay one after the other
            plan = self.plan
            if plan is None or not plan.still_bound():  # the first replay, or a parameter's array was replaced
                plan = self.plan = Plan(self, inputs, arrays)
            else:
                plan.run(inputs, arrays)
            return self._rebuild(self.returned, plan.values, inputs)

    def build(self, inputs: list) -> None:
        """Lower the recording into a plan; building runs the step once (the trial puts it back)."""
        with self.lock:
            self.plan = Plan(self, inputs, _arrays(inputs))

    def _rebuild(self, template: Any, values: list, inputs: list) -> Any:
        kind, payload = template
        if kind in (tuple, list):
            return kind(self._rebuild(t, values, inputs) for t in payload)
        if kind is dict:
            return {k: self._rebuild(t, values, inputs) for k, t in payload.items()}
        if kind == "arg":
            return inputs[payload]
        if kind == "tensor":  # a copy: the buffer is overwritten by the next replay
            return Tensor.from_op(np.array(values[payload], copy=True))
        if kind == "array":
            return np.array(values[payload], copy=True)
        return payload


def _slots_in(template: Any) -> set[int]:
    """The slots whose arrays a template returns."""
    kind, payload = template
    if kind in (tuple, list):
        return set().union(*(_slots_in(t) for t in payload))
    if kind is dict:
        return set().union(*(_slots_in(t) for t in payload.values()))
    return {payload} if kind in ("tensor", "array") else set()


# -- the state a step changes, saved and compared --------------------------------------------


def _save_value(value: Any) -> tuple:
    if isinstance(value, np.ndarray):
        return ("array", value, value.copy())
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return ("arrays", value, list(value), [v.copy() for v in value])
    return ("value", copy.deepcopy(value))


def _restore_value(saved: tuple) -> Any:
    if saved[0] == "array":
        saved[1][...] = saved[2]
        return saved[1]
    if saved[0] == "arrays":
        saved[1][:] = saved[2]
        for array, copied in zip(saved[2], saved[3]):
            array[...] = copied
        return saved[1]
    return copy.deepcopy(saved[1])


class Snapshot:
    """Parameters' values and gradients and optimizers' state, to put back after a trial replay."""

    def __init__(self, tensors: list[Tensor], stateful: list):
        self.tensors = [(t, t.data, t.data.copy(), t.grad, None if t.grad is None else t.grad.copy()) for t in tensors]
        self.objects = [(o, {k: _save_value(v) for k, v in vars(o).items() if k != "params"})
                        for o in stateful if isinstance(o, Optimizer)]  # fmt: skip

    def restore(self) -> None:
        for t, data, saved, grad, saved_grad in self.tensors:
            t.data = data
            data[...] = saved
            t.grad = grad
            if grad is not None:
                grad[...] = saved_grad
        for o, fields in self.objects:
            for name, saved_value in fields.items():
                setattr(o, name, _restore_value(saved_value))


def _fingerprint(tensors: list[Tensor], stateful: list, returned: Any) -> list:
    """Every bit the step produced: returned values, parameters, gradients, optimizer state."""
    out: list = []

    def add(value: Any) -> None:
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, np.ndarray):
            out.append((value.shape, value.dtype.str, value.tobytes()))
        elif type(value) in (tuple, list):
            for v in value:
                add(v)
        elif type(value) is dict:
            for k, v in value.items():
                out.append(k)
                add(v)
        elif value is None or type(value) in (bool, int, float, str):
            out.append(value)
        else:
            out.append(("object", id(value)))

    add(returned)
    for t in tensors:
        add(t.data)
        add(t.grad)
    for o in stateful:
        if isinstance(o, Optimizer):
            add([v for k, v in vars(o).items() if k != "params"])
    return out


# -- the jitted function -----------------------------------------------------------------


def _stateful(fn: Callable, args: tuple, kwargs: dict) -> list:
    """The optimizers and modules the step can reach (arguments, closure, globals, ``self``),
    whose ``step`` and ``zero_grad`` calls are recorded."""
    pool: list = [*args, *kwargs.values()]
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        pool += [owner, *getattr(owner, "__dict__", {}).values()]
    function = getattr(fn, "__func__", fn)
    for cell in getattr(function, "__closure__", None) or ():
        try:
            pool.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    code, names = getattr(function, "__code__", None), getattr(function, "__globals__", {})
    if code is not None:
        pool += [names[name] for name in code.co_names if name in names]
    found: dict[int, Any] = {}
    for obj in pool:
        if isinstance(obj, (Optimizer, Module)):
            found[id(obj)] = obj
    return list(found.values())


def _reachable_state(fn: Callable, args: tuple, kwargs: dict) -> tuple:
    """Which optimizers and modules the step reaches, which parameters each holds and whether each
    module is training: part of the signature, so that a parameter or optimizer replaced, or
    ``train()`` / ``eval()``, records again. (Ids: the entry keeps the recorded objects alive.)"""
    parts: list = []
    for obj in _stateful(fn, args, kwargs):
        if isinstance(obj, Optimizer):
            parts.append((id(obj), tuple(map(id, obj.params))))
        else:
            for module in obj.modules():
                parts.append((id(module), module.training, tuple(map(id, module._parameters.values()))))
    return tuple(parts)


class _Watching:
    """``step`` and ``zero_grad`` of the given objects recorded while this thread records.
    Another thread calling them meanwhile calls them unrecorded."""

    def __init__(self, objects: list, recorder: Recorder):
        self.objects, self.recorder, self.thread = objects, recorder, threading.get_ident()
        self.patched: list = []

    def __enter__(self) -> None:
        for obj in self.objects:
            for name in ("zero_grad", "step") if isinstance(obj, Optimizer) else ("zero_grad",):
                if name in vars(obj):  # someone else's patch: leave it (the trial replay will tell)
                    continue
                original = getattr(obj, name)
                object.__setattr__(obj, name, self._watched(original))
                self.patched.append((obj, name))

    def _watched(self, original: Callable) -> Callable:
        def watched(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == self.thread and state.recorder is self.recorder:
                self.recorder.call(original, args, kwargs)
            return original(*args, **kwargs)

        return watched

    def __exit__(self, *exc_info: object) -> None:
        for obj, name in self.patched:
            object.__delattr__(obj, name)


EAGER = "eager"


class Entry:
    """What a jitted function knows about one signature."""

    def __init__(self, program: Program | None, inputs: list, stateful: list, reason: str | None):
        self.program, self.stateful, self.reason = program, stateful, reason
        # alive as long as the entry: the ids in its signature cannot be reused by other objects
        self.kept = [(m, list(m._parameters.values())) for obj in stateful if isinstance(obj, Module)
                     for m in obj.modules()]  # fmt: skip
        self.first_inputs = [a.copy() for a in _arrays(inputs)]  # the trial waits for other values
        self.trusted = False


class Jitted:
    """The callable ``mg.jit(fn)`` returns; ``recordings`` and ``replays`` count what it did."""

    def __init__(self, fn: Callable[..., Any], warn: bool = True):
        self.fn, self.warn = fn, warn  # warn=False: the Trainer's default, which falls back silently
        self.entries: dict[tuple, Entry] = {}
        self.warned: set[str] = set()
        self.recordings = self.replays = self.eager_calls = 0
        self.__doc__, self.__name__ = getattr(fn, "__doc__", None), getattr(fn, "__name__", "step")
        self.__wrapped__ = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if state.recorder is not None or state.detect_anomaly:  # inside another recording, or hunting NaNs
            return self.fn(*args, **kwargs)
        inputs: list = []
        key: list = [state.grad_enabled, _reachable_state(self.fn, args, kwargs)]
        _flatten(args, inputs, key)
        _flatten(kwargs, inputs, key)
        signature = tuple(key)
        entry = self.entries.get(signature)
        if entry is None:
            if len(self.entries) >= MAX_SIGNATURES:
                self._warn(f"more than {MAX_SIGNATURES} signatures (integer arrays and plain arguments count "
                           "by value); new ones run eagerly")  # fmt: skip
                self.eager_calls += 1
                return self.fn(*args, **kwargs)
            return self._record(signature, args, kwargs, inputs)
        if entry.program is None:
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        if not entry.program.live_ok():  # a parameter changed shape, dtype or requires_grad: record again
            del self.entries[signature]
            return self._record(signature, args, kwargs, inputs)
        if entry.trusted:
            self.replays += 1
            return entry.program.replay(inputs)
        return self._trial(entry, args, kwargs, inputs)

    def _warn(self, reason: str) -> None:
        if reason not in self.warned:
            self.warned.add(reason)
            if self.warn:
                warnings.warn(f"mg.jit({self.__name__}): runs eagerly: {reason}", JitWarning, stacklevel=3)

    def _record(self, signature: tuple, args: tuple, kwargs: dict, inputs: list) -> Any:
        """The first call of a signature: eager, recorded."""
        stateful = _stateful(self.fn, args, kwargs)
        recorder = Recorder(inputs)
        rng_before = default_rng().bit_generator.state
        state.recorder = recorder
        try:
            with _Watching(stateful, recorder):
                returned = self.fn(*args, **kwargs)
        finally:
            state.recorder = None
        recorder.finish_walk()
        self.recordings += 1
        reason = recorder.failure
        if reason is None and default_rng().bit_generator.state != rng_before:
            reason = "it draws random numbers (dropout, sampling): a replay would repeat the same ones"
        program = None
        if reason is None:
            try:
                program = Program(recorder, returned)
            except Unsupported as error:
                reason = str(error)
        if reason is not None:
            self._warn(reason)
        self.entries[signature] = Entry(program, inputs, stateful, reason)
        return returned

    def _trial(self, entry: Entry, args: tuple, kwargs: dict, inputs: list) -> Any:
        """The first call with new values: replay, put everything back, run eagerly, compare."""
        arrays = _arrays(inputs)
        if all(np.array_equal(a, b) for a, b in zip(arrays, entry.first_inputs)):
            self.eager_calls += 1  # the same values again prove nothing: wait for others
            return self.fn(*args, **kwargs)
        program = entry.program
        tensors = [t for _, t in program.live] + [leaf for leaf in inputs if isinstance(leaf, Tensor)]
        for obj in entry.stateful:
            if isinstance(obj, Optimizer):
                tensors += obj.params
        tensors = list({id(t): t for t in tensors}.values())
        saved = Snapshot(tensors, entry.stateful)
        try:
            program.build(inputs)  # a run: put back, so that the plan's own kernels are what is compared
            saved.restore()
            replayed = _fingerprint(tensors, entry.stateful, program.replay(inputs))
        except Exception as error:  # noqa: BLE001 - a replay that fails is a replay we cannot use
            replayed = [("failed", repr(error))]
        saved.restore()
        returned = self.fn(*args, **kwargs)
        self.eager_calls += 1
        if replayed == _fingerprint(tensors, entry.stateful, returned):
            entry.trusted = True
        else:
            entry.program = None
            self._warn("a replay differed from the eager step (a decision on a value such as .item(), "
                       "a constant computed from an input, or NumPy work outside the ops)")  # fmt: skip
        return returned
