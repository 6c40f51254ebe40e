"""The plugin host: cells and tasks come from plugins, the way pytest's and llm's do.

minigrad's own cells and tasks are the modules in ``BUILTIN_PLUGINS``, registered with
the plugin manager directly, so they work without installed metadata (a vendored copy, a
zipapp). Third-party plugins arrive through the ``minigrad`` entry-point group. Both
answer the same hooks (``minigrad/hookspecs.py``). Each plugin loads on its own, so a
broken one is reported by name and the others keep working.

A name claimed twice: a third-party plugin cannot take a built-in's name (the built-in
keeps it, so installing a package never changes what ``mg.nn.LSTM`` means), and a name
two third-party plugins claim is used by neither. Both are reported. Set
``MINIGRAD_STRICT_PLUGINS=1`` to make a broken plugin or a claimed name an error, and
``MINIGRAD_TRACE_PLUGINS=1`` to watch every plugin load and every hook call.

All plugin state lives in a ``PluginHost``. The functions at the bottom (``lookup``,
``provided``, ``register``, ...) use ``host``, the process's default one; a test makes a
host of its own, or swaps ``host`` for one with ``monkeypatch``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pluggy

from minigrad import hookspecs

# minigrad's own plugins, registered before any entry point, in this order.
BUILTIN_PLUGINS = (
    "minigrad_plugins.cells.rnn",
    "minigrad_plugins.cells.lstm",
    "minigrad_plugins.cells.gru",
    "minigrad_plugins.cells.gru_textbook",
    "minigrad_plugins.tasks.echo",
    "minigrad_plugins.tasks.binary_subtraction",
    "minigrad_plugins.tasks.names",
    "minigrad_plugins.tasks.char_lm",
    "minigrad_plugins.tasks.pm25",
    "minigrad_plugins.tasks.sentiment",
    "minigrad_plugins.tasks.future_echo",
    "minigrad_plugins.tasks.couplet",
    "minigrad_plugins.tasks.acrostic",
    "minigrad_plugins.tasks.dates",
    "minigrad_plugins.tasks.translate",
)

KINDS = {"minigrad_cells": "cell", "minigrad_tasks": "task"}


class PluginError(Exception):
    """A plugin could not be loaded or broke the contract (strict mode), or two plugins claim one name."""


class PluginWarning(UserWarning):
    """A plugin was skipped because it is broken, or a name was claimed twice; the others still work."""


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin comes from: its name (entry-point name, or module for a built-in), module,
    and distribution."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False

    @property
    def origin(self) -> str:
        """``built-in``, the distribution and its version, or ``registered at run time``."""
        if self.builtin:
            return "built-in"
        if self.distribution is None:
            return "registered at run time"
        return f"{self.distribution} {self.version}"

    @property
    def where(self) -> str:
        """Its module (unless that is its name) and origin: ``minigrad_mgu, minigrad-mgu 0.1.0``."""
        return self.origin if self.name == self.module else f"{self.module}, {self.origin}"

    def __str__(self) -> str:
        return f"{self.name!r} ({self.where})"


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that was skipped, and why, in one line."""

    info: PluginInfo
    error: str

    def __str__(self) -> str:
        return f"plugin {self.info} is broken: {self.error}"


@dataclass(frozen=True)
class Provided:
    """One class a plugin provides (a cell or a task), with the plugin it came from."""

    name: str
    kind: str
    cls: type
    plugin: PluginInfo


def one_line(error: BaseException) -> str:
    """An exception as ``Type: first line of its message``, for one-line reports."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _trace(message: str) -> None:
    if _flag("MINIGRAD_TRACE_PLUGINS"):
        print(f"[minigrad plugins] {message}", file=sys.stderr)


class PluginHost:
    """A pluggy PluginManager with its plugins: where each came from, which broke, what each provides.

    Plugins load on first use: the modules in ``builtins``, then (if ``entry_points``) every
    installed entry point of the ``minigrad`` group.
    """

    def __init__(self, builtins: Sequence[str] = BUILTIN_PLUGINS, entry_points: bool = True) -> None:
        self.builtins = tuple(builtins)
        self.entry_points = entry_points
        self._manager: pluggy.PluginManager | None = None
        self._infos: dict[str, PluginInfo] = {}  # registered name -> where it came from
        self._broken: list[BrokenPlugin] = []
        self._provided: dict[str, dict[str, Provided]] = {}  # hook -> name -> class, cached
        self._conflicts: dict[str, dict[str, str]] = {}  # hook -> contested name -> the report

    @property
    def manager(self) -> pluggy.PluginManager:
        """The pluggy PluginManager, every plugin loaded (once)."""
        if self._manager is None:
            self._manager = self._load()  # kept only once fully loaded: strict mode stays strict
        return self._manager

    def _load(self) -> pluggy.PluginManager:
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        self._infos.clear()
        for module in self.builtins:
            _trace(f"loading built-in {module}")
            self._load_one(manager, PluginInfo(module, module, builtin=True), lambda m=module: importlib.import_module(m))
        if self.entry_points:
            for entry_point in importlib.metadata.entry_points(group=hookspecs.PROJECT):
                dist = entry_point.dist
                info = PluginInfo(entry_point.name, entry_point.value, dist and dist.name, dist and dist.version)
                _trace(f"loading entry point {entry_point.name} = {entry_point.value} ({info.origin})")
                self._load_one(manager, info, entry_point.load)
        return manager

    def _load_one(self, manager: pluggy.PluginManager, info: PluginInfo, load: Callable[[], Any]) -> None:
        try:
            plugin = load()
            if manager.is_registered(plugin):  # e.g. a built-in that old installed metadata still lists
                _trace(f"{info.name} is already registered as {manager.get_name(plugin)}")
                return
            self._register(manager, plugin, info)
        except Exception as error:  # a plugin's bug must not stop minigrad
            self._report(BrokenPlugin(info, one_line(error)))

    def _register(self, manager: pluggy.PluginManager, plugin: Any, info: PluginInfo) -> None:
        manager.register(plugin, name=info.name)
        try:
            manager.check_pending()  # a hook name that matches no specification is a typo
        except pluggy.PluginValidationError:
            manager.unregister(name=info.name)
            raise
        self._infos[info.name] = info
        self._provided.clear()

    def _report(self, broken: BrokenPlugin) -> None:
        if _flag("MINIGRAD_STRICT_PLUGINS"):
            raise PluginError(str(broken))
        if broken in self._broken:  # hooks run again after register(); say it once
            return
        self._broken.append(broken)
        warnings.warn(str(broken), PluginWarning, stacklevel=4)

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Register a plugin module or object by hand (tests, notebooks). An error is raised, not reported."""
        manager = self.manager
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        _trace(f"registering {name} by hand")
        try:
            self._register(manager, plugin, PluginInfo(name, getattr(plugin, "__name__", type(plugin).__qualname__)))
        except (ValueError, pluggy.PluginValidationError) as error:
            raise PluginError(f"plugin {name!r}: {one_line(error)}") from None

    def unregister(self, name: str) -> None:
        """Remove a plugin by its name (the reverse of ``register``; works for any plugin)."""
        self.manager.unregister(name=name)
        self._infos.pop(name, None)
        self._provided.clear()

    def broken(self) -> list[BrokenPlugin]:
        """Plugins that were skipped so far, each with its error."""
        self.manager  # loads the plugins
        return list(self._broken)

    def provided(self, hook: str, base: type) -> dict[str, Provided]:
        """Name -> Provided for every class the plugins return from ``hook``.

        Each plugin's hook is called on its own, so one that raises, or returns something
        that is not a subclass of ``base`` with a ``name``, is reported and skipped.
        A name claimed twice is reported and resolved as the module docstring says.
        """
        manager = self.manager
        if hook in self._provided:
            return self._provided[hook]
        kind = KINDS[hook]
        claims: dict[str, list[Provided]] = {}
        for impl in getattr(manager.hook, hook).get_hookimpls():
            info = self._infos[impl.plugin_name]
            _trace(f"calling {hook}() of {info.name} ({info.where})")
            try:
                classes = list(impl.function() or [])
            except Exception as error:
                self._report(BrokenPlugin(info, f"{hook}() raised {one_line(error)}"))
                continue
            _trace(f"{hook}() of {info.name} returned {[getattr(c, '__name__', c) for c in classes]}")
            for cls in classes:
                problem = _contract_problem(cls, base)
                if problem:
                    self._report(BrokenPlugin(info, f"{hook}() returned {cls!r}, {problem}"))
                    continue
                claims.setdefault(cls.name, []).append(Provided(cls.name, kind, cls, info))
        found, conflicts = {}, {}
        for name, items in claims.items():
            if len(items) == 1:
                found[name] = items[0]
                continue
            builtins = [p for p in items if p.plugin.builtin]
            if len(builtins) == 1:
                found[name] = builtins[0]
                others = " and ".join(sorted(str(p.plugin) for p in items if not p.plugin.builtin))
                conflicts[name] = (
                    f"the built-in {kind} name {name!r} of {builtins[0].plugin} is also claimed by {others}; "
                    "the built-in one is used"
                )
            else:
                owners = " and ".join(sorted(str(p.plugin) for p in items))
                conflicts[name] = f"{len(items)} plugins claim the {kind} name {name!r}: {owners}; none of them is used"
            if _flag("MINIGRAD_STRICT_PLUGINS"):
                raise PluginError(conflicts[name])
            warnings.warn(conflicts[name], PluginWarning, stacklevel=3)
        self._provided[hook], self._conflicts[hook] = found, conflicts
        return found

    def lookup(self, hook: str, base: type, name: str) -> Provided:
        """The class registered under ``name``, or a PluginError saying why there is none."""
        found = self.provided(hook, base)
        if name in found:
            return found[name]
        if name in self._conflicts.get(hook, {}):
            raise PluginError(self._conflicts[hook][name])
        kind = KINDS[hook]
        raise PluginError(f"unknown {kind} {name!r}; registered {kind}s: {', '.join(sorted(found)) or 'none'}")

    def conflicts(self, hook: str) -> dict[str, str]:
        """Contested name -> its report, as found by the last ``provided(hook, ...)``."""
        return dict(self._conflicts.get(hook, {}))


def _contract_problem(cls: Any, base: type) -> str | None:
    if not isinstance(cls, type):
        return "which is not a class"
    if not issubclass(cls, base):
        return f"which is not a subclass of {base.__module__}.{base.__qualname__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return "which has no string attribute `name`"
    return None


host = PluginHost()  # the process's plugins; the functions below use it


def plugin_manager() -> pluggy.PluginManager:
    """The default host's pluggy PluginManager, every plugin loaded."""
    return host.manager


def register(plugin: Any, name: str | None = None) -> None:
    """Register a plugin module or object by hand (tests, notebooks), like an installed one.

    Unlike an installed plugin's, an error here is raised, not reported.
    """
    host.register(plugin, name)


def unregister(name: str) -> None:
    """Remove a plugin registered by name (the reverse of ``register``)."""
    host.unregister(name)


def broken() -> list[BrokenPlugin]:
    """Plugins that were skipped so far, each with its error."""
    return host.broken()


def provided(hook: str, base: type) -> dict[str, Provided]:
    """Name -> Provided for every class the plugins return from ``hook`` (see ``PluginHost.provided``)."""
    return host.provided(hook, base)


def lookup(hook: str, base: type, name: str) -> Provided:
    """The class registered under ``name``, or a PluginError saying why there is none."""
    return host.lookup(hook, base, name)


def conflicts(hook: str) -> dict[str, str]:
    """Contested name -> its report, as found by the last ``provided(hook, ...)``."""
    return host.conflicts(hook)
