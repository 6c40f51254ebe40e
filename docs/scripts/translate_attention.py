"""The attention heat map of one translated sentence, for page 8 (docs/images/tasks/translate_attention.png).

Uses the trained model in out/translate/ (``minigrad train translate --out out/translate``,
about ten minutes here) and trains it first when it is missing. Chinese characters need a
CJK font (e.g. Debian's fonts-wqy-microhei); without one matplotlib draws them as boxes.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.cli import _task_from_checkpoint
from minigrad_plugins.tasks.encoder_decoder import attention_heat_map

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "out" / "translate" / "model.safetensors"
SENTENCE = "我明天去学校。"  # one it gets right; its mistakes are in examples.txt

if not CHECKPOINT.exists():
    print(f"{CHECKPOINT} is missing: training translate first (about ten minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "minigrad", "train", "translate", "--quiet", "--out", str(CHECKPOINT.parent)], check=True)

task, model = _task_from_checkpoint("translate", str(CHECKPOINT))
tokens = task.tokenize_source(SENTENCE)
with mg.no_grad():
    decoded = model.decode(np.array([task.source_vocab.encode(tokens)]), np.array([len(tokens)]), task.config.max_length)
words = task.target_vocab.decode(decoded.tokens[0])
picture = attention_heat_map(decoded.attention[0], tokens, [*words, "<eos>"][: len(decoded.attention[0])])
target = ROOT / "docs" / "images" / "tasks" / "translate_attention.png"
target.write_bytes(picture)
print(f"{SENTENCE} -> {task.join(words)}\nwrote {target}")
