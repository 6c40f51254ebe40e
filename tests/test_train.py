"""The Trainer: resuming equals an uninterrupted run, seeds reproduce runs bit for bit,
early stopping (target, patience), the best model kept, and the files a run writes."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.checkpoint import load_with_extras
from minigrad.train import Trainer

ECHO = mg.tasks()["echo"]
SUBTRACTION = mg.tasks()["binary-subtraction"]
PNG = b"\x89PNG\r\n\x1a\n"
SMALL = {  # a few cheap epochs of each task
    "echo": (ECHO, {"samples": 32, "batch_size": 4, "epochs": 4}),
    "binary-subtraction": (SUBTRACTION, {"batch_size": 8, "epochs": 4}),
}


def make(name, **options):
    """A task instance with the small configuration, ``options`` overriding it."""
    task_class, small = SMALL[name]
    return task_class(task_class.Config(**{**small, **options}))


def fit(task, out=None, resume=False):
    return Trainer(task, out, progress=False).fit(resume=resume)


def assert_same_arrays(a, b):
    """Same names, dtypes, shapes and bytes."""
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        assert a[name].tobytes() == b[name].tobytes(), f"{name} differs"


def without_seconds(metrics):
    return {k: v for k, v in metrics.items() if k != "seconds"}


def assert_same_run(dir_a, dir_b):
    """Two output directories hold the same run: weights, optimizer, history and metrics."""
    for name in ("model.safetensors", "last.safetensors"):
        state_a, meta_a, extras_a = load_with_extras(dir_a / name)
        state_b, meta_b, extras_b = load_with_extras(dir_b / name)
        assert_same_arrays(state_a, state_b)
        assert_same_arrays(extras_a, extras_b)
        # the same options, but for --epochs: a resumed run may be given a longer budget
        assert {**meta_a["config"], "epochs": 0} == {**meta_b["config"], "epochs": 0}
    trainer_a = load_with_extras(dir_a / "last.safetensors")[1]["trainer"]
    trainer_b = load_with_extras(dir_b / "last.safetensors")[1]["trainer"]
    assert trainer_a["history"] == trainer_b["history"]
    assert trainer_a["shuffle"] == trainer_b["shuffle"]
    metrics_a = json.loads((dir_a / "metrics.json").read_text())
    metrics_b = json.loads((dir_b / "metrics.json").read_text())
    assert without_seconds(metrics_a) == without_seconds(metrics_b)


def scripted(values, start=0, **options):
    """An echo task whose validation r2 at epoch e is ``values[e - 1]`` (test metrics stay real).
    ``start``: epochs already done, for the task of a resumed run."""

    class Scripted(ECHO):
        epoch = start

        def evaluate(self, model, split, name):
            metrics = super().evaluate(model, split, name)
            if name == "valid":
                metrics["r2"] = values[self.epoch]
                self.epoch += 1
            return metrics

    return Scripted(ECHO.Config(**{**SMALL["echo"][1], **options}))


def listing(directory):
    return sorted(os.listdir(directory))


# -- resuming ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options",
    [
        ("echo", {}),
        ("echo", {"cell": "lstm", "batch_size": 5}),  # a last batch smaller than the others
        ("binary-subtraction", {}),
        ("binary-subtraction", {"cell": "gru"}),
    ],
)
def test_resume_equals_uninterrupted(tmp_path, name, options):
    """N epochs in one go, or k epochs then resumed to N: the same bits and metrics."""
    a, b = tmp_path / "a", tmp_path / "b"
    whole = fit(make(name, epochs=4, **options), a)
    fit(make(name, epochs=2, **options), b)
    resumed = fit(make(name, epochs=4, **options), b, resume=True)
    assert without_seconds(resumed) == without_seconds(whole)
    assert whole["epochs"] == 4
    assert_same_run(a, b)


def test_resume_twice_equals_uninterrupted(tmp_path):
    """1 + 1 + 2 epochs equal 4."""
    a, b = tmp_path / "a", tmp_path / "b"
    fit(make("echo", epochs=4), a)
    for epochs in (1, 2, 4):
        fit(make("echo", epochs=epochs), b, resume=epochs > 1)
    assert_same_run(a, b)


def test_resume_after_an_interrupt_mid_epoch_equals_uninterrupted(tmp_path):
    """Ctrl-C halfway through epoch 3: last.safetensors holds epoch 2, and resuming from it
    gives the uninterrupted run."""
    a, b = tmp_path / "a", tmp_path / "b"
    fit(make("echo", epochs=4), a)
    task, calls = make("echo", epochs=4), []
    real_loss = task.loss

    def loss(model, batch):
        calls.append(1)
        if len(calls) == 2 * 9 + 4:  # an epoch: 8 training batches (32 / 4), 1 validation batch
            raise KeyboardInterrupt
        return real_loss(model, batch)

    task.loss = loss
    with pytest.raises(KeyboardInterrupt):
        fit_with(task, b, jit=False)  # counts the task's loss calls: a replayed step makes none
    assert listing(b) == ["last.safetensors"]
    assert len(load_with_extras(b / "last.safetensors")[1]["trainer"]["history"]) == 2
    fit(make("echo", epochs=4), b, resume=True)
    assert_same_run(a, b)


def test_resume_with_a_changed_option_is_refused_naming_it(tmp_path):
    """Another lr: a one-line ValueError naming lr (and not epochs); the run's files untouched."""
    fit(make("echo", epochs=1), tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)}
    with pytest.raises(ValueError) as caught:
        fit(make("echo", epochs=3, lr=0.1), tmp_path, resume=True)
    message = str(caught.value).replace(str(tmp_path), "DIR")
    assert "\n" not in message and re.search(r"\blr\b", message) and "epochs" not in message
    assert {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)} == before


def test_resume_without_a_saved_run_is_a_checkpoint_error(tmp_path):
    with pytest.raises(mg.checkpoint.CheckpointError, match="last.safetensors"):
        fit(make("echo"), tmp_path, resume=True)


def test_resume_needs_an_output_directory():
    with pytest.raises(ValueError):
        fit(make("echo"), None, resume=True)


def test_resume_refuses_the_run_of_another_task(tmp_path):
    """Resuming echo from a binary-subtraction run is refused, naming the task it holds.

    BUG (minigrad/train.py, Trainer._resume): the saved metadata's "task" is never compared;
    the refusal only happens by accident (the configs differ in `samples`) and says
    "trained with other options (samples)", which passing --samples cannot fix. A task whose
    Config has the same fields would load the other task's weights (or fail on shapes).
    Fix: in _resume, `if metadata.get("task") != self.task.name: raise CheckpointError(
    f"{path}: holds a run of task {metadata.get('task')!r}, not {self.task.name!r}")`."""
    fit(make("binary-subtraction", epochs=1), tmp_path)
    with pytest.raises(ValueError) as caught:
        fit(make("echo", epochs=2), tmp_path, resume=True)
    assert "binary-subtraction" in str(caught.value)


def test_resume_keeps_counting_epochs_without_improvement(tmp_path):
    """With --patience, an interrupted run resumed stops at the same epoch as the whole run.

    BUG (minigrad/train.py, Trainer.fit, `since_best = 0`): the count of epochs without a
    better validation metric is not saved in last.safetensors and restarts at 0 on resume,
    so the resumed run trains longer than the uninterrupted one (5 epochs instead of 4 here).
    Fix: save `since_best` in the trainer state of _save_last and restore it in _resume
    (or recompute it from the history: epochs since the best record)."""
    values = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01, 0.0, -0.1, -0.2]
    a, b = tmp_path / "a", tmp_path / "b"
    whole = fit(scripted(values, epochs=10, patience=3), a)
    assert whole["epochs"] == 4  # best at 1, then 3 epochs without improvement
    fit(scripted(values, epochs=2, patience=3), b)
    resumed = fit(scripted(values, start=2, epochs=10, patience=3), b, resume=True)
    assert resumed["epochs"] == 4
    assert_same_run(a, b)


def test_resuming_a_finished_run_trains_no_further(tmp_path):
    """A run that reached the task's target before its last epoch is finished: resuming it
    with more epochs gives what the uninterrupted longer run gives (it stopped at the same epoch).

    BUG (minigrad/train.py, Trainer.fit): the loop restarts at len(history) + 1 without
    checking whether the saved run had already stopped (target reached, or patience used
    up), so it trains at least one more epoch and reports one epoch more than the whole run.
    Fix: before the loop, stop if the last history record reaches `task.target` or the
    (restored) since_best >= patience; or save a `stopped` flag in the trainer state."""
    options = {"hidden_size": 8, "lr": 0.05}
    a, b = tmp_path / "a", tmp_path / "b"
    whole = fit(make("binary-subtraction", epochs=40, **options), a)
    assert whole["epochs"] < 30 and whole["accuracy"] == 1.0  # stopped early in both runs
    fit(make("binary-subtraction", epochs=30, **options), b)
    resumed = fit(make("binary-subtraction", epochs=40, **options), b, resume=True)
    assert without_seconds(resumed) == without_seconds(whole)
    assert_same_run(a, b)


# -- seeds ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["echo", "binary-subtraction"])
def test_same_seed_same_run_bit_for_bit(tmp_path, name):
    """Two runs with one seed: identical weights, optimizer state, history and metrics."""
    a, b = tmp_path / "a", tmp_path / "b"
    metrics_a = fit(make(name, epochs=2, seed=7), a)
    np.random.seed(123), mg.manual_seed(99), mg.default_rng().normal(size=5)  # stray global draws change nothing
    metrics_b = fit(make(name, epochs=2, seed=7), b)
    assert without_seconds(metrics_a) == without_seconds(metrics_b)
    assert_same_run(a, b)


@pytest.mark.parametrize("name", ["echo", "binary-subtraction"])
def test_another_seed_gives_other_weights(name):
    one, other = Trainer(make(name, seed=1), progress=False), Trainer(make(name, seed=2), progress=False)
    for key, value in one.model.state_dict().items():  # initial weights
        assert not np.array_equal(value, other.model.state_dict()[key]), key
    one.fit(), other.fit()
    for key, value in one.model.state_dict().items():  # trained weights
        assert not np.array_equal(value, other.model.state_dict()[key]), key


def test_data_depends_only_on_the_seed():
    """Echo's data: the same for any cell, size, lr or global random state; other for another seed."""
    reference = Trainer(make("echo", seed=3), progress=False).data
    np.random.seed(1), mg.manual_seed(1)
    for options in ({"cell": "lstm"}, {"hidden_size": 9, "lr": 0.5, "batch_size": 1}, {"epochs": 1, "patience": 2}):
        data = Trainer(make("echo", seed=3, **options), progress=False).data
        for split in ("train", "valid", "test"):
            for got, want in zip(data[split], reference[split]):
                assert got.tobytes() == want.tobytes()
    other = Trainer(make("echo", seed=4), progress=False).data
    assert not np.array_equal(other["train"][0], reference["train"][0])


def test_data_is_what_the_task_makes_from_the_seed():
    """The trainer's data is make_data(default_rng([seed, 1])): what `minigrad eval` regenerates."""
    task = make("echo", seed=5)
    data = Trainer(task, progress=False).data
    again = task.make_data(np.random.default_rng([5, 1]))
    for split in ("train", "valid", "test"):
        for got, want in zip(data[split], again[split]):
            assert np.array_equal(got, want)


# -- early stopping and the best model -------------------------------------------------------


def test_binary_subtraction_stops_when_every_pair_is_right(tmp_path):
    """The target (accuracy 1.0) ends training before the maximum number of epochs."""
    metrics = fit(make("binary-subtraction", epochs=60, hidden_size=8, lr=0.05), tmp_path)
    history = load_with_extras(tmp_path / "last.safetensors")[1]["trainer"]["history"]
    assert metrics["epochs"] == len(history) < 60
    assert history[-1]["accuracy"] == 1.0 and all(h["accuracy"] < 1.0 for h in history[:-1])
    assert metrics["accuracy"] == 1.0


@pytest.mark.parametrize(
    "values, patience, epochs",
    [
        ([0.1, 0.5, 0.3, 0.4, 0.2, 0.9, 0.9, 0.9], 3, 5),  # best at 2, then 3 without improvement
        ([0.1, 0.5, 0.3, 0.6, 0.2, 0.1, 0.0, 0.0], 2, 6),  # an improvement resets the count
        ([0.5, 0.4, 0.4, 0.3, 0.5, 0.5, 0.5, 0.5], 2, 3),  # worse twice after the best
        ([0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0], 0, 8),  # 0: never stop early
    ],
)
def test_patience_stops_after_that_many_epochs_without_improvement(values, patience, epochs):
    metrics = fit(scripted(values, epochs=8, patience=patience))
    assert metrics["epochs"] == epochs


def test_the_best_model_is_kept_not_the_last(tmp_path):
    """Validation peaks at epoch 2 of 4: model.safetensors holds the weights after epoch 2
    (those of a 2-epoch run with the same seed), and metrics.json their test metrics."""
    values = [0.1, 0.5, 0.2, 0.1]
    best, short = tmp_path / "best", tmp_path / "short"
    metrics = fit(scripted(values, epochs=4), best)
    fit(scripted(values, epochs=2), short)
    kept = mg.load(best / "model.safetensors")[0]
    assert_same_arrays(kept, mg.load(short / "model.safetensors")[0])
    last = mg.load(best / "last.safetensors")[0]
    assert any(not np.array_equal(kept[k], last[k]) for k in kept)  # training went on after the best
    task = make("echo")
    model = task.build_model()
    model.load_state_dict(kept)
    with mg.no_grad():
        test = task.evaluate(model, task.make_data(np.random.default_rng([0, 1]))["test"], "test")
    assert {k: metrics[k] for k in test} == test
    assert json.loads((best / "metrics.json").read_text())["r2"] == test["r2"]


def test_the_kept_model_scores_the_best_validation_metric_of_a_real_run(tmp_path):
    """No scripting: a high learning rate makes validation r2 go up and down; the kept model's
    validation r2 is the maximum of the history, which is not the last epoch's."""
    for seed in range(1, 6):  # the first seed whose best epoch is not the last
        task = make("echo", lr=0.3, epochs=6, seed=seed)
        fit(task, tmp_path / str(seed))
        history = load_with_extras(tmp_path / str(seed) / "last.safetensors")[1]["trainer"]["history"]
        scores = [h["r2"] for h in history]
        if max(scores) > scores[-1]:
            break
    else:
        pytest.fail("no seed made validation worse at the end: the case this test is about")
    model = task.build_model()
    model.load_state_dict(mg.load(tmp_path / str(seed) / "model.safetensors")[0])
    with mg.no_grad():
        valid = task.evaluate(model, task.make_data(np.random.default_rng([seed, 1]))["valid"], "valid")
    assert valid["r2"] == max(scores)


# -- the files a run writes ----------------------------------------------------------------------


def test_outputs(tmp_path):
    """model.safetensors (with its metadata), metrics.json (flat) and loss.png; nothing half-written."""
    task = make("echo", epochs=2)
    metrics = fit(task, tmp_path)
    assert listing(tmp_path) == ["last.safetensors", "loss.png", "metrics.json", "model.safetensors"]
    state, metadata = mg.load(tmp_path / "model.safetensors")
    assert {"task", "cell", "config", "metrics", "format", "minigrad_version"} <= set(metadata)
    assert metadata["task"] == "echo" and metadata["cell"] == "rnn"
    assert metadata["config"] == task.config.as_dict()
    assert metadata["metrics"] == metrics and metadata["minigrad_version"] == mg.__version__
    assert set(state) == set(task.build_model().state_dict())
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == metrics
    assert set(written) == {"r2", "mse", "epochs", "seconds"}
    assert all(type(v) in (int, float) for v in written.values())  # flat: numbers only
    assert written["epochs"] == 2 and written["seconds"] >= 0
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG)


def test_binary_subtraction_metrics_file(tmp_path):
    fit(make("binary-subtraction", epochs=1), tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert set(written) == {"accuracy", "epochs", "seconds"}
    assert mg.load(tmp_path / "model.safetensors")[1]["task"] == "binary-subtraction"


def test_without_matplotlib_the_run_succeeds_with_a_note(tmp_path, monkeypatch):
    """matplotlib missing: no loss.png, a one-line note naming matplotlib, the other files written."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    trainer = Trainer(make("echo", epochs=1), tmp_path, progress=False)
    trainer.fit()
    assert listing(tmp_path) == ["last.safetensors", "metrics.json", "model.safetensors"]
    note = trainer.plot_note
    assert note and "\n" not in note and "matplotlib" in note


def test_a_failing_run_leaves_only_complete_files(tmp_path):
    """An exception in the task during epoch 3: only last.safetensors (epoch 2, loadable), no temporary files."""
    values = [0.1, 0.2]  # a third validation raises IndexError

    with pytest.raises(IndexError):
        fit(scripted(values, epochs=4), tmp_path)
    assert listing(tmp_path) == ["last.safetensors"]
    state, metadata = mg.load(tmp_path / "last.safetensors")
    assert len(metadata["trainer"]["history"]) == 2


def test_an_interrupt_while_writing_outputs_leaves_only_complete_files(tmp_path, monkeypatch):
    """Interrupted while drawing loss.png: model.safetensors and metrics.json are whole, no partial loss.png."""
    import minigrad.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(minigrad.train, "plot_history", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit(make("echo", epochs=1), tmp_path)
    assert listing(tmp_path) == ["last.safetensors", "metrics.json", "model.safetensors"]
    mg.load(tmp_path / "model.safetensors")
    json.loads((tmp_path / "metrics.json").read_text())


def test_without_an_output_directory_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metrics = fit(make("echo", epochs=1))
    assert set(metrics) == {"r2", "mse", "epochs", "seconds"}
    assert listing(tmp_path) == []


# -- dropout and the learning-rate schedule ------------------------------------------------------


class DroppingEcho(ECHO):
    """Echo with dropout on its input and a learning rate halved every epoch."""

    def build_model(self):
        model = super().build_model()
        model.drop = mg.nn.Dropout(0.5)
        plain = model.forward
        model.forward = lambda x: plain(model.drop(x))
        return model

    def learning_rate(self, epoch):
        return self.config.lr / 2 ** (epoch - 1)


def test_resume_with_dropout_and_a_schedule_equals_uninterrupted(tmp_path):
    """Dropout masks come from the seeded generator, which last.safetensors keeps, and the
    schedule is a function of the epoch: a resumed run is the uninterrupted one, bit for bit."""
    a, b = tmp_path / "a", tmp_path / "b"
    small = SMALL["echo"][1]
    whole = fit(DroppingEcho(ECHO.Config(**small)), a)
    fit(DroppingEcho(ECHO.Config(**{**small, "epochs": 2})), b)
    resumed = fit(DroppingEcho(ECHO.Config(**small)), b, resume=True)
    assert without_seconds(resumed) == without_seconds(whole)
    assert_same_run(a, b)


def test_the_schedule_sets_each_epochs_learning_rate_and_evaluation_runs_in_eval_mode():
    """The optimizer's lr follows ``task.learning_rate(epoch)``; validation and test see the
    model in eval mode (dropout off) and training resumes in train mode."""
    seen = []

    class Watching(DroppingEcho):
        def loss(self, model, batch):
            kind = "train" if mg.is_grad_enabled() else "eval"  # validation loss: no tape
            seen.append((kind, model.training, trainer.optimizer.lr))
            return super().loss(model, batch)

        def evaluate(self, model, split, name):
            seen.append(("eval", model.training, None))
            return super().evaluate(model, split, name)

    trainer = Trainer(Watching(ECHO.Config(**SMALL["echo"][1])), progress=False)
    trainer.fit()
    lrs = sorted({lr for kind, _, lr in seen if kind == "train"}, reverse=True)
    assert lrs == [trainer.config.lr / 2**k for k in range(4)]
    assert all(training for kind, training, _ in seen if kind == "train")
    assert not any(training for kind, training, _ in seen if kind == "eval")


def test_weight_decay_switches_the_trainer_to_adamw():
    """--weight-decay 0 trains with Adam; a positive value with AdamW at that decay; negative is refused."""
    plain = Trainer(make("echo"), progress=False)
    decayed = Trainer(make("echo", weight_decay=0.1), progress=False)
    assert type(plain.optimizer) is mg.optim.Adam
    assert type(decayed.optimizer) is mg.optim.AdamW and decayed.optimizer.weight_decay == 0.1
    with pytest.raises(ValueError, match="--weight-decay must be zero or more"):
        make("echo", weight_decay=-1.0)


# -- the carried state of truncated BPTT ----------------------------------------------------------


def test_the_trainer_carries_the_state_detached_and_starts_each_epoch_and_validation_afresh():
    """``loss_and_state`` gets None at the first batch of every epoch and of validation, and after
    that the state the batch before returned: the same values, detached (no history to backpropagate
    into). Validation carries its own state; training's next epoch does not see it."""
    calls = []  # (training?, the state handed in, the state returned)

    class Carrying(ECHO):
        def batches(self, split, batch_size, rng):
            return super().batches(split, 4, None)  # in order, as truncated BPTT's windows are; 4 in validation too

        def loss_and_state(self, model, batch, state):
            loss = self.loss(model, batch)
            final = (loss * 2, (loss * 3,))  # a stand-in state on the tape, nested like an LSTM's (h, c)
            calls.append((mg.is_grad_enabled(), state, final))
            return loss, final

    task = Carrying(ECHO.Config(**{**SMALL["echo"][1], "epochs": 2}))  # 8 training batches, 2 validation
    Trainer(task, progress=False, jit=False).fit()  # watches every call of the task: eager steps make them
    assert [training for training, _, _ in calls] == ([True] * 8 + [False] * 2) * 2
    for run in (calls[0:8], calls[8:10], calls[10:18], calls[18:20]):  # epoch 1, its validation, epoch 2, ...
        assert run[0][1] is None
        for (training, _, returned), (_, (double, (triple,)), _) in zip(run, run[1:]):
            assert returned[0].requires_grad == training  # on the tape while training
            assert not double.requires_grad and not triple.requires_grad
            assert double.item() == returned[0].item() and triple.item() == returned[1][0].item()


# -- mg.jit in the trainer -----------------------------------------------------------------


def fit_with(task, out, jit, resume=False):
    return Trainer(task, out, progress=False, jit=jit).fit(resume=resume)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_jitted_run_equals_an_eager_run_bit_for_bit(tmp_path, name):
    a, b = tmp_path / "eager", tmp_path / "jit"
    eager = fit_with(make(name), a, jit=False)
    jitted = fit_with(make(name), b, jit=True)
    assert without_seconds(eager) == without_seconds(jitted)
    assert_same_run(a, b)


def test_the_trainer_replays_where_the_step_qualifies():
    trainer = Trainer(make("echo", epochs=1), None, progress=False)
    assert trainer.jit
    trainer.fit()
    assert trainer._step.replays > 0 and not trainer._step.warned
    assert not trainer._step.warn  # by default a fall-back to eager is silent; --jit asks for it to be said
    assert Trainer(make("echo", epochs=1), None, progress=False, jit=True)._step.warn


def test_a_resumed_jitted_run_equals_an_uninterrupted_eager_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    fit_with(make("echo", epochs=4), a, jit=False)
    fit_with(make("echo", epochs=2), b, jit=True)
    fit_with(make("echo", epochs=4), b, jit=True, resume=True)
    assert_same_run(a, b)
