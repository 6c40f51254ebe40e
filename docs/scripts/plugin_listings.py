"""What `minigrad plugins` prints on page 9, run for real, into docs/images/plugins/*.txt.

    .venv/bin/python docs/scripts/plugin_listings.py        (or: make docs-images)

Runs the `minigrad` command of this virtual environment, where `examples/plugin-minimal`
(the cell `mgu`) is installed, as `make install` does. The troubleshooting cases use
throwaway plugins: each a module plus the `.dist-info` folder that installing would write,
in a temporary folder put on PYTHONPATH for that one command. In the transcripts that
folder is written `$TMP`, so that they do not change from one machine to the next.

Each transcript starts with the command, then what it printed (stderr and stdout, in the
order they came). The lines about tasks are left out (page 9 says so): the page is about
cells, and every task is a built-in.
"""

import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images" / "plugins"  # not images/09/, which is examples/09's output
MINIGRAD = Path(sys.executable).parent / "minigrad"  # the venv's console script, as the page runs it

# The throwaway plugins: distribution name -> (entry-point name, module source).
BROKEN = {"minigrad-broken": ("broken", "import scipy_that_is_not_installed\n")}
TYPO = """import minigrad as mg


@mg.hookimpl
def minigrad_cell():  # misspelt: the hook is minigrad_cells
    return []
"""
NOT_A_CELL = """import minigrad as mg


class NotACell:
    name = "notcell"


@mg.hookimpl
def minigrad_cells():
    return [NotACell]
"""
MORE_BROKEN = {"minigrad-typo": ("typo", TYPO), "minigrad-notcell": ("notcell", NOT_A_CELL)}
CELL = """import minigrad as mg


class {cls}(mg.nn.Cell):
    name = "{name}"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_hh = self.uniform_parameter(hidden_size, hidden_size)

    def forward(self, x, h):
        h = mg.nn.linear(h, self.weight_hh).tanh()
        return h, h


@mg.hookimpl
def minigrad_cells():
    return [{cls}]
"""
CLAIMING = {  # a cell that calls itself after a built-in one, and one after the installed `mgu`
    "minigrad-lstm2": ("lstm2", CELL.format(cls="OtherLSTM", name="lstm")),
    "minigrad-mgu2": ("mgu2", CELL.format(cls="OtherMGU", name="mgu")),
}


@contextlib.contextmanager
def installed(plugins: dict[str, tuple[str, str]]) -> Iterator[str]:
    """A temporary folder holding each plugin as an installed-looking distribution."""
    with tempfile.TemporaryDirectory() as folder:
        for dist, (entry_point, source) in plugins.items():
            module = dist.replace("-", "_")
            info = Path(folder) / f"{module}-0.1.0.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
            (info / "entry_points.txt").write_text(f"[minigrad]\n{entry_point} = {module}\n")
            (Path(folder) / f"{module}.py").write_text(source)
        yield folder


def is_task_line(line: str) -> bool:
    """A task row of the listing, or a trace line about a task plugin."""
    return " task " in line or "minigrad_plugins.tasks." in line or "minigrad_tasks()" in line


def run(name: str, env: dict[str, str], status: int = 0, reports_only: bool = False) -> None:
    """Run `minigrad plugins` with ``env`` set, check its exit status, and write NAME.txt: the
    command, then the lines not about tasks (only the `broken:` lines if ``reports_only``)."""
    folder = env.get("PYTHONPATH")
    settings = [f"{key}={'$TMP' if value == folder else value}" for key, value in env.items()]
    command = " ".join(["$", *settings, ".venv/bin/minigrad plugins"])
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("MINIGRAD_", "PYTHONPATH"))}
    result = subprocess.run(
        [str(MINIGRAD), "plugins"],
        env={**inherited, "PYTHONUNBUFFERED": "1", **env},  # unbuffered: stderr and stdout in the order printed
        check=False,  # the status is checked below, against the one expected
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != status:
        raise SystemExit(f"{command} exited with status {result.returncode}, expected {status}:\n{result.stdout}")
    text = result.stdout.replace(folder, "$TMP") if folder else result.stdout
    kept = [
        line for line in text.splitlines() if line.startswith("broken:") or not (reports_only or is_task_line(line))
    ]
    write_atomically(OUT / f"{name}.txt", "\n".join([command, *kept, ""]).encode())
    print(f"wrote {OUT / name}.txt")


def gradchecks(name: str, runs: list[list[str]]) -> None:
    """Run `minigrad gradcheck ARGS` for each of ``runs`` and write NAME.txt: each command and its
    lines, the run times left out (they vary by machine; the page says so)."""
    lines = []
    for args in runs:
        command = " ".join(["$ .venv/bin/minigrad gradcheck", *args])
        result = subprocess.run([str(MINIGRAD), "gradcheck", *args], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{command} exited with status {result.returncode}:\n{result.stderr}")
        lines.append(command)
        lines += [re.sub(r"  \(\d+(\.\d+)? s\)$", "", line) for line in result.stdout.splitlines()]
    write_atomically(OUT / f"{name}.txt", "\n".join([*lines, ""]).encode())
    print(f"wrote {OUT / name}.txt")


def main() -> None:
    try:
        importlib.metadata.distribution("minigrad-mgu")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            "the example plugin is not installed: .venv/bin/pip install -e ./examples/plugin-minimal"
        ) from None
    run("installed", {})
    gradchecks("gradcheck", [[], ["mgu", "--steps", "8"]])
    run("trace", {"MINIGRAD_TRACE_PLUGINS": "1"})
    with installed(BROKEN) as folder:
        run("broken", {"PYTHONPATH": folder})
        run("strict", {"MINIGRAD_STRICT_PLUGINS": "1", "PYTHONPATH": folder}, status=2)
    with installed(MORE_BROKEN) as folder:
        run("more-broken", {"PYTHONPATH": folder}, reports_only=True)  # its table is the one above
    with installed(CLAIMING) as folder:
        run("claimed", {"PYTHONPATH": folder})


if __name__ == "__main__":
    main()
