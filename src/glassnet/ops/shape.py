"""Shape ops: reshape, flatten, transpose, indexing and slicing, concatenate, stack."""

import itertools
import math

from ..autodiff import IndexedGrad, Op, Tensor
from ..backend import xp
from ..errors import ShapeError

__all__ = ["reshape", "flatten", "transpose", "getitem", "concatenate", "stack"]


class Reshape(Op):
    """c = a with a new shape.   grad_a = grad_out reshaped back."""

    saves_arrays = False

    def forward(self, a, shape):
        self.shape, self.new_shape = a.shape, shape
        return a.reshape(shape)

    def backward(self, grad_out):
        return (grad_out.reshape(self.shape),)

    def jvp(self, da):
        # dc = da with the new shape
        return da.reshape(self.new_shape)


class Transpose(Op):
    """c = a with its axes permuted.   grad_a = grad_out with the inverse permutation."""

    saves_arrays = False

    def forward(self, a, axes):
        self.axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(axes)
        return a.transpose(self.axes)

    def backward(self, grad_out):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return (grad_out.transpose(inverse),)

    def jvp(self, da):
        # dc = da with the same permutation
        return da.transpose(self.axes)


def _is_basic(index):
    """True for basic indexing (ints, slices, None, Ellipsis): no element is picked twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class GetItem(Op):
    """c = a[index].   grad_a = zeros of a's shape with grad_out added at index.

    The backward returns that as an ``IndexedGrad`` (index and values, no array of a's shape):
    the sweep adds the pieces of all slices of ``a`` into one array, so taking x[:, t] for
    t = 1..T costs O(T) in the backward, not T full-size arrays of zeros.
    """

    saves_arrays = False  # the index only

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, grad_out):
        # repeated indices (integer arrays) add up; basic indices hit each element once
        return (IndexedGrad(self.shape, self.dtype, self.index, grad_out, _is_basic(self.index)),)

    def jvp(self, da):
        # dc = da[index]
        return da[self.index]


class Concatenate(Op):
    """c = [a_1, ..., a_k] joined along an axis.   grad_a_i = the matching slice of grad_out."""

    saves_arrays = False

    def forward(self, *arrays, axis):
        self.axis, self.shapes = axis, [a.shape for a in arrays]
        self.splits = list(itertools.accumulate(a.shape[axis] for a in arrays))[:-1]  # host ints
        return xp.concatenate(arrays, axis=axis)

    def backward(self, grad_out):
        return tuple(xp.split(grad_out, self.splits, axis=self.axis))

    def jvp(self, *tangents):
        # dc = [da_1, ..., da_k] joined along the axis (a constant's tangent is 0)
        dtype = next(d for d in tangents if d is not None).dtype
        parts = [xp.zeros(s, dtype) if d is None else d for d, s in zip(tangents, self.shapes)]
        return xp.concatenate(parts, axis=self.axis)


class Stack(Op):
    """c = a_1, ..., a_k stacked along a new axis.   grad_a_i = grad_out taken at i on that axis."""

    saves_arrays = False

    def forward(self, *arrays, axis):
        self.axis, self.n = axis, len(arrays)
        return xp.stack(arrays, axis=axis)

    def backward(self, grad_out):
        return tuple(xp.take(grad_out, i, axis=self.axis) for i in range(self.n))

    def jvp(self, *tangents):
        # dc = da_1, ..., da_k stacked along the new axis (a constant's tangent is 0)
        zero = xp.zeros_like(next(d for d in tangents if d is not None))  # inputs share one shape
        return xp.stack([zero if d is None else d for d in tangents], axis=self.axis)


def reshape(a, *shape):
    """a with a new shape (one axis may be -1)."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Reshape.apply(a, shape=tuple(shape))


def flatten(x, start_dim=1, end_dim=-1):
    """x with the axes start_dim .. end_dim (inclusive; negative counts from the end) merged
    into one, a ``reshape``: (N, C, H, W) -> (N, C H W) by default. torch.flatten's start_dim
    defaults to 0; here it is 1, nn.Flatten's default, which keeps the batch axis.

    Raises:
        ShapeError: a dim outside x's axes, or start_dim after end_dim.
    """
    ndim = x.ndim
    dims = (start_dim, end_dim)
    if not all(isinstance(d, int) and not isinstance(d, bool) and -ndim <= d < ndim for d in dims):
        raise ShapeError(f"flatten: expected start_dim and end_dim in [{-ndim}, {ndim - 1}] for "
                         f"input of shape {x.shape}, got {start_dim!r} and {end_dim!r}")
    start, end = start_dim % ndim, end_dim % ndim
    if start > end:
        raise ShapeError(f"flatten: expected start_dim no later than end_dim, got axes {start} "
                         f"and {end} of input of shape {x.shape}")  # fmt: skip
    shape = x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :]
    return Reshape.apply(x, shape=shape)


def transpose(a, axes=None):
    """a with axes permuted (default: reversed)."""
    return Transpose.apply(a, axes=axes)


def getitem(a, index):
    """a[index]: integers, slices, integer or boolean arrays; gradients are scattered back."""
    if isinstance(index, Tensor) and not isinstance(index, tuple):
        index = index.data
    return GetItem.apply(a, index=index)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Stack tensors along a new axis."""
    return Stack.apply(*tensors, axis=axis)
