"""Rebuild the corpora shipped in plugins/tasks/data/ from the raw files in ../shared/data.

    python scripts/build_corpora.py [--shared DIR] [--out DIR]

Each shipped file is a filtered subset of one raw file. The filters are defined in
``minigrad_plugins.tasks.corpora`` (so the package documents what it ships) and applied here.
Files are compressed with gzip level 9, with no file name and a zero time stamp, so every run
writes the same bytes. tests/test_corpora.py checks that the shipped files equal what
:func:`build` makes. Not shipped: this script needs the raw data, which the package does not.
"""

import argparse
import gzip
import hashlib
from pathlib import Path

from minigrad_plugins.tasks.corpora import (
    COUPLET_FILES,
    QUATRAIN_FILE,
    TRANSLATION_FILE,
    is_clean_couplet,
    is_short_pair,
    split_quatrain,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "plugins" / "tasks"  # the shipped names start with "data/"


def raw_lines(path: Path) -> list[str]:
    """The lines of a raw UTF-8 file with LF line endings and a final newline (all three have one)."""
    text = path.read_text("utf-8")
    assert text.endswith("\n") and "\r" not in text, f"{path}: expected LF line endings and a final newline"
    return text[:-1].split("\n")


def translation_lines(shared: Path) -> list[str]:
    """The lines of Tatoeba's ``cmn.txt`` whose English is short, unchanged and in order.

    A line is ``English<TAB>Chinese<TAB>attribution``; the attribution (sentence ids and
    contributors) is kept because CC BY requires crediting the authors.
    """
    lines = raw_lines(shared / "tatoeba_cmn_eng" / "cmn.txt")
    return [line for line in lines if is_short_pair(line.split("\t")[0])]


def quatrain_lines(shared: Path) -> list[str]:
    """The 4x5-character poems of ``wujue_simplified.txt``, first of each duplicate kept,
    written ``HHHHH，HHHHH。HHHHH，HHHHH。`` (the raw file's own form, so it passes through unchanged)."""
    seen, kept = set(), []
    for line in raw_lines(shared / "chinese_poetry_wujue" / "wujue_simplified.txt"):
        poem = split_quatrain(line)
        if poem is None or "".join(poem) in seen:
            continue
        seen.add("".join(poem))
        kept.append("{}，{}。{}，{}。".format(*poem))
    return kept


def couplet_lines(shared: Path) -> dict[str, list[str]]:
    """``upper<TAB>lower`` lines of each split that pass :func:`is_clean_couplet`, without repeats.

    Test pairs whose upper line also occurs in train are dropped, so a model is never tested
    on a line it was trained to answer.
    """
    raw = {
        "train": raw_lines(shared / "couplets" / "couplet_train_20k.tsv"),
        "test": raw_lines(shared / "couplets" / "couplet_test_2k.tsv"),
    }
    kept = {}
    for split in ("train", "test"):
        seen = set()
        kept[split] = []
        for line in raw[split]:
            upper, lower = line.split("\t")
            if is_clean_couplet(upper, lower) and line not in seen:
                seen.add(line)
                kept[split].append(line)
    train_uppers = {line.split("\t")[0] for line in kept["train"]}
    kept["test"] = [line for line in kept["test"] if line.split("\t")[0] not in train_uppers]
    return kept


def build(shared: Path = DEFAULT_SHARED) -> dict[str, bytes]:
    """The uncompressed content of each shipped file, keyed by its name under plugins/tasks/."""
    couplets = couplet_lines(shared)
    lines = {
        TRANSLATION_FILE: translation_lines(shared),
        QUATRAIN_FILE: quatrain_lines(shared),
        COUPLET_FILES["train"]: couplets["train"],
        COUPLET_FILES["test"]: couplets["test"],
    }
    return {name: "".join(line + "\n" for line in kept).encode("utf-8") for name, kept in lines.items()}


def pack(content: bytes) -> bytes:
    """gzip level 9 with mtime 0 and no file name: the same bytes on every run."""
    return gzip.compress(content, compresslevel=9, mtime=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="raw data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="data/... goes here (default: %(default)s)")
    args = parser.parse_args()
    for name, content in build(args.shared).items():
        packed = pack(content)
        (args.out / name).write_bytes(packed)
        lines = content.count(b"\n")
        print(
            f"{name}: {lines:,} lines, {len(content):,} bytes, {len(packed):,} packed\n"
            f"  sha256 packed  {hashlib.sha256(packed).hexdigest()}\n"
            f"  sha256 content {hashlib.sha256(content).hexdigest()}"
        )


if __name__ == "__main__":
    main()
