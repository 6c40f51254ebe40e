"""The site's equations as a reader sees them: the site is built with ``mkdocs build`` and its
pages opened in headless Chromium (tests/browser.py), where KaTeX must have typeset every
equation from the files the site carries. Playwright answers the page's requests from the built
site on disk; any other request is blocked and fails the test, as does a console error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, missing

ROOT = Path(__file__).resolve().parents[1]
# A made-up address: nothing is served there, Playwright answers it from the built site.
ORIGIN = "http://minigrad-site.test/"
# Pages that must hold display and inline math, each typeset.
MATH_PAGES = ["lecture/04-bptt/", "lecture/05-vanishing-exploding/", "lecture/06-lstm-gru/", "lecture/notation/", "autodiff/"]
# Left in the text a reader sees, these mean an equation was not typeset: a delimiter
# (\( \) \[ \] $$), a $...$ pair that arithmatex did not take, or a TeX command such as \frac.
RAW_TEX = re.compile(r"\\[()\[\]]|\$\$|\$[^$\n]+\$|\\[A-Za-z]+")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built into a temporary folder (not --strict: this test is about the math)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if shutil.which("npm") is None and "npm" in done.stderr:
            missing("npm is not installed, and the site's build needs it once to fetch KaTeX")
        pytest.fail(f"mkdocs build failed:\n{done.stderr[-3000:]}", pytrace=False)
    return out


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


class SiteSession:
    """Pages of the built site, served from disk; what went wrong is collected."""

    def __init__(self, browser: Any, site: Path):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []  # console errors, uncaught exceptions
        self.blocked: list[str] = []  # requests outside the site
        self.not_found: list[str] = []  # requests for files the site lacks
        self.served: list[str] = []  # the site's files the pages used
        self.context.route("**/*", self._route)
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _route(self, route: Any) -> None:
        url = route.request.url.split("#")[0].split("?")[0]
        if not url.startswith(ORIGIN):
            if not url.startswith("data:"):
                self.blocked.append(url)
            route.abort()
            return
        path = self.site / url[len(ORIGIN) :]
        if path.is_dir():
            path = path / "index.html"
        if path.is_file():
            self.served.append(url[len(ORIGIN) :])
            route.fulfill(path=path)
        else:
            self.not_found.append(url)
            route.fulfill(status=404, body="not found")

    def open(self, page: str) -> Any:
        """Open one page of the site (a folder such as ``autodiff/``) once its fonts are in."""
        self.page.goto(ORIGIN + page)
        self.page.evaluate("document.fonts.ready.then(() => true)")
        return self.page

    def check(self) -> None:
        """Fail on any request outside the site, file missing from it, or error in a page."""
        assert not self.blocked, f"a page tried to fetch from outside the site: {self.blocked}"
        assert not self.not_found, f"a page asked for files the site lacks: {self.not_found}"
        assert not self.errors, f"errors in the pages: {self.errors}"


@pytest.fixture
def session(browser, site):
    session = SiteSession(browser, site)
    yield session
    session.check()
    session.context.close()


# What the page shows, gathered in the page: the equations arithmatex left, which of them KaTeX
# has not typeset, the equations KaTeX could not parse, and the text a reader sees outside code
# and typeset math (KaTeX keeps each equation's TeX source in hidden MathML, left out here).
SURVEY = """() => {
  const equations = [...document.querySelectorAll(".arithmatex")];
  const survey = {
    inline: equations.filter((e) => e.tagName === "SPAN").length,
    display: equations.filter((e) => e.tagName === "DIV").length,
    untypeset: equations.filter((e) => !e.querySelector(".katex")).map((e) => e.textContent),
    broken: [...document.querySelectorAll(".katex-error")].map((e) => e.textContent),
  };
  document.querySelectorAll("pre, code, .katex").forEach((e) => e.remove());
  survey.text = document.body.innerText;
  return survey;
}"""


def raw_tex(text: str) -> list[str]:
    """The lines of ``text`` holding a TeX delimiter, which a typeset page no longer shows."""
    return [line.strip() for line in text.splitlines() if RAW_TEX.search(line)]


def site_pages(site: Path) -> list[str]:
    """Every page MkDocs wrote (``index.html`` of each folder), as addresses under the site."""
    pages = sorted(path.parent.relative_to(site).as_posix() + "/" for path in site.rglob("index.html"))
    return [page.removeprefix("./") for page in pages]


@pytest.mark.parametrize("page", MATH_PAGES)
def test_equations_are_typeset_with_the_sites_own_katex(session, site, page):
    if not (site / page / "index.html").exists():
        pytest.fail(f"{page} is not in the site", pytrace=False)
    survey = session.open(page).evaluate(SURVEY)
    assert survey["display"] > 0 and survey["inline"] > 0, f"{page} should show display and inline math"
    assert not survey["untypeset"], f"{page}: equations KaTeX did not typeset: {survey['untypeset']}"
    assert not survey["broken"], f"{page}: equations KaTeX could not read: {survey['broken']}"
    assert not raw_tex(survey["text"]), f"{page} shows raw TeX: {raw_tex(survey['text'])}"
    # The script, style sheet and fonts came from the site's own katex/ folder.
    used = set(session.served)
    assert {"katex/katex.min.js", "katex/contrib/auto-render.min.js", "katex/katex.min.css"} <= used
    assert any(path.startswith("katex/fonts/KaTeX_") for path in used), "no KaTeX font was loaded"
    loaded = session.page.evaluate(
        "[...document.fonts].filter((f) => f.family.includes('KaTeX') && f.status === 'loaded').length"
    )
    assert loaded > 0


def test_no_page_shows_raw_tex(session, site):
    pages = site_pages(site)
    assert len(pages) > 10 and "" in pages  # the home page is "" and every other page is a folder
    problems = {}
    for page in pages:
        survey = session.open(page).evaluate(SURVEY)
        found = survey["untypeset"] + survey["broken"] + raw_tex(survey["text"])
        if found:
            problems[page or "index"] = found
    assert not problems, "pages with math that was not typeset:\n" + "\n".join(
        f"  {page}: {found}" for page, found in problems.items()
    )


def test_the_site_carries_katex_and_its_licence(site):
    licence = (site / "katex" / "LICENSE.txt").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Khan Academy" in licence
    assert (site / "katex" / "katex.min.js").stat().st_size > 0
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "KaTeX" in home and "MIT licence" in home  # the footer's attribution
