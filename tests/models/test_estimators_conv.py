"""NeuralNetClassifier and NeuralNetRegressor with a ``module`` (a convolutional network) and an
``input_shape``: learning digits from flat MNIST rows, fresh weights per fit, clone, Pipeline
and cross-validation, and the checks of the two parameters."""

import pickle
import warnings

import numpy as np
import pytest

from tests.conftest import require

sklearn = require("sklearn")

from scipy.special import softmax
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import glassnet as gn
from glassnet import errors, nn
from glassnet.models import NeuralNetClassifier, NeuralNetRegressor

IMAGE = (1, 28, 28)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    """1,000 training and 500 test rows (samples, 784) of the embedded MNIST subset."""
    (X, y), (X_test, y_test) = gn.data.load_mnist()
    return X[:1000], y[:1000], X_test[:500], y_test[:500]


def small_cnn(n_out=10, output=None, seed=0):
    """conv 5x5 x4 stride 2 - ReLU - 2x2 max-pool - Dense (n_out): logits unless ``output``."""
    return nn.Sequential(nn.Conv2d(1, 4, 5, stride=2, seed=seed), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dense(4 * 6 * 6, n_out, output, seed=seed))  # fmt: skip


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Dense(400, 120, "relu"), nn.Dense(120, 84, "relu"),
        nn.Dense(84, 10, "softmax"),
    )  # fmt: skip


def _cnn_classifier(module=None, **settings):
    settings = {"max_iter": 10, "batch_size": 32, "learning_rate_init": 3e-3, "random_state": 0,
                **settings}  # fmt: skip
    return NeuralNetClassifier(module=small_cnn() if module is None else module,
                               input_shape=IMAGE, **settings)  # fmt: skip


def test_lenet5_learns_digits_from_flat_rows(digits):
    X, y, X_test, y_test = digits
    clf = _cnn_classifier(lenet5(), max_iter=3, learning_rate_init=None).fit(X[:500], y[:500])
    assert clf.score(X_test, y_test) > 0.6  # 3 epochs of 500 digits: about 80%; chance is 10%
    assert clf.n_features_in_ == 784 and clf.n_outputs_ == 10 and clf.out_activation_ == "softmax"
    # a softmax ending outputs probabilities: predict_proba passes them on
    images = X_test[:20].reshape(-1, *IMAGE)
    np.testing.assert_array_equal(clf.predict_proba(X_test[:20]), clf.model_.predict(images))


def test_a_module_ending_in_logits_gets_softmax_probabilities(digits):
    X, y, X_test, y_test = digits
    module = small_cnn()
    before = module.state_dict()
    clf = _cnn_classifier(module).fit(X, y)
    assert clf.score(X_test, y_test) > 0.8  # about 90%
    logits = clf.model_.predict(X_test.reshape(-1, *IMAGE))
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba, softmax(logits, axis=1), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[logits.argmax(axis=1)])
    # the module is a template: fit trained a copy, and left the module's weights as they were
    assert clf.model_ is not module and repr(clf.model_) == repr(module)
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_each_fit_draws_fresh_weights_from_random_state(digits):
    X, y, _, _ = digits
    fitted = [_cnn_classifier(max_iter=1, random_state=seed).fit(X[:200], y[:200])
              for seed in (3, 3, 4)]  # fmt: skip
    weights = [clf.model_.layers[0].W.data for clf in fitted]
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.allclose(weights[0], weights[2])
    # and not the module's own starting weights, which only describe the architecture
    assert not np.allclose(small_cnn().layers[0].W.data, weights[0])
    refit = fitted[0].fit(X[:200], y[:200])  # refitting starts over: the same network again
    np.testing.assert_array_equal(refit.model_.layers[0].W.data, weights[1])


def test_clone_copies_the_module_and_fits_the_same_network(digits):
    X, y, X_test, _ = digits
    clf = _cnn_classifier(max_iter=2)
    twin = clone(clf)
    assert twin.module is not clf.module and repr(twin.module) == repr(clf.module)
    assert twin.get_params()["input_shape"] == IMAGE
    np.testing.assert_array_equal(twin.module.layers[0].W.data, clf.module.layers[0].W.data)
    a, b = clf.fit(X[:300], y[:300]), twin.fit(X[:300], y[:300])
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict_proba(X_test), a.predict_proba(X_test))


def test_in_a_pipeline_with_cross_validation(digits):
    X, y, _, _ = digits
    to_unit = FunctionTransformer(lambda X: X / X.max())  # the pixels, as in [0, 1]
    pipe = make_pipeline(to_unit, _cnn_classifier(max_iter=8))
    scores = cross_val_score(pipe, X[:900], y[:900], cv=3)
    assert scores.min() > 0.7, scores  # about 85% each


def test_two_classes_with_one_or_two_outputs(digits):
    X, y, X_test, y_test = digits
    keep, keep_test = y < 2, y_test < 2
    labels = np.where(y[keep] == 0, "zero", "one")
    for n_out, output, loss in ((1, "sigmoid", "binary_cross_entropy"),
                                (1, None, "binary_cross_entropy"), (2, None, "cross_entropy")):
        clf = _cnn_classifier(small_cnn(n_out, output), max_iter=3).fit(X[keep], labels)
        assert clf.n_outputs_ == n_out and clf._loss.name == loss
        proba = clf.predict_proba(X_test[keep_test])
        assert proba.shape == (keep_test.sum(), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        truth = np.where(y_test[keep_test] == 0, "zero", "one")
        assert clf.score(X_test[keep_test], truth) > 0.95, (n_out, output)


def test_partial_fit_and_early_stopping_take_images_too(digits):
    X, y, X_test, y_test = digits
    clf = _cnn_classifier()
    for start in range(0, 1000, 250):
        clf.partial_fit(X[start : start + 250], y[start : start + 250], classes=np.arange(10))
    assert clf.n_iter_ == 4 and clf.score(X_test, y_test) > 0.5
    stopped = _cnn_classifier(early_stopping=True, n_iter_no_change=2, max_iter=4).fit(X, y)
    assert len(stopped.validation_loss_curve_) == stopped.n_iter_ <= 4


def test_regressor_with_a_module():
    x = np.random.default_rng(0).uniform(-np.pi, np.pi, size=(200, 1))
    module = nn.Sequential(nn.Dense(1, 16, "tanh", dtype=np.float64),
                           nn.Dense(16, 1, dtype=np.float64))  # fmt: skip
    reg = NeuralNetRegressor(module=module, solver="lbfgs", alpha=0.0, max_iter=200,
                             random_state=0).fit(x, np.sin(x[:, 0]))  # fmt: skip
    assert reg.score(x, np.sin(x[:, 0])) > 0.99 and reg.predict(x).shape == (200,)
    with pytest.raises(ValueError, match=r"NeuralNetRegressor: expected module to output 2 "
                       r"column\(s\), one per output of y, got 1"):  # fmt: skip
        NeuralNetRegressor(module=module, max_iter=1).fit(x, np.column_stack([x, x]))


class _Unregistered(nn.Module):
    def forward(self, x):
        return x


_X = np.zeros((6, 784), np.float32)
_Y = np.array([0, 1, 2] * 2)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"module": "lenet5"},
         r"expected module to be a glassnet Module \(glassnet.nn.Module\), got str"),
        ({"input_shape": IMAGE},
         (r"input_shape reshapes the rows of X for a module; expected input_shape=None without "
          r"one, got \(1, 28, 28\)")),
        ({"module": small_cnn(3), "input_shape": (1, 28, 27)},
         (r"expected input_shape whose product is the number of features of X, got "
          r"input_shape=\(1, 28, 27\) \(756 values\) for X with 784 features")),
        ({"module": small_cnn(3), "input_shape": (1, 0, 784)},
         r"expected input_shape as a sequence of positive ints"),
        ({"module": small_cnn(3), "input_shape": 784},
         r"expected input_shape as a sequence of positive ints, e.g. \(1, 28, 28\), or None"),
        ({"module": small_cnn(3), "input_shape": IMAGE, "hidden_layer_sizes": (50,),
          "dropout": 0.2},
         (r"hidden_layer_sizes, activation, dropout, batch_norm shape the built-in perceptron "
          r"and do not apply to a module: expected their defaults with module, got "
          r"hidden_layer_sizes=\(50,\), dropout=0.2")),
        ({"module": small_cnn(3), "input_shape": IMAGE, "solver": "lm", "alpha": 0.0},
         r"solver 'lm' \(Levenberg-Marquardt\) .* expected module=None with it"),
        ({"module": small_cnn(10), "input_shape": IMAGE},
         r"expected module to output 3 columns, one per class, got 10"),
        ({"module": small_cnn(3)},
         (r"expected module to take X as \(samples, 784\), got: .*Conv2d.*expects X of shape "
          r"\(samples, channels, height, width\)")),
        ({"module": small_cnn(3, "sigmoid"), "input_shape": IMAGE},
         r"module: cross_entropy: expected a network ending in a softmax or a linear layer"),
        ({"module": nn.Sequential(_Unregistered(), nn.Dense(784, 3))},
         (r"expected module to be made of registered glassnet classes .* got: save: expected "
          r"modules of registered classes, got _Unregistered")),
    ],
)  # fmt: skip
def test_bad_module_settings_are_refused_in_fit(settings, message):
    clf = NeuralNetClassifier(max_iter=1, **settings)  # the constructor only stores them
    with pytest.raises(ValueError, match=f"^NeuralNetClassifier: {message}"):
        clf.fit(_X, _Y)


def test_alpha_penalises_the_conv_kernels_too(digits):
    # random_state 0, 3 epochs of 200 digits: alpha shrinks the kernels as it does the Dense
    # weights (before, alpha reached Dense layers only and left the kernels as without it)
    X, y = digits[0][:200], digits[1][:200]
    norms = {}
    for alpha in (0.0, 30.0):
        clf = _cnn_classifier(alpha=alpha, max_iter=3).fit(X, y)
        norms[alpha] = [float(np.linalg.norm(clf.model_[i].W.data)) for i in (0, 4)]
    (kernel_0, dense_0), (kernel_a, dense_a) = norms[0.0], norms[30.0]
    assert kernel_a < 0.8 * kernel_0 and dense_a < 0.8 * dense_0, norms


def test_alpha_with_a_module_that_has_no_weights_adds_nothing():
    # batch norm alone (no weights to penalise): alpha > 0 used to fail on a missing penalty
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    module = nn.Sequential(nn.Flatten(), nn.BatchNorm(2))
    losses = [NeuralNetClassifier(module=module, input_shape=(1, 2, 1), alpha=alpha, max_iter=3,
                                  random_state=0).fit(X, y).loss_curve_
              for alpha in (0.0, 1.0)]  # fmt: skip
    assert losses[0] == losses[1] and len(losses[0]) == 3
