"""One ``OpSpec`` per functional op (several for broadcasting and axis variants): the table that
tests/ops/test_generated.py turns into gradient checks, NumPy references, PyTorch comparisons
and dtype checks (the pattern of PyTorch's OpInfo and Chainer's FunctionTestCase).

A spec calls ``fn`` on Tensors built from ``shapes`` (the differentiable inputs), followed by the
constants ``args`` and ``kwargs`` (labels, indices, axes, masks). ``ref`` (NumPy arrays) and
``torch`` (torch tensors, float64) are called the same way, so one table line says everything.
Samples are drawn uniformly from [low, high] and kept ``margin`` away from every kink in
``away_from``; ``distinct=True`` spreads all values of all inputs apart (ties in max, min,
maximum, minimum, maxout). torch is imported only when a torch callable runs.

Adding an op: add one line here; test_every_op_has_a_spec fails until you do.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from glassnet import ops


class _Lazy:
    """A module whose functions are imported when first called, so that building the table
    does not import torch (the tests that call them ask for torch with ``require``)."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        def call(*args, **kwargs):
            return getattr(importlib.import_module(self._name), attr)(*args, **kwargs)

        call.__name__ = call.__qualname__ = f"{self._name}.{attr}"
        return call


T = _Lazy("torch")
F = _Lazy("torch.nn.functional")


def _tt(value):
    """A NumPy constant (labels, targets, masks, indices) as a torch tensor."""
    if isinstance(value, np.ndarray):
        return T.as_tensor(value)
    if isinstance(value, tuple):
        return tuple(_tt(v) for v in value)
    return value


@dataclass(frozen=True, eq=False)
class OpSpec:
    """How to test one op: inputs, sampling, a NumPy forward and a torch equivalent.

    Attributes:
        name: the test id.
        fn: the glassnet functional op (its ``__name__`` must be in ``ops.__all__``).
        shapes: shapes of the differentiable inputs.
        ref: NumPy forward, called like ``fn`` on arrays.
        torch: torch equivalent, called like ``fn`` on float64 torch tensors (None: no oracle).
        args, kwargs: constants passed after the inputs (or before them, see ``layout``).
        low, high: sampling range; a tuple gives one bound per input.
        away_from: kinks (relu at 0, clip bounds, ...); samples keep ``margin`` from them.
        distinct: all sampled values are pairwise at least ~2 / (number of values) apart.
        layout: "tensors" fn(*inputs, *args), "list" fn([inputs], *args),
            "args_first" fn(*args, *inputs) (where: the condition comes first).
        differentiable: False for ops whose gradient is zero by definition (step): torch is
            compared on values only and glassnet's gradient must be all zeros.
        backward_bug: a known library bug in the backward pass: the tests that run backward
            are marked xfail(strict=True) with this reason, so a fix makes them fail loudly.
    """

    name: str
    fn: Callable
    shapes: tuple
    ref: Callable
    torch: Callable | None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    low: float | tuple = -2.0
    high: float | tuple = 2.0
    away_from: tuple = ()
    margin: float = 0.05
    distinct: bool = False
    layout: str = "tensors"
    differentiable: bool = True
    backward_bug: str | None = None

    def sample(self, rng, dtype=np.float64):
        """Random inputs of ``shapes`` (float64 draws, then cast to ``dtype``)."""
        n = len(self.shapes)
        lows = self.low if isinstance(self.low, tuple) else (self.low,) * n
        highs = self.high if isinstance(self.high, tuple) else (self.high,) * n
        if self.distinct:
            sizes = [int(np.prod(s)) for s in self.shapes]
            total = sum(sizes)
            spacing = (highs[0] - lows[0]) / total
            grid = lows[0] + spacing * (rng.permutation(total) + rng.uniform(0.25, 0.75, total))
            parts = np.split(grid, np.cumsum(sizes)[:-1])
            arrays = [p.reshape(s) for p, s in zip(parts, self.shapes)]
        else:
            arrays = [rng.uniform(lo, hi, s) for lo, hi, s in zip(lows, highs, self.shapes)]
        for kink in self.away_from:
            for x in arrays:
                d = x - kink
                near = np.abs(d) < self.margin
                x[near] = kink + np.copysign(self.margin + np.abs(d[near]), d[near])
        return [x.astype(dtype) for x in arrays]

    def call(self, f, inputs):
        """Call ``f`` (fn, ref or torch) on ``inputs`` with this spec's constants."""
        if self.layout == "list":
            return f(list(inputs), *self.args, **self.kwargs)
        if self.layout == "args_first":
            return f(*self.args, *inputs, **self.kwargs)
        return f(*inputs, *self.args, **self.kwargs)

    def param(self, backward=True):
        """This spec as a pytest parameter; ``backward``: the test runs a backward pass."""
        bug = self.backward_bug if backward else None
        marks = (pytest.mark.xfail(strict=True, reason=bug),) if bug else ()
        return pytest.param(self, id=self.name, marks=marks)


_C = np.random.default_rng(1234)  # constants (targets, labels, masks) fixed at import


# ---- NumPy / torch helpers --------------------------------------------------------------------


def _dims(axis, x):
    """torch's dim for a NumPy-style axis (None: every axis)."""
    return tuple(range(x.ndim)) if axis is None else axis


def _torch_reduce(name):
    def reduce(x, axis=None, keepdims=False):
        return getattr(T, name)(x, dim=_dims(axis, x), keepdim=keepdims)

    reduce.__name__ = f"torch_{name}"
    return reduce


def _np_maxout(x, pieces):
    return x.reshape(x.shape[:-1] + (x.shape[-1] // pieces, pieces)).max(axis=-1)


def _torch_maxout(x, pieces):
    return x.reshape(x.shape[:-1] + (x.shape[-1] // pieces, pieces)).amax(dim=-1)


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_log_softmax(x, axis=-1):
    return np.log(_np_softmax(x, axis))


def _np_gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def _divisor(reduction, n):
    return n if reduction == "mean" else 1


def _np_sse(a, y, reduction="sum"):
    return 0.5 * ((a - y.reshape(a.shape)) ** 2).sum() / _divisor(reduction, a.shape[0])


def _torch_sse(a, y, reduction="sum"):
    return 0.5 * ((a - _tt(y).reshape(a.shape)) ** 2).sum() / _divisor(reduction, a.shape[0])


def _np_mse(a, y, reduction="mean"):
    return ((a - y) ** 2).sum() / _divisor(reduction, a.size)


def _np_l1(a, y, reduction="mean"):
    return np.abs(a - y).sum() / _divisor(reduction, a.size)


def _np_bce(p, y, reduction="mean"):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / _divisor(reduction, p.size)


def _np_sigmoid_bce(x, y, reduction="mean"):
    y = y.reshape(x.shape)
    return _np_bce(1 / (1 + np.exp(-x)), y, reduction)


def _torch_sigmoid_bce(x, y, reduction="mean"):
    return F.binary_cross_entropy_with_logits(x, _tt(y).reshape(x.shape), reduction=reduction)


def _one_hot(y, n_classes):
    return np.eye(n_classes)[y] if y.ndim == 1 else y


def _np_cross_entropy(p, y, reduction="mean"):
    y = _one_hot(y, p.shape[1])
    return -(y * np.log(p)).sum() / _divisor(reduction, p.shape[0])


def _torch_cross_entropy(p, y, reduction="mean"):
    if y.ndim == 1:
        return F.nll_loss(T.log(p), _tt(y), reduction=reduction)
    return -(_tt(y) * T.log(p)).sum() / _divisor(reduction, p.shape[0])


def _np_softmax_cross_entropy(x, y, reduction="mean"):
    y = _one_hot(y, x.shape[1])
    return -(y * _np_log_softmax(x)).sum() / _divisor(reduction, x.shape[0])


def _torch_softmax_cross_entropy(x, y, reduction="mean"):
    return F.cross_entropy(x, _tt(y), reduction=reduction)


def _dropout_mask(shape, dtype, p, seed):
    keep = np.random.default_rng(seed).random(shape, dtype=dtype) >= p
    return keep / (1 - p)


def _np_dropout(x, p, seed=None, training=True):
    return x * _dropout_mask(x.shape, x.dtype, p, seed).astype(x.dtype)


def _torch_dropout(x, p, seed=None, training=True):
    return x * T.as_tensor(_dropout_mask(tuple(x.shape), np.float64, p, seed))


def _np_linear(x, W, b=None):
    return x @ W.T if b is None else x @ W.T + b


def _torch_getitem(x, index):
    return x[_tt(index)]


# ---- constants -------------------------------------------------------------------------------

_Y34 = _C.uniform(-1, 1, (3, 4))
_Y_HALVES = _C.choice([-0.5, 0.5], (3, 4))  # l1's kinks sit at +-0.5: sampled away from them
_Y_BINARY = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.3, 0.0, 0.7], [0.0, 0.0, 1.0, 1.0]])
_Y_COLUMN = np.array([0.0, 1.0, 1.0, 0.0, 1.0])  # (n,) target for an (n, 1) output
_LABELS = np.array([2, 0, 3, 3, 1])
_SOFT = _np_softmax(_C.normal(size=(5, 4)))
_COND = _C.random((3, 4)) > 0.5
_MASK = np.array(
    [[True, False, True, True], [False, False, True, False], [True, True, False, True]]
)

# ---- the table -------------------------------------------------------------------------------

SPECS = [
    # elementwise, with broadcasting
    OpSpec("add", ops.add, ((3, 4), (3, 4)), np.add, T.add),
    OpSpec("add_bcast_trailing", ops.add, ((2, 3, 4), (4,)), np.add, T.add),
    OpSpec("add_bcast_outer", ops.add, ((3, 1), (1, 4)), np.add, T.add),
    OpSpec("add_bcast_scalar", ops.add, ((), (2, 3)), np.add, T.add),
    OpSpec("sub", ops.sub, ((3, 4), (3, 4)), np.subtract, T.sub),
    OpSpec("sub_bcast", ops.sub, ((4,), (2, 3, 4)), np.subtract, T.sub),
    OpSpec("sub_bcast_outer", ops.sub, ((3, 1), (1, 4)), np.subtract, T.sub),
    OpSpec("mul", ops.mul, ((3, 4), (3, 4)), np.multiply, T.mul),
    OpSpec("mul_bcast", ops.mul, ((2, 3, 4), (3, 1)), np.multiply, T.mul),
    OpSpec("mul_bcast_outer", ops.mul, ((3, 1), (1, 4)), np.multiply, T.mul),
    OpSpec("div", ops.div, ((3, 4), (3, 4)), np.divide, T.div, low=(-2.0, 0.5)),
    OpSpec("div_bcast", ops.div, ((2, 3, 4), (4,)), np.divide, T.div, low=(-2.0, 0.5)),
    OpSpec("div_bcast_outer", ops.div, ((3, 1), (1, 4)), np.divide, T.div, low=(-2.0, 0.5)),
    OpSpec("neg", ops.neg, ((3, 4),), np.negative, T.neg),
    OpSpec("pow_3", ops.pow, ((3, 4),), np.power, T.pow, args=(3,)),
    OpSpec("pow_half", ops.pow, ((3, 4),), np.power, T.pow, args=(0.5,), low=0.5),
    OpSpec("pow_negative", ops.pow, ((3, 4),), np.power, T.pow, args=(-1.5,), low=0.5),
    OpSpec("pow_zero", ops.pow, ((3, 4),), np.power, T.pow, args=(0,)),
    OpSpec(
        "pow_number_base", ops.pow, ((3, 4),), np.power, T.pow, args=(2.5,), layout="args_first",
    ),
    OpSpec(
        "pow_number_base_below_one", ops.pow, ((3, 4),), np.power, T.pow, args=(0.5,),
        layout="args_first",
    ),
    OpSpec(
        "pow_base_zero", ops.pow, ((3, 4),), np.power, T.pow, args=(0.0,), layout="args_first",
        low=0.2,
    ),
    OpSpec("exp", ops.exp, ((3, 4),), np.exp, T.exp),
    OpSpec("log", ops.log, ((3, 4),), np.log, T.log, low=0.2, high=3.0),
    OpSpec("sqrt", ops.sqrt, ((3, 4),), np.sqrt, T.sqrt, low=0.2, high=3.0),
    OpSpec("abs", ops.abs, ((3, 4),), np.abs, T.abs, away_from=(0.0,)),
    OpSpec("clip", ops.clip, ((3, 4),), np.clip, T.clamp, args=(-0.5, 0.8), away_from=(-0.5, 0.8)),
    OpSpec(
        "clip_no_low", ops.clip, ((3, 4),), lambda x, lo, hi: np.minimum(x, hi),
        lambda x, lo, hi: T.clamp(x, max=hi), args=(None, 0.3), away_from=(0.3,),
    ),
    OpSpec("maximum", ops.maximum, ((3, 4), (3, 4)), np.maximum, T.maximum, distinct=True),
    OpSpec("maximum_bcast", ops.maximum, ((2, 3, 4), (4,)), np.maximum, T.maximum, distinct=True),
    OpSpec("minimum", ops.minimum, ((3, 4), (3, 4)), np.minimum, T.minimum, distinct=True),
    OpSpec("minimum_bcast", ops.minimum, ((3, 1), (1, 4)), np.minimum, T.minimum, distinct=True),
    OpSpec(
        "where", ops.where, ((3, 4), (3, 4)), np.where,
        lambda c, a, b: T.where(_tt(c), a, b), args=(_COND,), layout="args_first",
    ),
    OpSpec(
        "where_bcast", ops.where, ((3, 4), (4,)), np.where,
        lambda c, a, b: T.where(_tt(c), a, b), args=(_COND[:, :1],), layout="args_first",
    ),
    # reductions
    OpSpec("sum_all", ops.sum, ((3, 4),), np.sum, _torch_reduce("sum")),
    OpSpec("sum_axis", ops.sum, ((2, 3, 4),), np.sum, _torch_reduce("sum"), kwargs={"axis": 1}),
    OpSpec(
        "sum_negative_axis_keepdims", ops.sum, ((2, 3, 4),), np.sum, _torch_reduce("sum"),
        kwargs={"axis": -1, "keepdims": True},
    ),
    OpSpec(
        "sum_tuple", ops.sum, ((2, 3, 4),), np.sum, _torch_reduce("sum"), kwargs={"axis": (0, 2)},
    ),
    OpSpec(
        "sum_all_keepdims", ops.sum, ((3, 4),), np.sum, _torch_reduce("sum"),
        kwargs={"keepdims": True},
    ),
    OpSpec("mean_all", ops.mean, ((3, 4),), np.mean, _torch_reduce("mean")),
    OpSpec("mean_axis", ops.mean, ((2, 3, 4),), np.mean, _torch_reduce("mean"), kwargs={"axis": 0}),
    OpSpec(
        "mean_tuple_keepdims", ops.mean, ((2, 3, 4),), np.mean, _torch_reduce("mean"),
        kwargs={"axis": (1, 2), "keepdims": True},
    ),
    OpSpec("max_all", ops.max, ((3, 4),), np.max, _torch_reduce("amax"), distinct=True),
    OpSpec(
        "max_axis", ops.max, ((2, 3, 4),), np.max, _torch_reduce("amax"), kwargs={"axis": 1},
        distinct=True,
    ),
    OpSpec(
        "max_tuple_keepdims", ops.max, ((2, 3, 4),), np.max, _torch_reduce("amax"),
        kwargs={"axis": (0, 2), "keepdims": True}, distinct=True,
    ),
    OpSpec("min_all", ops.min, ((3, 4),), np.min, _torch_reduce("amin"), distinct=True),
    OpSpec(
        "min_negative_axis", ops.min, ((2, 3, 4),), np.min, _torch_reduce("amin"),
        kwargs={"axis": -1}, distinct=True,
    ),
    OpSpec(
        "min_tuple_keepdims", ops.min, ((2, 3, 4),), np.min, _torch_reduce("amin"),
        kwargs={"axis": (1, 2), "keepdims": True}, distinct=True,
    ),
    # shapes and indexing
    OpSpec("reshape", ops.reshape, ((2, 3, 4),), np.reshape, T.reshape, args=((4, 6),)),
    OpSpec("reshape_minus_one", ops.reshape, ((2, 3, 4),), np.reshape, T.reshape, args=((-1,),)),
    OpSpec(
        "reshape_varargs", ops.reshape, ((3, 4),), lambda x, *s: x.reshape(s),
        lambda x, *s: x.reshape(s), args=(2, 1, 6),
    ),
    OpSpec("transpose", ops.transpose, ((3, 4),), np.transpose, lambda x: x.T),
    OpSpec(
        "transpose_axes", ops.transpose, ((2, 3, 4),), np.transpose,
        lambda x, axes: x.permute(axes), kwargs={"axes": (1, 2, 0)},
    ),
    OpSpec(
        "getitem_slices", ops.getitem, ((4, 5),), lambda x, i: x[i], _torch_getitem,
        args=((slice(1, 3), slice(None, None, 2)),),
    ),
    OpSpec("getitem_int", ops.getitem, ((4, 5),), lambda x, i: x[i], _torch_getitem, args=(2,)),
    OpSpec(
        "getitem_ellipsis_none", ops.getitem, ((2, 3, 4),), lambda x, i: x[i], _torch_getitem,
        args=((Ellipsis, None, slice(1, None)),),
    ),
    OpSpec(
        "getitem_reversed", ops.getitem, ((4, 3),), lambda x, i: x[i],
        lambda x, i: T.flip(x, (0,)), args=(slice(None, None, -1),),
    ),
    OpSpec(
        "getitem_int_array_repeats", ops.getitem, ((4, 3),), lambda x, i: x[i], _torch_getitem,
        args=(np.array([0, 2, 0, 3, 0]),),
    ),
    OpSpec(
        "getitem_int_arrays_pairs", ops.getitem, ((4, 3),), lambda x, i: x[i], _torch_getitem,
        args=((np.array([0, 1, 1, 3]), np.array([2, 0, 0, 1])),),
    ),
    OpSpec(
        "getitem_bool_mask", ops.getitem, ((3, 4),), lambda x, i: x[i], _torch_getitem,
        args=(_MASK,),
    ),
    OpSpec(
        "getitem_bool_rows", ops.getitem, ((3, 4),), lambda x, i: x[i], _torch_getitem,
        args=(np.array([True, False, True]),),
    ),
    OpSpec(
        "concatenate", ops.concatenate, ((2, 3), (2, 1), (2, 4)), np.concatenate,
        lambda ts, axis: T.cat(ts, dim=axis), kwargs={"axis": 1}, layout="list",
    ),
    OpSpec(
        "concatenate_axis0", ops.concatenate, ((1, 3), (2, 3)), np.concatenate,
        lambda ts: T.cat(ts, dim=0), layout="list",
    ),
    OpSpec(
        "stack", ops.stack, ((2, 3), (2, 3), (2, 3)), np.stack,
        lambda ts: T.stack(ts, dim=0), layout="list",
    ),
    OpSpec(
        "stack_last_axis", ops.stack, ((2, 3), (2, 3)), np.stack,
        lambda ts, axis: T.stack(ts, dim=axis), kwargs={"axis": -1}, layout="list",
    ),
    # linear algebra
    OpSpec("matmul", ops.matmul, ((3, 4), (4, 5)), np.matmul, T.matmul),
    OpSpec("matmul_batched", ops.matmul, ((2, 3, 4), (2, 4, 5)), np.matmul, T.matmul),
    OpSpec("matmul_batch_bcast", ops.matmul, ((2, 1, 3, 4), (3, 4, 2)), np.matmul, T.matmul),
    OpSpec("matmul_batch_matrix", ops.matmul, ((2, 3, 4), (4, 5)), np.matmul, T.matmul),
    OpSpec("matmul_matrix_batch", ops.matmul, ((3, 4), (2, 4, 5)), np.matmul, T.matmul),
    OpSpec("matmul_vector_matrix", ops.matmul, ((4,), (4, 5)), np.matmul, T.matmul),
    OpSpec("matmul_matrix_vector", ops.matmul, ((3, 4), (4,)), np.matmul, T.matmul),
    OpSpec("matmul_batch_vector", ops.matmul, ((2, 3, 4), (4,)), np.matmul, T.matmul),
    OpSpec("matmul_vector_batch", ops.matmul, ((4,), (2, 4, 5)), np.matmul, T.matmul),
    OpSpec(
        "matmul_vector_vector", ops.matmul, ((4,), (4,)), np.matmul, T.matmul,
    ),
    OpSpec("linear", ops.linear, ((5, 4), (3, 4), (3,)), _np_linear, F.linear),
    OpSpec("linear_no_bias", ops.linear, ((5, 4), (3, 4)), _np_linear, F.linear),
    OpSpec("linear_batch_axes", ops.linear, ((2, 5, 4), (3, 4), (3,)), _np_linear, F.linear),
    OpSpec(
        "linear_single_sample", ops.linear, ((4,), (3, 4), (3,)), _np_linear, F.linear,
    ),
    # activations
    OpSpec(
        "step", ops.step, ((3, 4),), lambda x: (x > 0).astype(x.dtype),
        lambda x: (x > 0).to(x.dtype), away_from=(0.0,), differentiable=False,
    ),
    OpSpec("identity", ops.identity, ((3, 4),), lambda x: x, lambda x: x),
    OpSpec(
        "sigmoid", ops.sigmoid, ((3, 4),), lambda x: 1 / (1 + np.exp(-x)), T.sigmoid,
        low=-4, high=4,
    ),
    OpSpec(
        "sigmoid_beta_2", ops.sigmoid, ((3, 4),), lambda x, beta: 1 / (1 + np.exp(-beta * x)),
        lambda x, beta: T.sigmoid(beta * x), kwargs={"beta": 2.0}, low=-3, high=3,
    ),
    OpSpec("tanh", ops.tanh, ((3, 4),), np.tanh, T.tanh),
    OpSpec("relu", ops.relu, ((3, 4),), lambda x: np.maximum(x, 0), F.relu, away_from=(0.0,)),
    OpSpec(
        "leaky_relu", ops.leaky_relu, ((3, 4),), lambda x: np.where(x > 0, x, 0.01 * x),
        F.leaky_relu, away_from=(0.0,),
    ),
    OpSpec(
        "leaky_relu_slope", ops.leaky_relu, ((3, 4),),
        lambda x, negative_slope: np.where(x > 0, x, negative_slope * x), F.leaky_relu,
        kwargs={"negative_slope": 0.2}, away_from=(0.0,),
    ),
    OpSpec(
        "softsign", ops.softsign, ((3, 4),), lambda x: x / (1 + np.abs(x)), F.softsign,
        away_from=(0.0,),
    ),
    OpSpec(
        "softplus", ops.softplus, ((3, 4),), lambda x: np.log1p(np.exp(x)), F.softplus,
        low=-5, high=5,
    ),
    OpSpec("elu", ops.elu, ((3, 4),), _np_elu, F.elu, away_from=(0.0,)),
    OpSpec(
        "elu_alpha", ops.elu, ((3, 4),), _np_elu, F.elu, kwargs={"alpha": 0.5}, away_from=(0.0,),
    ),
    OpSpec(
        "gelu", ops.gelu, ((3, 4),), _np_gelu, lambda x: F.gelu(x, approximate="tanh"),
        low=-4, high=4,
    ),
    OpSpec(
        "maxout", ops.maxout, ((3, 6),), _np_maxout, _torch_maxout, kwargs={"pieces": 3},
        distinct=True,
    ),
    OpSpec(
        "maxout_batch_axes", ops.maxout, ((2, 3, 4),), _np_maxout, _torch_maxout,
        kwargs={"pieces": 2}, distinct=True,
    ),
    OpSpec("softmax", ops.softmax, ((3, 4),), _np_softmax, lambda x: T.softmax(x, -1)),
    OpSpec(
        "softmax_axis0", ops.softmax, ((3, 4),), _np_softmax, lambda x, axis: T.softmax(x, axis),
        kwargs={"axis": 0},
    ),
    OpSpec(
        "log_softmax", ops.log_softmax, ((3, 4),), _np_log_softmax, lambda x: T.log_softmax(x, -1),
    ),
    OpSpec(
        "log_softmax_axis1_of_3d", ops.log_softmax, ((2, 3, 4),), _np_log_softmax,
        lambda x, axis: T.log_softmax(x, axis), kwargs={"axis": 1},
    ),
    # losses (targets are constants)
    OpSpec("sse", ops.sse, ((3, 4),), _np_sse, _torch_sse, args=(_Y34,)),
    OpSpec(
        "sse_mean", ops.sse, ((3, 4),), _np_sse, _torch_sse, args=(_Y34,),
        kwargs={"reduction": "mean"},
    ),
    OpSpec(
        "sse_column_target", ops.sse, ((5, 1),), _np_sse, _torch_sse, args=(_Y_COLUMN,),
        kwargs={"reduction": "mean"},
    ),
    OpSpec(
        "mse", ops.mse, ((3, 4),), _np_mse, lambda a, y, **kw: F.mse_loss(a, _tt(y), **kw),
        args=(_Y34,),
    ),
    OpSpec(
        "mse_sum", ops.mse, ((3, 4),), _np_mse, lambda a, y, **kw: F.mse_loss(a, _tt(y), **kw),
        args=(_Y34,), kwargs={"reduction": "sum"},
    ),
    OpSpec(
        "l1", ops.l1, ((3, 4),), _np_l1, lambda a, y, **kw: F.l1_loss(a, _tt(y), **kw),
        args=(_Y_HALVES,), away_from=(-0.5, 0.5),
    ),
    OpSpec(
        "l1_sum", ops.l1, ((3, 4),), _np_l1, lambda a, y, **kw: F.l1_loss(a, _tt(y), **kw),
        args=(_Y_HALVES,), kwargs={"reduction": "sum"}, away_from=(-0.5, 0.5),
    ),
    OpSpec(
        "binary_cross_entropy", ops.binary_cross_entropy, ((3, 4),), _np_bce,
        lambda p, y, **kw: F.binary_cross_entropy(p, _tt(y), **kw), args=(_Y_BINARY,),
        low=0.05, high=0.95,
    ),
    OpSpec(
        "binary_cross_entropy_sum", ops.binary_cross_entropy, ((3, 4),), _np_bce,
        lambda p, y, **kw: F.binary_cross_entropy(p, _tt(y), **kw), args=(_Y_BINARY,),
        kwargs={"reduction": "sum"}, low=0.05, high=0.95,
    ),
    OpSpec(
        "sigmoid_binary_cross_entropy", ops.sigmoid_binary_cross_entropy, ((3, 4),),
        _np_sigmoid_bce, _torch_sigmoid_bce, args=(_Y_BINARY,), low=-4, high=4,
    ),
    OpSpec(
        "sigmoid_binary_cross_entropy_sum_column", ops.sigmoid_binary_cross_entropy, ((5, 1),),
        _np_sigmoid_bce, _torch_sigmoid_bce, args=(_Y_COLUMN,), kwargs={"reduction": "sum"},
        low=-4, high=4,
    ),
    OpSpec(
        "cross_entropy_labels", ops.cross_entropy, ((5, 4),), _np_cross_entropy,
        _torch_cross_entropy, args=(_LABELS,), low=0.05, high=1.0,
    ),
    OpSpec(
        "cross_entropy_soft_sum", ops.cross_entropy, ((5, 4),), _np_cross_entropy,
        _torch_cross_entropy, args=(_SOFT,), kwargs={"reduction": "sum"}, low=0.05, high=1.0,
    ),
    *(
        OpSpec(
            f"softmax_cross_entropy_{name}", ops.softmax_cross_entropy, ((5, 4),),
            _np_softmax_cross_entropy, _torch_softmax_cross_entropy, args=(targets,),
            kwargs=kwargs, low=-4, high=4,
        )
        for name, targets, kwargs in (
            ("labels", _LABELS, {}),
            ("labels_sum", _LABELS, {"reduction": "sum"}),
            ("soft", _SOFT, {}),
            ("one_hot_sum", np.eye(4)[_LABELS], {"reduction": "sum"}),
        )
    ),
    # dropout (a fixed seed makes it a deterministic function of x)
    OpSpec(
        "dropout", ops.dropout, ((4, 5),), _np_dropout, _torch_dropout,
        kwargs={"p": 0.3, "seed": 0},
    ),
    OpSpec(
        "dropout_eval", ops.dropout, ((4, 5),), lambda x, **kw: x, lambda x, **kw: x,
        kwargs={"p": 0.3, "seed": 0, "training": False},
    ),
]  # fmt: skip


# ---- batch normalisation (ops/normalization.py) -----------------------------------------------


def _np_batch_norm(x, gamma, beta, running_mean=None, running_var=None, training=True,
                   momentum=0.1, eps=1e-5):  # fmt: skip
    mu, var = (x.mean(axis=0), x.var(axis=0)) if training else (running_mean, running_var)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def _torch_batch_norm(x, gamma, beta, running_mean=None, running_var=None, training=True,
                      momentum=0.1, eps=1e-5):  # fmt: skip
    running = _tt(running_mean), _tt(running_var)
    return F.batch_norm(x, *running, gamma, beta, training, momentum, eps)


_RUNNING_MEAN = _C.uniform(-1, 1, 4)  # eval mode only reads them
_RUNNING_VAR = _C.uniform(0.5, 2.0, 4)

SPECS += [
    OpSpec("batch_norm", ops.batch_norm, ((5, 4), (4,), (4,)), _np_batch_norm, _torch_batch_norm),
    OpSpec(
        "batch_norm_two_samples_eps", ops.batch_norm, ((2, 3), (3,), (3,)), _np_batch_norm,
        _torch_batch_norm, kwargs={"eps": 0.1},
    ),
    OpSpec(
        "batch_norm_eval", ops.batch_norm, ((5, 4), (4,), (4,)), _np_batch_norm, _torch_batch_norm,
        args=(_RUNNING_MEAN, _RUNNING_VAR), kwargs={"training": False},
    ),
]  # fmt: skip
