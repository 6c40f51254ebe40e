"""A trained minigrad checkpoint run in PyTorch, for docs/moving-to-pytorch.md.

    .venv/bin/python docs/scripts/moving_to_pytorch.py        (or: make docs-images; needs torch)

For each cell (rnn, lstm, gru), trains the echo task (two layers, bidirectional) for one epoch
with the Trainer, loads its model.safetensors into torch.nn and runs both frameworks on the
same inputs, in float64 and, after `model.float()` and `mg.save`, in float32. Writes the
largest differences to docs/images/pytorch/differences.txt (and fails if one is above
1e-12 in float64 or 1e-6 in float32), and the LSTM checkpoint's names, with where each
goes in torch, to docs/images/pytorch/names.txt.
"""

import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

if importlib.util.find_spec("torch") is None:  # torch is not a dependency: keep the pictures' loop going
    print("moving_to_pytorch.py: torch is not installed, docs/images/pytorch/ left as it was", file=sys.stderr)
    sys.exit(0)

# --8<-- [start:imports]
import json

import torch
from safetensors import safe_open
from safetensors.torch import load_file

# --8<-- [end:imports]

import minigrad as mg
from minigrad.train import Trainer

OUT = Path(__file__).resolve().parent.parent / "images" / "pytorch"
TOLERANCE = {"float64": 1e-12, "float32": 1e-6}

# --8<-- [start:load]
TORCH_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def part(state: dict, prefix: str) -> dict:
    """The entries of ``state`` whose names start with ``prefix`` ("rnn."), without it."""
    return {name.removeprefix(prefix): value for name, value in state.items() if name.startswith(prefix)}


def load_in_torch(path):
    """An echo checkpoint as (torch.nn.RNN/LSTM/GRU, torch.nn.Linear), in the dtype it was saved in."""
    with safe_open(path, framework="pt") as file:  # the header alone: the task's configuration
        config = json.loads(file.metadata()["minigrad"])["config"]
    state = load_file(path)  # name -> torch.Tensor
    rnn_state, head_state = part(state, "rnn."), part(state, "out.")
    weight = rnn_state["weight_ih_l0"]  # (gates * hidden_size, input_size)
    layer = TORCH_LAYERS[config["cell"]]
    size = dict(input_size=weight.shape[1], hidden_size=config["hidden_size"], num_layers=config["num_layers"])
    rnn = layer(**size, bidirectional=config["bidirectional"], batch_first=True, dtype=weight.dtype)
    rnn.load_state_dict(rnn_state)  # strict: every name and shape must match
    out_features, in_features = head_state["weight"].shape  # (out, in), as in mg.nn.Linear
    head = torch.nn.Linear(in_features, out_features, dtype=weight.dtype)
    head.load_state_dict(head_state)
    return rnn, head


def echo_in_torch(rnn, head, x):
    """EchoModel.forward, in PyTorch: the answer is read from the output at the last step."""
    output, _ = rnn(x)
    return head(output[:, -1])
# --8<-- [end:load]


def compare(path: Path, model: mg.nn.Module, x: np.ndarray) -> float:
    """The largest |minigrad - torch| over the echo model's answers and every recurrent output."""
    rnn, head = load_in_torch(path)
    x = x.astype(model.out.weight.dtype)
    with mg.no_grad(), torch.no_grad():
        ours, theirs = model(mg.tensor(x)).data, echo_in_torch(rnn, head, torch.from_numpy(x)).numpy()
        ours_all, theirs_all = model.rnn(mg.tensor(x))[0].data, rnn(torch.from_numpy(x))[0].numpy()
    return max(np.abs(ours - theirs).max(), np.abs(ours_all - theirs_all).max())


def names_table(model: mg.nn.Module, path: Path) -> list[str]:
    """Each name in the checkpoint (in the model's order), its shape, and where torch loaded it."""
    rnn, head = load_in_torch(path)
    where = {f"rnn.{k}": f"torch.nn.{type(rnn).__name__:<6} {k}" for k in rnn.state_dict()}
    where |= {f"out.{k}": f"torch.nn.Linear {k}" for k in head.state_dict()}
    return [f"{'in model.safetensors':<28}{'shape':<10}loaded into", *(
        f"{k:<28}{str(tuple(v.shape)):<10}{where[k]}" for k, v in model.state_dict().items()
    )]  # fmt: skip


Echo = mg.tasks()["echo"]
x = np.random.default_rng(0).uniform(0, 1, (100, 2, 1))  # 100 echo examples of 2 steps
lines = [
    f"{len(x)} echo examples of {x.shape[1]} steps; the largest |minigrad - torch| over the answers",
    f"and every step's output (allowed: float64 {TOLERANCE['float64']:.0e}, float32 {TOLERANCE['float32']:.0e})",
    "",
    "cell  dtype    largest difference",
]
OUT.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory() as folder:
    for cell in TORCH_LAYERS:
        config = Echo.Config(cell=cell, num_layers=2, bidirectional=True, epochs=1)
        trainer = Trainer(Echo(config), out_dir=folder, progress=False)
        trainer.fit()
        # --8<-- [start:float32]
        path = Path(folder) / "model.safetensors"
        state, metadata = mg.load(path)
        model = trainer.task.build_model()
        model.load_state_dict(state)
        differences = {"float64": compare(path, model, x)}
        model.float()  # float32 parameters, saved the same way
        mg.save(model, Path(folder) / "model32.safetensors", metadata)
        differences["float32"] = compare(Path(folder) / "model32.safetensors", model, x)
        # --8<-- [end:float32]
        for dtype, difference in differences.items():
            if difference > TOLERANCE[dtype]:
                raise SystemExit(f"{cell} {dtype}: minigrad and torch differ by {difference:.1e}")
            lines.append(f"{cell:<5} {dtype}  {difference:.1e}")
        if cell == "lstm":
            (OUT / "names.txt").write_text("\n".join(names_table(model, path)) + "\n", encoding="utf-8")

(OUT / "differences.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
print(f"wrote {OUT / 'differences.txt'} and {OUT / 'names.txt'}")
