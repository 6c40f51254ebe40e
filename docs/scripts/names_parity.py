"""names: minigrad's GRU beside PyTorch's nn.GRU, trained the same way, for docs/tasks.md.

    .venv/bin/python docs/scripts/names_parity.py [--epochs N]      (or: make docs-images; needs torch)

Both frameworks train the task's default model (a bidirectional GRU of 128 units, dropout 0.3
on the final state, a Linear to the 10 languages) in float64 from the same initial weights, on
the same arrays, in the same minibatches, with the same dropout masks, AdamW, clipping and
early stopping as `minigrad train names`. Each keeps its best validation epoch and is scored on
the held-out 20%. Writes docs/images/tasks/names_parity.txt.
"""

import argparse
import copy
import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: one BLAS thread each, on a shared machine

import numpy as np

if importlib.util.find_spec("torch") is None:  # torch is not a dependency: keep the pictures' loop going
    print("names_parity.py: torch is not installed, docs/images/tasks/names_parity.txt left as it was", file=sys.stderr)
    sys.exit(0)

import torch
from torch.nn.utils.rnn import pack_padded_sequence

import minigrad as mg
from minigrad.io import write_atomically
from minigrad.train import Trainer

OUT = Path(__file__).resolve().parent.parent / "images" / "tasks" / "names_parity.txt"
Names = mg.tasks()["names"]


class TorchNames(torch.nn.Module):
    """The names task's model (plugins/tasks/names.py) in PyTorch. Dropout draws its masks from
    ``masks``, a copy of the generator minigrad's Dropout draws from, so both drop the same units."""

    def __init__(self, alphabet: int, config, classes: int, masks: np.random.Generator):
        super().__init__()
        self.rnn = torch.nn.GRU(alphabet, config.hidden_size, batch_first=True, bidirectional=True, dtype=torch.float64)
        self.out = torch.nn.Linear(2 * config.hidden_size, classes, dtype=torch.float64)
        self.p, self.masks = config.dropout, masks

    def forward(self, x: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
        packed = pack_padded_sequence(
            torch.from_numpy(x), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
        )
        _, h_n = self.rnn(packed)  # each direction's state after its last real letter
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)  # forward, then reverse
        if self.training and self.p:
            keep = self.masks.random(tuple(last.shape)) >= self.p  # as mg.nn.Dropout draws it
            last = last * torch.from_numpy(keep / (1 - self.p))
        return self.out(last)


def part(state: dict, prefix: str) -> dict:
    """The entries of ``state`` under ``prefix`` ("rnn."), renamed without it, as torch tensors."""
    return {k.removeprefix(prefix): torch.from_numpy(v.copy()) for k, v in state.items() if k.startswith(prefix)}


def train_torch(task, data, initial, masks, shuffle):
    """The Trainer's loop (minigrad/train.py) written for the PyTorch model. Returns
    (test accuracy, epochs trained, best epoch, its validation accuracy, the model)."""
    config = task.config
    model = TorchNames(len(task.alphabet), config, len(task.classes), masks)
    model.rnn.load_state_dict(part(initial, "rnn."))
    model.out.load_state_dict(part(initial, "out."))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def score(split):
        x, lengths, y = split
        with torch.no_grad():
            logits = model(x, lengths)
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
        return float(np.mean(logits.numpy().argmax(axis=1) == y)), loss

    best, best_state, since_best, epoch = (-np.inf, np.inf, 0), None, 0, 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        for x, lengths, y in task.batches(data["train"], config.batch_size, shuffle):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x, lengths), torch.from_numpy(y)).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
        model.eval()
        accuracy, loss = score(data["valid"])
        if accuracy > best[0] or (accuracy == best[0] and loss < best[1]):  # a tie goes to the lower loss
            best, best_state, since_best = (accuracy, loss, epoch), copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
        if config.patience and since_best >= config.patience:
            break
    model.load_state_dict(best_state)
    return score(data["test"])[0], epoch, best[2], best[0], model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=Names.Config().epochs, help="at most this many epochs, both")
    epochs = parser.parse_args().epochs
    if epochs < 1:
        parser.exit(2, f"names_parity.py: --epochs must be a positive number, got {epochs}\n")
    torch.manual_seed(0)  # nothing in torch is random here; set so that nothing could differ by chance
    torch.set_num_threads(1)  # as NumPy's BLAS above: the two frameworks get the same share of the machine

    trainer = Trainer(Names(Names.Config(epochs=epochs)), progress=False)
    task, data, config = trainer.task, trainer.data, trainer.config
    initial = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    masks = copy.deepcopy(mg.default_rng())  # the generator the Trainer's dropout will draw from
    shuffle = copy.deepcopy(trainer.shuffle)
    test_x, test_lengths, _ = data["test"]

    def scores(ours_model, torch_model):
        """Both models' scores for the test names, in eval mode (no dropout)."""
        ours_model.eval()
        torch_model.eval()
        with mg.no_grad(), torch.no_grad():
            pair = ours_model(mg.tensor(test_x), test_lengths).data, torch_model(test_x, test_lengths).numpy()
        ours_model.train()
        return pair

    torch_model = TorchNames(len(task.alphabet), config, len(task.classes), masks)
    torch_model.rnn.load_state_dict(part(initial, "rnn."))
    torch_model.out.load_state_dict(part(initial, "out."))
    ours_start, theirs_start = scores(trainer.model, torch_model)  # the same weights, the same scores

    ours = trainer.fit()
    best = max(trainer.history, key=lambda h: (h["accuracy"], -h["valid_loss"]))
    theirs, torch_epochs, torch_best, torch_valid, torch_model = train_torch(task, data, initial, masks, shuffle)
    ours_end, theirs_end = scores(trainer.model, torch_model)
    agree = np.mean(ours_end.argmax(axis=1) == theirs_end.argmax(axis=1))

    sizes = {name: len(split[2]) for name, split in data.items()}
    lines = [
        (
            f"names: bidirectional GRU {config.hidden_size}, dropout {config.dropout}, AdamW lr {config.lr} "
            f"weight decay {config.weight_decay}, batch {config.batch_size}, clip {config.clip}, "
            f"at most {config.epochs} epochs, patience {config.patience}, seed {config.seed}, float64"
        ),
        (
            f"{sizes['train']} training, {sizes['valid']} validation, {sizes['test']} test names; "
            "the same initial weights, minibatches and dropout masks in both"
        ),
        "largest |minigrad - torch| over the test names' scores (logits):",
        f"  before training {np.abs(ours_start - theirs_start).max():.1e}, after {np.abs(ours_end - theirs_end).max():.1e}",
        "",
        f"{'':<17}{'epochs':>7}{'best epoch':>12}{'valid accuracy':>16}{'test accuracy':>15}",
        f"{'minigrad':<17}{ours['epochs']:>7}{best['epoch']:>12}{best['accuracy']:>16.3f}{ours['accuracy']:>15.3f}",
        f"{'torch nn.GRU':<17}{torch_epochs:>7}{torch_best:>12}{torch_valid:>16.3f}{theirs:>15.3f}",
        "",
        f"the two trained models name the same language for {agree:.1%} of the test names",
    ]
    write_atomically(OUT, ("\n".join(lines) + "\n").encode())
    print("\n".join(lines) + f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
