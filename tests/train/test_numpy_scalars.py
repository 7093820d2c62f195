"""NumPy scalars are accepted wherever Python numbers are, and are kept as Python numbers.

One table lists every public constructor and function that validates numbers, with Python
values for its numeric arguments. Each argument in turn is given as np.float32 / np.float64
(float arguments) or np.int64 / np.int32 (int arguments): the call must succeed, every number
the object keeps must be a Python number as with the Python value (so configs stay JSON and
reprs stay plain), and functions must return what they return for the Python value.
"""

import json
import numbers
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import data, nn, optim
from glassnet.models import Adaline, LogisticRegression, Perceptron, ShortcutMLP
from glassnet.nn.diagnostics import Recorder
from glassnet.train import metrics, regularization, schedules, stopping
from glassnet.train.callbacks import EarlyStopping


def _params():
    return nn.Dense(3, 2, seed=0).parameters()


def _net():
    return nn.Sequential(nn.Dense(3, 4, "tanh", seed=0), nn.Dense(4, 2, seed=1))


_X = np.random.default_rng(0).normal(size=(12, 3))
_LABELS = np.arange(12) % 2


def _fit(**kwargs):
    return gn.fit(_net(), _X, _LABELS, loss="cross_entropy", epochs=1, verbose=0, seed=0, **kwargs)


def _estimator(**kwargs):
    from glassnet.models import NeuralNetClassifier  # loads scikit-learn

    estimator = NeuralNetClassifier(**{"hidden_layer_sizes": (3,), "max_iter": 2,
                                       "random_state": 0, **kwargs})  # fmt: skip
    with warnings.catch_warnings():  # max_iter=2 does not converge
        warnings.simplefilter("ignore")
        return estimator.fit(_X, _LABELS).loss_curve_



# (id, build(**kwargs), the Python values of its numeric arguments)
CASES = [
    ("SGD", lambda **k: optim.SGD(_params(), **k), dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("Adam", lambda **k: optim.Adam(_params(), **k),
     dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-7, weight_decay=0.01)),
    ("AdamW", lambda **k: optim.AdamW(_params(), **k),
     dict(lr=0.01, beta1=0.9, beta2=0.99, eps=1e-7, weight_decay=0.01)),
    ("Adagrad", lambda **k: optim.Adagrad(_params(), **k),
     dict(lr=0.1, eps=1e-9, weight_decay=0.1)),
    ("RMSprop", lambda **k: optim.RMSprop(_params(), **k),
     dict(lr=0.1, alpha=0.9, eps=1e-7, weight_decay=0.1)),
    ("Adadelta", lambda **k: optim.Adadelta(_params(), **k),
     dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("BoldDriver", lambda **k: optim.BoldDriver(_params(), **k),
     dict(lr=0.1, increase=1.2, decrease=0.4, weight_decay=0.1)),
    ("RpropPlus", lambda **k: optim.RpropPlus(_params(), **k),
     dict(lr=0.1, eta_plus=1.3, eta_minus=0.4, delta_min=1e-5, delta_max=40.0, weight_decay=0.1)),
    ("IRpropMinus", lambda **k: optim.IRpropMinus(_params(), **k), dict(lr=0.1, eta_plus=1.3)),
    ("BFGS", lambda **k: optim.BFGS(_params(), **k),
     dict(lr=0.5, c1=1e-3, c2=0.8, max_evals=10, tolerance_grad=1e-9, weight_decay=0.1)),
    ("LBFGS", lambda **k: optim.LBFGS(_params(), **k),
     dict(lr=0.5, history_size=5, c1=1e-3, c2=0.8, max_evals=10, tolerance_grad=1e-9)),
    ("SCG", lambda **k: optim.SCG(_params(), **k),
     dict(sigma=1e-4, lambda_=1e-6, tolerance_grad=1e-9, weight_decay=0.1)),
    ("Newton", lambda **k: optim.Newton(_params(), **k),
     dict(lr=0.5, damping=0.1, max_tries=5, weight_decay=0.1)),
    ("LevenbergMarquardt", lambda **k: optim.LevenbergMarquardt(_params(), **k),
     dict(mu=0.01, mu_increase=5.0, mu_decrease=0.2, mu_max=1e8, mu_min=1e-12)),
    ("clip_grad_norm", lambda **k: optim.clip_grad_norm(_params(), **k), dict(max_norm=0.5)),
    ("clip_grad_value", lambda **k: optim.clip_grad_value(_params(), **k), dict(clip_value=0.5)),
    ("Dense", lambda **k: nn.Dense(**k), dict(in_features=3, out_features=2)),
    ("BatchNorm", lambda **k: nn.BatchNorm(**k), dict(num_features=3, momentum=0.2, eps=1e-4)),
    ("Sigmoid", lambda **k: nn.Sigmoid(**k), dict(beta=2.0)),
    ("LeakyReLU", lambda **k: nn.LeakyReLU(**k), dict(negative_slope=0.2)),
    ("ELU", lambda **k: nn.ELU(**k), dict(alpha=0.5)),
    ("Maxout", lambda **k: nn.Maxout(**k), dict(pieces=3)),
    ("Softmax", lambda **k: nn.Softmax(**k), dict(axis=1)),
    ("Recorder", lambda **k: Recorder(_net(), **k), dict(every=2)),
    ("predict", lambda **k: _net().predict(_X, **k), dict(batch_size=5)),
    ("evaluate", lambda **k: gn.evaluate(_net(), _X, _LABELS, loss="cross_entropy", **k),
     dict(batch_size=5)),
    ("StepDecay", lambda **k: schedules.StepDecay(**k), dict(step_size=2, gamma=0.5)),
    ("ExponentialDecay", lambda **k: schedules.ExponentialDecay(**k), dict(gamma=0.9)),
    ("CosineWithWarmup", lambda **k: schedules.CosineWithWarmup(**k),
     dict(epochs=10, warmup=2, min_lr=1e-3)),
    ("ReduceOnPlateau", lambda **k: schedules.ReduceOnPlateau(**k),
     dict(factor=0.5, patience=2, min_delta=0.01, min_lr=1e-4)),
    ("MaxEpochs", lambda **k: stopping.MaxEpochs(**k), dict(n=3)),
    ("ErrorBelow", lambda **k: stopping.ErrorBelow(**k), dict(threshold=0.1)),
    ("RelativeImprovementBelow", lambda **k: stopping.RelativeImprovementBelow(**k),
     dict(threshold=0.01)),
    ("WeightChangeBelow", lambda **k: stopping.WeightChangeBelow(**k), dict(threshold=1e-3)),
    ("WeightPenalty", lambda **k: regularization.WeightPenalty("mse", _net(), **k),
     dict(l2=0.1, l1=0.01)),
    ("WeightNoise", lambda **k: regularization.WeightNoise(seed=0, **k), dict(std=0.1)),
    ("accuracy", lambda **k: metrics.accuracy(_X[:, :1], _LABELS, **k), dict(threshold=0.2)),
    ("two_moons", lambda **k: data.two_moons(seed=0, **k), dict(n=10, noise=0.2)),
    ("circles", lambda **k: data.circles(seed=0, **k), dict(n=10, noise=0.2, factor=0.3)),
    ("blobs", lambda **k: data.blobs(seed=0, **k), dict(n=10, centers=2, n_features=3, std=0.5)),
    ("noisy_sine", lambda **k: data.noisy_sine(seed=0, **k), dict(n=10, noise=0.2)),
    ("one_hot", lambda **k: data.one_hot([0, 1], **k), dict(n_classes=3)),
    ("train_test_split", lambda **k: data.train_test_split(_X, _LABELS, seed=0, **k),
     dict(test_fraction=0.25)),
    ("train_val_test_split", lambda **k: data.train_val_test_split(_X, _LABELS, seed=0, **k),
     dict(val_fraction=0.25, test_fraction=0.25)),
    ("AdditiveNoise", lambda **k: data.AdditiveNoise(**k), dict(std=0.1)),
    ("Mixup", lambda **k: data.Mixup(**k), dict(alpha=0.3, n_classes=3)),
    ("Perceptron", lambda **k: Perceptron(**k), dict(eta=0.5, max_epochs=5)),
    ("Adaline", lambda **k: Adaline(**k), dict(eta=0.05, max_epochs=5, batch_size=4)),
    ("LogisticRegression", lambda **k: LogisticRegression(**k),
     dict(lr=0.05, max_epochs=5, batch_size=4)),
    ("ShortcutMLP", lambda **k: ShortcutMLP(hidden=[2], **k), dict(in_features=3, out_features=1)),
    ("NeuralNetClassifier", lambda **k: _estimator(**k),
     dict(alpha=1e-3, batch_size=4, learning_rate_init=0.01, max_iter=2, tol=1e-3,
          n_iter_no_change=2, dropout=0.1)),
    ("NeuralNetClassifier early_stopping", lambda **k: _estimator(early_stopping=True, **k),
     dict(validation_fraction=0.25)),
    ("fit", _fit, dict(lr=0.01, validation_split=0.25)),
    ("EarlyStopping", lambda **k: EarlyStopping(**k), dict(patience=3, min_delta=0.01)),
]  # fmt: skip


def _variants(cases):
    """(id, build, kwargs, argument, NumPy type) for every numeric argument of every case."""
    for case in cases:
        marks = ()
        if hasattr(case, "values"):  # a pytest.param
            case, marks = case.values, case.marks
        name, build, kwargs = case
        for argument, value in kwargs.items():
            kinds = (np.int64, np.int32) if isinstance(value, int) else (np.float32, np.float64)
            for kind in kinds:
                yield pytest.param(build, kwargs, argument, kind, marks=marks,
                                   id=f"{name}-{argument}-{kind.__name__}")  # fmt: skip


def _plain_numbers(value):
    """The numbers kept in an object's attributes, by name."""
    if isinstance(value, bool) or value is None:
        return {}
    attributes = vars(value) if hasattr(value, "__dict__") else {}
    return {k: v for k, v in attributes.items() if isinstance(v, numbers.Number)}


def _same_result(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same_result(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _same_result(a[key], b[key])
    elif isinstance(a, (np.ndarray, numbers.Number)):
        np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float), rtol=1e-5)


@pytest.mark.parametrize("build, kwargs, argument, kind", list(_variants(CASES)))
def test_a_numpy_scalar_is_accepted_where_a_python_number_is(build, kwargs, argument, kind):
    reference = build(**kwargs)
    given = build(**{**kwargs, argument: kind(kwargs[argument])})
    if isinstance(reference, (np.ndarray, tuple, list, dict, numbers.Number)):
        _same_result(reference, given)  # a function: the same result (np.float32 rounds)
        return
    for key, value in _plain_numbers(reference).items():
        kept = getattr(given, key)
        assert type(kept) is type(value), f"{key} is kept as {type(kept).__name__}"
    if hasattr(given, "config"):
        json.dumps(given.config())  # a NumPy scalar here would not serialise


@pytest.mark.parametrize("build", [lambda v: nn.Dense(v, 2), lambda v: stopping.MaxEpochs(v),
                                   lambda v: schedules.StepDecay(v), lambda v: Perceptron(1.0, v),
                                   lambda v: data.two_moons(v)])  # fmt: skip
@pytest.mark.parametrize("value", [True, np.True_, np.array(3), 3.0])
def test_bools_arrays_and_floats_are_not_counts(build, value):
    with pytest.raises((ValueError, TypeError)):
        build(value)
