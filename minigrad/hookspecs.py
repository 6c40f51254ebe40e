"""The hooks a minigrad plugin can implement. This file is the whole plugin contract.

A plugin is a module with functions marked ``@mg.hookimpl`` whose names are the hook
names below. A third-party plugin is registered under the entry-point group ``minigrad``
in its pyproject:

    [project.entry-points.minigrad]
    mycell = "my_package.my_module"

minigrad's own cells and tasks implement the same hooks; they are listed in
``minigrad.plugins.BUILTIN_PLUGINS`` instead, so they need no installed metadata.
"""

from __future__ import annotations

import pluggy

PROJECT = "minigrad"  # pluggy project name and entry-point group of third-party plugins

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def minigrad_cells() -> list[type]:
    """Return the recurrent cell classes this plugin provides.

    Each is a subclass of ``mg.nn.Cell`` with a unique ``name`` (the registry key,
    e.g. ``"lstm"``), ``__init__(input_size, hidden_size, bias=True, ...)``,
    ``init_state(batch_size)`` and ``forward(x, state) -> (h, new_state)``.
    """


@hookspec
def minigrad_tasks() -> list[type]:
    """Return the task classes this plugin provides, each with a unique ``name``."""
