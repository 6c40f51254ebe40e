"""Three Chinese corpora for sequence-to-sequence and generation tasks, shipped in ``data/``.

- ``read_translation_pairs()``: 16,013 (chinese, english) sentence pairs from Tatoeba,
  ``data/tatoeba_cmn_eng_short.tsv.gz`` (task ``translate``);
- ``read_quatrains()``: 3,702 five-character Tang quatrains, each 4 lines of 5 characters,
  ``data/wujue_quatrains.txt.gz`` (task ``acrostic``);
- ``read_couplets(split)``: 11,824 train / 1,122 test (upper, lower) couplets of equal length,
  ``data/couplets_{train,test}.tsv.gz`` (task ``couplet``).

Each loader reads its shipped file when called without a path, or a user's own file
(a task's ``--data FILE``) in the same format. The shipped files are filtered subsets of
raw files; the filters are defined below and were applied once, by
``scripts/build_corpora.py``, which rebuilds the shipped files from the raw ones bit for
bit. A user's file is not filtered, only checked: a malformed line raises ``ValueError``
naming the file and the line. Origins, licences, filters and counts: ``data/SOURCES.md``.
"""

import gzip
from collections import Counter
import os
import re
from importlib import resources
from pathlib import Path

PACKAGE = "minigrad_plugins.tasks"
TRANSLATION_FILE = "data/tatoeba_cmn_eng_short.tsv.gz"
QUATRAIN_FILE = "data/wujue_quatrains.txt.gz"
COUPLET_FILES = {"train": "data/couplets_train.tsv.gz", "test": "data/couplets_test.tsv.gz"}

# A Chinese character: the CJK unified ideographs (basic block and extension A), the
# compatibility ideographs, and planes 2-3, where the rare characters of old poems live.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
HAN_RUN = re.compile(f"[{HAN}]+")
HAN_ONLY = re.compile(f"[{HAN}]+\\Z")

# ---------------------------------------------------------------------------------------------
# The filters that made the shipped files. scripts/build_corpora.py applies them to the raw
# data; tests/test_corpora.py checks the shipped files against them.
# ---------------------------------------------------------------------------------------------

# Translation: short sentences only, so a small encoder-decoder learns them on a CPU in minutes.
# Counted in English words (split at spaces) because the English length decides the decoder's steps.
MAX_ENGLISH_WORDS = 6


def is_short_pair(english: str) -> bool:
    """Keep a Tatoeba pair whose English sentence has at most ``MAX_ENGLISH_WORDS`` words."""
    return len(english.split()) <= MAX_ENGLISH_WORDS


# Quatrains: a five-character quatrain (五言绝句) is 4 lines of exactly 5 characters.
def split_quatrain(text: str) -> list[str] | None:
    """The 4 lines of a quatrain written on one line, e.g. ``春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。``.

    Anything that is not a Chinese character separates lines (so the punctuation goes).
    Returns None unless there are exactly 4 lines of exactly 5 characters.
    """
    lines = HAN_RUN.findall(text)
    return lines if len(lines) == 4 and all(len(line) == 5 for line in lines) else None


# Couplets: the upper and lower lines have equal length, as a couplet must.
COUPLET_LENGTHS = range(4, 11)  # 4 to 10 characters: the classic 5- and 7-character lines, 4-character idioms

# Written for this project: clearly sexual words, profanity and insults, slurs (rationale in
# data/SOURCES.md). Mostly whole words, because many of their characters alone have ordinary
# classical meanings that couplets use: 淫雨 (long rain), 离骚, 忠奸, 跪乳 (a lamb's filial
# kneeling), 老子 (Laozi). Single characters are listed only where they have no ordinary use.
COUPLET_BLOCKLIST = (
    # sexual
    "屌", "肏", "屄", "婊", "嫖", "娼", "睾", "鸡巴", "阴茎", "阴道", "阴户", "阳具", "乳房", "奶子",
    "性交", "做爱", "交媾", "强奸", "轮奸", "卖淫", "妓女", "淫荡", "荡妇", "裸体", "裸奔", "春药",
    "三陪", "偷情", "色狼", "二奶", "泡妞",
    # profanity and insults
    "傻逼", "牛逼", "装逼", "他妈", "妈的", "操你", "日你", "狗日", "王八", "龟孙", "杂种", "贱人",
    "鸟人", "狗屁", "放屁", "屎", "扯蛋", "脑残", "白痴",
    # slurs
    "鬼子", "支那", "黑鬼", "娘炮",
)


def blocked_terms(text: str) -> list[str]:
    """The blocklist terms that occur in ``text`` (none, for a clean line)."""
    return [term for term in COUPLET_BLOCKLIST if term in text]


def is_clean_couplet(upper: str, lower: str) -> bool:
    """Keep a couplet whose lines have equal length in ``COUPLET_LENGTHS``, only Chinese
    characters (no punctuation, so one clause per line) and no blocklist term."""
    return (
        len(upper) == len(lower)
        and len(upper) in COUPLET_LENGTHS
        and all(HAN_ONLY.match(line) and not blocked_terms(line) for line in (upper, lower))
    )


# ---------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------


def read_translation_pairs(path: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(chinese, english) sentence pairs, in the file's order.

    Without ``path``: the shipped Tatoeba pairs whose English has at most 6 words, e.g.
    ``("嗨。", "Hi.")``. The Chinese mixes simplified and traditional characters, as Tatoeba does.

    With ``path``: a UTF-8 file of ``English<TAB>Chinese`` lines (note the order: English
    first), optionally with a third, attribution column as in manythings.org's ``cmn.txt``,
    which is read as it is. The attribution is not returned; it stays with the file.
    """
    text, where = read_source(TRANSLATION_FILE, path)
    rows = tab_rows(text, where, (2, 3), "'English<TAB>Chinese' or 'English<TAB>Chinese<TAB>attribution'")
    return [(chinese, english) for _number, (english, chinese, *_attribution) in rows]


def read_quatrains(path: str | os.PathLike | None = None) -> list[list[str]]:
    """Five-character quatrains, each a list of its 4 lines of 5 Chinese characters (no punctuation).

    Without ``path``: the 3,702 shipped poems from 全唐诗, simplified characters, no two alike.
    With ``path``: a UTF-8 file with one poem per line, such as
    ``春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。`` (any punctuation or spaces between lines).
    """
    text, where = read_source(QUATRAIN_FILE, path)
    poems = []
    for number, line in numbered_lines(text):
        poem = split_quatrain(line)
        if poem is None:
            raise ValueError(f"{where}: line {number}: expected a quatrain of 4 lines of 5 Chinese characters")
        poems.append(poem)
    return poems


def read_couplets(split: str = "train", path: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(upper, lower) couplet lines of equal length.

    Without ``path``: the shipped ``split``, "train" (11,824 pairs) or "test" (1,122 pairs,
    none of whose upper lines is in train). With ``path``: a UTF-8 file of ``upper<TAB>lower``
    lines of equal length; ``split`` is then ignored.
    """
    if split not in COUPLET_FILES:
        raise ValueError(f"couplets: split must be 'train' or 'test', not {split!r}")
    text, where = read_source(COUPLET_FILES[split], path)
    pairs = []
    for number, (upper, lower) in tab_rows(text, where, (2,), "'upper<TAB>lower'"):
        if len(upper) != len(lower):
            raise ValueError(
                f"{where}: line {number}: expected 'upper<TAB>lower' of equal length, "
                f"got {len(upper)} and {len(lower)} characters"
            )
        pairs.append((upper, lower))
    return pairs


# ---------------------------------------------------------------------------------------------
# Reading files: the shipped ones and a user's, with one clear error per bad line
# ---------------------------------------------------------------------------------------------


def frequent_characters(texts, min_count: int) -> list[str]:
    """The characters seen at least ``min_count`` times in ``texts``, most frequent first (ties in
    character order): the vocabulary of a character model, the rest read as unknown."""
    counts = Counter(c for text in texts for c in text)
    return sorted((c for c in counts if counts[c] >= min_count), key=lambda c: (-counts[c], c))


def read_source(shipped: str, path: str | os.PathLike | None) -> tuple[str, str]:
    """(text, name for error messages) of a user's file if ``path`` is given, else of the shipped file."""
    if path is not None:
        return read_user_file(path), str(path)
    packed = resources.files(PACKAGE).joinpath(shipped).read_bytes()
    return gzip.decompress(packed).decode("utf-8"), shipped


def read_user_file(path: str | os.PathLike) -> str:
    """The text of a user's UTF-8 file (a byte-order mark, if any, is dropped)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        number = data.count(b"\n", 0, error.start) + 1
        raise ValueError(f"{path}: line {number}: expected UTF-8 text") from None


def numbered_lines(text: str):
    """(line number, line) for each line that is not blank, counting from 1.

    Splits at ``\\n`` only (and drops a ``\\r`` before it), not with ``str.splitlines``, which
    would also split at characters such as U+2028 that may occur inside a sentence.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip():
            yield number, line


def tab_rows(text: str, where: str, field_counts: tuple[int, ...], layout: str):
    """(line number, fields) of TAB-separated lines; each line has one of ``field_counts``
    fields, none of them empty. ``layout`` describes a good line for the error message."""
    for number, line in numbered_lines(text):
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) not in field_counts or not all(fields):
            count = f"{len(fields)} field" + "s" * (len(fields) != 1)
            got = "an empty field" if len(fields) in field_counts else count
            raise ValueError(f"{where}: line {number}: expected {layout}, got {got}")
        yield number, fields
