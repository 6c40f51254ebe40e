"""The shipped corpora (translation pairs, quatrains, couplets): well-formed, filtered as
documented, a user's own file read or refused with a clear message, and equal to what
scripts/build_corpora.py builds from the raw data.

The raw data is not shipped. It is looked for in ``../shared/data`` beside the repository
and in ``/work/shared/data``; without it the rebuild comparison is skipped.
"""

import gzip
import importlib.util
import re
from importlib import resources
from pathlib import Path

import pytest

from minigrad_plugins.tasks import corpora

ROOT = Path(__file__).resolve().parents[1]
RAW_DIRS = [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
SHIPPED = [corpora.TRANSLATION_FILE, corpora.QUATRAIN_FILE, *corpora.COUPLET_FILES.values()]


def shipped_text(name):
    return gzip.decompress(resources.files(corpora.PACKAGE).joinpath(name).read_bytes()).decode("utf-8")


def write(tmp_path, text, name="mine.txt"):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# --- the shipped data -------------------------------------------------------------------------


def test_translation_pairs():
    pairs = corpora.read_translation_pairs()
    assert len(pairs) == 16013
    assert pairs[0] == ("嗨。", "Hi.")
    assert all(chinese and english for chinese, english in pairs)
    assert all(corpora.is_short_pair(english) for _, english in pairs)
    assert max(len(english.split()) for _, english in pairs) == corpora.MAX_ENGLISH_WORDS


def test_translation_file_keeps_the_attribution_of_every_line():
    lines = shipped_text(corpora.TRANSLATION_FILE).removesuffix("\n").split("\n")
    credit = re.compile(r"CC-BY 2\.0 \(France\) Attribution: tatoeba\.org #\d+ \(.+\) & #\d+ \(.+\)")
    assert all(credit.fullmatch(line.split("\t")[2]) for line in lines)


def test_quatrains():
    poems = corpora.read_quatrains()
    assert len(poems) == 3702
    assert all(len(poem) == 4 and all(len(line) == 5 for line in poem) for poem in poems)
    assert all(corpora.HAN_ONLY.match("".join(poem)) for poem in poems)
    assert len({"".join(poem) for poem in poems}) == len(poems)  # no duplicates
    assert ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"] in poems


@pytest.mark.parametrize("split, count", [("train", 11824), ("test", 1122)])
def test_couplets(split, count):
    pairs = corpora.read_couplets(split)
    assert len(pairs) == count == len(set(pairs))
    assert all(corpora.is_clean_couplet(upper, lower) for upper, lower in pairs)
    assert all(len(upper) == len(lower) and 4 <= len(upper) <= 10 for upper, lower in pairs)
    assert not any(corpora.blocked_terms(upper + "\t" + lower) for upper, lower in pairs)


def test_couplet_test_split_has_no_upper_line_of_train():
    train_uppers = {upper for upper, _ in corpora.read_couplets("train")}
    assert not any(upper in train_uppers for upper, _ in corpora.read_couplets("test"))
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        corpora.read_couplets("valid")


# --- the filters --------------------------------------------------------------------------------


def test_couplet_filter():
    assert corpora.is_clean_couplet("晚风摇树树还挺", "晨露润花花更红")
    assert corpora.is_clean_couplet("炊烟撩起思乡味", "淫雨萦怀恋市情")  # 淫雨 is long rain: not blocked
    assert not corpora.is_clean_couplet("晚风摇树树还挺", "晨露润花花更")  # unequal lengths
    assert not corpora.is_clean_couplet("风弦未拨，心乱", "夜幕已沉，梦闲")  # punctuation
    assert not corpora.is_clean_couplet("葛", "瓜")  # too short
    assert not corpora.is_clean_couplet("花花公子吃花酒", "浪浪暗娼爱浪人")  # blocklist: 娼
    assert corpora.blocked_terms("偷情小插曲") == ["偷情"]


def test_quatrain_filter():
    spring_dawn = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]
    assert corpora.split_quatrain("春眠不觉晓 处处闻啼鸟\n夜来风雨声？花落知多少") == spring_dawn  # any separators
    assert corpora.split_quatrain("床前明月光，疑是地上霜。举头望明月，低头思故乡") is not None
    assert corpora.split_quatrain("白日依山尽，黄河入海流。") is None  # 2 lines
    seven = "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    assert corpora.split_quatrain(seven) is None  # 7 characters a line


# --- a user's own file (--data FILE) ----------------------------------------------------------


def test_user_files_are_read(tmp_path):
    # a byte-order mark, CRLF line ends, blank lines and spaces around fields are all fine
    pairs = write(tmp_path, "\ufeffHi.\t嗨。\r\n\r\nRun! \t 快跑！\tCC-BY 2.0 (France) Attribution: ...\r\n")
    assert corpora.read_translation_pairs(pairs) == [("嗨。", "Hi."), ("快跑！", "Run!")]
    poems = write(tmp_path, "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n")
    assert corpora.read_quatrains(str(poems)) == [["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]]
    couplets = write(tmp_path, "一句相思吟岁月\t千杯美酒醉风情\n")
    assert corpora.read_couplets(path=couplets) == [("一句相思吟岁月", "千杯美酒醉风情")]


def read_couplet_file(path):
    return corpora.read_couplets(path=path)


@pytest.mark.parametrize(
    "read, text, expected",
    [
        (corpora.read_translation_pairs, "Hi.\t嗨。\nno tab\n", "expected 'English<TAB>Chinese' or .*, got 1 field$"),
        (corpora.read_translation_pairs, "Hi.\t嗨。\nHi.\t\n", "expected .*, got an empty field$"),
        (corpora.read_quatrains, "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n白日依山尽。\n", "expected a quatrain"),
        (read_couplet_file, "晚风\t晨露\n一\t二\t三\n", "expected 'upper<TAB>lower', got 3 fields$"),
        (read_couplet_file, "晚风\t晨露\n晚风摇\t晨露\n", "expected 'upper<TAB>lower' of equal length, got 3 and 2"),
    ],
)
def test_malformed_user_files_are_refused_with_the_line(tmp_path, read, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: line 2: {expected}"):
        read(path)


def test_missing_or_undecodable_user_file(tmp_path):
    missing = tmp_path / "nowhere.tsv"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        corpora.read_couplets(path=missing)
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("Hi.\t嗨。\n".encode("utf-8") + "café\tcoffee\n".encode("latin-1"))
    with pytest.raises(ValueError, match=f"^{re.escape(str(latin1))}: line 2: expected UTF-8 text"):
        corpora.read_translation_pairs(latin1)


# --- the shipped files are what the build script makes ----------------------------------------


def load_build_script():
    spec = importlib.util.spec_from_file_location("build_corpora", ROOT / "scripts" / "build_corpora.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_equal_the_build():
    raw = next((folder for folder in RAW_DIRS if (folder / "tatoeba_cmn_eng" / "cmn.txt").is_file()), None)
    if raw is None:
        pytest.skip("raw data not found in " + ", ".join(map(str, RAW_DIRS)))
    build = load_build_script()
    built = build.build(raw)
    assert sorted(built) == sorted(SHIPPED)
    for name, content in built.items():
        assert shipped_text(name).encode("utf-8") == content, f"{name}: rerun scripts/build_corpora.py"
        shipped = resources.files(corpora.PACKAGE).joinpath(name).read_bytes()
        assert shipped == build.pack(content), f"{name}: same content, other gzip bytes (another zlib?)"
