"""The explorer's screenshot for README.md and docs/explorer.md: docs/images/explorer/explorer.png.

    .venv/bin/python docs/scripts/explorer_screenshot.py        (or: make docs-images; needs chromium)

Explores the 3-step RNN of ``minigrad explore rnn --steps 3`` and opens the page from disk in
headless Chromium the way the browser tests do (tests/browser.py: Debian's chromium through
Playwright, every request blocked, any console error fails). It shows the backward pass at the
visit that sends W its second contribution (t = 2): W's running sum holds two of its three
terms and the bar chart has the bars of t = 3 and t = 2. Only *fit* is clicked; nothing is hovered.
"""

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

if importlib.util.find_spec("playwright") is None or shutil.which("chromium") is None:
    # neither is needed by minigrad itself: keep the pictures' loop going
    print("explorer_screenshot.py: no playwright or chromium, docs/images/explorer/ left as it was", file=sys.stderr)
    sys.exit(0)

from playwright.sync_api import sync_playwright

import minigrad as mg
from minigrad.cli import lecture_loss
from minigrad.io import write_atomically

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import CHROMIUM_ARGS, Session  # the browser tests' set-up, shared

OUT = ROOT / "docs" / "images" / "explorer" / "explorer.png"
STEPS = 3

# the example of `minigrad explore rnn --steps 3`: hidden size 3, input size 1, seed 0
loss = lecture_loss(mg.cells()["rnn"], STEPS, 1, False, 3, 1, 0)
with tempfile.TemporaryDirectory() as folder:
    page_path = Path(folder) / "walk.html"
    trace = mg.viz.explore(loss, page_path, title=f"rnn · {STEPS} steps").trace
    (w,) = [p for p in trace["parameters"] if p["name"].endswith("(W)")]
    step = w["contributions"][1]["index"] + 1  # the visit that sends W its second term is current
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        session = Session(browser, width=1400, height=900)
        page = session.open(page_path, f"#backward/{step}")
        bars = page.locator("#mg-bars .mg-slot.mg-reached").count()
        assert bars == 2, f"expected the bars of t = 3 and t = 2, got {bars}"
        assert f"2 of {STEPS} contributions" in page.locator(f'.mg-param[data-param="{w["id"]}"]').inner_text()
        page.locator("#mg-zoom-fit").click()  # the whole graph above the bar chart
        page.mouse.move(0, 0)  # no hover card over the graph
        write_atomically(OUT, page.screenshot())
        session.check()
        session.close()
        browser.close()
print(f"wrote {OUT.relative_to(ROOT)} (backward step {step} of {len(trace['backward_order'])})")
