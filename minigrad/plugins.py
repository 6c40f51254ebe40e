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
    _broken.append(broken)
    warnings.warn(str(broken), PluginWarning, stacklevel=3)


def plugin_manager() -> pluggy.PluginManager:
    """The pluggy PluginManager, with every installed entry point loaded (once per process)."""
    global _manager
    if _manager is None:
        _manager = pluggy.PluginManager(hookspecs.PROJECT)
        _manager.add_hookspecs(hookspecs)
        for entry_point in importlib.metadata.entry_points(group=hookspecs.PROJECT):
            dist = entry_point.dist
            info = PluginInfo(entry_point.name, entry_point.value, dist and dist.name, dist and dist.version)
            _trace(f"loading entry point {entry_point.name} = {entry_point.value} ({info.origin})")
            try:
                _register(entry_point.load(), info)
            except Exception as error:  # a plugin's bug must not stop minigrad
                _report(BrokenPlugin(info, _one_line(error)))
    return _manager


def _register(plugin: Any, info: PluginInfo) -> None:
    assert _manager is not None
    _manager.register(plugin, name=info.name)
    try:
        _manager.check_pending()  # a hook name that matches no specification is a typo
    except pluggy.PluginValidationError:
        _manager.unregister(name=info.name)
        raise
    _infos[info.name] = info
    _provided.clear()


def register(plugin: Any, name: str | None = None) -> None:
    """Register a plugin module or object by hand (tests, notebooks), like an entry point.

    Unlike an installed entry point, an error here is raised, not reported.
    """
    plugin_manager()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    _trace(f"registering {name} by hand")
    try:
        _register(plugin, PluginInfo(name, getattr(plugin, "__name__", repr(plugin))))
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


def broken() -> list[BrokenPlugin]:
    """Plugins that were skipped so far, each with its error."""
    plugin_manager()
    return list(_broken)


def provided(hook: str, base: type) -> dict[str, Provided]:
    """Name -> Provided for every class the plugins return from ``hook``.

    Each plugin's hook is called on its own, so one that raises, or returns something
    that is not a subclass of ``base`` with a ``name``, is reported and skipped.
    Two plugins claiming one name is an error naming both.
    """
    manager = plugin_manager()
    if hook in _provided:
        return _provided[hook]
    kind = KINDS[hook]
    found: dict[str, Provided] = {}
    for impl in getattr(manager.hook, hook).get_hookimpls():
        info = _infos[impl.plugin_name]
        try:
            classes = list(impl.function() or [])
        except Exception as error:
            _report(BrokenPlugin(info, f"{hook}() raised {_one_line(error)}"))
            continue
        _trace(f"{hook}() from {info.name} ({info.module}) returned {[getattr(c, '__name__', c) for c in classes]}")
        for cls in classes:
            problem = _contract_problem(cls, base)
            if problem:
                _report(BrokenPlugin(info, f"{hook}() returned {cls!r}, {problem}"))
                continue
            if cls.name in found:
                other = found[cls.name].plugin
                raise PluginError(
                    f"two plugins claim the {kind} name {cls.name!r}: {other.name} ({other.module}, {other.origin}) "
                    f"and {info.name} ({info.module}, {info.origin})"
                )
            found[cls.name] = Provided(cls.name, kind, cls, info)
    _provided[hook] = found
    return found


def _contract_problem(cls: Any, base: type) -> str | None:
    if not isinstance(cls, type):
        return "which is not a class"
    if not issubclass(cls, base):
        return f"which is not a subclass of {base.__module__}.{base.__qualname__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return "which has no string attribute `name`"
    return None
