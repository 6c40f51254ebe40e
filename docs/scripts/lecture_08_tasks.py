"""Page 8's task tables: `minigrad train dates` and `minigrad train translate` with each context.

    .venv/bin/python docs/scripts/lecture_08_tasks.py      (or: make docs-images)
    .venv/bin/python docs/scripts/lecture_08_tasks.py --only-trained dates

The arguments name the tasks to train (default: both); the tables of the others are still
written, from the runs already trained. With --only-trained nothing is trained: a run that is
missing shows as "not trained yet" in its table.

Trains each task three times with its default options, once per `--context` (init, every-step,
attention), as the page's commands do, into the folders of docs/tasks.md's table
(docs/images/tasks/runs/TASK, TASK-every-step, TASK-init: one run serves both pages), and writes
docs/images/08/tasks_dates.txt and tasks_translate.txt: a line on the data and the options,
then a Markdown table of each run's test metric and epochs, which the page includes as it is.

Training translate takes long (tens of minutes on one core), so a run whose checkpoint is
already there, trained with the same options, is not trained again: its metrics are read
from the checkpoint's metadata. Delete those folders to train afresh. Training seconds are
left out of the tables: they measure the machine, not the model.
"""

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import minigrad as mg
from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "docs" / "images" / "tasks" / "runs"  # docs/scripts/tasks_table.py's runs: the same commands
OUT = ROOT / "docs" / "images" / "08"
MINIGRAD = Path(sys.executable).parent / "minigrad"  # the venv's console script, as the page runs it
CONTEXTS = {"init": "(a) init", "every-step": "(b) every-step", "attention": "attention"}


def trained(task: str, context: str, train: bool) -> dict | None:
    """The metadata of `minigrad train TASK --context CONTEXT` (default options), training it if
    needed and ``train``; None if it is missing and not ``train``."""
    folder = RUNS / (task if context == "attention" else f"{task}-{context}")  # attention is the default
    checkpoint = folder / "model.safetensors"
    wanted = dataclasses.asdict(mg.tasks()[task].Config(context=context))
    if checkpoint.exists() and mg.load(checkpoint)[1].get("config") == wanted:
        print(f"{checkpoint}: trained already, with the default options", flush=True)
    elif not train:
        print(f"{checkpoint}: not trained yet, left out", flush=True)
        return None
    else:
        print(f"training {task} --context {context} into {folder}", flush=True)
        command = [str(MINIGRAD), "train", task, "--context", context, "--out", str(folder), "--quiet"]
        # one BLAS thread: the machine is shared, and the numbers do not depend on it
        subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return mg.load(checkpoint)[1]


def table(task: str, metric: str, heading: str, digits: int, train: bool) -> list[str]:
    """A Markdown table: one row per context, its test metric and how many epochs it trained."""
    runs = {context: trained(task, context, train) for context in CONTEXTS}
    best = max((run["metrics"][metric] for run in runs.values() if run), default=None)
    lines = [f"| context | {heading} | epochs |", "|---|---|---|"]
    for context, label in CONTEXTS.items():
        if runs[context] is None:
            lines.append(f"| {label} | not trained yet: `{Path(__file__).relative_to(ROOT)}` trains it | |")
            continue
        value = runs[context]["metrics"][metric]
        shown = f"{value:.{digits}f}" if digits else f"{value:g}"
        lines.append(
            f"| {label} | {f'**{shown}**' if value == best else shown} | {runs[context]['metrics']['epochs']} |"
        )
    return lines


def options(config) -> str:
    """The options every run shares, as the page states them."""
    return (f"a {config.cell.upper()} of {config.hidden_size} hidden units, at most {config.epochs} epochs, "
            f"stopping after {config.patience} without a better validation score, seed {config.seed}")  # fmt: skip


def write(name: str, lines: list[str]) -> None:
    write_atomically(OUT / name, "\n".join([*lines, ""]).encode())
    print(f"wrote {OUT / name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", help="the tasks to train: dates, translate (default: both)")
    parser.add_argument("--only-trained", action="store_true", help="train nothing; tables from the runs there are")
    args = parser.parse_args()
    if unknown := set(args.tasks) - {"dates", "translate"}:  # (choices= refuses an empty list of tasks)
        parser.error(f"unknown task {sorted(unknown)[0]!r}: choose dates or translate")
    train = {task: not args.only_trained and (not args.tasks or task in args.tasks) for task in ("dates", "translate")}
    dates = mg.tasks()["dates"](mg.tasks()["dates"].Config())
    sizes = {name: len(pairs) for name, pairs in dates.splits.items()}
    target = f", or until the validation exact match is {dates.target}" if getattr(dates, "target", None) else ""
    heading = (f"Default options: {options(dates.config)}{target}. {sizes['train']:,} training dates, "
               f"{sizes['valid']:,} for validation, {sizes['test']:,} for the test.")  # fmt: skip
    write(
        "tasks_dates.txt",
        [heading, "", *table("dates", "exact_match", f"test exact match ({sizes['test']:,} dates)", 0, train["dates"])],
    )

    translate = mg.tasks()["translate"](mg.tasks()["translate"].Config())
    sizes = {name: len(pairs) for name, pairs in translate.splits.items()}
    heading = (f"{sum(sizes.values()):,} sentence pairs: {sizes['train']:,} for training, {sizes['valid']:,} for "
               f"validation, {sizes['test']:,} for the test. Default options: {options(translate.config)}.")  # fmt: skip
    write(
        "tasks_translate.txt",
        [heading, "", *table("translate", "bleu", f"test BLEU ({sizes['test']:,} sentences)", 2, train["translate"])],
    )


if __name__ == "__main__":
    main()
