"""The plugin host: built-ins registered directly, entry points for third parties, per-plugin
isolation, claimed names, strict and trace modes, hand registration.

Each test that installs fake plugins makes a fresh ``PluginHost`` (after putting them on
sys.path); ``use_host`` makes it the default one for the test's length, so that
``mg.cells()`` and ``mg.nn.Recurrent("name")`` see it too.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pluggy
import pytest

import minigrad as mg
from fake_plugins import cell_source, make_dist
from minigrad.plugins import BUILTIN_PLUGINS, BrokenPlugin, PluginError, PluginHost, PluginWarning

BUILTIN = {"rnn", "lstm", "gru", "gru-textbook"}
BUILTIN_MODULE = {name: "minigrad_plugins.cells." + name.replace("-", "_") for name in BUILTIN}  # gru-textbook: gru_textbook
ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    """Neither strict nor tracing unless a test says so."""
    monkeypatch.delenv("MINIGRAD_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("MINIGRAD_TRACE_PLUGINS", raising=False)


def unique(prefix: str) -> str:
    """A module name no other test uses (modules stay cached in sys.modules)."""
    return f"mgfake_{prefix}_{os.getpid()}_{next(_counter)}"


def use_host(monkeypatch, root: Path | None = None) -> PluginHost:
    """A fresh host, seeing the fake distributions in ``root``, as the default for this test."""
    if root is not None:
        monkeypatch.syspath_prepend(str(root))
    host = PluginHost()
    monkeypatch.setattr(mg.plugins, "host", host)
    return host


def broken_dist(tmp_path: Path, kind: str) -> tuple[str, str, str]:
    """A fake distribution with one broken entry point; returns (entry point, module, expected text)."""
    source, expected = BROKEN_SOURCES[kind]
    module, entry = unique(kind), f"bad_{kind}"
    make_dist(tmp_path, f"fake-{kind.replace('_', '-')}", {entry: module}, {module: source})
    return entry, module, expected


def _module(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    return module


# ------------------------------------------------------------------ what is registered, and from where


def test_builtins_are_registered_directly_and_third_party_through_entry_points():
    """rnn, lstm, gru and every task are built-in (from BUILTIN_PLUGINS); mgu comes from minigrad-mgu."""
    host = PluginHost()
    cells = host.provided("minigrad_cells", mg.nn.Cell)
    tasks = host.provided("minigrad_tasks", mg.Task)
    assert BUILTIN | {"mgu"} <= set(cells)
    for name in BUILTIN:
        assert cells[name].plugin.builtin and cells[name].plugin.origin == "built-in"
        assert cells[name].plugin.name == cells[name].cls.__module__ == BUILTIN_MODULE[name]
        assert cells[name].kind == "cell"
    builtin_modules = {p.plugin.module for p in [*cells.values(), *tasks.values()] if p.plugin.builtin}
    assert builtin_modules == set(BUILTIN_PLUGINS)  # each listed module provides something, and nothing else is built-in
    assert all(p.plugin.origin == "built-in" for p in tasks.values())
    assert not cells["mgu"].plugin.builtin
    assert (cells["mgu"].plugin.distribution, cells["mgu"].plugin.version) == ("minigrad-mgu", "0.1.0")
    assert cells["mgu"].plugin.origin == "minigrad-mgu 0.1.0"
    assert host.broken() == [] and host.conflicts("minigrad_cells") == {}


def test_the_default_host_is_what_mg_cells_and_tasks_show():
    assert mg.cells() == {n: p.cls for n, p in mg.plugins.host.provided("minigrad_cells", mg.nn.Cell).items()}
    assert mg.tasks() == {n: p.cls for n, p in mg.plugins.host.provided("minigrad_tasks", mg.Task).items()}


def test_builtins_work_without_entry_point_metadata(monkeypatch):
    """No installed metadata at all (a vendored copy): every built-in cell and task is still there."""
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kwargs: [])
    host = use_host(monkeypatch)
    cells = host.provided("minigrad_cells", mg.nn.Cell)
    assert set(cells) == BUILTIN  # mgu needs its metadata, so it is gone
    modules = {p.cls.__module__ for p in [*cells.values(), *host.provided("minigrad_tasks", mg.Task).values()]}
    assert modules == set(BUILTIN_PLUGINS)
    out, h_n = mg.nn.LSTM(2, 3)(mg.tensor(np.ones((1, 4, 2))))  # through the default host
    assert out.shape == (1, 4, 3) and h_n[0].shape == (1, 1, 3)


def test_a_zipped_copy_registers_its_own_builtins(tmp_path):
    """minigrad and minigrad_plugins copied into one zip file on PYTHONPATH, as a zipapp would
    carry them: the built-ins come from the zip, whatever the installed metadata says."""
    archive = tmp_path / "vendored.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for package, source in (("minigrad", ROOT / "minigrad"), ("minigrad_plugins", ROOT / "plugins")):
            for path in source.rglob("*.py"):
                zf.write(path, f"{package}/{path.relative_to(source)}")
    code = (
        "import minigrad as mg\n"
        "items = {**mg.plugins.provided('minigrad_cells', mg.nn.Cell), **mg.plugins.provided('minigrad_tasks', mg.Task)}\n"
        "print(mg.__file__)\n"
        "for name, item in sorted(items.items()):\n"
        "    print(name, item.plugin.origin, __import__('sys').modules[item.cls.__module__].__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGRAD_")}
    env["PYTHONPATH"] = str(archive)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, *rows = result.stdout.splitlines()
    assert first.startswith(str(archive))
    builtin = {row.split()[0]: row.split()[-1] for row in rows if row.split()[1] == "built-in"}
    assert BUILTIN | set(mg.tasks()) <= set(builtin)
    assert all(path.startswith(str(archive)) for path in builtin.values())
    assert "PluginWarning" not in result.stderr  # no built-in reported twice or broken


def test_stale_metadata_listing_a_builtin_registers_it_once(monkeypatch, tmp_path):
    """Installed metadata that still names a built-in module (an old install): loaded once, as built-in."""
    make_dist(tmp_path, "minigrad-old", {"rnn": "minigrad_plugins.cells.rnn"}, {})
    host = use_host(monkeypatch, tmp_path)
    cells = host.provided("minigrad_cells", mg.nn.Cell)
    assert cells["rnn"].plugin.origin == "built-in"
    assert host.broken() == [] and host.conflicts("minigrad_cells") == {}


def test_hookimpl_is_pluggys_marker_for_minigrad():
    """mg.hookimpl is pluggy.HookimplMarker('minigrad')."""
    assert isinstance(mg.hookimpl, pluggy.HookimplMarker)
    assert mg.hookimpl.project_name == "minigrad"
    assert mg.plugins.plugin_manager().project_name == "minigrad"


def test_hosts_are_independent(monkeypatch):
    """What one host registers, another does not see: a test's host leaves the default one alone."""
    mine = PluginHost()
    mine.register(_module(cell_source("Solo", "solocell"), unique("solo")))
    assert "solocell" in mine.provided("minigrad_cells", mg.nn.Cell)
    assert "solocell" not in PluginHost().provided("minigrad_cells", mg.nn.Cell)
    assert "solocell" not in mg.cells()


# ------------------------------------------------------------------ isolation of broken plugins


@pytest.mark.parametrize("kind", sorted(BROKEN_SOURCES))
def test_broken_plugin_is_isolated_and_reported(monkeypatch, tmp_path, kind):
    """A broken plugin is skipped with a PluginWarning; the other cells keep working."""
    entry, module, expected = broken_dist(tmp_path, kind)
    good = unique("good")
    make_dist(tmp_path, "fake-good", {"fakegood": good}, {good: cell_source("GoodCell", "fakegood")})
    use_host(monkeypatch, tmp_path)
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


def test_a_broken_builtin_is_reported_like_any_plugin(recwarn):
    """A built-in module that fails to import is named; the other built-ins still load."""
    host = PluginHost(builtins=("minigrad_plugins.cells.rnn", "minigrad_plugins.cells.nosuchcell"), entry_points=False)
    assert set(host.provided("minigrad_cells", mg.nn.Cell)) == {"rnn"}
    (report,) = host.broken()
    assert report.info.builtin and "nosuchcell" in str(report) and "built-in" in str(report)


@pytest.mark.parametrize("kind", sorted(BROKEN_SOURCES))
def test_strict_mode_raises_plugin_error(monkeypatch, tmp_path, kind):
    """MINIGRAD_STRICT_PLUGINS=1 turns a broken plugin into a PluginError naming it."""
    entry, _, expected = broken_dist(tmp_path, kind)
    use_host(monkeypatch, tmp_path)
    monkeypatch.setenv("MINIGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=entry) as info:
        mg.cells()
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_strict_mode_stays_strict_on_the_next_lookup(monkeypatch, tmp_path):
    """After a strict failure, a second lookup must not quietly return a half-loaded registry."""
    entry, _, _ = broken_dist(tmp_path, "import_error")
    use_host(monkeypatch, tmp_path)
    monkeypatch.setenv("MINIGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError):
        mg.cells()
    with pytest.raises(PluginError, match=entry):
        mg.cells()


@pytest.mark.filterwarnings("ignore::minigrad.plugins.PluginWarning")
def test_a_broken_plugin_is_reported_once(monkeypatch, tmp_path):
    """Registering or unregistering another plugin must not report the same broken plugin again."""
    entry, _, _ = broken_dist(tmp_path, "hook_raises")
    use_host(monkeypatch, tmp_path)
    mg.cells()
    assert len(mg.plugins.broken()) == 1
    module = _module(cell_source("Once", "oncecell"), unique("once"))
    mg.plugins.register(module)
    assert "oncecell" in mg.cells()
    mg.plugins.unregister(module.__name__)
    assert "oncecell" not in mg.cells()
    assert [b.info.name for b in mg.plugins.broken()] == [entry]


def test_unregister_an_installed_plugin_then_a_fresh_host_has_it_again(monkeypatch):
    host = use_host(monkeypatch)
    host.unregister("mgu")
    assert "mgu" not in mg.cells() and BUILTIN <= set(mg.cells())
    use_host(monkeypatch)
    assert "mgu" in mg.cells()


def test_strict_mode_off_values(monkeypatch, tmp_path):
    """MINIGRAD_STRICT_PLUGINS=0 is not strict."""
    broken_dist(tmp_path, "import_error")
    use_host(monkeypatch, tmp_path)
    monkeypatch.setenv("MINIGRAD_STRICT_PLUGINS", "0")
    with pytest.warns(PluginWarning):
        assert BUILTIN <= set(mg.cells())


# ------------------------------------------------------------------ one name, two plugins


def test_two_plugins_claiming_one_name(monkeypatch, tmp_path):
    """Two third-party plugins providing the cell name 'dupcell': using that name is a PluginError
    naming both; the name is left out of mg.cells() with a warning; other cells keep working."""
    a, b = unique("dupa"), unique("dupb")
    make_dist(tmp_path, "fake-dup-a", {"dup_a": a}, {a: cell_source("A", "dupcell")})
    make_dist(tmp_path, "fake-dup-b", {"dup_b": b}, {b: cell_source("B", "dupcell")})
    use_host(monkeypatch, tmp_path)
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
    assert mg.plugins.conflicts("minigrad_cells") == {"dupcell": message}


def test_third_party_claiming_a_builtin_name(monkeypatch, tmp_path):
    """A plugin that also calls its cell 'lstm': the built-in keeps the name (installing a package
    does not change what mg.nn.LSTM is), and the clash is reported naming both; strict mode
    refuses it when the cells are listed."""
    m = unique("lstm2")
    make_dist(tmp_path, "fake-lstm", {"otherlstm": m}, {m: cell_source("L", "lstm")})
    use_host(monkeypatch, tmp_path)
    with pytest.warns(PluginWarning, match="'lstm'") as caught:
        cells = mg.cells()
    message = str(caught[0].message)
    assert "otherlstm" in message and "fake-lstm" in message and "minigrad_plugins.cells.lstm" in message
    assert "built-in" in message and "\n" not in message
    assert cells["lstm"].__module__ == "minigrad_plugins.cells.lstm"
    layer = mg.nn.LSTM(2, 3)
    assert layer.state_dict()["weight_ih_l0"].shape == (4 * 3, 2)  # four gates: the built-in, not the plugin's L
    assert mg.plugins.conflicts("minigrad_cells") == {"lstm": message}
    use_host(monkeypatch, tmp_path)
    monkeypatch.setenv("MINIGRAD_STRICT_PLUGINS", "1")
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


def test_trace_prints_every_load_and_hook_call(monkeypatch, capsys):
    """MINIGRAD_TRACE_PLUGINS=1: one stderr line per plugin load and per hook call."""
    monkeypatch.setenv("MINIGRAD_TRACE_PLUGINS", "1")
    host = PluginHost()
    host.provided("minigrad_cells", mg.nn.Cell)
    err = capsys.readouterr().err.splitlines()
    for name in BUILTIN:
        module = BUILTIN_MODULE[name]
        assert f"[minigrad plugins] loading built-in {module}" in err, err
        assert any(f"calling minigrad_cells() of {module} (built-in)" in line for line in err), err
    assert any("loading entry point mgu = minigrad_mgu (minigrad-mgu 0.1.0)" in line for line in err), err
    assert any("calling minigrad_cells() of mgu (minigrad_mgu, minigrad-mgu 0.1.0)" in line for line in err), err
    host.provided("minigrad_cells", mg.nn.Cell)  # cached: no reload, no new hook calls
    assert capsys.readouterr().err == ""


def test_no_trace_by_default(capsys):
    PluginHost().provided("minigrad_cells", mg.nn.Cell)
    assert "[minigrad plugins]" not in capsys.readouterr().err


# ------------------------------------------------------------------ registering by hand


def test_register_by_hand_then_use_in_recurrent(monkeypatch):
    """register(module) adds its cell everywhere; unregister removes it again."""
    use_host(monkeypatch)
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


def test_register_by_hand_errors_are_raised():
    """A misspelled hook or a second registration under one name raises PluginError at once."""
    host = PluginHost()
    with pytest.raises(PluginError, match="minigrad_cell"):
        host.register(_module(BROKEN_SOURCES["misspelled"][0], unique("typo")))
    assert BUILTIN <= set(host.provided("minigrad_cells", mg.nn.Cell))
    host.register(_module(cell_source("C", "c1"), unique("twice")), name="same")
    other = _module(cell_source("D", "d1"), unique("twice"))
    with pytest.raises(PluginError, match="same"):
        host.register(other, name="same")
    cells = host.provided("minigrad_cells", mg.nn.Cell)
    assert "c1" in cells and "d1" not in cells

