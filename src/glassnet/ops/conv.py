"""Convolutions, each one fused node: ``conv1d``, ``conv2d`` and ``conv_transpose2d``, with
torch.nn.functional's arguments and semantics (a convolution here is a cross-correlation, as
in torch: the kernel is not flipped).

Notation (the lectures'): a_prev is the layer's input, net its output, delta = dE/dnet, and
W, b its weights. For a kernel offset (i, j) and an output position (y, x) the window reads
a_prev at (s_h y + d_h i - p_top, s_w x + d_w j - p_left): stride s, dilation d, padding p (zero
outside the image).

How it is computed. Inside an op the arrays are batch-last, (C, H, W, N): the public NCHW
array is a transposed view of it, so the ops hand each other views and never transpose. A
hand-written NumPy LeNet-5 matched PyTorch on the CPU only with this layout (NCHW took 1.4x,
issue 17). The layer is a matrix product per group and per output row y,

    net[:, y] = W' A_y,    A_y: one row per (i, c, j), one column per (x, n),

and A_y is never copied out of the image ("im2col") whole. Instead a *strip* holds, for each
image row the output rows read, its kw horizontal shifts: strip[r, c, j, x, n] = a_prev[c,
r, s_w x + d_w j - p_left, n]. The kh rows output row y reads are consecutive blocks of the
strip (for dilation d_h, the strip keeps the rows of each residue mod d_h together), so A_y
is a view of it, and W' is W with its axes in the order (i, c, j). A strip is kw copies of
the image's rows, where im2col made kh * kw; each copy is of rows of Wo * N contiguous
elements; the padding is implicit (entries outside the image are zeroed, and no padded copy
is made); and each product is one output row wide (for a 32 -> 32 layer at batch 64, 288 x
1,792), the width at which OpenBLAS multiplies such a short matrix fastest. For the 3x3 block
network of benchmarks/bench_cnn.py (``--solo-child glassnet block``) this took a training
step from 69 to 63 ms (a quiet machine) against the im2col chunks before it.

Strips are built and used in chunks of output rows, about 4 MiB each (``_CHUNK_BYTES``), so
that each is read by its products while it is still in the cache (a chunk of r rows reads
s_h (r - 1) + d_h (kh - 1) + 1 image rows: the kh - 1 rows it shares with the next chunk are
copied twice). The forward saves only its input; a strip small enough to keep
(``_KEEP_ITEMS``, as LeNet-5's) is built whole in the forward and kept for grad_W, which is
otherwise summed from strips rebuilt chunk by chunk. The backward's scatter-add ("col2im")
adds the kh * kw windows of W^T delta back into a zero image. For stride 1 the delta
propagation is instead the full correlation with the flipped kernel (strips of delta, D, and
the same products), where that is no more work, and then grad_W comes from the same D: it is
a_prev D^T with the kernel flipped back, so one sweep serves both products and the backward
builds no strip of a_prev (79 to 69 ms per block-network step). Inside ``backend.threads``
a large sweep is split by output rows, one range per thread, each with strips of its own
(``_Geometry.ranges`` and ``each``; a weight gradient is then a sum per thread, added in the
threads' order). The windows are strided
slices, one per kernel offset, rather than ``as_strided``: the array module may be CuPy,
whose namespace the ops share with NumPy only through the functions of ``xp``.
"""

import math
import numbers

from ..autodiff import Op, Tensor
from ..backend import name as backend_name
from ..backend import split, workers, xp
from ..errors import ShapeError
from ._util import add_tangents, as_tensor, cast, ones, operands
from .shape import reshape

__all__ = ["conv1d", "conv2d", "conv_transpose2d"]

# The strip of a chunk of output rows, in bytes: each chunk's strip is built and used by its
# products while it is still in the cache (1 MiB of L2 per core, 32 MiB of L3 on this
# project's machines; 3 and 8 MiB were no faster for the block network, 2 MiB slower). Each
# strip overwrites the one OpenBLAS's second thread has just read: where the two virtual CPUs
# run on cores that share no cache (a placement these machines take from time to time), each
# such write waits on the other core and the copies become several times slower. Strip
# buffers taken in turn (2 or 4) made bench_cnn's block network steadier across placements
# but slower where the cores share their cache, so one buffer is used.
_CHUNK_BYTES = 4 << 20
# A layer whose im2col A would have at most this many entries (about the input's size times
# kh * kw / stride^2) builds its strip whole in the forward and keeps it for grad_W (LeNet-5's
# layers: 1.1 MB each in float32): rebuilding it would cost more than keeping it. Larger
# ones rebuild theirs, chunk by chunk, in the backward.
_KEEP_ITEMS = 2 << 20
# A sweep whose im2col A would have at least this many entries is split by output rows over
# the threads of ``backend.threads`` (each range's strips filled and multiplied on a thread
# of its own); a smaller one runs on the calling thread. The block network's 32 -> 32 layers
# (14.4 M entries at batch 64) split; LeNet-5's (1.3 M and 1.0 M) stay whole, and the Trainer
# gives such a network OpenBLAS's threads back (see Trainer._step; benchmarks/bench_threads.py
# times both). A strip small enough to keep (_KEEP_ITEMS) is below it: never split.
_SPLIT_ITEMS = 4 << 20


# ---- geometry: where each kernel offset's window lies ------------------------------------------


class _Geometry:
    """The index arithmetic of one convolution, in batch-last arrays.

    ``size``: the image (H, W) the windows are taken from (a conv's input, a transposed conv's
    output); ``out``: the number of windows (Ho, Wo); ``pads``: ((top, bottom), (left, right)).
    The padding is implicit: a window entry that falls outside the image reads zero, and no
    padded copy of the image is made. Rows or columns that no window reaches (torch's floor in
    the output size) are read by no one and get no gradient.
    """

    __slots__ = ("dilation", "groups", "kernel", "out", "padded", "pads", "size", "stride",
                 "_spans")  # fmt: skip

    def __init__(self, kernel, stride, dilation, pads, groups, size, out):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.pads, self.groups, self.size, self.out = pads, groups, size, out
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
        self._spans = None

    def spans(self):
        """Per horizontal kernel offset j: (lo, hi, start), the output columns lo <= x < hi whose
        window entry lies inside the image, and the image column start of output lo's (the
        rows are placed by ``fill``)."""
        if self._spans is None:
            (_, kw), (_, sw), (_, dw), ((_, _), (left, _)) = (self.kernel, self.stride,
                                                              self.dilation, self.pads)  # fmt: skip
            self._spans = tuple(_span(dw * j - left, self.size[1], sw, self.out[1])
                                for j in range(kw))  # fmt: skip
        return self._spans

    def chunks(self, row_bytes, rows=None):
        """The output rows (of the range ``rows``, default all) in chunks [y0, y1) whose strips
        (see ``sweep``) take about ``_CHUNK_BYTES``, given the bytes of one padded image row
        of a strip; one chunk on a device backend, whose memory is fast and whose every array
        call is a kernel launch."""
        ho, (kh, _), (sh, _), (dh, _) = self.out[0], self.kernel, self.stride, self.dilation
        first, last = (0, ho) if rows is None else rows
        padded = _CHUNK_BYTES // row_bytes  # image rows per strip; a chunk of r rows reads
        step = max(1, min(ho, (padded - dh * (kh - 1) - 1) // sh + 1))  # sh (r-1) + dh (kh-1) + 1
        if backend_name() != "numpy":
            step = ho
        return [(y0, min(y0 + step, last)) for y0 in range(first, last, step)]

    def ranges(self, image):
        """The output rows as [y0, y1) ranges, one per thread that a sweep of ``image`` is
        split over (see ``each`` and ``_ranges``)."""
        ho, (kh, kw), wo = self.out[0], self.kernel, self.out[1]
        return _ranges(ho, image.shape[0] * kh * kw * ho * wo * image.shape[-1])

    def strip_shape(self, image, rows):
        """The shape of the strip of ``rows`` output rows (see ``sweep``)."""
        c, n = image.shape[0], image.shape[-1]
        (kh, kw), (sh, _), (dh, _), wo = self.kernel, self.stride, self.dilation, self.out[1]
        per_residue = -(-(sh * (rows - 1) + dh * (kh - 1) + 1) // dh)
        return (self.groups, dh, per_residue, c // self.groups, kw, wo, n)

    def fill(self, image, y0, strip, fresh):
        """The strip of the output rows from y0 (as ``strip_shape``), from the batch-last image
        (C, H, W, N): strip[g, r, k, c, j, x, n] = image[c' (of group g), sh y0 - p_top + r +
        dh k, sw x + dw j - p_left, n], zero outside the image. Row entries are zeroed where
        they fall outside; the x-borders where a strip of this height may have left data
        (``fresh``: the first strip of its height; the x-borders stay zero after it)."""
        groups, dh, q, cg = strip.shape[:4]
        col_spans, sh = self.spans(), self.stride[0]
        source = image.reshape(groups, cg, *image.shape[1:])  # (groups, C/g, H, W, N)
        base, sw = sh * y0 - self.pads[0][0], self.stride[1]
        for residue in range(dh):
            block = strip[:, residue]  # (groups, q, C/g, kw, Wo, N)
            lo, hi, first = _span(base + residue, self.size[0], dh, q)
            if hi <= lo:
                block[...] = 0
                continue
            if lo > 0:
                block[:, :lo] = 0
            if hi < q:
                block[:, hi:] = 0
            rows = slice(first, first + dh * (hi - lo - 1) + 1, dh)
            for j, (xlo, xhi, xstart) in enumerate(col_spans):
                dest = block[:, lo:hi, :, j]  # (groups, rows, C/g, Wo, N)
                if xhi <= xlo:
                    dest[...] = 0
                    continue
                if fresh:
                    dest[..., :xlo, :] = 0
                    dest[..., xhi:, :] = 0
                columns = slice(xstart, xstart + sw * (xhi - xlo - 1) + 1, sw)
                dest[..., xlo:xhi, :] = source[:, :, rows, columns].transpose(0, 2, 1, 3, 4)

    def row(self, strip, y):
        """A's columns of output row y (counted from the strip's first) as (groups, K', Wo *
        N), K' in the order (i, c, j): kh consecutive blocks of the strip, so a view."""
        t, dh, kh = self.stride[0] * y, self.dilation[0], self.kernel[0]
        block = strip[:, t % dh, t // dh : t // dh + kh]
        return block.reshape(block.shape[0], -1, block.shape[-2] * block.shape[-1])

    def sweep(self, image, whole=False, rows=None):
        """(y0, y1, strip) over the output rows (of the range ``rows``, default all), in chunks
        that fit the cache: each strip is used by its products while it is still there.
        ``whole``: all rows in one chunk (small enough to keep for the backward)."""
        image = xp.ascontiguousarray(image)  # a user's NCHW input: one transposing copy
        c, n = image.shape[0], image.shape[-1]
        row_bytes = c * self.kernel[1] * self.out[1] * n * image.dtype.itemsize
        chunks = [(0, self.out[0])] if whole else self.chunks(row_bytes, rows)
        shape = self.strip_shape(image, chunks[0][1] - chunks[0][0])
        buffer = xp.empty(math.prod(shape), image.dtype)
        height = None
        for y0, y1 in chunks:
            shape = self.strip_shape(image, y1 - y0)
            strip = buffer[: math.prod(shape)].reshape(shape)
            self.fill(image, y0, strip, fresh=height != y1 - y0)
            height = y1 - y0
            yield y0, y1, strip

    def each(self, image, work, chunks=None):
        """work(part, y0, y1, strip) for every chunk of the output rows: the kept ``chunks``
        on this thread (part 0), or else the strips of each of ``ranges()``, each range on a
        thread of its own with a strip buffer of its own (part: the range's index). No two
        threads write the same memory: each fills its own strips and writes its own rows."""
        if chunks is not None:  # kept strips are below _SPLIT_ITEMS: never split
            for chunk in chunks:
                work(0, *chunk)
            return
        image = xp.ascontiguousarray(image)  # once, not on every thread
        ranges = self.ranges(image)

        def part(p):
            for chunk in self.sweep(image, rows=ranges[p]):
                work(p, *chunk)

        split(part, len(ranges))

    def correlate(self, image, wg, chunks=None, bias=None, contraction=None):
        """W A (+ b) per group (A: the columns of all output rows), the forward's product: for
        the batch-last image (C, H, W, N) and the weights wg (groups, m, K), the matrix
        (groups * m, Ho * Wo * N); the strips from ``chunks`` (as ``sweep`` yields them) where
        given. One product per output row, whose columns are a view of the strip; the bias is
        added to each chunk while it is in the cache, and each strip also goes to the
        ``_Contraction`` ``contraction`` where given (one sweep for two products)."""
        groups, m = wg.shape[:2]
        ho, wo = self.out
        net = xp.empty((groups, m, ho, wo * image.shape[-1]), wg.dtype)
        wr = self.rows_first(wg)
        bias = None if bias is None else bias.reshape(groups, m, 1, 1)

        def work(part, y0, y1, strip):
            for y in range(y0, y1):
                xp.matmul(wr, self.row(strip, y - y0), out=net[:, :, y])
            if bias is not None:
                net[:, :, y0:y1] += bias
            if contraction is not None:
                contraction.add(part, y0, y1, strip)

        self.each(image, work, chunks)
        return net.reshape(groups * m, -1)

    def rows_first(self, wg):
        """Weights (groups, m, K) with K in the order (c, i, j) -> K' in the order (i, c, j)."""
        (kh, kw), (groups, m, k) = self.kernel, wg.shape
        grouped = wg.reshape(groups, m, k // (kh * kw), kh, kw).transpose(0, 1, 3, 2, 4)
        return xp.ascontiguousarray(grouped).reshape(groups, m, k)

    def weight_grad(self, image, d, chunks=None, bias=False):
        """d A^T per group, the weight gradient: for the batch-last image (C, H, W, N) and d
        (groups * m, Ho * Wo * N), the array (groups, m, K); the strips from ``chunks`` where
        given. Returns it with the bias gradient where ``bias``, else with None (see
        ``_Contraction``)."""
        total = _Contraction(self, d, bias)
        self.each(image, total.add, chunks)
        return total.result()

    def windows(self, y0, y1):
        """(i, j, index): for each kernel offset, the index of the window of the output rows
        [y0, y1) (C, y1 - y0, Wo, N) in the padded batch-last image."""
        (kh, kw), (sh, sw), (dh, dw), wo = self.kernel, self.stride, self.dilation, self.out[1]
        for i in range(kh):
            rows = slice(sh * y0 + i * dh, sh * (y1 - 1) + i * dh + 1, sh)
            for j in range(kw):
                yield i, j, (slice(None), rows, slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))

    def col2im(self, d, wt):
        """col2im(W^T d) per group, the transposed map for any stride: for d (groups * m,
        Ho * Wo * N) and wt (groups, K, m), each output position's column of W^T d added back
        into its window of a zero image, chunk by chunk; returned without its padding (a view
        of the padded sum): (C, H, W, N). Inside ``backend.threads`` a large one is split by
        channels: each thread computes the rows of W^T d of its channels of each group and
        adds them into those channels only."""
        groups, k, m = wt.shape
        (kh, kw), (ho, wo) = self.kernel, self.out
        per_group, n = k // (kh * kw), d.shape[-1] // (ho * wo)
        d = d.reshape(groups, m, ho, wo * n)
        image = xp.zeros((groups, per_group, *self.padded, n), d.dtype)
        chunks = self.chunks(groups * k * wo * n * d.dtype.itemsize)
        ranges = _ranges(per_group, groups * k * ho * wo * n)  # of each group's channels

        def part(p):
            c0, c1 = ranges[p]
            rows, channels = wt[:, c0 * kh * kw : c1 * kh * kw], image[:, c0:c1]  # K: (c, i, j)
            for y0, y1 in chunks:
                cols = xp.matmul(rows, d[:, :, y0:y1].reshape(groups, m, -1))
                cols = cols.reshape(groups, c1 - c0, kh, kw, y1 - y0, wo, n)
                for i, j, window in self.windows(y0, y1):
                    channels[(slice(None), *window)] += cols[:, :, i, j]

        split(part, len(ranges))
        ((top, _), (left, _)), (h, w) = self.pads, self.size
        image = image.reshape(groups * per_group, *self.padded, n)
        return image[:, top : top + h, left : left + w]

    def flipped(self):
        """For stride 1, the geometry of the full correlation with the flipped kernel that maps
        an output-sized image (Ho, Wo) back to (H, W): delta padded by d (k - 1) - p_before
        before and d (k - 1) - p_after after. None where that is not as cheap as col2im (a
        larger input than output, as for 'valid') or needs negative padding."""
        if self.stride != (1, 1) or self.size[0] * self.size[1] > self.out[0] * self.out[1]:
            return None
        pads = tuple((d * (k - 1) - lo, d * (k - 1) - hi)
                     for k, d, (lo, hi) in zip(self.kernel, self.dilation, self.pads))
        if min(min(p) for p in pads) < 0:
            return None
        return _Geometry(self.kernel, self.stride, self.dilation, pads, self.groups, self.out,
                         self.size)  # fmt: skip

    def transposed(self, d, w):
        """The transposed map of the convolution with ``w`` (out, in / groups, kh, kw) on the
        batch-last matrix d (out, Ho * Wo * N): col2im(W^T d) per group, (in, H, W, N). For
        stride 1 (and no larger input than output) the same as the full correlation of d with
        the flipped kernel: a product shaped as the forward's, which needs no scatter-add and
        which OpenBLAS computes faster than W^T d (1.2x for the whole delta propagation of a
        32 -> 32 3x3 'same' layer at batch 64, one thread)."""
        full = self.flipped()
        if full is None:
            return self.col2im(d, _grouped(w, self.groups).transpose(0, 2, 1))
        return self.propagate(full, d, w)

    def propagate(self, full, d, w, weights=None):
        """delta_prev (in, H, W, N) as the full correlation of d with the flipped kernel, on
        the geometry ``full`` (= ``flipped()``); each chunk of im2col(delta) also goes to the
        contraction ``weights`` where given (see ``propagate_with_weight_grad``)."""
        groups, n = self.groups, d.shape[-1] // (self.out[0] * self.out[1])
        flipped = w.reshape(groups, -1, *w.shape[1:])[..., ::-1, ::-1]
        flipped = flipped.transpose(0, 2, 1, 3, 4).reshape(groups, w.shape[1], -1)
        image = d.reshape(w.shape[0], *self.out, n)
        net = full.correlate(image, flipped, contraction=weights)
        return net.reshape(w.shape[1] * groups, *self.size, n)

    def propagate_with_weight_grad(self, image, d, w):
        """(delta_prev (in, H, W, N), grad_W (out, in / groups, kh, kw)) from one sweep of
        im2col(delta), for stride 1 (where ``flipped()`` is not None; else None). With
        D = im2col(delta) of the full correlation (rows (o, i', j'), a column per input
        position p'), delta_prev = W_flipped D, and

            grad_W[o, c, i, j] = sum over p' of a_prev[c, p'] D[(o, kh-1-i, kw-1-j), p']

        (the window of p' at offset i' reads delta at y' - d (kh-1-i') + p_top, the output y
        whose window reads a_prev at y' with offset i = kh-1-i'): grad_W is a_prev D^T, so
        each strip of D serves both products while it is in the cache, and im2col(a_prev) is
        never built in the backward (for the 32 -> 32 3x3 layer of the block network, one
        sweep of a_prev's strips less per step)."""
        full = self.flipped()
        if full is None:
            return None
        weights = _Contraction(full, image.reshape(image.shape[0], -1), False)
        grad_x = self.propagate(full, d, w, weights)
        groups, (kh, kw) = self.groups, self.kernel
        grad_w = weights.result()[0]  # (groups, in / groups, (out / groups, i', j'))
        grad_w = grad_w.reshape(groups, w.shape[1], -1, kh, kw)[..., ::-1, ::-1]
        return grad_x, grad_w.transpose(0, 2, 1, 3, 4).reshape(w.shape)


class _Contraction:
    """d A^T per group, summed over the output rows of each strip that ``add`` is given (as
    ``each`` hands them out: a sum per part, that is per thread, added up in the parts' order
    at the end); ``correlate`` can pass each of its strips on to one, so that one sweep serves
    a product and this contraction at once (conv_transpose2d's backward, and conv2d's for
    stride 1). Written as (A d^T)^T, which OpenBLAS computes up to twice as fast for these
    shapes (a short, wide result). With ``bias``, d is also summed over its columns (the bias
    gradient), each chunk while it is in the cache."""

    def __init__(self, geometry, d, bias):
        groups, ho = geometry.groups, geometry.out[0]
        self.geometry = geometry
        self.d = d.reshape(groups, -1, ho, d.shape[-1] // ho)  # (groups, m, Ho, Wo * N)
        self.bias, self.totals, self.bias_totals = bias, {}, {}

    def add(self, part, y0, y1, strip):
        """Adds the rows [y0, y1) of ``strip`` to the sum of ``part`` (one part per thread)."""
        if self.bias:
            self.bias_totals[part] = _accumulate(self.bias_totals.get(part),
                                                 self.d[:, :, y0:y1].sum(axis=(2, 3)))  # fmt: skip
        total = self.totals.get(part)
        for y in range(y0, y1):  # (groups, K', Wo * N) @ (groups, Wo * N, m)
            total = _accumulate(total, xp.matmul(self.geometry.row(strip, y - y0),
                                                 self.d[:, :, y].transpose(0, 2, 1)))  # fmt: skip
        self.totals[part] = total

    def result(self):
        """(the weight gradient (groups, m, K), K in the order (c, i, j); the bias gradient or
        None)."""
        total, bias = _in_order(self.totals), _in_order(self.bias_totals)
        bias = None if bias is None else bias.reshape(-1)
        (kh, kw), (groups, k, m) = self.geometry.kernel, total.shape
        total = total.reshape(groups, kh, k // (kh * kw), kw, m).transpose(0, 4, 2, 1, 3)
        return total.reshape(groups, m, k), bias


def _in_order(parts):
    """The sum of the arrays of {part: array} in the parts' order (None for none)."""
    total = None
    for part in sorted(parts):
        total = _accumulate(total, parts[part])
    return total


def _ranges(n, entries):
    """[0, n) as contiguous ranges, one per thread that work on a matrix of ``entries``
    entries (im2col's A, col2im's columns) is split over: as many as ``backend.workers()``
    allows (at most n), or one where the work is too small to be worth handing over
    (``_SPLIT_ITEMS``)."""
    parts = min(workers(), n)
    if parts > 1 and entries < _SPLIT_ITEMS:
        parts = 1
    bounds = [n * p // parts for p in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _accumulate(total, part):
    return part if total is None else xp.add(total, part, out=total)


def _span(offset, n, stride, out):
    """(lo, hi, start): the outputs lo <= y < hi (of ``out``) whose entry stride * y + offset
    lies in [0, n), and that entry for y = lo."""
    lo, hi = max(0, -(offset // stride)), min(out, (n - 1 - offset) // stride + 1)
    return lo, max(lo, hi), stride * lo + offset


def _batch_last(a):
    """(N, C, H, W) -> the (C, H, W, N) view."""
    return a.transpose(1, 2, 3, 0)


def _nchw(a):
    """(C, H, W, N) -> the (N, C, H, W) view."""
    return a.transpose(3, 0, 1, 2)


def _grouped(w, groups):
    """A weight (out, in / groups, kh, kw) as per-group matrices (groups, out / groups, K)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _matrix(a):
    """A tensor (N, C, H, W) as the batch-last matrix (C, H * W * N) (a view when it already
    is one in memory, as the output of a convolution and of elementwise ops on it are)."""
    return _batch_last(a).reshape(a.shape[1], -1)


# ---- the ops -----------------------------------------------------------------------------------


class Conv2d(Op):
    """2-D convolution of NCHW input (torch's conv2d: cross-correlation).

        net[n, o, y, x] = sum over c, i, j of W[o, c, i, j] a_prev[n, c', s y + d i - p,
                                                                  s x + d j - p] + b[o]
                          (c' = c + (in / groups) * the group of o)
    With A = im2col(a_prev) (rows (c, i, j), one column per window) it is one product per group:
        forward:  net        = W A + b
        backward: grad_W     = delta A^T          (the correlation of a_prev with delta)
                  grad_b     = sum of delta over n, y, x
                  delta_prev = col2im(W^T delta)  (the transposed convolution; for stride 1
                               = the full correlation of delta with the flipped kernel)
        jvp:      dnet       = W im2col(da_prev) + dW A + db
    forward saves the input (batch-last) and, where it is small, its strip (the module's
    docstring says how A is taken from strips, a row at a time); backward takes grad_W from
    the strips of delta for stride 1, else builds strips chunk by chunk for grad_W (or frees
    the kept one once grad_W has it, before it propagates delta), so a second backward
    (retain_graph) rebuilds it from the input.
    """

    saved_inputs = (0, 1)  # the batch-last input may be a view of a_prev; W; not b

    def forward(self, x, w, b=None, *, geometry):
        g = self.geometry = geometry
        self.image = xp.ascontiguousarray(_batch_last(x))
        self.w, self.out_shape = w, (x.shape[0], w.shape[0], *g.out)
        self.cols = None
        (c, *_, n), (kh, kw), (ho, wo) = self.image.shape, g.kernel, g.out
        if c * kh * kw * ho * wo * n <= _KEEP_ITEMS:
            self.cols = [next(g.sweep(self.image, whole=True))]  # small: kept for grad_W
        return self._net(self.image, w, b, self.cols)

    def _net(self, image, w, b, chunks=None):
        """W A (+ b) as NCHW (a view of the batch-last result)."""
        g = self.geometry
        net = g.correlate(image, _grouped(w, g.groups), chunks, b)
        n, o, ho, wo = self.out_shape
        return _nchw(net.reshape(o, ho, wo, n))

    def backward(self, delta):
        g, w, needs = self.geometry, self.w, self.needs
        d = _matrix(delta)  # (out, Ho * Wo * N)
        grad_w = grad_b = grad_x = None
        bias = len(needs) > 2 and needs[2]
        both = needs[0] and needs[1] and self.cols is None
        if both and (shared := g.propagate_with_weight_grad(self.image, d, w)) is not None:
            grad_x, grad_w = shared  # one sweep of im2col(delta) for both products
            grad_x = _nchw(grad_x)
            if bias:
                grad_b = d @ ones(d.shape[1], d.dtype)
            return grad_x, grad_w, grad_b
        if needs[1]:
            grad_w, grad_b = g.weight_grad(self.image, d, self.cols, bias)
            grad_w = grad_w.reshape(w.shape)
        elif bias:
            grad_b = d.sum(axis=1)
        self.cols = None  # A is not needed any more: free it before delta is propagated
        if needs[0]:
            grad_x = _nchw(g.transposed(d, w))
        return grad_x, grad_w, grad_b

    def jvp(self, dx, dw, db=None):
        terms = []
        if dx is not None:
            terms.append(self._net(_batch_last(dx), self.w, None))
        if dw is not None:
            terms.append(self._net(self.image, dw, None, self.cols))
        if db is not None:
            terms.append(xp.broadcast_to(db[:, None, None], self.out_shape))
        return add_tangents(*terms)


class Conv1d(Conv2d):
    """1-D convolution of (N, C, L) input: conv2d of the (N, C, 1, L) image with the kernel
    (out, in / groups, 1, k); the formulas are Conv2d's with one row."""

    def forward(self, x, w, b=None, *, geometry):
        net = super().forward(x[:, :, None], w[:, :, None], b, geometry=geometry)
        return net[:, :, 0]

    def backward(self, delta):
        grad_x, grad_w, grad_b = super().backward(delta[:, :, None])
        return (None if grad_x is None else grad_x[:, :, 0],
                None if grad_w is None else grad_w[:, :, 0], grad_b)  # fmt: skip

    def jvp(self, dx, dw, db=None):
        return super().jvp(None if dx is None else dx[:, :, None],
                           None if dw is None else dw[:, :, None], db)[:, :, 0]  # fmt: skip


class ConvTranspose2d(Op):
    """2-D transposed convolution of NCHW input (torch's conv_transpose2d): the map whose
    matrix is the transpose of conv2d's, so its forward is conv2d's delta propagation. W has
    shape (in, out / groups, kh, kw); stride, padding and dilation are those of the conv2d it
    transposes, which maps the output (N, out, H_out, W_out) back to the input's size.

        forward:  net        = col2im(W^T a_prev) + b     (per group; each input pixel adds
                                                           W times itself into its window)
        backward: delta_prev = W im2col(delta)        (conv2d of delta with W)
                  grad_W     = a_prev im2col(delta)^T (the correlation of delta with a_prev)
                  grad_b     = sum of delta over n, y, x
        jvp:      dnet       = col2im(W^T da_prev) + col2im(dW^T a_prev) + db
    forward saves the input as a batch-last matrix (a view when it is one) and W.
    """

    saved_inputs = (0, 1)

    def forward(self, x, w, b=None, *, geometry):
        self.geometry, self.w, self.x = geometry, w, _matrix(x)  # (in, H * W * N)
        self.out_shape = (x.shape[0], w.shape[1] * geometry.groups, *geometry.size)
        return self._net(self.x, w, b)

    def _net(self, x, w, b):
        """col2im(W^T x) (+ b) as NCHW."""
        net = self.geometry.transposed(x, w)
        if b is not None:
            net += b[:, None, None, None]
        return _nchw(net)

    def backward(self, delta):
        g, w, needs = self.geometry, self.w, self.needs
        grad_x = grad_w = grad_b = None
        image = xp.ascontiguousarray(_batch_last(delta))
        weights = _Contraction(g, self.x, False) if needs[1] else None
        if needs[0]:  # one sweep of im2col(delta) for both products
            grad_x = g.correlate(image, _grouped(w, g.groups), contraction=weights)
            grad_x = _nchw(grad_x.reshape(w.shape[0], *g.out, delta.shape[0]))
        if needs[1]:
            if not needs[0]:  # the contraction alone
                g.each(image, weights.add)
            grad_w = weights.result()[0].reshape(w.shape)
        if len(needs) > 2 and needs[2]:
            grad_b = delta.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b

    def jvp(self, dx, dw, db=None):
        terms = []
        if dx is not None:
            terms.append(self._net(_matrix(dx), self.w, None))
        if dw is not None:
            terms.append(self._net(self.x, dw, None))
        if db is not None:
            terms.append(xp.broadcast_to(db[:, None, None], self.out_shape))
        return add_tangents(*terms)


# ---- argument checks (once, here: the ops trust their geometry) --------------------------------


def _ints(name, value, n, caller, minimum):
    """``value`` (an int or a sequence of n ints) as an n-tuple, each at least ``minimum``."""
    if type(value) is int and value >= minimum:  # the common case, without the checks below
        return (value,) * n
    values = (value,) * n if isinstance(value, numbers.Integral) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if (values is None or len(values) != n or isinstance(value, (str, bool))
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                       for v in values)):  # fmt: skip
        raise TypeError(f"{caller}: expected {name} as an int or a tuple of {n} ints, "
                        f"got {value!r}")  # fmt: skip
    if any(v < minimum for v in values):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{caller}: expected {name} to be {kind}, got {value!r}")
    return tuple(int(v) for v in values)


def _tensors(x, weight, bias):
    """x, weight and bias as Tensors of one dtype (arrays become constants, as in linear)."""
    if not isinstance(weight, Tensor) and not isinstance(x, Tensor):
        raise TypeError(f"expected x or weight to be a Tensor, got {type(x).__name__} and "
                        f"{type(weight).__name__}")  # fmt: skip
    x, weight = operands(x, weight)
    if bias is not None:
        bias = cast(as_tensor(bias, weight), weight.data.dtype)
    return x, weight, bias


def _check_shapes(caller, x, weight, bias, groups, spatial, transposed):
    """Ranks, channels and groups; returns (x with a batch axis, whether it had one, groups)."""
    if weight.ndim != 2 + spatial:
        layout = "(in, out / groups" if transposed else "(out, in / groups"
        dims = ", kh, kw)" if spatial == 2 else ", k)"
        raise ShapeError(f"{caller}: expected a weight of {2 + spatial} dims {layout}{dims}, "
                         f"got shape {weight.shape}")  # fmt: skip
    if x.ndim not in (1 + spatial, 2 + spatial):
        names = "(N, C, H, W) or (C, H, W)" if spatial == 2 else "(N, C, L) or (C, L)"
        raise ShapeError(f"{caller}: expected input of {2 + spatial} dims {names}, got shape "
                         f"{x.shape}")  # fmt: skip
    groups = _ints("groups", groups, 1, caller, 1)[0]
    channels = x.shape[-1 - spatial]
    if channels % groups:
        raise ShapeError(f"{caller}: expected input channels divisible by groups={groups}, got "
                         f"{channels} channels (input shape {x.shape})")  # fmt: skip
    if transposed:
        if weight.shape[0] != channels:
            raise ShapeError(f"{caller}: expected a weight (in={channels}, out / groups, ...) for "
                             f"input of {channels} channels, got weight shape {weight.shape}")
        out = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups:
            raise ShapeError(f"{caller}: expected out channels (weight.shape[0]) divisible by "
                             f"groups={groups}, got weight shape {weight.shape}")  # fmt: skip
        if weight.shape[1] * groups != channels:
            raise ShapeError(f"{caller}: expected weight.shape[1] * groups = input channels "
                             f"({channels}), got weight shape {weight.shape} with "
                             f"groups={groups}")  # fmt: skip
        out = weight.shape[0]
    if bias is not None and bias.shape != (out,):
        raise ShapeError(f"{caller}: expected a bias of shape ({out},), got {bias.shape}")
    batched = x.ndim == 2 + spatial
    return (x if batched else reshape(x, (1, *x.shape))), batched, groups


def _padding(caller, padding, kernel, stride, dilation, n):
    """torch's padding: an int or n ints (both sides), 'valid' (none) or 'same' (output size =
    input size, stride 1 only; an odd total puts the extra row at the end, as torch does)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{caller}: expected padding 'same', 'valid', an int or a tuple of "
                             f"{n} ints, got {padding!r}")  # fmt: skip
        if any(s != 1 for s in stride):
            raise ValueError(f"{caller}: padding='same' needs stride 1 (as in torch), got "
                             f"stride={stride if n > 1 else stride[0]}")  # fmt: skip
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in _ints("padding", padding, n, caller, 0))


def _conv(op, caller, x, weight, bias, stride, padding, dilation, groups, spatial):
    x, weight, bias = _tensors(x, weight, bias)
    x, batched, groups = _check_shapes(caller, x, weight, bias, groups, spatial, False)
    stride = _ints("stride", stride, spatial, caller, 1)
    dilation = _ints("dilation", dilation, spatial, caller, 1)
    kernel = weight.shape[2:]
    pads = _padding(caller, padding, kernel, stride, dilation, spatial)
    size = x.shape[2:]
    if spatial == 1:  # one row: the 2-D geometry with H = 1
        kernel, stride, dilation, pads, size = ((1, *kernel), (1, *stride), (1, *dilation),
                                                ((0, 0), *pads), (1, *size))  # fmt: skip
    reach = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]  # the dilated kernel
    padded = [n + lo + hi for n, (lo, hi) in zip(size, pads)]
    if any(r > p for r, p in zip(reach, padded)):
        shown = slice(2 - spatial, None)
        raise ShapeError(f"{caller}: expected a padded input at least as large as the dilated "
                         f"kernel {tuple(reach[shown])}, got padded input size "
                         f"{tuple(padded[shown])} (input shape {x.shape})")  # fmt: skip
    out = tuple((p - r) // s + 1 for p, r, s in zip(padded, reach, stride))
    geometry = _Geometry(kernel, stride, dilation, pads, groups, size, out)
    args = (x, weight) if bias is None else (x, weight, bias)
    net = op.apply(*args, geometry=geometry)
    return net if batched else reshape(net, net.shape[1:])


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of x, as torch.nn.functional.conv2d.

    Args:
        x: input (N, C, H, W), or (C, H, W) for one image.
        weight: (out_channels, C / groups, kh, kw).  bias: (out_channels,) or None.
        stride, dilation: an int or a pair (height, width), positive.
        padding: an int or a pair of zero-padding on both sides, 'valid' (0) or 'same'
            (output size = input size; stride 1 only).
        groups: the channels split into this many groups, each convolved with its own
            out_channels / groups filters (groups = C: depthwise).
    Returns: (N, out_channels, Ho, Wo), Ho = (H + 2 p - d (kh - 1) - 1) // s + 1 (likewise Wo).
    The formulas are Conv2d's. Example: ``conv2d(x, W, b, padding=2)`` is LeNet-5's first layer
    for x (64, 1, 28, 28) and W (6, 1, 5, 5).
    """
    return _conv(Conv2d, "conv2d", x, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of x, as torch.nn.functional.conv1d.

    x (N, C, L) or (C, L); weight (out_channels, C / groups, k); bias (out_channels,) or None;
    stride, padding, dilation ints (or 1-tuples); padding also 'valid' or 'same'. Returns
    (N, out_channels, Lo), Lo = (L + 2 p - d (k - 1) - 1) // s + 1.
    """
    return _conv(Conv1d, "conv1d", x, weight, bias, stride, padding, dilation, groups, 1)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):  # fmt: skip
    """2-D transposed convolution of x, as torch.nn.functional.conv_transpose2d (the gradient
    of conv2d with respect to its input; "deconvolution" in the fully convolutional networks).

    Args:
        x: input (N, C, H, W), or (C, H, W) for one image.
        weight: (C, out_channels / groups, kh, kw).  bias: (out_channels,) or None.
        stride, dilation: an int or a pair, positive; padding: an int or a pair, the padding
            of the conv2d this transposes (it is cut from the output).
        output_padding: an int or a pair added to one side of the output, to pick among the
            sizes a strided conv2d maps to H; each must be smaller than the stride or the
            dilation (as torch requires).
        groups: as in conv2d.
    Returns: (N, out_channels, Ho, Wo), Ho = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1.
    """
    caller = "conv_transpose2d"
    x, weight, bias = _tensors(x, weight, bias)
    x, batched, groups = _check_shapes(caller, x, weight, bias, groups, 2, True)
    stride = _ints("stride", stride, 2, caller, 1)
    dilation = _ints("dilation", dilation, 2, caller, 1)
    if isinstance(padding, str):
        raise TypeError(f"{caller}: expected padding as an int or a pair of ints, got "
                         f"{padding!r} (torch's conv_transpose2d takes no string padding)")
    padding = _ints("padding", padding, 2, caller, 0)
    extra = _ints("output_padding", output_padding, 2, caller, 0)
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{caller}: expected output_padding smaller than the stride or the "
                         f"dilation, got output_padding={output_padding!r}, stride={stride}, "
                         f"dilation={dilation}")  # fmt: skip
    kernel, size = weight.shape[2:], x.shape[2:]
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                for n, s, p, d, k, e in zip(size, stride, padding, dilation, kernel, extra))
    if any(n < 1 for n in out):
        raise ShapeError(f"{caller}: expected a positive output size, got {out} for input "
                         f"shape {x.shape}, kernel {kernel}, stride {stride}, padding "
                         f"{padding}, dilation {dilation}")  # fmt: skip
    # the geometry of the conv2d it transposes: windows over the output, one per input pixel
    pads = tuple((p, p) for p in padding)
    geometry = _Geometry(kernel, stride, dilation, pads, groups, out, tuple(size))
    args = (x, weight) if bias is None else (x, weight, bias)
    net = ConvTranspose2d.apply(*args, geometry=geometry)
    return net if batched else reshape(net, net.shape[1:])
