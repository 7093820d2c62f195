"""dtype promotion of mixed operands, as torch does it: a higher category wins (float over int
over bool), a Python number or a 0-d tensor does not widen a dimensioned tensor of its own
category, integers with a float give the default float dtype, and a gradient comes back in
its input's own dtype. Plain arrays of the tensor's category take the tensor's dtype (a
float64 target does not widen a float32 network: glassnet's documented choice, where torch
would widen)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import jvp
from glassnet.ops._util import result_dtype
from tests.conftest import require

INTS = np.array([1, 2, 3])  # int64


def _int_tensor():
    return gn.Tensor(INTS.copy())  # gn.tensor would make it float32


def _numpy_dtype(torch_dtype):
    torch = require("torch")
    return torch.empty((), dtype=torch_dtype).numpy().dtype


BINARY = {
    "add": (ops.add, lambda a, b: a + b),
    "sub": (ops.sub, lambda a, b: a - b),
    "mul": (ops.mul, lambda a, b: a * b),
    "div": (ops.div, lambda a, b: a / b),
    "maximum": (ops.maximum, None),
    "minimum": (ops.minimum, None),
}


def _torch_binary(torch, name, a, b):
    fn = BINARY[name][1]
    if fn is not None:
        return fn(a, b)
    b = b if isinstance(b, torch.Tensor) else torch.tensor(b)  # torch.maximum wants tensors
    return getattr(torch, name)(a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("scalar", [0.5, 2], ids=["float", "int"])  # torch refuses bool - int
def test_an_int_tensor_with_a_python_number_follows_torch(name, scalar):
    torch = require("torch")
    fn = BINARY[name][0]
    for out, expected in (
        (fn(_int_tensor(), scalar), _torch_binary(torch, name, torch.tensor(INTS), scalar)),
        (
            fn(scalar, _int_tensor()),
            _torch_binary(torch, name, torch.tensor(scalar), torch.tensor(INTS)),
        ),
    ):
        np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6)
        assert out.dtype == _numpy_dtype(expected.dtype), f"{name}: {out.dtype} vs {expected.dtype}"


def test_the_issue_examples_int_tensor_plus_and_times_a_half():
    t = _int_tensor()
    np.testing.assert_array_equal((t + 0.5).data, [1.5, 2.5, 3.5])  # was [1, 2, 3]
    np.testing.assert_array_equal((t * 0.5).data, [0.5, 1.0, 1.5])  # was [0, 0, 0]
    np.testing.assert_array_equal((0.5 * t).data, [0.5, 1.0, 1.5])
    np.testing.assert_array_equal((1.0 - t).data, [0.0, -1.0, -2.0])
    assert (t + 0.5).dtype == gn.backend.default_dtype() == np.float32


def test_a_float_number_with_ints_gives_the_default_dtype_float64_when_set():
    before = gn.backend.default_dtype()
    gn.backend.set_default_dtype(np.float64)
    try:
        assert (_int_tensor() * 0.5).dtype == np.float64
        assert ops.exp(_int_tensor()).dtype == np.float64
    finally:
        gn.backend.set_default_dtype(before)


def test_bool_and_int_with_ints_stay_integers():
    flags = gn.Tensor(np.array([True, False, True]))
    small = gn.Tensor(np.array([1, 2, 3], np.int32))
    assert (flags + 1).dtype == np.int64  # torch: bool tensor + int -> int64
    assert (flags * True).dtype == np.bool_
    assert (small + 1).dtype == np.int32  # a number does not widen int32
    assert (small * _int_tensor()).dtype == np.int64  # two dimensioned ints: the wider one
    assert (_int_tensor() * 2).dtype == np.int64
    np.testing.assert_array_equal((flags + 1).data, [2, 1, 2])


@pytest.mark.parametrize(
    "other",
    [
        0.5,
        np.float64(0.5),
        gn.tensor(np.array(0.5)),  # 0-d float64 tensor
        np.array(0.5),  # 0-d float64 array
        np.array([1, 2, 3]),  # integer array
        gn.Tensor(np.array([1, 2, 3])),  # integer tensor
        np.array([0.5, 1.5, 2.5]),  # float64 array: takes the tensor's dtype (see the docstring)
    ],
    ids=["number", "np_float64", "0d_tensor", "0d_array", "int_array", "int_tensor", "f64_array"],
)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_float32_stays_float32(name, other):
    fn = BINARY[name][0]
    t = gn.tensor(np.array([1.0, -2.0, 4.0], np.float32), requires_grad=True)
    for out in (fn(t, other), fn(other, t)):
        assert out.dtype == np.float32, f"{name}({type(other).__name__}) -> {out.dtype}"
    out.backward(np.ones(3, np.float32))
    assert t.grad.dtype == np.float32


def test_where_and_matmul_promote_too():
    torch = require("torch")
    condition = np.array([True, False, True])
    out = ops.where(condition, _int_tensor(), 0.5)
    expected = torch.where(torch.tensor(condition), torch.tensor(INTS), 0.5)
    np.testing.assert_array_equal(out.data, expected.numpy())
    assert out.dtype == _numpy_dtype(expected.dtype) == np.float32
    W = gn.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    product = ops.matmul(_int_tensor(), W)  # torch refuses; glassnet promotes to float32
    assert product.dtype == np.float32
    np.testing.assert_array_equal(product.data, [6.0, 6.0])
    assert (np.array([[1, 0, 2]]) @ W).dtype == np.float32  # reflected, an integer array


@pytest.mark.parametrize(
    "shapes",
    [((2, 3), (2, 3)), ((2, 3), ()), ((), (2, 3)), ((2, 3), (3,))],
    ids=["same", "0d_right", "0d_left", "broadcast"],
)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_mixed_float_tensors_match_torch_and_gradients_keep_their_dtype(name, shapes, rng):
    torch = require("torch")
    a = rng.uniform(0.5, 2.0, shapes[0]).astype(np.float32)
    b = rng.uniform(0.5, 2.0, shapes[1])  # float64
    ta, tb = gn.tensor(a, requires_grad=True), gn.tensor(b, requires_grad=True)
    out = BINARY[name][0](ta, tb)
    xa = torch.tensor(a, requires_grad=True)
    xb = torch.tensor(b, requires_grad=True)
    expected = _torch_binary(torch, name, xa, xb)
    assert out.dtype == _numpy_dtype(expected.dtype)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
    upstream = rng.uniform(0.5, 1.5, out.shape).astype(out.dtype)
    out.backward(upstream)
    (expected * torch.as_tensor(upstream)).sum().backward()
    for leaf, t in ((ta, xa), (tb, xb)):
        assert leaf.grad.dtype == leaf.dtype and leaf.grad.shape == leaf.shape
        np.testing.assert_allclose(leaf.grad, t.grad.numpy(), rtol=1e-5)


def test_matmul_of_float32_and_float64_gives_float64_and_each_its_gradient(rng):
    torch = require("torch")
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 2))
    ta, tb = gn.tensor(a, requires_grad=True), gn.tensor(b, requires_grad=True)
    out = ta @ tb
    assert out.dtype == np.float64
    out.sum().backward()
    xa, xb = (
        torch.tensor(a, dtype=torch.float64, requires_grad=True),
        torch.tensor(b, requires_grad=True),
    )
    (xa @ xb).sum().backward()
    assert ta.grad.dtype == np.float32 and tb.grad.dtype == np.float64
    np.testing.assert_allclose(ta.grad, xa.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tb.grad, xb.grad.numpy(), rtol=1e-6)


def test_linear_with_an_input_of_another_float_dtype(rng):
    W = gn.tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    b = gn.tensor(np.zeros(2, np.float32), requires_grad=True)
    x = gn.tensor(rng.standard_normal((4, 3)), requires_grad=True)  # float64
    out = ops.linear(x, W, b)
    assert out.dtype == np.float64
    out.sum().backward()
    assert (W.grad.dtype, b.grad.dtype, x.grad.dtype) == (np.float32, np.float32, np.float64)
    np.testing.assert_allclose(W.grad, np.ones((4, 2)).T @ x.data, rtol=1e-6)
    assert ops.linear(gn.Tensor(np.ones((4, 3), np.int64)), W, b).dtype == np.float32


def test_jvp_through_a_mixed_dtype_op(rng):
    y = gn.tensor(rng.standard_normal(3))  # float64 constant
    x, v = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    value, tangent = jvp(lambda t: ops.tanh(t * y), x, v)
    assert value.dtype == tangent.dtype == np.float64
    expected = (1 - np.tanh(x.astype(np.float64) * y.data) ** 2) * y.data * v
    np.testing.assert_allclose(tangent, expected, rtol=1e-6)


UNARY_FLOAT = ["exp", "log", "sqrt", "tanh", "sigmoid", "softsign", "softplus", "elu", "gelu",
               "leaky_relu", "softmax", "log_softmax", "mean"]  # fmt: skip


@pytest.mark.parametrize("name", UNARY_FLOAT)
def test_float_functions_of_integers_give_the_default_float_dtype(name):
    out = getattr(ops, name)(_int_tensor())
    assert out.dtype == np.float32
    expected = getattr(ops, name)(gn.tensor(INTS.astype(np.float32)))
    np.testing.assert_allclose(out.data, expected.data)


def test_integer_functions_of_integers_stay_integers_as_in_torch():
    torch = require("torch")
    t, x = _int_tensor(), torch.tensor(INTS)
    pairs = [
        (ops.relu(-t), torch.relu(-x)), (ops.abs(-t), torch.abs(-x)), (-t, -x),
        (t**2, x**2), (t**0.5, x**0.5), (2**t, 2**x), (2.0**t, 2.0**x),
        (ops.clip(t, 0.5, 2.5), torch.clamp(x, 0.5, 2.5)),
        (ops.clip(t, 2, None), torch.clamp(x, 2)),
        (ops.sum(t), x.sum()), (t / t, x / x),
    ]  # fmt: skip
    for i, (out, expected) in enumerate(pairs):
        assert out.dtype == _numpy_dtype(expected.dtype), (
            f"pair {i}: {out.dtype} vs {expected.dtype}"
        )
        np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6, err_msg=f"pair {i}")


def test_result_dtype_lets_the_higher_category_win_and_a_0d_array_not_widen():
    f32, f64 = np.ones(2, np.float32), np.ones(2)
    i64, i8, flags = np.ones(2, np.int64), np.ones(2, np.int8), np.ones(2, bool)
    assert result_dtype(f32, f64) == np.float64  # same category, both dimensioned
    assert result_dtype(f32, np.array(1.0)) == np.float32  # a 0-d one does not widen
    assert result_dtype(np.array(1.0), f32) == np.float32
    assert result_dtype(i64, f32) == np.float32  # a higher category wins (NumPy: float64)
    assert result_dtype(i64, np.array(1.0)) == np.float64  # a 0-d float over dimensioned ints
    assert result_dtype(i8, i64) == np.int64
    assert result_dtype(flags, i8) == np.int8
    assert result_dtype(np.array(2, np.int64), i8) == np.int8
