"""Checkpoints: a model's arrays in one safetensors file, with JSON metadata.

    mg.save(model, "run/model.safetensors", metadata={"task": "echo", "cell": "lstm"})
    state_dict, metadata = mg.load("run/model.safetensors")
    check_compatible(model, state_dict, metadata, {"task": "echo", "cell": "lstm"})

A safetensors file is a JSON header (names, dtypes, shapes, and string metadata)
followed by the raw bytes of the arrays: loading one reads numbers and never runs
code. minigrad's metadata is one header entry, ``"minigrad"``, holding a
JSON object: ``format`` (the layout version), ``minigrad_version`` (who wrote it) and
the caller's keys (task, cell, config, ...). Extra arrays, e.g. optimizer state for
resuming, are stored under the prefix ``__extra__/`` so they never mix with parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from minigrad.errors import ShapeError
from minigrad.io import write_atomically
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

FORMAT = 1  # the newest layout this minigrad writes and reads
METADATA_KEY = "minigrad"
EXTRA_PREFIX = "__extra__/"
DTYPES = (  # what both NumPy and safetensors can hold
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float32", "float64"
)


class CheckpointError(ValueError):
    """A checkpoint cannot be used: one line naming the file and what is wrong with it."""


def save(
    module_or_state_dict: Module | Mapping[str, np.ndarray | Tensor],
    path: str | os.PathLike,
    metadata: dict[str, Any] | None = None,
    extra_arrays: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write a module's ``state_dict()`` (or a dict of arrays) to ``path``, atomically.

    ``metadata`` is JSON-serialisable user data (a ``TypeError`` names the key that is
    not); ``format`` and ``minigrad_version`` are reserved and written by ``save``.
    ``extra_arrays`` (e.g. optimizer state) come back only from ``load_with_extras``.
    The file is written beside ``path`` and renamed into place, so an interrupted save
    leaves the previous checkpoint intact. Returns the path written.
    """
    import minigrad  # here, not at the top: minigrad/__init__.py imports this module

    path = Path(path)
    state = module_or_state_dict.state_dict() if isinstance(module_or_state_dict, Module) else module_or_state_dict
    for name in state:
        if name == "__metadata__" or name.startswith(EXTRA_PREFIX):
            raise ValueError(f"save: {name!r} is a reserved name and cannot be a parameter name")
    extras = {EXTRA_PREFIX + name: value for name, value in (extra_arrays or {}).items()}
    arrays = {name: _contiguous(name, value) for name, value in {**state, **extras}.items()}
    header = {**_check_json(metadata or {}), "format": FORMAT, "minigrad_version": minigrad.__version__}
    data = safetensors.numpy.save(arrays, metadata={METADATA_KEY: json.dumps(header)})
    write_atomically(path, data)
    return path


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by ``save``: ``(state_dict, metadata)``.

    ``metadata`` holds the caller's keys plus ``format`` and ``minigrad_version``.
    A file that is missing, unreadable, not safetensors, not minigrad's, corrupt, or
    from a newer minigrad raises ``CheckpointError`` naming the file and the problem.
    """
    state_dict, metadata, _ = load_with_extras(path)
    return state_dict, metadata


def load_with_extras(
    path: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """As ``load``, plus the ``extra_arrays`` given to ``save``: ``(state_dict, metadata, extras)``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {error.strerror or error}") from None
    try:
        arrays = safetensors.numpy.load(data)
    except safetensors.SafetensorError as error:
        reason = "the file is empty" if not data else str(error).replace("\n", " ")
        raise CheckpointError(f"{path}: not a safetensors file ({reason})") from None
    except KeyError as error:  # safetensors knows the dtype, NumPy does not (bfloat16, float8)
        raise CheckpointError(f"{path}: holds arrays of dtype {error.args[0]}, which NumPy cannot read") from None
    metadata = _read_metadata(path, data)
    state_dict, extras = {}, {}
    for name, array in arrays.items():  # np.array: a writable copy, not a view of the file's bytes
        if name.startswith(EXTRA_PREFIX):
            extras[name[len(EXTRA_PREFIX) :]] = np.array(array)
        else:
            state_dict[name] = np.array(array)
    return state_dict, metadata, extras


def check_compatible(
    module: Module,
    state_dict: Mapping[str, np.ndarray],
    metadata: Mapping[str, Any],
    expected: Mapping[str, Any],
    path: str | os.PathLike | None = None,
) -> None:
    """Check ``metadata`` against ``expected`` (e.g. ``{"task": "echo", "cell": "lstm"}``),
    then load ``state_dict`` into ``module``.

    The first mismatch, or a missing, unexpected or wrongly shaped parameter, raises a
    one-line ``CheckpointError`` (starting with ``path`` when given); the module is then
    unchanged.
    """
    where = f"{path}: " if path is not None else ""
    for key, want in expected.items():
        if key not in metadata:
            raise CheckpointError(f"{where}the checkpoint's metadata has no {key!r} (expected {want!r})")
        if metadata[key] != want:
            raise CheckpointError(f"{where}the checkpoint was saved with {key}={metadata[key]!r}, expected {want!r}")
    try:
        module.load_state_dict(dict(state_dict))
    except (KeyError, ShapeError) as error:
        raise CheckpointError(f"{where}the checkpoint does not fit the model: {error.args[0]}") from None


def _contiguous(name: str, value: np.ndarray | Tensor) -> np.ndarray:
    """The array to store: C-contiguous (safetensors copies raw memory), of a storable dtype."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.dtype.name not in DTYPES:
        raise TypeError(f"save: {name!r} has dtype {array.dtype}, which a checkpoint cannot hold ({', '.join(DTYPES)})")
    return array if array.flags.c_contiguous else array.copy(order="C")


def _check_json(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` as a dict, or a TypeError naming the first key JSON cannot encode."""
    if not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict, got {type(metadata).__name__}")
    for key, value in metadata.items():
        try:
            json.dumps({key: value})
        except (TypeError, ValueError) as error:
            raise TypeError(f"save: metadata[{key!r}] is not JSON-serialisable: {error}") from None
    return dict(metadata)


def _read_metadata(path: Path, data: bytes) -> dict[str, Any]:
    """The ``"minigrad"`` entry of a valid safetensors file's header, checked."""
    header_size = int.from_bytes(data[:8], "little")  # the safetensors layout: u64 size, then JSON
    text = (json.loads(data[8 : 8 + header_size]).get("__metadata__") or {}).get(METADATA_KEY)
    if text is None:
        raise CheckpointError(f"{path}: a safetensors file but not a minigrad checkpoint (no 'minigrad' metadata)")
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: corrupt minigrad metadata ({error})") from None
    version = metadata.get("format") if isinstance(metadata, dict) else None
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: corrupt minigrad metadata (no valid format version: {text[:80]!r})")
    if version > FORMAT:
        raise CheckpointError(
            f"{path}: written by a newer minigrad ({metadata.get('minigrad_version', '?')}, checkpoint format "
            f"{version}); this minigrad reads format {FORMAT} and older: upgrade minigrad"
        )
    return metadata
