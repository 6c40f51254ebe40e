"""KaTeX for the documentation site: fetched when the site is built, never committed.

    python scripts/katex.py      # fetch KaTeX once (if not cached) and check it; prints the file

The site typesets its equations in the reader's browser with KaTeX (MIT licence), and it carries
KaTeX's files itself, so a page needs no network. KaTeX is not our code, so the repository holds
only the version and the hash of its package: the first build fetches the package with npm
(``npm pack``) into build/katex/ (git ignores build/), checks the hash, and every build copies
the files the pages need out of it (scripts/mkdocs_hooks.py, run by ``mkdocs build``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.19.1"
# The package's integrity string, in npm's own format (``npm view katex@0.19.1 dist.integrity``
# prints the same): a changed or corrupted download fails the check instead of reaching the site.
INTEGRITY = "sha512-jG8uKntjSEcm2EpQOh0XturpPuuC9r3Sq5HLHdsFdWZT27E672SF19QEi+of0/YeOy15lDgRhKvr5614uRrEfA=="

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "katex"
SITE_FOLDER = "katex"  # where the files go in the site: katex/katex.min.js, katex/fonts/, ...

# What the pages use, as (folder or file in the package, path under SITE_FOLDER). The CSS finds
# its fonts at fonts/ next to itself, so the two keep their relative places. LICENSE gets a
# .txt ending only so that a browser shows it instead of downloading it.
WANTED = {
    "package/dist/katex.min.js": "katex.min.js",
    "package/dist/katex.min.css": "katex.min.css",
    "package/dist/contrib/auto-render.min.js": "contrib/auto-render.min.js",
    "package/dist/fonts/": "fonts/",
    "package/LICENSE": "LICENSE.txt",
}


class KatexError(RuntimeError):
    """KaTeX could not be fetched or did not pass the check; the message is one line."""


def integrity(path: Path) -> str:
    """The file's hash in npm's integrity format, ``sha512-<base64>``."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def tarball() -> Path:
    """KaTeX's package file, fetched into build/katex/ on first use and checked every time."""
    path = CACHE / f"katex-{VERSION}.tgz"
    if not path.exists():
        _fetch(path)
    if integrity(path) != INTEGRITY:
        raise KatexError(f"{path} does not match the pinned hash of KaTeX {VERSION}; delete it and build again")
    return path


def _fetch(path: Path) -> None:
    """Fetch the package with npm into a temporary folder, check it, then move it into place.

    The move is atomic, so two builds at once (a test and ``make docs``) never see half a file.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise KatexError(f"npm is needed once to fetch KaTeX {VERSION} for the site's math: apt-get install npm")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        command = [npm, "pack", f"katex@{VERSION}", "--pack-destination", folder, "--loglevel=error"]
        command.append("--ignore-scripts")  # take the files only; run nothing from the package
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            raise KatexError(f"npm pack katex@{VERSION} did not finish in 300 seconds") from None
        fetched = Path(folder) / path.name
        if done.returncode != 0 or not fetched.exists():
            raise KatexError(f"npm pack katex@{VERSION} failed: {_npm_reason(done.stderr)}")
        if integrity(fetched) != INTEGRITY:
            raise KatexError(f"the KaTeX {VERSION} that npm fetched does not match the pinned hash")
        os.replace(fetched, path)


def _npm_reason(stderr: str) -> str:
    """npm's own one-line reason from its error output (which also gives a code and a log file)."""
    for line in stderr.splitlines():
        text = line.removeprefix("npm error").removeprefix("npm ERR!").strip()
        if text and not text.startswith(("code ", "A complete log")):
            return text
    return "npm gave no reason"


def site_files() -> dict[str, bytes]:
    """The files the site needs, as {path in the site: content}, read from the checked package."""
    files = {}
    with tarfile.open(tarball()) as archive:
        for member in archive.getmembers():
            target = _site_path(member.name)
            if target is not None and member.isfile():
                files[f"{SITE_FOLDER}/{target}"] = archive.extractfile(member).read()
    missing = [name for name in WANTED.values() if not any(path.startswith(f"{SITE_FOLDER}/{name}") for path in files)]
    if missing:
        raise KatexError(f"KaTeX {VERSION}'s package lacks {', '.join(missing)}")
    return files


def _site_path(member: str) -> str | None:
    """Where a file of the package goes in the site's KaTeX folder, or None if the site does not use it."""
    for source, target in WANTED.items():
        if member == source:
            return target
        if source.endswith("/") and member.startswith(source) and "/" not in member[len(source) :]:
            return target + member[len(source) :]
    return None


if __name__ == "__main__":
    try:
        print(tarball())
    except KatexError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
