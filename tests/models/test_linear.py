"""ADALINE, logistic regression and closed-form least squares: steps worked by hand, the
least-squares solution reached three ways, known accuracies, and the documented errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ShapeError
from glassnet.models import Adaline, LinearRegression, LogisticRegression
from glassnet.nn import Dense
from glassnet.optim import SGD


def linear_data(rng, n=40, d=3, outputs=None, noise=0.0):
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d,) if outputs is None else (d, outputs))
    b = rng.normal(size=() if outputs is None else (outputs,))
    return X, X @ W + b + noise * rng.normal(size=(n,) if outputs is None else (n, outputs)), W, b


def sigmoid(net):
    return 1.0 / (1.0 + np.exp(-net))


# -- ADALINE ---------------------------------------------------------------------------------


def test_batch_delta_rule_steps_equal_the_hand_formula(rng):
    X, y, _, _ = linear_data(rng, n=8)
    eta, w, b = 0.05, np.zeros(3), 0.0
    losses = []
    for _ in range(3):  # w += eta * sum (y - a) x,  b += eta * sum (y - a),  a = w.x + b
        error = y - (X @ w + b)
        losses.append(0.5 * np.sum(error**2))
        w, b = w + eta * X.T @ error, b + eta * error.sum()
    model = Adaline(eta=eta, max_epochs=3).fit(X, y)
    np.testing.assert_allclose(model.w_, w, rtol=1e-12, atol=1e-14)
    assert model.b_ == pytest.approx(b, rel=1e-12)
    np.testing.assert_allclose(model.loss_curve_, losses, rtol=1e-12)  # E before each step


def test_online_lms_visits_the_samples_in_order_without_a_seed(rng):
    X, y, _, _ = linear_data(rng, n=6)
    eta, w, b = 0.1, np.zeros(3), 0.0
    for _ in range(2):
        for x_k, y_k in zip(X, y):  # Widrow-Hoff: one sample, one step
            error = y_k - (w @ x_k + b)
            w, b = w + eta * error * x_k, b + eta * error
    model = Adaline(eta=eta, max_epochs=2, batch_size=1).fit(X, y)
    np.testing.assert_allclose(model.w_, w, rtol=1e-12)
    assert model.b_ == pytest.approx(b, rel=1e-12)


def test_adaline_converges_to_the_least_squares_solution_on_noise_free_data(rng):
    X, y, w_true, b_true = linear_data(rng)
    model = Adaline(eta=0.01, max_epochs=300).fit(X, y)
    np.testing.assert_allclose(model.w_, w_true, atol=1e-8)
    assert model.b_ == pytest.approx(b_true, abs=1e-8)
    np.testing.assert_allclose(model.predict(X), y, atol=1e-8)
    assert model.loss_curve_[-1] < 1e-12 < model.loss_curve_[0]


def test_online_lms_with_a_seed_also_fits_noise_free_data(rng):
    X, y, w_true, _ = linear_data(rng, n=20)
    model = Adaline(eta=0.05, max_epochs=60, batch_size=1, seed=0).fit(X, y)
    np.testing.assert_allclose(model.w_, w_true, atol=1e-8)


def test_adaline_errors():
    with pytest.raises(ValueError, match=r"Adaline: expected eta > 0, got -1"):
        Adaline(eta=-1)
    with pytest.raises(
        ValueError, match=r"Adaline: expected batch_size to be a positive int or None, got 0"
    ):
        Adaline(batch_size=0)
    with pytest.raises(ShapeError, match=r"Adaline.fit: expected y of shape \(3,\)"):
        Adaline().fit(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"Adaline: expected a fitted model"):
        Adaline().predict(np.ones((3, 2)))
    with pytest.raises(ShapeError, match=r"Adaline.predict: expected X with 2 features"):
        Adaline(max_epochs=1).fit(np.ones((3, 2)), np.ones(3)).predict(np.ones((3, 4)))


# -- logistic regression -----------------------------------------------------------------------


def test_online_step_is_lr_times_a_minus_y_times_x(rng):
    X, y = rng.normal(size=(5, 3)), np.array([1, 0, 0, 1, 1])
    lr, w, b = 0.3, np.zeros(3), 0.0
    for x_k, y_k in zip(X, y):  # delta = a - y (the sigmoid's a (1 - a) cancels)
        delta = sigmoid(w @ x_k + b) - y_k
        w, b = w - lr * delta * x_k, b - lr * delta
    model = LogisticRegression(lr=lr, max_epochs=1, batch_size=1).fit(X, y)
    np.testing.assert_allclose(model.w_, w, rtol=1e-12)
    assert model.b_ == pytest.approx(b, rel=1e-12)


def test_full_batch_step_is_the_mean_of_a_minus_y_times_x(rng):
    X, y = rng.normal(size=(7, 2)), np.array([1, 0, 0, 1, 1, 0, 1])
    lr, w, b = 0.5, np.zeros(2), 0.0
    for _ in range(2):
        delta = sigmoid(X @ w + b) - y
        w, b = w - lr * X.T @ delta / len(X), b - lr * delta.mean()
    model = LogisticRegression(lr=lr, max_epochs=2).fit(X, y)
    np.testing.assert_allclose(model.w_, w, rtol=1e-12)
    assert model.b_ == pytest.approx(b, rel=1e-12)


def test_separable_blobs_are_classified_perfectly(rng):
    X = np.vstack([rng.normal(-2.5, 0.5, size=(50, 2)), rng.normal(2.5, 0.5, size=(50, 2))])
    y = np.repeat([0, 1], 50)
    model = LogisticRegression(max_epochs=100).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), y)
    proba = model.predict_proba(X)
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[y == 1, 1] > 0.9) and np.all(proba[y == 0, 0] > 0.9)


def test_overlapping_gaussians_reach_the_bayes_rule(rng):
    # x ~ N((-1, 0), I) for y = 0 and N((1, 0), I) for y = 1, equal priors: the true log-odds
    # are ln p(x|1)/p(x|0) = 2 x_1, so w = (2, 0), b = 0 and the Bayes accuracy is Phi(1) = 0.8413.
    def sample(n):
        y = rng.integers(0, 2, size=n)
        return rng.normal(size=(n, 2)) + np.column_stack([2.0 * y - 1.0, np.zeros(n)]), y

    X, y = sample(4000)
    model = LogisticRegression(lr=1.0, max_epochs=300).fit(X, y)
    np.testing.assert_allclose(model.w_, [2.0, 0.0], atol=0.15)
    assert abs(model.b_) < 0.1
    X_test, y_test = sample(4000)
    assert 0.82 < np.mean(model.predict(X_test) == y_test) < 0.87


def test_logistic_regression_errors():
    with pytest.raises(ValueError, match=r"LogisticRegression: expected lr > 0, got 0"):
        LogisticRegression(lr=0)
    with pytest.raises(
        ValueError, match=r"LogisticRegression.fit: expected labels 0 or 1, got 0.5 at index 1"
    ):
        LogisticRegression().fit(np.ones((2, 1)), [1, 0.5])


# -- closed-form least squares -----------------------------------------------------------------


def test_closed_form_matches_gradient_descent_with_glassnet_fit(rng):
    X, Y, _, _ = linear_data(rng, outputs=2, noise=0.5)
    closed = LinearRegression().fit(X, Y)
    layer = Dense(3, 2, dtype=np.float64, seed=0)
    gn.fit(layer, X, Y, loss="mse", optimizer=SGD(layer.parameters(), lr=0.5), epochs=400,
           batch_size=None, shuffle=False, verbose=0)  # fmt: skip
    np.testing.assert_allclose(closed.coef_, layer.W.data, atol=1e-6)  # both (outputs, features)
    np.testing.assert_allclose(closed.intercept_, layer.b.data, atol=1e-6)


def test_closed_form_matches_adaline_on_noisy_data(rng):
    X, y, _, _ = linear_data(rng, noise=0.5)
    closed, adaline = LinearRegression().fit(X, y), Adaline(eta=0.01, max_epochs=300).fit(X, y)
    np.testing.assert_allclose(closed.coef_, adaline.w_, atol=1e-6)
    assert closed.intercept_ == pytest.approx(adaline.b_, abs=1e-6)


def test_closed_form_equals_pinv_of_x_tilde_times_y(rng):
    X, Y, _, _ = linear_data(rng, outputs=3, noise=0.3)
    w_tilde = np.linalg.pinv(np.hstack([X, np.ones((len(X), 1))])) @ Y  # (features + 1, outputs)
    model = LinearRegression().fit(X, Y)
    np.testing.assert_allclose(model.coef_, w_tilde[:-1].T, rtol=1e-10)
    np.testing.assert_allclose(model.intercept_, w_tilde[-1], rtol=1e-10)
    np.testing.assert_allclose(model.predict(X), X @ w_tilde[:-1] + w_tilde[-1], rtol=1e-10)
    assert model.coef_.shape == (3, 3) and model.intercept_.shape == (3,) and model.rank_ == 4


def test_one_output_gives_a_vector_and_a_float(rng):
    X, y, w_true, b_true = linear_data(rng)
    model = LinearRegression().fit(X, y)
    assert model.coef_.shape == (3,) and isinstance(model.intercept_, float)
    np.testing.assert_allclose(model.coef_, w_true, rtol=1e-10)
    assert model.intercept_ == pytest.approx(b_true, rel=1e-10)
    assert model.predict(X).shape == (40,)


def test_rank_deficient_x_gives_the_minimum_norm_solution(rng):
    X = rng.normal(size=(30, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # third column = first + second: rank 3 of 4
    y = X @ [1.0, 2.0, 0.0] + 0.5 + 0.1 * rng.normal(size=30)
    model = LinearRegression().fit(X, y)
    X_tilde = np.hstack([X, np.ones((30, 1))])
    w_tilde = np.append(model.coef_, model.intercept_)
    assert model.rank_ == 3
    np.testing.assert_allclose(w_tilde, np.linalg.pinv(X_tilde) @ y, atol=1e-10)
    assert abs(w_tilde @ [1.0, 1.0, -1.0, 0.0]) < 1e-10  # no component along the null space
    shifted = w_tilde + 0.3 * np.array([1.0, 1.0, -1.0, 0.0])  # another least-squares solution
    np.testing.assert_allclose(X_tilde @ shifted, X_tilde @ w_tilde, atol=1e-10)
    assert np.linalg.norm(w_tilde) < np.linalg.norm(shifted)


def test_ill_conditioned_x_is_solved_where_the_normal_equations_fail(rng):
    U, _ = np.linalg.qr(rng.normal(size=(50, 4)))
    V, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    X = U @ np.diag([1.0, 1e-2, 1e-4, 1e-7]) @ V.T  # cond(X~) ~ 1e8, cond(X~^T X~) ~ 1e16
    w_true = np.array([1.0, -2.0, 3.0, 0.5])
    y = X @ w_true + 0.3
    np.testing.assert_allclose(LinearRegression().fit(X, y).coef_, w_true, atol=1e-6)
    X_tilde = np.hstack([X, np.ones((50, 1))])
    normal = np.linalg.solve(X_tilde.T @ X_tilde, X_tilde.T @ y)  # the formula as written
    assert np.abs(normal[:-1] - w_true).max() > 1e-6  # so this test tells the two apart


def test_without_intercept_the_fit_goes_through_the_origin(rng):
    X, y, _, _ = linear_data(rng, noise=0.2)
    model = LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(model.coef_, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert model.intercept_ == 0.0
    np.testing.assert_allclose(model.predict(np.zeros((1, 3))), [0.0])


def test_linear_regression_errors():
    with pytest.raises(
        TypeError, match=r"LinearRegression: expected fit_intercept to be True or False"
    ):
        LinearRegression(fit_intercept="yes")
    with pytest.raises(ShapeError, match=r"LinearRegression.fit: expected y with 3 rows"):
        LinearRegression().fit(np.ones((3, 2)), np.ones(4))
    with pytest.raises(
        ShapeError, match=r"LinearRegression.fit: expected y of shape \(3,\) or \(3, outputs\)"
    ):
        LinearRegression().fit(np.ones((3, 2)), np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"LinearRegression: expected a fitted model"):
        LinearRegression().predict(np.ones((3, 2)))
    with pytest.raises(ShapeError, match=r"LinearRegression.predict: expected X with 2 features"):
        LinearRegression().fit(np.eye(3)[:, :2], np.ones(3)).predict(np.ones((1, 5)))
