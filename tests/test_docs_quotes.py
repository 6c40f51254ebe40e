"""The code that docs/autodiff.md quotes is the code minigrad runs.

docs/scripts/autodiff_example.py copies functions out of the core into
docs/images/autodiff/quotes/, and the page includes those files; after any change to
the core the script must be rerun (``make docs-images``), or this test fails.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from minigrad import autograd, deferred, ops, tensor

QUOTES = Path(__file__).resolve().parents[1] / "docs" / "images" / "autodiff" / "quotes"
CORE = (autograd, ops, deferred, tensor)


def current_source(name: str) -> str:
    """The source of the core function or class called ``name`` (the first module that has it)."""
    for module in CORE:
        if name in vars(module):
            obj = vars(module)[name]
            return inspect.getsource(getattr(obj, "__wrapped__", obj))
    raise AssertionError(f"no core module defines {name!r}")


@pytest.mark.parametrize("quote", sorted(QUOTES.glob("*.py")), ids=lambda path: path.name)
def test_every_quote_on_the_autodiff_page_is_the_current_source(quote):
    text = quote.read_text(encoding="utf-8")
    names = [node.name for node in ast.parse(text).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    assert names, f"{quote.name} quotes no function or class"
    assert text == "\n\n".join(current_source(name) for name in names), (
        f"{quote.name} is stale: rerun docs/scripts/autodiff_example.py"
    )
