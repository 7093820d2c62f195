import numpy as np
import pytest

from glassnet.data import (
    MinMaxScaler,
    Standardizer,
    from_one_hot,
    one_hot,
    train_test_split,
    train_val_test_split,
)
from glassnet.errors import NotFittedError, ShapeError


def test_standardizer_learns_train_stats_and_keeps_float32(rng):
    X = rng.normal([3.0, -2.0, 0.5], [2.0, 0.1, 5.0], size=(500, 3)).astype(np.float32)
    X[:, 2] = 7.25  # a constant feature: std 1, maps to exactly 0
    scaler = Standardizer().fit(X)
    np.testing.assert_allclose(scaler.mean_, X.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(scaler.std_[:2], X[:, :2].astype(np.float64).std(0), rtol=1e-12)
    assert scaler.std_[2] == 1.0
    Z = scaler.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:, :2].mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Z[:, :2].std(0), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(Z[:, 2], 0.0)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-5, atol=1e-5)
    X_test = X[:10] + np.float32(1.0)  # test data uses the training statistics
    np.testing.assert_allclose(scaler.transform(X_test)[:, 0], Z[:10, 0] + 1.0 / scaler.std_[0],
                               rtol=1e-5)  # fmt: skip


def test_standardizer_converts_integers_and_keeps_float64():
    assert Standardizer().fit_transform(np.array([[1], [3]])).dtype == np.float32
    assert Standardizer().fit_transform(np.array([[1.0], [3.0]])).dtype == np.float64
    np.testing.assert_array_equal(Standardizer().fit_transform(np.array([1.0, 3.0])), [-1.0, 1.0])


def test_standardizer_errors():
    with pytest.raises(
        NotFittedError, match=r"Standardizer.transform: expected a fitted Standardizer"
    ):
        Standardizer().transform(np.ones((2, 2)))
    with pytest.raises(ShapeError, match=r"Standardizer.transform: expected rows of shape \(3,\)"):
        Standardizer().fit(np.ones((2, 3))).transform(np.ones((2, 4)))
    with pytest.raises(
        ValueError,
        match=r"Standardizer.fit: X has 1 NaN or infinite values \(first at index \(1, 0\)\)",
    ):
        Standardizer().fit(np.array([[0.0], [np.nan]]))
    with pytest.raises(TypeError, match=r"Standardizer.fit: expected real numbers, got dtype <U1"):
        Standardizer().fit(np.array([["a"]]))


def test_min_max_scaler_maps_onto_the_range():
    X = np.array([[0, 10, 5], [1, 20, 5], [0.5, 30, 5]], dtype=np.float32)
    Z = MinMaxScaler().fit_transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z, [[-1, -1, -1], [1, 0, -1], [0, 1, -1]], atol=1e-6)
    scaler = MinMaxScaler(feature_range=(0, 1)).fit(X)
    np.testing.assert_allclose(scaler.transform(X)[:, 1], [0, 0.5, 1], atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, atol=1e-5)
    np.testing.assert_array_equal(scaler.data_min_, [0, 10, 5])
    np.testing.assert_array_equal(scaler.data_max_, [1, 30, 5])


@pytest.mark.parametrize("feature_range", [(1, 1), (2, -2), (0,), "ab"])
def test_min_max_scaler_rejects_a_bad_range(feature_range):
    with pytest.raises(
        ValueError, match=r"MinMaxScaler: expected feature_range \(a, b\) with a < b"
    ):
        MinMaxScaler(feature_range)


def test_one_hot_round_trip():
    labels = np.array([2, 0, 1, 2, 3])
    Y = one_hot(labels)
    assert Y.dtype == np.float32 and Y.shape == (5, 4)
    np.testing.assert_array_equal(Y.sum(1), 1.0)
    np.testing.assert_array_equal(Y[0], [0, 0, 1, 0])
    back = from_one_hot(Y)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, labels)
    assert one_hot(labels, n_classes=10).shape == (5, 10)
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert one_hot(np.array([], dtype=np.int64), n_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    ("labels", "n_classes", "error", "message"),
    [
        ([0, -1, 2], None, ValueError, r"one_hot: labels must be >= 0, got -1 at index 1"),
        ([0, 1.5], None, ValueError, r"one_hot: labels must be integers, got 1.5 at index 1"),
        ([0, np.nan], None, ValueError, r"one_hot: labels must be integers, got nan at index 1"),
        (
            [0, 10, 3],
            10,
            ValueError,
            r"one_hot: labels must be in 0..9 for 10 classes, got 10 at index 1",
        ),
        ([0, 1], 0, ValueError, r"one_hot: expected n_classes to be a positive integer, got 0"),
        ([[0], [1]], None, ShapeError, r"one_hot: expected labels of shape \(n,\), got \(2, 1\)"),
        (["a", "b"], None, TypeError, r"one_hot: expected integer labels, got dtype <U1"),
        ([], None, ValueError, r"one_hot: cannot infer n_classes from no labels"),
    ],
)
def test_one_hot_errors(labels, n_classes, error, message):
    with pytest.raises(error, match=message):
        one_hot(np.asarray(labels), n_classes)


def test_from_one_hot_needs_a_matrix():
    with pytest.raises(
        ShapeError, match=r"from_one_hot: expected Y of shape \(n, classes\), got \(3,\)"
    ):
        from_one_hot(np.zeros(3))


def _rows(X):
    return {tuple(row) for row in X.tolist()}


def test_train_test_split_sizes_disjointness_and_seed():
    X = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (75, 25, 75, 25)
    assert X_train.dtype == np.float32 and y_train.dtype == y.dtype
    assert not _rows(X_train) & _rows(X_test) and len(_rows(X_train) | _rows(X_test)) == 100
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)  # rows stay paired with labels
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    assert not np.array_equal(y_train, np.sort(y_train))  # shuffled
    again = train_test_split(X, y, test_fraction=0.25, seed=0)
    for a, b in zip(again, (X_train, X_test, y_train, y_test)):
        np.testing.assert_array_equal(a, b)


def test_train_val_test_split():
    X = np.arange(50, dtype=np.float64)[:, None]
    y = np.arange(50)
    parts = train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.1, seed=3)
    _, X_val, X_test, y_train, y_val, y_test = parts
    assert [len(p) for p in parts] == [35, 10, 5, 35, 10, 5]
    assert sorted(np.concatenate([y_train, y_val, y_test]).tolist()) == list(range(50))
    np.testing.assert_array_equal(X_val[:, 0], y_val)
    assert X_test.dtype == np.float64


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda X, y: train_test_split(X, y[:-1]), ShapeError,
         r"train_test_split: expected X and y with the same number of rows, "
         r"got shapes \(10, 2\) and \(9,\)"),
        (lambda X, y: train_test_split(X, y, test_fraction=1.0), ValueError,
         r"train_test_split: expected test_fraction in \(0, 1\), got 1.0"),
        (lambda X, y: train_test_split(X, y, test_fraction=0), ValueError,
         r"train_test_split: expected test_fraction in \(0, 1\), got 0"),
        (lambda X, y: train_test_split(X, y, test_fraction=0.01), ValueError,
         r"train_test_split: expected every part to get at least one of the 10 rows"),
        (lambda X, y: train_val_test_split(X, y, 0.6, 0.5), ValueError,
         r"train_val_test_split: expected every part to get at least one of the 10 rows, "
         r"got train -1"),
        (lambda X, y: train_val_test_split(X, y, -0.1, 0.5), ValueError,
         r"train_val_test_split: expected val_fraction in \(0, 1\), got -0.1"),
    ],
)  # fmt: skip
def test_split_errors(call, error, message):
    X, y = np.zeros((10, 2), dtype=np.float32), np.zeros(10, dtype=np.int64)
    with pytest.raises(error, match=message):
        call(X, y)
