"""Errors raised on purpose: they name the op and the shapes or values, in one line."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def test_matmul_inner_dimension_message_is_exact():
    """A matmul with mismatched inner dimensions names the op, both shapes and both sizes."""
    a, b = mg.tensor(np.ones((3, 4))), mg.tensor(np.ones((5, 2)))
    with pytest.raises(mg.ShapeError) as info:
        a @ b
    assert str(info.value) == "matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ"


def test_matmul_error_also_from_function_and_with_grad():
    """mg.matmul and inputs that require grad give the same ShapeError (no partial recording)."""
    a = mg.tensor(np.ones((2, 3)), requires_grad=True)
    b = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(mg.ShapeError, match=r"^matmul: \(2, 3\) @ \(2, 3\): inner dimensions 3 and 2 differ$"):
        mg.matmul(a, b)


def test_add_shape_error_names_op_and_both_shapes():
    """Adding (3, 4) and (5,) raises ShapeError naming add and both shapes."""
    with pytest.raises(mg.ShapeError) as info:
        mg.tensor(np.ones((3, 4))) + mg.tensor(np.ones(5))
    message = str(info.value)
    assert message.startswith("add:")
    assert "(3, 4)" in message and "(5,)" in message
    assert "\n" not in message


def test_shape_error_is_a_value_error():
    """ShapeError subclasses ValueError, so generic handlers catch it."""
    assert issubclass(mg.ShapeError, ValueError)


@pytest.mark.parametrize(
    ("op_name", "apply"),
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("pow", lambda a, b: a**b),
    ],
)
@settings(max_examples=20, deadline=None)
@given(shapes=st.tuples(*[hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)] * 2))
def test_binary_ops_name_themselves_and_both_shapes(op_name, apply, shapes):
    """Every elementwise binary op given shapes NumPy cannot broadcast raises a one-line
    ShapeError that starts with the op's name and contains both shapes, in order."""
    shape_a, shape_b = shapes
    assume(not _broadcastable(shape_a, shape_b))
    a = mg.tensor(np.ones(shape_a), requires_grad=True)
    b = mg.tensor(np.ones(shape_b))
    with pytest.raises(mg.ShapeError) as info:
        apply(a, b)
    message = str(info.value)
    assert message.startswith(f"{op_name}: ")
    assert message.index(str(shape_a)) < message.rindex(str(shape_b))
    assert "\n" not in message


@pytest.mark.parametrize(
    ("given_value", "type_name"),
    [
        ("abc", "str"),
        (None, "NoneType"),
        ({"a": 1}, "dict"),
        (1 + 2j, "complex"),
        ([[1, 2], [3]], "list"),
        (object(), "object"),
    ],
)
def test_non_numeric_input_raises_type_error_naming_it(given_value, type_name):
    """mg.tensor on something that is not numbers raises a one-line TypeError naming the type given."""
    with pytest.raises(TypeError) as info:
        mg.tensor(given_value)
    message = str(info.value)
    assert message.startswith("tensor:")
    assert type_name in message
    assert "\n" not in message


def test_non_numeric_string_value_is_shown():
    """The message shows the offending value, so a stray string is easy to find."""
    with pytest.raises(TypeError, match="'abc'"):
        mg.tensor(["abc"])


@pytest.mark.parametrize("data", [[1, 2, 3], np.arange(4), np.array([True, False]), 5])
def test_requires_grad_on_integer_or_bool_data_raises(data):
    """requires_grad=True on integer or bool data raises a TypeError naming the dtype."""
    dtype = np.asarray(data).dtype
    with pytest.raises(TypeError, match=str(dtype)) as info:
        mg.tensor(data, requires_grad=True)
    assert "\n" not in str(info.value)


def test_requires_grad_on_integers_cast_to_float_is_fine():
    """Integer data with dtype=float can require grad."""
    x = mg.tensor([1, 2, 3], requires_grad=True, dtype=float)
    assert x.requires_grad and x.dtype == np.float64


def test_item_on_many_elements_raises():
    """item() on a tensor with several elements raises ValueError naming its shape."""
    with pytest.raises(ValueError, match=r"\(2,\)"):
        mg.tensor([1.0, 2.0]).item()


def _one_line_cases():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    yield "matmul", lambda: x @ x
    yield "add", lambda: x + mg.tensor(np.ones(4))
    yield "reshape", lambda: x.reshape(4, 2)
    yield "index", lambda: x[5]
    yield "tensor", lambda: mg.tensor("nope")
    yield "requires_grad", lambda: mg.tensor([1, 2], requires_grad=True)
    yield "backward non-scalar", lambda: (x * 2.0).backward()
    yield "backward constant", lambda: mg.tensor(1.0).backward()
    yield "backward grad shape", lambda: (x * 2.0).backward(np.ones(3))
    yield "mse shapes", lambda: mg.nn.mse_loss(x, np.ones((3, 2)))
    yield "cross_entropy target", lambda: mg.nn.cross_entropy(x, np.array([0, 3]))
    yield "embedding index", lambda: mg.nn.Embedding(3, 2)(np.array([3]))
    yield "gradcheck nothing", lambda: mg.gradcheck(lambda a: a, [mg.tensor(1.0)])


@pytest.mark.parametrize(("label", "action"), list(_one_line_cases()), ids=[c[0] for c in _one_line_cases()])
def test_errors_are_one_line(label, action):
    """Every deliberate error message is a single non-empty line."""
    with pytest.raises((ValueError, TypeError, IndexError, RuntimeError, KeyError)) as info:
        action()
    message = str(info.value)
    assert message.strip() and "\n" not in message, f"{label}: {message!r}"


def test_index_past_the_end_is_an_index_error_so_iteration_stops():
    """x[len(x)] raises IndexError (as NumPy and PyTorch), so `for row in x` and `a, b = x` work."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(IndexError, match=r"\(2, 2\)"):
        x[2]
    first, second = x
    np.testing.assert_array_equal(second.data, [3.0, 4.0])
    assert len(list(x)) == 2
