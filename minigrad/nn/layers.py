"""Linear and Embedding, the feed-forward layers every recurrent model ends or starts with, and Dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import ops
from minigrad.nn.module import Module, Parameter
from minigrad.rng import default_rng
from minigrad.tensor import Tensor


def integer_ids(values: Any, what: str, limit: int | None = None) -> np.ndarray:
    """``values`` (an array, list or Tensor of token or class ids) as an integer array.

    A dtype that is not integer is a TypeError, and with ``limit`` an id outside
    [0, limit) an IndexError; ``what`` starts the one-line message ("Embedding: indices").
    """
    ids = np.asarray(values.data if isinstance(values, Tensor) else values)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {ids.dtype}")
    if limit is not None and ids.size and (ids.min() < 0 or ids.max() >= limit):
        raise IndexError(f"{what} must be in [0, {limit}), got {ids.min()}..{ids.max()}")
    return ids


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b: the affine map every layer and cell is built on (PyTorch's weight layout)."""
    return ops.linear(x, weight) if bias is None else ops.linear(x, weight, bias)


class Linear(Module):
    """y = x W^T + b, with ``weight`` of shape (out_features, in_features) as in PyTorch.

    In the lecture's row-vector notation the output layer z_t = s_t V + b_v is a Linear
    whose ``weight`` is V transposed.
    Initialised uniformly in +-1/sqrt(in_features), as ``torch.nn.Linear``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / np.sqrt(in_features)
        rng = default_rng()
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: row i of ``weight`` is the vector for token i. Initialised N(0, 1) as PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(default_rng().standard_normal((num_embeddings, embedding_dim)))

    def forward(self, indices: Tensor | np.ndarray) -> Tensor:
        return self.weight[integer_ids(indices, "Embedding: indices", self.num_embeddings)]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by 1/(1-p), so
    the expected value is unchanged; in ``eval()`` mode, the identity (``torch.nn.Dropout``).
    The mask is drawn from ``mg.default_rng()``, so a seeded run repeats exactly; it is a
    constant of the tape, so the gradient flows only through the elements kept."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = default_rng().random(x.shape) >= self.p
        return x * (keep / (1 - self.p)).astype(x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"
