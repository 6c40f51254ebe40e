"""The encoder–decoder tasks: dates' data, translate's tokens, vocabulary and BLEU, metrics on
stand-in models, reports, a few training steps, and the attention picture of one decoding step."""

from __future__ import annotations

import datetime
import json
import shutil

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli
from minigrad.checkpoint import load, save
from minigrad.nn.seq2seq import BOS, EOS, PAD
from minigrad.train import Trainer
from minigrad_plugins.tasks.dates import formats
from minigrad_plugins.tasks.encoder_decoder import UNK, Vocabulary
from minigrad_plugins.tasks.translate import english_tokens, join_english

DATES = mg.tasks()["dates"]
TRANSLATE = mg.tasks()["translate"]
TINY = {"hidden_size": 8, "embedding_size": 4, "epochs": 1, "batch_size": 32}


class Oracle(mg.nn.Module):
    """A stand-in model whose ``decode`` answers with ``answer(row)`` for each source row."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def decode(self, source, lengths, max_length, beam=1):
        from minigrad.nn.seq2seq import Decoded

        return Decoded([self.answer(tuple(row[:n])) for row, n in zip(source, lengths)])


def oracle_for(task, split_name, wrong_rows=()):
    """Answers each source of ``split_name`` with its true target (or a wrong one for ``wrong_rows``)."""
    split = task.make_data(None)[split_name]
    truth = {}
    for i, (row, n) in enumerate(zip(split[0], split[1])):
        target = task.target_vocab.encode(task.examples[split[4][i]][1])
        truth[tuple(row[:n])] = target[::-1] if i in wrong_rows else target
    return Oracle(lambda source: truth[source]), split


# -- dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [datetime.date(1950, 1, 1), datetime.date(2026, 11, 27), datetime.date(2049, 12, 31)])
def test_every_format_names_the_same_day(day):
    """Each written form holds the day, the month and the year (two digits: 50-99 -> 19yy, 00-49 -> 20yy)."""
    for written in formats(day):
        digits = written.replace(",", " ").replace("/", " ").replace(".", " ").replace("-", " ")
        for mark in "年月日":
            digits = digits.replace(mark, " ")
        numbers = [int(w) for w in digits.split() if w.isdigit()]
        assert day.day in numbers, written
        year = [n for n in numbers if n == day.year or n == day.year % 100]
        assert year, written
        month_written = any(name in written for name in (day.strftime("%B"), day.strftime("%b"), day.strftime("%b").lower()))
        assert month_written or day.month in numbers, written


def test_dates_splits_share_no_written_form_and_repeat_with_the_seed():
    task = DATES(DATES.Config(samples=500))
    sizes = {name: len(pairs) for name, pairs in task.splits.items()}
    assert sizes == {"train": 500, "valid": 1000, "test": 2000}
    written = {name: {"".join(s) for s, _ in pairs} for name, pairs in task.splits.items()}
    assert not (written["train"] & written["test"]) and not (written["valid"] & written["test"])
    for source, target in task.splits["test"][:50]:
        iso = datetime.date.fromisoformat("".join(target))
        assert "".join(source) in formats(iso)
    again = DATES(DATES.Config(samples=500))
    assert again.splits == task.splits
    assert DATES(DATES.Config(samples=500, seed=1)).splits != task.splits


def test_the_arrays_are_padded_with_bos_and_eos_in_place():
    task = DATES(DATES.Config(samples=100))
    sources, lengths, target_in, target_out, rows = task.make_data(None)["train"]
    for i in range(len(sources)):
        source, target = task.examples[rows[i]]
        assert task.source_vocab.decode(sources[i]) == source and lengths[i] == len(source)
        assert np.all(sources[i, lengths[i] :] == PAD)
        assert target_in[i, 0] == BOS and list(target_in[i, 1 : len(target) + 1]) == task.target_vocab.encode(target)
        assert target_out[i, len(target)] == EOS and np.all(target_out[i, len(target) + 1 :] == PAD)


def test_exact_match_counts_whole_outputs():
    task = DATES(DATES.Config(samples=100))
    perfect, split = oracle_for(task, "test")
    assert task.evaluate(perfect, split, "test") == {"exact_match": 1.0}
    some_wrong, split = oracle_for(task, "test", wrong_rows=range(0, 2000, 4))
    assert task.evaluate(some_wrong, split, "test")["exact_match"] == pytest.approx(0.75)


def test_dates_options_are_checked():
    with pytest.raises(ValueError, match="--samples must be"):
        DATES.Config(samples=5)
    with pytest.raises(ValueError, match="--teacher-forcing must be between 0 and 1"):
        DATES.Config(teacher_forcing=1.5)
    with pytest.raises(ValueError, match="--bidirectional"):
        DATES.Config(bidirectional=True)


@pytest.mark.parametrize("context", ["init", "every-step", "attention"])
def test_dates_trains_and_writes_its_reports(tmp_path, context):
    task = DATES(DATES.Config(samples=128, context=context, **TINY))
    metrics = Trainer(task, tmp_path, progress=False).fit()
    assert 0 <= metrics["exact_match"] <= 1
    assert (tmp_path / "examples.txt").read_text("utf-8").count("reference:") == 12
    assert (tmp_path / "attention.png").exists() == (context == "attention")


@pytest.mark.parametrize("summary", ["map-last", "map-mean"])
def test_a_learned_context_trains_from_the_command_line_and_evaluates_the_same(tmp_path, capsys, summary):
    out = str(tmp_path / "run")
    args = ["--samples", "128", "--hidden-size", "8", "--embedding-size", "4", "--epochs", "1", "--context", "init"]
    assert cli.main(["train", "dates", *args, "--summary", summary, "--out", out, "--quiet"]) == 0
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())
    checkpoint = tmp_path / "run" / "model.safetensors"
    state, metadata = load(checkpoint)
    assert metadata["config"]["summary"] == summary and "g.weight" in state
    capsys.readouterr()
    assert cli.main(["eval", "dates", "--checkpoint", str(checkpoint)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["exact_match"] == trained["exact_match"]


@pytest.mark.parametrize("context", ["init", "every-step"])
def test_a_checkpoint_from_before_summary_existed_loads_and_evaluates_the_same(tmp_path, capsys, context):
    """Written before --summary: its config has no such key and its model no g. It reads as c = h_T:
    the same logits as the model that wrote it, and the same exact match from `minigrad eval`."""
    task = DATES(DATES.Config(samples=128, context=context, **TINY))
    trainer = Trainer(task, tmp_path, progress=False)
    trained = trainer.fit()
    state, metadata = load(tmp_path / "model.safetensors")
    del metadata["config"]["summary"]
    kept = {k: v for k, v in metadata.items() if k not in ("format", "minigrad_version")}  # save writes these
    older = save(state, tmp_path / "older.safetensors", kept)
    _, model = cli._task_from_checkpoint("eval", "dates", str(older))
    sources, lengths, target_in = (a[:16] for a in task.make_data(None)["test"][:3])
    with mg.no_grad():
        logits = [m(sources, lengths, target_in).data for m in (model, trainer.model.eval())]
    np.testing.assert_array_equal(logits[0], logits[1])
    assert cli.main(["eval", "dates", "--checkpoint", str(older)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["exact_match"] == trained["exact_match"]


# -- translate --------------------------------------------------------------------------------------


def test_english_tokens_and_join_round_trip():
    tokens = english_tokens("Tom's here, isn't he?")
    assert tokens == ["tom's", "here", ",", "isn't", "he", "?"]
    assert join_english(tokens) == "tom's here, isn't he?"


def test_vocabulary_reserves_the_special_ids_and_maps_the_unknown():
    vocab = Vocabulary(["b", "a", "b"])
    assert vocab.tokens[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and len(vocab) == 6
    assert vocab.encode(["a", "zzz"]) == [4, UNK]
    assert vocab.decode([BOS, 4, 5, EOS, PAD]) == ["a", "b"]


@pytest.fixture
def pairs_file(tmp_path):
    rng = np.random.default_rng(0)
    words = {"我": "i", "你": "you", "他": "he", "好": "good", "走": "go"}
    lines = []
    for _ in range(60):
        chosen = list(rng.choice(list(words), 3))
        lines.append(" ".join(words[c] for c in chosen) + ".\t" + "".join(chosen) + "。")
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_translate_reads_a_users_file_and_keeps_rare_words_out_of_the_vocabulary(pairs_file):
    task = TRANSLATE(TRANSLATE.Config(data=str(pairs_file), min_count=1000))
    assert {name: len(p) for name, p in task.splits.items()} == {"train": 48, "valid": 6, "test": 6}
    assert task.target_vocab.tokens == ["<pad>", "<bos>", "<eos>", "<unk>"]  # no word seen 1000 times
    kept = TRANSLATE(TRANSLATE.Config(data=str(pairs_file)))
    assert {"i", "you", "he", "good", "go", "."} <= set(kept.target_vocab.tokens)


def test_bleu_is_100_for_the_truth_and_lower_otherwise(pairs_file):
    pytest.importorskip("sacrebleu")
    task = TRANSLATE(TRANSLATE.Config(data=str(pairs_file)))
    perfect, split = oracle_for(task, "test")
    assert task.evaluate(perfect, split, "test")["bleu"] == pytest.approx(100.0)
    wrong, split = oracle_for(task, "test", wrong_rows=range(3))
    assert task.evaluate(wrong, split, "test")["bleu"] < 100.0


def test_translate_trains_a_little_and_generates(tmp_path, pairs_file):
    pytest.importorskip("sacrebleu")
    config = TRANSLATE.Config(data=str(pairs_file), **TINY)
    trainer = Trainer(TRANSLATE(config), tmp_path, progress=False)
    metrics = trainer.fit()
    assert 0 <= metrics["bleu"] <= 100
    text = TRANSLATE(config).generate(trainer.model.eval(), "我好", 20, 0.0, np.random.default_rng(0))
    assert isinstance(text, str) and "<pad>" not in text and "<bos>" not in text


def test_translate_refuses_a_missing_or_malformed_file(tmp_path, capsys):
    assert cli.main(["train", "translate", "--data", str(tmp_path / "nope.tsv"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.tsv" in capsys.readouterr().err
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one column\n", "utf-8")
    assert cli.main(["train", "translate", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.tsv: line 1" in capsys.readouterr().err


# -- the picture of one decoding step ---------------------------------------------------------------


@pytest.mark.skipif(shutil.which("dot") is None and not __import__("os").environ.get("CI"), reason="Graphviz missing")
def test_graph_draws_one_decoding_steps_attention(tmp_path, capsys):
    out = tmp_path / "attention.dot"
    assert cli.main(["graph", "dates", "--hidden-size", "2", "--attention-step", "2", "-o", str(out)]) == 0
    text = out.read_text()
    assert "softmax" in text and "attention.score.weight" in text and "t = 2" in text
    assert "t = 3 · decoder" not in text  # later decoding steps are not part of c_2
    assert cli.main(["graph", "dates", "--hidden-size", "2", "--attention-step", "99", "-o", str(out)]) == 2
    assert "no attention at decoding step 99" in capsys.readouterr().err


def test_options_a_task_does_not_use_are_not_offered(tmp_path, capsys):
    assert cli.main(["train", "dates", "--steps", "5", "--out", str(tmp_path)]) == 2
    assert "--steps" in capsys.readouterr().err
    help_text = cli.task_parser(DATES, "minigrad train dates").format_help()
    assert "--context" in help_text and "--summary" in help_text and "--steps" not in help_text and "--bidirectional" not in help_text
