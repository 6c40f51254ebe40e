"""A real checkpoint's header, for docs/reference/checkpoint.md.

    .venv/bin/python docs/scripts/checkpoint_header.py        (or: make docs-images)

Trains the echo task for one epoch into a temporary folder, then writes the JSON header
of its model.safetensors, and the names in its last.safetensors, to
docs/reference/checkpoint-header.txt.
"""

import json
import tempfile
from pathlib import Path

import minigrad as mg
from minigrad.train import Trainer

OUT = Path(__file__).resolve().parent.parent / "reference" / "checkpoint-header.txt"


def header(path: Path) -> dict:
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")  # safetensors: 8 bytes of header size, then the header
    return json.loads(data[8 : 8 + size])


with tempfile.TemporaryDirectory() as folder:
    Echo = mg.tasks()["echo"]
    Trainer(Echo(Echo.Config(epochs=1)), out_dir=folder, progress=False).fit()
    model = header(Path(folder) / "model.safetensors")
    last = header(Path(folder) / "last.safetensors")

metadata = json.loads(model["__metadata__"]["minigrad"])  # one string entry holding JSON
model["__metadata__"]["minigrad"] = "(the JSON below, as one string)"
lines = [
    "model.safetensors, header:",
    "{",
    ",\n".join(f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in model.items()),
    "}",
    "",
    'its "minigrad" metadata entry, decoded:',
    json.dumps(metadata, indent=2),
    "",
    "last.safetensors, the arrays:",
    *(f"  {name:<40} {entry['dtype']} {entry['shape']}" for name, entry in last.items() if name != "__metadata__"),
    "",
    'and the keys of its "minigrad" metadata: '
    + ", ".join(json.loads(last["__metadata__"]["minigrad"])),
]
OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
print(f"wrote {OUT}")
