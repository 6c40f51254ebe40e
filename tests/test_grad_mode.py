"""Grad mode, tags and anomaly detection: per thread, as in PyTorch, and no state shared between tensors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import minigrad as mg

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaNs and overflows are made on purpose


def _in_thread(function):
    """Run ``function`` in a new thread and return what it returned (re-raising what it raised)."""
    result = {}

    def run():
        try:
            result["value"] = function()
        except BaseException as error:  # handed back to the test's thread
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _records(x: mg.Tensor) -> bool:
    return (x * 2.0).requires_grad


def test_no_grad_in_one_thread_leaves_another_thread_recording():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    inside, other_thread_started = threading.Event(), threading.Event()
    seen = {}

    def evaluate():
        with mg.no_grad():
            inside.set()
            other_thread_started.wait(5)
            seen["evaluating"] = _records(x)

    worker = threading.Thread(target=evaluate)
    worker.start()
    assert inside.wait(5)
    seen["training"] = _records(x)  # while the other thread sits inside no_grad()
    other_thread_started.set()
    worker.join()
    assert seen == {"training": True, "evaluating": False}


def test_a_new_thread_starts_with_grad_enabled_whatever_its_creator_has():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        assert not _records(x)
        assert _in_thread(lambda: (mg.is_grad_enabled(), _records(x))) == (True, True)


def test_time_step_tags_belong_to_their_thread():
    with mg.time_step(3, layer=1):
        made_elsewhere = _in_thread(lambda: mg.tensor([1.0]) * 2.0)
        made_here = mg.tensor([1.0]) * 2.0
    assert made_here.tags == {"step": 3, "layer": 1}
    assert made_elsewhere.tags == {} and made_elsewhere.step is None


def test_tensors_of_one_block_share_no_mutable_tags():
    with mg.time_step(2):
        a = mg.tensor([1.0])
        b = a * 2.0
    with pytest.raises(TypeError):
        a.tags["step"] = 5  # read-only: changing one tensor's tags cannot change another's
    b.tags = {**b.tags, "step": 7}  # a tensor gets new tags by replacing them
    assert (a.step, b.step) == (2, 7)


def test_detect_anomaly_is_per_thread_and_off_by_default():
    x = mg.tensor([0.0], requires_grad=True)
    assert np.isnan((x / x).data).all()  # off: NaN goes through silently
    with mg.detect_anomaly():
        assert np.isnan(_in_thread(lambda: (x / x).data)).all()  # other threads are not checked
        with pytest.raises(mg.AnomalyError):
            x / x


def test_detect_anomaly_names_the_op_step_and_shape_of_a_forward_nan():
    x = mg.tensor(-np.ones((2, 3)), requires_grad=True, name="x")
    with mg.detect_anomaly(), mg.time_step(4), pytest.raises(mg.AnomalyError) as caught:
        x.log()
    message = str(caught.value)
    assert "\n" not in message
    for part in ("NaN", "'log'", "forward", "time step 4", "(2, 3)", "x"):
        assert part in message


def test_detect_anomaly_finds_an_infinite_gradient_going_backward():
    """sqrt at 0 is finite going forward; its slope 1/(2 sqrt(x)) is infinite going backward."""
    x = mg.tensor([0.0, 1.0], requires_grad=True, name="x")
    with mg.detect_anomaly():
        with mg.time_step(2):
            y = x**0.5
        loss = y.sum()
        with pytest.raises(mg.AnomalyError) as caught:
            loss.backward()
    message = str(caught.value)
    for part in ("infinity", "backward", "x", "(2,)"):
        assert part in message


def test_an_exploding_rnn_overflows_at_a_named_step():
    """A recurrent weight far above 1 doubles the state every step; with float32 the product
    overflows to inf, and detect_anomaly names the first step where it does."""
    W = mg.tensor(np.full((1, 1), 1e6, dtype=np.float32), requires_grad=True, name="W")
    s = mg.tensor(np.ones((1, 1), dtype=np.float32))
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as caught:
        for t in range(1, 20):
            with mg.time_step(t):
                s = s @ W  # no squashing: 1e6 ** t overflows float32 (max ~3.4e38) at t = 7
    assert "time step 7" in str(caught.value) and "'matmul'" in str(caught.value)


def test_grad_mode_switches_restore_after_an_error():
    with pytest.raises(ZeroDivisionError), mg.no_grad(), mg.detect_anomaly(), mg.time_step(9):
        raise ZeroDivisionError
    x = mg.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert y.requires_grad and y.tags == {}
    with pytest.raises(mg.AnomalyError):  # anomaly detection is off again: this would raise inside it
        with mg.detect_anomaly():
            mg.tensor([np.inf]) * 1.0
    assert np.isinf((mg.tensor([np.inf]) * 1.0).data).all()
