"""Dates as people write them -> ISO 8601: many-to-many of unequal length, read and written
one character at a time by an encoder–decoder.

"27 Nov 2026", "November 27, 2026", "2026年11月27日" and "11/27/26" all become
"2026-11-27". The dates are drawn at random between 1950 and 2049 (so a two-digit year
is read as 19yy from 50 up and 20yy below 50), each in one of the formats below; the
2,000 held-out test dates share no written form with the training data. The metric is
exact match: the whole output must be right.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option
from minigrad_plugins.tasks.encoder_decoder import EncoderDecoderTask

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
FIRST, DAYS = datetime.date(1950, 1, 1), (datetime.date(2049, 12, 31) - datetime.date(1950, 1, 1)).days + 1


def formats(d: datetime.date) -> list[str]:
    """Every way this task writes a date."""
    month, short = MONTHS[d.month - 1], MONTHS[d.month - 1][:3]
    yy = f"{d.year % 100:02d}"
    return [
        f"{d.day} {short} {d.year}",  # 27 Nov 2026
        f"{d.day} {month} {d.year}",  # 27 November 2026
        f"{month} {d.day}, {d.year}",  # November 27, 2026
        f"{short} {d.day}, {d.year}",  # Nov 27, 2026
        f"{short.lower()} {d.day} {d.year}",  # nov 27 2026
        f"{d.year}年{d.month}月{d.day}日",  # 2026年11月27日
        f"{d.month}/{d.day}/{yy}",  # 11/27/26
        f"{d.month:02d}/{d.day:02d}/{d.year}",  # 11/27/2026
        f"{d.day:02d}.{d.month:02d}.{d.year}",  # 27.11.2026
        f"{d.day}-{short}-{yy}",  # 27-Nov-26
        f"{d.strftime('%A')}, {month} {d.day}, {d.year}",  # Friday, November 27, 2026
    ]


class Dates(EncoderDecoderTask):
    name = "dates"
    main_metric = "exact_match"
    target = 1.0

    @dataclass
    class Config(EncoderDecoderTask.Config):
        samples: int = option(20000, "training dates (validation: 1,000; test: 2,000)")
        epochs: int = option(20, "passes over the training dates (at most, with early stopping)")

        def __post_init__(self) -> None:
            super().__post_init__()
            mg.task.require(self, "samples", 100 <= self.samples <= 30000, "between 100 and 30,000")

    def pairs(self, rng):
        """Unique written dates, split so that no written form is in two splits."""
        sizes = {"train": self.config.samples, "valid": 1000, "test": 2000}
        seen, splits = set(), {name: [] for name in sizes}
        for name, size in sizes.items():
            while len(splits[name]) < size:
                day = FIRST + datetime.timedelta(days=int(rng.integers(DAYS)))
                options = formats(day)
                written = options[int(rng.integers(len(options)))]
                if written not in seen:
                    seen.add(written)
                    splits[name].append((list(written), list(day.isoformat())))
        return splits

    def evaluate(self, model, split, name):
        outputs, _ = self.translate(model, split)
        right = [output == reference for output, reference in zip(outputs, self.references(split))]
        return {"exact_match": float(np.mean(right))}


@mg.hookimpl
def minigrad_tasks():
    return [Dates]
