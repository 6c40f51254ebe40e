"""docs/tasks.md's facts about the couplet, acrostic and sentiment data, counted from the data.

    .venv/bin/python docs/scripts/tasks_numbers.py      (or: make docs-images)

Each task is built as ``minigrad train TASK`` builds it (default options, seed 0), so the
splits and vocabularies are the ones it trains on; nothing is trained. Writes one or two
sentences per file to docs/images/tasks/numbers/, which the page includes inside its paragraphs:

- couplet_data.txt: the couplets, their split, line lengths and vocabulary;
- couplet_lookup.txt: the test accuracy of a lookup table (each upper character answered by the
  lower character most often paired with it in training), scored as the task scores a model;
- acrostic_data.txt: the quatrains, their split and vocabulary;
- sentiment_data.txt: the sentences, their lengths, split and unknown words;
- sentiment_error.txt: how far an accuracy near 0.8 measured on the validation and test
  sentences can move by chance (one standard error, sqrt(p(1 - p) / n)).
"""

from collections import Counter
from pathlib import Path

import numpy as np
from minigrad_plugins.tasks.sentiment import UNKNOWN as SENTIMENT_UNKNOWN
from minigrad_plugins.tasks.sentiment import words_of

import minigrad as mg
from minigrad.io import write_atomically

OUT = Path(__file__).resolve().parents[2] / "docs" / "images" / "tasks" / "numbers"
TYPICAL_ACCURACY = 0.8  # where the sentiment models score; the standard error barely moves near it


def write(name: str, text: str) -> None:
    write_atomically(OUT / name, (text + "\n").encode("utf-8"))
    print(f"wrote {OUT / name}")


def couplet() -> None:
    task = mg.tasks()["couplet"]()
    sizes = {name: len(pairs) for name, pairs in task.pairs.items()}
    lengths = [len(upper) for pairs in task.pairs.values() for upper, _ in pairs]
    shipped = sizes["train"] + sizes["valid"]
    write("couplet_data.txt",
          f"the shipped {shipped:,} training couplets ({sizes['train']:,} for training and a seeded tenth, "
          f"{sizes['valid']:,}, held out for validation) and the {sizes['test']:,} test couplets, whose upper lines "
          f"are not in training. Lines have {min(lengths)} to {max(lengths)} characters. Characters seen once in "
          f"training are `<unk>`: the vocabulary has {len(task.vocabulary):,} tokens, `<pad>`, `<unk>` and "
          f"{len(task.vocabulary) - 2:,} characters.")  # fmt: skip
    data = task.make_data(None)
    write("couplet_lookup.txt", f"scores {lookup_accuracy(data['train'], data['test']):.3f}")


def lookup_accuracy(train: tuple, test: tuple) -> float:
    """Per-character test accuracy of "answer each upper character with the lower character most
    often at its position in training", a guessed <unk> not counting, as the task's evaluate does."""
    from minigrad_plugins.tasks.couplet import UNKNOWN

    def pairs(split):
        upper, lengths, lower = split
        real = np.arange(upper.shape[1]) < lengths[:, None]
        return upper[real], lower[real]

    upper, lower = pairs(train)
    counts = Counter(zip(upper.tolist(), lower.tolist()))
    answer = {}  # upper token -> its most frequent lower token (ties to the lower token id)
    for (up, low), n in sorted(counts.items()):
        if up not in answer or n > counts[up, answer[up]]:
            answer[up] = low
    fallback = Counter(lower.tolist()).most_common(1)[0][0]  # an upper character never seen in training
    upper, lower = pairs(test)
    guessed = np.array([answer.get(up, fallback) for up in upper.tolist()])
    return float(np.mean((guessed == lower) & (lower != UNKNOWN)))


def acrostic() -> None:
    task = mg.tasks()["acrostic"]()
    sizes = {name: len(rows) for name, rows in task.rows.items()}
    characters = len(task.vocabulary) - 4  # <s>, <unk>, ， and 。
    write("acrostic_data.txt",
          f"the {len(task.poems):,} shipped five-character Tang quatrains, {sizes['train']:,} for training, "
          f"{sizes['valid']:,} for validation and {sizes['test']:,} for the test, drawn at random (seeded). "
          f"Characters seen once in training are `<unk>`: the vocabulary has {len(task.vocabulary):,} tokens, "
          f"`<s>`, `<unk>`, ，, 。 and {characters:,} characters.")  # fmt: skip


def sentiment() -> None:
    task = mg.tasks()["sentiment"]()
    data = task.make_data(np.random.default_rng([task.config.seed, 1]))  # the Trainer's split
    words = [len(words_of(sentence)) for sentence in task.sentences]
    sites = Counter(task.sites)

    def unknown_share(split: str) -> float:
        tokens, lengths = data[split][0], data[split][1]
        real = np.arange(tokens.shape[1]) < lengths[:, None]
        return float(np.mean(tokens[real] == SENTIMENT_UNKNOWN))

    n = {split: len(data[split][2]) for split in ("train", "valid", "test")}
    write("sentiment_data.txt",
          f"the {len(task.sentences):,} review sentences of UCI's \"Sentiment Labelled Sentences\" "
          f"({sites['amazon_cells']:,}, {sites['imdb']:,} and {sites['yelp']:,} from amazon, imdb and yelp; "
          f"{sum(task.labels):,} positive, {len(task.labels) - sum(task.labels):,} negative). Sentences have {min(words)} to {max(words)} words. The split is 80/20, "
          f"stratified by site and label and seeded, with a tenth of the 80% for validation: {n['train']:,} "
          f"training, {n['valid']:,} validation and {n['test']:,} test sentences. The vocabulary is the "
          f"{task.config.words:,} most frequent words of the training sentences (`--words`), the rest are `<unk>` "
          f"({unknown_share('train'):.0%} of training words, {unknown_share('test'):.0%} of test words).")  # fmt: skip
    error = {split: np.sqrt(TYPICAL_ACCURACY * (1 - TYPICAL_ACCURACY) / n[split]) for split in ("valid", "test")}
    write("sentiment_error.txt",
          f"an accuracy near {TYPICAL_ACCURACY} on {n['valid']:,} validation sentences moves by chance by about "
          f"±{error['valid']:.3f} (one standard error), on {n['test']:,} test sentences by ±{error['test']:.3f}.")  # fmt: skip


def main() -> None:
    couplet()
    acrostic()
    sentiment()


if __name__ == "__main__":
    main()
