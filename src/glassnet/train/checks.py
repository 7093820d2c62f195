"""Input validation at the training boundary: bad data fails loudly before any step."""

import numpy as np

from ..autodiff import Tensor, no_grad
from ..errors import ShapeError

__all__ = ["as_features", "as_targets", "check_finite", "first_layer_check", "probe_loss"]


def as_features(who, X, dtype):
    """X as a 2-D numeric array of ``dtype`` with at least one sample."""
    if isinstance(X, Tensor):
        X = X.data
    try:
        X = np.asarray(X)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{who}: expected X as a rectangular numeric array, got ragged data ({error})") from None
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{who}: expected numeric X, got dtype {X.dtype}")
    if X.ndim < 2:
        raise ShapeError(f"{who}: expected X of shape (samples, features), got {X.shape}; "
                         "reshape a single feature with X.reshape(-1, 1)")  # fmt: skip
    if len(X) == 0:
        raise ValueError(f"{who}: expected at least one sample, got an empty X of shape {X.shape}")
    X = X.astype(dtype, copy=False)
    check_finite(who, "X", X)
    return X


def as_targets(who, y, n, dtype, integer_labels):
    """y as an array with ``n`` rows: int64 labels if ``integer_labels`` and y is 1-D, else ``dtype``."""
    if isinstance(y, Tensor):
        y = y.data
    try:
        y = np.asarray(y)
    except ValueError as error:
        raise ValueError(f"{who}: expected y as a rectangular numeric array, got ragged data ({error})") from None
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"{who}: expected numeric y, got dtype {y.dtype}")
    if y.ndim == 0 or len(y) != n:
        raise ShapeError(f"{who}: expected y with {n} rows (one per sample of X), got shape {y.shape}")
    check_finite(who, "y", y)
    if integer_labels and y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            if np.any(y != np.round(y)):
                raise ValueError(f"{who}: expected integer class labels in y, got non-integer values")
        return y.astype(np.int64, copy=False)
    return y.astype(dtype, copy=False)


def check_finite(who, name, array):
    """Raise if ``array`` holds NaN or inf, saying how many and where the first one is."""
    if not np.issubdtype(array.dtype, np.floating):
        return
    bad = ~np.isfinite(array)
    if bad.any():
        count, first = int(bad.sum()), np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(array[tuple(first)]) else "inf"
        where = f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "")
        raise ValueError(f"{who}: {name} has {count} NaN or inf values (first: {kind} at {where})")


def first_layer_check(who, model, X):
    """Check X against the first layer that declares ``in_features``, naming it."""
    for _, module in model.named_modules():
        expected = getattr(module, "in_features", None)
        if expected is not None:
            if X.shape[-1] != expected:
                raise ShapeError(
                    f"{who}: {module!r} (the first layer) expects {expected} features, "
                    f"got X with {X.shape[-1]} (shape {X.shape})"
                )
            return


def probe_loss(who, model, loss, X, y):
    """Check the targets against the network's output before any training step.

    The model runs on the first two samples without a graph, which gives the output's shape.
    Integer labels (for cross-entropy) must then lie in 0..classes-1; other targets must have
    the output's shape ((samples,) is accepted for a single output). The loss itself then runs
    on the probe, so that a callable loss fails here too, not after some steps.
    """
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(X[:2]))
            expected = (len(X),) + out.shape[1:]
            named = getattr(loss, "name", None)
            if named == "cross_entropy" and y.ndim == 1:
                _check_labels(who, y, out.shape[-1])
            elif named is not None and y.shape != expected:
                single = out.ndim == 2 and out.shape[1] == 1 and y.shape == expected[:1]
                if not single:
                    raise ShapeError(
                        f"{who}: {named}: expected target of shape {expected} (the network's "
                        f"output for {len(X)} samples), got {y.shape}"
                    )
            loss(out, y[:2])
    finally:
        model.train(was_training)


def _check_labels(who, y, n_classes):
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{who}: labels must be in 0..{n_classes - 1} for {n_classes} classes, got "
            f"{int(y[i])} at index {i} (the output layer has {n_classes} units)"
        )
