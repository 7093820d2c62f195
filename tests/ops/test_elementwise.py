"""Behaviour of the elementwise ops beyond the spec table: ties in maximum and minimum split
the gradient evenly (as torch does), and plain numbers as operands."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from tests.conftest import require


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_elementwise_extremum_ties_split_the_gradient_like_torch(name):
    torch = require("torch")
    a_values, b_values = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 4.0])
    a, b = gn.tensor(a_values, requires_grad=True), gn.tensor(b_values, requires_grad=True)
    getattr(ops, name)(a, b).backward(np.ones(3))
    ta = torch.tensor(a_values, requires_grad=True)
    tb = torch.tensor(b_values, requires_grad=True)
    getattr(torch, name)(ta, tb).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy())
    np.testing.assert_allclose(b.grad, tb.grad.numpy())
    assert a.grad[0] == b.grad[0] == 0.5


def test_maximum_with_a_number_is_relu_like():
    x = gn.tensor(np.array([-1.0, 2.0]), requires_grad=True)
    out = ops.maximum(x, 0.0)
    out.backward(np.ones(2))
    np.testing.assert_array_equal(out.data, [0.0, 2.0])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])


def test_plain_operands_take_the_tensor_dtype():
    t = gn.tensor(np.ones(3, np.float32), requires_grad=True)
    for out in (
        ops.add(t, np.ones(3)),
        ops.sub(2.0, t),
        ops.mul(np.float64(3.0), t),
        ops.div(t, 4),
    ):
        assert out.dtype == np.float32


def test_pow_rejects_a_tensor_exponent():
    t = gn.tensor(np.ones(3))
    with pytest.raises(
        TypeError, match=r"pow: expected a constant number as exponent, got a Tensor"
    ):
        ops.pow(t, t)


def test_clip_without_bounds_passes_everything_through():
    x = gn.tensor(np.array([-5.0, 5.0]), requires_grad=True)
    out = ops.clip(x, None, None)
    out.backward(np.ones(2))
    np.testing.assert_array_equal(out.data, [-5.0, 5.0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_where_takes_a_tensor_condition_and_routes_the_gradient():
    a = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = gn.tensor(np.array([-1.0, -2.0, -3.0]), requires_grad=True)
    condition = gn.tensor(np.array([1.0, 0.0, 1.0]))
    out = ops.where(condition, a, b)
    out.backward(np.ones(3))
    np.testing.assert_array_equal(out.data, [1.0, -2.0, 3.0])
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 0.0])


def test_the_derivative_of_x_to_the_zero_is_zero_also_at_zero():
    # was 0 * 0**-1 = NaN (a division by zero under the tests' strict floats); torch gives 0
    x = gn.tensor(np.array([0.0, 1.0, -2.0]), requires_grad=True)
    out = x**0
    out.backward(np.ones(3))
    np.testing.assert_array_equal(out.data, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("base", [2, 2.5, 0.5, 1.0, 0.0, -2.0])
def test_a_number_to_a_tensor_power_matches_torch(base):
    torch = require("torch")
    exponents = np.array([-1.0, 0.0, 1.0, 2.0])
    x = gn.tensor(exponents, requires_grad=True)
    t = torch.tensor(exponents, requires_grad=True)
    with np.errstate(divide="ignore"):  # 0 ** -1 = inf, as torch
        out = base**x
        out.backward(np.ones(4))
    (base**t).sum().backward()
    np.testing.assert_allclose(out.data, (base**t).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)  # NaN for base < 0, as torch


def test_zero_to_a_tensor_power_is_1_0_0_with_zero_gradient_at_exponents_0_1_2():
    x = gn.tensor(np.array([0.0, 1.0, 2.0]), requires_grad=True)
    out = ops.pow(0, x)
    out.backward(np.ones(3))
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])  # torch: 0 for exponents >= 0


def test_pow_rejects_a_base_that_is_not_a_number():
    with pytest.raises(TypeError, match=r"pow: expected a number as base, got a ndarray"):
        ops.pow(np.ones(2), gn.tensor(np.ones(2)))


def test_ops_that_save_no_arrays_say_so_and_backward_twice_accumulates():
    from glassnet.ops import elementwise, reduce

    assert not elementwise.Add.saves_arrays and not elementwise.Sub.saves_arrays
    assert not elementwise.Neg.saves_arrays and not reduce.Sum.saves_arrays
    assert not reduce.Mean.saves_arrays
    assert elementwise.Mul.saves_arrays and reduce.Max.saves_arrays
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x + x - (-x)).mean()
    y.backward()
    y.backward()  # the nodes kept nothing to free: a second sweep accumulates, as in torch
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])

