"""Perceptron: Rosenblatt's rule worked by hand, convergence on separable data, the warning on
XOR, and the documented errors."""

import warnings

import numpy as np
import pytest

from glassnet.data import and_gate, or_gate, xor
from glassnet.errors import ConvergenceWarning, NotFittedError, ShapeError
from glassnet.models import Perceptron


def separable_set(rng, n=200, d=5, margin=0.1):
    """Points in [-1, 1]^d labelled by a random hyperplane, none closer to it than ``margin``."""
    w_true, theta_true = rng.normal(size=d), 0.3
    X = rng.uniform(-1, 1, size=(4 * n, d))
    distance = (X @ w_true - theta_true) / np.linalg.norm(w_true)
    X, distance = X[np.abs(distance) > margin][:n], distance[np.abs(distance) > margin][:n]
    return X, (distance > 0).astype(np.int64)


def assert_separates(model, X, y):
    net = X @ model.w_
    assert np.all(net[y == 1] > model.theta_) and np.all(net[y == 0] <= model.theta_)
    np.testing.assert_array_equal(model.predict(X), y)


def test_first_two_epochs_on_and_worked_by_hand():
    # AND, eta = 1, samples in order (seed=None), w = (0, 0), theta = 0; g = 1 iff w.x > theta.
    # Epoch 1:
    #   (0,0) y=0: 0 > 0 no  -> g=0, right
    #   (0,1) y=0: 0 > 0 no  -> g=0, right
    #   (1,0) y=0: 0 > 0 no  -> g=0, right
    #   (1,1) y=1: 0 > 0 no  -> g=0, missed a 1: w = (0,0) + (1,1) = (1,1), theta = 0 - 1 = -1
    # Epoch 2, from w = (1,1), theta = -1:
    #   (0,0) y=0: 0 > -1    -> g=1, missed a 0: w = (1,1) - (0,0) = (1,1), theta = -1 + 1 = 0
    #   (0,1) y=0: 1 > 0     -> g=1, missed a 0: w = (1,1) - (0,1) = (1,0), theta = 0 + 1 = 1
    #   (1,0) y=0: 1 > 1 no  -> g=0, right
    #   (1,1) y=1: 1 > 1 no  -> g=0, missed a 1: w = (1,0) + (1,1) = (2,1), theta = 1 - 1 = 0
    X, y = and_gate()
    with pytest.warns(ConvergenceWarning):
        one = Perceptron(eta=1.0, max_epochs=1).fit(X, y)
    np.testing.assert_array_equal(one.w_, [1.0, 1.0])
    assert one.theta_ == -1.0 and one.errors_ == [1] and one.n_epochs_ == 1
    with pytest.warns(ConvergenceWarning):
        two = Perceptron(eta=1.0, max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(two.w_, [2.0, 1.0])
    assert two.theta_ == 0.0 and two.errors_ == [1, 3]


@pytest.mark.parametrize("gate", [and_gate, or_gate])
def test_logic_gates_are_learned_without_error(gate):
    X, y = gate()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Perceptron().fit(X, y)
    assert model.n_epochs_ < 100 and len(model.errors_) == model.n_epochs_
    assert model.errors_[-1] == 0
    assert_separates(model, X, y)


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_random_separable_set_with_margin_is_separated(seed):
    X, y = separable_set(np.random.default_rng(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Perceptron(max_epochs=1000, seed=seed).fit(X, y)
    assert model.errors_[-1] == 0 and len(model.errors_) == model.n_epochs_ < 1000
    assert_separates(model, X, y)


def test_eta_only_scales_the_solution_from_zero_weights():
    X, y = separable_set(np.random.default_rng(4), n=60, d=3)
    unit, small = (
        Perceptron(eta=1.0).fit(X, y),
        Perceptron(eta=0.25).fit(X, y),
    )  # 0.25: exact in binary
    np.testing.assert_array_equal(small.w_, 0.25 * unit.w_)
    assert small.theta_ == 0.25 * unit.theta_ and small.errors_ == unit.errors_


def test_same_seed_same_run_and_seeded_order_differs_from_given_order():
    X, y = separable_set(np.random.default_rng(5), n=100, d=4)
    a, b = Perceptron(seed=7).fit(X, y), Perceptron(seed=7).fit(X, y)
    np.testing.assert_array_equal(a.w_, b.w_)
    assert a.errors_ == b.errors_
    assert not np.array_equal(a.w_, Perceptron(seed=None).fit(X, y).w_)


def test_xor_stops_at_max_epochs_with_a_convergence_warning():
    X, y = xor()
    with pytest.warns(
        ConvergenceWarning,
        match=r"Perceptron: did not converge in 50 epochs .*may not be linearly separable",
    ):
        model = Perceptron(max_epochs=50).fit(X, y)
    assert model.n_epochs_ == 50 == len(model.errors_) and model.errors_[-1] > 0


def test_labels_must_be_zero_or_one():
    X, _ = and_gate()
    with pytest.raises(
        ValueError, match=r"Perceptron.fit: expected labels 0 or 1, got -1 at index 0"
    ):
        Perceptron().fit(X, [-1, 1, 1, -1])
    with pytest.raises(ValueError, match=r"got 2 at index 3"):
        Perceptron().fit(X, [0, 1, 0, 2])
    Perceptron().fit(X, np.array([False, False, False, True]))  # booleans are 0/1


def test_bad_inputs_are_named():
    X, y = and_gate()
    with pytest.raises(
        ShapeError, match=r"Perceptron.fit: expected X of shape \(samples, features\)"
    ):
        Perceptron().fit(X[:, 0], y)
    with pytest.raises(ShapeError, match=r"Perceptron.fit: expected y with 4 rows"):
        Perceptron().fit(X, y[:3])
    with pytest.raises(ShapeError, match=r"Perceptron.fit: expected y of shape \(4,\)"):
        Perceptron().fit(X, y.reshape(4, 1))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"Perceptron.fit: X has 1 NaN or inf"):
        Perceptron().fit(bad, y)
    with pytest.raises(TypeError, match=r"Perceptron.fit: expected numeric X"):
        Perceptron().fit(np.array([["a", "b"]] * 4), y)
    with pytest.raises(NotFittedError, match=r"Perceptron: expected a fitted model"):
        Perceptron().predict(X)
    with pytest.raises(
        ShapeError, match=r"Perceptron.predict: expected X with 2 features \(as in fit\), got 3"
    ):
        Perceptron().fit(X, y).predict(np.ones((1, 3)))


@pytest.mark.parametrize("kwargs, match", [
    ({"eta": 0.0}, r"Perceptron: expected eta > 0, got 0.0"),
    ({"eta": float("nan")}, r"expected eta > 0"),
    ({"max_epochs": 0}, r"Perceptron: expected max_epochs to be a positive int, got 0"),
    ({"max_epochs": 2.5}, r"expected max_epochs to be a positive int"),
])  # fmt: skip
def test_bad_hyperparameters_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Perceptron(**kwargs)


@pytest.mark.parametrize(
    "name", ["Perceptron", "Adaline", "LogisticRegression", "LinearRegression"]
)
def test_every_classic_model_says_not_fitted_as_scikit_learn_does(name):
    import glassnet.models

    model = getattr(glassnet.models, name)()
    message = rf"{name}: expected a fitted model, got an unfitted one"
    with pytest.raises(NotFittedError, match=message) as info:
        model.predict(np.ones((2, 2)))
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
