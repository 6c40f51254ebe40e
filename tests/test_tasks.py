"""The built-in tasks: echo's and binary-subtraction's data, models, metrics, and a few
epochs of training with every registered cell."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.task import option
from minigrad.train import Trainer

ECHO = mg.tasks()["echo"]
SUBTRACTION = mg.tasks()["binary-subtraction"]
CELLS = ["rnn", "lstm", "gru", "mgu"]


class StandIn(mg.nn.Module):
    """A 'model' that answers with ``answer(x)``: a perfect (or deliberately wrong) predictor."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def forward(self, x):
        return mg.tensor(self.answer(x.data))


def decode(bits):
    """(n, 4) bits, least significant first -> (n,) integers."""
    return (bits * 2 ** np.arange(bits.shape[1])).sum(axis=1).round().astype(int)


def subtraction_logits(x, wrong_bit=None, rows=slice(None)):
    """Logits (+10 for 1, -10 for 0) of the right difference; bit ``wrong_bit`` of ``rows`` flipped."""
    a, b = decode(x[..., 0]), decode(x[..., 1])
    bits = ((a - b)[:, None] >> np.arange(4)) & 1
    if wrong_bit is not None:
        bits[rows, wrong_bit] ^= 1
    return np.where(bits == 1, 10.0, -10.0)[..., None]


# -- echo -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps, samples", [(2, 40), (5, 13)])
def test_echo_data(steps, samples):
    """x: U(0, 1) of shape (n, steps, 1); y: the value one step before the last, (n, 1);
    validation and test a quarter of the training size each, all three different."""
    data = ECHO(ECHO.Config(steps=steps, samples=samples)).make_data(np.random.default_rng(0))
    assert set(data) == {"train", "valid", "test"}
    for split, count in (("train", samples), ("valid", samples // 4), ("test", samples // 4)):
        x, y = data[split]
        assert x.shape == (count, steps, 1) and y.shape == (count, 1)
        assert np.array_equal(y, x[:, steps - 2, :])
        assert ((0 <= x) & (x < 1)).all()
    assert not np.array_equal(data["valid"][0], data["test"][0])
    assert not np.array_equal(data["train"][0][: samples // 4], data["valid"][0])


@pytest.mark.parametrize("name", ["echo", "future-echo"])
def test_generated_data_comes_from_the_generator_given(name):
    """The same generator state gives the same samples; another state, others."""
    task_class = mg.tasks()[name]
    task = task_class(task_class.Config(samples=8))
    one, again = task.make_data(np.random.default_rng(1)), task.make_data(np.random.default_rng(1))
    other = task.make_data(np.random.default_rng(2))
    assert np.array_equal(one["train"][0], again["train"][0])
    assert not np.array_equal(one["train"][0], other["train"][0])


def test_echo_evaluate_of_a_perfect_model_is_r2_one():
    task = ECHO(ECHO.Config(samples=40))
    split = task.make_data(np.random.default_rng(0))["test"]
    metrics = task.evaluate(StandIn(lambda x: x[:, -2, :]), split, "test")
    assert metrics["r2"] == 1.0 and metrics["mse"] == 0.0
    mean = task.evaluate(StandIn(lambda x: np.full((len(x), 1), split[1].mean())), split, "test")
    assert mean["r2"] == pytest.approx(0.0, abs=1e-12)  # guessing the mean: r2 0
    assert mean["mse"] == pytest.approx(np.var(split[1]))


def test_echo_model_answers_once_per_sequence():
    task = ECHO(ECHO.Config(hidden_size=3, steps=4))
    model = task.build_model()
    x = np.random.default_rng(0).uniform(0, 1, (5, 4, 1))
    assert model(mg.tensor(x)).shape == (5, 1)
    loss = task.loss(model, (x, x[:, -2, :]))
    assert loss.shape == () and loss.item() >= 0
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_echo_with_one_step_is_refused_clearly():
    """--steps 1 leaves no 'value one step before the last': the config is refused with a
    ValueError naming --steps."""
    with pytest.raises(ValueError, match="--steps"):
        ECHO.Config(steps=1, samples=8)


# -- binary subtraction ------------------------------------------------------------------------


def test_binary_subtraction_data():
    """The 136 pairs 0 <= b <= a <= 15, bits least significant first, y the bits of a - b;
    the same whole space in every split, whatever the generator."""
    data = SUBTRACTION(SUBTRACTION.Config()).make_data(np.random.default_rng(0))
    x, y = data["train"]
    assert x.shape == (136, 4, 2) and y.shape == (136, 4, 1)
    assert set(np.unique(x)) == {0.0, 1.0} and set(np.unique(y)) == {0.0, 1.0}
    a, b, difference = decode(x[..., 0]), decode(x[..., 1]), decode(y[..., 0])
    assert sorted(zip(a, b)) == [(i, j) for i in range(16) for j in range(i + 1)]
    assert np.array_equal(difference, a - b)
    five_minus_two = np.flatnonzero((a == 5) & (b == 2))[0]  # 0101 - 0010 = 0011, LSB first
    assert x[five_minus_two, :, 0].tolist() == [1, 0, 1, 0]
    assert x[five_minus_two, :, 1].tolist() == [0, 1, 0, 0]
    assert y[five_minus_two, :, 0].tolist() == [1, 1, 0, 0]
    other = SUBTRACTION(SUBTRACTION.Config(seed=9)).make_data(np.random.default_rng(9))
    for split in ("valid", "test"):
        assert np.array_equal(data[split][0], x) and np.array_equal(data[split][1], y)
        assert np.array_equal(other[split][0], x) and np.array_equal(other[split][1], y)


def test_to_bits_is_least_significant_first():
    from minigrad_plugins.tasks.binary_subtraction import to_bits

    assert to_bits(np.array([1, 2, 8, 13])).tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1]]


def test_binary_subtraction_accuracy_needs_all_four_bits():
    """A perfect model scores 1; one wrong bit in one pair costs that pair; a model with
    3 of 4 bits right in every pair scores 0."""
    task = SUBTRACTION(SUBTRACTION.Config())
    split = task.make_data(np.random.default_rng(0))["test"]
    assert task.evaluate(StandIn(subtraction_logits), split, "test") == {"accuracy": 1.0}
    one_wrong = task.evaluate(StandIn(lambda x: subtraction_logits(x, wrong_bit=2, rows=[7])), split, "test")
    assert one_wrong["accuracy"] == pytest.approx(135 / 136)
    for bit in range(4):
        every_pair = task.evaluate(StandIn(lambda x: subtraction_logits(x, wrong_bit=bit)), split, "test")
        assert every_pair["accuracy"] == 0.0


def test_binary_subtraction_model_is_the_lectures():
    """Logits at every step, (batch, 4, 1); no biases; a scalar BCE loss with gradients."""
    task = SUBTRACTION(SUBTRACTION.Config(hidden_size=3))
    model = task.build_model()
    x, y = task.make_data(np.random.default_rng(0))["train"]
    assert model(mg.tensor(x[:5])).shape == (5, 4, 1)
    assert not any("bias" in name for name, _ in model.named_parameters())
    loss = task.loss(model, (x[:5], y[:5]))
    assert loss.shape == ()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_binary_subtraction_refuses_other_lengths():
    with pytest.raises(ValueError, match="steps"):
        SUBTRACTION(SUBTRACTION.Config(steps=3)).build_model()


def test_task_declarations():
    """Configs are TaskConfig dataclasses; metric and target as documented."""
    assert issubclass(ECHO.Config, mg.TaskConfig) and issubclass(SUBTRACTION.Config, mg.TaskConfig)
    assert ECHO.name == "echo" and ECHO.main_metric == "r2" and ECHO.target is None
    assert SUBTRACTION.name == "binary-subtraction" and SUBTRACTION.main_metric == "accuracy"
    assert SUBTRACTION.target == 1.0
    assert ECHO.Config().steps == 2 and SUBTRACTION.Config().steps == 4


@pytest.mark.parametrize("name", sorted(mg.tasks()))
def test_every_option_declares_its_help(name):
    """Every field of every registered task's Config is declared with ``option``: a one-line help
    in its metadata, which ``minigrad train TASK --help`` shows."""
    for field in dataclasses.fields(mg.tasks()[name].Config):
        text = field.metadata.get("help", "")
        assert text.strip() and "\n" not in text, f"{name}: --{field.name.replace('_', '-')} has no help"


def test_option_keeps_its_help_and_gives_each_config_its_own_mutable_default():
    @dataclasses.dataclass
    class Config(mg.TaskConfig):
        sizes: list = option([8, 4], "hidden sizes, one a layer")
        rate: float = option(0.5, "a rate", compare=False)

    one, other = Config(), Config()
    one.sizes.append(2)
    assert other.sizes == [8, 4]
    assert Config(rate=0.1) == Config()  # compare=False reaches dataclasses.field
    fields = {f.name: f for f in dataclasses.fields(Config)}
    assert fields["sizes"].metadata["help"] == "hidden sizes, one a layer" and fields["rate"].default == 0.5
    assert fields["lr"].metadata["help"] == "Adam's learning rate"  # inherited with its help


def test_r2_score():
    target = np.array([1.0, 2.0, 3.0, 4.0])
    assert mg.r2_score(target.copy(), target) == 1.0
    assert mg.r2_score(np.full(4, 2.5), target) == 0.0
    assert mg.r2_score(target[::-1].copy(), target) == pytest.approx(1 - 5 / 1.25)
    assert math.isnan(mg.r2_score(np.zeros(3), np.ones(3)))  # a constant target has no variance


# -- a few epochs with every cell ---------------------------------------------------------------


def cells():
    registered = mg.cells()
    return [pytest.param(c, marks=pytest.mark.skipif(c not in registered, reason=f"{c} not installed")) for c in CELLS]


@pytest.mark.parametrize("cell", cells())
@pytest.mark.parametrize(
    "task_class, options",
    [(ECHO, {"samples": 24, "batch_size": 4}), (SUBTRACTION, {"batch_size": 17})],
    ids=["echo", "binary-subtraction"],
)
def test_each_task_trains_with_each_cell(task_class, options, cell):
    """Two epochs run, the metrics are finite and in range."""
    metrics = Trainer(task_class(task_class.Config(cell=cell, epochs=2, **options)), progress=False).fit()
    check_metrics(task_class, metrics)


@pytest.mark.parametrize(
    "task_class, options",
    [(ECHO, {"samples": 24, "batch_size": 4}), (SUBTRACTION, {"batch_size": 17})],
    ids=["echo", "binary-subtraction"],
)
def test_each_task_trains_bidirectional_and_stacked(task_class, options):
    config = task_class.Config(cell="gru", num_layers=2, bidirectional=True, hidden_size=3, epochs=2, **options)
    check_metrics(task_class, Trainer(task_class(config), progress=False).fit())


def check_metrics(task_class, metrics):
    assert metrics["epochs"] == 2 and metrics["seconds"] >= 0
    assert all(math.isfinite(v) for v in metrics.values())
    if task_class is ECHO:
        assert set(metrics) == {"r2", "mse", "epochs", "seconds"}
        assert metrics["r2"] <= 1 and metrics["mse"] >= 0
    else:
        assert set(metrics) == {"accuracy", "epochs", "seconds"}
        assert 0 <= metrics["accuracy"] <= 1
        assert (metrics["accuracy"] * 136) == pytest.approx(round(metrics["accuracy"] * 136))  # whole pairs


def test_names_split_is_stratified_and_padding_is_marked():
    """names: 80/20 per language (a tenth of the 80 for validation), one-hot letters up to each
    name's length and zeros after it, every name used exactly once."""
    task = mg.tasks()["names"]()
    data = task.make_data(np.random.default_rng(0))
    total = sum(len(split[2]) for split in data.values())
    assert total == len(task.names) == 4400
    for label, language in enumerate(task.classes):
        count = task.languages.count(language)
        assert abs(np.sum(data["test"][2] == label) - 0.2 * count) <= 1
    x, lengths, _ = data["train"]
    assert np.all(x.sum(axis=2)[np.arange(x.shape[1]) < lengths[:, None]] == 1)
    assert np.all(x.sum(axis=2)[np.arange(x.shape[1]) >= lengths[:, None]] == 0)


def test_names_trains_an_epoch_and_writes_its_confusion_matrix(tmp_path):
    """One epoch of the names task runs end to end: a test accuracy in [0, 1] and confusion.png."""
    from minigrad.train import Trainer

    task_class = mg.tasks()["names"]
    trainer = Trainer(task_class(task_class.Config(epochs=1, hidden_size=8)), tmp_path, progress=False)
    metrics = trainer.fit()
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["epochs"] == 1
    assert (tmp_path / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_char_lm_learns_hello_and_generates_it(tmp_path):
    """The lecture's example: trained on "hello" it predicts "ello" from "hell" (accuracy 1.0),
    and greedy generation from "h" writes "hello", each character fed back as the next input."""
    from minigrad.train import Trainer

    task_class = mg.tasks()["char-lm"]
    task = task_class(task_class.Config(epochs=300))
    trainer = Trainer(task, tmp_path, progress=False)
    assert trainer.fit()["accuracy"] == 1.0
    with mg.no_grad():
        assert task.generate(trainer.model, "h", 4, 0.0, np.random.default_rng(0)) == "hello"
        assert task.generate(trainer.model, "he", 3, 0.0, np.random.default_rng(0)) == "hello"
        with pytest.raises(ValueError, match="prompt"):
            task.generate(trainer.model, "x", 3, 0.0, np.random.default_rng(0))


def test_char_lm_options_are_checked(tmp_path):
    """A missing --data file, a text no longer than --steps and --bidirectional are refused clearly."""
    task_class = mg.tasks()["char-lm"]
    with pytest.raises(FileNotFoundError, match="--data"):
        task_class(task_class.Config(data=str(tmp_path / "missing.txt")))
    with pytest.raises(ValueError, match="--steps"):
        task_class(task_class.Config(steps=5))
    with pytest.raises(ValueError, match="--bidirectional"):
        task_class.Config(bidirectional=True)
    text = tmp_path / "text.txt"
    text.write_text("abcabcabd" * 40)
    data = task_class(task_class.Config(data=str(text), steps=8)).make_data(np.random.default_rng(0))
    x, y = data["train"]  # character codes, one window a row
    assert x.shape[1] == 8 and y.shape[1] == 8 and set(np.unique(x)) == {0, 1, 2, 3}
    assert np.array_equal(x[0, 1:], y[0, :-1])  # each target is the next input


def test_pm25_windows_blocks_and_classes():
    """pm25: each window is `steps` consecutive normalised hours and its target the next hour's
    pm2.5; predicting in blocks of 1 equals predicting each window; in a block of 4 the first hour
    uses real data only and later hours see the block's own predictions fed back; classes follow
    the boundaries 50, 100, 150, 200, 300."""
    task_class = mg.tasks()["pm25"]
    task = task_class(task_class.Config(steps=6, hidden_size=4))
    data = task.make_data(np.random.default_rng(0))
    hours = task.hours["test"]
    x, y = data["test"]
    np.testing.assert_array_equal(x[10], hours[10:16])
    assert y[10] == hours[16, 0]
    model = task.build_model()
    with mg.no_grad():
        direct = task.predict(model, x[:40])
        np.testing.assert_allclose(task.in_blocks(model, x[:40], 1), direct)
        blocks = task.in_blocks(model, x[:40], 4)
        np.testing.assert_allclose(blocks[::4], direct[::4])  # the first hour of each block: real inputs
        fed = x[1:2].copy()
        fed[0, -1, 0] = blocks[0]
        np.testing.assert_allclose(blocks[1], task.predict(model, fed)[0])
    values = task.normalise_pm25(np.array([10, 60, 120, 160, 250, 500]))
    np.testing.assert_array_equal(task.classes(values), [0, 1, 2, 3, 4, 5])


def test_pm25_trains_an_epoch_and_reports_every_block():
    """One epoch of each mode runs and reports the metric for the whole test year and in blocks
    of 8, 4, 2 and 1 hours (1 h equals the plain score)."""
    from minigrad.train import Trainer

    task_class = mg.tasks()["pm25"]
    for mode, key in (("regression", "r2"), ("classify", "accuracy")):
        metrics = Trainer(task_class(task_class.Config(mode=mode, epochs=1, steps=8)), progress=False).fit()
        assert {f"{key}_{h}h" for h in (8, 4, 2, 1)} <= set(metrics)
        assert metrics[f"{key}_1h"] == metrics[key] and all(np.isfinite(v) for v in metrics.values())


def test_pm25_scores_the_blocks_on_the_split_named_test():
    """evaluate knows its split by name: the block-by-block figures are for the split called
    "test", whatever arrays it holds (a copy of them too), and not for "valid"."""
    task_class = mg.tasks()["pm25"]
    task = task_class(task_class.Config(steps=8, hidden_size=4))  # at least 8 hours: blocks of 8 feed back 7
    x, y = task.make_data(np.random.default_rng(0))["test"]
    part = (x[:100].copy(), y[:100].copy())
    model = task.build_model()
    with mg.no_grad():
        test, valid = task.evaluate(model, part, "test"), task.evaluate(model, part, "valid")
    assert set(valid) == {"r2"} and set(test) == {"r2", "r2_8h", "r2_4h", "r2_2h", "r2_1h"}
    assert test["r2"] == valid["r2"] == test["r2_1h"]


def test_names_learns_a_users_file_and_refuses_a_bad_one(tmp_path):
    """--data: lower-cased names and their languages from a user's TAB file; bad files in one line."""
    names_task = mg.tasks()["names"]
    rows = [("Anna", "Italian"), ("Rossi", "Italian"), ("Conti", "Italian"), ("Bianchi", "Italian"), ("Mario", "Italian"),
            ("Schmidt", "German"), ("Becker", "German"), ("Wagner", "German"), ("Fischer", "German"), ("Schulz", "German")]  # fmt: skip
    good = tmp_path / "names.tsv"
    good.write_text("".join(f"{n}\t{lang}\n" for n, lang in rows), "utf-8")
    task = names_task(names_task.Config(data=str(good)))
    assert task.names == [n.lower() for n, _ in rows] and task.classes == ["German", "Italian"]
    assert sum(len(split[2]) for split in task.make_data(np.random.default_rng(0)).values()) == 10
    bad = tmp_path / "bad.tsv"
    bad.write_text("anna\n", "utf-8")
    with pytest.raises(ValueError, match="bad.tsv: line 1: expected name<TAB>language"):
        names_task(names_task.Config(data=str(bad)))
    with pytest.raises(FileNotFoundError, match="no such file"):
        names_task(names_task.Config(data=str(tmp_path / "missing.tsv")))
