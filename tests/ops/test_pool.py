"""Pooling, padding and resizing (ops/pool.py) beyond the spec table: max-pool gradient routing
worked by hand, ties against torch, the fast paths against the general ones, hand-worked
average, adaptive, reflect and upsampling cases, and the messages of the argument checks
(flatten's included)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import jvp
from glassnet.errors import ShapeError
from glassnet.ops import pool
from glassnet.ops import pool as pool_module
from tests.conftest import require


def _grad(f, x, g):
    """d <g, f(x)> / dx, and f(x)."""
    t = gn.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    y = f(t)
    y.backward(np.asarray(g, dtype=np.float64))
    return t.grad, y.data


# ---- max pooling: where the gradient goes ----------------------------------------------------


def test_max_pool2d_routes_each_gradient_to_its_window_maximum():
    x = [[1, 5, 2, 0],
         [3, 4, 8, 1],
         [0, 2, 6, 7],
         [9, 1, 3, 3]]  # fmt: skip
    grad, y = _grad(lambda t: ops.max_pool2d(t, 2), np.reshape(x, (1, 1, 4, 4)),
                    [[[[1, 2], [3, 4]]]])  # fmt: skip
    np.testing.assert_array_equal(y[0, 0], [[5, 8], [9, 7]])
    np.testing.assert_array_equal(grad[0, 0], [[0, 1, 0, 0],
                                               [0, 0, 2, 0],
                                               [0, 0, 0, 4],
                                               [3, 0, 0, 0]])  # fmt: skip


def test_overlapping_windows_add_up_where_they_share_the_maximum():
    # windows [1 3 2] [3 2 5] [2 5 4]: maxima 3, 5, 5; the two 5s are the same element
    grad, y = _grad(lambda t: ops.max_pool1d(t, 3, stride=1), [[[1, 3, 2, 5, 4]]], [[[1, 2, 4]]])
    np.testing.assert_array_equal(y, [[[3, 5, 5]]])
    np.testing.assert_array_equal(grad, [[[0, 1, 0, 6, 0]]])


def test_padding_is_minus_infinity_and_takes_no_gradient():
    # [-inf | -1 -2 | -3 -inf]: zero padding would give 0 and send the gradient nowhere
    grad, y = _grad(lambda t: ops.max_pool1d(t, 2, padding=1), [[[-1, -2, -3]]], [[[1, 2]]])
    np.testing.assert_array_equal(y, [[[-1, -2]]])
    np.testing.assert_array_equal(grad, [[[1, 2, 0]]])


def test_a_tie_sends_the_whole_gradient_to_the_first_maximum_in_window_order():
    # window order is row-major: (0, 1) comes before (1, 0)
    grad, _ = _grad(lambda t: ops.max_pool2d(t, 2), [[[[0, 7], [7, 7]]]], [[[[5]]]])
    np.testing.assert_array_equal(grad, [[[[0, 5], [0, 0]]]])


TIE_CASES = [
    ("max_pool2d", (2, 3, 4, 6), (2,), {}),  # tiles: the fast path
    ("max_pool2d", (2, 2, 5, 7), (3, 2, 1), {}),
    ("max_pool2d", (1, 2, 6, 5), ((3, 2), (1, 2), (1, 1)), {}),
    ("max_pool2d", (2, 5, 5), (2, 1), {}),
    ("max_pool1d", (2, 3, 8), (2,), {}),
    ("max_pool1d", (2, 2, 9), (3, 1, 1), {}),
]


@pytest.mark.parametrize("name, shape, args, kwargs", TIE_CASES)
def test_ties_match_torch(rng, name, shape, args, kwargs):
    torch = require("torch")
    x = rng.integers(0, 3, shape).astype(np.float64)  # three values: ties everywhere
    g = rng.uniform(0.5, 1.5, getattr(torch.nn.functional, name)(torch.tensor(x), *args).shape)
    grad, y = _grad(lambda t: getattr(ops, name)(t, *args, **kwargs), x, g)
    t_x = torch.tensor(x, requires_grad=True)
    t_y = getattr(torch.nn.functional, name)(t_x, *args, **kwargs)
    (t_y * torch.as_tensor(g)).sum().backward()
    np.testing.assert_array_equal(y, t_y.detach().numpy())
    np.testing.assert_allclose(grad, t_x.grad.numpy(), rtol=1e-12, atol=0)


def test_all_equal_input_matches_torch():
    torch = require("torch")
    x = np.ones((1, 1, 4, 4))
    grad, _ = _grad(lambda t: ops.max_pool2d(t, 3, 1, 1), x, np.ones((1, 1, 4, 4)))
    t_x = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(t_x, 3, 1, 1).sum().backward()
    np.testing.assert_array_equal(grad, t_x.grad.numpy())


def test_jvp_at_ties_is_the_transpose_of_backward(rng):
    x = rng.integers(0, 2, (2, 2, 5, 6)).astype(np.float64)
    v, u = rng.standard_normal(x.shape), rng.standard_normal((2, 2, 3, 7))

    def f(t):
        return ops.max_pool2d(t, (3, 2), stride=(2, 1), padding=1)

    _, tangent = jvp(f, x, v)
    grad, _ = _grad(f, x, u)
    assert float((u * tangent).sum()) == pytest.approx(float((grad * v).sum()), rel=1e-12)


# ---- the fast paths equal the general ones -----------------------------------------------------


@pytest.mark.parametrize(
    "f, shape",
    [
        (lambda t: ops.max_pool2d(t, 2), (3, 4, 6, 8)),
        (lambda t: ops.max_pool2d(t, (2, 3)), (2, 3, 4, 9)),
        (lambda t: ops.max_pool1d(t, 3), (2, 3, 9)),
        (lambda t: ops.avg_pool2d(t, 2), (3, 4, 6, 8)),
        (lambda t: ops.avg_pool1d(t, (3,)), (2, 3, 9)),
    ],
)
def test_tiling_fast_path_equals_the_general_path(rng, monkeypatch, f, shape):
    x = rng.integers(0, 4, shape).astype(np.float32)  # ties too
    g = rng.uniform(-1, 1, f(gn.tensor(x)).shape).astype(np.float32)
    fast, y_fast = _grad(f, x, g)
    monkeypatch.setattr(pool, "_tiles", lambda *args: False)
    general, y_general = _grad(f, x, g)
    np.testing.assert_array_equal(y_fast, y_general)
    np.testing.assert_array_equal(fast, general)


def test_global_average_pooling_is_the_spatial_mean_and_spreads_its_gradient_evenly(rng):
    x, g = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 1, 1))
    grad, y = _grad(lambda t: ops.adaptive_avg_pool2d(t, (1, 1)), x, g)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(grad, np.broadcast_to(g / 20, x.shape), rtol=1e-12)


@pytest.mark.parametrize("spatial", [(4, 5), (6,)])
def test_global_average_pooling_of_batch_last_input_as_convolutions_make_it(rng, spatial):
    """On a batch-last (C, *spatial, N) array the mean is a product with ones: the same means
    (float64, 1e-12; float32 within 1e-6) and the same gradient as for C-order input."""
    from glassnet.ops import pool

    x = rng.standard_normal((3, 4, *spatial)) + 2.0
    axes = tuple(range(2, x.ndim))
    fn = ops.adaptive_avg_pool2d if len(spatial) == 2 else ops.adaptive_avg_pool1d
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-6)):
        data = x.astype(dtype)
        batch_last = np.ascontiguousarray(np.moveaxis(data, 0, -1))  # (C, *spatial, N)
        view = np.moveaxis(batch_last, -1, 0)  # the NCHW view of it
        leaf = gn.tensor(view, requires_grad=True)
        assert leaf.data.transpose(1, *axes, 0).flags.c_contiguous  # the product's path
        g = rng.standard_normal((3, 4) + (1,) * len(spatial)).astype(dtype)
        y = fn(leaf, 1)
        y.backward(g)
        np.testing.assert_allclose(y.data, data.mean(axis=axes, keepdims=True), rtol=rtol)
        assert y.dtype == dtype and y.shape == g.shape
        expected = np.broadcast_to(g / pool._count(spatial), x.shape)
        np.testing.assert_allclose(leaf.grad, expected, rtol=rtol)


# ---- average, adaptive, reflect and upsampling by hand --------------------------------------


def test_count_include_pad_divides_by_the_window_or_by_what_is_inside():
    x = np.ones((1, 1, 3, 3))
    included = ops.avg_pool2d(gn.tensor(x), 3, stride=1, padding=1).data[0, 0]
    excluded = ops.avg_pool2d(gn.tensor(x), 3, 1, 1, count_include_pad=False).data[0, 0]
    np.testing.assert_allclose(included, [[4, 6, 4], [6, 9, 6], [4, 6, 4]] / np.float64(9))
    np.testing.assert_allclose(excluded, np.ones((3, 3)))


def test_adaptive_bins_overlap_as_torch():
    # length 5 -> 3: bins [0, 2), [1, 4), [3, 5)
    grad, y = _grad(lambda t: ops.adaptive_avg_pool1d(t, 3), [[[0, 1, 2, 3, 4]]], [[[2, 3, 4]]])
    np.testing.assert_allclose(y, [[[0.5, 2.0, 3.5]]])
    np.testing.assert_allclose(grad, [[[1, 2, 1, 3, 2]]])


def test_reflect_padding_and_its_gradient_by_hand():
    # [1 2 3] -> [3 2 | 1 2 3 | 2]: x1 appears three times, x2 twice
    grad, y = _grad(lambda t: ops.pad(t, (2, 1), mode="reflect"), [[[1, 2, 3]]], np.ones((1, 1, 6)))
    np.testing.assert_array_equal(y, [[[3, 2, 1, 2, 3, 2]]])
    np.testing.assert_array_equal(grad, [[[1, 3, 2]]])


def test_constant_padding_order_is_last_axis_first():
    y = ops.pad(gn.tensor(np.ones((1, 2))), (1, 0, 0, 2), value=7).data
    np.testing.assert_array_equal(y, [[7, 1, 1], [7, 7, 7], [7, 7, 7]])


def test_upsample_repeats_and_sums_back():
    grad, y = _grad(lambda t: ops.upsample(t, scale_factor=(1, 2.0)), [[[[1, 2]]]],
                    [[[[1, 2, 3, 4]]]])  # fmt: skip
    np.testing.assert_array_equal(y, [[[[1, 1, 2, 2]]]])
    np.testing.assert_array_equal(grad, [[[[3, 7]]]])


def test_integer_input_pools_in_the_default_float_dtype():
    y = ops.max_pool2d(gn.tensor(np.arange(16).reshape(1, 1, 4, 4)), 2)
    assert y.dtype == gn.backend.default_dtype()
    np.testing.assert_array_equal(y.data, [[[[5, 7], [13, 15]]]])


# ---- argument checks ---------------------------------------------------------------------


def _x(*shape):
    return gn.tensor(np.ones(shape))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ops.max_pool2d(_x(4, 4), 2), ShapeError,
         r"max_pool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got \(4, 4\)"),
        (lambda: ops.avg_pool1d(_x(1, 2, 3, 4), 2), ShapeError,
         r"avg_pool1d: expected input of shape \(N, C, L\) or \(C, L\), got \(1, 2, 3, 4\)"),
        (lambda: ops.max_pool2d(_x(1, 1, 4, 4), 3, padding=2), ShapeError,
         r"max_pool2d: expected padding at most half of kernel_size \(as torch\), got padding "
         r"\(2, 2\) for kernel_size \(3, 3\)"),
        (lambda: ops.max_pool2d(_x(1, 1, 4, 4), (5, 2)), ShapeError,
         r"max_pool2d: expected kernel_size \(5, 2\) no larger than the padded input \(4, 4\), "
         r"got input of shape \(1, 1, 4, 4\) with padding \(0, 0\)"),
        (lambda: ops.max_pool1d(_x(1, 1, 4), 2, stride=0), ValueError,
         r"max_pool1d: expected stride as a positive int, got 0"),
        (lambda: ops.avg_pool2d(_x(1, 1, 4, 4), 2.5), ValueError,
         r"avg_pool2d: expected kernel_size as a positive int or a tuple of 2 of them, got 2.5"),
        (lambda: ops.avg_pool2d(_x(1, 1, 4, 4), 2, padding=(1, -1)), ValueError,
         r"expected padding as a non-negative int or a tuple of 2 of them, got \(1, -1\)"),
        (lambda: ops.max_pool2d(_x(1, 1, 4, 4), (2, 2, 2)), ValueError,
         r"max_pool2d: expected kernel_size .* got \(2, 2, 2\)"),
        (lambda: ops.adaptive_avg_pool2d(_x(1, 1, 4, 4), (0, 2)), ValueError,
         r"adaptive_avg_pool2d: expected output_size as a positive int or a tuple of 2"),
        (lambda: ops.adaptive_avg_pool1d(_x(4,), 2), ShapeError,
         r"adaptive_avg_pool1d: expected input of shape \(N, C, L\) or \(C, L\), got \(4,\)"),
        (lambda: ops.upsample(_x(1, 1, 2, 2)), ValueError,
         r"upsample: expected exactly one of size and scale_factor, got size=None, "
         r"scale_factor=None"),
        (lambda: ops.upsample(_x(1, 1, 2, 2), scale_factor=1.5), ValueError,
         r"upsample: expected scale_factor as a positive int or a tuple of 2 of them, got "
         r"\(1.5, 1.5\)"),
        (lambda: ops.upsample(_x(1, 1, 2, 2), size=(4, 5)), ShapeError,
         r"upsample: expected size \(4, 5\) a multiple of the input's spatial size \(2, 2\)"),
        (lambda: ops.upsample(_x(2, 2), scale_factor=2), ShapeError,
         r"upsample: expected input of shape \(N, C, L\) or \(N, C, H, W\), got \(2, 2\)"),
        (lambda: ops.upsample(_x(1, 1, 2), scale_factor=2, mode="bilinear"), ValueError,
         r"upsample: expected mode 'nearest', got 'bilinear'"),
        (lambda: ops.pad(_x(1, 1, 3), (1, 1), mode="replicate"), ValueError,
         r"pad: expected mode 'constant' or 'reflect', got 'replicate'"),
        (lambda: ops.pad(_x(1, 1, 3), (1, 1, 1)), ValueError,
         r"pad: expected pad as a tuple of \(before, after\) pairs of non-negative ints, last "
         r"axis first, got \(1, 1, 1\)"),
        (lambda: ops.pad(_x(1, 1, 3), (1, -1)), ValueError, r"got \(1, -1\)"),
        (lambda: ops.pad(_x(2, 3), (1, 1, 1, 1, 1, 1)), ShapeError,
         r"pad: expected at most 2 \(before, after\) pairs for input of shape \(2, 3\), got 3"),
        (lambda: ops.pad(_x(1, 1, 3), (3, 0), mode="reflect"), ShapeError,
         r"pad: expected reflect padding smaller than the axis it pads, got \(3, 0\) for axis 2 "
         r"of size 3"),
        (lambda: ops.pad(_x(2, 3), (1, 1, 1, 1), mode="reflect"), ShapeError,
         r"pad: expected reflect padding of at most the last 1 axes of input of shape \(2, 3\)"),
        (lambda: ops.flatten(_x(2, 3), 2), ShapeError,
         r"flatten: expected start_dim and end_dim in \[-2, 1\] for input of shape \(2, 3\), "
         r"got 2 and -1"),
        (lambda: ops.flatten(_x(2, 3, 4), 2, 1), ShapeError,
         r"flatten: expected start_dim no later than end_dim, got axes 2 and 1"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_op_what_it_expected_and_what_came(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_torch_refuses_what_we_refuse():
    torch = require("torch")
    F = torch.nn.functional
    x = torch.ones(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(x, 5)
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(torch.ones(1, 1, 3), (3, 0), mode="reflect")


@pytest.mark.parametrize("pool", [
    lambda x: ops.max_pool2d(x, 2), lambda x: ops.avg_pool2d(x, 3, 2, 1),
    lambda x: ops.max_pool2d(x, 3, 1, 1), lambda x: ops.upsample(x, scale_factor=2),
    lambda x: ops.adaptive_avg_pool2d(x, 1),
])  # fmt: skip
def test_pooling_keeps_the_batch_last_layout_of_a_convolution_output(pool):
    # a conv's output is an NCHW view of a (C, H, W, N) array: the pooled output and the
    # gradient keep that layout, so the next conv and relu read them without a transposing copy
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 8, 8, 4)).astype(np.float32).transpose(3, 0, 1, 2)
    x = gn.tensor(data, requires_grad=True)
    inner = x * 1.0  # not a leaf: the gradient reaching it is the pool's own array
    arriving = []
    inner.register_hook(lambda g: arriving.append(g))
    out = pool(inner)
    batch_last = (1, 2, 3, 0)  # the axes from the largest stride to the smallest
    assert pool_module._axis_order(out.data) == batch_last
    out.backward(np.ones_like(out.data))
    assert pool_module._axis_order(arriving[0]) == batch_last
    reference = gn.tensor(np.ascontiguousarray(data), requires_grad=True)  # plain NCHW
    pool(reference).backward(np.ones(out.shape, np.float32))
    # equal up to float32 rounding: a mean may sum in another order in another layout
    np.testing.assert_allclose(out.data, pool(reference).data, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(x.grad, reference.grad, rtol=1e-6, atol=1e-7)
