"""Gradient clipping: the standard cure for exploding gradients in BPTT."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from minigrad.tensor import Tensor


def clip_grad_norm_(parameters: Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients together so their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping, as ``torch.nn.utils.clip_grad_norm_``.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total
