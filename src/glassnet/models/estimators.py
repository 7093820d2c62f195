"""scikit-learn estimators around glassnet's multi-layer perceptron: ``NeuralNetClassifier`` and
``NeuralNetRegressor``.

They follow scikit-learn's conventions (the constructor only stores its arguments; fit,
partial_fit, predict, predict_proba, score; ``classes_``, ``n_features_in_``, ``n_iter_``,
``loss_curve_``) and take the parameters of ``MLPClassifier``/``MLPRegressor`` where the concept
is the same, so that one can be swapped for the other, plus glassnet's own: every glassnet
optimizer as ``solver``, ``dropout`` and ``batch_norm``, and ``module``: any glassnet network
(a convolutional one, with ``input_shape`` to see the rows of X as images) in place of the
built-in perceptron. The trained network is ``model_``, an ordinary glassnet ``Sequential`` (or
a fresh copy of ``module``) to inspect, record or save.

This module imports scikit-learn at its top; ``glassnet.models`` loads it only when one of the
two names is first asked for, so the classic models need NumPy alone.
"""

import inspect
import math
import numbers
import warnings

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import errors, nn, optim
from ..io.save import build, describe
from ..nn.module import REGISTRY
from ..train.callbacks import EarlyStopping
from ..train.fit import fit as train
from ..train.regularization import WeightPenalty

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "ConvergenceWarning"]

# MLPClassifier's names first ('logistic' is glassnet's 'sigmoid'), then glassnet's others
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
               "sigmoid": "sigmoid", "leaky_relu": "leaky_relu", "elu": "elu", "gelu": "gelu",
               "softplus": "softplus", "softsign": "softsign"}  # fmt: skip
_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu"}  # He initialisation; the others Glorot
_FLOATS = (np.float64, np.float32)  # float64 stays float64, float32 float32, the rest -> float64
# the parameters that shape the built-in perceptron, at their defaults: with ``module`` they
# have nothing to shape, so any other value is refused
_MLP_ONLY = {"hidden_layer_sizes": (100,), "activation": "relu", "dropout": 0.0,
             "batch_norm": False}  # fmt: skip


class ConvergenceWarning(errors.ConvergenceWarning, SklearnConvergenceWarning):
    """max_iter ran out before the loss converged: both glassnet's and scikit-learn's warning,
    so that either filter catches it."""


class L2Alpha(WeightPenalty):
    """scikit-learn's ``alpha``: the mean loss over a batch of n samples plus
    alpha / (2 n) * sum W^2 over the weight matrices (not the biases), as MLPClassifier adds it;
    its gradient adds alpha / n * W."""

    def __init__(self, loss, model, alpha):
        super().__init__(loss, model, l2=alpha)

    def __call__(self, output, target):
        value = self.base(output, target)
        penalty = self.penalty() if self.l2 else None  # None too for a module without weights
        return value if penalty is None else value + penalty * (1.0 / len(output))

    def __repr__(self):
        return f"L2Alpha({self.base!r}, alpha={self.l2})"


def _real(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and bool(np.isfinite(value)))  # fmt: skip


def _positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def _is_default(name, value, default):
    """Whether the parameter ``name`` has its default value (hidden sizes in any sequence)."""
    if name == "hidden_layer_sizes":
        sizes = [value] if isinstance(value, numbers.Integral) else value
        try:
            return [int(n) for n in sizes] == list(default)
        except (TypeError, ValueError):
            return False
    return isinstance(value, (str, numbers.Number)) and value == default


def _draw_seed(rng):
    """An int seed for glassnet from scikit-learn's RandomState ``rng``."""
    return int(rng.randint(np.iinfo(np.int32).max))


def _reseed(description, rng):
    """Put a seed drawn from ``rng`` into the config of every layer of ``describe``'s output
    whose constructor takes one (Dense, Conv2d, Dropout, ...), in the order of the layers."""
    if isinstance(description, list):
        for item in description:
            _reseed(item, rng)
        return
    if not isinstance(description, dict):  # an absent sub-module (None)
        return
    cls = REGISTRY[description["class"]]
    if "config" in description and "seed" in inspect.signature(cls).parameters:
        description["config"]["seed"] = _draw_seed(rng)
    _reseed(description.get("layers"), rng)
    for value in (description.get("modules") or {}).values():
        _reseed(value, rng)


def _is_stochastic(estimator):
    """partial_fit exists for the stochastic solvers only (as in MLPClassifier)."""
    return estimator.solver not in optim.FULL_BATCH


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share: parameter checks, the network, training.

    The parameters are kept as given (scikit-learn's rule); where they reach glassnet they are
    passed on as Python numbers, so NumPy scalars work wherever Python numbers do.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=None, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, dropout=0.0,
                 batch_norm=False, module=None, input_shape=None):  # fmt: skip
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.module = module
        self.input_shape = input_shape

    # --- checks -------------------------------------------------------------------------
    def _fail(self, message):
        raise ValueError(f"{type(self).__name__}: {message}")

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(_positive_int(s) for s in sizes):
            self._fail(f"expected hidden_layer_sizes as a positive int or a sequence of positive "
                       f"ints, got {self.hidden_layer_sizes!r}")  # fmt: skip
        return [int(s) for s in sizes]

    def _check_params(self):
        """Validate every parameter (scikit-learn's rule: in fit, never in __init__)."""
        if self.activation not in ACTIVATIONS:
            self._fail(f"expected activation one of {', '.join(ACTIVATIONS)}, got "
                       f"{self.activation!r}")  # fmt: skip
        if self.solver not in optim.NAMES:
            self._fail(f"expected solver one of {', '.join(optim.NAMES)}, got {self.solver!r}")
        if not (_real(self.alpha) and self.alpha >= 0):
            self._fail(f"expected alpha >= 0, got {self.alpha!r}")
        if not (self.batch_size in ("auto", None) or _positive_int(self.batch_size)):
            self._fail(f"expected batch_size 'auto', None (full batch) or a positive int, got "
                       f"{self.batch_size!r}")  # fmt: skip
        lr = self.learning_rate_init
        if lr is not None and not (_real(lr) and lr > 0):
            self._fail(f"expected learning_rate_init > 0 or None, got {lr!r}")
        if not _positive_int(self.max_iter):
            self._fail(f"expected max_iter to be a positive int, got {self.max_iter!r}")
        if not (_real(self.tol) and self.tol >= 0):
            self._fail(f"expected tol >= 0, got {self.tol!r}")
        if not (_real(self.validation_fraction) and 0 < self.validation_fraction < 1):
            self._fail(f"expected validation_fraction in (0, 1), got {self.validation_fraction!r}")
        if not _positive_int(self.n_iter_no_change):
            self._fail(f"expected n_iter_no_change to be a positive int, got "
                       f"{self.n_iter_no_change!r}")  # fmt: skip
        if not (_real(self.dropout) and 0 <= self.dropout < 1):
            self._fail(f"expected dropout in [0, 1), got {self.dropout!r}")
        if self.solver == "scg" and lr is not None:
            self._fail("solver 'scg' has no learning rate (its step comes from the curvature); "
                       f"expected learning_rate_init=None, got {lr!r}")  # fmt: skip
        if self.solver == "lm" and (self.alpha or self.dropout or self.batch_norm):
            self._fail("solver 'lm' (Levenberg-Marquardt) fits the squared residuals of a plain "
                       "Dense network: expected alpha=0, dropout=0 and batch_norm=False, got "
                       f"alpha={self.alpha!r}, dropout={self.dropout!r}, "
                       f"batch_norm={self.batch_norm!r}")  # fmt: skip
        if self.solver in optim.FULL_BATCH and self.batch_size not in ("auto", None):
            self._fail(f"solver {self.solver!r} is a full-batch method (defined on the whole "
                       f"training set), got batch_size={self.batch_size!r}; pass "
                       "batch_size='auto' or None")  # fmt: skip
        self._check_module()

    def _check_module(self):
        """``module`` and ``input_shape``: a glassnet Module in place of the perceptron, and the
        shape of one sample as it takes it."""
        if self.module is None:
            if self.input_shape is not None:
                self._fail(f"input_shape reshapes the rows of X for a module; expected "
                           f"input_shape=None without one, got {self.input_shape!r}")  # fmt: skip
            return
        if not isinstance(self.module, nn.Module):
            self._fail(f"expected module to be a glassnet Module (glassnet.nn.Module), got "
                       f"{type(self.module).__name__}")  # fmt: skip
        changed = [f"{name}={getattr(self, name)!r}" for name, default in _MLP_ONLY.items()
                   if not _is_default(name, getattr(self, name), default)]  # fmt: skip
        if changed:
            self._fail(f"{', '.join(_MLP_ONLY)} shape the built-in perceptron and do not apply "
                       f"to a module: expected their defaults with module, got "
                       f"{', '.join(changed)}")  # fmt: skip
        if self.solver == "lm":
            self._fail("solver 'lm' (Levenberg-Marquardt) fits the squared residuals of a plain "
                       "Dense network: expected module=None with it")  # fmt: skip
        shape = self.input_shape
        if shape is not None:
            try:
                shape = list(shape)
            except TypeError:
                shape = None
            if not shape or not all(_positive_int(n) for n in shape):
                self._fail(f"expected input_shape as a sequence of positive ints, e.g. (1, 28, "
                           f"28), or None, got {self.input_shape!r}")  # fmt: skip

    def _sample_shape(self):
        """The shape of one sample as the network takes it (None: the rows of X as they are)."""
        return None if self.input_shape is None else tuple(int(n) for n in self.input_shape)

    def _network_input(self, X, model):
        """X (validated, 2-D) as ``model`` takes it: in its dtype, reshaped to input_shape."""
        if self.module is None:
            return X
        X = X.astype(model.dtype, copy=False)
        shape = self._sample_shape()
        return X if shape is None else X.reshape(len(X), *shape)

    # --- the network --------------------------------------------------------------------
    def _build(self, n_in, n_out, output_activation, dtype, rng):
        """A fresh network n_in -> hidden_layer_sizes -> n_out, its weights drawn from ``rng``."""
        hidden = ACTIVATIONS[self.activation]
        init = "he_uniform" if hidden in _RELU_LIKE else "glorot_uniform"
        sizes = [n_in, *self._hidden_sizes()]
        layers = []
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            if self.batch_norm:  # Dense (no bias: beta takes its place) -> BatchNorm -> activation
                dense = nn.Dense(fan_in, fan_out, None, bias=False, init=init,
                                 seed=_draw_seed(rng), dtype=dtype)  # fmt: skip
                layers += [dense, nn.BatchNorm(fan_out, dtype=dtype), nn.activation.get(hidden)]
            else:
                layers.append(nn.Dense(fan_in, fan_out, hidden, init=init, seed=_draw_seed(rng),
                                       dtype=dtype))  # fmt: skip
            if self.dropout:
                layers.append(nn.Dropout(float(self.dropout), seed=_draw_seed(rng)))
        layers.append(nn.Dense(sizes[-1], n_out, output_activation, init="glorot_uniform",
                               seed=_draw_seed(rng), dtype=dtype))  # fmt: skip
        return nn.Sequential(*layers)

    def _module_copy(self, X, rng):
        """A fresh copy of ``module``: its architecture rebuilt by glassnet's describe/build (as
        save and load do), every layer seeded from ``rng``; checked on the first sample of X.
        ``module`` itself is never trained (scikit-learn's rule: fit leaves parameters alone)."""
        shape = self._sample_shape()
        if shape is not None and math.prod(shape) != X.shape[1]:
            self._fail(f"expected input_shape whose product is the number of features of X, got "
                       f"input_shape={self.input_shape!r} ({math.prod(shape)} values) for X "
                       f"with {X.shape[1]} features")  # fmt: skip
        try:
            description = describe(self.module)
        except TypeError as error:
            self._fail(f"expected module to be made of registered glassnet classes (each fit "
                       f"rebuilds it with fresh weights), got: {error}")  # fmt: skip
        _reseed(description, rng)
        model = build(description)
        try:
            out = model.predict(self._network_input(X[:1], model))
        except ValueError as error:  # ShapeError among them
            taken = f"(samples, {', '.join(map(str, shape or X.shape[1:]))})"
            self._fail(f"expected module to take X as {taken}, got: {error}")
        if out.ndim != 2:
            self._fail(f"expected module to output (samples, outputs), got outputs of shape "
                       f"{out.shape}")  # fmt: skip
        self._check_module_outputs(out.shape[1])
        return model

    def _start(self, X, rng):
        """Build ``model_`` for X (validated, 2-D), its loss and optimizer; reset the training
        record."""
        if self.module is None:
            self.model_ = self._build(X.shape[1], self.n_outputs_, self.out_activation_, X.dtype,
                                      rng)  # fmt: skip
        else:
            self.model_ = self._module_copy(X, rng)
        self._scores_are_logits = False
        if self.module is not None and self._loss_name() != "mse":
            try:  # a module ending linear outputs logits: predict_proba applies the softmax
                bound = nn.loss.bind(self._loss_name(), self.model_)
            except ValueError as error:
                self._fail(f"module: {error}")
            self._scores_are_logits = bound.layer is None
        self._loss = L2Alpha(self._loss_name(), self.model_, float(self.alpha))
        lr = None if self.learning_rate_init is None else float(self.learning_rate_init)
        self._optimizer = optim.get(self.solver, self.model_.parameters(), lr)
        self.n_iter_, self.loss_curve_, self.validation_loss_curve_ = 0, [], None
        self._partial_rng = rng  # partial_fit after fit goes on drawing from it

    def _batch(self, n):
        if self.solver in optim.FULL_BATCH or self.batch_size is None:
            return None
        return min(200 if self.batch_size == "auto" else int(self.batch_size), n)

    def _train(self, X, T, stratify, rng):
        """fit: the fresh network of ``_start`` trained for up to max_iter epochs."""
        X = self._network_input(X, self.model_)
        validation = None
        if self.early_stopping:
            counts = np.unique(stratify, return_counts=True)[1] if stratify is not None else None
            stratify = stratify if counts is not None and counts.min() >= 2 else None
            X, X_val, T, T_val = train_test_split(X, T, test_size=float(self.validation_fraction),
                                                  stratify=stratify,
                                                  random_state=_draw_seed(rng))  # fmt: skip
            validation = (X_val, T_val)
        monitor = "val_loss" if self.early_stopping else "loss"
        stop = EarlyStopping(monitor, patience=int(self.n_iter_no_change),
                             min_delta=float(self.tol),
                             restore_best=self.early_stopping)  # fmt: skip
        history = train(self.model_, X, T, loss=self._loss, optimizer=self._optimizer,
                        epochs=int(self.max_iter), batch_size=self._batch(len(X)),
                        shuffle=self.shuffle, validation_data=validation, callbacks=[stop],
                        verbose=2 if self.verbose else 0, seed=_draw_seed(rng))  # fmt: skip
        self.history_ = history
        self.loss_curve_ = list(history.history.get("loss", []))
        self.n_iter_ = len(self.loss_curve_)
        if self.early_stopping:
            self.validation_loss_curve_ = list(history.history.get("val_loss", []))
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else float("nan")
        if history.stop_reason is None:
            which = "validation " if self.early_stopping else ""
            warnings.warn(f"{type(self).__name__}: max_iter={self.max_iter} epochs ran and the "
                          f"{which}loss was still improving by more than tol={self.tol:g}; raise "
                          "max_iter for a converged fit", ConvergenceWarning,
                          stacklevel=3)  # fmt: skip
        return self

    def _one_epoch(self, X, T):
        """partial_fit: one more epoch over (X, T) with the same optimizer state."""
        history = train(self.model_, X, T, loss=self._loss, optimizer=self._optimizer, epochs=1,
                        batch_size=self._batch(len(X)), shuffle=self.shuffle,
                        verbose=2 if self.verbose else 0,
                        seed=_draw_seed(self._partial_rng))  # fmt: skip
        self.history_ = history
        self.loss_curve_ += history.history.get("loss", [])
        self.n_iter_ = len(self.loss_curve_)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else float("nan")
        return self

    def _outputs(self, X):
        """The network's outputs for X (checked like the training data), in eval mode."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOATS)
        return self.model_.predict(self._network_input(X, self.model_))

    @property
    def coefs_(self):
        """The weight matrices as MLPClassifier lays them out: (fan_in, fan_out) per layer."""
        check_is_fitted(self)
        dense = [layer for _, layer in self.model_.named_modules() if isinstance(layer, nn.Dense)]
        return [layer.W.data.T for layer in dense]

    @property
    def intercepts_(self):
        """The bias vectors (zeros where batch normalisation's beta takes their place)."""
        check_is_fitted(self)
        dense = [layer for _, layer in self.model_.named_modules() if isinstance(layer, nn.Dense)]
        return [np.zeros(d.out_features, d.W.dtype) if d.b is None else d.b.data for d in dense]


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A multi-layer perceptron classifier trained by backpropagation, with scikit-learn's
    interface and MLPClassifier's parameter names.

    Two classes: one sigmoid output unit and the binary cross-entropy; more: softmax outputs and
    the cross-entropy (both through glassnet's fused, stable forms). With solver 'lm' the
    outputs are trained on the squared error instead (Levenberg-Marquardt fits squared
    residuals, as Hagan & Menhaj 1994 train classifiers).

    Parameters (MLPClassifier's, where the concept is the same):
        hidden_layer_sizes: units per hidden layer, e.g. (100,) or (64, 32).
        activation: of the hidden units: 'identity', 'logistic', 'tanh', 'relu' (MLPClassifier's
            names), or glassnet's 'sigmoid' (= 'logistic'), 'leaky_relu', 'elu', 'gelu',
            'softplus', 'softsign'. ReLU-like units start He-uniform, the others Glorot-uniform.
        solver: any glassnet optimizer by its one name: 'sgd', 'momentum', 'nesterov', 'adagrad',
            'rmsprop', 'adadelta', 'adam', 'adamw', and the full-batch 'rprop+', 'rprop-',
            'irprop+', 'irprop-', 'bfgs', 'lbfgs', 'scg', 'newton', 'lm'. (MLPClassifier's 'sgd'
            uses Nesterov momentum 0.9 by default: that is glassnet's 'nesterov'.)
        alpha: L2 penalty as scikit-learn defines it: alpha / (2 n) * sum W^2 added to the mean
            loss of a batch of n samples, on the weights and not the biases.
        batch_size: 'auto' = min(200, n_samples), an int, or None for full batch; full-batch
            solvers always use the whole training set.
        learning_rate_init: the optimizer's learning rate (for Rprop the initial step delta_0,
            for BFGS/L-BFGS the first trial step, for Newton the step factor, for LM the initial
            damping mu); None: the optimizer's default (Adam: 0.001). 'scg' takes none.
        max_iter: epochs (full-batch solvers: iterations). shuffle: reshuffle every epoch.
        random_state: int, RandomState or None: weights, shuffling, dropout, validation split.
        tol, n_iter_no_change: training stops once the monitored loss (the training loss, or
            with early_stopping the validation loss) has not fallen by more than tol for
            n_iter_no_change epochs in a row.
        early_stopping: hold out validation_fraction of the training data (stratified) and
            return the network of the best validation loss.
        verbose: print one line per epoch.
    glassnet's own:
        dropout: probability of dropping each hidden unit in training (0: no dropout layers).
        batch_norm: batch normalisation between each hidden layer's linear part and activation.
        module: a glassnet Module to train in place of the built-in perceptron, e.g. LeNet-5
            (then hidden_layer_sizes, activation, dropout and batch_norm must keep their
            defaults, and solver 'lm' is refused). It is the whole network: it outputs one
            column per class (for two classes also one column), ending in a softmax (sigmoid)
            or linear (logits; predict_proba applies the softmax or sigmoid). Each fit trains a
            fresh copy, rebuilt from its architecture (glassnet's describe/build, so its
            classes must be registered) with new weights drawn from random_state; ``module``
            itself is never trained, and scikit-learn's clone copies it. alpha penalises the
            weights of all its layers (kernels and weight matrices; ``Module.own_weights``),
            not the biases nor batch norm's gamma and beta.
        input_shape: with module, the shape of one sample as the module takes it, e.g.
            (1, 28, 28): the rows of X (samples, 784) go in as (samples, 1, 28, 28); its product
            must be the number of features. None: the rows as they are.

    Attributes: classes_, n_features_in_ (and feature_names_in_), n_outputs_ (the network's
        output columns), out_activation_ (what turns them into probabilities), n_iter_,
        loss_curve_ (training loss per epoch, the alpha penalty included),
        validation_loss_curve_ (with early_stopping, else None), best_loss_, history_ (the last
        glassnet History), model_ (the glassnet network), coefs_ and intercepts_ (as in
        MLPClassifier).
    """

    def _loss_name(self):
        if self.solver == "lm":
            return "mse"
        return "binary_cross_entropy" if self.n_outputs_ == 1 else "cross_entropy"

    def _check_module_outputs(self, width):
        """A module outputs one column per class, or for two classes possibly one (a sigmoid or
        a logit: the binary cross-entropy); that fixes n_outputs_ and out_activation_."""
        n = len(self.classes_)
        if not (width == n or width == 1 and n == 2):
            one = " (or 1, a sigmoid or logit output, for the two classes)" if n == 2 else ""
            self._fail(f"expected module to output {n} columns, one per class{one}, got "
                       f"{width}")  # fmt: skip
        self.n_outputs_ = width
        self.out_activation_ = "sigmoid" if width == 1 else "softmax"

    def _set_classes(self, classes):
        self.classes_ = classes
        if len(classes) < 2:
            self._fail(f"expected samples of at least 2 classes, got 1 class ({classes[0]!r}); "
                       "a classifier cannot learn from one class")  # fmt: skip
        self.n_outputs_ = 1 if len(classes) == 2 else len(classes)
        self.out_activation_ = "sigmoid" if len(classes) == 2 else "softmax"

    def _encode_targets(self, index, dtype):
        """What the network is trained on for the class indices ``index`` (into classes_): 0/1
        for the one sigmoid output of two classes, the indices themselves for the softmax
        outputs, one-hot rows for solver 'lm' (squared residuals)."""
        if self.n_outputs_ == 1:
            return index.astype(dtype)
        if self.solver == "lm":
            return np.eye(len(self.classes_), dtype=dtype)[index]
        return index

    def fit(self, X, y):
        """Train a fresh network on (X, y) for up to max_iter epochs; returns self."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=_FLOATS)
        check_classification_targets(y)
        classes, index = np.unique(y, return_inverse=True)
        self._set_classes(classes)
        rng = check_random_state(self.random_state)
        self._start(X, rng)
        return self._train(X, self._encode_targets(index, self.model_.dtype), index, rng)

    def _index(self, y):
        """Class indices of labels y, which must all be in classes_."""
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if unknown.any():
            self._fail(f"expected labels among classes_ {self.classes_.tolist()}, got "
                       f"{y[unknown][:1].tolist()[0]!r}")  # fmt: skip
        return index

    @available_if(_is_stochastic)
    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current network and optimizer state.
        The first call builds the network and needs ``classes`` (every label y will ever hold);
        only for stochastic solvers (the full-batch ones are defined on the whole training set).
        """
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
            if classes is None:
                self._fail("expected classes (all labels) on the first call to partial_fit, got "
                           "None")  # fmt: skip
        X, y = validate_data(self, X, y, dtype=_FLOATS, reset=first)
        check_classification_targets(y)
        if first:
            self._set_classes(np.unique(classes))
            self._start(X, check_random_state(self.random_state))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            self._fail(f"expected classes={self.classes_.tolist()} as on the first call, "
                       f"got {np.asarray(classes).tolist()}")  # fmt: skip
        X = self._network_input(X.astype(self.model_.dtype, copy=False), self.model_)
        return self._one_epoch(X, self._encode_targets(self._index(y), X.dtype))

    def predict_proba(self, X):
        """Class probabilities (samples, classes), columns in the order of classes_."""
        out = self._outputs(X)
        if self.n_outputs_ == 1:
            p = expit(out.reshape(-1)) if self._scores_are_logits else out.reshape(-1)
            return np.column_stack([1 - p, p])
        return softmax(out, axis=1) if self._scores_are_logits else out

    def predict_log_proba(self, X):
        """log of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample."""
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A multi-layer perceptron regressor: linear output units trained on the mean squared
    error, with scikit-learn's interface and MLPRegressor's parameter names (see
    ``NeuralNetClassifier`` for every parameter). y may have one column or several; predict
    returns (samples,) when y was 1-D and (samples, outputs) when it was 2-D. A ``module`` (with
    ``input_shape``) outputs one column per output of y, with a linear last layer.

    Attributes: n_features_in_ (and feature_names_in_), n_outputs_, n_iter_, loss_curve_ (the mean
    squared error per epoch, the alpha penalty included), validation_loss_curve_, best_loss_,
    history_, model_, coefs_, intercepts_.
    """

    def _loss_name(self):
        return "mse"

    def _check_module_outputs(self, width):
        """A module outputs one column per column of y (one for 1-D y)."""
        if width != self.n_outputs_:
            self._fail(f"expected module to output {self.n_outputs_} column(s), one per output "
                       f"of y, got {width}")  # fmt: skip

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_targets(self, X, y, reset):
        """y as an array of X's dtype; the first fit (``reset``) records its number of outputs,
        later calls must have as many."""
        y = np.asarray(y)
        if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            self._fail(f"expected numeric targets y, got dtype {y.dtype}; a regressor fits numbers "
                       "(for class labels use NeuralNetClassifier)")  # fmt: skip
        y = y.astype(X.dtype, copy=False)
        if reset:
            self._y_ndim, self.out_activation_ = y.ndim, "identity"
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            self._fail(f"expected y with {self.n_outputs_} output(s) as on the first call, got "
                       f"shape {y.shape}")  # fmt: skip
        return y

    def fit(self, X, y):
        """Train a fresh network on (X, y) for up to max_iter epochs; returns self."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=_FLOATS, multi_output=True, y_numeric=True)
        T = self._check_targets(X, y, reset=True)
        rng = check_random_state(self.random_state)
        self._start(X, rng)
        return self._train(X, T.astype(self.model_.dtype, copy=False), None, rng)

    @available_if(_is_stochastic)
    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current network and optimizer state (only
        for stochastic solvers)."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y = validate_data(self, X, y, dtype=_FLOATS, multi_output=True, y_numeric=True,
                             reset=first)  # fmt: skip
        if first:
            T = self._check_targets(X, y, reset=True)
            self._start(X, check_random_state(self.random_state))
        else:
            T = self._check_targets(X, y, reset=False)
        X = X.astype(self.model_.dtype, copy=False)
        T = T.astype(self.model_.dtype, copy=False)
        return self._one_epoch(self._network_input(X, self.model_), T)

    def predict(self, X):
        """The network's outputs: (samples,) if y was 1-D in fit, else (samples, outputs)."""
        out = self._outputs(X)
        return out.reshape(-1) if self._y_ndim == 1 else out.reshape(len(out), -1)
