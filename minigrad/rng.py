"""One seeded random generator for every initialisation, so the same seed gives the same run."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator that ``mg.default_rng()`` returns (as ``torch.manual_seed``)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_rng() -> np.random.Generator:
    """The global ``numpy.random.Generator`` that layers and cells draw their initial weights from."""
    return _generator
