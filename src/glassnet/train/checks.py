"""Input validation at the training boundary: bad data fails loudly before any step.

``fit``, ``evaluate`` (and every other entry point that trains or scores a model on (X, y))
run, in this order: ``as_features`` and ``as_targets`` (conversion: numeric, real, finite,
one row of y per sample), ``first_layer_check`` (X's rank and width against the first layer)
and ``probe_loss`` (the model on two samples, and the targets checked against the loss over
all samples: ``check_targets``).
"""

import numbers

import numpy as np

from ..autodiff import Tensor, no_grad
from ..errors import ShapeError
from ..nn.module import _check_first_layer
from ..optim.optimizer import is_real

__all__ = ["as_features", "as_targets", "check_batch", "check_finite", "check_targets",
           "first_layer_check", "probe_loss", "is_real", "is_integer"]  # fmt: skip

_ROW_SUM_TOLERANCE = 1e-3  # soft targets whose rows sum to 1 up to rounding (float32, mixup)


def is_integer(value):
    """True for an integer (Python or NumPy), False for bools and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _as_real_array(who, name, value):
    """``value`` as a NumPy array of real numbers (or bools); raises for anything else."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        value = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{who}: expected {name} as a rectangular numeric array, got ragged data "
                         f"({error})") from None  # fmt: skip
    if np.issubdtype(value.dtype, np.complexfloating):
        raise TypeError(f"{who}: expected real numbers in {name}, got complex dtype {value.dtype}; "
                        f"pass {name}.real if the imaginary part can go")  # fmt: skip
    if value.dtype == object or not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        raise TypeError(f"{who}: expected numeric {name}, got dtype {value.dtype}")
    return value


def as_features(who, X, dtype, ndim=None):
    """X as a numeric array of ``dtype`` of shape (samples, ...) with at least one sample.

    Args:
        who: the caller's name for the messages. X: array-like or Tensor. dtype: the result's.
        ndim: the exact rank X must have (2 for models on (samples, features)); None takes any
            rank >= 2 (the first layer then decides, see ``first_layer_check``).
    Raises:
        TypeError: X is not real numbers (strings, objects, None, complex).
        ShapeError: X has fewer than 2 dimensions, or not ``ndim``.
        ValueError: X is ragged, empty, or holds NaN or inf.
    """
    X = _as_real_array(who, "X", X)
    if X.ndim < 2:
        raise ShapeError(f"{who}: expected X of shape (samples, features), got {X.shape}; "
                         "reshape a single feature with X.reshape(-1, 1)")  # fmt: skip
    if ndim is not None and X.ndim != ndim:
        raise ShapeError(f"{who}: expected X of shape (samples, features), got a {X.ndim}-D array "
                         f"of shape {X.shape}")  # fmt: skip
    if len(X) == 0:
        raise ValueError(f"{who}: expected at least one sample, got an empty X of shape {X.shape}")
    X = X.astype(dtype, copy=False)
    check_finite(who, "X", X)
    return X


def as_targets(who, y, n, dtype, integer_labels):
    """y as an array with ``n`` rows: int64 labels if ``integer_labels`` and y is 1-D, else
    ``dtype``. Raises TypeError for y that is not real numbers, ShapeError for the wrong
    number of rows, ValueError for NaN, inf or non-integer labels."""
    y = _as_real_array(who, "y", y)
    if y.ndim == 0 or len(y) != n:
        raise ShapeError(f"{who}: expected y with {n} rows (one per sample of X), got shape "
                         f"{y.shape}")  # fmt: skip
    check_finite(who, "y", y)
    if integer_labels and y.ndim >= 2 and np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64, copy=False)  # labels per position (n, d1, ...), or one-hot
    if integer_labels and y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer) and y.dtype != bool:
            fraction = y != np.round(y)
            if fraction.any():
                i = int(np.argmax(fraction))
                raise ValueError(f"{who}: expected integer class labels in y, got non-integer "
                                 f"values (first: {y[i]:g} at index {i})")  # fmt: skip
        return y.astype(np.int64, copy=False)
    return y.astype(dtype, copy=False)


def check_finite(who, name, array):
    """Raise if ``array`` holds NaN or inf, saying how many and where the first one is."""
    if not np.issubdtype(array.dtype, np.floating):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        total = array.sum()
    if np.isfinite(total):  # a NaN or inf anywhere makes the sum NaN or inf: one pass, half
        return  # the time of isfinite (an overflowing sum falls through to the exact check)
    bad = ~np.isfinite(array)
    if bad.any():
        count, first = int(bad.sum()), np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(array[tuple(first)]) else "inf"
        where = f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "")
        raise ValueError(f"{who}: {name} has {count} NaN or inf values (first: {kind} at {where})")


def first_layer_check(who, model, X):
    """Check X against the first layer that declares ``in_features`` (a Dense, a ShortcutMLP),
    naming it: such a layer takes X of shape (samples, in_features) exactly. Models whose
    first layer declares no ``in_features`` (convolutions to come) take X of any rank."""
    _check_first_layer(who, model, X)


def probe_loss(who, model, loss, X, y):
    """Check the targets against the network's output and the loss before any training step.

    The model runs on the first two samples without a graph, which gives the output's shape.
    Integer labels (for cross-entropy) must then lie in 0..classes-1; other targets must have
    the output's shape ((samples,) is accepted for a single output). ``check_targets`` then
    checks the values of all of y against the loss. The loss itself then runs on the probe, so
    that a callable loss fails here too, not after some steps. Returns the output's shape
    without the batch axis.
    """
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(X[:2]))
            expected = (len(X),) + out.shape[1:]
            named = getattr(loss, "name", None)
            if named == "cross_entropy" and out.ndim >= 2 and out.shape[1] == 1:
                raise ValueError(
                    f"{who}: cross_entropy: expected a network with one output unit per class (at "
                    f"least 2), got 1 output unit, whose softmax is always 1; use "
                    f"loss='binary_cross_entropy' for two classes"
                )
            per_position = out.ndim >= 3 and y.shape == (len(X),) + out.shape[2:]
            if named == "cross_entropy" and per_position:  # e.g. one label per pixel
                if not np.issubdtype(y.dtype, np.integer):
                    raise TypeError(f"{who}: cross_entropy: expected integer labels per position "
                                    f"of shape {y.shape}, got dtype {y.dtype}; pass "
                                    "y.astype(int)")  # fmt: skip
                _check_labels(who, y.reshape(-1), out.shape[1])
            elif named == "cross_entropy" and y.ndim == 1:
                _check_labels(who, y, out.shape[-1])
            elif named is not None and y.shape != expected:
                single = out.ndim == 2 and out.shape[1] == 1 and y.shape == expected[:1]
                if not single:
                    raise ShapeError(
                        f"{who}: {named}: expected target of shape {expected} (the network's "
                        f"output for {len(X)} samples), got {y.shape}{_shape_hint(named, y)}"
                    )
            check_targets(who, named, y)
            value = loss(out, y[:2])
            if not isinstance(value, Tensor) or value.size != 1:
                got = f"shape {value.shape}" if isinstance(value, Tensor) else type(value).__name__
                raise TypeError(f"{who}: expected the loss to return a scalar Tensor (built from "
                                f"the output with glassnet ops, so that it can be differentiated), "
                                f"got {got} from {loss!r}")  # fmt: skip
    finally:
        model.train(was_training)
    return out.shape[1:]


def check_batch(who, loss, y, output_shape):
    """The value checks of ``probe_loss`` alone, for a batch whose shapes passed it already:
    label range for integer labels, ``check_targets`` for the rest."""
    named = getattr(loss, "name", None)
    per_position = len(output_shape) >= 2 and y.shape[1:] == tuple(output_shape[1:])
    if named == "cross_entropy" and per_position:
        _check_labels(who, y.reshape(-1), output_shape[0])  # labels per position
    elif named == "cross_entropy" and y.ndim == 1:
        _check_labels(who, y, output_shape[-1])
    check_targets(who, named, y)


def check_targets(who, loss_name, y):
    """Check the values of the targets ``y`` against the loss called ``loss_name``.

    "binary_cross_entropy" takes probabilities of the positive class, so every target must lie
    in [0, 1] (labels 0 and 1, or soft targets). "cross_entropy" with targets of the output's
    shape (one-hot or soft) takes a distribution over the classes per sample: every entry
    >= 0 and every row summing to 1. Other losses (and None: a callable) take any real values.

    Raises:
        ValueError: naming the loss, what it expects, the first offending target and where it
            is, with a hint (e.g. map labels {-1, 1} to {0, 1} with (y + 1) / 2).
    """
    if y.size == 0:
        return
    if loss_name == "binary_cross_entropy":
        bad = (y < 0) | (y > 1)
        if bad.any():
            first = np.argwhere(bad)[0]
            raise ValueError(
                f"{who}: binary_cross_entropy: expected targets in [0, 1] (the probability of the "
                f"positive class: labels 0 and 1, or soft targets), got {y[tuple(first)]:g} at "
                f"{_where(first)}{_binary_hint(y)}"
            )
    elif loss_name == "cross_entropy" and y.ndim >= 2 and np.issubdtype(y.dtype, np.floating):
        negative = y < 0
        if negative.any():
            first = np.argwhere(negative)[0]
            raise ValueError(
                f"{who}: cross_entropy: expected one-hot or soft targets >= 0 (each row a "
                f"distribution over the {y.shape[-1]} classes), got {y[tuple(first)]:g} at "
                f"{_where(first)}"
            )
        sums = y.sum(axis=1, dtype=np.float64)  # the class axis
        off = np.abs(sums - 1.0) > _ROW_SUM_TOLERANCE
        if off.any():
            first = np.argwhere(off)[0]
            total = sums[tuple(first)]
            hint = "every sample needs a class" if total == 0 else (
                "for several classes per sample (multi-label), use loss='binary_cross_entropy' "
                "with one sigmoid output per class"
            )
            raise ValueError(
                f"{who}: cross_entropy: expected one-hot or soft targets whose rows sum to 1, got "
                f"a row that sums to {total:g} at {_where(first, 'row')}; {hint}"
            )


def _where(index, vector="index"):
    """'index i' (or ``vector`` i) in a vector, 'row r, column c' (and further indices) in an
    array."""
    index = [int(i) for i in index]
    if len(index) == 1:
        return f"{vector} {index[0]}"
    rest = "".join(f", index {i}" for i in index[2:])
    return f"row {index[0]}, column {index[1]}{rest}"


def _binary_hint(y):
    """How to turn the given binary-cross-entropy targets into ones in [0, 1]."""
    values = np.unique(y)
    if len(values) == 2 and values[0] == -1 and values[1] == 1:
        return "; map labels {-1, 1} to {0, 1} with (y + 1) / 2"
    if len(values) == 2:
        low, high = values
        return f"; map the two labels {{{low:g}, {high:g}}} to {{0, 1}}, e.g. with y == {high:g}"
    if len(values) > 2 and np.all(values == np.round(values)) and values.min() >= 0:
        return (f"; for {len(values)} class labels use loss='cross_entropy' with one output unit "
                "per class")  # fmt: skip
    return "; scale the targets to [0, 1]"


def _shape_hint(loss_name, y):
    """What a target-shape mismatch usually means, as the end of the message."""
    if loss_name == "cross_entropy" and y.ndim == 2 and y.shape[1] == 1:
        return "; pass class labels as a 1-D array of shape (samples,): y.ravel()"
    if y.ndim == 1 and np.all(y == np.round(y)):
        return ("; y looks like class labels: use loss='cross_entropy' for them, or "
                "glassnet.data.one_hot(y) as targets")  # fmt: skip
    return ""


def _check_labels(who, y, n_classes):
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{who}: labels must be in 0..{n_classes - 1} for {n_classes} classes, got "
            f"{int(y[i])} at index {i} (the output layer has {n_classes} units)"
        )
