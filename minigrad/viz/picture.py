"""``mg.viz.draw``: the recorded graph as a Graphviz picture -- unrolled, folded, or coloured by gradient.

Unrolled (the default): one box per time step, the shared parameters once outside with
an edge into every step that uses them -- weight sharing made visible. Folded: every
step laid onto one, the edges between steps drawn as a loop -- the lecture's fan
closed. With ``grad=True``: nodes coloured by the size of their gradient on one log
scale, so the gradient fading from the last step to the first can be seen.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import graphviz
import numpy as np

from minigrad.errors import GraphFreedError
from minigrad.tensor import Tensor, gradients
from minigrad.viz.tape import StepKey, box_order, collect, display_name, kind, shape_text, slot, step_key

# Viridis, dark (small gradient) to bright (large): readable in colour and in grey.
PALETTE = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"]
RECURRENT = "#c0392b"  # edges that carry the state from one step to the next
FILL = {"op": "#e8eef7", "parameter": "#ffe3a3", "input": "#eeeeee"}


def draw(root: Tensor, folded: bool = False, grad: bool = False, max_nodes: int = 300) -> graphviz.Digraph:
    """Draw the graph that computed ``root``.

    ``folded`` lays all time steps of each layer onto one. ``grad`` colours each node by
    the norm of d(root)/d(node) (for a non-scalar root, of d(sum root)/d(node)); it needs
    the graph, so call it before ``backward()`` or after ``backward(retain_graph=True)``.
    Past ``max_nodes`` op nodes the unrolled view collapses each step into one node.
    """
    return layout(root, folded, grad, max_nodes)[0]


def layout(
    root: Tensor, folded: bool = False, grad: bool = False, max_nodes: int = 300
) -> tuple[graphviz.Digraph, dict[Tensor, str]]:
    """``draw``'s picture and, for every tensor it shows (``collect(root)``), the DOT name of the
    node standing for it: its own, its step's when collapsed, its parameter's for a ``W.T``.
    Each DOT node's ``id`` is its name, so the SVG's ``<g id="NAME">`` finds it (the explorer)."""
    nodes = collect(root)
    norms = _gradient_norms(root, nodes) if grad else {}
    ops = sum(kind(n) == "op" and not _is_parameter_transpose(n) for n in nodes)
    if folded:
        picture = _Picture(nodes, _fold(nodes), norms, title="folded: every time step laid onto one", folded=True)
    elif ops > max_nodes:
        picture = _Picture(nodes, _collapse(nodes), norms, title=f"{ops} ops: each time step drawn as one node")
    else:
        picture = _Picture(nodes, {}, norms, title=None)
    graph = picture.digraph()
    return graph, {node: picture.node_id(picture.represent(node)) for node in nodes}


# -- gradients -------------------------------------------------------------------------


def _gradient_norms(root: Tensor, nodes: list[Tensor]) -> dict[int, float]:
    wanted = [n for n in nodes if n.requires_grad]
    if not root.requires_grad:
        raise ValueError("draw(grad=True): the tensor does not depend on anything that requires grad")
    try:
        grads = gradients(root, wanted, np.ones_like(root.data), retain_graph=True)
    except GraphFreedError:
        raise GraphFreedError(
            "draw(grad=True) needs the graph, which backward() freed: draw before backward(), "
            "or call backward(retain_graph=True)"
        ) from None
    return {id(n): float(np.linalg.norm(g)) for n, g in zip(wanted, grads)}


def _colour(norm: float, low: float, high: float) -> str:
    if norm <= 0 or not math.isfinite(norm):
        return "#bbbbbb"
    position = 0.0 if high <= low else (math.log10(norm) - low) / (high - low)
    return PALETTE[min(len(PALETTE) - 1, max(0, round(position * (len(PALETTE) - 1))))]


# -- folding and collapsing: which node stands for which -------------------------------


def _fold(nodes: list[Tensor]) -> dict[int, Tensor | str]:
    """Map every node of every step onto its counterpart in one representative step per
    (layer, direction): the same op, name and position among its kind in the step."""
    by_group: dict[tuple, dict[int, list[Tensor]]] = defaultdict(lambda: defaultdict(list))
    for node in nodes:
        key = step_key(node)
        if key is not None:
            by_group[key[:2]][key.step].append(node)
    mapping: dict[int, Tensor | str] = {}
    for steps in by_group.values():
        chosen = 2 if 2 in steps and 1 in steps else min(steps)  # step 2 has a predecessor to loop from
        slots = {slot(n, steps[chosen]): n for n in steps[chosen]}
        for members in steps.values():
            for node in members:
                if (counterpart := slots.get(slot(node, members))) is not None:
                    mapping[id(node)] = counterpart
    return mapping


def _collapse(nodes: list[Tensor]) -> dict[int, Tensor | str]:
    """Map every node made inside a time step onto one node standing for that step."""
    return {id(n): f"step {k.layer} {k.direction} {k.step}" for n in nodes if (k := step_key(n)) is not None}


# -- the picture -------------------------------------------------------------------------


class _Picture:
    def __init__(
        self, nodes: list[Tensor], mapping: dict[int, Tensor | str], norms: dict[int, float], title: str | None,
        folded: bool = False,
    ):
        self.nodes, self.mapping, self.norms, self.title, self.folded = nodes, mapping, norms, title, folded
        self.node_set = set(nodes)  # Tensors hash by identity
        self.ids: dict[object, str] = {}
        keys = {k for n in nodes if (k := step_key(n)) is not None}
        self.layers = len({k.layer for k in keys})
        self.both_directions = len({k.direction for k in keys}) > 1
        self.steps_per_group = Counter((k.layer, k.direction) for k in keys)

    def represent(self, node: Tensor) -> Tensor | str:
        if _is_parameter_transpose(node):
            return node.parents[0]  # W.T is W: draw the parameter's edge straight into the step
        return self.mapping.get(id(node), node)

    def node_id(self, item: Tensor | str) -> str:
        key = item if isinstance(item, str) else id(item)
        if key not in self.ids:
            self.ids[key] = f"n{len(self.ids)}"
        return self.ids[key]

    def cluster_label(self, key: StepKey) -> str:
        label = f"t = {key.step}"
        if self.layers > 1:
            label += f" · layer {key.layer}"
        if self.both_directions:
            label += f" · {key.direction}"
        return label

    def digraph(self) -> graphviz.Digraph:
        # Bottom to top, as the lecture draws it: x_t below, s_t above it, the loss on top;
        # the steps side by side, because edges between steps do not constrain the ranks.
        # mclimit: little crossing minimisation, so the steps stay in time order (order_steps).
        graph = graphviz.Digraph(
            "minigrad", graph_attr={"rankdir": "BT", "fontname": "Helvetica", "newrank": "true", "mclimit": "0.1"}
        )
        graph.attr("node", fontname="Helvetica", fontsize="11")
        graph.attr("edge", color="#555555", arrowsize="0.7", fontname="Helvetica", fontsize="11")
        if self.title:
            graph.attr(label=self.title, labelloc="t", fontsize="13")
        shown = [n for n in self.nodes if self.represent(n) is n]
        step_nodes: dict[StepKey, list[Tensor | str]] = defaultdict(list)
        outside: list[Tensor | str] = []
        collapsed: dict[str, list[Tensor]] = defaultdict(list)
        for node in self.nodes:
            stand_in = self.represent(node)
            if isinstance(stand_in, str):
                collapsed[stand_in].append(node)
        representatives = {id(v) for v in self.mapping.values() if not isinstance(v, str)}
        for node in shown:
            key = step_key(node)
            folded_away = self.folded and id(node) not in representatives  # e.g. s_0, before any step
            (step_nodes[key] if key is not None and not folded_away else outside).append(node)
        for name, members in collapsed.items():
            step_nodes[step_key(members[0])].append(name)

        low, high = self._log_range()
        if collapsed:  # one node per step is its own box: clusters around them would only slow Graphviz
            outside = [item for key in sorted(step_nodes, key=box_order) for item in step_nodes[key]] + outside
            step_nodes = {}
        for key in sorted(step_nodes, key=box_order):
            with graph.subgraph(name=f"cluster_step_l{key.layer}_{key.direction}_t{key.step}") as cluster:
                label = self.cluster_label(key)
                if self.folded:
                    label = f"one step, repeated × {self.steps_per_group[key[:2]]}"
                    if self.layers > 1 or self.both_directions:
                        label += f" ({self.cluster_label(key).split(' · ', 1)[-1]})"
                cluster.attr(label=label, style="rounded,dashed", color="#8899aa", fontsize="12")
                for item in step_nodes[key]:
                    self.add_node(cluster, item, collapsed, low, high)
                cluster.node(f"anchor_{cluster.name}", "", style="invis", width="0", height="0")
        self.order_steps(graph, sorted(step_nodes, key=box_order))
        for item in outside:
            self.add_node(graph, item, collapsed, low, high)
        self.add_edges(graph)
        if self.norms:
            self.add_legend(graph, low, high)
        return graph

    @staticmethod
    def order_steps(graph: graphviz.Digraph, keys: list[StepKey]) -> None:
        """Lay each layer's steps out left to right, t = 1 first: one anchor per step box, the
        anchors of a layer and direction on one rank, chained by invisible edges (which dot
        draws left to right)."""
        groups: dict[tuple, list[str]] = defaultdict(list)
        for key in keys:  # an encoder–decoder's decoder steps continue its first layer's row
            group = (0, "forward") if key.direction == "decoder" else key[:2]
            groups[group].append(f"anchor_cluster_step_l{key.layer}_{key.direction}_t{key.step}")
        for anchors in groups.values():
            if len(anchors) < 2:
                continue
            with graph.subgraph() as row:
                row.attr(rank="same")
                for left, right in zip(anchors, anchors[1:]):
                    row.edge(left, right, style="invis")

    def _log_range(self) -> tuple[float, float]:
        positive = [math.log10(v) for v in self.norms.values() if v > 0 and math.isfinite(v)]
        return (min(positive), max(positive)) if positive else (0.0, 0.0)

    def add_node(self, graph: graphviz.Digraph, item: Tensor | str, collapsed: dict, low: float, high: float) -> None:
        if isinstance(item, str):
            members = collapsed[item]
            counts = Counter(m.op for m in members if m.op)
            key = step_key(members[0])
            lines = [self.cluster_label(key), f"{sum(counts.values())} ops"]
            lines += [f"{op} ×{n}" for op, n in sorted(counts.items())]
            attrs = {"shape": "box3d", "style": "filled", "fillcolor": FILL["op"]}
            norms = [self.norms[id(m)] for m in members if id(m) in self.norms]
            if norms:
                attrs.update(self.colour_attrs(max(norms), low, high))
                lines.append(f"max ‖grad‖ {max(norms):.1e}")
            graph.node(self.node_id(item), "\n".join(lines), id=self.node_id(item), **attrs)
            return
        node_kind = kind(item)
        name = item.name if self.folded else display_name(item)
        lines = ([name] if name else []) + ([f"{item.op}  {shape_text(item)}"] if item.op else [shape_text(item)])
        attrs = {
            "op": {"shape": "box", "style": "rounded,filled"},
            "parameter": {"shape": "box", "style": "filled,bold"},
            "input": {"shape": "ellipse", "style": "filled"},
        }[node_kind]
        attrs = {**attrs, "fillcolor": FILL[node_kind]}
        if id(item) in self.norms:
            attrs.update(self.colour_attrs(self.norms[id(item)], low, high))
            lines.append(f"‖grad‖ {self.norms[id(item)]:.1e}")
        graph.node(self.node_id(item), "\n".join(lines), id=self.node_id(item), **attrs)

    @staticmethod
    def colour_attrs(norm: float, low: float, high: float) -> dict[str, str]:
        colour = _colour(norm, low, high)
        dark = colour in PALETTE[:5]
        return {"fillcolor": colour, "fontcolor": "white" if dark else "black"}

    def add_edges(self, graph: graphviz.Digraph) -> None:
        drawn: set[tuple[str, str]] = set()
        for node in self.nodes:
            head = self.represent(node)
            for parent in node.parents:
                if parent not in self.node_set:
                    continue
                tail = self.represent(parent)
                edge = (self.node_id(tail), self.node_id(head))
                if edge[0] == edge[1] or edge in drawn:  # inside one folded or collapsed node
                    continue
                drawn.add(edge)
                before, after = step_key(parent), step_key(node)
                if before is None or after is None or before == after:
                    graph.edge(*edge)
                elif self.folded:  # the loop that closes the fan
                    repeats = self.steps_per_group[after[:2]]
                    weight = _recurrent_weight(node, parent)
                    label = f"{weight} × {repeats}" if weight else f"× {repeats}"
                    graph.edge(*edge, label=label, color=RECURRENT, fontcolor=RECURRENT, penwidth="2", constraint="false")
                else:  # unrolled: the state handed from one step to the next
                    graph.edge(*edge, color=RECURRENT, penwidth="1.5", constraint="false")

    def add_legend(self, graph: graphviz.Digraph, low: float, high: float) -> None:
        with graph.subgraph(name="cluster_legend") as legend:
            legend.attr(label="‖gradient‖ (log scale)", style="rounded", color="#999999", fontsize="12")
            previous = None
            for i, colour in enumerate(PALETTE):
                value = 10 ** (low + (high - low) * i / (len(PALETTE) - 1))
                node_id = f"legend{i}"
                legend.node(
                    node_id, f"{value:.1e}", shape="box", style="filled", fillcolor=colour,
                    fontcolor="white" if colour in PALETTE[:5] else "black",
                )
                if previous:
                    legend.edge(previous, node_id, style="invis")
                previous = node_id


def _is_parameter_transpose(node: Tensor) -> bool:
    return node.op == "transpose" and kind(node.parents[0]) == "parameter"


def _recurrent_weight(node: Tensor, state: Tensor) -> str | None:
    """The name of the parameter the previous state meets at ``node`` (W for ``s_{t-1} W``)."""
    for other in node.parents:
        if other is state:
            continue
        for candidate in (other, *other.parents):
            if kind(candidate) == "parameter" and candidate.name:
                return candidate.name
    return None
