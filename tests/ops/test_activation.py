"""Behaviour of the activation ops: stability at +-1000, the subgradients chosen at kinks,
the step's zero gradient, and maxout's ties."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from tests.conftest import require

EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 999.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_rows_sum_to_one_at_1000(dtype):
    a = ops.softmax(gn.tensor(EXTREME.astype(dtype)))
    assert np.isfinite(a.data).all()
    np.testing.assert_allclose(a.data.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(a.data[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(a.data[1], [1 / 3] * 3, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_columns_sum_to_one_at_1000_along_axis_0(dtype):
    a = ops.softmax(gn.tensor(EXTREME.astype(dtype)), axis=0)
    np.testing.assert_allclose(a.data.sum(axis=0), 1.0, rtol=1e-6)


def test_log_softmax_is_finite_at_1000():
    x = gn.tensor(EXTREME, requires_grad=True)
    out = ops.log_softmax(x)
    out.backward(np.ones(out.shape))
    np.testing.assert_allclose(out.data[0], [0.0, -2000.0, -1000.0])
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "fn, expected",
    [
        (ops.sigmoid, [1.0, 0.0, 0.5]),
        (ops.tanh, [1.0, -1.0, 0.0]),
        (ops.softplus, [1000.0, 0.0, np.log(2.0)]),
        (ops.softsign, [1000 / 1001, -1000 / 1001, 0.0]),
        (ops.elu, [1000.0, -1.0, 0.0]),
        (ops.gelu, [1000.0, 0.0, 0.0]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_smooth_activations_are_finite_at_1000(fn, expected, dtype):
    x = gn.tensor(np.array([1000.0, -1000.0, 0.0], dtype), requires_grad=True)
    a = fn(x)
    a.backward(np.ones(3, dtype))
    np.testing.assert_allclose(a.data, expected, rtol=1e-6, atol=1e-30)
    assert np.isfinite(x.grad).all() and x.grad.dtype == dtype


def test_sigmoid_steepness_scales_the_derivative():
    x = gn.tensor(np.array([0.0, 0.5]), requires_grad=True)
    a = ops.sigmoid(x, beta=3.0)
    a.backward(np.ones(2))
    s = 1 / (1 + np.exp(-3.0 * x.data))
    np.testing.assert_allclose(a.data, s)
    np.testing.assert_allclose(x.grad, 3.0 * s * (1 - s))  # beta a (1 - a)


def test_step_gradient_is_zero_everywhere_including_zero():
    x = gn.tensor(np.array([-2.0, -1e-9, 0.0, 1e-9, 3.0]), requires_grad=True)
    a = ops.step(x)
    np.testing.assert_array_equal(a.data, [0.0, 0.0, 0.0, 1.0, 1.0])  # step(0) = 0
    a.backward(np.ones(5))
    np.testing.assert_array_equal(x.grad, np.zeros(5))


def test_identity_returns_its_input():
    x = gn.tensor(np.ones(3), requires_grad=True)
    assert ops.identity(x) is x


@pytest.mark.parametrize(
    "name, fn, torch_fn",
    [
        ("relu", ops.relu, lambda F, x: F.relu(x)),
        ("leaky_relu", lambda x: ops.leaky_relu(x, 0.1), lambda F, x: F.leaky_relu(x, 0.1)),
        ("elu", lambda x: ops.elu(x, 0.7), lambda F, x: F.elu(x, 0.7)),
        ("abs", ops.abs, lambda F, x: x.abs()),
        ("clip", lambda x: ops.clip(x, 0.0, 1.0), lambda F, x: x.clamp(0.0, 1.0)),
        ("softsign", ops.softsign, lambda F, x: F.softsign(x)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_subgradient_at_kinks_matches_torch(name, fn, torch_fn):
    torch = require("torch")
    values = np.array([-1.0, 0.0, 1.0, 0.5])
    x = gn.tensor(values, requires_grad=True)
    fn(x).backward(np.ones(4))
    t = torch.tensor(values, requires_grad=True)
    torch_fn(torch.nn.functional, t).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), err_msg=name)


def test_maxout_groups_consecutive_pieces():
    net = gn.tensor(np.array([[1.0, 4.0, 2.0, -1.0, -3.0, -2.0]]))
    np.testing.assert_array_equal(ops.maxout(net, 3).data, [[4.0, -1.0]])
    np.testing.assert_array_equal(ops.maxout(net, 2).data, [[4.0, 2.0, -2.0]])


def test_maxout_tie_sends_the_whole_gradient_to_the_first_maximal_piece():
    net = gn.tensor(np.array([[2.0, 2.0, 5.0, 5.0, 5.0, 1.0, 7.0, 7.0, 7.0]]), requires_grad=True)
    a = ops.maxout(net, 3)
    np.testing.assert_array_equal(a.data, [[5.0, 5.0, 7.0]])
    a.backward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(net.grad, [[0, 0, 1, 2, 0, 0, 3, 0, 0]])


def test_maxout_rejects_pieces_that_do_not_divide_the_last_axis():
    with pytest.raises(
        ValueError, match=r"maxout: expected a last axis divisible by pieces=4, got shape \(2, 6\)"
    ):
        ops.maxout(gn.tensor(np.zeros((2, 6))), 4)


def test_relu_of_minus_infinity_is_zero():
    # was -inf * 0 = NaN (relu computed as net * mask)
    x = gn.tensor(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf]))
    np.testing.assert_array_equal(ops.relu(x).data, [0.0, 0.0, 0.0, 2.0, np.inf])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_of_special_values_matches_torch(dtype):
    """NaN (also a negative NaN, as inf - inf makes on x86), +-inf and -0.0, and the dtype kept
    (relu clips a float net to [0, inf] in its own dtype); integers stay integers, as in torch
    (gn.tensor makes them float32; gn.Tensor keeps them)."""
    torch = require("torch")
    with np.errstate(invalid="ignore"):
        negative_nan = np.array(np.inf, dtype) - np.array(np.inf, dtype)
    values = np.array([np.nan, negative_nan, -np.inf, np.inf, -0.0, 0.0, -1.5, 2.5], dtype)
    got = ops.relu(gn.tensor(values)).data
    want = torch.relu(torch.from_numpy(values)).numpy()
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 stays -0.0
    integers = ops.relu(gn.Tensor(np.array([-3, 0, 5])))
    assert integers.dtype == np.int64 and integers.data.tolist() == [0, 0, 5]

def test_gradient_of_log_relu_at_zero_follows_torch():
    # relu's mask selects (where), so the infinite gradient of log at 0 gives 0, not inf * 0
    torch = require("torch")
    values = np.array([0.0, 1.0, -1.0])
    x = gn.tensor(values, requires_grad=True)
    with np.errstate(divide="ignore"):  # log(0) = -inf and d log / da = 1 / 0 = inf, as torch
        ops.log(ops.relu(x)).backward(np.ones(3))
        t = torch.tensor(values, requires_grad=True)
        torch.log(torch.relu(t)).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_clip_and_step_select_so_an_infinite_gradient_stays_out_of_the_flat_part():
    x = gn.tensor(np.array([-2.0, 0.5, 2.0]), requires_grad=True)
    ops.clip(x, -1.0, 1.0).backward(np.array([np.inf, 1.0, np.inf]))
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    y = gn.tensor(np.array([-1.0, 1.0]), requires_grad=True)
    ops.step(y).backward(np.array([np.inf, np.inf]))
    np.testing.assert_array_equal(y.grad, [0.0, 0.0])
