"""The training boundary's checks (train/checks.py) as fit and evaluate meet them: targets
checked against the loss, complex data refused, X of the wrong rank named as such. Each case
fails before any step and leaves the weights as they were."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ShapeError
from glassnet.models import ShortcutMLP
from glassnet.nn import Dense, Sequential
from glassnet.train import WeightPenalty
from glassnet.train.checks import as_features, as_targets


def _net(outputs, activation=None):
    return Sequential(Dense(3, 4, "tanh", seed=0), Dense(4, outputs, activation, seed=1))


def _data(n=20):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), rng.integers(0, 2, n), rng.integers(0, 3, n)


def _refused(exception, match, model, X, y, loss, through="fit"):
    """fit (or evaluate) raises ``exception`` matching ``match``; no weight changed."""
    before = model.state_dict()
    with pytest.raises(exception, match=match):
        if through == "fit":
            gn.fit(model, X, y, loss=loss, epochs=1, verbose=0, seed=0)
        else:
            gn.evaluate(model, X, y, loss=loss)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


# -- binary cross-entropy: targets are probabilities of the positive class ------------------


@pytest.mark.parametrize("through", ["fit", "evaluate"])
@pytest.mark.parametrize("activation", [None, "sigmoid"])
def test_binary_cross_entropy_refuses_labels_minus_one_and_one(activation, through):
    X, labels, _ = _data()
    y = 2 * labels - 1
    _refused(ValueError, r"binary_cross_entropy: expected targets in \[0, 1\].*got -1.*"
             r"map labels \{-1, 1\} to \{0, 1\} with \(y \+ 1\) / 2", _net(1, activation), X, y,
             "binary_cross_entropy", through)  # fmt: skip


def test_binary_cross_entropy_refuses_labels_zero_and_five_with_a_hint():
    X, labels, _ = _data()
    _refused(ValueError, r"fit: binary_cross_entropy: expected targets in \[0, 1\].*got 5 at "
             r"index \d+.*y == 5", _net(1), X, 5 * labels, "binary_cross_entropy")  # fmt: skip


def test_binary_cross_entropy_refuses_targets_outside_the_unit_interval_through_a_penalty():
    X, labels, _ = _data()
    model = _net(1)
    loss = WeightPenalty("binary_cross_entropy", model, l2=1e-3)
    _refused(ValueError, r"expected targets in \[0, 1\]", model, X, labels + 0.5, loss)


def test_binary_cross_entropy_takes_soft_targets_in_the_unit_interval():
    X, labels, _ = _data()
    gn.fit(_net(1), X, np.where(labels > 0, 0.9, 0.1), loss="binary_cross_entropy", epochs=1,
           verbose=0)  # fmt: skip


# -- cross-entropy: one-hot or soft targets are distributions --------------------------------


def test_cross_entropy_refuses_negative_one_hot_targets():
    X, _, classes = _data()
    y = -np.eye(3)[classes]
    _refused(ValueError, r"fit: cross_entropy: expected one-hot or soft targets >= 0.*"
             r"got -1 at row \d+, column \d+", _net(3), X, y, "cross_entropy")  # fmt: skip


@pytest.mark.parametrize("through", ["fit", "evaluate"])
def test_cross_entropy_refuses_target_rows_that_do_not_sum_to_one(through):
    X, _, classes = _data()
    y = np.eye(3)[classes]
    y[4] = [1, 1, 0]
    _refused(ValueError, r"cross_entropy: expected one-hot or soft targets whose rows sum to 1, "
             r"got a row that sums to 2 at row 4", _net(3), X, y, "cross_entropy",
             through)  # fmt: skip


def test_cross_entropy_takes_soft_targets_and_integer_one_hot_rows():
    X, _, classes = _data()
    gn.fit(_net(3), X, np.full((20, 3), 1 / 3), loss="cross_entropy", epochs=1, verbose=0)
    gn.fit(_net(3), X, np.eye(3, dtype=np.int64)[classes], loss="cross_entropy", epochs=1,
           verbose=0)  # fmt: skip


def test_cross_entropy_names_a_non_integer_label_and_where_it_is():
    X, _, classes = _data()
    y = classes.astype(float)
    y[6] = 1.5
    _refused(ValueError, r"fit: expected integer class labels in y, got non-integer values "
             r"\(first: 1.5 at index 6\)", _net(3), X, y, "cross_entropy")  # fmt: skip


def test_cross_entropy_with_labels_in_a_column_says_to_ravel_them():
    X, _, classes = _data()
    _refused(ShapeError, r"cross_entropy: expected target of shape \(20, 3\).*got \(20, 1\); "
             r"pass class labels as a 1-D array", _net(3), X, classes[:, None],
             "cross_entropy")  # fmt: skip


def test_cross_entropy_with_one_output_unit_says_to_use_the_binary_loss():
    X, labels, _ = _data()
    _refused(ValueError, r"fit: cross_entropy: expected a network with one output unit per class "
             r"\(at least 2\), got 1 output unit.*'binary_cross_entropy'", _net(1), X, labels,
             "cross_entropy")  # fmt: skip


@pytest.mark.parametrize("loss", ["mse", "sse", "l1"])
def test_integer_labels_for_a_loss_on_values_point_to_the_cross_entropy(loss):
    X, _, classes = _data()
    _refused(ShapeError, rf"{loss}: expected target of shape \(20, 3\).*got \(20,\).*"
             r"class labels.*'cross_entropy'.*one_hot", _net(3), X, classes, loss)  # fmt: skip


# -- complex data ----------------------------------------------------------------------------


def test_complex_X_is_refused_not_cast():
    X, _, classes = _data()
    _refused(TypeError, r"fit: expected real numbers in X, got complex dtype complex128; "
             r"pass X.real", _net(3), X + 1j, classes, "cross_entropy")  # fmt: skip


def test_complex_y_is_refused_not_cast():
    X, labels, _ = _data()
    _refused(TypeError, r"evaluate: expected real numbers in y, got complex dtype complex128",
             _net(1), X, labels + 0j, "mse", through="evaluate")  # fmt: skip


def test_as_features_and_as_targets_refuse_complex_directly():
    with pytest.raises(TypeError, match="complex"):
        as_features("who", np.ones((2, 2), np.complex64), np.float32)
    with pytest.raises(TypeError, match="complex"):
        as_targets("who", np.ones(2, np.complex64), 2, np.float32, integer_labels=False)


# -- X of the wrong rank ---------------------------------------------------------------------


@pytest.mark.parametrize("through", ["fit", "evaluate"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_three_dimensional_X_to_a_dense_network_is_an_input_shape_error(loss, through):
    X, _, classes = _data()
    y = classes if loss == "cross_entropy" else np.zeros((20, 3))
    _refused(ShapeError, r"Dense\(3 -> 4, tanh\) \(the first layer\) expects X of shape "
             r"\(samples, 3\), got a 3-D array of shape \(20, 1, 3\)", _net(3),
             X.reshape(20, 1, 3), y, loss, through)  # fmt: skip


def test_three_dimensional_X_to_a_shortcut_mlp_is_an_input_shape_error():
    X, labels, _ = _data()
    _refused(ShapeError, r"ShortcutMLP.*expects X of shape \(samples, 3\), got a 3-D array",
             ShortcutMLP(3, [2], 1, seed=0), X.reshape(20, 1, 3), labels, "mse")  # fmt: skip


def test_as_features_can_require_an_exact_rank():
    with pytest.raises(ShapeError, match=r"who: expected X of shape \(samples, features\), got "
                       r"a 3-D array of shape \(2, 1, 2\)"):  # fmt: skip
        as_features("who", np.ones((2, 1, 2)), np.float64, ndim=2)
    # without ndim, (n, C, H, W) stays possible for layers to come
    assert as_features("who", np.ones((2, 1, 2)), np.float64).shape == (2, 1, 2)


# -- a callable loss must give a scalar Tensor ----------------------------------------------


@pytest.mark.parametrize("loss, got", [(lambda out, y: 1.0, "got float"),
                                       (lambda out, y: out * 1.0,
                                        r"got shape \(2, 1\)")])  # fmt: skip
def test_a_callable_loss_that_gives_no_scalar_tensor_is_refused_before_training(loss, got):
    X, labels, _ = _data()
    _refused(TypeError, rf"fit: expected the loss to return a scalar Tensor.*{got}", _net(1), X,
             labels, loss)  # fmt: skip


def test_check_finite_passes_finite_values_whose_sum_overflows_and_finds_every_bad_one():
    from glassnet.train.checks import check_finite

    check_finite("fit", "X", np.full((4, 3), 3e38, np.float32))  # the sum is inf, no value is
    for bad, kind in ((np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")):
        X = np.ones((4, 3), np.float32)
        X[2, 1] = bad
        with pytest.raises(ValueError, match=f"fit: X has 1 NaN or inf values \\(first: {kind} "
                                             "at row 2, column 1\\)"):  # fmt: skip
            check_finite("fit", "X", X)
