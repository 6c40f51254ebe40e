"""char-lm on long texts: truncated BPTT (windows in stream order, the state carried across them
by the trainer, detached; the task keeps none), bits per character, the shipped Tiny Shakespeare,
and resuming a --bptt run."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli
from minigrad.checkpoint import load_with_extras
from minigrad.task import detach_state
from minigrad.train import Trainer

CHAR_LM = mg.tasks()["char-lm"]
TEXT = "the quick brown fox jumps over the lazy dog; then it sleeps. " * 12  # 732 characters


def task_on(tmp_path, text=TEXT, **options):
    path = tmp_path / "text.txt"
    path.write_text(text, "utf-8")
    return CHAR_LM(CHAR_LM.Config(data=str(path), **options))


def lstm_task(tmp_path, **options):
    """A small 2-layer LSTM with truncated BPTT: 3 streams, windows of 5 characters."""
    small = {"cell": "lstm", "num_layers": 2, "hidden_size": 5, "bptt": 5, "batch_size": 3, "lr": 0.01}
    return task_on(tmp_path, **{**small, **options})


class Recording(mg.nn.Module):
    """The model, with every call's initial and final state kept."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, []

    def forward(self, x, state=None):
        logits, final = self.model(x, state)
        self.calls.append((state, final))
        return logits, final


def carried_losses(task, model, windows):
    """The windows' losses as the trainer computes them: each window begun in the state the one
    before it ended in, detached; the first from s_0 = 0."""
    losses, state = [], None
    for window in windows:
        loss, state = task.loss_and_state(model, window, state)
        state = detach_state(state)
        losses.append(loss)
    return losses


# -- truncated BPTT -----------------------------------------------------------------------------------------


def test_windows_are_the_streams_in_order(tmp_path):
    """--bptt K: the training text is cut into --batch-size contiguous streams; window j is
    characters jK..jK+K-1 of every stream, whatever the shuffling generator, and y is x shifted by one."""
    task = lstm_task(tmp_path)
    data = task.make_data(np.random.default_rng(0))
    x, y = data["train"]
    train = task.parts["train"]
    length = (len(train) - 1) // 3
    assert x.shape == y.shape == (3, length)
    for i in range(3):  # stream i is the i-th stretch of the text
        assert np.array_equal(x[i], train[i * length : (i + 1) * length])
        assert np.array_equal(y[i], train[i * length + 1 : (i + 1) * length + 1])
    one, other = task.batches(data["train"], 3, np.random.default_rng(1)), task.batches(data["train"], 3, None)
    assert len(one) == math.ceil(length / 5) and all(w[0].shape == (3, 5) for w in one[:-1])
    assert all(np.array_equal(a, b) for w, v in zip(one, other) for a, b in zip(w, v))  # never shuffled
    assert np.array_equal(np.concatenate([w[0] for w in one], axis=1), x)
    assert np.array_equal(np.concatenate([w[1] for w in one], axis=1), y)


def test_the_trainer_feeds_the_windows_in_order_each_epoch(tmp_path):
    """Training goes through the windows in order, the first of every epoch from s_0 = 0 and each
    later one from the state the one before ended in; validation likewise, with its own state."""
    task, seen = lstm_task(tmp_path, epochs=2), []
    real = task.loss_and_state

    def watched(model, batch, state):
        loss, final = real(model, batch, state)
        seen.append((mg.is_grad_enabled(), batch[0], state, final))
        return loss, final

    task.loss_and_state = watched
    Trainer(task, progress=False).fit()
    data = task.make_data(None)
    train, valid = task.batches(data["train"], 3, None), task.batches(data["valid"], 3, None)
    assert [training for training, _, _, _ in seen] == ([True] * len(train) + [False] * len(valid)) * 2
    assert all(np.array_equal(x, w[0]) for (_, x, _, _), w in zip(seen, (train + valid) * 2))
    firsts = {0, len(train), len(train) + len(valid), 2 * len(train) + len(valid)}
    for i, (_, _, state, _) in enumerate(seen):
        if i in firsts:
            assert state is None
        else:  # (h, c): the values the window before ended with
            assert all(np.array_equal(a.data, b.data) for a, b in zip(state, seen[i - 1][3]))


def test_the_state_carries_across_windows_detached(tmp_path):
    """In the trainer, the second window starts in the first window's final state (h and c of both
    layers), detached: no gradient of its loss reaches the first window, and its parameter gradients
    are those of a run that starts from that state as a constant."""
    task = lstm_task(tmp_path)
    trainer = Trainer(task, progress=False)
    model = trainer.model = Recording(trainer.model)
    trainer.train_epoch(1)
    (initial_1, final_1), (initial_2, _) = model.calls[:2]
    assert initial_1 is None  # a stream's first window starts from s_0 = 0
    for carried, ended in zip(initial_2, final_1):  # (h, c), each (layers, streams, hidden)
        assert carried is not ended and carried.shape == (2, 3, 5)
        assert np.array_equal(carried.data, ended.data)
        assert ended.requires_grad and not carried.requires_grad

    model.calls.clear()
    first, second = task.batches(task.make_data(None)["train"], 3, None)[:2]
    _, loss = carried_losses(task, model, [first, second])
    (_, final_1), _ = model.calls
    assert all(not g.any() for g in mg.gradients(loss, list(final_1), retain_graph=True))
    model.zero_grad()
    loss.backward()
    truncated = {name: p.grad.copy() for name, p in model.named_parameters()}

    model.zero_grad()
    constant = tuple(mg.tensor(part.data) for part in final_1)
    logits, _ = model.model(task.one_hot(second[0]), constant)
    mg.nn.cross_entropy(logits, second[1]).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, truncated[name], rtol=1e-12, atol=1e-15)

    attached, _ = model.model(task.one_hot(second[0]), final_1)  # not detached: the gradient would reach it
    gradient = mg.gradients(mg.nn.cross_entropy(attached, second[1]), [final_1[0]])[0]
    assert np.abs(gradient).max() > 0


def test_the_loss_is_a_function_of_the_model_and_the_batch(tmp_path):
    """The task keeps no state: the same window gives the same loss however often, in whatever
    order it is asked for, and ``loss_and_state`` is the same for the same state handed in."""
    task = lstm_task(tmp_path)
    mg.manual_seed(0)
    model = task.build_model()
    windows = task.batches(task.make_data(None)["train"], 3, None)
    before = dict(vars(task))
    once, twice = task.loss(model, windows[1]).item(), task.loss(model, windows[1]).item()
    task.loss(model, windows[0])
    assert once == twice == task.loss(model, windows[1]).item()
    _, state = task.loss_and_state(model, windows[0], None)
    carried = [task.loss_and_state(model, windows[1], detach_state(state))[0].item() for _ in range(2)]
    assert carried[0] == carried[1] != once  # begun in the first window's state, not at s_0 = 0
    assert vars(task).keys() == before.keys() and all(vars(task)[k] is v for k, v in before.items())


def test_validation_does_not_change_the_training_state(tmp_path):
    """Validating between two training windows changes neither the state carried between them nor
    the next window's loss, and validation itself gives the same figures twice."""
    task = lstm_task(tmp_path)
    trainer = Trainer(task, progress=False)
    windows = task.batches(trainer.data["train"], 3, None)[:4]
    alone = [loss.item() for loss in carried_losses(task, trainer.model, windows)]
    losses, state = [], None
    for i, window in enumerate(windows):
        loss, state = task.loss_and_state(trainer.model, window, state)
        state = detach_state(state)
        losses.append(loss.item())
        if i == 1:
            first = trainer.validate()
    assert losses == alone
    assert trainer.validate() == first


def hello_gradients(bptt):
    """Gradients of the summed window losses on "hello" (one stream), and the loss values."""
    task = CHAR_LM(CHAR_LM.Config(cell="lstm", hidden_size=6, num_layers=2, batch_size=1, bptt=bptt))
    mg.manual_seed(3)
    model = task.build_model()
    losses = carried_losses(task, model, task.batches(task.make_data(None)["train"], 1, None))
    total = mg.stack(losses).sum() * (bptt / 4)  # the mean over all four characters
    total.backward()
    return {name: p.grad for name, p in model.named_parameters()}, total.item()


def test_bptt_over_the_whole_text_is_full_bptt(tmp_path):
    """On "hello" ("hell" -> "ello"), K = 4 is one window: the lecture's full BPTT, the same loss and
    gradients as the independent window of --steps 4. K = 2 leaves the loss unchanged (detaching
    changes no value) but cuts the gradient's path from step 3 back to steps 1 and 2."""
    mg.manual_seed(3)
    full_task = CHAR_LM(CHAR_LM.Config(cell="lstm", hidden_size=6, num_layers=2))
    model = full_task.build_model()
    loss = full_task.loss(model, full_task.make_data(None)["train"])
    loss.backward()
    full = {name: p.grad for name, p in model.named_parameters()}

    whole, whole_loss = hello_gradients(bptt=4)
    assert whole_loss == pytest.approx(loss.item(), rel=1e-14)
    for name in full:
        np.testing.assert_allclose(whole[name], full[name], rtol=1e-12, atol=1e-15)
    truncated, truncated_loss = hello_gradients(bptt=2)
    assert truncated_loss == pytest.approx(loss.item(), rel=1e-14)
    assert not np.allclose(truncated["rnn.weight_hh_l0"], full["rnn.weight_hh_l0"], rtol=1e-6)


def test_resume_equals_uninterrupted_with_bptt(tmp_path):
    """3 epochs in one go, or 1 then resumed to 3: the same weights, optimizer and metrics. The
    carried state starts again at every epoch, so an epoch boundary loses nothing."""
    a, b = tmp_path / "a", tmp_path / "b"
    whole = Trainer(lstm_task(tmp_path, epochs=3), a, progress=False).fit()
    Trainer(lstm_task(tmp_path, epochs=1), b, progress=False).fit()
    resumed = Trainer(lstm_task(tmp_path, epochs=3), b, progress=False).fit(resume=True)
    assert {**whole, "seconds": 0} == {**resumed, "seconds": 0} and whole["epochs"] == 3
    for name in ("model.safetensors", "last.safetensors"):
        state_a, _, extras_a = load_with_extras(a / name)
        state_b, _, extras_b = load_with_extras(b / name)
        for arrays_a, arrays_b in ((state_a, state_b), (extras_a, extras_b)):
            assert sorted(arrays_a) == sorted(arrays_b)
            assert all(arrays_a[k].tobytes() == arrays_b[k].tobytes() for k in arrays_a), name


# -- bits per character ---------------------------------------------------------------------------------


class NextLetter(mg.nn.Module):
    """A stand-in model for the text "abcabc...": probability ``p`` on the right next letter."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x, state=None):
        right = (x.data.argmax(axis=-1) + 1) % 3  # a -> b -> c -> a
        probabilities = np.where(np.arange(3) == right[..., None], self.p, (1 - self.p) / 2)
        return mg.tensor(np.log(probabilities)), None


@pytest.mark.parametrize("bptt", [0, 6])
@pytest.mark.parametrize("p", [1 / 3, 0.5, 0.9])
def test_bpc_is_the_cross_entropy_in_bits(tmp_path, p, bptt):
    """Probability p on every next character: cross-entropy -ln p nats, perplexity 1/p, bpc -log2 p;
    p = 1/3 is the uniform guess, log2 3 bits. The unigram baseline counts the training text."""
    task = task_on(tmp_path, "abc" * 200, bptt=bptt, batch_size=4, steps=6)
    data = task.make_data(None)
    with mg.no_grad():
        metrics = task.evaluate(NextLetter(p), data["test"], "test")
    if p > 1 / 3:
        assert metrics["accuracy"] == 1.0
    assert metrics["perplexity"] == pytest.approx(1 / p, rel=1e-12)
    assert metrics["bpc"] == pytest.approx(-math.log2(p), rel=1e-12)
    assert metrics["bpc"] == pytest.approx(math.log2(metrics["perplexity"]), rel=1e-12)
    counts = np.bincount(task.parts["train"], minlength=3)
    frequency = (counts + 1) / (counts + 1).sum()
    y = data["test"][1]
    assert metrics["unigram_bpc"] == pytest.approx(-np.mean(np.log2(frequency[y])), rel=1e-12)
    assert metrics["unigram_bpc"] == pytest.approx(math.log2(3), abs=1e-2)


# -- the shipped text and the options ----------------------------------------------------------------------


def test_tiny_shakespeare_is_shipped():
    """--corpus shakespeare: the 1,115,394 characters of karpathy/char-rnn's input.txt, 65 distinct;
    90% for training, then 5% validation and the last 5% for the test, each cut into streams."""
    task = CHAR_LM(CHAR_LM.Config(corpus="shakespeare", bptt=64, batch_size=32))
    assert len(task.text) == 1_115_394 and len(task.alphabet) == 65
    digest = hashlib.sha256(task.text.encode("ascii")).hexdigest()
    assert digest == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    assert task.text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert [len(part) for part in task.parts.values()] == [1_003_854, 55_770, 55_770]
    data = task.make_data(None)
    assert data["train"][0].shape == (32, (1_003_854 - 1) // 32)
    assert data["test"][0].shape == (32, (55_770 - 1) // 32)
    assert "".join(task.alphabet[c] for c in task.parts["test"]).endswith("Whiles thou art waking.\n")


@pytest.mark.parametrize(
    "options, option",
    [
        ({"corpus": "shakespeare", "data": "mine.txt"}, "--data"),
        ({"corpus": "poems"}, "--corpus"),
        ({"bptt": -1}, "--bptt"),
        ({"dtype": "float16"}, "--dtype"),
        ({"lr_decay": 0}, "--lr-decay"),
    ],
)
def test_bad_options_are_refused_naming_them(options, option):
    with pytest.raises(ValueError, match=option):
        CHAR_LM.Config(**options)


def test_the_learning_rate_decays_every_epoch():
    task = CHAR_LM(CHAR_LM.Config(lr=0.01, lr_decay=0.5))
    assert [task.learning_rate(epoch) for epoch in (1, 2, 3)] == [0.01, 0.005, 0.0025]
    assert CHAR_LM().learning_rate(7) == CHAR_LM.Config().lr  # constant by default


def test_a_text_too_short_for_its_streams_is_refused():
    with pytest.raises(ValueError, match="--batch-size 32"):
        CHAR_LM(CHAR_LM.Config(bptt=2))  # "hello" cannot be cut into 32 streams


def test_train_with_bptt_writes_bpc_and_generates(tmp_path, capsys):
    """From the command line, float32: metrics.json has bpc beside accuracy and perplexity;
    generate continues a prompt with characters of the text."""
    text = tmp_path / "text.txt"
    text.write_text(TEXT, "utf-8")
    out = tmp_path / "lm"
    status = cli.main(["train", "char-lm", "--data", str(text), "--bptt", "8", "--batch-size", "4", "--cell", "lstm",
                       "--dtype", "float32", "--epochs", "2", "--out", str(out), "--quiet"])  # fmt: skip
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"accuracy", "perplexity", "bpc", "unigram_bpc", "epochs", "seconds"} <= set(metrics)
    assert metrics["bpc"] == pytest.approx(math.log2(metrics["perplexity"]), rel=1e-6)
    capsys.readouterr()
    checkpoint = str(out / "model.safetensors")
    assert cli.main(["generate", "char-lm", "--checkpoint", checkpoint, "the ", "--length", "30"]) == 0
    sample = capsys.readouterr().out.strip()
    assert sample.startswith("the ") and len(sample) == 34 and set(sample) <= set(TEXT)
