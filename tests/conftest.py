"""Shared test set-up: the Hypothesis profiles.

* ``default`` -- for a developer: 25 random examples per property, no deadline
  (a slow first call, e.g. an import, must not fail a test).
* ``ci``      -- for CI: the same number of examples, but derandomized, so every CI run
  draws the same examples and a red run can be reproduced; no example database.

The profile is ``ci`` when the environment variable ``CI`` is ``true`` (CI sets it),
otherwise ``default``; ``HYPOTHESIS_PROFILE=name`` picks one explicitly.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True)

_in_ci = os.environ.get("CI", "").strip().lower() in {"true", "1"}
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _in_ci else "default"))
