"""Convolutions (ops/conv.py): values and gradients worked by hand, the paths the spec table
does not take (unbatched input, chained convolutions, frozen weights, a second backward,
dtypes), and every argument error with its message. Gradcheck, the NumPy references and torch
on random shapes are in the spec table (tests/ops/specs.py)."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.errors import ShapeError
from tests.conftest import require

X33 = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
K22 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)


def _leaf(a):
    return gn.tensor(a, requires_grad=True)


# ---- hand-worked values ------------------------------------------------------------------------


def test_a_2x2_kernel_on_a_3x3_image():
    x, w, b = _leaf(X33), _leaf(K22), _leaf(np.array([0.5]))
    net = ops.conv2d(x, w, b)
    # net[y, x] = 1 a[y, x] + 2 a[y, x+1] + 3 a[y+1, x] + 4 a[y+1, x+1] + 0.5
    np.testing.assert_array_equal(net.data, [[[[37.5, 47.5], [67.5, 77.5]]]])
    net.backward(np.ones(net.shape))
    # delta_prev: the kernel added at each window; grad_W: the sum of the windows; grad_b: 4
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    np.testing.assert_array_equal(w.grad[0, 0], [[12, 16], [24, 28]])
    np.testing.assert_array_equal(b.grad, [4.0])


def test_padding_stride_and_dilation_by_hand():
    ones = np.ones((1, 1, 3, 3))
    # padding 1: the corner window holds a[0:2, 0:2] and zeros
    np.testing.assert_array_equal(ops.conv2d(gn.tensor(X33), gn.tensor(ones), padding=1).data[0, 0],
                                  [[12, 21, 16], [27, 45, 33], [24, 39, 28]])  # fmt: skip
    # a 1x1 kernel with stride 2 picks the corners
    two = gn.tensor(np.full((1, 1, 1, 1), 2.0))
    np.testing.assert_array_equal(ops.conv2d(gn.tensor(X33), two, stride=2).data[0, 0],
                                  [[2, 6], [14, 18]])  # fmt: skip
    # dilation 2: a 2x2 kernel reads the four corners
    np.testing.assert_array_equal(ops.conv2d(gn.tensor(X33), gn.tensor(K22), dilation=2).data,
                                  [[[[1 + 6 + 21 + 36]]]])  # fmt: skip


def test_same_padding_keeps_the_size_and_puts_the_odd_row_at_the_end():
    # kernel (1, 2): total padding 1, none before and one zero column after, as torch does
    w = gn.tensor(np.array([[[[1.0, 10.0]]]]))
    net = ops.conv2d(gn.tensor(X33), w, padding="same")
    np.testing.assert_array_equal(net.data[0, 0], [[21, 32, 3], [54, 65, 6], [87, 98, 9]])


def test_conv1d_by_hand():
    x = gn.tensor(np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]]))
    diff = gn.tensor(np.array([[[1.0, 0.0, -1.0]]]))
    np.testing.assert_array_equal(ops.conv1d(x, diff).data, [[[-2, -2, -2]]])
    np.testing.assert_array_equal(ops.conv1d(x, diff, dilation=2).data, [[[-4]]])
    np.testing.assert_array_equal(ops.conv1d(x, diff, padding="same").data, [[[-2, -2, -2, -2, 4]]])


def test_conv_transpose2d_adds_the_kernel_times_each_pixel():
    x, ones = gn.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]])), gn.tensor(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(ops.conv_transpose2d(x, ones).data[0, 0],
                                  [[1, 3, 2], [4, 10, 6], [3, 7, 4]])  # fmt: skip
    np.testing.assert_array_equal(ops.conv_transpose2d(x, ones, stride=2).data[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    # output_padding adds a row and a column that no window reaches
    out = ops.conv_transpose2d(x, ones, stride=2, output_padding=1)
    assert out.shape == (1, 1, 5, 5) and not out.data[0, 0, 4].any()


def test_conv_transpose2d_is_the_gradient_of_conv2d(rng):
    """conv_transpose2d(delta, W) is conv2d's delta_prev for the same stride and padding."""
    x = _leaf(rng.standard_normal((2, 4, 7, 6)))
    w = rng.standard_normal((6, 2, 3, 3))
    net = ops.conv2d(x, gn.tensor(w), stride=2, padding=1, groups=2)
    delta = rng.standard_normal(net.shape)
    net.backward(delta)
    back = ops.conv_transpose2d(gn.tensor(delta), gn.tensor(w), stride=2, padding=1, groups=2,
                                output_padding=(0, 1))  # width 6 -> 3 -> 5 + 1
    np.testing.assert_allclose(back.data, x.grad, rtol=1e-12, atol=1e-12)


# ---- paths the spec table does not take --------------------------------------------------------


def _torch_chain(torch, x, w1, w2):
    F = torch.nn.functional
    t = [torch.tensor(a, requires_grad=True) for a in (x, w1, w2)]
    out = F.conv2d(torch.relu(F.conv2d(t[0], t[1], padding=1)), t[2], stride=2)
    out.sum().backward()
    return out.detach().numpy(), [a.grad.numpy() for a in t]


def test_chained_convolutions_match_torch(rng):
    """The second conv takes the first's batch-last view (through relu), and the first gets
    its delta from the second's col2im."""
    torch = require("torch")
    x, w1, w2 = (rng.standard_normal(s) for s in ((3, 2, 6, 7), (4, 2, 3, 3), (5, 4, 2, 2)))
    leaves = [_leaf(a) for a in (x, w1, w2)]
    out = ops.conv2d(ops.relu(ops.conv2d(leaves[0], leaves[1], padding=1)), leaves[2], stride=2)
    out.sum().backward()
    expected, grads = _torch_chain(torch, x, w1, w2)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    for leaf, g in zip(leaves, grads):
        np.testing.assert_allclose(leaf.grad, g, rtol=1e-10, atol=1e-12)


def test_unbatched_input_is_one_sample(rng):
    x, w, b = rng.standard_normal((3, 5, 6)), rng.standard_normal((2, 3, 3, 2)), np.ones(2)
    single, batch = _leaf(x), _leaf(x[None])
    out = ops.conv2d(single, gn.tensor(w), gn.tensor(b), padding=1)
    assert out.shape == (2, 5, 7)
    np.testing.assert_array_equal(out.data, ops.conv2d(batch, gn.tensor(w), gn.tensor(b),
                                                       padding=1).data[0])  # fmt: skip
    out.sum().backward()
    assert single.grad.shape == x.shape
    assert ops.conv1d(gn.tensor(x[:, 0]), gn.tensor(w[:, :, 0])).shape == (2, 5)
    transposed = ops.conv_transpose2d(gn.tensor(x), gn.tensor(w.transpose(1, 0, 2, 3)))
    assert transposed.shape == (2, 7, 7)


def test_a_second_backward_rebuilds_the_freed_columns(rng):
    x, w = _leaf(rng.standard_normal((2, 2, 5, 5))), _leaf(rng.standard_normal((3, 2, 3, 3)))
    net = ops.conv2d(x, w, padding=1)
    net.sum().backward(retain_graph=True)
    first_w, first_x = w.grad.copy(), x.grad.copy()
    net.sum().backward()
    np.testing.assert_allclose(w.grad, 2 * first_w, rtol=1e-12)
    np.testing.assert_allclose(x.grad, 2 * first_x, rtol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])  # delta propagated by correlation / by col2im
def test_the_backward_frees_the_columns_before_it_propagates_delta(rng, stride):
    """A = im2col(a_prev) is the largest array a conv holds (kh * kw / stride^2 times its
    input); the backward must not hold it and the propagated delta's columns at once. What it
    may add: arrays of x's size (delta_prev, padded, and the leaf's own copy of it)."""
    import tracemalloc

    x = _leaf(rng.standard_normal((16, 4, 16, 16)))
    w = _leaf(rng.standard_normal((4, 4, 3, 3)))
    tracemalloc.start()
    try:
        net = ops.conv2d(x, w, padding=1, stride=stride)
        columns = net.op.cols.nbytes
        upstream = np.ones_like(net.data)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        net.backward(upstream)
        growth = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    allowed = 2 * x.data.nbytes + columns // 2  # holding A too would add all of A
    assert growth < allowed, f"backward grew by {growth} bytes; A has {columns}"


def test_frozen_weights_and_a_constant_input(rng):
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    net = ops.conv2d(_leaf(x), gn.tensor(w))  # weights without a gradient
    net.sum().backward()
    inputless = ops.conv2d(x, _leaf(w))  # a plain array input is a constant, as in linear
    assert inputless.op.needs == (False, True)
    inputless.sum().backward()


def test_float32_weights_keep_uint8_images_float32(rng):
    images = rng.integers(0, 255, (2, 1, 6, 6)).astype(np.uint8)
    w = _leaf(rng.standard_normal((4, 1, 3, 3)).astype(np.float32))
    net = ops.conv2d(images, w, gn.tensor(np.zeros(4, np.float32)))
    assert net.dtype == np.float32
    net.sum().backward()
    assert w.grad.dtype == np.float32


# ---- argument errors: who, what was expected, what came ---------------------------------------

_X = gn.tensor(np.zeros((1, 4, 5, 5)))
_W = gn.tensor(np.zeros((6, 4, 3, 3)))
_X1 = gn.tensor(np.zeros((1, 4, 9)))
_W1 = gn.tensor(np.zeros((6, 4, 3)))


def _zeros(*shape):
    return gn.tensor(np.zeros(shape))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ops.conv2d(_zeros(4, 5), _W), ShapeError,
         "conv2d: expected input of 4 dims (N, C, H, W) or (C, H, W), got shape (4, 5)"),
        (lambda: ops.conv2d(_X, _zeros(6, 4, 3)), ShapeError,
         "conv2d: expected a weight of 4 dims (out, in / groups, kh, kw), got shape (6, 4, 3)"),
        (lambda: ops.conv2d(_zeros(1, 3, 5, 5), _zeros(6, 1, 3, 3), groups=2), ShapeError,
         "conv2d: expected input channels divisible by groups=2, got 3 channels"),
        (lambda: ops.conv2d(_X, _zeros(3, 2, 3, 3), groups=2), ShapeError,
         ("conv2d: expected out channels (weight.shape[0]) divisible by groups=2, got weight "
          "shape (3, 2, 3, 3)")),
        (lambda: ops.conv2d(_X, _zeros(6, 3, 3, 3)), ShapeError,
         ("conv2d: expected weight.shape[1] * groups = input channels (4), got weight shape "
          "(6, 3, 3, 3) with groups=1")),
        (lambda: ops.conv2d(_X, _W, _zeros(5)), ShapeError,
         "conv2d: expected a bias of shape (6,), got (5,)"),
        (lambda: ops.conv2d(_zeros(1, 4, 2, 5), _W), ShapeError,
         ("conv2d: expected a padded input at least as large as the dilated kernel (3, 3), got "
          "padded input size (2, 5)")),
        (lambda: ops.conv2d(_X, _W, dilation=3), ShapeError,
         "dilated kernel (7, 7), got padded input size (5, 5)"),
        (lambda: ops.conv2d(_X, _W, stride=0), ValueError,
         "conv2d: expected stride to be positive, got 0"),
        (lambda: ops.conv2d(_X, _W, stride=(1, -2)), ValueError,
         "conv2d: expected stride to be positive, got (1, -2)"),
        (lambda: ops.conv2d(_X, _W, stride=(1,)), TypeError,
         "conv2d: expected stride as an int or a tuple of 2 ints, got (1,)"),
        (lambda: ops.conv2d(_X, _W, stride=1.5), TypeError,
         "conv2d: expected stride as an int or a tuple of 2 ints, got 1.5"),
        (lambda: ops.conv2d(_X, _W, groups=0), ValueError,
         "conv2d: expected groups to be positive, got 0"),
        (lambda: ops.conv2d(_X, _W, dilation=0), ValueError,
         "conv2d: expected dilation to be positive, got 0"),
        (lambda: ops.conv2d(_X, _W, padding=-1), ValueError,
         "conv2d: expected padding to be non-negative, got -1"),
        (lambda: ops.conv2d(_X, _W, padding="full"), ValueError,
         "conv2d: expected padding 'same', 'valid', an int or a tuple of 2 ints, got 'full'"),
        (lambda: ops.conv2d(_X, _W, padding="same", stride=2), ValueError,
         "conv2d: padding='same' needs stride 1 (as in torch), got stride=(2, 2)"),
        (lambda: ops.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 4, 3, 3))), TypeError,
         "expected x or weight to be a Tensor, got ndarray and ndarray"),
        (lambda: ops.conv1d(_X, _W1), ShapeError,
         "conv1d: expected input of 3 dims (N, C, L) or (C, L), got shape (1, 4, 5, 5)"),
        (lambda: ops.conv1d(_X1, _W), ShapeError,
         "conv1d: expected a weight of 3 dims (out, in / groups, k), got shape (6, 4, 3, 3)"),
        (lambda: ops.conv1d(_X1, _W1, padding="same", stride=2), ValueError,
         "conv1d: padding='same' needs stride 1 (as in torch), got stride=2"),
        (lambda: ops.conv1d(_zeros(1, 4, 2), _W1), ShapeError,
         ("conv1d: expected a padded input at least as large as the dilated kernel (3,), got "
          "padded input size (2,)")),
        (lambda: ops.conv_transpose2d(_X, _zeros(3, 2, 3, 3)), ShapeError,
         ("conv_transpose2d: expected a weight (in=4, out / groups, ...) for input of 4 "
          "channels, got weight shape (3, 2, 3, 3)")),
        (lambda: ops.conv_transpose2d(_X, _zeros(4, 2, 3)), ShapeError,
         ("conv_transpose2d: expected a weight of 4 dims (in, out / groups, kh, kw), got shape "
          "(4, 2, 3)")),
        (lambda: ops.conv_transpose2d(_X, _zeros(4, 2, 3, 3), groups=3), ShapeError,
         "conv_transpose2d: expected input channels divisible by groups=3, got 4 channels"),
        (lambda: ops.conv_transpose2d(_X, _zeros(4, 2, 3, 3), _zeros(3), groups=2), ShapeError,
         "conv_transpose2d: expected a bias of shape (4,), got (3,)"),
        (lambda: ops.conv_transpose2d(_X, _W[:4], stride=2, output_padding=2), ValueError,
         ("conv_transpose2d: expected output_padding smaller than the stride or the dilation, "
          "got output_padding=2, stride=(2, 2), dilation=(1, 1)")),
        (lambda: ops.conv_transpose2d(_X, _W[:4], output_padding=(0, 1)), ValueError,
         "got output_padding=(0, 1), stride=(1, 1), dilation=(1, 1)"),
        (lambda: ops.conv_transpose2d(_X, _W[:4], padding="same"), TypeError,
         "conv_transpose2d: expected padding as an int or a pair of ints, got 'same'"),
        (lambda: ops.conv_transpose2d(_zeros(1, 1, 1, 1), _zeros(1, 1, 1, 1), padding=1),
         ShapeError, "conv_transpose2d: expected a positive output size, got (-1, -1)"),
    ],
)  # fmt: skip
def test_argument_errors_name_what_was_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_output_padding_below_the_dilation_is_allowed():
    out = ops.conv_transpose2d(_X, _W[:4], dilation=2, output_padding=1)
    assert out.shape == (1, 4, 10, 10)


def test_errors_agree_with_torch_on_what_is_refused():
    """Each refused call above is refused by torch too (the boundary is torch's)."""
    torch = require("torch")
    F = torch.nn.functional
    x, w = torch.zeros(1, 4, 5, 5), torch.zeros(6, 4, 3, 3)
    for call in (
        lambda: F.conv2d(x, w, padding="same", stride=2),
        lambda: F.conv2d(x, w, stride=0),
        lambda: F.conv2d(x, w, dilation=3),
        lambda: F.conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(6, 1, 3, 3), groups=2),
        lambda: F.conv_transpose2d(x, w[:4], stride=2, output_padding=2),
    ):
        with pytest.raises((RuntimeError, ValueError)):
            call()
    assert F.conv_transpose2d(x, w[:4], dilation=2, output_padding=1).shape == (1, 4, 10, 10)


def test_workspace_hands_out_an_array_again_only_once_nobody_holds_it():
    from glassnet.ops import _util

    _util.release_workspaces()
    shape = (_util._WORKSPACE_MIN // 4 + 1,)  # just above the size that is kept
    first = _util.workspace(shape, np.float32)
    held = first.reshape(-1, 1)  # a view (what an op saves) holds its base
    del first
    original = id(held.base)  # (an id: a reference would keep it held)
    second = _util.workspace(shape, np.float32)
    assert id(second) != original  # still held through the view: a new array
    del held
    third = _util.workspace(shape, np.float32)
    assert id(third) == original  # the view is gone: the first array again
    del third
    assert len(_util._workspaces[(shape, np.dtype(np.float32))]) == 2
    small = _util.workspace((10,), np.float32)
    assert small.shape == (10,) and (small.shape, small.dtype) not in _util._workspaces
    _util.release_workspaces()


def test_a_large_convolution_reuses_its_columns_and_keeps_its_gradients():
    # 32 -> 32 3x3 at batch 64 has 58 MB of im2col columns: kept, and reused across steps
    # only after the backward let them go; two forwards before one backward must not share
    from glassnet.ops import _util

    _util.release_workspaces()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    w = gn.tensor((rng.standard_normal((32, 32, 3, 3)) / 17).astype(np.float32),
                  requires_grad=True)  # fmt: skip
    up = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    ops.conv2d(gn.tensor(x), w, padding=1).backward(up)
    expected = w.grad.copy()
    w.grad = None
    a = ops.conv2d(gn.tensor(x), w, padding=1)
    b = ops.conv2d(gn.tensor(x[::-1].copy()), w, padding=1)  # both hold their columns
    (a * gn.tensor(up)).sum().backward()
    np.testing.assert_allclose(w.grad, expected, rtol=1e-5, atol=1e-4)
    del a, b
    _util.release_workspaces()
