"""Loss functions, built from primitive ops so that backward() derives their gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import ShapeError
from minigrad.nn.layers import integer_ids
from minigrad.tensor import Tensor, as_tensor


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(name: str, prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape:
        raise ShapeError(f"{name}: prediction {prediction.shape} and target {target.shape} must have the same shape")


def mse_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((prediction - target)^2)."""
    target = as_tensor(target, prediction.dtype)
    _same_shape("mse_loss", prediction, target)
    diff = prediction - target
    return _reduce(diff * diff, reduction)


def bce_with_logits(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on raw scores: -[y log sigmoid(x) + (1-y) log(1 - sigmoid(x))].

    Written as softplus(x) - x*y, which equals it exactly and never takes log(0).
    """
    target = as_tensor(target, logits.dtype)
    _same_shape("bce_with_logits", logits, target)
    return _reduce(logits.softplus() - logits * target, reduction)


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy: -log softmax(logits)[target], classes on the last axis.

    ``logits`` is (..., C) and ``target`` holds integer class indices of shape (...).
    """
    classes = logits.shape[-1]
    target = integer_ids(target, "cross_entropy: target class indices", classes)
    if logits.shape[:-1] != target.shape:
        raise ShapeError(f"cross_entropy: logits {logits.shape} need a target of shape {logits.shape[:-1]}, got {target.shape}")
    log_probs = logits.reshape(-1, classes).log_softmax(axis=-1)
    picked = log_probs[np.arange(target.size), target.reshape(-1)]
    return _reduce(-picked.reshape(target.shape), reduction)
