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


@pytest.mark.parametrize(("stride", "kernel"), [(1, 3), (2, 5)])  # delta: correlation / col2im
def test_no_step_holds_the_whole_column_matrix(rng, monkeypatch, stride, kernel):
    """A = im2col(a_prev), kh * kw / stride^2 times the input's size, is built and used chunk by
    chunk (a few image rows, in the cache) and never whole, neither in the forward nor in the
    backward, once it is larger than what the op keeps (here: anything)."""
    import tracemalloc

    from glassnet.ops import conv

    monkeypatch.setattr(conv, "_KEEP_ITEMS", 0)
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1 << 14)  # one output row per chunk
    x = _leaf(rng.standard_normal((4, 4, 64, 64)))  # 32-64 output rows, a strip of 1 each
    w = _leaf(rng.standard_normal((4, 4, kernel, kernel)))
    columns = x.data.nbytes * kernel * kernel // stride**2
    tracemalloc.start()
    try:
        net = ops.conv2d(x, w, padding=kernel // 2, stride=stride)
        # beyond the output and the batch-last copy of the input that the op saves
        forward = tracemalloc.get_traced_memory()[1] - net.data.nbytes - x.data.nbytes
        assert net.op.cols is None  # nothing of A saved for the backward
        upstream = np.ones_like(net.data)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        net.backward(upstream)
        backward = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert forward < columns / 4, f"forward peak {forward} bytes; A has {columns}"
    assert backward < columns / 2, f"backward grew by {backward} bytes; A has {columns}"


_CHUNKED = [  # (case, input shape, weight shape, keyword arguments)
    ("stride 2, padding 1", (3, 4, 9, 11), (6, 4, 3, 3), dict(stride=2, padding=1)),
    ("dilation 2, same", (2, 3, 10, 8), (5, 3, 3, 3), dict(dilation=2, padding="same")),
    ("groups 2, 2x3 kernel", (2, 4, 7, 9), (6, 2, 2, 3), dict(padding=(1, 2), groups=2)),
    ("depthwise, stride (2, 1)", (2, 4, 8, 7), (4, 1, 3, 3), dict(stride=(2, 1), groups=4)),
    ("3 filters (by rows)", (2, 2, 9, 9), (3, 2, 5, 5), dict(padding=2)),
    ("valid, a 1x1 kernel", (2, 5, 6, 6), (7, 5, 1, 1), {}),
]


_CHUNKED = [(*case, False) for case in _CHUNKED] + [  # and the transposes of ungrouped ones
    (*case, True) for case in _CHUNKED if "groups" not in case[3]]


@pytest.mark.parametrize(("case", "x_shape", "w_shape", "kwargs", "transposed"), _CHUNKED,
                         ids=[c[0] + (", transposed" if c[4] else "") for c in _CHUNKED])
def test_values_and_gradients_do_not_depend_on_the_chunks(rng, monkeypatch, case, x_shape,
                                                          w_shape, kwargs, transposed):  # fmt: skip
    """One row per chunk, a few rows (a shorter last chunk), and all rows at once give the
    same outputs and gradients (float64, to 1e-12); the spec table checks the whole-matrix
    path against torch."""
    from glassnet.ops import conv

    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    if transposed:  # conv_transpose2d with the same weights (in, out, kh, kw)
        kwargs = {k: v for k, v in kwargs.items() if k != "padding" or isinstance(v, int)}
        w = w.transpose(1, 0, 2, 3)
    b = rng.standard_normal(w.shape[1] if transposed else w.shape[0])
    upstream = None
    results = []
    # whole; then budgets of one row and of several rows (with a shorter last chunk) for the
    # sweeps of these sizes, whose rows of columns take 1-15 kB
    for chunk, keep in ((1 << 40, 1 << 40), (1, 0), (6000, 0), (15000, 0), (40000, 0)):
        leaves = [_leaf(x), _leaf(w), _leaf(b)]
        monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk)
        monkeypatch.setattr(conv, "_KEEP_ITEMS", keep)
        call = ops.conv_transpose2d if transposed else ops.conv2d
        net = call(*leaves, **kwargs)
        if upstream is None:
            upstream = rng.standard_normal(net.shape)
        net.backward(upstream)
        results.append([net.data] + [leaf.grad for leaf in leaves])
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("case", "x_shape", "w_shape", "kwargs", "transposed"), _CHUNKED,
                         ids=[c[0] + (", transposed" if c[4] else "") for c in _CHUNKED])
def test_rows_split_over_threads_give_the_same_values_and_gradients(monkeypatch, case, x_shape,
                                                                    w_shape, kwargs,
                                                                    transposed):  # fmt: skip
    """Inside backend.threads(n), each sweep is split by output rows over n threads, each
    with its own strips (kept strips, from the forward, are never split): the same outputs
    and gradients as one thread (float64, to 1e-12, seed 4), with 2 and 3 threads and chunks
    of one and several rows per range."""
    from glassnet import backend
    from glassnet.ops import conv

    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    if transposed:
        kwargs = {k: v for k, v in kwargs.items() if k != "padding" or isinstance(v, int)}
        w = w.transpose(1, 0, 2, 3)
    b = rng.standard_normal(w.shape[1] if transposed else w.shape[0])
    call = ops.conv_transpose2d if transposed else ops.conv2d
    monkeypatch.setattr(conv, "_SPLIT_ITEMS", 0)
    parts = []
    monkeypatch.setattr(conv, "split", lambda work, n: parts.append(n) or backend.split(work, n))
    upstream, results = None, []
    for threads, chunk, keep in ((1, 1 << 40, 0), (2, 1 << 40, 0), (2, 6000, 0), (3, 1, 0),
                                 (2, 1, 1 << 40), (3, 1, 1 << 40)):  # fmt: skip
        monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk)
        monkeypatch.setattr(conv, "_KEEP_ITEMS", keep)  # 0: rebuilt strips; else kept ones
        leaves = [_leaf(x), _leaf(w), _leaf(b)]
        with backend.threads(threads):
            net = call(*leaves, **kwargs)
            upstream = rng.standard_normal(net.shape) if upstream is None else upstream
            net.backward(upstream)
        results.append([net.data] + [leaf.grad for leaf in leaves])
    assert parts and max(parts) == 3
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2])
def test_col2im_split_by_channels_over_threads_gives_the_same_image(monkeypatch, groups):
    """col2im (stride 2's delta propagation, a strided transposed conv's forward) split by
    each group's channels over 2 and 3 threads equals it on one (float64, seed 6)."""
    from glassnet import backend
    from glassnet.ops import conv

    rng = np.random.default_rng(6)
    g = conv._Geometry((3, 2), (2, 2), (1, 1), ((1, 1), (0, 0)), groups, (9, 8), (5, 4))
    k, m, n = 6 * 3 * 2, 4, 3  # 6 channels per group, kernel 3x2; 4 filters per group
    d, wt = rng.standard_normal((groups * m, 5 * 4 * n)), rng.standard_normal((groups, k, m))
    monkeypatch.setattr(conv, "_SPLIT_ITEMS", 0)
    parts = []
    monkeypatch.setattr(conv, "split", lambda work, p: parts.append(p) or backend.split(work, p))
    images = []
    for threads in (1, 2, 3):
        with backend.threads(threads):
            images.append(g.col2im(d, wt))
    assert parts == [1, 2, 3] and images[0].shape == (groups * 6, 9, 8, n)
    for other in images[1:]:
        np.testing.assert_allclose(other, images[0], rtol=1e-12, atol=1e-12)


def test_the_rows_are_split_evenly_and_small_sweeps_stay_on_one_thread(monkeypatch):
    from glassnet import backend
    from glassnet.ops import conv

    g = conv._Geometry((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1, (28, 28), (28, 28))
    block = np.zeros((32, 28, 28, 64), np.float32)  # the block network's 32 -> 32 layer
    assert g.ranges(block) == [(0, 28)]  # outside backend.threads
    with backend.threads(2):
        assert g.ranges(block) == [(0, 14), (14, 28)]
        assert g.ranges(block[:1, ..., :4]) == [(0, 28)]  # A of 9 * 784 * 4 entries: too small
        row = 32 * 3 * 28 * 64 * 4
        assert g.chunks(row, (14, 28)) == [(14, 18), (18, 22), (22, 26), (26, 28)]
    with backend.threads(3):
        assert g.ranges(block) == [(0, 9), (9, 18), (18, 28)]
    tiny = conv._Geometry((1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), 1, (2, 2), (2, 2))
    with backend.threads(8):
        monkeypatch.setattr(conv, "_SPLIT_ITEMS", 0)
        assert tiny.ranges(block) == [(0, 1), (1, 2)]  # at most a row per thread


def test_frozen_weights_and_a_constant_input(rng):
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    net = ops.conv2d(_leaf(x), gn.tensor(w))  # weights without a gradient
    net.sum().backward()
    inputless = ops.conv2d(x, _leaf(w))  # a plain array input is a constant, as in linear
    assert inputless.op.needs == (False, True)
    inputless.sum().backward()


def test_random_geometries_in_chunks_match_torch(monkeypatch):
    """40 random geometries (groups, stride, dilation, padding, output_padding, odd sizes), each
    with one output row per chunk and nothing kept, against torch in float64 (seed 1)."""
    torch = require("torch")
    F = torch.nn.functional
    from glassnet.ops import conv

    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "_KEEP_ITEMS", 0)
    rng = np.random.default_rng(1)
    checked = 0
    while checked < 40:
        groups = int(rng.choice([1, 1, 2, 3]))
        cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
        (kh, kw), (sh, sw), (dh, dw), (ph, pw) = (tuple(int(v) for v in rng.integers(lo, hi, 2))
                                                  for lo, hi in ((1, 5), (1, 4), (1, 3), (0, 4)))
        h = max(1, dh * (kh - 1) + 1 - 2 * ph) + int(rng.integers(0, 7))
        w = max(1, dw * (kw - 1) + 1 - 2 * pw) + int(rng.integers(0, 7))
        x = rng.standard_normal((int(rng.integers(1, 4)), cin, h, w))
        kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
        if rng.random() < 0.3:
            weight = rng.standard_normal((cin, cout // groups, kh, kw))
            extra = int(rng.integers(0, max(sh, dh))) if sh > 1 or dh > 1 else 0
            kwargs["output_padding"] = (extra, 0)
            ours, theirs = ops.conv_transpose2d, F.conv_transpose2d
        else:
            weight = rng.standard_normal((cout, cin // groups, kh, kw))
            ours, theirs = ops.conv2d, F.conv2d
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
        try:
            expected = theirs(tx, tw, **kwargs)
        except RuntimeError:  # a geometry torch refuses (too small an output, say)
            continue
        up = rng.standard_normal(tuple(expected.shape))
        expected.backward(torch.tensor(up))
        gx, gw = _leaf(x), _leaf(weight)
        out = ours(gx, gw, **kwargs)
        out.backward(up)
        for got, want in ((out.data, expected), (gx.grad, tx.grad), (gw.grad, tw.grad)):
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-9, atol=1e-9,
                                       err_msg=f"{ours.__name__} {kwargs} x {x.shape}")
        checked += 1


def test_chunks_fit_the_cache_on_the_cpu_and_are_one_on_a_device(monkeypatch):
    from glassnet.ops import conv

    g = conv._Geometry((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1, (28, 28), (28, 28))
    row = 32 * 3 * 28 * 64 * 4  # a 32 -> 32 layer's strip per image row at batch 64, float32
    chunks = g.chunks(row)  # r output rows read r + 2 image rows
    assert chunks[0] == (0, conv._CHUNK_BYTES // row - 2) and chunks[-1][1] == 28
    assert all(b == c for (_, b), (c, _) in zip(chunks, chunks[1:]))  # contiguous, in order
    strided = conv._Geometry((3, 3), (2, 2), (2, 2), ((2, 2), (2, 2)), 1, (28, 28), (14, 14))
    padded = conv._CHUNK_BYTES // row  # 2 (r - 1) + 2 * 2 + 1 image rows for r output rows
    assert strided.chunks(row)[0] == (0, (padded - 5) // 2 + 1)
    assert g.chunks(1) == [(0, 28)] and g.chunks(1 << 40) == [(y, y + 1) for y in range(28)]
    monkeypatch.setattr(conv, "backend_name", lambda: "cupy")
    assert g.chunks(row) == [(0, 28)]


def test_conv_transpose_gradients_alone_and_together(rng):
    """conv_transpose2d's backward shares one sweep of im2col(delta) between delta_prev and
    grad_W; each alone (the other operand constant) gives the same as both together."""
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((3, 4, 3, 3))
    up = rng.standard_normal((2, 4, 11, 13))
    both = [_leaf(x), _leaf(w)]
    ops.conv_transpose2d(*both, stride=2).backward(up)
    weight_only = _leaf(w)
    ops.conv_transpose2d(gn.tensor(x), weight_only, stride=2).backward(up)
    input_only = _leaf(x)
    ops.conv_transpose2d(input_only, gn.tensor(w), stride=2).backward(up)
    np.testing.assert_allclose(weight_only.grad, both[1].grad, rtol=1e-12)
    np.testing.assert_allclose(input_only.grad, both[0].grad, rtol=1e-12)


_SHARED = [  # stride-1 geometries whose delta propagation is the full correlation
    ("3x3 same", (2, 3, 7, 6), (4, 3, 3, 3), dict(padding="same")),
    ("dilation 2, same, 3x2 kernel", (2, 2, 9, 8), (3, 2, 3, 2), dict(dilation=2, padding="same")),
    ("groups 2, padding (1, 2)", (2, 4, 6, 7), (6, 2, 3, 3), dict(padding=(1, 2), groups=2)),
    ("depthwise 3x3", (3, 4, 6, 5), (4, 1, 3, 3), dict(padding=1, groups=4)),
    ("8 inputs, 5x5 pad 3 (larger output)", (2, 8, 5, 6), (9, 8, 5, 5), dict(padding=3)),
    ("a 1x1 kernel", (2, 5, 4, 3), (2, 5, 1, 1), {}),
]


@pytest.mark.parametrize("chunk", [1, 1 << 40], ids=["one row per chunk", "one chunk"])
@pytest.mark.parametrize(("case", "x_shape", "w_shape", "kwargs"), _SHARED,
                         ids=[c[0] for c in _SHARED])
def test_stride_one_backward_shares_one_sweep(monkeypatch, case, x_shape, w_shape, kwargs,
                                               chunk):  # fmt: skip
    """Where both a_prev and W need a gradient and A is not kept, one sweep of im2col(delta)
    gives delta_prev and grad_W (a_prev D^T, with the kernel flipped back) and im2col(a_prev)
    is not built: against torch in float64 (seed 3), and against each gradient alone."""
    torch = require("torch")
    from glassnet.ops import conv

    monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk)
    monkeypatch.setattr(conv, "_KEEP_ITEMS", 0)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    expected = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    up = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(up))
    built = []
    monkeypatch.setattr(conv._Geometry, "weight_grad", lambda *a: built.append(a) or None)
    gx, gw, gb = _leaf(x), _leaf(w), _leaf(b)
    ops.conv2d(gx, gw, gb, **kwargs).backward(up)
    assert built == []  # grad_W came from the sweep of im2col(delta)
    for got, want in ((gx.grad, tx.grad), (gw.grad, tw.grad), (gb.grad, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-10)
    monkeypatch.undo()
    monkeypatch.setattr(conv, "_KEEP_ITEMS", 0)
    weight_only, input_only = _leaf(w), _leaf(x)
    ops.conv2d(gn.tensor(x), weight_only, **kwargs).backward(up)
    ops.conv2d(input_only, gn.tensor(w), **kwargs).backward(up)
    np.testing.assert_allclose(weight_only.grad, gw.grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(input_only.grad, gx.grad, rtol=1e-12, atol=1e-12)


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
