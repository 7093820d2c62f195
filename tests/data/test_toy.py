import math

import numpy as np
import pytest

from glassnet.data import (
    and_gate,
    blobs,
    circles,
    noisy_sine,
    or_gate,
    two_moons,
    two_spirals,
    xor,
)

RANDOM_SETS = [
    (two_moons, {"n": 101}, 2),
    (circles, {"n": 101}, 2),
    (blobs, {"n": 101, "centers": 4, "n_features": 3}, 3),
]


@pytest.mark.parametrize(("make", "outputs"), [(xor, [0, 1, 1, 0]), (and_gate, [0, 0, 0, 1]),
                                               (or_gate, [0, 1, 1, 1])])  # fmt: skip
def test_logic_gates(make, outputs):
    X, y = make()
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, outputs)
    X[0, 0] = 5.0  # a caller's edit must not leak into the next call
    assert make()[0][0, 0] == 0.0


@pytest.mark.parametrize(
    ("make", "kwargs", "d"), RANDOM_SETS, ids=lambda v: getattr(v, "__name__", "")
)
def test_random_sets_shapes_dtypes_and_seeds(make, kwargs, d):
    X, y = make(**kwargs, seed=0)
    assert X.shape == (101, d) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    X2, y2 = make(**kwargs, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(**kwargs, seed=np.random.default_rng(1))
    assert not np.array_equal(X, X3)


def test_two_moons_without_noise_lies_on_the_half_circles():
    X, y = two_moons(n=200, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [100, 100]
    outer, inner = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert outer[:, 1].min() >= -1e-6 and inner[:, 1].max() <= 0.5 + 1e-6


def test_circles_without_noise_have_radii_one_and_factor():
    X, y = circles(n=100, noise=0.0, factor=0.3, seed=0)
    radii = np.hypot(X[:, 0].astype(np.float64), X[:, 1].astype(np.float64))
    np.testing.assert_allclose(radii[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radii[y == 1], 0.3, atol=1e-6)


def test_blobs_split_points_evenly_and_cluster_tightly():
    X, y = blobs(n=10, centers=3, std=0.0, seed=0)
    assert np.bincount(y).tolist() == [4, 3, 3]
    for k in range(3):  # std 0: every point of a cluster is its centre, inside [-10, 10]
        points = X[y == k]
        np.testing.assert_array_equal(points, np.broadcast_to(points[0], points.shape))
        assert np.all(np.abs(points) <= 10)


def test_two_spirals_is_the_classic_benchmark():
    X, y = two_spirals()
    assert X.shape == (194, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [97, 97]
    for i in (0, 96):  # angle = i pi / 16, radius = 6.5 (104 - i) / 104
        radius, angle = 6.5 * (104 - i) / 104, i * math.pi / 16
        point = [radius * math.sin(angle), radius * math.cos(angle)]
        np.testing.assert_allclose(X[2 * i], point, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(X[2 * i + 1], [-point[0], -point[1]], rtol=1e-6, atol=1e-6)
        assert (y[2 * i], y[2 * i + 1]) == (0, 1)
    np.testing.assert_allclose(X[0], [0.0, 6.5])
    np.testing.assert_array_equal(X[1::2], -X[0::2])


def test_two_spirals_seed_permutes_the_same_points():
    X, y = two_spirals()
    Xs, ys = two_spirals(seed=0)
    np.testing.assert_array_equal(Xs, two_spirals(seed=0)[0])
    assert not np.array_equal(Xs, X)
    order = np.lexsort((X[:, 1], X[:, 0]))
    order_s = np.lexsort((Xs[:, 1], Xs[:, 0]))
    np.testing.assert_array_equal(Xs[order_s], X[order])
    np.testing.assert_array_equal(ys[order_s], y[order])


def test_noisy_sine():
    X, y = noisy_sine(n=500, noise=0.1, seed=0)
    assert X.shape == (500, 1) and X.dtype == np.float32
    assert y.shape == (500,) and y.dtype == np.float32
    np.testing.assert_allclose(X[:, 0], np.linspace(-np.pi, np.pi, 500), rtol=1e-6)
    residual = y.astype(np.float64) - np.sin(X[:, 0].astype(np.float64))
    assert abs(residual.mean()) < 0.03 and 0.08 < residual.std() < 0.12
    np.testing.assert_array_equal(y, noisy_sine(n=500, noise=0.1, seed=0)[1])
    assert not np.array_equal(y, noisy_sine(n=500, noise=0.1, seed=1)[1])
    X0, y0 = noisy_sine(n=50, noise=0.0, seed=1)
    np.testing.assert_allclose(y0, np.sin(X0[:, 0].astype(np.float64)), atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: two_moons(n=1), r"two_moons: expected n to be an integer >= 2, got 1"),
        (lambda: two_moons(n=10.5), r"two_moons: expected n to be an integer >= 2, got 10.5"),
        (lambda: two_moons(noise=-1.0), r"two_moons: expected noise to be a number >= 0, got -1.0"),
        (lambda: circles(factor=1.0), r"circles: expected factor in \(0, 1\), got 1.0"),
        (lambda: circles(n=-3), r"circles: expected n to be an integer >= 2, got -3"),
        (lambda: blobs(centers=0), r"blobs: expected centers to be an integer >= 1, got 0"),
        (
            lambda: blobs(n_features=True),
            r"blobs: expected n_features to be an integer >= 1, got True",
        ),
        (lambda: blobs(std=float("nan")), r"blobs: expected std to be a number >= 0, got nan"),
        (lambda: noisy_sine(n=None), r"noisy_sine: expected n to be an integer >= 2, got None"),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
