"""The couplet and acrostic tasks: data, splits and padding masks, the acrostic form kept by
decoding whatever the model wants, bad prompts and --data files refused in one line, metrics
on stand-in models, the unigram baselines, and a few training steps through the Trainer."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli
from minigrad.train import Trainer
from minigrad_plugins.tasks.acrostic import FORM_SAMPLES, LINE_ENDS, SPECIALS, keeps_form
from minigrad_plugins.tasks.corpora import HAN_ONLY, read_couplets, read_quatrains

COUPLET = mg.tasks()["couplet"]
ACROSTIC = mg.tasks()["acrostic"]
TINY = {"hidden_size": 8, "embedding_size": 4}  # models small enough to train in a test


class StandIn(mg.nn.Module):
    """A 'model' whose scores are ``answer(tokens)``, returned with the state as the acrostic's
    language model does."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def forward(self, tokens, state=None):
        return mg.tensor(self.answer(np.asarray(tokens))), state


class CoupletStandIn(StandIn):
    def forward(self, tokens, lengths):
        return mg.tensor(self.answer(np.asarray(tokens)))


def oracle(inputs, targets, vocabulary):
    """Scores that put everything on the true next token, for the rows of ``inputs`` asked for
    in order (as evaluate asks, part by part); uniform scores for any later question."""
    asked = [0]

    def answer(tokens):
        start, steps = asked[0], tokens.shape[1]
        if start >= len(inputs):  # e.g. the acrostics written for form_rate
            return np.zeros((*tokens.shape, vocabulary))
        asked[0] += len(tokens)
        assert (tokens == inputs[start : start + len(tokens), :steps]).all()
        return np.eye(vocabulary)[targets[start : start + len(tokens), :steps]] * 50.0

    return answer


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def quatrain_file(path, count=20):
    poems = read_quatrains()[:count]
    return write_lines(path, ["".join(f"{line}{'，。'[i % 2]}" for i, line in enumerate(poem)) for poem in poems])


def couplet_file(path, count=30):
    return write_lines(path, [f"{upper}\t{lower}" for upper, lower in read_couplets("train")[:count]])


@pytest.fixture(scope="module")
def acrostic():
    task = ACROSTIC(ACROSTIC.Config(**TINY))
    return task, task.make_data(np.random.default_rng([0, 1]))


@pytest.fixture(scope="module")
def couplet():
    task = COUPLET(COUPLET.Config(**TINY))
    return task, task.make_data(np.random.default_rng([0, 1]))


# -- acrostic: data ---------------------------------------------------------------------------------


def test_acrostic_poems_become_25_tokens_and_splits_are_disjoint(acrostic):
    """<s>, then each line's 5 characters and its punctuation; 80/10/10 of the 3,702 poems, each once."""
    task, data = acrostic
    rows = np.concatenate([task.rows[name] for name in ("train", "valid", "test")])
    assert sorted(rows) == list(range(len(task.poems))) == list(range(3702))
    assert [len(task.rows[name]) for name in ("train", "valid", "test")] == [2961, 370, 371]
    poem = task.poems[task.rows["test"][0]]
    (tokens,) = data["test"]
    assert tokens.shape == (371, 25) and tokens[0, 0] == 0
    expected = [c if c in task.index else "<unk>" for line, end in zip(poem, LINE_ENDS) for c in [*line, SPECIALS[end]]]
    assert [task.vocabulary[i] for i in tokens[0, 1:]] == expected


def test_acrostic_vocabulary_comes_from_training_poems_only(acrostic):
    task, _ = acrostic
    counts = Counter(c for i in task.rows["train"] for line in task.poems[i] for c in line)
    characters = task.vocabulary[len(SPECIALS) :]
    assert set(characters) == {c for c, n in counts.items() if n >= task.config.min_count}
    held_out_only = {c for i in task.rows["test"] for line in task.poems[i] for c in line} - set(counts)
    assert held_out_only and not held_out_only & set(task.index)  # they are <unk>


def test_acrostic_unigram_baseline_is_add_one_training_frequencies(tmp_path):
    task = ACROSTIC(ACROSTIC.Config(data=quatrain_file(tmp_path / "poems.txt"), min_count=1, **TINY))
    data = task.make_data(None)
    targets = Counter(token for row in data["train"][0] for token in row[1:])
    size = len(task.vocabulary) - 1  # every token but <s> can be a target
    total = sum(targets.values()) + size
    held_out = data["test"][0][:, 1:].ravel()
    by_hand = math.exp(-np.mean([math.log((targets[t] + 1) / total) for t in held_out]))
    uniform = StandIn(lambda tokens: np.zeros((*tokens.shape, len(task.vocabulary))))
    metrics = task.evaluate(uniform, data["test"], "test")
    assert metrics["unigram_perplexity"] == pytest.approx(by_hand, rel=1e-12)
    assert targets[task.index["，"]] == targets[task.index["。"]] == 2 * len(data["train"][0])


# -- acrostic: metrics on stand-ins ------------------------------------------------------------------


def test_acrostic_metrics_on_stand_in_models(acrostic):
    """Uniform scores: perplexity = vocabulary size. The unigram's own scores: its perplexity.
    An oracle: perplexity 1, accuracy = the share of targets that are not <unk>."""
    task, data = acrostic
    split = (tokens,) = (data["test"][0][:60],)  # a part of the test poems: the scores are large
    size = len(task.vocabulary)
    uniform = task.evaluate(StandIn(lambda t: np.zeros((*t.shape, size))), split, "test")
    assert uniform["perplexity"] == pytest.approx(size) and uniform["neg_perplexity"] == -uniform["perplexity"]
    counts = StandIn(lambda t: np.broadcast_to(np.log(task.unigram + 1e-300), (*t.shape, size)))
    unigram = task.evaluate(counts, split, "test")
    assert unigram["perplexity"] == pytest.approx(unigram["unigram_perplexity"], rel=1e-9)
    perfect = task.evaluate(StandIn(oracle(tokens[:, :-1], tokens[:, 1:], size)), split, "test")
    assert perfect["perplexity"] == pytest.approx(1.0, abs=1e-9)
    assert perfect["accuracy"] == pytest.approx(np.mean(tokens[:, 1:] != 1)) and perfect["accuracy"] < 1.0


# -- acrostic: the form -----------------------------------------------------------------------------


def assert_acrostic(text, heads):
    lines = text.split("\n")
    assert len(lines) == 4, text
    for line, head, end in zip(lines, heads, LINE_ENDS):
        assert len(line) == 6 and line[-1] == SPECIALS[end] and keeps_form(line[:-1], head), text
        assert HAN_ONLY.match(line[:-1]), text


@pytest.mark.parametrize("temperature", [0.0, 1.0, 3.0])
def test_acrostic_untrained_model_still_writes_the_form(acrostic, temperature):
    task, _ = acrostic
    mg.manual_seed(3)
    model = task.build_model().eval()
    with mg.no_grad():
        text = task.generate(model, "春夏秋冬", 20, temperature, np.random.default_rng(0))
    assert_acrostic(text, "春夏秋冬")


def test_acrostic_form_holds_even_when_the_model_wants_only_markers_and_punctuation(acrostic):
    """Scores that prefer <s>, <unk>, ，and 。 above every character: decoding never takes them."""
    task, data = acrostic

    def answer(tokens):
        scores = np.zeros((*tokens.shape, len(task.vocabulary)))
        scores[..., : len(SPECIALS)] = 40.0
        return scores

    with mg.no_grad():
        for temperature in (0.0, 1.0):
            text = task.generate(StandIn(answer), "春夏秋冬", 20, temperature, np.random.default_rng(1))
            assert_acrostic(text, "春夏秋冬")
        assert task.evaluate(StandIn(answer), (data["valid"][0][:FORM_SAMPLES],), "valid")["form_rate"] == 1.0


def test_keeps_form_checks_length_head_and_characters():
    assert keeps_form("春眠不觉晓", "春")
    assert not keeps_form("春眠不觉晓", "夏")
    assert not keeps_form("春眠不觉", "春") and not keeps_form("春眠不觉晓晓", "春")
    assert not keeps_form("春眠a觉晓", "春") and not keeps_form("春眠，觉晓", "春")


@pytest.mark.parametrize("prompt, words", [
    ("春夏秋", "4 characters"), ("春夏秋冬天", "4 characters"), ("", "4 characters"),
    ("春夏秋a", "'a' not in the poems' vocabulary"), ("春，秋冬", "'，' not in the poems' vocabulary"),
])  # fmt: skip
def test_acrostic_bad_prompts_are_refused_clearly(acrostic, prompt, words):
    task, _ = acrostic
    with pytest.raises(ValueError, match=words):
        task.generate(StandIn(lambda t: np.zeros((*t.shape, len(task.vocabulary)))), prompt, 20, 1.0, None)


# -- couplet: data and padding ----------------------------------------------------------------------


def test_couplet_splits_encode_lines_with_padding_after_the_end(couplet):
    task, data = couplet
    assert [len(data[name][0]) for name in ("train", "valid", "test")] == [10641, 1183, 1122]
    assert task.pairs["test"] == read_couplets("test")
    shipped = set(read_couplets("train"))
    assert set(task.pairs["train"]) | set(task.pairs["valid"]) == shipped
    assert not set(task.pairs["train"]) & set(task.pairs["valid"])
    upper, lengths, lower = data["test"]
    for row in (0, 1, 2):
        first, second = task.pairs["test"][row]
        assert lengths[row] == len(first) == len(second)
        assert (upper[row, lengths[row] :] == 0).all() and (lower[row, lengths[row] :] == 0).all()
        assert "".join(task.vocabulary[i] for i in upper[row, : lengths[row]]) == "".join(
            c if c in task.index else "<unk>" for c in first
        )


def test_couplet_padding_changes_nothing(couplet):
    """A line's scores are the same alone or padded in a batch with a longer one (both directions);
    the loss and every gradient are the same whatever tokens fill the padding."""
    task, data = couplet
    upper, lengths, lower = data["test"]
    short, long = int(np.argmin(lengths)), int(np.argmax(lengths))
    assert lengths[short] < lengths[long]
    mg.manual_seed(0)
    model = task.build_model().eval()  # no dropout: the same draws would not be compared
    alone = model(upper[[short], : lengths[short]], lengths[[short]]).data[0]
    batch = np.array([short, long])
    together = model(upper[batch, : lengths[long]], lengths[batch]).data[0, : lengths[short]]
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)  # float32: another batch shape, other rounding

    def loss_and_grads(up, low):
        model.zero_grad()
        loss = task.loss(model, (up, lengths[batch], low))
        loss.backward()
        return loss.item(), {name: p.grad.copy() for name, p in model.named_parameters()}

    clean = loss_and_grads(upper[batch], lower[batch])
    junk_up, junk_low = upper[batch].copy(), lower[batch].copy()
    pad = np.arange(task.config.steps) >= lengths[batch, None]
    junk_up[pad] = junk_low[pad] = 7
    junked = loss_and_grads(junk_up, junk_low)
    assert junked[0] == clean[0]
    for name in clean[1]:
        np.testing.assert_array_equal(junked[1][name], clean[1][name], err_msg=name)


# -- couplet: metrics ---------------------------------------------------------------------------------


def test_couplet_unigram_baseline_is_add_one_lower_line_frequencies(couplet):
    task, data = couplet
    counts = Counter(task.index.get(c, 1) for _, lower in task.pairs["train"] for c in lower)
    total = sum(counts.values()) + len(task.vocabulary) - 1  # every token but <pad>
    test_lower = [task.index.get(c, 1) for _, lower in task.pairs["test"][:100] for c in lower]
    by_hand = math.exp(-np.mean([math.log((counts[t] + 1) / total) for t in test_lower]))
    size = len(task.vocabulary)
    split = tuple(a[:100] for a in data["test"])  # a part of the test couplets: the scores are large
    metrics = task.evaluate(CoupletStandIn(lambda t: np.zeros((*t.shape, size))), split, "test")
    assert metrics["unigram_perplexity"] == pytest.approx(by_hand, rel=1e-12)
    assert metrics["perplexity"] == pytest.approx(size)  # uniform scores, padding left out


def test_couplet_metrics_on_an_oracle_count_only_real_characters(couplet):
    task, data = couplet
    split = upper, lengths, lower = tuple(a[:300] for a in data["test"])  # a part: the scores are large
    perfect = task.evaluate(CoupletStandIn(oracle(upper, lower, len(task.vocabulary))), split, "test")
    real = np.arange(task.config.steps) < lengths[:, None]
    assert perfect["perplexity"] == pytest.approx(1.0, abs=1e-9)
    assert perfect["accuracy"] == pytest.approx(np.mean(lower[real] != 1)) and perfect["accuracy"] < 1.0
    wrong = task.evaluate(CoupletStandIn(oracle(upper, (lower + 1) % len(task.vocabulary), len(task.vocabulary))),
                          split, "test")  # fmt: skip
    assert wrong["accuracy"] == 0.0 and wrong["perplexity"] > 1e15


def test_couplet_generate_answers_with_a_line_of_the_same_length(couplet):
    task, _ = couplet
    mg.manual_seed(0)
    model = task.build_model().eval()
    with mg.no_grad():
        greedy = [task.generate(model, "春风送暖", 20, 0.0, np.random.default_rng(s)) for s in (0, 1)]
        sampled = task.generate(model, "春风送暖入屠苏", 20, 1.0, np.random.default_rng(0))
    assert len(greedy[0]) == 4 and greedy[0] == greedy[1] and HAN_ONLY.match(greedy[0])
    assert len(sampled) == 7 and HAN_ONLY.match(sampled)
    for prompt in ("", "   ", "春" * 11, "hello"):
        with pytest.raises(ValueError, match="couplet: the prompt must be an upper line"):
            task.generate(model, prompt, 20, 0.0, None)


# -- --data files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_name, content, words", [
    ("couplet", "春风\t秋雨\n春风\t秋雨雨\n", "line 2: expected 'upper<TAB>lower' of equal length"),
    ("couplet", "春风\t秋雨\n" * 5, "needs at least 10 couplets, got 5"),
    ("acrostic", "春眠不觉晓，处处闻啼鸟。\n", "line 1: expected a quatrain"),
    ("acrostic", "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n" * 3, "at least 10 poems, got 3"),
])  # fmt: skip
def test_bad_data_files_are_refused_in_one_line(tmp_path, capsys, task_name, content, words):
    path = tmp_path / "mine.txt"
    path.write_text(content, encoding="utf-8")
    assert cli.main(["train", task_name, "--data", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and words in error and str(path) in error


@pytest.mark.parametrize("task_name", ["couplet", "acrostic"])
def test_missing_data_file_is_refused_in_one_line(tmp_path, capsys, task_name):
    assert cli.main(["train", task_name, "--data", str(tmp_path / "nothing.txt")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "nothing.txt: no such file" in error


# -- training, eval and generate, end to end -----------------------------------------------------------


@pytest.mark.parametrize("task_class, make_file", [(COUPLET, couplet_file), (ACROSTIC, quatrain_file)])
def test_a_few_training_steps_then_eval_and_generate(tmp_path, capsys, task_class, make_file):
    config = task_class.Config(data=make_file(tmp_path / "mine.txt"), epochs=2, batch_size=8, min_count=1, **TINY)
    task = task_class(config)
    # a prompt of characters this small vocabulary has: 4 heads, or a held-out upper line
    prompt = "".join(task.vocabulary[4:8]) if task_class is ACROSTIC else task.pairs["test"][0][0]
    trainer = Trainer(task, tmp_path / "run", progress=False)
    before = {name: p.data.copy() for name, p in trainer.model.named_parameters()}
    metrics = trainer.fit()
    assert len(trainer.history) == 2 and all(math.isfinite(h["train_loss"]) for h in trainer.history)
    assert any((p.data != before[name]).any() for name, p in trainer.model.named_parameters())
    assert {"accuracy", "perplexity", "unigram_perplexity"} <= set(metrics)
    assert 0 <= metrics["accuracy"] <= 1 and metrics["perplexity"] >= 1
    checkpoint = str(tmp_path / "run" / "model.safetensors")
    capsys.readouterr()
    assert cli.main(["eval", task_class.name, "--checkpoint", checkpoint]) == 0
    printed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert printed == {k: v for k, v in metrics.items() if k not in ("epochs", "seconds")}
    assert cli.main(["generate", task_class.name, "--checkpoint", checkpoint, prompt, "--temperature", "0"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    if task_class is ACROSTIC:
        assert metrics["form_rate"] == 1.0
        assert_acrostic(text, prompt)
        assert cli.main(["generate", "acrostic", "--checkpoint", checkpoint, "春夏"]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and "must be 4 characters" in error
    else:
        assert len(text) == len(prompt) and HAN_ONLY.match(text)
