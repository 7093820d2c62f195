"""Bad input to fit fails before any training step, with a message that names the culprit,
and leaves every weight as it was."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ShapeError
from glassnet.nn import Dense, Sequential


def _classifier(seed=0):
    return Sequential(Dense(5, 8, "tanh", seed=seed), Dense(8, 10, seed=seed + 1))


def _data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)), rng.integers(0, 10, n)


def _fails_before_training(exception, match, X, y, model=None, **kwargs):
    """fit raises ``exception`` matching ``match`` and no weight changed."""
    model = _classifier() if model is None else model
    before = model.state_dict()
    kwargs = {
        "loss": "cross_entropy",
        "optimizer": "sgd",
        "lr": 0.1,
        "epochs": 2,
        "verbose": 0,
        "seed": 0,
        **kwargs,
    }
    with pytest.raises(exception, match=match) as info:
        gn.fit(model, X, y, **kwargs)
    after = model.state_dict()
    assert after.keys() == before.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    return info


def test_nan_in_X_says_how_many_and_where_the_first_is():
    X, y = _data()
    X[12, 4] = X[15, 0] = X[40, 2] = np.nan
    _fails_before_training(
        ValueError, r"fit: X has 3 NaN or inf values \(first: NaN at row 12, column 4\)", X, y
    )


def test_inf_in_X_is_named_inf():
    X, y = _data()
    X[7, 1] = -np.inf
    _fails_before_training(
        ValueError, r"X has 1 NaN or inf values \(first: inf at row 7, column 1\)", X, y
    )


def test_inf_in_y():
    X, _ = _data()
    y = np.zeros((100, 1))
    y[33, 0] = np.inf
    model = Sequential(Dense(5, 1, seed=0))
    _fails_before_training(
        ValueError,
        r"fit: y has 1 NaN or inf values \(first: inf at row 33",
        X,
        y,
        model=model,
        loss="mse",
    )


def test_nan_in_validation_data():
    X, y = _data()
    Xv = X[:10].copy()
    Xv[3, 3] = np.nan
    _fails_before_training(
        ValueError,
        r"fit \(validation_data\): X has 1 NaN or inf values \(first: NaN at row 3, column 3\)",
        X,
        y,
        validation_data=(Xv, y[:10]),
    )


def test_X_and_y_of_different_lengths():
    X, y = _data()
    _fails_before_training(
        ShapeError,
        r"fit: expected y with 100 rows \(one per sample of X\), got shape \(99,\)",
        X,
        y[:99],
    )


def test_feature_count_mismatch_names_the_first_layer():
    X, y = _data()
    _fails_before_training(
        ShapeError,
        r"fit: Dense\(5 -> 8, tanh\) \(the first layer\) expects 5 features, "
        r"got X with 6 \(shape \(100, 6\)\)",
        np.hstack([X, X[:, :1]]),
        y,
    )


def test_one_dimensional_X_suggests_a_reshape():
    _fails_before_training(
        ShapeError,
        r"expected X of shape \(samples, features\), got \(100,\); reshape",
        np.arange(100.0),
        np.zeros(100, int),
    )


@pytest.mark.parametrize("index, label", [(0, 10), (1, -1)])
def test_label_out_of_range_in_the_first_samples(index, label):
    X, y = _data()
    y[index] = label
    _fails_before_training(
        ValueError, rf"labels must be in 0\.\.9 for 10 classes, got {label} at index {index}", X, y
    )


@pytest.mark.parametrize("index, label", [(57, 10), (30, -1)])
def test_label_out_of_range_anywhere_fails_before_training(index, label):
    X, y = _data()
    y[index] = label
    _fails_before_training(
        ValueError, rf"labels must be in 0\.\.9 for 10 classes, got {label} at index {index}", X, y
    )


def test_non_integer_labels():
    X, y = _data()
    labels = y.astype(float)
    labels[5] = 2.5
    _fails_before_training(
        ValueError, r"fit: expected integer class labels in y, got non-integer values", X, labels
    )


def test_integer_valued_float_labels_are_accepted():
    X, y = _data(n=20)
    history = gn.fit(_classifier(), X, y.astype(float), loss="cross_entropy", epochs=1, verbose=0)
    assert len(history.epoch) == 1


def test_strings_in_X_are_a_type_error():
    X = np.array([["a", "b", "c", "d", "e"]] * 4)
    _fails_before_training(
        TypeError, r"fit: expected numeric X, got dtype <U1", X, np.zeros(4, int)
    )


def test_strings_in_y_are_a_type_error():
    X, _ = _data(n=4)
    _fails_before_training(
        TypeError, r"fit: expected numeric y, got dtype <U3", X, np.array(["cat"] * 4)
    )


def test_objects_in_X_are_a_type_error():
    X = np.empty((3, 5), dtype=object)
    X[...] = 1.0
    _fails_before_training(TypeError, r"expected numeric X, got dtype object", X, np.zeros(3, int))


def test_ragged_lists_are_a_value_error():
    ragged = [[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0]]
    _fails_before_training(
        ValueError,
        r"fit: expected X as a rectangular numeric array, got ragged data",
        ragged,
        [0, 1],
    )


def test_empty_dataset():
    _fails_before_training(
        ValueError,
        r"fit: expected at least one sample, got an empty X of shape \(0, 5\)",
        np.zeros((0, 5)),
        np.zeros(0, int),
    )


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "32", True])
def test_bad_batch_size(batch_size):
    X, y = _data()
    _fails_before_training(
        ValueError,
        r"fit: expected batch_size to be a positive integer or None, got",
        X,
        y,
        batch_size=batch_size,
    )


@pytest.mark.parametrize("epochs", [-1, 1.5])
def test_bad_epochs(epochs):
    X, y = _data()
    _fails_before_training(
        ValueError, r"fit: expected epochs to be a non-negative integer, got", X, y, epochs=epochs
    )


@pytest.mark.parametrize("lr", [0, -1, float("nan")])
def test_bad_lr(lr):
    X, y = _data()
    _fails_before_training(ValueError, r"fit: expected lr > 0, got", X, y, lr=lr)


@pytest.mark.parametrize("split", [-0.1, 1.0, 0.001])
def test_bad_validation_split(split):
    X, y = _data()
    _fails_before_training(
        ValueError,
        r"fit: (expected validation_split in \[0, 1\)|validation_split=0\.001 leaves no)",
        X,
        y,
        validation_split=split,
    )


def test_unknown_loss_lists_valid_names():
    X, y = _data()
    info = _fails_before_training(
        ValueError, r"loss 'crossentropy' is unknown; choose one of: ", X, y, loss="crossentropy"
    )
    for name in ("sse", "mse", "l1", "binary_cross_entropy", "cross_entropy"):
        assert name in str(info.value)


def test_unknown_optimizer_lists_valid_names():
    X, y = _data()
    info = _fails_before_training(
        ValueError, r"optimizer 'rmsprop2' is unknown; choose one of: ", X, y, optimizer="rmsprop2"
    )
    assert "adam" in str(info.value) and "nesterov" in str(info.value)


def test_unknown_metric_fails_before_training():
    X, y = _data()
    _fails_before_training(
        ValueError, r"metric 'f1' is unknown; choose one of: ", X, y, metrics=["f1"]
    )


def test_unknown_activation_and_initializer_names_list_valid_ones():
    with pytest.raises(
        ValueError, match=r"activation 'sigmod' is unknown; choose one of: .*sigmoid"
    ):
        Sequential(Dense(5, 8, "sigmod"))
    with pytest.raises(
        ValueError, match=r"initializer 'glorot' is unknown; choose one of: .*glorot_uniform"
    ):
        Sequential(Dense(5, 8, init="glorot"))


def test_a_float32_model_is_not_upcast_by_float64_data():
    X, y = _data(n=10)
    model = _classifier()
    gn.fit(model, X.astype(np.float64), y, loss="cross_entropy", epochs=1, verbose=0)
    assert all(p.dtype == np.float32 for p in model.parameters())
