"""minigrad: a small reverse-mode autodiff framework on NumPy that shows how
backpropagation unrolls through time.

    import minigrad as mg
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

from minigrad import nn, ops, optim, plugins, testing, viz
from minigrad.autograd import primitive
from minigrad.checkpoint import CheckpointError, load, save
from minigrad.errors import AnomalyError, GradcheckError, GraphFreedError, ShapeError
from minigrad.grad_mode import detect_anomaly, is_grad_enabled, no_grad, time_step
from minigrad.gradcheck import gradcheck
from minigrad.hookspecs import hookimpl
from minigrad.jit import JitWarning, jit
from minigrad.ops import exp, log, log_softmax, matmul, relu, sigmoid, softmax, softplus, tanh
from minigrad.rng import default_rng, manual_seed
from minigrad.task import Task, TaskConfig, r2_score
from minigrad.tensor import Tensor, as_tensor, concat, gradients, split, stack, tensor, unbind

__version__ = "0.1.0"


def cells() -> dict[str, type]:
    """Every registered cell, built-in or third-party: name -> Cell subclass."""
    return {name: p.cls for name, p in plugins.provided("minigrad_cells", nn.Cell).items()}


def tasks() -> dict[str, type]:
    """Every registered task: name -> task class."""
    return {name: p.cls for name, p in plugins.provided("minigrad_tasks", Task).items()}


__all__ = [
    "Tensor",
    "tensor",
    "as_tensor",
    "no_grad",
    "detect_anomaly",
    "AnomalyError",
    "is_grad_enabled",
    "time_step",
    "gradients",
    "primitive",
    "concat",
    "stack",
    "split",
    "unbind",
    "exp",
    "log",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "softmax",
    "log_softmax",
    "matmul",
    "gradcheck",
    "jit",
    "JitWarning",
    "GradcheckError",
    "GraphFreedError",
    "ShapeError",
    "manual_seed",
    "default_rng",
    "hookimpl",
    "Task",
    "TaskConfig",
    "r2_score",
    "cells",
    "tasks",
    "plugins",
    "testing",
    "viz",
    "nn",
    "optim",
    "ops",
    "save",
    "load",
    "CheckpointError",
]
