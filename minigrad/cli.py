"""The ``minigrad`` command line (argparse). Bad input gets one line and exit status 2."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from typing import Callable, Sequence

import minigrad as mg
from minigrad.errors import GradcheckError, ShapeError
from minigrad.plugins import PluginError, PluginWarning, broken, conflicts, provided
from minigrad.testing import CellContractError, check_cell


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + error
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def cmd_plugins(args: argparse.Namespace) -> int:
    """List every cell and task, where it comes from, and the plugins that failed to load."""
    rows = [("NAME", "KIND", "MODULE", "FROM")]
    for hook, base in (("minigrad_cells", mg.nn.Cell), ("minigrad_tasks", object)):
        for name, item in sorted(provided(hook, base).items()):
            rows.append((name, item.kind, item.cls.__module__, item.plugin.origin))
    print(_table(rows))
    for hook in ("minigrad_cells", "minigrad_tasks"):
        for message in conflicts(hook).values():
            print(f"conflict: {message}")
    for plugin in broken():
        print(f"broken: {plugin}")
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Check every named cell (all registered cells when none is named) against finite differences."""
    cells = provided("minigrad_cells", mg.nn.Cell)
    names = args.cells or sorted(cells)
    unknown = [name for name in names if name not in cells]
    if unknown:
        raise UsageError(f"minigrad gradcheck: unknown cell {', '.join(map(repr, unknown))}; registered: {', '.join(sorted(cells))}")
    _warn_broken()
    failures = 0
    width = max(map(len, names))
    for name in names:
        start = time.perf_counter()
        try:
            worst = check_cell(cells[name].cls, steps=args.steps)
        except Exception as error:  # a plugin's bug fails its own line; the other cells are still checked
            failures += 1
            reason = str(error) if isinstance(error, (GradcheckError, CellContractError)) else _one_line(error)
            print(f"{name.ljust(width)}  FAIL  {reason}")
            continue
        print(f"{name.ljust(width)}  ok    worst gradient error {worst:.1e}  ({time.perf_counter() - start:.1f} s)")
    return 1 if failures else 0


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _warn_broken() -> None:
    for plugin in broken():
        print(f"minigrad: warning: {plugin}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="minigrad", description="Autodiff that shows backpropagation unrolling through time.")
    parser.add_argument("--version", action="version", version=f"minigrad {mg.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    plugins = commands.add_parser("plugins", help="list cells and tasks and where each comes from")
    plugins.set_defaults(run=cmd_plugins)

    gradcheck = commands.add_parser(
        "gradcheck", help="check cells' gradients against finite differences (all cells when none is named)"
    )
    gradcheck.add_argument("cells", nargs="*", metavar="CELL", help="registered cell names")
    gradcheck.add_argument("--steps", type=_positive_int, default=4, help="time steps to unroll (default 4)")
    gradcheck.set_defaults(run=cmd_gradcheck)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a check failed, 2 bad input)."""
    warnings.simplefilter("ignore", PluginWarning)  # broken plugins are listed by the commands themselves
    try:
        args = build_parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except (UsageError, PluginError, ShapeError, ValueError, OSError) as error:
        print(f"{error}" if isinstance(error, UsageError) else f"minigrad: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minigrad: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
