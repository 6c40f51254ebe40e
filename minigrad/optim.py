"""Optimizers: turn the gradients backward() left in ``.grad`` into parameter updates."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from minigrad.tensor import Tensor


class Optimizer:
    """Holds the parameters; ``step()`` updates them in place, ``zero_grad()`` clears their grads."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (PyTorch's form):
    v <- momentum * v + g;  p <- p - lr * v."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        for p, v in zip(self.params, self.velocity):
            if p.grad is None:
                continue
            if self.momentum:
                v *= self.momentum
                v += p.grad
                p.data -= self.lr * v
            else:
                p.data -= self.lr * p.grad


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps scaled by running averages of the gradient and its square,
    with the bias correction for the first steps."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.betas, self.eps, self.steps = betas, eps, 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        # Updates each parameter has had: one skipped (grad None) does not advance its bias correction (as PyTorch).
        self.param_steps = [0] * len(self.params)

    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        for i, (p, m, v) in enumerate(zip(self.params, self.m, self.v)):
            if p.grad is None:
                continue
            self.param_steps[i] += 1
            correction1, correction2 = 1 - beta1 ** self.param_steps[i], 1 - beta2 ** self.param_steps[i]
            m *= beta1
            m += (1 - beta1) * p.grad
            v *= beta2
            v += (1 - beta2) * p.grad * p.grad
            p.data -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; ``torch.optim.AdamW``): before
    each step every weight shrinks by ``lr * weight_decay`` of itself, apart from the gradient,
    so large weights cost something even where the loss is flat. ``weight_decay=0`` is Adam."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):  # fmt: skip
        super().__init__(params, lr, betas, eps)
        if weight_decay < 0:
            raise ValueError(f"AdamW: weight_decay must be zero or more, got {weight_decay}")
        self.weight_decay = weight_decay

    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.data *= 1 - self.lr * self.weight_decay
        super().step()


def optimizer_state(optimizer: Optimizer) -> dict[str, np.ndarray]:
    """Everything an optimizer remembers between steps, as named arrays (for resuming)."""
    if isinstance(optimizer, Adam):
        state = {f"m.{i}": m for i, m in enumerate(optimizer.m)} | {f"v.{i}": v for i, v in enumerate(optimizer.v)}
        return state | {"param_steps": np.array(optimizer.param_steps), "steps": np.array(optimizer.steps)}
    if isinstance(optimizer, SGD):
        return {f"velocity.{i}": v for i, v in enumerate(optimizer.velocity)}
    raise TypeError(f"optimizer_state: unknown optimizer {type(optimizer).__name__}")


def load_optimizer_state(optimizer: Optimizer, state: dict[str, np.ndarray]) -> None:
    """Put back what ``optimizer_state`` took, in place."""
    if isinstance(optimizer, Adam):
        for i, (m, v) in enumerate(zip(optimizer.m, optimizer.v)):
            m[...], v[...] = state[f"m.{i}"], state[f"v.{i}"]
        optimizer.param_steps = [int(n) for n in state["param_steps"]]
        optimizer.steps = int(state["steps"])
    elif isinstance(optimizer, SGD):
        for i, v in enumerate(optimizer.velocity):
            v[...] = state[f"velocity.{i}"]
