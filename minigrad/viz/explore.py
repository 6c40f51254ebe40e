"""``mg.viz.explore``: watch ``backward()`` walk back through time, in one self-contained HTML page.

``explore(loss)`` draws the graph as ``mg.viz.draw`` does, runs the backward pass itself and
records, with the walk's ``watch`` hook, every op it visits in the order it visits them: the
gradient reaching the op and the gradients it sends to its inputs. Each shared parameter
collects one contribution per use (one per time step in an unrolled network) until it holds
its gradient. The page (minigrad/viz/explorer/) steps through that record; its data is the
trace, embedded as JSON. The trace's format is the contract in docs/ (the page contract).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.autograd import backward_walk, unbroadcast
from minigrad.deferred import Joint, resolve
from minigrad.errors import GraphFreedError
from minigrad.io import write_atomically
from minigrad.tensor import Tensor
from minigrad.viz.output import svg_of
from minigrad.viz.tape import StepKey, box_order, collect, display_name, kind, slot, step_key

SIGNIFICANT = 6  # digits kept in the page: enough to read, few enough to keep a long sequence's file small
SMALL = 16  # arrays up to 16 x 16 carry every value (a heat map); larger ones a few numbers


class Explorer:
    """The explorer's page for one backward pass: ``html`` (the page), ``trace`` (its data),
    ``contributions`` (each parameter's gradient pieces, unrounded float64, by trace id).
    ``save(path)`` writes the page; in Jupyter it displays itself."""

    def __init__(self, page: str, trace: dict, contributions: dict[str, list[np.ndarray]]):
        self.html, self.trace, self.contributions = page, trace, contributions

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page to ``path`` (which must end in .html), atomically; returns the path."""
        path = _html_path(path)
        try:
            return write_atomically(path, self.html.encode("utf-8"))
        except OSError as error:  # a folder that cannot be made, a path inside a file, no permission
            inside = next((parent for parent in path.parents if parent.is_file()), None)
            reason = f"{inside} is a file, not a folder" if inside else error.strerror or str(error)
            raise type(error)(f"cannot write {path}: {reason}") from None

    def _repr_html_(self) -> str:
        # srcdoc: the page runs in its own document, its scripts included (Jupyter shows it inline)
        return f'<iframe srcdoc="{html.escape(self.html)}" style="width: 100%; height: 720px; border: 0"></iframe>'


def explore(loss: Tensor, path: str | os.PathLike | None = None, *, max_nodes: int = 300,
            title: str | None = None) -> Explorer:  # fmt: skip
    """Run ``loss``'s backward pass and return the explorer's page for it (saved to ``path`` if given).

    ``loss`` is a one-element tensor with a graph; as with ``loss.backward()``, the parameters'
    ``.grad`` receive their gradients and the graph is freed. The layout is ``mg.viz.draw``'s
    (past ``max_nodes`` ops each time step is one node); it needs Graphviz's ``dot`` or the
    ``svg`` extra, and without either raises ``GraphvizNotFound`` before anything changes.
    """
    from minigrad.viz.picture import layout  # graphviz is imported on first use, as for draw

    nodes = _walkable(loss)
    if path is not None:
        _html_path(path)  # before the work, not after
    graph, drawn = layout(loss, max_nodes=max_nodes)
    svg = svg_of(graph, str(path or "the explorer's picture"))
    ids = {node: f"t{i}" for i, node in enumerate(nodes)}
    walk = _Walk(ids, {n: [ref() for ref in n._backward.outputs] for n in nodes if type(n._backward) is Joint})
    backward_walk(loss, np.ones_like(loss.data), watch=walk)
    leaves = [n for n in nodes if kind(n) == "parameter"]
    parameters = [walk.parameter(leaf, leaf.name or f"param {k}") for k, leaf in enumerate(leaves, start=1)]
    trace = {
        "version": 1,
        "title": title or _default_title(loss, nodes),
        "nodes": [_node(n, ids, drawn, walk) for n in nodes],
        "forward_order": [ids[n] for n in nodes if n.op is not None],
        "backward_order": [ids[n] for n in walk.order],
        "backward_steps": walk.steps,
        "parameters": parameters,
        "states": _states(nodes, walk),
        "root": ids[loss],
    }
    contributions = {ids[leaf]: [array for _, _, array in walk.sent_to[leaf]] for leaf in leaves}
    explorer = Explorer(_page(trace, svg.decode("utf-8")), trace, contributions)
    if path is not None:
        explorer.save(path)
    return explorer


def _html_path(path: str | os.PathLike) -> Path:
    if Path(path).suffix.lower() != ".html":
        raise ValueError(f"explore: the page is HTML, so the file must end in .html, got {str(path)!r}")
    return Path(path)


def _walkable(loss: Any) -> list[Tensor]:
    """The tensors of ``loss``'s graph; a clear error, before anything happens, for what explore cannot walk."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"explore: expected a one-element Tensor (a loss), got {type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(
            f"explore: expected a one-element Tensor (a loss), got shape {loss.shape}; reduce it first, e.g. .sum()"
        )
    if loss.op is None or not loss.requires_grad:
        raise ValueError("explore: the tensor has no graph (it was not computed from anything that requires grad); "
                         "expected a loss computed from parameters")  # fmt: skip
    nodes = collect(loss)
    if any(n.op is not None and n._backward is None for n in nodes):
        raise GraphFreedError("explore: the graph was freed by backward(); explore runs the backward pass itself, "
                              "so call it instead of loss.backward()")  # fmt: skip
    return nodes


def _default_title(loss: Tensor, nodes: list[Tensor]) -> str:
    steps = len({key.step for n in nodes if (key := step_key(n)) is not None})
    return f"{display_name(loss) or 'loss'}" + (f" · {steps} time steps" if steps else "")


# -- what the walk did --------------------------------------------------------------------------


class _Walk:
    """The backward walk's ``watch`` hook: records each visit as it happens, in order."""

    def __init__(self, ids: dict[Tensor, str], joints: dict[Tensor, list]):
        self.ids, self.joints = ids, joints  # joints: an op with several outputs -> those outputs
        self.order: list[Tensor] = []
        self.steps: list[dict] = []
        self.grads: dict[Tensor, dict] = {}  # each op's gradient, summarised
        self.norms: dict[Tensor, float] = {}
        self.reached: dict[Tensor, int] = {}  # position in the order of the visit that took the gradient
        self.sent_to: dict[Tensor, list[tuple[Tensor, int, np.ndarray]]] = defaultdict(list)  # leaves

    def __call__(self, node: Tensor, g: Any, sent: tuple) -> None:
        position = len(self.order)
        self.order.append(node)
        step = {"node": self.ids[node], "grad_in": None, "joint": None, "sent": []}
        if node in self.joints:  # g holds every output's gradient
            step["joint"] = [self.receive(out, part, position) for out, part in zip(self.joints[node], g)]
        else:
            step["grad_in"] = self.receive(node, g, position)
        for parent, grad in zip(node.parents, sent):
            if parent not in self.ids:  # a constant the picture leaves out (the 1 in 1 - z): not in "parents"
                continue
            if grad is None or not parent.requires_grad:
                step["sent"].append(None)
                continue
            # now: a deferred sum is added to (mutated) when later gradients arrive
            grad = unbroadcast(resolve(grad), parent.data.shape)
            step["sent"].append({"to": self.ids[parent], "grad": summary(grad)})
            if parent.op is None:
                self.sent_to[parent].append((node, position, np.array(grad, dtype=np.float64)))
        self.steps.append(step)

    def receive(self, node: Tensor | None, grad: np.ndarray | None, position: int) -> dict | None:
        if grad is None or node is None:
            return None
        self.grads[node], self.norms[node], self.reached[node] = summary(grad), _norm(grad), position
        return self.grads[node]

    def parameter(self, parameter: Tensor, name: str) -> dict:
        """The parameter's contributions, in the order they were sent, with their running sum."""
        contributions, total = [], None
        for sender, position, grad in self.sent_to[parameter]:
            total = grad if total is None else total + grad
            contributions.append({"step": sender.tags.get("step"), "from": self.ids[sender], "index": position,
                                  "grad": summary(grad), "sum": summary(total)})  # fmt: skip
        if total is not None:
            self.grads[parameter], self.norms[parameter] = contributions[-1]["sum"], _norm(total)
            self.reached[parameter] = contributions[-1]["index"]
        return {"id": self.ids[parameter], "name": name, "contributions": contributions,
                "grad": None if total is None else contributions[-1]["sum"]}  # fmt: skip


def _node(node: Tensor, ids: dict[Tensor, str], drawn: dict[Tensor, str], walk: _Walk) -> dict:
    layer, direction, step = step_key(node) or (None, None, None)
    return {
        "id": ids[node], "op": node.op, "kind": kind(node), "name": node.name, "label": display_name(node),
        "shape": list(node.shape), "dtype": str(node.data.dtype), "step": step, "layer": layer, "direction": direction,
        "parents": [ids[p] for p in node.parents if p in ids], "svg": drawn.get(node),
        "value": summary(node.data), "grad": walk.grads.get(node),
    }  # fmt: skip


def _states(nodes: list[Tensor], walk: _Walk) -> list[dict]:
    """The bar chart: per time step, the tensors it hands to another step (s_t; an LSTM's h_t
    and c_t), their gradient's norm, and when the walk has reached all of them."""
    steps: dict[StepKey, list[Tensor]] = defaultdict(list)
    fed: dict[Tensor, set] = defaultdict(set)  # tensor -> the steps of the tensors computed from it
    for node in nodes:
        key = step_key(node)
        if key is not None:
            steps[key].append(node)
        for parent in node.parents:
            fed[parent].add(key)
    handed = {key: [n for n in members if fed[n] - {key, None}] for key, members in steps.items()}
    for key, members in steps.items():
        if not handed[key]:  # the last step hands nothing on: take what the nearest step hands on
            others = [k for k in steps if k[:2] == key[:2] and handed[k]]
            if others:
                like = min(others, key=lambda k: abs(k.step - key.step))
                slots = {slot(n, steps[like]) for n in handed[like]}
                handed[key] = [n for n in members if slot(n, members) in slots]
    states = []
    for key in sorted(steps, key=box_order):
        reached = [walk.reached[n] for n in handed[key] if n in walk.reached]
        states.append({
            "step": key.step, "layer": key.layer, "direction": key.direction, "ids": [walk.ids[n] for n in handed[key]],
            "norm": _number(math.sqrt(sum(walk.norms.get(n, 0.0) ** 2 for n in handed[key]))),
            "index": max(reached) if reached else None,
        })  # fmt: skip
    return states


# -- numbers --------------------------------------------------------------------------------------


def summary(array: Any) -> dict:
    """An array as the page shows it: shape and norm, and then every value when it is small enough
    for a heat map (at most 2-D, at most 16 along each axis), else min, max and the first values."""
    a = np.asarray(array, dtype=np.float64)
    flat = a.ravel()
    shown = {"shape": list(a.shape), "norm": _number(_norm(a))}
    if a.ndim <= 2 and all(n <= SMALL for n in a.shape):
        values = [_number(v) for v in flat.tolist()]
        if a.ndim == 2:
            values = [values[i * a.shape[1] : (i + 1) * a.shape[1]] for i in range(a.shape[0])]
        return {**shown, "values": values[0] if a.ndim == 0 else values}
    head = [_number(v) for v in flat[:6].tolist()]
    return {**shown, "min": _number(flat.min()), "max": _number(flat.max()), "head": head}


def _norm(array: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64).ravel()))


def _number(value: float) -> float | str:
    """A float rounded to 6 significant digits, or JSON's missing ones as strings."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(f"{value:.{SIGNIFICANT}g}")


# -- the page -------------------------------------------------------------------------------------


def _page(trace: dict, svg: str) -> str:
    """The template with the style, picture, trace and script put in: one file, nothing fetched."""
    folder = resources.files("minigrad.viz") / "explorer"
    template, css, js = (
        (folder / name).read_text(encoding="utf-8") for name in ("explorer.html", "explorer.css", "explorer.js")
    )
    svg = re.sub(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", "", svg, flags=re.DOTALL).strip()
    data = json.dumps(trace, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    data = data.replace("<", "\\u003c")  # no "</script>" or "<!--" can end or confuse the script element
    parts = {
        "/*MINIGRAD_CSS*/": css,
        "<!--MINIGRAD_SVG-->": svg,
        "<!--MINIGRAD_TRACE-->": f'<script type="application/json" id="minigrad-trace">{data}</script>',
        "/*MINIGRAD_JS*/": js,
        "<!--MINIGRAD_TITLE-->": html.escape(trace["title"]),
    }
    # one pass: text put in is never searched for placeholders again
    return re.sub("|".join(map(re.escape, parts)), lambda match: parts[match.group(0)], template)
