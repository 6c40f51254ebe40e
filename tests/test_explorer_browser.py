"""The explorer as a learner meets it: the page ``mg.viz.explore`` writes, opened from disk in
headless Chromium (tests/browser.py), driven with the keyboard, the mouse and the page's API
(``window.minigradExplorer``). The network is blocked; a console error or a request fails the test.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from browser import Session, chromium

import minigrad as mg
from minigrad.cli import lecture_loss
from minigrad.plugins import provided
from minigrad.viz.tape import collect

STEPS = 3


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def rnn(tmp_path_factory):
    """The lecture's 3-step RNN explored: the page's path, its trace, and W (the recurrent weight)."""
    loss = lecture_loss(provided("minigrad_cells", mg.nn.Cell)["rnn"].cls, STEPS, 1, False, 3, 1, 0)
    (w,) = [n for n in collect(loss) if n.name and n.name.endswith("(W)")]
    path = tmp_path_factory.mktemp("explorer") / "rnn.html"
    explorer = mg.viz.explore(loss, path)
    return path, explorer.trace, w


@pytest.fixture
def session(browser):
    session = Session(browser)
    yield session
    session.check()
    session.close()


def api(page, expression: str):
    return page.evaluate(f"window.minigradExplorer.{expression}")


def shown_numbers(locator) -> list[str]:
    return [text.strip() for text in locator.all_inner_texts()]


def assert_equal_to_precision_shown(texts: list[str], expected: np.ndarray) -> None:
    """Each number as the page shows it equals ``expected`` to half a unit in its last digit shown
    (plus the trace's own rounding to 6 significant digits)."""
    expected = np.asarray(expected, dtype=np.float64).ravel()
    assert len(texts) == expected.size
    for text, value in zip(texts, expected):
        shown = Decimal(text)
        tolerance = 0.5 * 10.0 ** shown.as_tuple().exponent + 5e-6 * abs(value)
        assert abs(float(shown) - value) <= tolerance, f"shown {text}, expected {value}"


def box_classes(page, svg: str) -> list[str]:
    return page.locator(f'#graph g.node[id="{svg}"]').get_attribute("class").split()


def test_backward_walk_step_by_step_with_the_keyboard(session, rnn):
    path, trace, w = rnn
    page = session.open(path)
    page.get_by_role("button", name="Backward pass").click()
    assert api(page, "mode") == "backward"
    assert api(page, "current()") is None
    assert api(page, "total()") == len(trace["backward_order"])
    nodes = {node["id"]: node for node in trace["nodes"]}
    for k, expected in enumerate(trace["backward_order"], start=1):
        page.keyboard.press("ArrowRight")
        assert api(page, "current()") == expected, f"step {k}"
        if nodes[expected]["svg"]:  # the op backward() visits now is the one highlighted
            assert "mg-current" in box_classes(page, nodes[expected]["svg"])
    # the hash is written a few times a second: the last write comes shortly after the last step
    page.wait_for_function(f"location.hash === '#backward/{len(trace['backward_order'])}'")

    # at the end, W's running sum is its gradient: one contribution per time step
    (parameter,) = [p for p in trace["parameters"] if p["name"] == w.name]
    card = page.locator(f'.mg-param[data-param="{parameter["id"]}"]')
    assert card.locator("ol.mg-contributions li").count() == STEPS
    assert f"{STEPS} of {STEPS} contributions" in card.inner_text()
    assert_equal_to_precision_shown(shown_numbers(card.locator(".mg-sum td")), w.grad)


def test_the_running_sum_grows_one_time_step_at_a_time(session, rnn):
    path, trace, w = rnn
    page = session.open(path, "#backward/0")
    (parameter,) = [p for p in trace["parameters"] if p["name"] == w.name]
    card = page.locator(f'.mg-param[data-param="{parameter["id"]}"]')
    assert "nothing has arrived yet" in card.inner_text()
    for count, contribution in enumerate(parameter["contributions"], start=1):
        api(page, f"step({contribution['index'] + 1})")  # the op that sends it is current
        assert card.locator("ol.mg-contributions li").count() == count
        assert_equal_to_precision_shown(shown_numbers(card.locator(".mg-sum td")), contribution["sum"]["values"])


def test_the_bar_chart_grows_as_the_walk_reaches_each_state(session, rnn):
    path, trace, _ = rnn
    page = session.open(path, "#backward/0")
    bars = page.locator("#mg-bars .mg-slot")
    assert bars.count() == len(trace["states"]) == STEPS
    assert page.locator("#mg-bars .mg-slot.mg-reached").count() == 0
    for k in range(1, len(trace["backward_order"]) + 1):
        api(page, f"step({k})")
        reached = sum(state["index"] < k for state in trace["states"])
        assert page.locator("#mg-bars .mg-slot.mg-reached").count() == reached, f"step {k}"
    assert reached == STEPS


def test_forward_mode_steps_through_the_recording_order(session, rnn):
    path, trace, _ = rnn
    page = session.open(path)
    assert api(page, "mode") == "forward"  # the page opens on the forward pass
    nodes = {node["id"]: node for node in trace["nodes"]}
    order = trace["forward_order"]
    for k, expected in enumerate(order, start=1):
        page.keyboard.press("ArrowRight")
        assert api(page, "current()") == expected
    for earlier in order[:-1]:  # every op before the last is marked computed
        svg = nodes[earlier]["svg"]
        if svg and svg != nodes[order[-1]]["svg"]:
            assert "mg-done" in box_classes(page, svg)
    page.keyboard.press("ArrowRight")  # past the end: stays at the end
    assert api(page, "current()") == order[-1]


def test_the_hash_opens_the_page_at_a_step_and_follows_it(session, rnn):
    path, trace, _ = rnn
    page = session.open(path, "#backward/5")
    assert api(page, "mode") == "backward"
    assert api(page, "current()") == trace["backward_order"][4]
    assert page.locator("#mg-slider").input_value() == "5"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("location.hash === '#backward/6'")
    page.reload()
    page.wait_for_function("window.minigradExplorer && window.minigradExplorer.ready")
    assert api(page, "current()") == trace["backward_order"][5]
    page.evaluate("location.hash = '#backward/2'")  # a hash typed into the address bar
    page.wait_for_function(f"window.minigradExplorer.current() === '{trace['backward_order'][1]}'")
    api(page, "setMode('forward')")
    assert (api(page, "mode"), api(page, "current()")) == ("forward", None)
    page.wait_for_function("location.hash === '#forward/0'")


def test_home_end_the_slider_and_the_buttons(session, rnn):
    path, trace, _ = rnn
    order = trace["backward_order"]
    page = session.open(path, "#backward/3")
    page.keyboard.press("End")
    assert api(page, "current()") == order[-1]
    page.keyboard.press("Home")
    assert api(page, "current()") is None
    page.locator("#mg-slider").fill("7")
    assert api(page, "current()") == order[6]
    page.locator("#mg-forward").click()
    assert api(page, "current()") == order[7]
    page.locator("#mg-back").click()
    page.locator("#mg-back").click()
    assert api(page, "current()") == order[5]
    page.locator("#mg-last").click()
    assert api(page, "current()") == order[-1]
    page.locator("#mg-first").click()
    assert api(page, "current()") is None
    assert api(page, "step(-4)") == 0 and api(page, f"step({len(order) + 9})") == len(order)  # clamped


def test_space_plays_and_pauses(session, rnn):
    path, _, _ = rnn
    page = session.open(path, "#backward/0")
    page.select_option("#mg-speed", "40")
    page.locator("body").focus()
    page.keyboard.press(" ")
    page.wait_for_function("window.minigradExplorer.current() !== null")
    page.keyboard.press(" ")
    paused_at = api(page, "current()")
    page.wait_for_timeout(300)  # at 40 steps a second, a running player would have moved on
    assert api(page, "current()") == paused_at
    assert "play" in page.locator("#mg-play").inner_text()
    page.locator("#mg-play").click()  # the button has the focus now: space still toggles once
    page.wait_for_function(f"window.minigradExplorer.current() !== {paused_at!r}")
    page.keyboard.press(" ")
    paused_at = api(page, "current()")
    page.wait_for_timeout(300)
    assert api(page, "current()") == paused_at


def test_a_clicked_node_shows_its_details(session, rnn):
    path, trace, _ = rnn
    page = session.open(path)
    (state,) = [n for n in trace["nodes"] if n["label"] == "s_2"]
    page.locator(f'#graph g.node[id="{state["svg"]}"]').click()
    details = page.locator("#mg-details")
    assert details.is_visible()
    text = details.inner_text()
    assert "s_2" in text and "tanh" in text and "t = 2" in text and "1×3" in text and "float64" in text
    assert_equal_to_precision_shown(shown_numbers(details.locator(".mg-value td")), state["value"]["values"])
    assert_equal_to_precision_shown(shown_numbers(details.locator(".mg-grad td")), state["grad"]["values"])
    page.locator("#mg-details-close").click()
    assert not details.is_visible()


def test_a_hovered_node_shows_its_details(session, rnn):
    path, trace, w = rnn
    page = session.open(path)
    (node,) = [n for n in trace["nodes"] if n["name"] == w.name]
    page.locator(f'#graph g.node[id="{node["svg"]}"]').hover()
    details = page.locator("#mg-details")
    assert details.is_visible() and w.name in details.inner_text()
    assert_equal_to_precision_shown(shown_numbers(details.locator(".mg-grad td")), w.grad)


def test_a_screenshot_of_the_backward_walk(session, rnn, tmp_path):
    path, trace, _ = rnn
    page = session.open(path, f"#backward/{len(trace['backward_order']) * 2 // 3}")
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot))
    from PIL import Image

    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1400, 900)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 50  # text, boxes and heat maps, not a blank page


def test_the_network_guard_sees_a_request(session, rnn):
    """The guard the other tests rely on: a page that tries the network is caught."""
    path, _, _ = rnn
    page = session.open(path)
    page.evaluate("fetch('https://example.com/x').catch(() => null)")
    page.wait_for_timeout(200)
    assert session.blocked == ["https://example.com/x"]
    session.blocked.clear()
    session.errors.clear()  # the aborted request's console line


def test_inline_in_a_notebook_frame(session, rnn, tmp_path):
    """Jupyter shows the explorer's _repr_html_ (the page in an iframe's srcdoc): it works there too."""
    _, trace, _ = rnn
    loss = lecture_loss(provided("minigrad_cells", mg.nn.Cell)["rnn"].cls, STEPS, 1, False, 3, 1, 0)
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{mg.viz.explore(loss)._repr_html_()}</body></html>", encoding="utf-8")
    session.allowed = host.resolve().as_uri()
    session.page.goto(session.allowed)
    frame = session.page.frames[1]
    frame.wait_for_function("window.minigradExplorer && window.minigradExplorer.ready === true")
    frame.locator("#mg-mode-backward").click()
    frame.locator("body").press("ArrowRight")
    assert frame.evaluate("window.minigradExplorer.current()") == trace["backward_order"][0]
