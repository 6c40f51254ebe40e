"""The sentiment and future-echo tasks: their data and splits, padding, --data errors, the metric
on stand-in models, and a few training steps through the Trainer."""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

import minigrad as mg
from minigrad.train import Trainer
from minigrad_plugins.tasks.sentiment import words_of

SENTIMENT = mg.tasks()["sentiment"]
FUTURE_ECHO = mg.tasks()["future-echo"]


class StandIn(mg.nn.Module):
    """A 'model' that answers with ``answer(*inputs)``: a perfect (or deliberately wrong) predictor."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def forward(self, *inputs):
        return mg.tensor(self.answer(*(getattr(a, "data", a) for a in inputs)))


def scores_for(classes, count):
    """Logits that pick ``classes`` (integers, any shape): 10 for the class, 0 elsewhere."""
    return np.eye(count)[classes] * 10.0


@pytest.fixture(scope="module")
def shipped():
    """The shipped reviews and their seeded split (seed 0's generator, as the trainer draws it)."""
    task = SENTIMENT()
    return task, task.make_data(np.random.default_rng([0, 1]))


def sentences_of(task, name):
    """The sentences of a split, in the split's order."""
    return [task.sentences[i] for i in task.rows[name]]


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def small_file(path, per_label=15):
    """A user's own file: positive sentences say 'good', negative ones 'bad'."""
    good = [f"a good{' good' * (i % 3)} thing number {i}\t1" for i in range(per_label)]
    bad = [f"a bad thing{' really' * (i % 4)} number {i}\t0" for i in range(per_label)]
    return write_lines(path, [line for pair in zip(good, bad) for line in pair])


# -- sentiment: the data ----------------------------------------------------------------------------


def test_sentiment_reads_all_3000_sentences_balanced_by_site():
    """500 positive and 500 negative per site; imdb's U+0085 characters do not split lines."""
    task = SENTIMENT()
    assert len(task.sentences) == len(task.labels) == len(task.sites) == 3000
    assert Counter(zip(task.sites, task.labels)) == {(site, label): 500 for site in set(task.sites) for label in (0, 1)}
    assert any("\x85" in sentence for sentence in task.sentences)


def test_words_are_lower_cased_and_keep_contractions_and_marks():
    assert words_of("Don't buy it!!  Worst, EVER?") == ["don't", "buy", "it", "!", "!", "worst", "ever", "?"]


def test_sentiment_split_is_stratified_disjoint_and_complete(shipped):
    """80/20 per site and label, a tenth of the 80 for validation; every sentence in exactly one split."""
    task, data = shipped
    per_stratum = {"train": 360, "valid": 40, "test": 100}  # of each site's 500 sentences of one label
    for name, (tokens, lengths, labels) in data.items():
        rows = task.rows[name]
        assert tokens.shape == (len(rows), task.config.steps) and lengths.shape == labels.shape == (len(rows),)
        assert labels.tolist() == [task.labels[i] for i in rows]
        strata = Counter((task.sites[i], task.labels[i]) for i in rows)
        assert len(strata) == 6 and set(strata.values()) == {per_stratum[name]}
    train, valid, test = (set(task.rows[name]) for name in ("train", "valid", "test"))
    assert not (train & valid) and not (train & test) and not (valid & test)
    assert train | valid | test == set(range(3000))


def test_sentiment_split_comes_from_the_generator_given():
    task = SENTIMENT()
    one, again = task.make_data(np.random.default_rng(1)), task.make_data(np.random.default_rng(1))
    other = task.make_data(np.random.default_rng(2))
    for a, b in zip(one["test"], again["test"]):
        assert np.array_equal(a, b)
    assert not np.array_equal(one["test"][0], other["test"][0])


def test_vocabulary_comes_from_the_training_sentences_only(shipped):
    """The --words most frequent training words, after <pad> and <unk>; a word seen only outside
    the training split is <unk>."""
    task, data = shipped
    train_counts = Counter(w for s in sentences_of(task, "train") for w in words_of(s))
    assert task.vocabulary[:2] == ["<pad>", "<unk>"] and len(task.vocabulary) == task.config.words + 2
    kept = task.vocabulary[2:]
    assert set(kept) <= set(train_counts)
    assert min(train_counts[w] for w in kept) >= max(c for w, c in train_counts.items() if w not in kept)
    test_only = {w for s in sentences_of(task, "test") for w in words_of(s)} - set(train_counts)
    assert test_only and not (test_only & set(task.vocabulary))


def test_tokens_are_words_up_to_each_length_and_padding_after(shipped):
    task, data = shipped
    tokens, lengths, _ = data["test"]
    steps = np.arange(tokens.shape[1])
    assert np.all(tokens[steps < lengths[:, None]] >= 1) and np.all(tokens[steps >= lengths[:, None]] == 0)
    for row, sentence in zip(range(5), sentences_of(task, "test")):
        words = words_of(sentence)
        assert lengths[row] == len(words)
        assert [task.vocabulary[t] for t in tokens[row, : lengths[row]]] == [
            w if w in task.vocabulary else "<unk>" for w in words
        ]


def test_long_sentences_are_cut_to_steps():
    task = SENTIMENT(SENTIMENT.Config(steps=5))
    tokens, lengths, _ = task.make_data(np.random.default_rng(0))["train"]
    assert tokens.shape[1] == 5 and lengths.max() == 5 and lengths.min() >= 1


# -- sentiment: the model and padding ---------------------------------------------------------------


@pytest.mark.parametrize("cell, bidirectional", [("gru", True), ("lstm", False)])
def test_padding_changes_nothing(shipped, cell, bidirectional):
    """A sentence's logits are the same alone, padded to any length with any token, or in a batch
    with longer sentences; so are the gradients of its loss."""
    task, data = shipped
    config = SENTIMENT.Config(cell=cell, bidirectional=bidirectional, hidden_size=5, embedding_size=4)
    mg.manual_seed(0)
    model = SENTIMENT(config).build_model().eval()  # dropout off: the same numbers every call
    tokens, lengths, labels = (a[:6] for a in data["train"])
    short = int(np.argmin(lengths))
    alone = model(tokens[short : short + 1, : lengths[short]], lengths[short : short + 1]).data
    garbage = tokens.copy()
    garbage[np.arange(tokens.shape[1]) >= lengths[:, None]] = 7  # padding holds a real word now
    for batch in (tokens, garbage, tokens[:, : lengths.max() + 3]):
        np.testing.assert_allclose(model(batch, lengths).data[short], alone[0], rtol=1e-12, atol=1e-12)
    trimmed = task.logits(model, (tokens, lengths, labels)).data  # the task cuts a batch to its longest sentence
    np.testing.assert_allclose(trimmed, model(tokens, lengths).data, rtol=1e-12, atol=1e-12)

    def gradients(batch):
        model.zero_grad()
        mg.nn.cross_entropy(model(batch, lengths[short : short + 1]), labels[short : short + 1]).backward()
        return {name: p.grad.copy() for name, p in model.named_parameters()}

    exact, padded = gradients(tokens[short : short + 1, : lengths[short]]), gradients(garbage[short : short + 1])
    for name in exact:
        np.testing.assert_allclose(padded[name], exact[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_dropout_only_in_training_mode(shipped):
    task, data = shipped
    mg.manual_seed(0)
    model = SENTIMENT(SENTIMENT.Config(dropout=0.5, hidden_size=4, embedding_size=4)).build_model()
    tokens, lengths, _ = (a[:8] for a in data["train"])
    trained = [model(tokens, lengths).data for _ in range(2)]
    assert not np.allclose(trained[0], trained[1])  # a fresh mask each time
    model.eval()
    evaluated = [model(tokens, lengths).data for _ in range(2)]
    np.testing.assert_array_equal(evaluated[0], evaluated[1])


# -- sentiment: the metric ----------------------------------------------------------------------------


def test_sentiment_accuracy_of_stand_in_models(shipped):
    """A perfect model scores 1, its opposite 0, one mistake costs one sentence, and always
    answering 'positive' scores 0.5 (the test split is balanced)."""
    task, data = shipped
    split = data["test"]
    labels = split[2]
    assert task.evaluate(StandIn(lambda tokens, lengths: scores_for(labels, 2)), split, "test") == {"accuracy": 1.0}
    assert task.evaluate(StandIn(lambda tokens, lengths: scores_for(1 - labels, 2)), split, "test") == {"accuracy": 0.0}
    one_wrong = labels.copy()
    one_wrong[17] ^= 1
    almost = task.evaluate(StandIn(lambda tokens, lengths: scores_for(one_wrong, 2)), split, "test")
    assert almost["accuracy"] == pytest.approx(1 - 1 / len(labels))
    always = task.evaluate(StandIn(lambda tokens, lengths: scores_for(np.ones_like(labels), 2)), split, "test")
    assert always["accuracy"] == 0.5


def test_misclassified_report_lists_the_mistakes_most_confident_first(shipped, tmp_path):
    task, data = shipped
    labels = data["test"][2]
    scores = scores_for(labels, 2)
    margins = {9: 10.0, 5: 1.0}  # two mistakes, row 9 the more confident
    for row, margin in margins.items():
        scores[row] = scores_for(1 - labels[row], 2) * margin / 10
    written = task.write_reports(StandIn(lambda tokens, lengths: scores), data, tmp_path)
    assert written == [tmp_path / "misclassified.txt"]
    header, *lines = (tmp_path / "misclassified.txt").read_text("utf-8").rstrip("\n").split("\n")
    assert header.startswith(f"2 of {len(labels)} ")
    for line, row in zip(lines, (9, 5), strict=True):
        wrong_class = 1 / (1 + math.exp(-margins[row]))  # softmax of two scores
        positive = wrong_class if labels[row] == 0 else 1 - wrong_class
        assert line == f"{positive:.2f}  {labels[row]}  {task.sentences[task.rows['test'][row]]}"


# -- sentiment: --data ----------------------------------------------------------------------------------


def test_own_data_file_is_read_and_split(tmp_path):
    path = small_file(tmp_path / "mine.txt", per_label=20)
    task = SENTIMENT(SENTIMENT.Config(data=str(path), words=10))
    data = task.make_data(np.random.default_rng(0))
    assert len(task.sentences) == 40 and set(task.sites) == {"mine.txt"}
    assert [len(data[s][2]) for s in ("train", "valid", "test")] == [28, 4, 8]
    assert "good" in task.vocabulary and "bad" in task.vocabulary


@pytest.mark.parametrize(
    "lines, error, words",
    [
        (None, FileNotFoundError, ["--data", "no such file"]),
        (["no tab here"], ValueError, ["line 1", "sentence<TAB>"]),
        (["fine\t1", "fine\t2"], ValueError, ["line 2"]),
        (["\t1"], ValueError, ["line 1", "no words"]),
        ([f"good {i}\t1" for i in range(12)] + ["bad\t0"], ValueError, ["--data", "labelled 0"]),
    ],
    ids=["missing", "no-tab", "label-2", "no-words", "one-label"],
)
def test_bad_data_file_is_refused_clearly(tmp_path, lines, error, words):
    path = tmp_path / "sentences.txt"
    if lines is not None:
        write_lines(path, lines)
    with pytest.raises(error) as raised:
        SENTIMENT(SENTIMENT.Config(data=str(path)))
    for word in words:
        assert word in str(raised.value)


def test_non_utf8_data_file_is_refused_clearly(tmp_path):
    path = tmp_path / "sentences.txt.gz"
    path.write_bytes(gzip.compress(b"good\t1\n"))
    with pytest.raises(ValueError, match="UTF-8"):
        SENTIMENT(SENTIMENT.Config(data=str(path)))


@pytest.mark.parametrize(
    "lines, words",
    [(None, ["sentences.txt", "no such file"]), (["no tab here"], ["line 1"])],
    ids=["missing", "malformed"],
)
def test_bad_data_file_on_the_command_line_is_one_line_exit_2(tmp_path, lines, words):
    path = tmp_path / "sentences.txt"
    if lines is not None:
        write_lines(path, lines)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "minigrad", "train", "sentiment", "--data", str(path), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert all(word in result.stderr for word in words)
    assert not out.exists()


# -- future echo ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet, shift, steps", [(4, 2, 10), (3, 0, 5), (6, 4, 5)])
def test_future_echo_data(alphabet, shift, steps):
    """x: one-hot symbols (n, steps, alphabet); y: the symbol ``shift`` steps later, for the first
    steps - shift steps; validation and test a quarter of the training size, all different."""
    config = FUTURE_ECHO.Config(alphabet=alphabet, shift=shift, steps=steps, samples=40)
    data = FUTURE_ECHO(config).make_data(np.random.default_rng(0))
    for split, count in (("train", 40), ("valid", 10), ("test", 10)):
        x, y = data[split]
        assert x.shape == (count, steps, alphabet) and y.shape == (count, steps - shift)
        assert np.all(x.sum(axis=2) == 1) and set(np.unique(x)) == {0.0, 1.0}
        assert np.array_equal(y, x.argmax(axis=2)[:, shift:])
    assert set(np.unique(data["train"][1])) == set(range(alphabet))
    assert not np.array_equal(data["valid"][0], data["test"][0])


def test_future_echo_scores_only_steps_with_a_future():
    """A model naming x_{t+k} is perfect whatever it says at the last k steps; one wrong step costs
    one step; naming the current symbol x_t instead scores what chance gives."""
    k, steps, alphabet = 2, 10, 4
    task = FUTURE_ECHO(FUTURE_ECHO.Config(shift=k, steps=steps, alphabet=alphabet, samples=400))
    x, y = task.make_data(np.random.default_rng(0))["test"]

    def future(x, wrong=None):
        symbols = x.argmax(axis=2)
        answer = np.concatenate([symbols[:, k:], (symbols[:, -k:] + 1) % alphabet], axis=1)  # last k: wrong on purpose
        if wrong is not None:
            answer[wrong] = (answer[wrong] + 1) % alphabet
        return scores_for(answer, alphabet)

    assert task.evaluate(StandIn(future), (x, y), "test") == {"accuracy": 1.0}
    one_wrong = task.evaluate(StandIn(lambda x: future(x, wrong=(3, 5))), (x, y), "test")["accuracy"]
    assert one_wrong == pytest.approx(1 - 1 / y.size)
    present = task.evaluate(StandIn(lambda x: scores_for(x.argmax(axis=2), alphabet)), (x, y), "test")["accuracy"]
    assert present == pytest.approx(np.mean(x.argmax(axis=2)[:, : steps - k] == y))
    assert abs(present - 1 / alphabet) < 0.05  # the present tells nothing about the future


@pytest.mark.parametrize(
    "options, option",
    [({"shift": 10, "steps": 10}, "--shift"), ({"shift": -1}, "--shift"), ({"alphabet": 1}, "--alphabet"),
     ({"samples": 2}, "--samples")],  # fmt: skip
)
def test_future_echo_refuses_bad_options_naming_them(options, option):
    with pytest.raises(ValueError, match=option):
        FUTURE_ECHO.Config(**options)


def test_future_echo_needs_the_reverse_direction():
    """The task's point: with the default options, a bidirectional GRU names the future symbol
    (validation reaches the target 1.0 and training stops), a forward one stays near chance."""
    both = Trainer(FUTURE_ECHO(FUTURE_ECHO.Config(bidirectional=True, samples=1000)), progress=False).fit()
    forward = Trainer(FUTURE_ECHO(FUTURE_ECHO.Config(epochs=3, samples=1000)), progress=False).fit()
    assert both["accuracy"] >= 0.99
    assert forward["accuracy"] < 0.25 + 0.05


# -- a few training steps through the Trainer ---------------------------------------------------------


def test_sentiment_trains_and_writes_its_report(tmp_path):
    """Two epochs on a small --data file run end to end (dropout on), the metric is a share of whole
    sentences, and misclassified.txt counts the test mistakes."""
    path = small_file(tmp_path / "mine.txt", per_label=20)
    config = SENTIMENT.Config(data=str(path), epochs=2, hidden_size=4, embedding_size=4, words=8, dropout=0.2)
    trainer = Trainer(SENTIMENT(config), tmp_path / "out", progress=False)
    metrics = trainer.fit()
    assert set(metrics) == {"accuracy", "epochs", "seconds"} and metrics["epochs"] == 2
    assert 0 <= metrics["accuracy"] <= 1 and (metrics["accuracy"] * 8) == pytest.approx(round(metrics["accuracy"] * 8))
    report = (tmp_path / "out" / "misclassified.txt").read_text("utf-8").rstrip("\n").split("\n")
    mistakes = round((1 - metrics["accuracy"]) * 8)
    assert report[0].startswith(f"{mistakes} of 8 ") and len(report) == 1 + mistakes


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_future_echo_trains_with_other_cells_stacked(cell):
    config = FUTURE_ECHO.Config(cell=cell, num_layers=2, bidirectional=True, hidden_size=3, samples=40, epochs=2)
    metrics = Trainer(FUTURE_ECHO(config), progress=False).fit()
    assert metrics["epochs"] <= 2 and all(math.isfinite(v) for v in metrics.values())
    assert 0 <= metrics["accuracy"] <= 1
