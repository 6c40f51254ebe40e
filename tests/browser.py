"""Headless Chromium for the browser tests, through Playwright, with no browser download.

Chromium is the system's (Debian's ``chromium`` package: ``shutil.which("chromium")``), so
Playwright's own browser download is never needed. Every page opens with the network blocked:
any request other than the page's own file is aborted and recorded, and so is every console
error and uncaught exception; ``Session.check()`` fails the test on any of them.

Without Playwright or Chromium the tests skip, except in CI (``CI=true``), where a browser
test must run: there they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1"}

# Headless, no sandbox (CI runs as root), nothing started that would reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
]  # fmt: skip


def missing(reason: str) -> None:
    """Skip the test, or fail it in CI, where the browser tests must run."""
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


def chromium() -> Iterator[Any]:
    """Yield a launched headless Chromium (for a fixture); closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (pip install playwright, or the dev extra)")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        missing("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Session:
    """One page opened from disk with the network blocked; what went wrong is collected."""

    def __init__(self, browser: Any, width: int = 1400, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []  # console errors and uncaught exceptions
        self.blocked: list[str] = []  # every request that was not the page's own file
        self.allowed = ""
        self.context.route("**/*", self._route)
        self.page.on("request", self._request)
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _request(self, request: Any) -> None:
        if request.url.split("#")[0] != self.allowed and not request.url.startswith("data:"):
            self.blocked.append(request.url)

    def _route(self, route: Any) -> None:
        if route.request.url.split("#")[0] == self.allowed:
            route.continue_()
        else:
            route.abort()

    def open(self, path: Path, hash: str = "") -> Any:
        """Open ``path`` from disk (file://), at ``hash`` if given; waits until the explorer is drawn."""
        self.allowed = path.resolve().as_uri()
        self.page.goto(self.allowed + hash)
        self.page.wait_for_function("window.minigradExplorer && window.minigradExplorer.ready === true")
        return self.page

    def check(self) -> None:
        """Fail on any console error, uncaught exception, or attempted request."""
        assert not self.blocked, f"the page tried to fetch: {self.blocked}"
        assert not self.errors, f"errors in the page: {self.errors}"

    def close(self) -> None:
        self.context.close()
