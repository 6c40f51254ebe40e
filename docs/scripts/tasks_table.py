"""The table "Our numbers beside the textbook's" of docs/tasks.md, from training runs.

    .venv/bin/python docs/scripts/tasks_table.py                 every row: trains them all (long: an hour or more)
    .venv/bin/python docs/scripts/tasks_table.py --only echo pm25 only these rows, then the table again
    .venv/bin/python docs/scripts/tasks_table.py --smoke         one epoch per row, into a temporary folder
    .venv/bin/python docs/scripts/tasks_table.py --table         the table from the runs already made

Each row is one ``minigrad train`` command, run as it is on the command line. The trainer
writes the test metrics to ``docs/images/tasks/runs/ROW/metrics.json`` (with ``loss.png``;
its checkpoints are ignored by git). The table, ``docs/images/tasks/table.txt`` (Markdown), is then made
from those files alone, so rerunning one row updates its line and leaves the others. A row
with no run yet says so, with the command that makes it. ``--smoke`` trains every row for
one epoch in a temporary folder and prints the table there: a check that every command still
runs, whose numbers mean nothing.

The textbook's figures are quotations (Microsoft ai-edu, chapters 19–20; the course's
lecture summarises them), typed here once beside the row they belong to. No time is shown:
run times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from minigrad import cli

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "docs" / "images" / "tasks" / "runs"
TABLE = ROOT / "docs" / "images" / "tasks" / "table.txt"  # Markdown, but not a page of the site


@dataclass(frozen=True)
class Row:
    """One line of the table: the command, what is measured, the textbook's figure and our bar."""

    key: str  # the run's folder under RUNS, and the name for --only
    task: str  # the first column
    argv: tuple[str, ...]  # minigrad train ARGV
    shown: str  # the command as the table shows it
    metric: str
    metrics: tuple[str, ...]  # metrics.json keys, joined by " / "
    textbook: str = "—"
    bar: str = "—"
    extra: tuple[str, ...] = ()  # further keys, shown after the main ones as "key value"
    digits: int = 3


ROWS = [
    Row("echo", "echo", ("echo",), "`minigrad train echo`", "test R²", ("r2",),
        textbook="0.9526", bar="≥ 0.99", digits=4),
    Row("binary-subtraction-rnn", "binary-subtraction", ("binary-subtraction", "--cell", "rnn"),
        "`minigrad train binary-subtraction --cell rnn`", "accuracy (every bit of a difference right)",
        ("accuracy",), textbook="100%", bar="1.0"),
    Row("binary-subtraction-lstm", "binary-subtraction", ("binary-subtraction", "--cell", "lstm"),
        "`... --cell lstm`", "accuracy", ("accuracy",), textbook="100%", bar="1.0"),
    Row("binary-subtraction-gru", "binary-subtraction", ("binary-subtraction", "--cell", "gru"),
        "`... --cell gru`", "accuracy", ("accuracy",), textbook="100%", bar="1.0"),
    *(Row(f"binary-subtraction-rnn-seed{seed}", "binary-subtraction", ("binary-subtraction", "--cell", "rnn", "--seed", str(seed)),
          f"`... --cell rnn --seed {seed}`", "accuracy", ("accuracy",), textbook="100%", bar="1.0") for seed in (1, 2, 3)),
    Row("names", "names", ("names",),
        "`minigrad train names` (bidirectional GRU, dropout, weight decay: the task's defaults)",
        "test accuracy (held-out names)", ("accuracy",), textbook="74% (on its training data)",
        bar="PyTorch's, [below](#names-minigrad-beside-pytorch)"),
    Row("pm25", "pm25 regression", ("pm25",), "`minigrad train pm25`",
        "test R², blocks of 8 / 4 / 2 / 1 h", ("r2_8h", "r2_4h", "r2_2h", "r2_1h"),
        textbook="0.738 / 0.846 / 0.907 / 0.940", bar="beat each"),
    Row("pm25-deep", "pm25 deep", ("pm25", "--num-layers", "2"), "`minigrad train pm25 --num-layers 2`",
        "the same", ("r2_8h", "r2_4h", "r2_2h", "r2_1h"),
        textbook="0.741 / 0.856 / 0.915 / 0.946", bar="beat each"),
    Row("pm25-classify", "pm25 classify", ("pm25", "--mode", "classify"), "`minigrad train pm25 --mode classify`",
        "accuracy, blocks of 8 / 4 / 2 / 1 h", ("accuracy_8h", "accuracy_4h", "accuracy_2h", "accuracy_1h"),
        textbook="0.602 / 0.656 / 0.714 / 0.756 (72 h of history)", bar="beat each"),
    Row("pm25-classify-72", "pm25 classify, 72 h", ("pm25", "--mode", "classify", "--steps", "72"),
        "`... --mode classify --steps 72`", "the same", ("accuracy_8h", "accuracy_4h", "accuracy_2h", "accuracy_1h"),
        textbook="0.602 / 0.656 / 0.714 / 0.756", bar="beat each"),
    Row("char-lm", "char-lm", ("char-lm",), "`minigrad train char-lm` (the text \"hello\")",
        "next-character accuracy", ("accuracy",), textbook="\"hell\" → \"ello\"", extra=("perplexity",), digits=4),
    Row("shakespeare", "char-lm Shakespeare",
        ("char-lm", "--corpus", "shakespeare", "--cell", "lstm", "--num-layers", "2", "--hidden-size", "128",
         "--bptt", "64", "--batch-size", "32", "--lr", "0.01", "--lr-decay", "0.7", "--epochs", "4",
         "--dtype", "float32"),
        "`minigrad train char-lm --corpus shakespeare ...` ([below](#char-lm-on-tiny-shakespeare-with-truncated-bptt))",
        "test bits per character (the last 5%)", ("bpc",), extra=("unigram_bpc",), digits=2),
    Row("dates", "dates", ("dates",), "`minigrad train dates` (attention; [page 8](lecture/08-seq2seq.md))",
        "exact match, held-out dates", ("exact_match",), bar="≥ 0.99", digits=4),
    Row("dates-every-step", "dates (b)", ("dates", "--context", "every-step"),
        "`... --context every-step` (c at every decoder step)", "exact match", ("exact_match",), bar="≥ 0.99", digits=4),
    Row("dates-init", "dates (a)", ("dates", "--context", "init"),
        "`... --context init` (c only starts the decoder)", "exact match", ("exact_match",), bar="≥ 0.99", digits=4),
    Row("translate", "translate", ("translate",), "`minigrad train translate` (attention; [page 8](lecture/08-seq2seq.md))",
        "corpus BLEU (sacreBLEU), held-out 10%", ("bleu",), bar="attention highest", digits=2),
    Row("translate-every-step", "translate (b)", ("translate", "--context", "every-step"),
        "`... --context every-step`", "BLEU", ("bleu",), digits=2),
    Row("translate-init", "translate (a)", ("translate", "--context", "init"), "`... --context init`", "BLEU",
        ("bleu",), digits=2),
    Row("couplet", "couplet", ("couplet",), "`minigrad train couplet` ([below](#couplet-and-acrostic-chinese-characters-many-to-many-and-one-to-many))",
        "test per-character accuracy; perplexity", ("accuracy", "perplexity"), extra=("unigram_perplexity",),
        bar="perplexity below the unigram's"),
    Row("acrostic", "acrostic", ("acrostic",), "`minigrad train acrostic` ([below](#couplet-and-acrostic-chinese-characters-many-to-many-and-one-to-many))",
        "held-out perplexity; form kept", ("perplexity", "form_rate"), extra=("unigram_perplexity", "accuracy"),
        bar="perplexity below the unigram's; form 1.0"),
    Row("sentiment", "sentiment", ("sentiment",), "`minigrad train sentiment` ([below](#sentiment-and-future-echo-a-sentences-words-and-what-only-a-reverse-direction-sees))",
        "test accuracy (held-out 20%)", ("accuracy",), bar="≥ 0.75"),
    *(Row(f"sentiment-seed{seed}", "sentiment", ("sentiment", "--seed", str(seed)), f"`... --seed {seed}`",
          "test accuracy", ("accuracy",), bar="≥ 0.75") for seed in (1, 2)),
    Row("future-echo-bidirectional", "future-echo", ("future-echo", "--bidirectional"),
        "`minigrad train future-echo --bidirectional`", "test accuracy, steps with a t + shift", ("accuracy",),
        bar="≥ 0.99", digits=4),
    Row("future-echo", "future-echo forward", ("future-echo",), "`minigrad train future-echo` (the default: forward only)",
        "the same", ("accuracy",), bar="≈ chance", digits=4),
]
BY_KEY = {row.key: row for row in ROWS}


def train(row: Row, runs: Path, smoke: bool) -> float:
    """Run the row's command with --out in ``runs``; return the wall-clock seconds (printed, never tabled)."""
    argv = ["train", *row.argv, "--out", str(runs / row.key), "--quiet"]
    if smoke:
        argv += ["--epochs", "1"]  # the last --epochs wins over the row's own
    start = time.perf_counter()
    status = cli.main(argv)
    if status:
        raise SystemExit(f"tasks_table: {' '.join(argv)} failed with status {status}")
    return time.perf_counter() - start


def number(value: float, digits: int) -> str:
    """A metric as the table shows it: a whole number in thousands when large, else ``digits`` decimals."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def result(row: Row, runs: Path) -> str:
    """The minigrad column: the row's metrics and epochs from its metrics.json, or how to make them."""
    path = runs / row.key / "metrics.json"
    if not path.exists():
        return f"not run yet: `python docs/scripts/tasks_table.py --only {row.key}`"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    main = " / ".join(number(metrics[k], row.digits) for k in row.metrics)
    extra = "".join(f", {k.replace('_', ' ')} {number(metrics[k], row.digits)}" for k in row.extra)
    epochs = metrics['epochs']
    return f"**{main}**{extra} ({epochs} epoch{'' if epochs == 1 else 's'})"


def table(runs: Path) -> str:
    lines = [
        "| task | command | metric | textbook | minigrad | bar |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        lines.append(f"| {row.task} | {row.shown} | {row.metric} | {row.textbook} | {result(row, runs)} | {row.bar} |")
    return "\n".join(lines) + "\n"


def write_table(text: str) -> None:
    temporary = TABLE.with_name(f".{TABLE.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, TABLE)  # a reader never sees half a file
    print(f"wrote {TABLE.relative_to(ROOT)}")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The table of docs/tasks.md, from minigrad train runs.")
    parser.add_argument("--only", nargs="+", metavar="ROW", help=f"rows to train: {', '.join(BY_KEY)}")
    parser.add_argument("--smoke", action="store_true", help="one epoch per row, in a temporary folder")
    parser.add_argument("--table", action="store_true", help="train nothing: the table from the runs made")
    options = parser.parse_args(argv)
    unknown = [key for key in options.only or [] if key not in BY_KEY]
    if unknown:  # one line and status 2, as the minigrad command does
        print(f"tasks_table: no row {', '.join(unknown)}; the rows are {', '.join(BY_KEY)}", file=sys.stderr)
        raise SystemExit(2)
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    rows = [] if options.table else [BY_KEY[key] for key in options.only] if options.only else ROWS
    if options.smoke:
        with tempfile.TemporaryDirectory() as folder:
            for row in rows:
                print(f"{row.key}: {train(row, Path(folder), smoke=True):.0f} s", flush=True)
            print(table(Path(folder)), end="")
        return 0
    for row in rows:
        print(f"{row.key}: {train(row, RUNS, smoke=False):.0f} s", flush=True)
    write_table(table(RUNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
