"""Fake installed plugins for the plugin and command-line tests: a cell module's source and
an installed-looking distribution (a .dist-info folder with entry_points.txt) to put on sys.path."""

from __future__ import annotations

from pathlib import Path

# A small, correct Elman cell any fake plugin can provide under its own class and name;
# ``extra`` may redefine methods (forward) to break it on purpose.
CELL_SOURCE = '''
import minigrad as mg

class {cls}(mg.nn.Cell):
    name = "{name}"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = self.uniform_parameter(hidden_size, input_size)
        self.weight_hh = self.uniform_parameter(hidden_size, hidden_size)

    def pre(self, x, h):
        return mg.nn.linear(x, self.weight_ih) + mg.nn.linear(h, self.weight_hh)

    def forward(self, x, h):
        h = self.pre(x, h).tanh()
        return h, h
{extra}

@mg.hookimpl
def minigrad_cells():
    return [{cls}]
'''


def cell_source(cls: str, name: str, extra: str = "") -> str:
    """A plugin module providing one cell class ``cls`` registered as ``name``."""
    return CELL_SOURCE.format(cls=cls, name=name, extra=extra)


def make_dist(root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
    """An installed-looking distribution: <dist>-0.1.dist-info with METADATA and entry_points.txt,
    and the modules' source files beside it. Put ``root`` on sys.path (or PYTHONPATH) to install it."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text("[minigrad]\n" + lines)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source)
    return root
