"""Reductions over axes: sum, mean, max, min (with ``keepdims``)."""

from ..autodiff import Op
from ..backend import xp
from ._util import floating, normalize_axis

__all__ = ["sum", "mean", "max", "min"]


def _expand(grad_out, shape, axes, keepdims):
    """Give a reduced gradient back its reduced axes (as size 1) so it broadcasts to ``shape``
    (a 0-d one, of a reduction over all axes, broadcasts as it is)."""
    if not keepdims and grad_out.ndim:
        grad_out = grad_out.reshape([1 if i in axes else n for i, n in enumerate(shape)])
    return grad_out


class Sum(Op):
    """c = sum of a over axes.   grad_a = grad_out broadcast back over the summed axes."""

    saves_arrays = False

    def forward(self, a, axis, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, normalize_axis(axis, a.ndim), keepdims
        return a.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad_out):
        grad = _expand(grad_out, self.shape, self.axes, self.keepdims)
        return (xp.broadcast_to(grad, self.shape),)

    def jvp(self, da):
        # dc = sum of da over the same axes
        return da.sum(axis=self.axes, keepdims=self.keepdims)


class Mean(Op):
    """c = mean of a over axes (n elements each).   grad_a = grad_out / n, broadcast back."""

    saves_arrays = False

    def forward(self, a, axis, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, normalize_axis(axis, a.ndim), keepdims
        return a.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, grad_out):
        n = 1
        for ax in self.axes:
            n *= self.shape[ax]
        grad = _expand(grad_out, self.shape, self.axes, self.keepdims)
        return (xp.broadcast_to(grad / n, self.shape),)

    def jvp(self, da):
        # dc = mean of da over the same axes
        return da.mean(axis=self.axes, keepdims=self.keepdims)


class _Extremum(Op):
    """Shared backward of max and min: the gradient is split evenly among tied extreme elements
    (as torch.amax/amin do)."""

    def backward(self, grad_out):
        out = _expand(self.out, self.shape, self.axes, self.keepdims)
        grad = _expand(grad_out, self.shape, self.axes, self.keepdims)
        hits = (self.a == out).astype(grad_out.dtype)
        count = hits.sum(axis=self.axes, keepdims=True)
        return (hits * (grad / count),)

    def jvp(self, da):
        # dc = mean of da over the extreme elements (one unless tied), as backward splits ties
        hits = (self.a == _expand(self.out, self.shape, self.axes, self.keepdims)).astype(da.dtype)
        count = hits.sum(axis=self.axes, keepdims=True)
        dc = (da * hits).sum(axis=self.axes, keepdims=True) / count
        return dc.reshape(xp.shape(self.out))


class Max(_Extremum):
    """c = max of a over axes.   grad_a = grad_out at the maximal elements, 0 elsewhere."""

    def forward(self, a, axis, keepdims):
        self.a, self.shape = a, a.shape
        self.axes, self.keepdims = normalize_axis(axis, a.ndim), keepdims
        self.out = a.max(axis=self.axes, keepdims=keepdims)
        return self.out


class Min(_Extremum):
    """c = min of a over axes.   grad_a = grad_out at the minimal elements, 0 elsewhere."""

    def forward(self, a, axis, keepdims):
        self.a, self.shape = a, a.shape
        self.axes, self.keepdims = normalize_axis(axis, a.ndim), keepdims
        self.out = a.min(axis=self.axes, keepdims=keepdims)
        return self.out


def sum(a, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all axes)."""
    return Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (None: all axes); integers give the default float dtype."""
    return Mean.apply(a if a.requires_grad else floating(a), axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):
    """Maximum over ``axis``; ties share the gradient evenly."""
    return Max.apply(a, axis=axis, keepdims=keepdims)


def min(a, axis=None, keepdims=False):
    """Minimum over ``axis``; ties share the gradient evenly."""
    return Min.apply(a, axis=axis, keepdims=keepdims)
