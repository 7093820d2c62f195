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
from dataclasses import dataclass, field, replace

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
            "args_first" fn(*args, *inputs) (where: the condition comes first),
            "first_then_args" fn(inputs[0], *args, *inputs[1:]) (layer_norm: x, the
            normalised shape, then weight and bias).
        differentiable: False for ops whose gradient is zero by definition (step): torch is
            compared on values only and glassnet's gradient must be all zeros.
        backward_bug: a known library bug in the backward pass: the tests that run backward
            are marked xfail(strict=True) with this reason, so a fix makes them fail loudly.
        keyword_inputs: names under which the last inputs are passed by keyword (lstm's
            peepholes, which come after the constant mask in its signature).
        pick: for an op returning a tuple (lstm: outputs and cells), the element checked;
            fn, ref and torch all return the tuple and ``call`` takes this element of each.
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
    keyword_inputs: tuple = ()
    pick: int | None = None

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
        if self.keyword_inputs or self.pick is not None:
            split = len(inputs) - len(self.keyword_inputs)
            named = dict(zip(self.keyword_inputs, inputs[split:]))
            spec = replace(self, keyword_inputs=(), pick=None, kwargs=self.kwargs | named)
            out = spec.call(f, inputs[:split])
            return out if self.pick is None else out[self.pick]
        if self.layout == "list":
            return f(list(inputs), *self.args, **self.kwargs)
        if self.layout == "args_first":
            return f(*self.args, *inputs, **self.kwargs)
        if self.layout == "first_then_args":
            return f(inputs[0], *self.args, *inputs[1:], **self.kwargs)
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
    if y.ndim == p.ndim - 1:  # labels, one per sample (and position)
        return F.nll_loss(T.log(p), _tt(y), reduction=reduction)
    return -(_tt(y) * T.log(p)).sum() / _divisor(reduction, p.shape[0])


def _np_softmax_cross_entropy(x, y, reduction="mean"):
    y = _one_hot(y, x.shape[1])
    return -(y * _np_log_softmax(x)).sum() / _divisor(reduction, x.shape[0])


def _torch_softmax_cross_entropy(x, y, reduction="mean"):
    return F.cross_entropy(x, _tt(y), reduction=reduction)


def _np_softmax_cross_entropy_ignoring(x, y, reduction="mean", ignore_index=None):
    """The NumPy reference with torch's ignore_index: the ignored rows dropped, "mean" over the
    others."""
    keep = y != ignore_index
    rows = x[keep]
    total = -_np_log_softmax(rows)[np.arange(len(rows)), y[keep]].sum()
    return total / (keep.sum() if reduction == "mean" else 1)


def _torch_softmax_cross_entropy_ignoring(x, y, reduction="mean", ignore_index=None):
    return F.cross_entropy(x, _tt(y), reduction=reduction, ignore_index=ignore_index)


def _per_position(fn):
    """A NumPy cross-entropy reference on (n, C, d...) scores: positions moved into the rows."""

    def reference(x, y, reduction="mean", **kwargs):
        rows = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
        y = y.reshape(-1) if y.ndim == x.ndim - 1 else np.moveaxis(y, 1, -1).reshape(-1, x.shape[1])
        return fn(rows, y, reduction, **kwargs)

    return reference


_PIXEL_LABELS = np.random.default_rng(7).integers(0, 3, size=(2, 3, 4))  # (n, H, W), 3 classes
_STEP_LABELS = np.random.default_rng(9).integers(0, 3, size=(2, 5))  # (n, L): one per step
_LABELS_IGNORED = np.array([2, -100, 0, 3, -100, 1])  # torch's default ignore_index, twice
_STEP_LABELS_PADDED = np.array([[1, 2, 2, 0, 0], [2, 1, 1, 2, 0]])  # 0: a padding class
_PIXEL_SOFT = np.random.default_rng(8).dirichlet(np.ones(3), size=(2, 3, 4)).transpose(0, 3, 1, 2)


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

# -- recurrent (ops/recurrent.py): the Elman cell composed step by step -------------------------


def _elman_reference(lib):
    """The Elman RNN of ops.elman written as a loop over the cell, for NumPy (lib=np) or torch."""

    def reference(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh", mask=None):
        f = lib.tanh if nonlinearity == "tanh" else (lambda a: a * (a > 0))
        h, outputs = h0, []
        for t in range(x.shape[0]):
            z = f(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            if mask is None:
                h = z
                outputs.append(z)
            else:
                m = mask[t][:, None] if lib is np else T.as_tensor(mask[t][:, None] * 1.0)
                h = m * z + (1 - m) * h
                outputs.append(m * z)
        return lib.stack(outputs)

    return reference


_ELMAN_SHAPES = ((5, 2, 3), (2, 4), (4, 3), (4, 4), (4,), (4,))  # T = 5, N = 2, in 3, H 4
_ELMAN_RANGE = {"low": (-2.0, -1.0, -0.8, -0.8, -0.5, -0.5), "high": (2.0, 1.0, 0.8, 0.8, 0.5, 0.5)}
_ELMAN_MASK = np.array([[1, 1], [1, 1], [0, 1], [1, 0], [0, 0]])  # padding, also in the middle

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
        "softmax_cross_entropy_per_pixel_labels", ops.softmax_cross_entropy, ((2, 3, 3, 4),),
        _per_position(_np_softmax_cross_entropy), _torch_softmax_cross_entropy,
        args=(_PIXEL_LABELS,), low=-4, high=4,
    ),
    OpSpec(
        "softmax_cross_entropy_per_pixel_soft_sum", ops.softmax_cross_entropy, ((2, 3, 3, 4),),
        _per_position(_np_softmax_cross_entropy), _torch_softmax_cross_entropy,
        args=(_PIXEL_SOFT,), kwargs={"reduction": "sum"}, low=-4, high=4,
    ),
    OpSpec(
        "softmax_cross_entropy_ignore_index", ops.softmax_cross_entropy, ((6, 4),),
        _np_softmax_cross_entropy_ignoring, _torch_softmax_cross_entropy_ignoring,
        args=(_LABELS_IGNORED,), kwargs={"ignore_index": -100}, low=-4, high=4,
    ),
    OpSpec(
        "softmax_cross_entropy_per_step_ignore_padding_sum", ops.softmax_cross_entropy,
        ((2, 3, 5),), _per_position(_np_softmax_cross_entropy_ignoring),
        _torch_softmax_cross_entropy_ignoring, args=(_STEP_LABELS_PADDED,),
        kwargs={"reduction": "sum", "ignore_index": 0}, low=-4, high=4,
    ),
    OpSpec(
        "cross_entropy_per_position_labels", ops.cross_entropy, ((2, 3, 5),),
        _per_position(_np_cross_entropy), _torch_cross_entropy, args=(_STEP_LABELS,), low=0.05,
        high=1.0,
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


# -- convolutions (ops/conv.py) ------------------------------------------------------------------
# References: the definitions written as loops over output (or input) positions, independent of
# the ops' im2col. Kernels are non-square and sizes odd where it costs nothing.


def _conv_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """net[n, o, y, x] = sum_{c,i,j} w[o, c, i, j] x_pad[n, c_o, s y + d i, s x + d j] + b[o]."""
    (sh, sw), (dh, dw) = _conv_pair(stride), _conv_pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":  # torch: total d (k - 1), the odd one at the end
        pads = [(t // 2, t - t // 2) for t in (dh * (kh - 1), dw * (kw - 1))]
    else:
        pads = [(p, p) for p in _conv_pair(0 if padding == "valid" else padding)]
    xp_ = np.pad(x, [(0, 0), (0, 0), *pads])
    ho = (xp_.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp_.shape[3] - dw * (kw - 1) - 1) // sw + 1
    cin, cout = w.shape[1], w.shape[0] // groups
    out = np.zeros((x.shape[0], w.shape[0], ho, wo), x.dtype)
    for g in range(groups):
        wg = w[g * cout:(g + 1) * cout]
        for y in range(ho):
            for z in range(wo):
                window = xp_[:, g * cin:(g + 1) * cin, y * sh:y * sh + dh * (kh - 1) + 1:dh,
                             z * sw:z * sw + dw * (kw - 1) + 1:dw]
                out[:, g * cout:(g + 1) * cout, y, z] = np.einsum("nchw,ochw->no", window, wg)
    return out if b is None else out + b[:, None, None]


def _np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    padding = padding if isinstance(padding, str) else (0, padding)  # one row, no padding
    out = _np_conv2d(x[:, :, None], w[:, :, None], b, (1, stride), padding, (1, dilation), groups)
    return out[:, :, 0]


def _np_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1):
    """Each input pixel adds w times itself into its window: out[n, o, s y + d i - p, ...]."""
    (sh, sw), (ph, pw), (eh, ew), (dh, dw) = map(_conv_pair, (stride, padding, output_padding,
                                                        dilation))
    n, cin_all, h, wd = x.shape
    cin, cout = cin_all // groups, w.shape[1]
    kh, kw = w.shape[2:]
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + eh + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + ew + 1
    full = np.zeros((n, cout * groups, ho + 2 * ph + sh + dh * kh, wo + 2 * pw + sw + dw * kw),
                    x.dtype)
    for g in range(groups):
        for y in range(h):
            for z in range(wd):
                pixel = x[:, g * cin:(g + 1) * cin, y, z]
                for i in range(kh):
                    for j in range(kw):
                        full[:, g * cout:(g + 1) * cout, y * sh + dh * i, z * sw + dw * j] += (
                            pixel @ w[g * cin:(g + 1) * cin, :, i, j])
    out = full[:, :, ph:ph + ho, pw:pw + wo]
    return out if b is None else out + b[:, None, None]


def _conv_quiet(f):
    """A torch oracle without torch's warning about 'same' with even kernels."""
    def call(*args, **kwargs):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return f(*args, **kwargs)

    return call


SPECS += [
    OpSpec("conv2d", ops.conv2d, ((2, 3, 5, 6), (4, 3, 3, 3), (4,)), _np_conv2d, F.conv2d),
    OpSpec(
        "conv2d_stride2_padding1_no_bias", ops.conv2d, ((2, 2, 7, 6), (3, 2, 3, 2)), _np_conv2d,
        F.conv2d, kwargs={"stride": 2, "padding": 1},
    ),
    OpSpec(
        "conv2d_dilation2_pair_padding_stride", ops.conv2d, ((1, 2, 7, 8), (2, 2, 3, 3), (2,)),
        _np_conv2d, F.conv2d, kwargs={"dilation": 2, "padding": (2, 1), "stride": (1, 2)},
    ),
    OpSpec(
        "conv2d_groups2", ops.conv2d, ((2, 4, 5, 5), (6, 2, 2, 3), (6,)), _np_conv2d, F.conv2d,
        kwargs={"groups": 2, "stride": (2, 1)},
    ),
    OpSpec(
        "conv2d_depthwise_same", ops.conv2d, ((2, 3, 5, 6), (6, 1, 3, 3), (6,)), _np_conv2d,
        F.conv2d, kwargs={"groups": 3, "padding": "same"},
    ),
    OpSpec(
        "conv2d_same_even_kernel_dilation", ops.conv2d, ((1, 2, 5, 4), (2, 2, 2, 4)),
        _np_conv2d, _conv_quiet(F.conv2d), kwargs={"padding": "same", "dilation": (3, 1)},
    ),
    OpSpec(
        "conv2d_padding_beyond_the_kernel", ops.conv2d, ((1, 2, 4, 3), (2, 2, 2, 2), (2,)),
        _np_conv2d, F.conv2d, kwargs={"padding": 2},
    ),
    OpSpec(
        "conv2d_valid", ops.conv2d, ((2, 2, 5, 5), (3, 2, 4, 2), (3,)), _np_conv2d, F.conv2d,
        kwargs={"padding": "valid"},
    ),
    OpSpec("conv1d", ops.conv1d, ((2, 3, 7), (4, 3, 3), (4,)), _np_conv1d, F.conv1d),
    OpSpec(
        "conv1d_stride2_dilation2_groups2", ops.conv1d, ((2, 4, 9), (4, 2, 3)), _np_conv1d,
        F.conv1d, kwargs={"stride": 2, "padding": 1, "dilation": 2, "groups": 2},
    ),
    OpSpec(
        "conv1d_same_even_kernel", ops.conv1d, ((2, 2, 6), (3, 2, 4), (3,)), _np_conv1d,
        _conv_quiet(F.conv1d), kwargs={"padding": "same"},
    ),
    OpSpec(
        "conv_transpose2d", ops.conv_transpose2d, ((2, 3, 3, 4), (3, 2, 3, 3), (2,)),
        _np_conv_transpose2d, F.conv_transpose2d,
    ),
    OpSpec(
        "conv_transpose2d_stride2_output_padding", ops.conv_transpose2d,
        ((2, 2, 3, 3), (2, 3, 3, 2), (3,)), _np_conv_transpose2d, F.conv_transpose2d,
        kwargs={"stride": 2, "padding": 1, "output_padding": 1},
    ),
    OpSpec(
        "conv_transpose2d_groups_dilation", ops.conv_transpose2d, ((1, 4, 3, 4), (4, 1, 2, 3)),
        _np_conv_transpose2d, F.conv_transpose2d,
        kwargs={"groups": 2, "dilation": (2, 1), "stride": (1, 2), "output_padding": 1},
    ),
    OpSpec(  # stride 1 and padding 1: the output has the input's size
        "conv_transpose2d_padding_same_size", ops.conv_transpose2d,
        ((2, 2, 4, 5), (2, 3, 3, 3)), _np_conv_transpose2d, F.conv_transpose2d,
        kwargs={"padding": 1},
    ),
    OpSpec(
        "conv_transpose2d_depthwise", ops.conv_transpose2d, ((2, 3, 3, 3), (3, 1, 3, 3), (3,)),
        _np_conv_transpose2d, F.conv_transpose2d,
        kwargs={"groups": 3, "stride": 2, "padding": (1, 0)},
    ),
]  # fmt: skip


# ---- batch normalisation (ops/normalization.py) -----------------------------------------------


def _np_batch_norm(x, gamma, beta, running_mean=None, running_var=None, training=True,
                   momentum=0.1, eps=1e-5):  # fmt: skip
    axes, channel = (0, *range(2, x.ndim)), (-1,) + (1,) * (x.ndim - 2)  # NCHW: per channel
    mu, var = (x.mean(axis=axes), x.var(axis=axes)) if training else (running_mean, running_var)
    gamma, beta, mu, var = (v.reshape(channel) for v in (gamma, beta, mu, var))
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
    # per channel of (N, C, H, W) and (N, C, L): statistics over the batch and spatial axes
    OpSpec(
        "batch_norm_nchw", ops.batch_norm, ((3, 2, 2, 3), (2,), (2,)), _np_batch_norm,
        _torch_batch_norm,
    ),
    OpSpec(
        "batch_norm_ncl", ops.batch_norm, ((2, 3, 4), (3,), (3,)), _np_batch_norm,
        _torch_batch_norm,
    ),
    OpSpec(
        "batch_norm_nchw_one_sample", ops.batch_norm, ((1, 2, 2, 2), (2,), (2,)), _np_batch_norm,
        _torch_batch_norm, kwargs={"eps": 0.1},
    ),
    OpSpec(
        "batch_norm_nchw_eval", ops.batch_norm, ((2, 4, 2, 3), (4,), (4,)), _np_batch_norm,
        _torch_batch_norm, args=(_RUNNING_MEAN, _RUNNING_VAR), kwargs={"training": False},
    ),
]  # fmt: skip


# -- pooling, padding, resizing (ops/pool.py) ---------------------------------------------------


def _tuple(value, d):
    return (value,) * d if isinstance(value, int) else tuple(value)


def _np_windows(x, d, kernel_size, stride, padding, fill):
    """The windows of x padded with ``fill``: (..., OH, OW, kh, kw), by sliding_window_view."""
    k, p = _tuple(kernel_size, d), _tuple(padding, d)
    s = k if stride is None else _tuple(stride, d)
    x = np.pad(x, [(0, 0)] * (x.ndim - d) + [(q, q) for q in p], constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(x, k, axis=tuple(range(x.ndim - d, x.ndim)))
    return windows[(Ellipsis, *(slice(None, None, step) for step in s), *(slice(None),) * d)]


def _np_max_pool(d):
    def max_pool(x, kernel_size, stride=None, padding=0):
        windows = _np_windows(x, d, kernel_size, stride, padding, -np.inf)
        return windows.max(axis=tuple(range(-d, 0)))

    return max_pool


def _np_avg_pool(d):
    def avg_pool(x, kernel_size, stride=None, padding=0, count_include_pad=True):
        axes = tuple(range(-d, 0))
        total = _np_windows(x, d, kernel_size, stride, padding, 0.0).sum(axis=axes)
        if count_include_pad:
            return total / np.prod(_tuple(kernel_size, d))
        ones = np.ones(x.shape[-d:])
        return total / _np_windows(ones, d, kernel_size, stride, padding, 0.0).sum(axis=axes)

    return avg_pool


def _np_adaptive_avg_pool(d):
    def adaptive_avg_pool(x, output_size):
        size = x.shape[-d:]
        out = tuple(n if m is None else m for n, m in zip(size, _tuple(output_size, d)))
        a = np.empty(x.shape[:-d] + out)
        for index in np.ndindex(*out):  # torch's bins: floor(i n / m) .. ceil((i + 1) n / m)
            bins = tuple(slice(i * n // m, -(-(i + 1) * n // m))
                         for i, n, m in zip(index, size, out))  # fmt: skip
            a[(Ellipsis, *index)] = x[(Ellipsis, *bins)].mean(axis=tuple(range(-d, 0)))
        return a

    return adaptive_avg_pool


def _np_upsample(x, size=None, scale_factor=None):
    d = x.ndim - 2
    if size is None:
        factors = _tuple(scale_factor, d)
    else:
        factors = [m // n for m, n in zip(_tuple(size, d), x.shape[2:])]
    for axis, f in zip(range(2, x.ndim), factors):
        x = np.repeat(x, f, axis=axis)
    return x


def _np_pad(x, pad, mode="constant", value=0):
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [
        (pad[i], pad[i + 1]) for i in reversed(range(0, len(pad), 2))
    ]
    if mode == "reflect":
        return np.pad(x, pairs, mode="reflect")
    return np.pad(x, pairs, constant_values=value)


def _np_flatten(x, start_dim=1, end_dim=-1):
    end = end_dim % x.ndim
    return x.reshape(x.shape[:start_dim] + (-1,) + x.shape[end + 1 :])


def _dropout2d_shape(shape):
    return tuple(shape[:2]) + (1,) * (len(shape) - 2)


def _np_dropout2d(x, p, seed=None, training=True):
    return x * _dropout_mask(_dropout2d_shape(x.shape), x.dtype, p, seed).astype(x.dtype)


def _torch_dropout2d(x, p, seed=None, training=True):
    mask = _dropout_mask(_dropout2d_shape(x.shape), np.float64, p, seed)
    return x * T.as_tensor(mask)


def _torch_upsample(x, **kwargs):
    return F.interpolate(x, mode="nearest", **kwargs)


SPECS += [
    # max pooling: distinct values, so no window holds a tie (ties: tests/ops/test_pool.py)
    OpSpec(
        "max_pool2d_tiles", ops.max_pool2d, ((2, 3, 4, 6),), _np_max_pool(2), F.max_pool2d,
        args=(2,), distinct=True,
    ),
    OpSpec(
        "max_pool2d_k3_s2_pad1_odd", ops.max_pool2d, ((2, 2, 5, 7),), _np_max_pool(2),
        F.max_pool2d, args=(3, 2, 1), distinct=True,
    ),
    OpSpec(
        "max_pool2d_overlap_nonsquare", ops.max_pool2d, ((1, 2, 5, 6),), _np_max_pool(2),
        F.max_pool2d, args=((3, 2), (1, 2), (1, 0)), distinct=True,
    ),
    OpSpec(
        "max_pool2d_unbatched_stride1", ops.max_pool2d, ((2, 4, 5),), _np_max_pool(2),
        F.max_pool2d, args=(2, 1), distinct=True,
    ),
    OpSpec(
        "max_pool1d_tiles", ops.max_pool1d, ((2, 3, 6),), _np_max_pool(1), F.max_pool1d,
        args=(2,), distinct=True,
    ),
    OpSpec(
        "max_pool1d_k3_s2_pad1", ops.max_pool1d, ((2, 2, 7),), _np_max_pool(1), F.max_pool1d,
        args=(3, 2, 1), distinct=True,
    ),
    # average pooling
    OpSpec(
        "avg_pool2d_tiles", ops.avg_pool2d, ((2, 3, 4, 6),), _np_avg_pool(2), F.avg_pool2d,
        args=(2,),
    ),
    OpSpec(
        "avg_pool2d_k3_s2_pad1_odd", ops.avg_pool2d, ((2, 2, 5, 7),), _np_avg_pool(2),
        F.avg_pool2d, args=(3, 2, 1),
    ),
    OpSpec(
        "avg_pool2d_overlap_exclude_pad", ops.avg_pool2d, ((1, 2, 5, 6),), _np_avg_pool(2),
        F.avg_pool2d, args=((3, 2), (1, 2), (1, 1)), kwargs={"count_include_pad": False},
    ),
    OpSpec(
        "avg_pool1d_k3_s2_pad1", ops.avg_pool1d, ((2, 2, 7),), _np_avg_pool(1), F.avg_pool1d,
        args=(3, 2, 1),
    ),
    OpSpec(
        "avg_pool1d_overlap_exclude_pad", ops.avg_pool1d, ((2, 2, 5),), _np_avg_pool(1),
        F.avg_pool1d, args=(3, 1, 1), kwargs={"count_include_pad": False},
    ),
    # adaptive average pooling: divisible, torch's overlapping bins, None, global
    OpSpec(
        "adaptive_avg_pool2d_divisible", ops.adaptive_avg_pool2d, ((2, 2, 4, 6),),
        _np_adaptive_avg_pool(2), F.adaptive_avg_pool2d, args=((2, 3),),
    ),
    OpSpec(
        "adaptive_avg_pool2d_bins", ops.adaptive_avg_pool2d, ((1, 2, 5, 7),),
        _np_adaptive_avg_pool(2), F.adaptive_avg_pool2d, args=((3, 4),),
    ),
    OpSpec(
        "adaptive_avg_pool2d_keep_height", ops.adaptive_avg_pool2d, ((1, 2, 3, 5),),
        _np_adaptive_avg_pool(2), F.adaptive_avg_pool2d, args=((None, 2),),
    ),
    OpSpec(
        "adaptive_avg_pool2d_global", ops.adaptive_avg_pool2d, ((2, 3, 3, 4),),
        _np_adaptive_avg_pool(2), F.adaptive_avg_pool2d, args=(1,),
    ),
    OpSpec(
        "adaptive_avg_pool1d_bins", ops.adaptive_avg_pool1d, ((2, 2, 7),),
        _np_adaptive_avg_pool(1), F.adaptive_avg_pool1d, args=(3,),
    ),
    # nearest-neighbour upsampling
    OpSpec(
        "upsample_scale2", ops.upsample, ((2, 2, 2, 3),), _np_upsample, _torch_upsample,
        kwargs={"scale_factor": 2},
    ),
    OpSpec(
        "upsample_nonsquare_size", ops.upsample, ((1, 2, 3, 2),), _np_upsample, _torch_upsample,
        kwargs={"size": (6, 6)},
    ),
    OpSpec(
        "upsample_1d", ops.upsample, ((2, 2, 3),), _np_upsample, _torch_upsample,
        kwargs={"scale_factor": 3},
    ),
    # padding (torch's order: last axis first)
    OpSpec(
        "pad_constant", ops.pad, ((2, 2, 3, 4),), _np_pad, F.pad, args=((1, 2, 0, 1),),
        kwargs={"value": 0.5},
    ),
    OpSpec("pad_constant_all_axes", ops.pad, ((3, 4),), _np_pad, F.pad, args=((1, 1, 2, 0),)),
    OpSpec(
        "pad_reflect_2d", ops.pad, ((2, 2, 4, 5),), _np_pad, F.pad, args=((2, 1, 3, 1),),
        kwargs={"mode": "reflect"},
    ),
    OpSpec(
        "pad_reflect_1d", ops.pad, ((2, 3, 5),), _np_pad, F.pad, args=((2, 4),),
        kwargs={"mode": "reflect"},
    ),
    # flatten (a reshape; start_dim 1 by default, as nn.Flatten)
    OpSpec(
        "flatten", ops.flatten, ((2, 3, 2, 2),), _np_flatten, lambda x: T.flatten(x, 1),
    ),
    OpSpec(
        "flatten_middle", ops.flatten, ((2, 3, 2, 2),), _np_flatten, T.flatten,
        args=(1, 2),
    ),
    OpSpec(
        "flatten_all", ops.flatten, ((2, 3, 2),), _np_flatten, T.flatten, kwargs={"start_dim": 0},
    ),
    # dropout of whole feature maps (a fixed seed makes it a deterministic function of x)
    OpSpec(
        "dropout2d", ops.dropout2d, ((3, 4, 2, 3),), _np_dropout2d, _torch_dropout2d,
        kwargs={"p": 0.5, "seed": 0},
    ),
    OpSpec(
        "dropout2d_ncl", ops.dropout2d, ((3, 4, 5),), _np_dropout2d, _torch_dropout2d,
        kwargs={"p": 0.3, "seed": 1},
    ),
    OpSpec(
        "dropout2d_eval", ops.dropout2d, ((2, 3, 2, 2),), lambda x, **kw: x, lambda x, **kw: x,
        kwargs={"p": 0.5, "seed": 0, "training": False},
    ),
    # the Elman RNN over a whole sequence (one node; the references loop over the cell)
    OpSpec(
        "elman_tanh", ops.elman, _ELMAN_SHAPES, _elman_reference(np), _elman_reference(T),
        **_ELMAN_RANGE,
    ),
    OpSpec(
        "elman_relu", ops.elman, _ELMAN_SHAPES, _elman_reference(np), _elman_reference(T),
        kwargs={"nonlinearity": "relu"}, **_ELMAN_RANGE,
    ),
    OpSpec(
        "elman_tanh_mask", ops.elman, _ELMAN_SHAPES, _elman_reference(np), _elman_reference(T),
        kwargs={"mask": _ELMAN_MASK}, **_ELMAN_RANGE,
    ),
    OpSpec(
        "elman_relu_mask", ops.elman, _ELMAN_SHAPES, _elman_reference(np), _elman_reference(T),
        kwargs={"nonlinearity": "relu", "mask": _ELMAN_MASK}, **_ELMAN_RANGE,
    ),
]  # fmt: skip


# -- LSTM and GRU (ops/gated.py): the cells composed step by step ----------------------------


def _gated_reference(lib, gru=False):
    """ops.lstm (or ops.gru) written as a loop over the cell, for NumPy (lib=np) or torch;
    the LSTM's peepholes (3, H) as in Gers & Schmidhuber 2000. lstm returns (y, c_T or all c)."""

    def sigmoid(a):
        return 1 / (1 + lib.exp(-a))

    def column(mask, t):
        return mask[t][:, None] if lib is np else T.as_tensor(mask[t][:, None] * 1.0)

    def lstm(x, h, c, w_ih, w_hh, b_ih=0.0, b_hh=0.0, mask=None, peepholes=None, all_cells=False):
        hidden, outputs, cells = h.shape[1], [], []
        peep = (0.0, 0.0, 0.0) if peepholes is None else peepholes
        for t in range(x.shape[0]):
            a = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            a_i, a_f, a_g, a_o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            i, f = sigmoid(a_i + peep[0] * c), sigmoid(a_f + peep[1] * c)
            c_new = f * c + i * lib.tanh(a_g)
            h_new = sigmoid(a_o + peep[2] * c_new) * lib.tanh(c_new)
            m = 1.0 if mask is None else column(mask, t)
            h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
            outputs.append(m * h_new)
            cells.append(c)
        return lib.stack(outputs), lib.stack(cells) if all_cells else c

    def gru_(x, h, w_ih, w_hh, b_ih=0.0, b_hh=0.0, mask=None):
        hidden, outputs = h.shape[1], []
        for t in range(x.shape[0]):
            u, v = x[t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
            r = sigmoid(u[:, :hidden] + v[:, :hidden])
            z = sigmoid(u[:, hidden : 2 * hidden] + v[:, hidden : 2 * hidden])
            n = lib.tanh(u[:, 2 * hidden :] + r * v[:, 2 * hidden :])
            h_new = (1 - z) * n + z * h
            m = 1.0 if mask is None else column(mask, t)
            h = m * h_new + (1 - m) * h
            outputs.append(m * h_new)
        return lib.stack(outputs)

    return gru_ if gru else lstm


# T = 5, N = 2, in 3, H 4; the peepholes (3, H) last, passed by keyword
_LSTM_SHAPES = ((5, 2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,), (16,))
_LSTM_RANGE = {
    "low": (-2.0, -1.0, -1.0, -0.8, -0.8, -0.5, -0.5, -0.8),
    "high": (2.0, 1.0, 1.0, 0.8, 0.8, 0.5, 0.5, 0.8),
}
_LSTM = (ops.lstm, _LSTM_SHAPES, _gated_reference(np), _gated_reference(T))
_LSTM_PEEP = (ops.lstm, _LSTM_SHAPES + ((3, 4),), _gated_reference(np), _gated_reference(T))
_GRU = (
    ops.gru,
    ((5, 2, 3), (2, 4), (12, 3), (12, 4), (12,), (12,)),
    _gated_reference(np, gru=True),
    _gated_reference(T, gru=True),
)

SPECS += [
    OpSpec("lstm", *_LSTM, pick=0, **_LSTM_RANGE),
    OpSpec("lstm_last_cell", *_LSTM, pick=1, **_LSTM_RANGE),
    OpSpec("lstm_all_cells", *_LSTM, kwargs={"all_cells": True}, pick=1, **_LSTM_RANGE),
    OpSpec("lstm_mask", *_LSTM, kwargs={"mask": _ELMAN_MASK}, pick=0, **_LSTM_RANGE),
    OpSpec(
        "lstm_mask_all_cells", *_LSTM, kwargs={"mask": _ELMAN_MASK, "all_cells": True},
        pick=1, **_LSTM_RANGE,
    ),
    OpSpec("lstm_peepholes", *_LSTM_PEEP, keyword_inputs=("peepholes",), pick=0, **_LSTM_RANGE),
    OpSpec(
        "lstm_peepholes_mask_cells", *_LSTM_PEEP, keyword_inputs=("peepholes",),
        kwargs={"mask": _ELMAN_MASK, "all_cells": True}, pick=1, **_LSTM_RANGE,
    ),
    OpSpec("gru", *_GRU, **_ELMAN_RANGE),
    OpSpec("gru_mask", *_GRU, kwargs={"mask": _ELMAN_MASK}, **_ELMAN_RANGE),
    OpSpec(
        "gru_no_bias", ops.gru, ((5, 2, 3), (2, 4), (12, 3), (12, 4)),
        _gated_reference(np, gru=True), _gated_reference(T, gru=True),
        low=(-2.0, -1.0, -0.8, -0.8), high=(2.0, 1.0, 0.8, 0.8),
    ),
]  # fmt: skip


# -- layer normalisation (ops/layernorm.py) -----------------------------------------------------


def _np_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


def _torch_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    return F.layer_norm(x, shape, weight, bias, eps)


SPECS += [
    OpSpec(
        "layer_norm", ops.layer_norm, ((5, 4), (4,), (4,)), _np_layer_norm, _torch_layer_norm,
        args=(4,), layout="first_then_args",
    ),
    # a sequence (batch, time, features): each position normalised over its own features
    OpSpec(
        "layer_norm_sequence", ops.layer_norm, ((2, 3, 5), (5,), (5,)), _np_layer_norm,
        _torch_layer_norm, args=((5,),), layout="first_then_args",
    ),
    OpSpec(
        "layer_norm_two_axes_eps", ops.layer_norm, ((2, 3, 2, 3), (2, 3), (2, 3)),
        _np_layer_norm, _torch_layer_norm, args=((2, 3),), kwargs={"eps": 0.1},
        layout="first_then_args",
    ),
    OpSpec(
        "layer_norm_no_affine", ops.layer_norm, ((3, 2, 4),), _np_layer_norm, _torch_layer_norm,
        args=((4,),), layout="first_then_args",
    ),
    OpSpec(
        "layer_norm_two_axes_weight_only", ops.layer_norm, ((4, 2, 3), (2, 3)), _np_layer_norm,
        _torch_layer_norm, args=((2, 3),), layout="first_then_args",
    ),
    OpSpec(
        "layer_norm_bias_only", ops.layer_norm, ((2, 3, 4), (4,)), _np_layer_norm,
        _torch_layer_norm, args=((4,), None), layout="first_then_args",
    ),
    OpSpec(
        "layer_norm_vector", ops.layer_norm, ((6,), (6,), (6,)), _np_layer_norm,
        _torch_layer_norm, args=(6,), layout="first_then_args",
    ),
]  # fmt: skip


# -- embedding (ops/embedding.py): the gradient w.r.t. the weight; the indices are constants ----


def _torch_embedding(indices, weight, padding_idx=None):
    return F.embedding(_tt(indices), weight, padding_idx)


_TOKENS = np.array([[1, 4, 1, 0], [6, 1, 4, 4], [2, 2, 2, 5]])  # repeated rows add up
_TOKENS_3D = _C.integers(0, 3, (2, 3, 2))  # a few rows picked many times

SPECS += [
    OpSpec(
        "embedding", ops.embedding, ((7, 3),), lambda i, w: w[i], _torch_embedding,
        args=(_TOKENS,), layout="args_first",
    ),
    OpSpec(
        "embedding_repeated_3d", ops.embedding, ((3, 4),), lambda i, w: w[i], _torch_embedding,
        args=(_TOKENS_3D,), layout="args_first",
    ),
    OpSpec(
        "embedding_vector_indices", ops.embedding, ((5, 2),), lambda i, w: w[i],
        _torch_embedding, args=(np.array([4, 0, 4, 3]),), layout="args_first",
    ),
    # padding_idx: a row no index picks here (with one picked, finite differences see the row
    # that the analytic gradient leaves out by definition; tests/ops/test_embedding.py)
    OpSpec(
        "embedding_padding_idx_unpicked", ops.embedding, ((7, 3),),
        lambda i, w, padding_idx: w[i], _torch_embedding, args=(_TOKENS,),
        kwargs={"padding_idx": 3}, layout="args_first",
    ),
]  # fmt: skip


# -- attention (ops/attention.py): the fused scaled dot-product attention; masks are constants --


def _np_attention(q, k, v, attn_mask=None, is_causal=False):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if is_causal:
        attn_mask = np.tril(np.ones(scores.shape[-2:], bool))
    if attn_mask is not None and attn_mask.dtype == bool:
        attn_mask = np.where(attn_mask, 0.0, -np.inf)
    if attn_mask is not None:
        scores = scores + attn_mask
    top = scores.max(axis=-1, keepdims=True)
    e = np.exp(scores - np.where(np.isinf(top), 0.0, top))
    total = e.sum(axis=-1, keepdims=True)
    return (e / np.where(total == 0, 1.0, total)) @ v  # a fully masked row: zeros, as torch


def _torch_attention(q, k, v, attn_mask=None, is_causal=False):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=_tt(attn_mask), is_causal=is_causal)


_KEEP = _C.uniform(0, 1, (3, 5)) > 0.3  # True: the key takes part
_KEEP[1] = False  # a fully masked query: zeros
_KEEP[0, 0] = _KEEP[2, 4] = True
_ADD = np.where(_C.uniform(0, 1, (2, 3, 5)) > 0.25, _C.uniform(-1, 1, (2, 3, 5)), -np.inf)
_ADD[..., 0] = 0.5  # every query keeps a key

SPECS += [
    OpSpec(
        "scaled_dot_product_attention", ops.scaled_dot_product_attention,
        ((2, 3, 4), (2, 5, 4), (2, 5, 3)), _np_attention, _torch_attention,
    ),
    OpSpec(
        "scaled_dot_product_attention_unbatched", ops.scaled_dot_product_attention,
        ((3, 4), (5, 4), (5, 2)), _np_attention, _torch_attention,
    ),
    OpSpec(
        "scaled_dot_product_attention_heads_causal", ops.scaled_dot_product_attention,
        ((2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 2)), _np_attention, _torch_attention,
        kwargs={"is_causal": True},
    ),
    OpSpec(
        "scaled_dot_product_attention_causal_rectangular", ops.scaled_dot_product_attention,
        ((2, 3, 4), (2, 5, 4), (2, 5, 3)), _np_attention, _torch_attention,
        kwargs={"is_causal": True},
    ),
    OpSpec(
        "scaled_dot_product_attention_bool_mask", ops.scaled_dot_product_attention,
        ((2, 3, 4), (2, 5, 4), (2, 5, 3)), _np_attention, _torch_attention,
        kwargs={"attn_mask": _KEEP},
    ),
    OpSpec(
        "scaled_dot_product_attention_float_mask", ops.scaled_dot_product_attention,
        ((2, 3, 4), (2, 5, 4), (2, 5, 3)), _np_attention, _torch_attention,
        kwargs={"attn_mask": _ADD},
    ),
]  # fmt: skip
