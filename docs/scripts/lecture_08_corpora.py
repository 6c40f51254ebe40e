"""Page 8's facts about the tasks' data, counted from the data, into docs/images/08/:

- date_formats.txt: the ways the dates task writes one date (the source side), and its target;
- translate_corpus.txt: how many Tatoeba pairs translate learns, and its longest English (words
  separated by spaces);
- acrostic_corpus.txt: how many quatrains acrostic learns, and how they are split.

    .venv/bin/python docs/scripts/lecture_08_corpora.py      (or: make docs-images)

Seconds, no training. The two corpus files are one sentence each, which the page includes as
a paragraph.
"""

import datetime
from pathlib import Path

from minigrad_plugins.tasks.corpora import read_translation_pairs
from minigrad_plugins.tasks.dates import DAYS, FIRST, formats

import minigrad as mg
from minigrad.io import write_atomically

OUT = Path(__file__).resolve().parents[2] / "docs" / "images" / "08"
EXAMPLE = datetime.date(2026, 11, 27)


def write(name: str, lines: list[str]) -> None:
    write_atomically(OUT / name, "\n".join([*lines, ""]).encode())
    print(f"wrote {OUT / name}")


def main() -> None:
    written = formats(EXAMPLE)
    last = FIRST + datetime.timedelta(days=DAYS - 1)
    year_last = sum(text.rstrip().endswith((str(EXAMPLE.year), f"{EXAMPLE.year % 100:02d}")) for text in written)
    heading = (f"{len(written)} ways to write a date between {FIRST:%d %B %Y} and {last:%d %B %Y}; "
               f"{year_last} of them write the year last. For {EXAMPLE.isoformat()}:")  # fmt: skip
    write("date_formats.txt", [heading, "", *(f"  {text}" for text in written)])

    pairs = read_translation_pairs()  # (chinese, english), as shipped
    longest = max(len(english.split()) for _, english in pairs)
    write(
        "translate_corpus.txt",
        [f"It learns {len(pairs):,} short sentence pairs from Tatoeba, whose English has at most {longest} words."],
    )

    acrostic = mg.tasks()["acrostic"]()
    sizes = {name: len(rows) for name, rows in acrostic.rows.items()}
    sentence = (f"It learns {len(acrostic.poems):,} Tang quatrains: {sizes['train']:,} for training, "
                f"{sizes['valid']:,} for validation and {sizes['test']:,} for the test.")  # fmt: skip
    write("acrostic_corpus.txt", [sentence])


if __name__ == "__main__":
    main()
