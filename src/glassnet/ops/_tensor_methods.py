"""The one table that gives ``Tensor`` its operators and methods (``a + b`` -> ``ops.add``).

``autodiff`` sits below ``ops`` and cannot import it, so the operators are attached here.
A reader greps this file to learn what ``a @ b`` does.
"""

from ..autodiff import Tensor
from . import activation, elementwise, linalg, reduce, shape


def _reflected(fn):
    """``other <op> self``: the op's own promotion converts ``other`` (a number or array)."""
    return lambda self, other: fn(other, self)


TABLE = {
    "__add__": elementwise.add,
    "__radd__": _reflected(elementwise.add),
    "__sub__": elementwise.sub,
    "__rsub__": _reflected(elementwise.sub),
    "__mul__": elementwise.mul,
    "__rmul__": _reflected(elementwise.mul),
    "__truediv__": elementwise.div,
    "__rtruediv__": _reflected(elementwise.div),
    "__neg__": elementwise.neg,
    "__pow__": elementwise.pow,
    "__rpow__": _reflected(elementwise.pow),
    "__matmul__": linalg.matmul,
    "__rmatmul__": _reflected(linalg.matmul),
    "__getitem__": shape.getitem,
    "exp": elementwise.exp,
    "log": elementwise.log,
    "sqrt": elementwise.sqrt,
    "abs": elementwise.abs,
    "clip": elementwise.clip,
    "sum": reduce.sum,
    "mean": reduce.mean,
    "max": reduce.max,
    "min": reduce.min,
    "reshape": shape.reshape,
    "transpose": shape.transpose,
    "T": property(lambda self: shape.transpose(self)),
    "tanh": activation.tanh,
    "relu": activation.relu,
    "sigmoid": activation.sigmoid,
    "softmax": activation.softmax,
}


def attach():
    """Install the table on ``Tensor`` (run once by ``glassnet.ops``)."""
    for name, fn in TABLE.items():
        setattr(Tensor, name, fn)
