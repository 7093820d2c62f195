"""Helpers the op families share: turning operands into Tensors, undoing broadcasting."""

from ..autodiff import Tensor
from ..backend import xp


def as_tensor(value, like):
    """``value`` as a Tensor; plain numbers and arrays take the dtype of the tensor ``like``."""
    if isinstance(value, Tensor):
        return value
    return Tensor(xp.asarray(value, dtype=like.data.dtype))


def sum_to_shape(grad, shape):
    """Reduce a broadcast gradient back to ``shape`` (the inverse of NumPy broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def normalize_axis(axis, ndim):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


def add_tangents(*terms):
    """Sum of the forward-mode tangent terms that are not None (None: from a constant input)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total
