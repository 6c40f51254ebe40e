"""The command line, run as a user would: `minigrad plugins`, `minigrad gradcheck`, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_plugins import cell_source, make_dist

import minigrad as mg

SCRIPT = Path(sys.executable).parent / "minigrad"
CELL_ROWS = {  # name -> (module, origin: built-in, or distribution and version)
    "rnn": ("minigrad_plugins.cells.rnn", "built-in"),
    "lstm": ("minigrad_plugins.cells.lstm", "built-in"),
    "gru": ("minigrad_plugins.cells.gru", "built-in"),
    "gru-textbook": ("minigrad_plugins.cells.gru_textbook", "built-in"),
    "mgu": ("minigrad_mgu", "minigrad-mgu 0.1.0"),
}

WRONG_GRADIENT = cell_source(
    cls="WrongGradCell",
    name="wronggrad",
    extra='''
    def forward(self, x, h):
        h = self.pre(x, h.detach()).tanh()  # BPTT cut after one step: gradients are wrong
        return h, h
''',
)

RAISING_FORWARD = cell_source(
    cls="RaisingCell",
    name="raising",
    extra='''
    def forward(self, x, h):
        raise RuntimeError("forward exploded")
''',
)


def run(*args: str, pythonpath: Path | None = None, script: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGRAD_")}
    env["COLUMNS"] = "300"  # argparse and the help's plugin lists wrap to this: one row per plugin
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "minigrad"]
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env, timeout=120)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def broken_import(tmp_path):
    """A fake installed distribution whose plugin module raises on import."""
    return make_dist(tmp_path, "fake-broken", {"brokencell": "mgcli_broken"}, {"mgcli_broken": 'raise ImportError("no module named spam")\n'})


# ------------------------------------------------------------------ minigrad plugins


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed")
def test_plugins_lists_every_cell_with_its_origin():
    """One row per cell and task: name, kind, module, and "built-in" or the distribution and its
    version (the console script)."""
    result = run("plugins", script=True)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line.strip()}
    for name, (module, origin) in CELL_ROWS.items():
        assert rows[name][:3] == [name, "cell", module]
        assert " ".join(rows[name][3:]) == origin
    for name, task in mg.tasks().items():
        assert rows[name] == [name, "task", task.__module__, "built-in"]
    assert result.stdout.splitlines()[0].split() == ["NAME", "KIND", "MODULE", "FROM"]
    assert "broken" not in result.stdout and result.stderr == ""


def test_plugins_with_a_broken_plugin_installed(broken_import):
    """The good cells are still listed; the broken one is one line with entry point, distribution, error."""
    result = run("plugins", pythonpath=broken_import)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert set(CELL_ROWS) <= names
    broken = [line for line in result.stdout.splitlines() if "brokencell" in line]
    assert len(broken) == 1
    assert "fake-broken 0.1" in broken[0] and "ImportError: no module named spam" in broken[0]


def test_plugins_strict_mode_fails_with_one_line(broken_import):
    env_result = subprocess.run(
        [sys.executable, "-m", "minigrad", "plugins"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(broken_import), "MINIGRAD_STRICT_PLUGINS": "1"},
    )
    assert_one_line_error(env_result, "brokencell", "no module named spam")


def test_a_plugin_claiming_a_builtin_name_is_a_conflict_line_and_the_builtin_stays(tmp_path):
    """A third-party cell also called 'lstm': `minigrad plugins` still shows the built-in lstm and
    one conflict line naming both; `gradcheck lstm` checks the built-in, warning in one line."""
    root = make_dist(tmp_path, "fake-lstm", {"otherlstm": "mgcli_otherlstm"}, {"mgcli_otherlstm": cell_source("L", "lstm")})
    result = run("plugins", pythonpath=root)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["lstm", "cell", "minigrad_plugins.cells.lstm", "built-in"] in rows
    conflicts = [line for line in result.stdout.splitlines() if line.startswith("conflict:")]
    assert len(conflicts) == 1
    assert "'lstm'" in conflicts[0] and "otherlstm" in conflicts[0] and "fake-lstm 0.1" in conflicts[0]
    checked = run("gradcheck", "lstm", "--steps", "2", pythonpath=root)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.split()[:2] == ["lstm", "ok"]
    warnings = checked.stderr.strip().splitlines()
    assert len(warnings) == 1 and "otherlstm" in warnings[0] and "built-in one is used" in warnings[0]


def test_the_minigrad_command_tunes_malloc(monkeypatch, capsys):
    """cli.main tunes the allocator for its own process (importing minigrad does not)."""
    from minigrad import cli

    calls = []
    monkeypatch.setattr(cli, "tune_malloc", lambda: calls.append(1) or True)
    assert cli.main(["plugins"]) == 0
    assert calls == [1]


# ------------------------------------------------------------------ minigrad gradcheck


def test_gradcheck_every_cell():
    """No names: every registered cell, one 'ok' line each with its worst error, exit 0."""
    result = run("gradcheck")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(CELL_ROWS)
    for line in lines:
        name, status, *rest = line.split()
        assert status == "ok", line
        worst = float(line.split("worst gradient error")[1].split()[0])
        assert 0 <= worst < 1e-6


def test_gradcheck_one_cell():
    result = run("gradcheck", "lstm", "--steps", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].split()[:2] == ["lstm", "ok"]


def test_gradcheck_still_works_with_a_broken_plugin(broken_import):
    result = run("gradcheck", "rnn", "mgu", pythonpath=broken_import)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[:2] for line in result.stdout.strip().splitlines()] == [["rnn", "ok"], ["mgu", "ok"]]
    assert "brokencell" in result.stderr and "Traceback" not in result.stderr


def test_gradcheck_fails_a_cell_with_wrong_gradients(tmp_path):
    """A third-party cell with wrong gradients: a FAIL line naming the problem, exit 1; others still ok."""
    root = make_dist(tmp_path, "fake-wrong", {"wronggrad": "mgcli_wronggrad"}, {"mgcli_wronggrad": WRONG_GRADIENT})
    result = run("gradcheck", "wronggrad", "rnn", pythonpath=root)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:2] == ["wronggrad", "FAIL"] and "analytic" in lines[0] and "numeric" in lines[0]
    assert lines[1].split()[:2] == ["rnn", "ok"]
    assert "Traceback" not in result.stderr


def test_gradcheck_fails_a_cell_whose_forward_raises(tmp_path):
    """A cell whose forward raises is a FAIL (exit 1), not a crash; the next cell is still checked."""
    root = make_dist(tmp_path, "fake-raising", {"raising": "mgcli_raising"}, {"mgcli_raising": RAISING_FORWARD})
    result = run("gradcheck", "raising", "rnn", pythonpath=root)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["raising", "FAIL"] and "forward exploded" in lines[0]
    assert lines[1].split()[:2] == ["rnn", "ok"]


# ------------------------------------------------------------------ bad input


def test_unknown_cell():
    result = run("gradcheck", "lstmm")
    assert_one_line_error(result, "'lstmm'", "lstm", "gru")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["frobnicate"], "frobnicate"),
        ([], "COMMAND"),
        (["gradcheck", "--steps", "0"], "--steps"),
        (["gradcheck", "--steps", "many"], "'many'"),
        (["gradcheck", "--steps", "2.5"], "expected a positive integer, got '2.5'"),
        (["plugins", "--verbose"], "--verbose"),
        (["gradcheck", "--bogus"], "--bogus"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, fragment):
    assert_one_line_error(run(*args), fragment)


def listed(help_text: str, title: str) -> dict[str, str]:
    """The rows under ``title:`` at the end of a command's help: name -> description."""
    lines = help_text.split(f"\n{title}:\n", 1)[1].split("\n\n")[0].splitlines()
    return dict(line.strip().split(None, 1) for line in lines)


@pytest.mark.parametrize(
    "command, titles", [("train", ["tasks"]), ("eval", ["tasks"]), ("generate", ["generative tasks"]), ("graph", ["cells", "tasks"])]
)
def test_command_help_lists_what_it_takes_one_line_each(command, titles):
    """`minigrad train --help` (and eval, generate, graph): exit 0, every registered task (or cell)
    on one line with its description."""
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    for title in titles:
        rows = listed(result.stdout, title)
        if title == "cells":
            assert set(rows) == set(mg.cells())
        elif title == "tasks":
            assert set(rows) == set(mg.tasks())
        else:  # only tasks that generate; char-lm does, echo does not
            assert "char-lm" in rows and "echo" not in rows and set(rows) < set(mg.tasks())
        assert all(len(text) > 20 for text in rows.values()), rows
    if "tasks" in titles:
        assert listed(result.stdout, "tasks")["echo"].startswith("The echo task")
    if "cells" in titles:
        assert listed(result.stdout, "cells")["lstm"].startswith("The LSTM cell")


def test_train_task_help_starts_with_the_tasks_description():
    result = run("train", "binary-subtraction", "--help")
    assert result.returncode == 0, result.stderr
    assert "Binary subtraction" in result.stdout and "--hidden-size" in result.stdout


@pytest.mark.parametrize(
    "args, title",
    [(["train"], "tasks"), (["eval", "--checkpoint", "m.safetensors"], "tasks"),
     (["generate", "--checkpoint", "m.safetensors"], "generative tasks"), (["graph", "-o", "g.svg"], "tasks")],
)  # fmt: skip
def test_a_command_without_its_task_names_the_choices(args, title):
    """`minigrad train` alone: one line, exit 2, naming what it takes."""
    result = run(*args)
    assert_one_line_error(result, f"minigrad {args[0]}", "missing", f"{title}:", "char-lm", "translate")
    if args[0] == "graph":
        assert "lstm" in result.stderr and "mgu" in result.stderr


def test_help_and_version():
    result = run("--help")
    assert result.returncode == 0 and "gradcheck" in result.stdout and "plugins" in result.stdout
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == "minigrad 0.1.0"


def test_a_closed_pipe_ends_the_command_quietly():
    """`minigrad … | head -1`: the reader leaves early; no error line, status 0."""
    flood = (  # a command that prints far more than a pipe holds, so the write does fail
        "import sys, minigrad.cli as cli\n"
        "def flood(args):\n    for _ in range(100_000): print('x' * 100)\n    return 0\n"
        "cli.cmd_plugins = flood\nsys.exit(cli.main(['plugins']))\n"
    )
    script = f'"{sys.executable}" -c "$FLOOD" | head -1; exit ${{PIPESTATUS[0]}}'
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env={**os.environ, "FLOOD": flood})
    assert run.returncode == 0, run.stderr
    assert run.stderr == "" and run.stdout == "x" * 100 + "\n"
