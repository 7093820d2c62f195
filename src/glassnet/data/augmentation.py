"""Data augmentation for vectors: additive Gaussian noise and mixup.

Each augmenter is a callable ``augment(X, y, rng) -> (X, y)`` on one batch of plain arrays;
``glassnet.fit(..., augment=...)`` applies it to every training batch (never to validation
data), so each epoch sees fresh variations.
"""

import math
import numbers

import numpy as np

from ..backend import normal, xp

__all__ = ["AdditiveNoise", "Mixup"]


def _module_of(X):
    """NumPy for a host batch (what ``fit`` hands over: data stays in host memory), else the
    backend's module, so that the noise is drawn where the batch lives."""
    return np if isinstance(X, np.ndarray) else xp


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class AdditiveNoise:
    """x := x + N(0, std^2) per feature; the targets are unchanged.

    Reference: Sietsma & Dow, "Creating artificial neural networks that generalize", Neural
    Networks 4(1), 1991.
    """

    def __init__(self, std):
        if not (_is_real(std) and 0 <= std < math.inf):
            raise ValueError(f"AdditiveNoise: expected std >= 0, got {std!r}")
        self.std = float(std)

    def __call__(self, X, y, rng):
        if X.dtype.kind != "f":
            raise TypeError(f"AdditiveNoise: expected a floating X batch, got dtype {X.dtype} "
                            "(the noise would be rounded away)")  # fmt: skip
        if _module_of(X) is np:
            return X + rng.normal(0.0, self.std, X.shape).astype(X.dtype), y
        return X + normal(rng, X.shape, X.dtype, self.std), y  # on the device, as X is

    def __repr__(self):
        return f"AdditiveNoise(std={self.std})"


class Mixup:
    """Mixup: convex combinations of pairs of samples and of their targets,

        lambda ~ Beta(alpha, alpha)
        x = lambda x_i + (1 - lambda) x_j,  y = lambda y_i + (1 - lambda) y_j

    with j a random permutation of the batch (one lambda per sample). Integer class labels are
    turned into one-hot targets first (``n_classes`` needed), so train with a loss that takes
    soft targets (e.g. 'cross_entropy').

    Reference: Zhang, Cisse, Dauphin & Lopez-Paz, "mixup: Beyond empirical risk minimization",
    ICLR 2018.
    """

    def __init__(self, alpha=0.2, n_classes=None):
        if not (_is_real(alpha) and 0 < alpha < math.inf):
            raise ValueError(f"Mixup: expected alpha > 0, got {alpha!r}")
        if n_classes is not None and not (_is_integer(n_classes) and n_classes >= 1):
            raise ValueError(f"Mixup: expected n_classes to be a positive integer or None, got "
                             f"{n_classes!r}")  # fmt: skip
        self.alpha = float(alpha)
        self.n_classes = None if n_classes is None else int(n_classes)

    def __call__(self, X, y, rng):
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            if self.n_classes is None:
                raise ValueError("Mixup: expected n_classes for integer class labels, got None")
            if len(y) and (y.min() < 0 or y.max() >= self.n_classes):
                raise ValueError(f"Mixup: expected labels in 0..{self.n_classes - 1} for "
                                 f"n_classes={self.n_classes}, got labels from {int(y.min())} to "
                                 f"{int(y.max())}")  # fmt: skip
            y = _module_of(y).eye(self.n_classes, dtype=X.dtype)[y]
        # one index and one lambda per sample: drawn on the host, moved to where X lives
        place = _module_of(X).asarray
        partner = place(rng.permutation(len(X)))
        lam = place(rng.beta(self.alpha, self.alpha, size=len(X)).astype(X.dtype))
        lam_x = lam.reshape((-1,) + (1,) * (X.ndim - 1))
        lam_y = lam.reshape((-1,) + (1,) * (y.ndim - 1)).astype(y.dtype) if y.ndim else lam
        return lam_x * X + (1 - lam_x) * X[partner], lam_y * y + (1 - lam_y) * y[partner]

    def __repr__(self):
        return f"Mixup(alpha={self.alpha}, n_classes={self.n_classes})"
