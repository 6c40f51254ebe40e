"""The attention heat map of one translated sentence, for page 8 (docs/images/tasks/translate_attention.png).

    .venv/bin/python docs/scripts/translate_attention.py      (or: make docs-images)

Uses the attention model of page 8's table and docs/tasks.md's (docs/images/tasks/runs/translate/,
`minigrad train translate` with its default options, trained by docs/scripts/tasks_table.py), and
trains it first when it is missing (tens of minutes on one core). Chinese characters need a
CJK font (e.g. Debian's fonts-wqy-microhei); without one matplotlib draws them as boxes.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from minigrad_plugins.tasks.encoder_decoder import attention_heat_map

import minigrad as mg
from minigrad.cli import _task_from_checkpoint

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "docs" / "images" / "tasks" / "runs" / "translate" / "model.safetensors"
SENTENCE = "我明天去学校。"  # one it gets right; its mistakes are in examples.txt


def main() -> None:
    if not CHECKPOINT.exists():
        print(f"{CHECKPOINT} is missing: training translate first", flush=True)
        command = [sys.executable, "-m", "minigrad", "train", "translate", "--quiet", "--out", str(CHECKPOINT.parent)]
        subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    task, model = _task_from_checkpoint("generate", "translate", str(CHECKPOINT))
    tokens = task.tokenize_source(SENTENCE)
    with mg.no_grad():
        decoded = model.decode(
            np.array([task.source_vocab.encode(tokens)]), np.array([len(tokens)]), task.config.max_length
        )
    words = task.target_vocab.decode(decoded.tokens[0])
    picture = attention_heat_map(decoded.attention[0], tokens, [*words, "<eos>"][: len(decoded.attention[0])])
    target = ROOT / "docs" / "images" / "tasks" / "translate_attention.png"
    target.write_bytes(picture)
    print(f"{SENTENCE} -> {task.join(words)}\nwrote {target}")


if __name__ == "__main__":
    main()
