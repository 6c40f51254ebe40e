"""The sentiment variants of docs/tasks.md, trained, and a bag of words for scale.

    nice -n 10 .venv/bin/python docs/scripts/tasks_sentiment_variants.py          the runs not made yet, then the files
    nice -n 10 .venv/bin/python docs/scripts/tasks_sentiment_variants.py --again  every run again
    .venv/bin/python docs/scripts/tasks_sentiment_variants.py --table             no training: the files from the runs made

Each variant is the options of one ``minigrad train sentiment`` command, parsed by the command
line's own parser and trained with the Trainer, for seeds 0, 1 and 2 (all of seed 0's variants
first, so a partial sweep already compares them). Each run's best validation accuracy (the model
the trainer keeps), its test accuracy and its per-epoch history go to
``docs/images/tasks/sentiment/runs/VARIANT-seedN.json``; a run already there is not trained again
unless ``--again``. Then, from those files alone, into ``docs/images/tasks/sentiment/``:

- variants.txt: the table (Markdown): mean validation and test accuracy over the seeds run;
- overfit.txt: a sentence on the training and validation loss of the run without dropout (seed 0);
- mistake.txt: a sentence on the default run's (seed 0) most confident test mistake;
- bag_of_words.txt: a sentence on L2-regularised logistic regression over the same split and
  vocabulary (word present or not), seeds 0-2; seconds, no minigrad training.

No time is written: run times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import cli
from minigrad.io import write_atomically
from minigrad.train import Trainer

OUT = Path(__file__).resolve().parents[2] / "docs" / "images" / "tasks" / "sentiment"
RUNS = OUT / "runs"
SEEDS = (0, 1, 2)

# (key, what the table calls it, the options of `minigrad train sentiment`), most telling first
VARIANTS = [
    ("default", "**default**: words, GRU 32, forward, 1,500 words, dropout 0.5", ()),
    ("no-dropout", "no dropout", ("--dropout", "0")),
    ("bidirectional", "`--bidirectional`", ("--bidirectional",)),
    ("lstm", "`--cell lstm`", ("--cell", "lstm")),
    ("lstm-bidirectional", "`--cell lstm --bidirectional`", ("--cell", "lstm", "--bidirectional")),
    ("bidirectional-no-dropout", "`--bidirectional --dropout 0`", ("--bidirectional", "--dropout", "0")),
    ("bidirectional-dropout-0.3", "`--bidirectional --dropout 0.3`", ("--bidirectional", "--dropout", "0.3")),
    ("bidirectional-lr-0.01", "`--bidirectional --lr 0.01`", ("--bidirectional", "--lr", "0.01")),
    ("bidirectional-words-2500", "`--bidirectional --words 2500`", ("--bidirectional", "--words", "2500")),
    ("bidirectional-no-dropout-words-1000", "`--bidirectional --dropout 0 --words 1000`",
     ("--bidirectional", "--dropout", "0", "--words", "1000")),
    ("bidirectional-no-dropout-words-2500", "`--bidirectional --dropout 0 --words 2500`",
     ("--bidirectional", "--dropout", "0", "--words", "2500")),
]  # fmt: skip


def make_task(options: tuple[str, ...], seed: int) -> mg.Task:
    """The task ``minigrad train sentiment OPTIONS --seed SEED`` would train."""
    task_class = mg.tasks()["sentiment"]
    given = vars(cli.task_parser(task_class, "minigrad train sentiment").parse_args([*options, "--seed", str(seed)]))
    return task_class(task_class.Config(**given))


def run_path(key: str, seed: int) -> Path:
    return RUNS / f"{key}-seed{seed}.json"


def train(key: str, options: tuple[str, ...], seed: int) -> None:
    """One run; its results (no time) to run_path. The default's seed 0 also keeps its worst mistake."""
    task = make_task(options, seed)
    trainer = Trainer(task, out_dir=None, progress=False)
    test = trainer.fit()
    result = {
        "command": " ".join(["minigrad train sentiment", *options, "--seed", str(seed)]),
        "valid_accuracy": trainer.best_metric,  # the kept model's: the best epoch's
        "test_accuracy": test["accuracy"],
        "epochs": test["epochs"],
        "history": trainer.history,
    }
    if key == "default" and seed == 0:
        with tempfile.TemporaryDirectory() as folder:  # the trainer's own report, read back
            [report] = task.write_reports(trainer.model, trainer.data, Path(folder))
            result["misclassified"] = report.read_text(encoding="utf-8").splitlines()[:2]
    RUNS.mkdir(parents=True, exist_ok=True)
    write_atomically(run_path(key, seed), (json.dumps(result, indent=1) + "\n").encode())
    print(f"{key} seed {seed}: valid {result['valid_accuracy']:.3f}, test {result['test_accuracy']:.3f}", flush=True)


def load(key: str, seed: int) -> dict | None:
    path = run_path(key, seed)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def table() -> str:
    """Mean validation and test accuracy of each variant over the seeds run, and each seed's test."""
    lines = ["| variant | validation | test | test, seeds 0 / 1 / 2 |", "|---|---|---|---|"]
    for key, shown, _ in VARIANTS:
        runs = [load(key, seed) for seed in SEEDS]
        made = [run for run in runs if run]
        if not made:
            lines.append(f"| {shown} | not run yet: `python docs/scripts/tasks_sentiment_variants.py` | | |")
            continue
        valid = np.mean([run["valid_accuracy"] for run in made])
        test = np.mean([run["test_accuracy"] for run in made])
        each = " / ".join(f"{run['test_accuracy']:.3f}" if run else "—" for run in runs)
        lines.append(f"| {shown} | {valid:.3f} | {test:.3f} | {each} |")
    return "\n".join(lines) + "\n"


def overfit_sentence() -> str:
    """How the run without dropout (seed 0) memorises: its training loss against its validation loss."""
    run = load("no-dropout", 0)
    if run is None:
        return "(The run without dropout has not been made yet: `python docs/scripts/tasks_sentiment_variants.py`.)"
    history = run["history"]
    last = history[-1]
    lowest = min(history, key=lambda h: h["valid_loss"])
    return (f"without it (seed 0) the training loss falls to {last['train_loss']:.2f} by epoch {last['epoch']}, "
            f"while the validation loss, lowest at epoch {lowest['epoch']} ({lowest['valid_loss']:.2f}), "
            f"has risen to {last['valid_loss']:.2f}:")  # fmt: skip


def mistake_sentence() -> str:
    run = load("default", 0)
    if run is None:
        return "(The default run has not been made yet: `python docs/scripts/tasks_sentiment_variants.py`.)"
    probability, label, sentence = run["misclassified"][1].split("  ", 2)
    side = "positive" if float(probability) >= 0.5 else "negative"
    return f'("{sentence}" is {side} to the model with P(positive) = {probability}; its label is {label}).'


# -- the bag of words: logistic regression on which words a sentence has ---------------------------
class Presence:
    """The 0/1 matrix "sentence i has word j", kept as its ones' (row, column) pairs: each
    sentence has a few dozen words of thousands, so products are sums over those pairs."""

    def __init__(self, tokens: np.ndarray, size: int):
        pairs = {(i, t) for i, row in enumerate(tokens) for t in row if t != 0}  # <pad> (0) is no word
        self.rows, self.columns = (np.array(part) for part in zip(*sorted(pairs)))
        self.shape = (len(tokens), size)

    def times(self, w: np.ndarray) -> np.ndarray:
        """x @ w"""
        return np.bincount(self.rows, weights=w[self.columns], minlength=self.shape[0])

    def transposed_times(self, r: np.ndarray) -> np.ndarray:
        """x.T @ r"""
        return np.bincount(self.columns, weights=r[self.rows], minlength=self.shape[1])


def logistic_regression(x: Presence, y: np.ndarray, l2: float, steps: int = 5000) -> tuple[np.ndarray, float]:
    """(w, b) minimising mean cross-entropy + l2/2 |w|², by plain gradient descent."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x.times(w) + b)))
        w -= 0.5 * (x.transposed_times(p - y) / len(y) + l2 * w)  # the bias b is not regularised
        b -= 0.5 * float(np.mean(p - y))
    return w, b


def accuracy(fit: tuple[np.ndarray, float], x: Presence, y: np.ndarray) -> float:
    w, b = fit
    return float(np.mean((x.times(w) + b > 0) == y))


def bag_of_words() -> str:
    """Test accuracy for seeds 0-2, the L2 strength chosen on validation accuracy."""
    scores = []
    for seed in SEEDS:
        task = make_task((), seed)
        data = task.make_data(np.random.default_rng([seed, 1]))  # the Trainer's split for this seed
        size = len(task.vocabulary)
        (x, y), (xv, yv), (xt, yt) = ((Presence(data[s][0], size), data[s][2]) for s in ("train", "valid", "test"))
        fits = {l2: logistic_regression(x, y, l2) for l2 in (1e-4, 1e-3, 1e-2, 3e-2)}
        best = max(fits, key=lambda l2: accuracy(fits[l2], xv, yv))
        scores.append(accuracy(fits[best], xt, yt))
    shown = " / ".join(f"{score:.3f}" for score in scores)
    return f"scores {shown} on seeds 0–2 (mean {np.mean(scores):.3f})"


def write(name: str, text: str) -> None:
    write_atomically(OUT / name, (text.rstrip("\n") + "\n").encode())
    print(f"wrote {OUT / name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The sentiment variants of docs/tasks.md.")
    parser.add_argument("--again", action="store_true", help="train every run again")
    parser.add_argument("--table", action="store_true", help="train nothing: the files from the runs made")
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not options.table:
        for seed in SEEDS:
            for key, _, flags in VARIANTS:
                if options.again or load(key, seed) is None:
                    train(key, flags, seed)
                    write("variants.txt", table())  # after every run: an interrupted sweep keeps its rows
    write("variants.txt", table())
    write("overfit.txt", overfit_sentence())
    write("mistake.txt", mistake_sentence())
    write("bag_of_words.txt", bag_of_words())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
