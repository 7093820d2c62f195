"""NeuralNetClassifier and NeuralNetRegressor: scikit-learn's estimator checks, meta-estimators,
MLPClassifier's parameter names, every solver, partial_fit, early stopping, alpha's formula."""

import pickle
import warnings

import numpy as np
import pytest

from tests.conftest import require

sklearn = require("sklearn")

from sklearn.datasets import load_iris  # noqa: E402  (shipped with scikit-learn: no download)
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import glassnet as gn  # noqa: E402
from glassnet import errors, nn, optim  # noqa: E402
from glassnet.autodiff import Tensor  # noqa: E402
from glassnet.models import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402
from glassnet.models.estimators import L2Alpha  # noqa: E402

ESTIMATORS = [NeuralNetClassifier, NeuralNetRegressor]


@pytest.fixture(autouse=True)
def _numpy_defaults():
    """scikit-learn's checks feed edge cases (constant columns, log of 0 probabilities) whose
    floating-point warnings are theirs to handle: run with NumPy's default error state."""
    with np.errstate(all="warn", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ConvergenceWarning)
        yield


def _sine(n=200, seed=0):
    """y = sin(x) on [-pi, pi] (seed 0)."""
    x = np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(n, 1))
    return x, np.sin(x[:, 0])


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_passes_scikit_learn_check_estimator_with_its_defaults(cls):
    # every check, raising on the first failure; nothing expected to fail
    check_estimator(cls())


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameter_names_shared_with_the_mlp_mean_the_same(cls):
    mlp = (MLPClassifier if cls is NeuralNetClassifier else MLPRegressor)().get_params()
    ours = cls().get_params()
    shared = ["hidden_layer_sizes", "activation", "solver", "alpha", "batch_size",
              "learning_rate_init", "max_iter", "tol", "early_stopping", "validation_fraction",
              "n_iter_no_change", "random_state", "shuffle", "verbose"]  # fmt: skip
    assert set(shared) <= set(mlp) and set(shared) <= set(ours)
    for name in ("hidden_layer_sizes", "activation", "alpha", "batch_size", "max_iter", "tol",
                 "early_stopping", "validation_fraction", "n_iter_no_change", "random_state",
                 "shuffle"):  # fmt: skip
        assert ours[name] == mlp[name], name
    assert set(ours) - set(mlp) == {"dropout", "batch_norm", "module", "input_shape"}


def test_classifier_swaps_for_mlpclassifier_in_a_pipeline_with_cross_validation():
    X, y = load_iris(return_X_y=True)
    settings = {"hidden_layer_sizes": (16,), "activation": "tanh", "max_iter": 300,
                "random_state": 0}  # fmt: skip
    scores = {}
    for cls in (MLPClassifier, NeuralNetClassifier):
        pipe = make_pipeline(StandardScaler(), cls(learning_rate_init=0.01, **settings))
        scores[cls.__name__] = cross_val_score(pipe, X, y, cv=5).mean()
    assert scores["NeuralNetClassifier"] > 0.93, scores
    assert scores["NeuralNetClassifier"] > scores["MLPClassifier"] - 0.03, scores


def test_classifier_in_grid_search():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(max_iter=200, random_state=0))
    grid = GridSearchCV(pipe, {"neuralnetclassifier__hidden_layer_sizes": [(2,), (32,)],
                               "neuralnetclassifier__learning_rate_init": [1e-4, 1e-2]},
                        cv=3)  # fmt: skip
    grid.fit(X, y)
    # a tiny net with a tiny step cannot fit iris in 200 epochs; the search must find a better pair
    assert grid.best_params_["neuralnetclassifier__learning_rate_init"] == 1e-2
    assert grid.best_score_ > 0.9
    assert grid.score(X, y) > 0.95


def test_regressor_cross_validated_on_a_sine():
    X, y = _sine()
    reg = NeuralNetRegressor(hidden_layer_sizes=(20,), activation="tanh", solver="lbfgs", alpha=0.0,
                             max_iter=300, random_state=0)  # fmt: skip
    assert cross_val_score(reg, X, y, cv=3).mean() > 0.99


def test_multi_output_regression_keeps_the_shape_of_y():
    X, y = _sine()
    Y = np.column_stack([y, np.cos(X[:, 0])])
    reg = NeuralNetRegressor(hidden_layer_sizes=(20,), activation="tanh", solver="lbfgs", alpha=0.0,
                             max_iter=300, random_state=0).fit(X, Y)  # fmt: skip
    assert reg.predict(X).shape == (200, 2) and reg.n_outputs_ == 2 and reg.score(X, Y) > 0.99
    column = NeuralNetRegressor(max_iter=2, random_state=0).fit(X, y[:, None])
    assert column.predict(X).shape == (200, 1)
    assert NeuralNetRegressor(max_iter=2, random_state=0).fit(X, y).predict(X).shape == (200,)


@pytest.mark.parametrize("solver", list(optim.NAMES))
def test_every_solver_fits_by_its_name(solver):
    # seed 0; each solver with its default step, full batch where it must be
    X, y = _sine(100)
    reg = NeuralNetRegressor(hidden_layer_sizes=(8,), activation="tanh", solver=solver, alpha=0.0,
                             max_iter=60, random_state=0, tol=0.0).fit(X, y)  # fmt: skip
    assert reg.n_iter_ == 60 or reg.n_iter_ < 60 and reg.history_.stop_reason
    first, last = reg.loss_curve_[0], reg.loss_curve_[-1]
    assert last < 0.9 * first, (solver, first, last)
    assert hasattr(reg, "partial_fit") == (solver not in optim.FULL_BATCH)


def test_classifier_trains_with_levenberg_marquardt_on_squared_error():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = NeuralNetClassifier(hidden_layer_sizes=(5,), activation="tanh", solver="lm", alpha=0.0,
                              max_iter=50, random_state=0).fit(X, y)  # fmt: skip
    assert clf._loss.name == "mse" and clf.out_activation_ == "softmax"
    assert clf.score(X, y) > 0.97
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


def test_binary_classifier_has_one_sigmoid_output_and_two_probability_columns():
    X, y = load_iris(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[y < 2]), np.where(y[y < 2] == 0, "setosa", "versicolor")
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=100, learning_rate_init=0.01,
                              random_state=0).fit(X, y)  # fmt: skip
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "sigmoid"
    assert list(clf.classes_) == ["setosa", "versicolor"]
    proba = clf.predict_proba(X)
    p = clf.model_.predict(X)[:, 0]
    np.testing.assert_array_equal(proba, np.column_stack([1 - p, p]))
    assert clf.score(X, y) == 1.0


def test_float64_stays_float64_and_float32_stays_float32():
    X, y = load_iris(return_X_y=True)
    assert NeuralNetClassifier(max_iter=2, random_state=0).fit(X, y).model_.dtype == np.float64
    clf32 = NeuralNetClassifier(max_iter=2, random_state=0).fit(X.astype(np.float32), y)
    assert clf32.model_.dtype == np.float32 and clf32.predict_proba(X).dtype == np.float32
    from_ints = NeuralNetClassifier(max_iter=2, random_state=0).fit(X.astype(int), y)
    assert from_ints.model_.dtype == np.float64


def test_alpha_is_scikit_learns_penalty_on_weights_only():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Dense(3, 4, "tanh", seed=0, dtype=np.float64), nn.Dense(4, 1, seed=1, dtype=np.float64)
    )
    for layer in model.layers:  # biases that a wrong penalty would count
        layer.b.data[...] = rng.normal(size=layer.b.shape)
    X, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 1))
    loss = L2Alpha("mse", model, alpha=0.3)
    value = loss(model(Tensor(X)), Tensor(y))
    out = model.predict(X)
    weights = sum((layer.W.data**2).sum() for layer in model.layers)
    expected = np.mean((out - y) ** 2) + 0.3 / (2 * 7) * weights
    np.testing.assert_allclose(value.item(), expected, rtol=1e-13)
    # its gradient on W: that of the mean loss plus alpha / n * W; the biases get none of it
    value.backward()
    grads = {id(p): p.grad.copy() for p in model.parameters()}
    for p in model.parameters():
        p.grad = None
    plain = L2Alpha("mse", model, alpha=0.0)(model(Tensor(X)), Tensor(y))
    plain.backward()
    for layer in model.layers:
        expected = layer.W.grad + 0.3 / 7 * layer.W.data
        np.testing.assert_allclose(grads[id(layer.W)], expected, rtol=1e-12)
        np.testing.assert_allclose(grads[id(layer.b)], layer.b.grad, rtol=1e-12)


def test_alpha_shrinks_the_weights():
    X, y = load_iris(return_X_y=True)
    settings = {"max_iter": 100, "tol": 0, "learning_rate_init": 0.01, "random_state": 0}
    norms = [np.sum(NeuralNetClassifier((16,), alpha=alpha, **settings).fit(X, y).coefs_[0] ** 2)
             for alpha in (0.0, 10.0)]  # fmt: skip
    assert norms[1] < 0.5 * norms[0]


def test_partial_fit_continues_the_optimizer_exactly_like_fit():
    X, y = load_iris(return_X_y=True)
    settings = {"hidden_layer_sizes": (8,), "max_iter": 5, "tol": 0.0, "shuffle": False,
                "random_state": 3}  # fmt: skip
    fitted = NeuralNetClassifier(**settings).fit(X, y)
    partial = NeuralNetClassifier(**settings)
    for _ in range(5):
        partial.partial_fit(X, y, classes=[0, 1, 2])
    assert partial.n_iter_ == 5 and len(partial.loss_curve_) == 5
    np.testing.assert_allclose(partial.predict_proba(X), fitted.predict_proba(X), rtol=1e-12,
                               atol=1e-15)  # fmt: skip
    np.testing.assert_allclose(partial.loss_curve_, fitted.loss_curve_, rtol=1e-12)


def test_partial_fit_errors_and_availability():
    X, y = load_iris(return_X_y=True)
    first_call = r"expected classes \(all labels\) on the first call to partial_fit"
    with pytest.raises(ValueError, match=first_call):
        NeuralNetClassifier().partial_fit(X, y)
    clf = NeuralNetClassifier(max_iter=2).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.n_outputs_ == 3  # the classes, not the labels of the first batch, fix the outputs
    with pytest.raises(ValueError, match=r"expected labels among classes_ \[0, 1, 2\], got 7"):
        clf.partial_fit(X[:3], [0, 1, 7])
    other_classes = r"expected classes=\[0, 1, 2\] as on the first call, got \[0, 1\]"
    with pytest.raises(ValueError, match=other_classes):
        clf.partial_fit(X[:3], [0, 1, 1], classes=[0, 1])
    with pytest.raises(AttributeError, match="partial_fit"):
        NeuralNetClassifier(solver="irprop+").partial_fit(X, y, classes=[0, 1, 2])
    reg = NeuralNetRegressor().partial_fit(X, np.column_stack([y, y]))
    other_outputs = r"expected y with 2 output\(s\) as on the first call, got shape \(150,\)"
    with pytest.raises(ValueError, match=other_outputs):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 1


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"activation": "softmax"},
         r"expected activation one of identity, logistic, tanh, relu, .*got 'softmax'"),
        ({"solver": "rprop"},
         r"expected solver one of sgd, .*irprop-, bfgs, lbfgs, scg, newton, lm, got 'rprop'"),
        ({"hidden_layer_sizes": (10, 0)},
         r"expected hidden_layer_sizes as a positive int or a sequence"),
        ({"alpha": -1.0}, r"expected alpha >= 0, got -1.0"),
        ({"batch_size": 0},
         r"expected batch_size 'auto', None \(full batch\) or a positive int, got 0"),
        ({"learning_rate_init": 0.0}, r"expected learning_rate_init > 0 or None, got 0.0"),
        ({"max_iter": 0}, r"expected max_iter to be a positive int, got 0"),
        ({"validation_fraction": 1.0}, r"expected validation_fraction in \(0, 1\), got 1.0"),
        ({"dropout": 1.0}, r"expected dropout in \[0, 1\), got 1.0"),
        ({"solver": "scg", "learning_rate_init": 0.1}, r"solver 'scg' has no learning rate"),
        ({"solver": "lm"},
         r"solver 'lm' \(Levenberg-Marquardt\) fits the squared residuals .* alpha=0.0001"),
        ({"solver": "lbfgs", "batch_size": 32},
         r"solver 'lbfgs' is a full-batch method .*got batch_size=32"),
    ],
)
def test_bad_settings_are_refused_in_fit_with_what_was_expected(settings, message):
    X, y = load_iris(return_X_y=True)
    clf = NeuralNetClassifier(**settings)  # the constructor only stores them
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match=r"expected samples of at least 2 classes, got 1 class"):
        NeuralNetClassifier().fit(np.ones((5, 2)), ["a"] * 5)


def test_early_stopping_returns_the_network_of_the_best_validation_loss():
    X, y = load_iris(return_X_y=True)
    clf = NeuralNetClassifier((32,), early_stopping=True, validation_fraction=0.2,
                              n_iter_no_change=5, learning_rate_init=0.05, max_iter=300,
                              random_state=0).fit(X, y)  # fmt: skip
    curve = clf.validation_loss_curve_
    assert len(curve) == clf.n_iter_ < 300
    assert "val_loss did not improve" in clf.history_.stop_reason
    best = int(np.argmin(curve))
    assert best < len(curve) - 1  # it went on after the best epoch, and came back to it
    # the held-out part: the same split again (it is drawn from random_state after the weights)
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(0)
    for _ in range(2):  # the seeds of the two Dense layers
        rng.randint(np.iinfo(np.int32).max)
    split_seed = rng.randint(np.iinfo(np.int32).max)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=split_seed)
    val_loss = gn.evaluate(clf.model_, X_val, y_val, loss=clf._loss)["loss"]
    # the checkpoint kept is the last one that improved by more than tol (EarlyStopping's min_delta)
    kept = int(np.argmin(np.abs(np.array(curve) - val_loss)))
    assert abs(val_loss - curve[kept]) < 1e-12 and curve[kept] <= curve[best] + clf.tol
    assert kept < len(curve) - clf.n_iter_no_change


def test_training_loss_plateau_stops_training_without_a_warning():
    X, y = _sine()
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.ConvergenceWarning)
        reg = NeuralNetRegressor((10,), activation="tanh", solver="lbfgs", tol=1e-3, max_iter=1000,
                                 random_state=0)  # fmt: skip
        reg.fit(X, y)
    assert reg.n_iter_ < 1000 and "loss did not improve for 10 epochs" in reg.history_.stop_reason


def test_running_out_of_max_iter_warns_with_both_convergence_warnings():
    X, y = load_iris(return_X_y=True)
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    for category in (errors.ConvergenceWarning, SklearnConvergenceWarning):
        still_improving = r"max_iter=3 epochs ran and the loss was still improving"
        with pytest.warns(category, match=still_improving):
            NeuralNetClassifier(max_iter=3, random_state=0).fit(X, y)


def test_dropout_and_batch_norm_build_those_layers_and_train():
    X, y = load_iris(return_X_y=True)
    clf = NeuralNetClassifier((16, 16), dropout=0.1, batch_norm=True, learning_rate_init=0.01,
                              max_iter=150, random_state=0).fit(X, y)  # fmt: skip
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "BatchNorm", "ReLU", "Dropout"] * 2 + ["Dense"]
    assert clf.model_.layers[0].b is None and clf.intercepts_[0].tolist() == [0.0] * 16
    assert clf.score(X, y) > 0.95
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_coefs_are_laid_out_as_in_mlpclassifier():
    X, y = load_iris(return_X_y=True)
    ours = NeuralNetClassifier((7, 5), max_iter=2, random_state=0).fit(X, y)
    theirs = MLPClassifier((7, 5), max_iter=2, random_state=0).fit(X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]


def test_each_target_helper_name_means_one_thing():
    # the classifier encodes class indices, the regressor checks and converts y: two names
    assert not hasattr(NeuralNetClassifier, "_targets")
    assert not hasattr(NeuralNetRegressor, "_targets")
    assert hasattr(NeuralNetClassifier, "_encode_targets")
    assert hasattr(NeuralNetRegressor, "_check_targets")
    assert not hasattr(NeuralNetRegressor, "_encode_targets")
    assert not hasattr(NeuralNetClassifier, "_check_targets")


def test_regressor_names_targets_that_are_not_numbers():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"NeuralNetRegressor: expected numeric targets y, "
                       r"got dtype <U1; a regressor fits numbers"):  # fmt: skip
        NeuralNetRegressor(max_iter=1).fit(X, np.array(["a", "b"] * 5))


def test_numpy_scalar_parameters_reach_glassnet_as_python_numbers():
    X, y = load_iris(return_X_y=True)
    clf = NeuralNetClassifier((np.int64(4),), max_iter=np.int64(3), n_iter_no_change=np.int32(2),
                              tol=np.float32(1e-4), early_stopping=True,
                              validation_fraction=np.float32(0.2), random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.n_iter_ <= 3
