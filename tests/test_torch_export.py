"""Moving up to PyTorch: a checkpoint minigrad writes loads into torch.nn and computes the same.

The path of docs/moving-to-pytorch.md: a task's model saved by ``mg.save`` (the function the
trainer writes ``model.safetensors`` with), read back with ``safetensors`` alone, its names
stripped of their module prefix (``rnn.``, ``out.``) and loaded, strictly, into
``torch.nn.RNN/LSTM/GRU(batch_first=True)`` and ``torch.nn.Linear``. Both frameworks then
give the same outputs, final states and answers: to 1e-12 in float64, 1e-6 in float32.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.train import MODEL, Trainer

if os.environ.get("CI") == "true":
    import torch  # in CI a missing torch is a failure, not a skip
else:
    torch = pytest.importorskip("torch")
import safetensors.torch  # noqa: E402  (needs torch)

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
TORCH_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
Echo = mg.tasks()["echo"]


def part(state: dict, prefix: str) -> dict:
    """The entries under ``prefix``, without it: ``rnn.weight_ih_l0`` -> ``weight_ih_l0``."""
    return {name.removeprefix(prefix): value for name, value in state.items() if name.startswith(prefix)}


def load_in_torch(path: Path, reader: str) -> tuple[torch.nn.Module, torch.nn.Linear]:
    """The echo model's recurrent layer and head, rebuilt in torch from the file alone."""
    if reader == "torch":
        state = safetensors.torch.load_file(path)
    else:  # safetensors.numpy, for a user who holds NumPy arrays first
        state = {name: torch.from_numpy(array) for name, array in safetensors.numpy.load_file(path).items()}
    with safetensors.safe_open(path, framework="np") as file:
        config = json.loads(file.metadata()["minigrad"])["config"]
    rnn_state, head_state = part(state, "rnn."), part(state, "out.")
    assert len(rnn_state) + len(head_state) == len(state), "a parameter outside rnn. and out."
    weight = rnn_state["weight_ih_l0"]
    layer, size = TORCH_LAYERS[config["cell"]], (weight.shape[1], config["hidden_size"], config["num_layers"])
    rnn = layer(*size, bidirectional=config["bidirectional"], batch_first=True, dtype=weight.dtype)
    rnn.load_state_dict(rnn_state)  # strict: PyTorch's names and shapes, every one of them
    head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0], dtype=weight.dtype)
    head.load_state_dict(head_state)
    return rnn, head


def largest_difference(model: mg.nn.Module, rnn: torch.nn.Module, head: torch.nn.Linear, x: np.ndarray) -> float:
    """max |minigrad - torch| over the answers, every step's output, and the final state(s)."""
    with mg.no_grad(), torch.no_grad():
        ours = [model(mg.tensor(x)).data]
        output, final = model.rnn(mg.tensor(x))
        ours += [output.data] + [s.data for s in (final if isinstance(final, tuple) else (final,))]
        output, final = rnn(torch.from_numpy(x))
        theirs = [head(output[:, -1]).numpy(), output.numpy()]
        theirs += [s.numpy() for s in (final if isinstance(final, tuple) else (final,))]
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    assert all(a.dtype == b.dtype == x.dtype for a, b in zip(ours, theirs))
    return max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs))


@settings(max_examples=30)
@given(
    cell=st.sampled_from(sorted(TORCH_LAYERS)),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32]),
    hidden_size=st.integers(1, 4),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5)),  # (batch, steps)
    reader=st.sampled_from(["torch", "numpy"]),
    seed=st.integers(0, 2**16),
)
def test_a_saved_task_model_runs_the_same_in_torch(
    cell, num_layers, bidirectional, dtype, hidden_size, shape, reader, seed
):
    config = Echo.Config(cell=cell, hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional)
    mg.manual_seed(seed)
    model = Echo(config).build_model().to_dtype(dtype)
    x = np.random.default_rng(seed).uniform(-1, 1, (*shape, 1)).astype(dtype)
    with tempfile.TemporaryDirectory() as folder:
        path = mg.save(model, Path(folder) / "model.safetensors", {"task": "echo", "config": config.as_dict()})
        rnn, head = load_in_torch(path, reader)
    assert largest_difference(model, rnn, head, x) <= TOLERANCE[dtype]


def test_a_trained_checkpoint_runs_the_same_in_torch(tmp_path):
    """The real path: `minigrad train`'s Trainer writes model.safetensors; torch reads it."""
    config = Echo.Config(cell="lstm", num_layers=2, bidirectional=True, epochs=1, samples=16)
    trainer = Trainer(Echo(config), out_dir=tmp_path, progress=False)
    trainer.fit()
    state, metadata = mg.load(tmp_path / MODEL)
    model = Echo(Echo.Config(**metadata["config"])).build_model()
    model.load_state_dict(state)
    x = np.random.default_rng(0).uniform(0, 1, (8, 2, 1))
    rnn, head = load_in_torch(tmp_path / MODEL, "torch")
    assert largest_difference(model, rnn, head, x) <= TOLERANCE[np.float64]


def test_the_comparison_can_fail(tmp_path):
    """One weight changed by 1e-6 after loading is seen: the comparison is not vacuous."""
    mg.manual_seed(0)
    model = Echo(Echo.Config(cell="gru")).build_model()
    path = mg.save(model, tmp_path / "model.safetensors", {"config": Echo.Config(cell="gru").as_dict()})
    rnn, head = load_in_torch(path, "torch")
    with torch.no_grad():
        rnn.weight_hh_l0[0, 0] += 1e-6
    x = np.random.default_rng(0).uniform(0, 1, (4, 3, 1))
    assert largest_difference(model, rnn, head, x) > TOLERANCE[np.float64]
