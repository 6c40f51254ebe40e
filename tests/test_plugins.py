"""The plugin host: entry points, per-plugin isolation, strict and trace modes, hand registration."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pluggy
import pytest

import minigrad as mg
from fake_plugins import cell_source, make_dist
from minigrad.plugins import BrokenPlugin, PluginError, PluginWarning

BUILTIN = {"rnn", "lstm", "gru"}
_counter = itertools.count()

# What each kind of broken plugin module looks like, and what its report must say.
BROKEN_SOURCES = {
    "import_error": ('raise RuntimeError("boom on import\\nsecond line of the traceback text")\n', "boom on import"),
    "non_cell": (
        "import minigrad as mg\n\n@mg.hookimpl\ndef minigrad_cells():\n    return [dict]\n",
        "not a subclass",
    ),
    "hook_raises": (
        'import minigrad as mg\n\n@mg.hookimpl\ndef minigrad_cells():\n    raise ZeroDivisionError("oops in hook")\n',
        "oops in hook",
    ),
    "misspelled": (
        "import minigrad as mg\n\n@mg.hookimpl\ndef minigrad_cell():\n    return []\n",
        "minigrad_cell",
    ),
}


def unique(prefix: str) -> str:
    """A module name no other test uses (modules stay cached in sys.modules)."""
    return f"mgfake_{prefix}_{os.getpid()}_{next(_counter)}"


@pytest.fixture
def fresh(monkeypatch):
    """Clean plugin state before and after; fake modules are dropped from sys.modules."""
    monkeypatch.delenv("MINIGRAD_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("MINIGRAD_TRACE_PLUGINS", raising=False)
    mg.plugins.reset()
    yield monkeypatch
    mg.plugins.reset()
    for name in [n for n in sys.modules if n.startswith("mgfake_")]:
        del sys.modules[name]


def install(monkeypatch, root: Path) -> None:
    monkeypatch.syspath_prepend(str(root))
    mg.plugins.reset()


def broken_dist(tmp_path: Path, kind: str) -> tuple[str, str, str]:
    """A fake distribution with one broken entry point; returns (entry point, module, expected text)."""
    source, expected = BROKEN_SOURCES[kind]
    module, entry = unique(kind), f"bad_{kind}"
    make_dist(tmp_path, f"fake-{kind.replace('_', '-')}", {entry: module}, {module: source})
    return entry, module, expected


# ------------------------------------------------------------------ what is installed


def test_cells_lists_builtins_and_third_party(fresh):
    """rnn, lstm, gru come from the distribution minigrad, mgu from minigrad-mgu."""
    cells = mg.cells()
    assert BUILTIN | {"mgu"} <= set(cells)
    for name, cls in cells.items():
        assert issubclass(cls, mg.nn.Cell) and cls.name == name
    items = mg.plugins.provided("minigrad_cells", mg.nn.Cell)
    for name in BUILTIN:
        assert items[name].plugin.distribution == "minigrad"
        assert items[name].cls.__module__ == f"minigrad_plugins.cells.{name}"
        assert items[name].kind == "cell"
    assert items["mgu"].plugin.distribution == "minigrad-mgu"
    assert items["mgu"].plugin.version == "0.1.0"
    assert mg.plugins.broken() == []


def test_hookimpl_is_pluggys_marker_for_minigrad():
    """mg.hookimpl is pluggy.HookimplMarker('minigrad')."""
    assert isinstance(mg.hookimpl, pluggy.HookimplMarker)
    assert mg.hookimpl.project_name == "minigrad"
    assert mg.plugins.plugin_manager().project_name == "minigrad"


# ------------------------------------------------------------------ isolation of broken plugins


@pytest.mark.parametrize("kind", sorted(BROKEN_SOURCES))
def test_broken_plugin_is_isolated_and_reported(fresh, tmp_path, kind):
    """A broken plugin is skipped with a PluginWarning; the other cells keep working."""
    entry, module, expected = broken_dist(tmp_path, kind)
    good = unique("good")
    make_dist(tmp_path, "fake-good", {"fakegood": good}, {good: cell_source("GoodCell", "fakegood")})
    install(fresh, tmp_path)
    with pytest.warns(PluginWarning, match=entry):
        cells = mg.cells()
    assert BUILTIN | {"mgu", "fakegood"} <= set(cells)
    reports = mg.plugins.broken()
    assert len(reports) == 1
    report = reports[0]
    assert isinstance(report, BrokenPlugin)
    assert report.info.name == entry
    assert report.info.distribution == f"fake-{kind.replace('_', '-')}"
    assert expected in report.error
    text = str(report)
    assert "\n" not in text
    assert entry in text and report.info.distribution in text and expected in text
    # the good cells still run
    out, h_n = mg.nn.Recurrent("gru", 2, 3)(mg.tensor(np.ones((1, 2, 2))))
    assert out.shape == (1, 2, 3)
    out, h_n = mg.nn.Recurrent("fakegood", 2, 3)(mg.tensor(np.ones((1, 2, 2))))
    assert out.shape == (1, 2, 3)


@pytest.mark.parametrize("kind", sorted(BROKEN_SOURCES))
def test_strict_mode_raises_plugin_error(fresh, tmp_path, kind):
    """MINIGRAD_STRICT_PLUGINS=1 turns a broken plugin into a PluginError naming it."""
    entry, _, expected = broken_dist(tmp_path, kind)
    install(fresh, tmp_path)
    fresh.setenv("MINIGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=entry) as info:
        mg.cells()
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_strict_mode_stays_strict_on_the_next_lookup(fresh, tmp_path):
    """After a strict failure, a second lookup must not quietly return a half-loaded registry."""
    entry, _, _ = broken_dist(tmp_path, "import_error")
    install(fresh, tmp_path)
    fresh.setenv("MINIGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError):
        mg.cells()
    with pytest.raises(PluginError, match=entry):
        mg.cells()


@pytest.mark.filterwarnings("ignore::minigrad.plugins.PluginWarning")
def test_a_broken_plugin_is_reported_once(fresh, tmp_path):
    """Registering or unregistering another plugin must not report the same broken plugin again."""
    entry, _, _ = broken_dist(tmp_path, "hook_raises")
    install(fresh, tmp_path)
    with pytest.warns(PluginWarning):
        mg.cells()
    assert len(mg.plugins.broken()) == 1
    module = _module(cell_source("Once", "oncecell"), unique("once"))
    mg.plugins.register(module)
    assert "oncecell" in mg.cells()
    mg.plugins.unregister(module.__name__)
    assert "oncecell" not in mg.cells()
    assert [b.info.name for b in mg.plugins.broken()] == [entry]


def test_unregister_an_installed_plugin_and_reset_restores_it(fresh):
    mg.plugins.unregister("mgu")
    assert "mgu" not in mg.cells() and BUILTIN <= set(mg.cells())
    mg.plugins.reset()
    assert "mgu" in mg.cells()


def test_strict_mode_off_values(fresh, tmp_path):
    """MINIGRAD_STRICT_PLUGINS=0 is not strict."""
    entry, _, _ = broken_dist(tmp_path, "import_error")
    install(fresh, tmp_path)
    fresh.setenv("MINIGRAD_STRICT_PLUGINS", "0")
    with pytest.warns(PluginWarning):
        assert BUILTIN <= set(mg.cells())


def test_two_plugins_claiming_one_name(fresh, tmp_path):
    """Two plugins providing the cell name 'dupcell': using that name is a PluginError naming
    both; the name is left out of mg.cells() with a warning; other cells keep working."""
    a, b = unique("dupa"), unique("dupb")
    make_dist(tmp_path, "fake-dup-a", {"dup_a": a}, {a: cell_source("A", "dupcell")})
    make_dist(tmp_path, "fake-dup-b", {"dup_b": b}, {b: cell_source("B", "dupcell")})
    install(fresh, tmp_path)
    with pytest.warns(PluginWarning, match="dupcell"):
        cells = mg.cells()
    assert "dupcell" not in cells and BUILTIN <= set(cells)
    mg.nn.Recurrent("lstm", 2, 3)
    with pytest.raises(PluginError) as info:
        mg.nn.Recurrent("dupcell", 2, 3)
    message = str(info.value)
    assert "'dupcell'" in message
    for text in ("dup_a", "dup_b", "fake-dup-a", "fake-dup-b", a, b):
        assert text in message
    assert "\n" not in message


def test_third_party_claiming_a_builtin_name(fresh, tmp_path):
    """A plugin that also calls its cell 'lstm' -> PluginError naming it and minigrad's on use;
    in strict mode already when the cells are listed."""
    m = unique("lstm2")
    make_dist(tmp_path, "fake-lstm", {"otherlstm": m}, {m: cell_source("L", "lstm")})
    install(fresh, tmp_path)
    with pytest.warns(PluginWarning):
        assert "gru" in mg.cells()
    with pytest.raises(PluginError, match="'lstm'") as info:
        mg.nn.LSTM(2, 3)
    assert "otherlstm" in str(info.value) and "minigrad_plugins.cells.lstm" in str(info.value)
    mg.plugins.reset()
    fresh.setenv("MINIGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="'lstm'") as info:
        mg.cells()
    assert "otherlstm" in str(info.value) and "minigrad_plugins.cells.lstm" in str(info.value)


def test_import_minigrad_works_with_a_broken_plugin_installed(tmp_path):
    """In a fresh interpreter, import minigrad and mg.cells() survive a plugin that raises on import."""
    entry, _, _ = broken_dist(tmp_path, "import_error")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("MINIGRAD_STRICT_PLUGINS", None)
    code = "import minigrad as mg; print(sorted(mg.cells())); print(mg.plugins.broken()[0])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == str(sorted(BUILTIN | {"mgu"}))
    assert entry in second and "boom on import" in second
    assert "PluginWarning" in result.stderr


# ------------------------------------------------------------------ tracing


def test_trace_prints_every_load_and_hook_call(fresh, capsys):
    """MINIGRAD_TRACE_PLUGINS=1: one stderr line per entry-point load and per hook call."""
    fresh.setenv("MINIGRAD_TRACE_PLUGINS", "1")
    mg.plugins.reset()
    mg.cells()
    err = capsys.readouterr().err.splitlines()
    for name, module in [(n, f"minigrad_plugins.cells.{n}") for n in BUILTIN] + [("mgu", "minigrad_mgu")]:
        assert any("loading entry point" in line and f"{name} = {module}" in line for line in err), err
        assert any(f"calling minigrad_cells() of {name} ({module})" in line for line in err), err
    mg.cells()  # cached: no reload, no new hook calls
    assert capsys.readouterr().err == ""


def test_no_trace_by_default(fresh, capsys):
    mg.plugins.reset()
    mg.cells()
    assert "[minigrad plugins]" not in capsys.readouterr().err


# ------------------------------------------------------------------ registering by hand


def _module(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    return module


def test_register_by_hand_then_use_in_recurrent(fresh):
    """register(module) adds its cell everywhere; unregister removes it again."""
    name = unique("hand")
    module = _module(cell_source("HandCell", "handcell"), name)
    assert "handcell" not in mg.cells()
    mg.plugins.register(module)
    assert mg.cells()["handcell"] is module.HandCell
    item = mg.plugins.provided("minigrad_cells", mg.nn.Cell)["handcell"]
    assert item.plugin.origin == "registered at run time"
    layer = mg.nn.Recurrent("handcell", 2, 3, num_layers=2, bidirectional=True)
    x = mg.tensor(np.random.default_rng(0).normal(size=(2, 4, 2)), requires_grad=True)
    out, h_n = layer(x)
    assert out.shape == (2, 4, 6) and h_n.shape == (4, 2, 3)
    out.sum().backward()
    assert np.abs(x.grad).sum() > 0
    assert all(p.grad is not None for p in layer.parameters())
    mg.plugins.unregister(name)
    assert "handcell" not in mg.cells()
    with pytest.raises(PluginError, match="handcell"):
        mg.nn.Recurrent("handcell", 2, 3)


def test_register_by_hand_errors_are_raised(fresh):
    """A misspelled hook or a second registration under one name raises PluginError at once."""
    with pytest.raises(PluginError, match="minigrad_cell"):
        mg.plugins.register(_module(BROKEN_SOURCES["misspelled"][0], unique("typo")))
    assert BUILTIN <= set(mg.cells())
    module = _module(cell_source("C", "c1"), unique("twice"))
    mg.plugins.register(module, name="same")
    other = _module(cell_source("D", "d1"), unique("twice"))
    with pytest.raises(PluginError, match="same"):
        mg.plugins.register(other, name="same")
    assert "c1" in mg.cells() and "d1" not in mg.cells()


def test_reset_forgets_hand_registered_plugins(fresh):
    module = _module(cell_source("R", "resetcell"), unique("reset"))
    mg.plugins.register(module)
    assert "resetcell" in mg.cells()
    mg.plugins.reset()
    assert "resetcell" not in mg.cells()
    assert BUILTIN | {"mgu"} <= set(mg.cells())
