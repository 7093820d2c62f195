"""Pooling, padding and resizing over the spatial axes of (N, C, L) and (N, C, H, W) input:
max and average pooling, adaptive average pooling, nearest-neighbour upsampling and padding,
with torch.nn.functional's names, argument orders and output sizes.

Every op works on the trailing d spatial axes (d = 1 or 2; an unbatched (C, L) or (C, H, W)
works too, as in torch). A window op loops over the kh * kw kernel offsets, never over samples
or output positions: ``_window(a, offset, stride, out)`` is the strided view (basic slicing)
of the element that one kernel offset sees in every window at once. Basic slicing is all the
ops need, so CuPy runs them unchanged (``lib.stride_tricks`` is not in the backend contract,
and in NumPy a reduction over the two small trailing axes of a sliding-window view is several
times slower than kh * kw whole-array operations on strided views).
"""

import itertools
import numbers

from ..autodiff import Op, Tensor
from ..backend import xp
from ..errors import ShapeError
from ._util import floating, ones

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "upsample", "pad",
]  # fmt: skip


# ---- windows ---------------------------------------------------------------------------------


def _offsets(kernel):
    """The kernel offsets (p, q) in window order: row-major, torch's order for ties."""
    return itertools.product(*(range(k) for k in kernel))


def _window(a, offset, stride, out):
    """The view a[..., i sh + p, j sw + q] over all output positions (i, j) for offset (p, q)."""
    return a[(Ellipsis, *(slice(o, o + s * (n - 1) + 1, s)
                          for o, s, n in zip(offset, stride, out)))]  # fmt: skip


def _window_sum(a, kernel, stride, out):
    """sum_(p, q) a[..., i sh + p, j sw + q] for every output position (i, j)."""
    windows = (_window(a, offset, stride, out) for offset in _offsets(kernel))
    total = next(windows).copy(order="K")
    for window in windows:
        total += window
    return total


def _out_size(size, kernel, stride, padding):
    """torch's output size per axis: floor((n + 2 p - k) / s) + 1."""
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))


def _axis_order(a):
    """a's axes from the largest stride to the smallest: the order in which they lie in
    memory. A convolution's output is an NCHW view of a batch-last (C, H, W, N) array, and
    the ops keep that layout (see ``_allocate``), so that the next convolution and the
    elementwise ops between them read it in place."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -abs(a.strides[axis])))


def _allocate(shape, order, dtype, fill=None):
    """An array of ``shape`` whose axes lie in memory in ``order`` (see ``_axis_order``),
    filled with ``fill`` (None: uninitialised)."""
    stored = tuple(shape[axis] for axis in order)
    a = xp.empty(stored, dtype) if fill is None else xp.full(stored, fill, dtype)
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return a.transpose(inverse)


def _pad_both(x, padding, value):
    """x with ``padding`` elements of ``value`` on both sides of each trailing axis, in x's
    memory layout."""
    if not any(padding):
        return x
    d = len(padding)
    shape = x.shape[:-d] + tuple(n + 2 * p for n, p in zip(x.shape[-d:], padding))
    padded = _allocate(shape, _axis_order(x), x.dtype, value)
    padded[(Ellipsis, *(slice(p, p + n) for p, n in zip(padding, x.shape[-d:])))] = x
    return padded


def _crop(g, padding):
    """The inverse of ``_pad_both`` for a gradient: the centre of g."""
    if not any(padding):
        return g
    d = len(padding)
    return g[(Ellipsis, *(slice(p, n - p) for p, n in zip(padding, g.shape[-d:])))]


def _count(kernel):
    """The number of offsets in a window: kh * kw (the product of a shape)."""
    count = 1
    for k in kernel:
        count *= k
    return count


def _tiles(shape, kernel, stride, padding, out):
    """True when the windows tile the input exactly (kernel == stride, no padding, sizes
    divisible): (..., H, W) is (..., OH, kh, OW, kw), and every element is in one window."""
    d = len(kernel)
    return (kernel == stride and not any(padding)
            and all(n == o * k for n, o, k in zip(shape[-d:], out, kernel)))  # fmt: skip


def _scatter(dtype, shape, kernel, stride, out, parts, tiles=False, order=None):
    """grad_x_pad of ``shape``: part k of ``parts`` (one array per kernel offset, in window
    order) added into window k; assigned where windows cannot overlap (stride >= kernel).

    ``tiles`` is the fast path of windows that tile x (see ``_tiles``): each element is
    written once, so there is no zero fill. (Strided writes into the (..., OH, kh, OW, kw)
    layout: broadcasting grad_out over that layout, and then reshaping, measured 2-5x slower.)
    """
    order = tuple(range(len(shape))) if order is None else order
    grad = _allocate(shape, order, dtype, None if tiles else 0)
    disjoint = all(s >= k for s, k in zip(stride, kernel))
    for offset, part in zip(_offsets(kernel), parts):
        view = _window(grad, offset, stride, out)
        if disjoint:
            view[...] = part
        else:
            view += part
    return grad


def _scatter_back(op, dtype, parts):
    """grad_x of a window op (``op`` has shape, kernel, stride, padding, out): ``parts``
    scattered into the padded input's shape, then the padding cropped off."""
    d = len(op.kernel)
    padded = op.shape[:-d] + tuple(n + 2 * p for n, p in zip(op.shape[-d:], op.padding))
    tiles = _tiles(op.shape, op.kernel, op.stride, op.padding, op.out)
    grad = _scatter(dtype, padded, op.kernel, op.stride, op.out, parts, tiles, op.layout)
    return _crop(grad, op.padding)


class MaxPool(Op):
    """Max pooling: the largest element of each window of x padded with -inf.

    forward:  a[..., i, j] = max_(p, q) x_pad[..., i sh + p, j sw + q]
    backward: grad_x_pad[..., i sh + p*, j sw + q*] += grad_out[..., i, j]
    jvp:      da[..., i, j] = dx_pad[..., i sh + p*, j sw + q*]
    where (p*, q*) = k*[..., i, j] is the first offset in window order (row-major) that holds
    the maximum, as in torch: at a tie one element gets the whole gradient, and overlapping
    windows (stride < kernel) add up where they pick the same element. A NaN propagates to the
    output. Fast path (kernel == stride, no padding, sizes divisible): the backward writes
    each element of grad_x once, with no zero fill and no crop (see ``_scatter``).
    """

    saved_inputs = ()  # only k*, which forward made

    def forward(self, x, kernel, stride, padding):
        d = len(kernel)
        self.shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        self.out = out = _out_size(x.shape[-d:], kernel, stride, padding)
        self.layout = _axis_order(x)  # a, argmax and grad_x keep x's memory layout
        x_pad = _pad_both(x, padding, -xp.inf)
        windows = (_window(x_pad, offset, stride, out) for offset in _offsets(kernel))
        a = next(windows).copy(order="K")
        self.argmax = argmax = xp.zeros_like(a, xp.int8 if _count(kernel) < 128 else xp.int32)
        for k, window in enumerate(windows, 1):
            better = window > a  # strictly: the first maximum keeps its place
            xp.maximum(a, window, out=a)
            xp.maximum(argmax, better * argmax.dtype.type(k), out=argmax)  # k grows: max is "="
        return a

    def _hits(self):
        """One mask per offset, in window order: where the window's maximum sits there."""
        return (self.argmax == k for k in range(_count(self.kernel)))

    def backward(self, grad_out):
        # (a non-finite grad_out spreads NaN over its window: mask products, not a slow where)
        parts = (grad_out * hit for hit in self._hits())
        return (_scatter_back(self, grad_out.dtype, parts),)

    def jvp(self, dx):
        dx_pad = _pad_both(dx, self.padding, 0)
        windows = (_window(dx_pad, o, self.stride, self.out) for o in _offsets(self.kernel))
        da = None
        for window, hit in zip(windows, self._hits()):
            da = window * hit if da is None else da + window * hit
        return da


class AvgPool(Op):
    """Average pooling: the mean of each window of x padded with zeros.

    forward:  a[..., i, j] = sum_(p, q) x_pad[..., i sh + p, j sw + q] / c[i, j]
    backward: grad_x_pad[..., i sh + p, j sw + q] += grad_out[..., i, j] / c[i, j]  (every p, q)
    jvp:      da = the forward applied to dx (the op is linear)
    c = kh kw with count_include_pad (torch's default), else the number of window elements
    inside the unpadded input. Fast path as in ``MaxPool``.
    """

    saves_arrays = False  # shapes and the divisor c, a constant of the shapes

    def forward(self, x, kernel, stride, padding, count_include_pad):
        d = len(kernel)
        self.shape, self.kernel, self.stride, self.padding = x.shape, kernel, stride, padding
        self.out = _out_size(x.shape[-d:], kernel, stride, padding)
        self.layout = _axis_order(x)
        if count_include_pad or not any(padding):
            self.count = _count(kernel)
        else:  # the same window sums over ones: how many real elements each window holds
            self.count = self._sum(xp.ones(x.shape[-d:], x.dtype))
        return self._sum(x) / self.count

    def _sum(self, x):
        return _window_sum(_pad_both(x, self.padding, 0), self.kernel, self.stride, self.out)

    def backward(self, grad_out):
        g = grad_out / self.count
        return (_scatter_back(self, g.dtype, itertools.repeat(g)),)

    def jvp(self, dx):
        return self._sum(dx) / self.count


def _bins(n, m, dtype):
    """torch's adaptive-pooling matrix A (m, n): row i averages x[floor(i n / m) ..
    ceil((i + 1) n / m) - 1]."""
    i, j = xp.arange(m)[:, None], xp.arange(n)
    start, end = (i * n) // m, -((-(i + 1) * n) // m)
    inside = (j >= start) & (j < end)
    return inside / (end - start).astype(dtype)


def _along(x, matrices, transpose=False):
    """x multiplied along each of its trailing axes by the matching matrix (A or A^T)."""
    d = len(matrices)
    for axis, A in zip(range(x.ndim - d, x.ndim), matrices):
        x = xp.moveaxis(xp.tensordot(x, A, axes=([axis], [0 if transpose else 1])), -1, axis)
    return x


def _global_mean(x, axes, count):
    """x averaged over its trailing ``axes``, keeping them. On a batch-last (C, *spatial, N)
    array (a convolution's output) a product ones (count,) @ (C, count, N): a fifth of the
    time of ``mean`` for 32 channels of 64 x 28 x 28 values."""
    batch_last = x.transpose(1, *axes, 0) if x.ndim == 2 + len(axes) else None
    if batch_last is None or not batch_last.flags.c_contiguous:
        return x.mean(axis=axes, keepdims=True)
    c, n = x.shape[1], x.shape[0]
    sums = xp.matmul(ones(count, x.dtype), batch_last.reshape(c, count, n))  # (C, N)
    sums /= count
    return sums.T.reshape(n, c, *(1,) * len(axes))


class AdaptiveAvgPool(Op):
    """Adaptive average pooling to a given output size, with torch's bins: along an axis of
    length n, output i averages the inputs floor(i n / m) .. ceil((i + 1) n / m) - 1.

    The bins are products of per-axis ranges, so the op is one averaging matrix A per axis:
    forward:  a = x A_H^T along H, A_W^T along W       (a[i, j] = sum A_H[i, h] A_W[j, w] x[h, w])
    backward: grad_x = grad_out A_H along H, A_W along W
    jvp:      da = dx A_H^T along H, A_W^T along W
    Global average pooling (every output size 1) is a mean over the spatial axes.
    """

    saved_inputs = ()  # the matrices, which forward made

    def forward(self, x, output_size):
        d = len(output_size)
        self.shape, size, self.layout = x.shape, x.shape[-d:], _axis_order(x)
        self.axes = tuple(range(x.ndim - d, x.ndim))
        self.matrices = None
        if all(m == 1 for m in output_size):
            self.count = _count(size)
            return _global_mean(x, self.axes, self.count)
        self.matrices = [_bins(n, m, x.dtype) for n, m in zip(size, output_size)]
        return _along(x, self.matrices)

    def backward(self, grad_out):
        if self.matrices is None:  # global: grad_x = grad_out / (H W) everywhere
            # written out in x's layout: a broadcast view would make the next elementwise
            # backward (relu's) iterate in NCHW order over batch-last operands, 5-10x slower
            grad = _allocate(self.shape, self.layout, grad_out.dtype)
            grad[...] = grad_out / self.count
            return (grad,)
        return (_along(grad_out, self.matrices, transpose=True),)

    def jvp(self, dx):
        if self.matrices is None:
            return dx.mean(axis=self.axes, keepdims=True)
        return _along(dx, self.matrices)


class UpsampleNearest(Op):
    """Nearest-neighbour upsampling by integer factors (sh, sw): each element repeated.

    forward:  a[..., i, j] = x[..., i // sh, j // sw]
    backward: grad_x[..., i, j] = sum_(p, q) grad_out[..., i sh + p, j sw + q]   (sum pooling)
    jvp:      da = the forward applied to dx (the op is linear)
    """

    saves_arrays = False

    def forward(self, x, factors):
        # x written into each offset's window of a tiling (the adjoint of sum pooling)
        self.factors, d = factors, len(factors)
        lead, self.size = x.shape[:-d], x.shape[-d:]
        shape = lead + tuple(n * s for n, s in zip(self.size, factors))
        return _scatter(x.dtype, shape, factors, factors, self.size, itertools.repeat(x), True,
                        _axis_order(x))  # fmt: skip

    def backward(self, grad_out):
        return (_window_sum(grad_out, self.factors, self.factors, self.size),)

    def jvp(self, dx):
        return self.forward(dx, self.factors)


def _reflect_back(g, axis, left, right):
    """The adjoint of reflect padding along one axis: the centre of g, plus the borders
    mirrored back onto the elements they copied (x[1 .. left] and x[n-1-right .. n-2])."""

    def at(s):
        return (slice(None),) * axis + (s,)

    n = g.shape[axis] - left - right
    grad = g[at(slice(left, left + n))].copy()
    if left:  # a[left - 1 - i] = x[1 + i]
        grad[at(slice(1, left + 1))] += g[at(slice(left - 1, None, -1))]
    if right:  # a[left + n + i] = x[n - 2 - i]
        end = left + n + right - 1
        grad[at(slice(n - 1 - right, n - 1))] += g[at(slice(end, left + n - 1, -1))]
    return grad


class Pad(Op):
    """Padding of the trailing axes: a constant around x, or x's reflection (no edge repeat).

    forward:  constant: a = x with ``value`` in the borders
              reflect:  a[..., -i] = x[..., i] and a[..., n - 1 + i] = x[..., n - 1 - i]
    backward: constant: grad_x = the centre of grad_out
              reflect:  the centre plus each border mirrored back onto what it copied
    jvp:      da = the forward applied to dx, with 0 in constant borders
    """

    saves_arrays = False

    def forward(self, x, widths, mode, value):
        self.widths, self.mode = widths, mode
        if mode == "reflect":
            return xp.pad(x, widths, mode="reflect")
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad_out):
        g = grad_out
        if self.mode == "constant":
            return (g[tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))],)
        for axis, (lo, hi) in enumerate(self.widths):
            if lo or hi:
                g = _reflect_back(g, axis, lo, hi)
        return (g,)

    def jvp(self, dx):
        return self.forward(dx, self.widths, self.mode, 0)


# ---- the functional wrappers: every check happens here ---------------------------------------


def _ints(fn, name, value, d, minimum):
    """``value`` (an int, or a tuple or list of d ints), each >= minimum, as a tuple of d ints."""
    items = (value,) * d if isinstance(value, numbers.Integral) else value
    if not (isinstance(items, (tuple, list)) and len(items) == d and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum
            for v in items)):  # fmt: skip
        kind = "a positive" if minimum > 0 else "a non-negative"
        pair = "" if d == 1 else f" or a tuple of {d} of them"
        raise ValueError(f"{fn}: expected {name} as {kind} int{pair}, got {value!r}")
    return tuple(int(v) for v in items)


_LAYOUTS = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)"}


def _spatial(fn, x, d):
    """``x`` as a floating Tensor of rank d + 1 or d + 2 (unbatched or batched)."""
    if not isinstance(x, Tensor):
        x = Tensor(xp.asarray(x))
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{fn}: expected input of shape {_LAYOUTS[d]}, got {x.shape}")
    return x if x.requires_grad else floating(x)


def _pool_args(fn, x, d, kernel_size, stride, padding):
    """The checked (kernel, stride, padding) tuples of a pooling op on ``x``."""
    kernel = _ints(fn, "kernel_size", kernel_size, d, 1)
    stride = kernel if stride is None else _ints(fn, "stride", stride, d, 1)
    padding = _ints(fn, "padding", padding, d, 0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ShapeError(f"{fn}: expected padding at most half of kernel_size (as torch), got "
                         f"padding {padding} for kernel_size {kernel}")  # fmt: skip
    padded = tuple(n + 2 * p for n, p in zip(x.shape[-d:], padding))
    if any(k > n for k, n in zip(kernel, padded)):
        raise ShapeError(f"{fn}: expected kernel_size {kernel} no larger than the padded input "
                         f"{padded}, got input of shape {x.shape} with padding {padding}")
    return kernel, stride, padding


def _max_pool(fn, x, d, kernel_size, stride, padding):
    x = _spatial(fn, x, d)
    kernel, stride, padding = _pool_args(fn, x, d, kernel_size, stride, padding)
    return MaxPool.apply(x, kernel=kernel, stride=stride, padding=padding)


def _avg_pool(fn, x, d, kernel_size, stride, padding, count_include_pad):
    x = _spatial(fn, x, d)
    kernel, stride, padding = _pool_args(fn, x, d, kernel_size, stride, padding)
    return AvgPool.apply(x, kernel=kernel, stride=stride, padding=padding,
                         count_include_pad=bool(count_include_pad))  # fmt: skip


def max_pool1d(x, kernel_size, stride=None, padding=0):
    """Max pooling over the last axis of (N, C, L) (or (C, L)) input, as torch's F.max_pool1d.

        a[..., i] = max_p x_pad[..., i s + p],   L_out = floor((L + 2 padding - k) / s) + 1
    with -inf padding; the gradient goes to the first maximum of each window (see ``MaxPool``).

    Args:
        x: Tensor (N, C, L) or (C, L).
        kernel_size: window length k (an int or a 1-tuple); stride: default kernel_size;
        padding: -inf elements on both sides, at most k / 2.
    Raises:
        ShapeError: x of another rank, padding above k / 2, a window longer than the padded input.
        ValueError: kernel_size or stride not positive ints, padding negative.
    """
    return _max_pool("max_pool1d", x, 1, kernel_size, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling over the last two axes of (N, C, H, W) (or (C, H, W)) input, as torch's
    F.max_pool2d.

        a[..., i, j] = max_(p, q) x_pad[..., i sh + p, j sw + q]
        H_out = floor((H + 2 ph - kh) / sh) + 1, likewise W_out
    with -inf padding. The gradient goes only to the element that held each window's maximum;
    at a tie the first in window order (row-major) gets it, as in torch (see ``MaxPool``).

    Args:
        x: Tensor (N, C, H, W) or (C, H, W).
        kernel_size: int or (kh, kw). stride: int or (sh, sw), default kernel_size.
        padding: int or (ph, pw), on both sides, each at most half of the kernel's size.
    Raises:
        ShapeError: x of another rank, padding above half the kernel, a kernel larger than the
            padded input.
        ValueError: kernel_size or stride not positive ints, padding negative.
    Example:
        >>> max_pool2d(x, 2)            # (64, 6, 28, 28) -> (64, 6, 14, 14)
    """
    return _max_pool("max_pool2d", x, 2, kernel_size, stride, padding)


def avg_pool1d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Average pooling over the last axis of (N, C, L) (or (C, L)) input, as torch's
    F.avg_pool1d: a[..., i] = sum_p x_pad[..., i s + p] / c with zero padding, c = k
    (count_include_pad, torch's default) or the number of window elements inside x.
    Arguments and errors as ``max_pool1d``."""
    return _avg_pool("avg_pool1d", x, 1, kernel_size, stride, padding, count_include_pad)


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Average pooling over the last two axes of (N, C, H, W) (or (C, H, W)) input, as
    torch's F.avg_pool2d.

        a[..., i, j] = sum_(p, q) x_pad[..., i sh + p, j sw + q] / c[i, j]
    with zero padding; c = kh kw with count_include_pad (torch's default), else the number of
    window elements inside the unpadded input. Output sizes, arguments and errors as
    ``max_pool2d``.
    """
    return _avg_pool("avg_pool2d", x, 2, kernel_size, stride, padding, count_include_pad)


def _adaptive(fn, x, d, output_size):
    x = _spatial(fn, x, d)
    items = (output_size,) * d if isinstance(output_size, numbers.Integral) else output_size
    if not (isinstance(items, (tuple, list)) and len(items) == d and all(
            v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1)
            for v in items)):  # fmt: skip
        pair = "" if d == 1 else f" or a tuple of {d} of them (None: keep that size)"
        raise ValueError(f"{fn}: expected output_size as a positive int{pair}, got "
                         f"{output_size!r}")  # fmt: skip
    size = tuple(n if m is None else int(m) for n, m in zip(x.shape[-d:], items))
    return AdaptiveAvgPool.apply(x, output_size=size)


def adaptive_avg_pool1d(x, output_size):
    """Adaptive average pooling of (N, C, L) (or (C, L)) input to length ``output_size``, as
    torch's F.adaptive_avg_pool1d: output i averages x[floor(i L / m) .. ceil((i + 1) L / m) - 1]
    (windows of L / m when m divides L; output_size 1 is global average pooling)."""
    return _adaptive("adaptive_avg_pool1d", x, 1, output_size)


def adaptive_avg_pool2d(x, output_size):
    """Adaptive average pooling of (N, C, H, W) (or (C, H, W)) input to ``output_size``, as
    torch's F.adaptive_avg_pool2d.

    Output (i, j) averages the rows floor(i H / m) .. ceil((i + 1) H / m) - 1 and the columns
    likewise (torch's bins: kernel = stride = H / m when m divides H). output_size 1 is global
    average pooling: (N, C, H, W) -> (N, C, 1, 1).

    Args:
        x: Tensor (N, C, H, W) or (C, H, W).
        output_size: int or (m_h, m_w); None in the pair keeps that axis's size.
    Raises:
        ShapeError: x of another rank.  ValueError: an output size that is not a positive int.
    """
    return _adaptive("adaptive_avg_pool2d", x, 2, output_size)


def upsample(x, size=None, scale_factor=None, mode="nearest"):
    """Nearest-neighbour upsampling of the spatial axes of (N, C, L) or (N, C, H, W) input by
    integer factors, as torch's F.upsample / F.interpolate(mode="nearest") (torch's argument
    order: ``upsample(x, scale_factor=2)``).

        a[..., i, j] = x[..., i // sh, j // sw]

    Args:
        x: Tensor (N, C, L) or (N, C, H, W).
        size: the output's spatial size (an int or a tuple), each a multiple of the input's; or
        scale_factor: int or tuple of ints >= 1 (a float equal to an int is taken as that int).
        mode: "nearest" (the only mode).
    Raises:
        ShapeError: x not 3-D or 4-D, a size that is not a multiple of the input's.
        ValueError: both or neither of size and scale_factor, a factor that is not an integer,
            another mode.
    """
    if mode != "nearest":
        raise ValueError(f"upsample: expected mode 'nearest', got {mode!r}")
    if not isinstance(x, Tensor):
        x = Tensor(xp.asarray(x))
    if x.ndim not in (3, 4):
        raise ShapeError(f"upsample: expected input of shape (N, C, L) or (N, C, H, W), got "
                         f"{x.shape}")  # fmt: skip
    d, spatial = x.ndim - 2, x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("upsample: expected exactly one of size and scale_factor, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")  # fmt: skip
    if size is not None:
        size = _ints("upsample", "size", size, d, 1)
        if any(m % n for m, n in zip(size, spatial)):
            raise ShapeError(f"upsample: expected size {size} a multiple of the input's spatial "
                             f"size {spatial} (integer factors only), got input {x.shape}")
        factors = tuple(m // n for m, n in zip(size, spatial))
    else:
        items = (scale_factor,) * d if isinstance(scale_factor, numbers.Real) else scale_factor
        if isinstance(items, (tuple, list)):  # 2.0 -> 2
            items = tuple(int(v) if isinstance(v, float) and v.is_integer() else v for v in items)
        factors = _ints("upsample", "scale_factor", items, d, 1)
    return UpsampleNearest.apply(x, factors=factors)


def pad(x, pad, mode="constant", value=0):
    """x padded as torch's F.pad: ``pad`` lists (before, after) pairs from the last axis
    backwards, so (left, right, top, bottom) pads W by left / right and H by top / bottom.

    mode "constant" puts ``value`` in the borders (any axes); "reflect" mirrors x without
    repeating the edge (x = [1, 2, 3], pad (2, 1) -> [3, 2, 1, 2, 3, 2]), only on the spatial
    axes and by less than each axis's size, as in torch. See ``Pad`` for the backward.

    Args:
        x: Tensor.  pad: tuple of non-negative ints, even length, at most 2 x.ndim.
        mode: "constant" or "reflect".  value: the constant (mode "constant" only).
    Raises:
        ShapeError: more pairs than x has axes; reflect padding of the batch or channel axis
            or by the axis's size or more.
        ValueError: another mode, a pad of odd length or with negative or non-int entries.
    """
    if mode not in ("constant", "reflect"):
        raise ValueError(f"pad: expected mode 'constant' or 'reflect', got {mode!r}")
    if not isinstance(x, Tensor):
        x = Tensor(xp.asarray(x))
    widths = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if widths is None or len(widths) % 2 or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0 for p in widths):
        raise ValueError(f"pad: expected pad as a tuple of (before, after) pairs of non-negative "
                         f"ints, last axis first, got {pad!r}")  # fmt: skip
    n_axes = len(widths) // 2
    if n_axes > x.ndim:
        raise ShapeError(f"pad: expected at most {x.ndim} (before, after) pairs for input of "
                         f"shape {x.shape}, got {n_axes}: {pad!r}")  # fmt: skip
    pairs = [(0, 0)] * (x.ndim - n_axes) + [
        (int(widths[2 * i]), int(widths[2 * i + 1])) for i in reversed(range(n_axes))
    ]
    if mode == "reflect":
        most = min(x.ndim - 1, 3)  # the spatial axes: never the first (batch or channel) one
        if n_axes > most:
            raise ShapeError(f"pad: expected reflect padding of at most the last {most} axes of "
                             f"input of shape {x.shape}, got {n_axes} pairs: {pad!r}")  # fmt: skip
        for axis, (lo, hi) in enumerate(pairs):
            if max(lo, hi) >= x.shape[axis] and (lo or hi):
                raise ShapeError(f"pad: expected reflect padding smaller than the axis it pads, "
                                 f"got ({lo}, {hi}) for axis {axis} of size {x.shape[axis]} of "
                                 f"input {x.shape}")  # fmt: skip
    return Pad.apply(x, widths=tuple(pairs), mode=mode, value=value)
