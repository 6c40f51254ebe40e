"""What the trained generative tasks write, for docs/tasks.md: each `minigrad generate` command the
page shows, run on the table's own checkpoints (docs/images/tasks/runs/, trained by tasks_table.py).

    .venv/bin/python docs/scripts/tasks_generations.py      (or: make docs-images)

Writes docs/images/tasks/generations/NAME.txt, the command's output as it prints it. A run whose
checkpoint is missing is left as it is, with a line saying which command trains it.
"""

import subprocess
import sys
from pathlib import Path

from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "docs" / "images" / "tasks" / "runs"
OUT = ROOT / "docs" / "images" / "tasks" / "generations"
MINIGRAD = Path(sys.executable).parent / "minigrad"

# name -> (the table's run, the generate command's arguments after --checkpoint)
GENERATIONS = {
    "char_lm_hello": ("char-lm", ["h", "--length", "4", "--temperature", "0"]),
    "shakespeare_romeo": ("shakespeare", ["--temperature", "0.8", "--length", "500", "ROMEO:"]),
    "couplet": ("couplet", ["海阔凭鱼跃", "--temperature", "0"]),
    "acrostic": ("acrostic", ["春夏秋冬", "--temperature", "0.8"]),
    "acrostic_greedy": ("acrostic", ["春夏秋冬", "--temperature", "0"]),
    "acrostic_seed1": ("acrostic", ["春夏秋冬", "--temperature", "0.8", "--seed", "1"]),
    "acrostic_seed2": ("acrostic", ["春夏秋冬", "--temperature", "0.8", "--seed", "2"]),
}
TASKS = {"char-lm": "char-lm", "shakespeare": "char-lm", "couplet": "couplet", "acrostic": "acrostic"}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (run, arguments) in GENERATIONS.items():
        checkpoint = RUNS / run / "model.safetensors"
        if not checkpoint.exists():
            print(f"{checkpoint} is missing: python docs/scripts/tasks_table.py --only {run}; {name} left as it is")
            continue
        command = [str(MINIGRAD), "generate", TASKS[run], "--checkpoint", str(checkpoint), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
        write_atomically(OUT / f"{name}.txt", done.stdout.encode("utf-8"))
        print(f"wrote {OUT / name}.txt")
    acrostics_side_by_side()


def acrostics_side_by_side() -> None:
    """The acrostics at temperature 0 and at 0.8 with two seeds, a poem a line."""
    lines = []
    for name, label in (("acrostic_greedy", "temperature 0  "), ("acrostic_seed1", "temperature 0.8"),
                        ("acrostic_seed2", "temperature 0.8")):  # fmt: skip
        path = OUT / f"{name}.txt"
        if path.exists():
            seed = f"   (--seed {name[-1]})" if "seed" in name else ""
            lines.append(f"{label}  {''.join(path.read_text(encoding='utf-8').split())}{seed}")
    write_atomically(OUT / "acrostic_temperatures.txt", "\n".join([*lines, ""]).encode("utf-8"))
    print(f"wrote {OUT / 'acrostic_temperatures.txt'}")


if __name__ == "__main__":
    main()
