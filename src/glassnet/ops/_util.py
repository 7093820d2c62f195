"""Helpers the op families share: turning operands into Tensors of one dtype (torch's
promotion), undoing broadcasting, summing tangents."""

from ..autodiff import Op, Tensor
from ..backend import default_dtype, xp

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # bool < int < float < complex


def result_dtype(a, b):
    """The dtype of an op on the arrays ``a`` and ``b``, by torch's rule: a higher category
    wins (float over int over bool); within one category a 0-d array does not widen a
    dimensioned one, and two of the same kind promote as NumPy does (float32 + float64 ->
    float64)."""
    category_a, category_b = _CATEGORY[a.dtype.kind], _CATEGORY[b.dtype.kind]
    if category_a != category_b:
        return a.dtype if category_a > category_b else b.dtype
    if (a.ndim == 0) != (b.ndim == 0):
        return b.dtype if a.ndim == 0 else a.dtype
    return xp.promote_types(a.dtype, b.dtype)


class Cast(Op):
    """c = a converted to another dtype (an operand of mixed-dtype arithmetic).
    grad_a = grad_out converted back to a's dtype."""

    saves_arrays = False

    def forward(self, a, dtype):
        self.dtypes = a.dtype, dtype
        return a.astype(dtype)

    def backward(self, grad_out):
        return (grad_out.astype(self.dtypes[0]),)

    def jvp(self, da):
        # dc = da, in c's dtype
        return da.astype(self.dtypes[1])


_CONSTANTS = {}  # (value, dtype) -> 0-d array of the active backend


def constant(value, dtype):
    """``value`` as a 0-d array of ``dtype`` (cached; never to be written to). As an operand
    of an array operation it costs what an array does, where a Python float or a NumPy scalar
    costs more (NumPy 2 resolves a scalar's type on every call); the result keeps the other
    operand's dtype."""
    c = _CONSTANTS.get((value, dtype))
    if c is None or type(c) is not xp.ndarray:  # (made before a switch of backend)
        if len(_CONSTANTS) > 64:  # many values (a learning rate on a schedule): start afresh
            _CONSTANTS.clear()
        c = _CONSTANTS[value, dtype] = xp.asarray(value, dtype)
    return c


def ratio(scale, n, dtype):
    """``scale / n`` as a 0-d array of ``dtype``, for a loss's backward: ``scale`` (the
    gradient arriving at the scalar loss, a one-element array, or a number) divided by the
    reduction's divisor, computed in Python and applied as one array operand."""
    return xp.asarray(float(scale) / n, dtype)


def cast(t, dtype):
    """The Tensor ``t`` in ``dtype`` (itself when it has it); the gradient flows back through
    the conversion in t's own dtype."""
    return t if t.data.dtype == dtype else Cast.apply(t, dtype=dtype)


def floating(t):
    """``t`` itself when it holds floats, else (bool, int) its values in the default float
    dtype, for the functions that give floats (exp, tanh, ...), as torch does. The wrappers
    call it only for a ``t`` that does not require grad: one that does is floating already."""
    return t if t.data.dtype.kind in "fc" else Tensor(t.data.astype(default_dtype()))


def as_tensor(value, like):
    """``value`` as a Tensor to combine with the Tensor ``like``. A plain number or array is a
    constant that takes like's dtype (a float64 target array does not widen a float32
    network), unless it is of a higher category (bool < int < float): then a number gives the
    default dtype of its kind (floats: ``backend.default_dtype()``) and an array keeps its own
    dtype, as in torch."""
    if isinstance(value, Tensor):
        return value
    dtype = like.data.dtype
    array = xp.asarray(value)
    if _CATEGORY[array.dtype.kind] > _CATEGORY[dtype.kind]:
        is_number = array.ndim == 0 and not isinstance(value, xp.ndarray)
        dtype = default_dtype() if is_number and array.dtype.kind == "f" else array.dtype
    return Tensor(array.astype(dtype, copy=False))


def operands(a, b):
    """``a`` and ``b`` (Tensors, numbers or arrays, at least one a Tensor) as two Tensors of
    their common dtype: constants by ``as_tensor``, Tensors by ``result_dtype``."""
    if not isinstance(b, Tensor):
        if type(b) is float and a.data.dtype.kind == "f":  # t * 0.5: the commonest constant
            return a, Tensor(xp.asarray(b, a.data.dtype))
        b = as_tensor(b, a)
    elif not isinstance(a, Tensor):
        a = as_tensor(a, b)
    if a.data.dtype is b.data.dtype:  # the hot path: one identity check
        return a, b
    dtype = result_dtype(a.data, b.data)
    return cast(a, dtype), cast(b, dtype)


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


_ONES = {}  # (n, dtype) -> a vector of n ones (a sum as a product; never handed out to users)


def ones(n, dtype):
    """A cached vector of n ones, for sums written as products with it (BLAS's gemv: a third
    to a fifth of the time of ``sum`` over a batch or a channel, see linalg and normalization)."""
    vector = _ONES.get((n, dtype))
    if vector is None or type(vector) is not xp.ndarray:  # (made before a switch of backend)
        if len(_ONES) > 32:  # many sizes: start afresh rather than grow
            _ONES.clear()
        vector = _ONES[n, dtype] = xp.ones(n, dtype)
    return vector
