"""Single linear neurons: ADALINE (the delta rule), logistic regression, and least squares in
closed form.

ADALINE and logistic regression are one ``Dense(d, 1)`` layer trained by ``glassnet.fit``, so
their updates are the engine's own backward pass and SGD step; ``LinearRegression`` solves the
same quadratic problem as ADALINE in one step, with ``np.linalg.lstsq``.
"""

import numpy as np

from ..autodiff import Tensor, no_grad
from ..errors import ShapeError
from ..nn import Dense
from ..optim import SGD
from ..train import fit
from ..train.checks import as_features, as_targets
from .perceptron import _binary_labels, _check_fitted, _features, _positive_int, _positive_real

__all__ = ["Adaline", "LinearRegression", "LogisticRegression"]


class _SingleNeuron:
    """One Dense(d, 1) unit trained by ``glassnet.fit`` with plain SGD (the shared part of
    ADALINE and logistic regression)."""

    _activation, _loss = None, None

    def _check_schedule(self, max_epochs, batch_size, seed):
        who = type(self).__name__
        self.max_epochs = _positive_int(who, "max_epochs", max_epochs)
        self.batch_size = _positive_int(who, "batch_size", batch_size, allow_none=True)
        self.seed = seed

    def _train(self, X, y, lr):
        """Fit a fresh neuron (w = 0, b = 0) to float64 X (n, d) and y (n,); sets the attributes."""
        self.neuron_ = Dense(X.shape[1], 1, self._activation, init="zeros", dtype=np.float64)
        optimizer = SGD(self.neuron_.parameters(), lr=lr)
        history = fit(self.neuron_, X, y, loss=self._loss, optimizer=optimizer,
                      epochs=self.max_epochs, batch_size=self.batch_size,
                      shuffle=self.seed is not None, seed=self.seed, verbose=0)  # fmt: skip
        self.loss_curve_ = history.history["loss"]
        self.w_, self.b_ = self.neuron_.W.data[0].copy(), float(self.neuron_.b.data[0])
        return self

    def _output(self, X):
        """The neuron's activation a for each row of X, shape (samples,)."""
        _check_fitted(self, "neuron_")
        X = _features(f"{type(self).__name__}.predict", X, self.neuron_.in_features)
        with no_grad():
            return self.neuron_(Tensor(X)).data[:, 0]


class Adaline(_SingleNeuron):
    """ADALINE: one linear neuron a = w . x + b trained by the Widrow-Hoff delta rule (LMS).

    It minimises the halved sum of squared errors by gradient descent::

        E = 1/2 sum_i (y_i - a_i)^2,    a_i = w . x_i + b
        w := w + eta sum_i (y_i - a_i) x_i,    b := b + eta sum_i (y_i - a_i)

    the sum running over a batch: all samples (``batch_size=None``, the batch delta rule),
    one sample (``batch_size=1``, online LMS, Widrow and Hoff's original) or mini-batches.
    It is deck 000's training algorithm for a linear unit (delta = a - y), run by
    ``glassnet.fit`` on a ``Dense(d, 1)`` layer with loss 'sse' and ``SGD(lr=eta)``.
    Training starts from w = 0, b = 0. With a small enough eta (batch: eta < 2 /
    lambda_max of [X, 1]^T [X, 1]) the batch rule converges to the least-squares solution
    that ``LinearRegression`` computes in closed form. With too large an eta the error grows
    without bound; ``fit`` then stops with a RuntimeWarning and keeps the last finite weights.

    Sample order: with ``seed=None`` the samples are visited in the given order every epoch;
    with a seed (int or Generator) they are reshuffled each epoch with it (deck 000 advises
    a random order for online learning).

    Args:
        eta: learning rate (> 0).  max_epochs: passes over the data (positive int).
        batch_size: None (full batch), 1 (online) or samples per mini-batch.
        seed: None for the given order, or an int / numpy.random.Generator to shuffle.

    Attributes:
        w_: weights (features,).  b_: bias (a float).
        loss_curve_: E summed over each epoch's batches, one float per epoch (each batch's E
            taken before its step).
        neuron_: the trained ``Dense(d, 1)`` layer (float64).

    Reference:
        B. Widrow, M. E. Hoff, Adaptive switching circuits, IRE WESCON Convention Record,
        Part 4, 96-104 (1960); the linear unit with the halved quadratic loss and its online
        and batch training algorithms, lecture deck 000 (JKU Linz, Unit 5).
    """

    _loss = "sse"

    def __init__(self, eta=0.01, max_epochs=100, batch_size=None, seed=None):
        self.eta = _positive_real("Adaline", "eta", eta)
        self._check_schedule(max_epochs, batch_size, seed)

    def fit(self, X, y):
        """Learn w_ and b_ from X (samples, features) and real targets y (samples,); returns
        self."""
        X = as_features("Adaline.fit", X, np.float64, ndim=2)
        y = as_targets("Adaline.fit", y, len(X), np.float64, integer_labels=False)
        if y.ndim != 1:
            raise ShapeError(
                f"Adaline.fit: expected y of shape ({len(X)},) (one target per sample), got "
                f"{y.shape}"
            )
        return self._train(X, y, self.eta)

    def predict(self, X):
        """a = X @ w_ + b_, shape (samples,)."""
        return self._output(X)

    def __repr__(self):
        return (f"Adaline(eta={self.eta}, max_epochs={self.max_epochs}, "
                f"batch_size={self.batch_size}, seed={self.seed!r})")  # fmt: skip


class LogisticRegression(_SingleNeuron):
    """Logistic regression: one sigmoid neuron trained on binary cross-entropy by gradient descent.

        a = sigmoid(w . x + b) = P(y = 1 | x)
        E = -1/m sum_i [y_i ln a_i + (1 - y_i) ln(1 - a_i)]     (mean over the batch of m)
        dE/dw = 1/m sum_i (a_i - y_i) x_i,    dE/db = 1/m sum_i (a_i - y_i)

    The sigmoid's derivative a (1 - a) cancels against the loss's, leaving delta = a - y
    (deck 000, "differentiating cross entropy"). With ``batch_size=1`` one step is exactly
    w := w - lr (a - y) x; with larger batches the mean makes lr independent of the batch
    size (the deck's summed batch rule with eta = lr / m). It runs as ``glassnet.fit`` on a
    ``Dense(d, 1, "sigmoid")`` layer with loss 'binary_cross_entropy' (fused on the logits,
    stable for any w) and ``SGD(lr)``, starting from w = 0, b = 0. Sample order as in
    ``Adaline``: given order for ``seed=None``, reshuffled each epoch with a seed.

    Args:
        lr: learning rate (> 0).  max_epochs: passes over the data (positive int).
        batch_size: None (full batch), 1 (online) or samples per mini-batch.
        seed: None for the given order, or an int / numpy.random.Generator to shuffle.

    Attributes:
        w_: weights (features,).  b_: bias (a float).
        loss_curve_: mean cross-entropy of each epoch (each batch's taken before its step).
        neuron_: the trained ``Dense(d, 1, "sigmoid")`` layer (float64).

    Reference:
        D. R. Cox, The regression analysis of binary sequences, J. Royal Statistical Society B
        20(2), 215-242 (1958); logistic regression and the cross-entropy delta, lecture deck
        000 (JKU Linz, Unit 5).
    """

    _activation, _loss = "sigmoid", "binary_cross_entropy"

    def __init__(self, lr=0.1, max_epochs=200, batch_size=None, seed=None):
        self.lr = _positive_real("LogisticRegression", "lr", lr)
        self._check_schedule(max_epochs, batch_size, seed)

    def fit(self, X, y):
        """Learn w_ and b_ from X (samples, features) and labels y (samples,) in {0, 1}; returns
        self."""
        X = as_features("LogisticRegression.fit", X, np.float64, ndim=2)
        return self._train(X, _binary_labels("LogisticRegression.fit", y, len(X)), self.lr)

    def predict_proba(self, X):
        """Class probabilities (samples, 2): columns P(y = 0 | x) and P(y = 1 | x) = a."""
        a = self._output(X)
        return np.column_stack([1.0 - a, a])

    def predict(self, X):
        """Labels 1 where P(y = 1 | x) > 0.5, else 0 (int64, shape (samples,))."""
        return (self._output(X) > 0.5).astype(np.int64)

    def __repr__(self):
        return (f"LogisticRegression(lr={self.lr}, max_epochs={self.max_epochs}, "
                f"batch_size={self.batch_size}, seed={self.seed!r})")  # fmt: skip


class LinearRegression:
    """Ordinary least squares in closed form: the minimum-norm solution of X~ w~ ~ y.

        X~ = [X, 1]  (a column of ones for the intercept; without it if fit_intercept=False)
        w~ = pinv(X~) y = argmin ||X~ w~ - y||^2, of least norm ||w~|| among the minimisers

    For X~ of full column rank this is deck 000's closed form w = (X~^T X~)^-1 X~^T y, the
    point where the gradient of the halved squared error vanishes (where ADALINE converges);
    deck 000 puts the ones column first, here it is last. It is computed with
    ``np.linalg.lstsq`` (an SVD of X~), never by inverting X~^T X~, which would square the
    condition number. For rank-deficient X~ the solution is the minimum-norm one, the intercept
    included in the norm (as pinv(X~) y; scikit-learn instead centres the data, so the two
    differ only when the intercept itself is not determined, e.g. with a constant column).

    Args:
        fit_intercept: add the column of ones (default True).

    Attributes:
        coef_: weights, (features,) for a 1-D y, (outputs, features) for y of shape
            (samples, outputs).
        intercept_: a float, or (outputs,); 0.0 without an intercept.
        rank_: rank of X~.  singular_values_: the singular values of X~.

    Reference:
        A. M. Legendre (1805), C. F. Gauss (1809), least squares; R. Penrose, A generalized
        inverse for matrices, Proc. Cambridge Philosophical Society 51, 406-413 (1955); the
        closed-form solution for a linear unit with the quadratic loss, lecture deck 000 (JKU
        Linz, Unit 5).
    """

    def __init__(self, fit_intercept=True):
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise TypeError(
                f"LinearRegression: expected fit_intercept to be True or False, got "
                f"{fit_intercept!r}"
            )
        self.fit_intercept = bool(fit_intercept)

    def fit(self, X, y):
        """Solve for coef_ and intercept_ from X (samples, features) and y (samples,) or
        (samples, outputs); returns self."""
        X = as_features("LinearRegression.fit", X, np.float64, ndim=2)
        y = as_targets("LinearRegression.fit", y, len(X), np.float64, integer_labels=False)
        if y.ndim > 2:
            raise ShapeError(
                f"LinearRegression.fit: expected y of shape ({len(X)},) or ({len(X)}, outputs), "
                f"got {y.shape}"
            )
        X_tilde = np.hstack([X, np.ones((len(X), 1))]) if self.fit_intercept else X
        w_tilde, _, self.rank_, self.singular_values_ = np.linalg.lstsq(X_tilde, y, rcond=None)
        if self.fit_intercept:
            self.coef_, self.intercept_ = w_tilde[:-1].T, w_tilde[-1]
        else:
            self.coef_, self.intercept_ = w_tilde.T, np.zeros(y.shape[1:])
        self.intercept_ = float(self.intercept_) if y.ndim == 1 else self.intercept_
        self.rank_ = int(self.rank_)
        return self

    def predict(self, X):
        """X @ coef_^T + intercept_: (samples,) or (samples, outputs), like y in fit."""
        _check_fitted(self, "coef_")
        X = _features("LinearRegression.predict", X, self.coef_.shape[-1])
        return X @ self.coef_.T + self.intercept_

    def __repr__(self):
        return f"LinearRegression(fit_intercept={self.fit_intercept})"
