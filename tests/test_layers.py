"""The layers of docs/design.md, checked on the source: imports only point down.

Each rule reads the import statements of minigrad's own files (with ``ast``, nothing is run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, as dotted names (``from minigrad import ops`` gives minigrad.ops)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def minigrad_imports(name: str) -> set[str]:
    """The minigrad modules that ``minigrad/<name>.py`` imports."""
    return {module for module in imported_modules(PACKAGE / f"{name}.py") if module.startswith("minigrad")}


def dir_names(module: str) -> set[str]:
    """The top-level names a core file defines (what ``from minigrad.x import name`` can import)."""
    tree = ast.parse((PACKAGE / f"{module.split('.')[-1]}.py").read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    names |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
    return names | {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_autograd_imports_neither_ops_nor_tensor():
    assert not minigrad_imports("autograd") & {"minigrad.ops", "minigrad.tensor"}


def test_ops_imports_only_autograd_from_the_core_above_it():
    assert not minigrad_imports("ops") & {"minigrad.tensor", "minigrad.nn", "minigrad.viz"}
    assert "minigrad.autograd" in minigrad_imports("ops")


def test_tensor_imports_autograd_and_ops_and_nothing_above_them():
    imports = minigrad_imports("tensor")
    assert {"minigrad.autograd", "minigrad.ops"} <= imports
    assert not {module for module in imports if module.startswith(("minigrad.nn", "minigrad.viz", "minigrad.plugins"))}


@pytest.mark.parametrize("name", ["autograd", "grad_mode", "deferred", "anomaly", "ops", "tensor", "errors"])
def test_the_core_imports_nothing_outside_the_core(name):
    core = {f"minigrad.{module}" for module in ("autograd", "grad_mode", "deferred", "anomaly", "ops", "tensor", "errors")}
    inside = core | {"minigrad"} | {f"{module}.{member}" for module in core for member in dir_names(module)}
    outside = minigrad_imports(name) - inside
    assert not outside, f"minigrad/{name}.py imports {sorted(outside)}"


def test_minigrad_never_imports_a_plugin_module():
    """Built-in plugins are named in the plugin host's one list, as strings; nothing imports them."""
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(m for m in imported_modules(path) if m.startswith("minigrad_plugins"))
        for path in PACKAGE.rglob("*.py")
    }
    assert not {path: modules for path, modules in offenders.items() if modules}
