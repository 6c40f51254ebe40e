"""Page 9's outputs for the MGU plugin, run for real, into docs/images/09/:

- mgu_recurrent.txt: what the "What you get for free" listing prints (`Recurrent("mgu", ...)`);
- mgu_pytest.txt: pytest on the plugin's own test suite (docs/scripts/lecture_09_test_mgu.py);
- contract_errors.txt: what mg.testing.check_cell raises for each broken variant of the cell
  (docs/scripts/lecture_09_broken_cells.py);
- gradcheck_broken.txt: `minigrad gradcheck mgu mgu-detached leaky crash`, with the variants
  installed as a throwaway plugin (as docs/scripts/plugin_listings.py installs its own), and
  its exit status.

    .venv/bin/python docs/scripts/lecture_09_plugin.py      (or: make docs-images)

Needs the example plugin installed (`make install` does it). Run times are left out of the
transcripts: they vary by machine.
"""

import contextlib
import importlib.metadata
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import minigrad as mg
from minigrad.io import write_atomically

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "docs" / "images" / "09"
MINIGRAD = Path(sys.executable).parent / "minigrad"
sys.path.insert(0, str(HERE))  # the sibling modules below, whatever the working directory

from plugin_listings import installed


def write(name: str, text: str) -> None:
    write_atomically(OUT / name, text.encode())
    print(f"wrote {OUT / name}")


def recurrent_listing() -> str:
    """Run the page's listing and return what it prints."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # --8<-- [start:recurrent]
        import numpy as np

        import minigrad as mg

        mg.manual_seed(0)
        layer = mg.nn.Recurrent("mgu", input_size=3, hidden_size=8, num_layers=2, bidirectional=True)
        print([name for name, _ in layer.named_parameters()])
        x = mg.tensor(np.random.default_rng(0).normal(size=(4, 6, 3)))
        output, h_n = layer(x, lengths=[6, 3, 5, 1])
        print(output.shape, h_n.shape)
        # --8<-- [end:recurrent]
    return printed.getvalue()


def section(path: Path, name: str) -> str:
    """The lines between a file's `--8<-- [start:NAME]` and `[end:NAME]` markers."""
    text = path.read_text(encoding="utf-8")
    return text.split(f"# --8<-- [start:{name}]\n")[1].split(f"# --8<-- [end:{name}]")[0]


def pytest_transcript() -> str:
    """pytest -q on the plugin's test suite, in a folder of its own; the run time left out."""
    with tempfile.TemporaryDirectory() as folder:
        tests = Path(folder) / "tests"
        tests.mkdir()
        (tests / "test_mgu.py").write_text(section(HERE / "lecture_09_test_mgu.py", "tests"), encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_mgu.py"]
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the plugin's tests failed:\n{result.stdout}{result.stderr}")
    lines = [re.sub(r" in \d+(\.\d+)?s", "", line) for line in result.stdout.splitlines()]
    return "\n".join(["$ pytest -q tests/test_mgu.py", *lines, ""])


def contract_errors() -> str:
    """`ErrorClass: message`, one line per broken variant, as check_cell raises it."""
    from lecture_09_broken_cells import VARIANTS

    lines = []
    for variant in VARIANTS:
        try:
            mg.testing.check_cell(variant)
        except (mg.testing.CellContractError, mg.GradcheckError) as error:
            lines.append(f"{type(error).__name__}: {error}")
        else:
            raise SystemExit(f"{variant.__name__} passed check_cell; it is meant to fail it")
    return "\n".join([*lines, ""])


def gradcheck_transcript() -> str:
    """`minigrad gradcheck` on the good cell and three broken ones, installed as a throwaway plugin."""
    names = ["mgu", "mgu-detached", "leaky", "crash"]
    plugin = {"minigrad-broken-cells": ("broken-cells", (HERE / "lecture_09_broken_cells.py").read_text())}
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("MINIGRAD_", "PYTHONPATH"))}
    with installed(plugin) as folder:
        result = subprocess.run([str(MINIGRAD), "gradcheck", *names], cwd=ROOT, capture_output=True, text=True,
                                env={**inherited, "PYTHONPATH": folder}, check=False)  # fmt: skip
    if result.returncode != 1 or result.stderr.strip():
        raise SystemExit(f"expected exit status 1 and nothing on stderr, got {result.returncode}:\n{result.stderr}")
    lines = [re.sub(r"  \(\d+(\.\d+)? s\)$", "", line) for line in result.stdout.splitlines()]
    return "\n".join([f"$ .venv/bin/minigrad gradcheck {' '.join(names)}", *lines, "$ echo $?", "1", ""])


def main() -> None:
    try:
        importlib.metadata.distribution("minigrad-mgu")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            "the example plugin is not installed: .venv/bin/pip install -e ./examples/plugin-minimal"
        ) from None
    write("mgu_recurrent.txt", recurrent_listing())
    write("mgu_pytest.txt", pytest_transcript())
    write("contract_errors.txt", contract_errors())
    write("gradcheck_broken.txt", gradcheck_transcript())


if __name__ == "__main__":
    main()
