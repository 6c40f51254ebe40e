"""Reading the tape for pictures: which tensors a result depends on, and where each was made."""

from __future__ import annotations

from typing import NamedTuple

from minigrad.tensor import Tensor


class StepKey(NamedTuple):
    """Where in the unrolled network a node was made: layer, direction and time step."""

    layer: int
    direction: str
    step: int


def collect(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` was computed from (itself included), in the order they were made.

    Unnamed one-element constants (the ``1`` in ``1 - z``) are left out: they would crowd
    the picture and say nothing.
    """
    seen: set[int] = set()
    stack, found = [root], []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node is not root and is_hidden(node):
            continue
        found.append(node)
        stack.extend(node.parents)
    return sorted(found, key=lambda t: t._created)


def is_hidden(node: Tensor) -> bool:
    return node.op is None and not node.requires_grad and node.name is None and node.size <= 1


def kind(node: Tensor) -> str:
    """"op" (made by an op), "parameter" (a leaf that requires grad) or "input" (a constant leaf)."""
    if node.op is not None:
        return "op"
    return "parameter" if node.requires_grad else "input"


def step_key(node: Tensor) -> StepKey | None:
    """The node's place in the unrolled network, if it was made inside ``mg.time_step``."""
    step = node.tags.get("step")
    if step is None or kind(node) == "parameter":
        return None
    return StepKey(node.tags.get("layer", 0) or 0, node.tags.get("direction", "forward") or "forward", step)


def display_name(node: Tensor) -> str | None:
    """The tensor's name with a trailing ``_t`` replaced by its step: ``s_t`` at t = 3 is ``s_3``."""
    name = node.name
    key = step_key(node)
    if name and key is not None and name.endswith("_t"):
        return f"{name[:-2]}_{key.step}"
    return name


def shape_text(node: Tensor) -> str:
    return "scalar" if node.ndim == 0 else "×".join(str(n) for n in node.shape)


def slot(node: Tensor, members: list[Tensor]) -> tuple:
    """A node's place in its step (``members``): its op (or kind) and name, and how many such
    nodes the step made before it. The same place in another step is the same part of the cell."""
    signature = (node.op or kind(node), node.name)
    return signature, sum(1 for m in members if (m.op or kind(m), m.name) == signature and m._created < node._created)


def box_order(key: StepKey) -> tuple:
    """Step boxes in reading order: each layer's forward steps, then its reverse ones, and an
    encoder–decoder's decoder steps after every encoder step."""
    return (key.direction == "decoder", key.layer, key.direction != "forward", key.step)
