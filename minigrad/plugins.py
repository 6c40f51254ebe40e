"""The plugin host: finds cells and tasks through the ``minigrad`` entry-point group.

The built-in cells and tasks (``minigrad_plugins``) are registered exactly like a
third-party package's: by entry points in a pyproject. Each entry point loads on its
own, so one broken plugin is reported by name and the others keep working. Set
``MINIGRAD_STRICT_PLUGINS=1`` to make a broken plugin an error, and
``MINIGRAD_TRACE_PLUGINS=1`` to watch every entry point load and every hook call.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import pluggy

from minigrad import hookspecs

KINDS = {"minigrad_cells": "cell", "minigrad_tasks": "task"}


class PluginError(Exception):
    """A plugin could not be loaded or broke the contract (strict mode), or two plugins claim one name."""


class PluginWarning(UserWarning):
    """A plugin was skipped because it is broken; the others still work."""


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin comes from: its entry point (or registration) name, module and distribution."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None

    @property
    def origin(self) -> str:
        if self.distribution is None:
            return "registered at run time"
        return f"{self.distribution} {self.version}"


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that was skipped, and why, in one line."""

    info: PluginInfo
    error: str

    def __str__(self) -> str:
        return f"plugin {self.info.name!r} ({self.info.module}, {self.info.origin}) is broken: {self.error}"


@dataclass(frozen=True)
class Provided:
    """One class a plugin provides (a cell or a task), with the plugin it came from."""

    name: str
    kind: str
    cls: type
    plugin: PluginInfo


_manager: pluggy.PluginManager | None = None
_infos: dict[str, PluginInfo] = {}
_broken: list[BrokenPlugin] = []
_provided: dict[str, dict[str, Provided]] = {}
_conflicts: dict[str, dict[str, str]] = {}  # hook -> contested name -> the error naming both


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _trace(message: str) -> None:
    if _flag("MINIGRAD_TRACE_PLUGINS"):
        print(f"[minigrad plugins] {message}", file=sys.stderr)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _report(broken: BrokenPlugin) -> None:
    if _flag("MINIGRAD_STRICT_PLUGINS"):
        raise PluginError(str(broken))
    if broken in _broken:  # hooks run again after register(); say it once
        return
    _broken.append(broken)
    warnings.warn(str(broken), PluginWarning, stacklevel=3)


def plugin_manager() -> pluggy.PluginManager:
    """The pluggy PluginManager, with every installed entry point loaded (once per process)."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        try:
            for entry_point in importlib.metadata.entry_points(group=hookspecs.PROJECT):
                dist = entry_point.dist
                info = PluginInfo(entry_point.name, entry_point.value, dist and dist.name, dist and dist.version)
                _trace(f"loading entry point {entry_point.name} = {entry_point.value} ({info.origin})")
                try:
                    _register(manager, entry_point.load(), info)
                except Exception as error:  # a plugin's bug must not stop minigrad
                    _report(BrokenPlugin(info, _one_line(error)))
        except PluginError:  # strict mode: load nothing, so the next lookup is strict again
            reset()
            raise
        _manager = manager  # only a fully loaded manager is kept
    return _manager


def _register(manager: pluggy.PluginManager, plugin: Any, info: PluginInfo) -> None:
    manager.register(plugin, name=info.name)
    try:
        manager.check_pending()  # a hook name that matches no specification is a typo
    except pluggy.PluginValidationError:
        manager.unregister(name=info.name)
        raise
    _infos[info.name] = info
    _provided.clear()


def register(plugin: Any, name: str | None = None) -> None:
    """Register a plugin module or object by hand (tests, notebooks), like an entry point.

    Unlike an installed entry point, an error here is raised, not reported.
    """
    manager = plugin_manager()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    _trace(f"registering {name} by hand")
    try:
        _register(manager, plugin, PluginInfo(name, getattr(plugin, "__name__", type(plugin).__qualname__)))
    except (ValueError, pluggy.PluginValidationError) as error:
        raise PluginError(f"plugin {name!r}: {_one_line(error)}") from None


def unregister(name: str) -> None:
    """Remove a plugin registered by name (the reverse of ``register``)."""
    plugin_manager().unregister(name=name)
    _infos.pop(name, None)
    _provided.clear()


def reset() -> None:
    """Forget every plugin; the next lookup loads the entry points again."""
    global _manager
    _manager = None
    _infos.clear()
    _broken.clear()
    _provided.clear()
    _conflicts.clear()


def broken() -> list[BrokenPlugin]:
    """Plugins that were skipped so far, each with its error."""
    plugin_manager()
    return list(_broken)


def provided(hook: str, base: type) -> dict[str, Provided]:
    """Name -> Provided for every class the plugins return from ``hook``.

    Each plugin's hook is called on its own, so one that raises, or returns something
    that is not a subclass of ``base`` with a ``name``, is reported and skipped.
    A name that two plugins claim is left out and reported; ``lookup`` of that name
    raises an error naming both.
    """
    manager = plugin_manager()
    if hook in _provided:
        return _provided[hook]
    kind = KINDS[hook]
    claims: dict[str, list[Provided]] = {}
    for impl in getattr(manager.hook, hook).get_hookimpls():
        info = _infos[impl.plugin_name]
        _trace(f"calling {hook}() of {info.name} ({info.module})")
        try:
            classes = list(impl.function() or [])
        except Exception as error:
            _report(BrokenPlugin(info, f"{hook}() raised {_one_line(error)}"))
            continue
        _trace(f"{hook}() of {info.name} returned {[getattr(c, '__name__', c) for c in classes]}")
        for cls in classes:
            problem = _contract_problem(cls, base)
            if problem:
                _report(BrokenPlugin(info, f"{hook}() returned {cls!r}, {problem}"))
                continue
            claims.setdefault(cls.name, []).append(Provided(cls.name, kind, cls, info))
    found, conflicts = {}, {}
    for name, items in claims.items():
        if len(items) == 1:
            found[name] = items[0]
            continue
        owners = " and ".join(sorted(f"{p.plugin.name} ({p.plugin.module}, {p.plugin.origin})" for p in items))
        conflicts[name] = f"two plugins claim the {kind} name {name!r}: {owners}"
        if _flag("MINIGRAD_STRICT_PLUGINS"):
            raise PluginError(conflicts[name])
        warnings.warn(conflicts[name], PluginWarning, stacklevel=2)
    _provided[hook], _conflicts[hook] = found, conflicts
    return found


def lookup(hook: str, base: type, name: str) -> Provided:
    """The class registered under ``name``, or a PluginError saying why there is none."""
    found = provided(hook, base)
    if name in found:
        return found[name]
    if name in _conflicts.get(hook, {}):
        raise PluginError(_conflicts[hook][name])
    kind = KINDS[hook]
    raise PluginError(f"unknown {kind} {name!r}; registered {kind}s: {', '.join(sorted(found)) or 'none'}")


def conflicts(hook: str) -> dict[str, str]:
    """Contested name -> the error naming both plugins, as found by the last ``provided(hook, ...)``."""
    return dict(_conflicts.get(hook, {}))


def _contract_problem(cls: Any, base: type) -> str | None:
    if not isinstance(cls, type):
        return "which is not a class"
    if not issubclass(cls, base):
        return f"which is not a subclass of {base.__module__}.{base.__qualname__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return "which has no string attribute `name`"
    return None
