"""Preprocessing of plain arrays: feature scaling, one-hot coding and random splits.

Scalers learn their statistics on the training set only (``fit``) and apply them to any set
(``transform``), so that no information from the test set leaks into training. Floating
input keeps its dtype (float32 stays float32); other input becomes the backend's default
dtype.
"""

import numbers

import numpy as np

from ..backend import as_rng, default_dtype
from ..errors import NotFittedError, ShapeError

__all__ = ["MinMaxScaler", "Standardizer", "from_one_hot", "one_hot", "train_test_split",
           "train_val_test_split"]  # fmt: skip


def _is_real(value):
    """True for a real number, Python or NumPy (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _as_float(who, X):
    X = np.asarray(X)
    if X.ndim == 0:
        raise ShapeError(f"{who}: expected an array of shape (n, ...), got a scalar")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{who}: expected real numbers, got dtype {X.dtype}")
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(default_dtype())


def _check_finite(who, X):
    finite = np.isfinite(X)
    if not finite.all():
        bad = np.argwhere(~finite)
        where = ", ".join(str(int(i)) for i in bad[0])
        raise ValueError(
            f"{who}: X has {len(bad)} NaN or infinite values (first at index ({where}))"
        )


class _Scaler:
    """Shared fit/transform plumbing: subclasses set ``_offset`` and ``_scale`` in ``fit``."""

    _offset = None
    _scale = None

    def _check_fitted(self, who, X):
        if self._offset is None:
            raise NotFittedError(f"{who}: expected a fitted {type(self).__name__}, got an unfitted "
                               "one; call fit(X_train) first")  # fmt: skip
        X = _as_float(who, X)
        if X.shape[1:] != self._offset.shape:
            raise ShapeError(f"{who}: expected rows of shape {self._offset.shape} as in fit, "
                             f"got {X.shape[1:]}")  # fmt: skip
        return X

    def transform(self, X):
        """Scale ``X`` with the statistics learned in ``fit``: (X - offset) * scale."""
        X = self._check_fitted(f"{type(self).__name__}.transform", X)
        dtype = X.dtype.type
        return (X - self._offset.astype(dtype)) * self._scale.astype(dtype)

    def inverse_transform(self, X):
        """Undo ``transform``: X / scale + offset."""
        X = self._check_fitted(f"{type(self).__name__}.inverse_transform", X)
        dtype = X.dtype.type
        return X / self._scale.astype(dtype) + self._offset.astype(dtype)

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)


class Standardizer(_Scaler):
    """Scales every feature to zero mean and unit variance: x' = (x - mean) / std.

    ``mean`` and ``std`` (the population standard deviation) are computed per feature over
    the rows of the training set in float64. A constant feature gets std 1, so it maps to 0
    instead of dividing by zero.

    Attributes:
        mean_: float64 array of shape ``X.shape[1:]``, set by ``fit``.
        std_: float64 array of the same shape, set by ``fit``.

    Reference:
        Y. LeCun, L. Bottou, G. B. Orr, K.-R. Mueller, Efficient BackProp, in Neural
        Networks: Tricks of the Trade (Springer, 1998), section 4.3 (normalizing the inputs).

    Examples:
        >>> Standardizer().fit_transform(np.array([[1.0], [3.0]], dtype=np.float32)).ravel()
        array([-1.,  1.], dtype=float32)
    """

    mean_ = None
    std_ = None

    def fit(self, X):
        """Learn the per-feature mean and std of ``X`` (shape (n, ...)); returns ``self``."""
        X = _as_float("Standardizer.fit", X)
        _check_finite("Standardizer.fit", X)
        if len(X) == 0:
            raise ValueError("Standardizer.fit: expected at least one row, got 0")
        mean = np.array(X.mean(axis=0, dtype=np.float64))
        std = np.array(X.std(axis=0, dtype=np.float64))
        constant = np.ptp(X, axis=0) == 0
        # a constant feature: its exact value and std 1, so it maps to 0 and not to rounding noise
        mean[constant], std[constant] = np.asarray(X[0])[constant], 1.0
        self.mean_, self.std_ = mean, std
        self._offset, self._scale = mean, 1.0 / std
        return self

    def __repr__(self):
        return (
            "Standardizer()" if self.mean_ is None else f"Standardizer(fitted, {self.mean_.shape})"
        )


class MinMaxScaler(_Scaler):
    """Maps every feature linearly onto ``feature_range``: x' = a + (x - min) (b - a) / (max - min).

    The per-feature ``min`` and ``max`` come from the training set; a constant feature maps to
    ``a``. Bipolar inputs, ``feature_range=(-1, 1)``, keep a network's inputs centred.

    Args:
        feature_range: the target interval ``(a, b)`` with a < b.

    Attributes:
        data_min_: float64 array of shape ``X.shape[1:]``, set by ``fit``.
        data_max_: float64 array of the same shape, set by ``fit``.

    Raises:
        ValueError: ``feature_range`` is not a pair a < b.

    Reference:
        Y. LeCun, L. Bottou, G. B. Orr, K.-R. Mueller, Efficient BackProp (1998), section 4.3.
    """

    data_min_ = None
    data_max_ = None

    def __init__(self, feature_range=(-1, 1)):
        try:
            low, high = feature_range
        except (TypeError, ValueError):
            low = high = None
        if not (_is_real(low) and _is_real(high) and -np.inf < low < high < np.inf):
            raise ValueError(f"MinMaxScaler: expected feature_range (a, b) with a < b, "
                             f"got {feature_range!r}")  # fmt: skip
        self.feature_range = (float(low), float(high))

    def fit(self, X):
        """Learn the per-feature min and max of ``X`` (shape (n, ...)); returns ``self``."""
        X = _as_float("MinMaxScaler.fit", X)
        _check_finite("MinMaxScaler.fit", X)
        if len(X) == 0:
            raise ValueError("MinMaxScaler.fit: expected at least one row, got 0")
        low, high = self.feature_range
        data_min = np.array(X.min(axis=0), dtype=np.float64)
        data_max = np.array(X.max(axis=0), dtype=np.float64)
        span = np.where(data_max > data_min, data_max - data_min, 1.0)
        self.data_min_, self.data_max_ = data_min, data_max
        self._scale = (high - low) / span
        # so that (x - offset) * scale = a + (x - min) * scale
        self._offset = data_min - low / self._scale
        return self

    def __repr__(self):
        return f"MinMaxScaler(feature_range={self.feature_range})"


def one_hot(labels, n_classes=None):
    """One-hot coding: row i has a 1 in column ``labels[i]`` and 0 elsewhere.

    Args:
        labels: integer class labels of shape (n,); whole-valued floats are accepted.
        n_classes: number of columns C; None takes ``max(labels) + 1``.

    Returns:
        float32 array of shape (n, C).

    Raises:
        ShapeError: ``labels`` is not one-dimensional.
        TypeError: ``labels`` are not numbers.
        ValueError: a label is negative, not whole, or >= ``n_classes``.

    Examples:
        >>> one_hot([0, 2]).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ShapeError(f"one_hot: expected labels of shape (n,), got {labels.shape}; "
                         "pass labels.ravel() for a column of labels")  # fmt: skip
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.number):
        raise TypeError(f"one_hot: expected integer labels, got dtype {labels.dtype}")
    if np.issubdtype(labels.dtype, np.floating):
        whole = np.isfinite(labels)
        whole[whole] = labels[whole] == np.round(labels[whole])
        if not whole.all():
            index = int(np.argmin(whole))
            raise ValueError(
                f"one_hot: labels must be integers, got {labels[index]} at index {index}"
            )
    labels = labels.astype(np.int64)
    if len(labels) and labels.min() < 0:
        index = int(np.argmin(labels))
        raise ValueError(f"one_hot: labels must be >= 0, got {labels[index]} at index {index}")
    if n_classes is None:
        if not len(labels):
            raise ValueError("one_hot: cannot infer n_classes from no labels; pass n_classes")
        n_classes = int(labels.max()) + 1
    elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 1:  # fmt: skip
        raise ValueError(f"one_hot: expected n_classes to be a positive integer, got {n_classes!r}")
    if len(labels) and labels.max() >= n_classes:
        index = int(np.argmax(labels))
        raise ValueError(f"one_hot: labels must be in 0..{n_classes - 1} for {n_classes} classes, "
                         f"got {labels[index]} at index {index}")  # fmt: skip
    Y = np.zeros((len(labels), n_classes), dtype=np.float32)
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def from_one_hot(Y):
    """Class labels from one-hot rows (or scores): the column of each row's maximum.

    Args:
        Y: array of shape (n, C).

    Returns:
        int64 array of shape (n,).

    Raises:
        ShapeError: ``Y`` is not two-dimensional.
    """
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ShapeError(f"from_one_hot: expected Y of shape (n, classes), got {Y.shape}")
    return np.argmax(Y, axis=1).astype(np.int64)


def _split_sizes(who, n, fractions):
    for name, fraction in fractions.items():
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) \
                or not 0 < fraction < 1:  # fmt: skip
            raise ValueError(f"{who}: expected {name} in (0, 1), got {fraction!r}")
    sizes = [round(n * f) for f in fractions.values()]
    n_train = n - sum(sizes)
    if n_train < 1 or min(sizes) < 1:
        parts = ", ".join(f"{name}={f}" for name, f in fractions.items())
        raise ValueError(f"{who}: expected every part to get at least one of the {n} rows, "
                         f"got train {n_train} and {sizes} from {parts}")  # fmt: skip
    return [n_train, *sizes]


def _split(who, X, y, fractions, seed):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ShapeError(f"{who}: expected X and y with the same number of rows, "
                         f"got shapes {X.shape} and {y.shape}")  # fmt: skip
    sizes = _split_sizes(who, len(X), fractions)
    order = as_rng(seed).permutation(len(X))
    parts = np.split(order, np.cumsum(sizes)[:-1])
    return tuple(X[p] for p in parts) + tuple(y[p] for p in parts)


def train_test_split(X, y, test_fraction=0.2, seed=None):
    """Shuffle the rows and split them into a training and a test set.

    The test set gets ``round(n * test_fraction)`` rows; dtypes are kept.

    Args:
        X: inputs of shape (n, ...).
        y: targets of shape (n, ...).
        test_fraction: share of the rows for the test set, in (0, 1).
        seed: int, ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(X_train, X_test, y_train, y_test)`` (scikit-learn's order).

    Raises:
        ShapeError: X and y have different numbers of rows.
        ValueError: ``test_fraction`` is outside (0, 1) or leaves a part empty.
    """
    return _split("train_test_split", X, y, {"test_fraction": test_fraction}, seed)


def train_val_test_split(X, y, val_fraction, test_fraction, seed=None):
    """Shuffle the rows and split them into training, validation and test sets.

    The validation set gets ``round(n * val_fraction)`` rows, the test set
    ``round(n * test_fraction)`` and the training set the rest; dtypes are kept.

    Args:
        X: inputs of shape (n, ...).
        y: targets of shape (n, ...).
        val_fraction: share of the rows for the validation set, in (0, 1).
        test_fraction: share of the rows for the test set, in (0, 1).
        seed: int, ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(X_train, X_val, X_test, y_train, y_val, y_test)``.

    Raises:
        ShapeError: X and y have different numbers of rows.
        ValueError: a fraction is outside (0, 1), or the fractions leave a part empty.
    """
    fractions = {"val_fraction": val_fraction, "test_fraction": test_fraction}
    return _split("train_val_test_split", X, y, fractions, seed)
