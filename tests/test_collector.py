"""Python's cyclic collector is paused while a tape is built and walked, and only then.

(Recurrent.forward's pause is tested in test_recurrent.py.)
"""

from __future__ import annotations

import gc

import pytest

import minigrad as mg
from minigrad.collector import collector_paused
from minigrad.train import Trainer


@pytest.fixture(autouse=True)
def collector_on():
    """Each test starts with the collector on and leaves it as the test found it."""
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_collector_paused_inside_and_back_after_even_on_an_exception():
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("boom")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_trainer_pauses_the_collector_for_each_whole_step_only():
    """From the loss to the optimizer step the collector is off; between steps it is on."""
    task = mg.tasks()["echo"](mg.tasks()["echo"].Config(samples=16, batch_size=4, epochs=1))
    trainer = Trainer(task, progress=False)
    during: list[bool] = []
    loss = task.loss

    def recording_loss(model, batch):
        during.append(gc.isenabled())
        return loss(model, batch)

    task.loss = recording_loss
    step = trainer.optimizer.step

    def recording_step():
        during.append(gc.isenabled())
        step()

    trainer.optimizer.step = recording_step
    trainer.train_epoch(1)
    assert during and not any(during)
    assert gc.isenabled()
