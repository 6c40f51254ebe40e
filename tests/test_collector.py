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


def _two_threads(first_leaves_first: bool) -> list[bool]:
    """Two threads pause the collector at once; one leaves while the other is still inside.
    Returns what each saw while inside (collector enabled?), then the state after both left."""
    import threading

    both_inside, first_left = threading.Barrier(2), threading.Event()
    seen: list[bool] = []

    def train(leaves_first: bool) -> None:
        with collector_paused():
            both_inside.wait(5)
            if not leaves_first:
                first_left.wait(5)
                seen.append(gc.isenabled())  # the other thread has left: still paused for this one
        if leaves_first:
            first_left.set()

    threads = [threading.Thread(target=train, args=(first_leaves_first,)),
               threading.Thread(target=train, args=(not first_leaves_first,))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return seen + [gc.isenabled()]


@pytest.mark.parametrize("first_leaves_first", [True, False])
def test_two_threads_pausing_at_once_leave_the_collector_on(first_leaves_first):
    assert _two_threads(first_leaves_first) == [False, True]


def test_two_threads_leave_a_collector_that_was_off_off():
    gc.disable()
    assert _two_threads(True) == [False, False]
