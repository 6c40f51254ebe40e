"""Module and Parameter: named, nested collections of trainable tensors, as ``torch.nn``."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator

import numpy as np

from minigrad.errors import ShapeError
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module trains: it always requires grad, and assigning it to a
    Module attribute registers it under that name. It owns a copy of ``data``."""

    def __init__(self, data: Any, name: str | None = None, dtype: Any = None):
        data = data.data if isinstance(data, Tensor) else data
        super().__init__(np.array(data, dtype=dtype, copy=True), requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor(") :]


class Module:
    """Base class of layers and models. Subclasses set Parameters and sub-Modules as
    attributes in ``__init__`` and compute in ``forward``; ``module(x)`` calls ``forward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before setting {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- walking the tree --------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first, with dotted names."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first, as ``named_modules()`` without the names."""
        yield self
        for child in self._modules.values():
            yield from child.modules()

    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name (``"encoder.weight"``), each once."""
        seen: set[int] = set()
        for name, parameter in self._every_named_parameter():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter

    def _every_named_parameter(self) -> Iterator[tuple[str, Parameter]]:
        """Own parameters, then each sub-module's under the names ``parameter_key`` gives them."""
        yield from self._parameters.items()
        for child_name, child in self._modules.items():
            for name, parameter in child._every_named_parameter():
                yield self.parameter_key(f"{child_name}.{name}"), parameter

    def parameter_key(self, path: str) -> str:
        """The name this module gives the parameter at dotted ``path`` below it, in
        ``named_parameters()``, ``state_dict()`` and ``load_state_dict()``. The path itself by
        default; Recurrent overrides it to give PyTorch's flat names (``weight_ih_l0``)."""
        return path

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, each once, in ``named_parameters()``'s order, without making the names
        (``zero_grad`` runs every step)."""
        seen: set[int] = set()
        for module in self.modules():
            for parameter in module._parameters.values():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield parameter

    def label_parameters(self) -> Module:
        """Set each parameter's ``name``, the label graph pictures show, to its name in
        ``named_parameters()``. A model calls it at the end of ``__init__``; a parameter has one
        label, so a model that holds another relabels it by its own names. Returns the module."""
        for name, parameter in self.named_parameters():
            parameter.name = name
        return self

    # -- state -------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Name -> a copy of each parameter's array (later training does not change it)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters of the same names, keeping this module's dtype.

        With ``strict`` (the default) missing or unexpected names are an error; a shape
        that differs always is, naming the parameter.
        """
        own = dict(self.named_parameters())
        if strict:
            missing = [name for name in own if name not in state_dict]
            unexpected = [name for name in state_dict if name not in own]
            if missing or unexpected:
                parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                    [f"unexpected {', '.join(unexpected)}"] if unexpected else []
                )
                raise KeyError(f"load_state_dict: {'; '.join(parts)}")
        for name, value in state_dict.items():
            if name not in own:
                continue
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != own[name].shape:
                raise ShapeError(
                    f"load_state_dict: {name} has shape {array.shape} in the state dict "
                    f"but {own[name].shape} in the model"
                )
        for name, value in state_dict.items():
            if name in own:
                own[name].data[...] = value.data if isinstance(value, Tensor) else value

    # -- modes and dtypes ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (``grad = None``, as PyTorch 2)."""
        for parameter in self.parameters():
            parameter.grad = None

    def to_dtype(self, dtype: Any) -> Module:
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        return self

    def float(self) -> Module:
        """Cast every parameter to float32."""
        return self.to_dtype(np.float32)

    def double(self) -> Module:
        """Cast every parameter to float64 (the default)."""
        return self.to_dtype(np.float64)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        """As torch.nn.Module's: ``Name(extra)``, or with sub-modules one line each, indented."""
        extra = self.extra_repr()
        if not self._modules:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + [
            f"({name}): {child!r}".replace("\n", "\n  ") for name, child in self._modules.items()
        ]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleList(Module):
    """A list of sub-modules registered under "0", "1", ... (``torch.nn.ModuleList``), so that
    ``train()``, ``eval()``, ``named_modules()``, ``parameters()`` and ``repr`` reach them."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
