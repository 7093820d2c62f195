"""Rosenblatt's perceptron: a linear threshold unit and its error-correcting learning rule.

Also home of the small checks that the single-unit models of this package share (binary
labels, hyperparameters, "fitted yet?").
"""

import numbers
import warnings

import numpy as np

from ..backend import as_rng
from ..errors import ConvergenceWarning, NotFittedError, ShapeError
from ..train.checks import as_features, as_targets

__all__ = ["Perceptron"]


class Perceptron:
    """A linear threshold unit trained by Rosenblatt's perceptron learning rule.

    The unit (deck 000, eq. 1)::

        g(x; w, theta) = 1  if  w . x > theta,  else 0

    The rule visits the samples one at a time and corrects only the misclassified ones::

        missed a 1 (g = 0, y = 1):   w := w + eta x,   theta := theta - eta
        missed a 0 (g = 1, y = 0):   w := w - eta x,   theta := theta + eta

    Training starts from w = 0, theta = 0 and repeats epochs (passes over all samples) until
    an epoch makes no error or ``max_epochs`` have run. On linearly separable data the rule
    stops after finitely many corrections (the perceptron convergence theorem); on data that
    is not (XOR) it never would, so it stops at ``max_epochs`` with a ConvergenceWarning.

    Sample order: with ``seed=None`` every epoch visits the samples in the order given, as the
    deck's "for k = 1, ..., l" does, so a run is reproducible without a seed; with a seed (int
    or Generator) the order is reshuffled each epoch with it.

    Args:
        eta: learning rate (> 0). With w and theta starting at 0 it only scales the solution,
            so the sequence of mistakes does not depend on it.
        max_epochs: most passes over the data (positive int).
        seed: None for the given order, or an int / numpy.random.Generator to shuffle.

    Attributes:
        w_: weights, shape (features,).  theta_: the threshold (a float).
        n_epochs_: epochs run.  errors_: misclassified samples in each epoch (n_epochs_ ints;
            the last is 0 when it converged).

    Reference:
        F. Rosenblatt, The perceptron: a probabilistic model for information storage and
        organization in the brain, Psychological Review 65(6), 386-408 (1958); the perceptron
        learning algorithm as in lecture deck 000 (JKU Linz, Unit 5).

    Example:
        >>> from glassnet.data import and_gate
        >>> X, y = and_gate()
        >>> Perceptron().fit(X, y).predict(X).tolist()
        [0, 0, 0, 1]
    """

    def __init__(self, eta=1.0, max_epochs=100, seed=None):
        self.eta = _positive_real("Perceptron", "eta", eta)
        self.max_epochs = _positive_int("Perceptron", "max_epochs", max_epochs)
        self.seed = seed

    def fit(self, X, y):
        """Learn w_ and theta_ from X (samples, features) and labels y (samples,) in {0, 1}.

        Returns:
            self.
        Raises:
            ValueError: labels other than 0 and 1, NaN or inf in X or y.
            ShapeError: X not 2-D, y not one label per row of X.
            TypeError: non-numeric X or y.
        """
        X = as_features("Perceptron.fit", X, np.float64, ndim=2)
        y = _binary_labels("Perceptron.fit", y, len(X)).astype(np.int64)
        rng = None if self.seed is None else as_rng(self.seed)
        eta = self.eta
        w, theta = np.zeros(X.shape[1]), 0.0
        self.errors_ = []
        for _ in range(self.max_epochs):
            order = range(len(X)) if rng is None else rng.permutation(len(X))
            errors = 0
            # One sample at a time on purpose: each correction changes the next prediction,
            # so this loop is the algorithm itself, not a vectorisable sum (cf. ADALINE's batch).
            for k in order:
                x = X[k]
                g = 1 if np.dot(w, x) > theta else 0
                if g != y[k]:
                    sign = y[k] - g  # +1: missed a 1, -1: missed a 0
                    w += (sign * eta) * x
                    theta -= sign * eta
                    errors += 1
            self.errors_.append(errors)
            if errors == 0:
                break
        self.w_, self.theta_, self.n_epochs_ = w, float(theta), len(self.errors_)
        if self.errors_[-1]:
            warnings.warn(
                f"Perceptron: did not converge in {_count(self.max_epochs, 'epoch')} "
                f"({self.errors_[-1]} of {len(X)} samples still misclassified in the last one); "
                "the data may not be linearly separable",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def predict(self, X):
        """Class labels g(x; w_, theta_) in {0, 1} (int64), one per row of X."""
        _check_fitted(self, "w_")
        X = _features("Perceptron.predict", X, len(self.w_))
        return (X @ self.w_ > self.theta_).astype(np.int64)

    def __repr__(self):
        return f"Perceptron(eta={self.eta}, max_epochs={self.max_epochs}, seed={self.seed!r})"


# -- checks shared by the single-unit models -----------------------------------------------


def _binary_labels(who, y, n):
    """y as a float64 vector of n labels, each 0 or 1."""
    y = as_targets(who, y, n, np.float64, integer_labels=False)
    if y.ndim != 1:
        raise ShapeError(f"{who}: expected y of shape ({n},) (one label per sample), got {y.shape}")
    bad = (y != 0) & (y != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{who}: expected labels 0 or 1, got {y[i]:g} at index {i}; map the two "
                         "classes to 0 and 1 first (e.g. y = (labels == positive))")  # fmt: skip
    return y


def _features(who, X, n_features):
    """X as a float64 (samples, n_features) array, checked like the training data."""
    X = as_features(who, X, np.float64, ndim=2)
    if X.shape[1] != n_features:
        raise ShapeError(
            f"{who}: expected X with {n_features} features (as in fit), got {X.shape[1]} "
            f"(shape {X.shape})"
        )
    return X


def _check_fitted(model, attribute):
    """Raise if ``model`` has not been fitted (its ``attribute`` is missing)."""
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise NotFittedError(f"{name}: expected a fitted model, got an unfitted one; call "
                             "fit(X, y) first")  # fmt: skip


def _count(n, noun):
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _positive_real(who, name, value):
    if not (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and value > 0
    ):
        raise ValueError(f"{who}: expected {name} > 0, got {value!r}")
    return float(value)


def _positive_int(who, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
        or_none = " or None" if allow_none else ""
        raise ValueError(f"{who}: expected {name} to be a positive int{or_none}, got {value!r}")
    return int(value)
