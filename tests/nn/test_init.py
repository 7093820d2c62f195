"""Weight initializers: bounds, variances, seeds, names and errors."""

import math

import numpy as np
import pytest

from glassnet.nn import Dense, init

EXPECTED_NAMES = {
    "uniform",
    "normal",
    "torch_default",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "zeros",
    "constant",
}


def test_names_table():
    assert set(init.NAMES) == EXPECTED_NAMES


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_each_name_builds_an_initializer_of_shape_and_dtype(name):
    initializer = init.get(name)
    assert isinstance(initializer, init.Initializer) and initializer.name == name
    W = initializer((7, 5), np.random.default_rng(0), np.float64)
    assert W.shape == (7, 5) and W.dtype == np.float64 and np.isfinite(W).all()
    assert initializer((7, 5), 0).dtype == np.float32  # the default dtype
    assert init.get(initializer) is initializer
    assert init.get(initializer.config()).config() == initializer.config()  # config round trip


def test_uniform_default_r_is_0_1():
    W = init.get("uniform")((200, 300), np.random.default_rng(0), np.float64)
    assert W.min() >= -0.1 and W.max() <= 0.1
    assert W.min() < -0.099 and W.max() > 0.099  # fills the interval
    assert abs(W.var() - 0.1**2 / 3) < 0.02 * 0.1**2 / 3
    W = init.Uniform(0.5)((100, 100), np.random.default_rng(0), np.float64)
    assert W.min() >= -0.5 and W.max() <= 0.5 and W.max() > 0.49


@pytest.mark.parametrize("shape", [(500, 500), (200, 600)])  # (out, in): fan_out, fan_in
def test_glorot_uniform_bound_and_variance(shape):
    fan_out, fan_in = shape
    W = init.get("glorot_uniform")(shape, np.random.default_rng(0), np.float64)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    variance = 2.0 / (fan_in + fan_out)
    assert abs(W.var() - variance) < 0.05 * variance
    assert abs(W.mean()) < 0.01 * bound


@pytest.mark.parametrize(
    "name, variance",
    [
        ("glorot_normal", lambda fi, fo: 2.0 / (fi + fo)),
        ("he_normal", lambda fi, fo: 2.0 / fi),
        ("he_uniform", lambda fi, fo: 2.0 / fi),
        ("lecun_normal", lambda fi, fo: 1.0 / fi),
        ("lecun_uniform", lambda fi, fo: 1.0 / fi),
    ],
)
def test_scaled_initializer_variance_on_a_non_square_matrix(name, variance):
    # (200, 600): fan_in 600 and fan_out 200 differ, so fan_in, fan_out and their mean differ
    W = init.get(name)((200, 600), np.random.default_rng(1), np.float64)
    expected = variance(600, 200)
    assert abs(W.var() - expected) < 0.03 * expected


def test_he_normal_std():
    W = init.get("he_normal")((300, 400), np.random.default_rng(2), np.float64)
    assert abs(W.std() - math.sqrt(2.0 / 400)) < 0.02 * math.sqrt(2.0 / 400)


def test_uniform_bounds_of_he_and_lecun():
    he = init.get("he_uniform")((100, 50), np.random.default_rng(0), np.float64)
    assert np.abs(he).max() <= math.sqrt(6.0 / 50) and np.abs(he).max() > 0.98 * math.sqrt(6.0 / 50)
    lecun = init.get("lecun_uniform")((100, 50), np.random.default_rng(0), np.float64)
    bound = math.sqrt(3.0 / 50)
    assert np.abs(lecun).max() <= bound and np.abs(lecun).max() > 0.98 * bound


def test_normal_default_std():
    W = init.get("normal")((300, 300), np.random.default_rng(0), np.float64)
    assert abs(W.std() - 0.01) < 0.0003


def test_zeros_and_constant():
    np.testing.assert_array_equal(init.get("zeros")((3, 4), 0, np.float64), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.Constant(0.25)((2, 3), 0, np.float32), np.full((2, 3), 0.25))
    c = init.get({"name": "constant", "value": -1.5})
    np.testing.assert_array_equal(c((2, 2)), np.full((2, 2), -1.5, np.float32))
    assert c.config() == {"name": "constant", "value": -1.5}


def test_seed_reproducibility_and_generator():
    glorot = init.get("glorot_uniform")
    a = glorot((6, 4), 123, np.float64)
    b = glorot((6, 4), 123, np.float64)
    c = glorot((6, 4), np.random.default_rng(123), np.float64)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, glorot((6, 4), 124, np.float64))
    # a shared Generator advances: two layers drawn from it differ
    rng = np.random.default_rng(5)
    assert not np.array_equal(glorot((6, 4), rng), glorot((6, 4), rng))
    # and Dense passes its seed through
    np.testing.assert_array_equal(Dense(4, 6, seed=123, dtype=np.float64).W.data, a)


def test_dense_uses_its_init_argument():
    layer = Dense(10, 20, init="zeros", seed=0)
    assert not layer.W.data.any()
    layer = Dense(10, 20, init=init.Uniform(0.01), seed=0)
    assert np.abs(layer.W.data).max() <= 0.01


def test_unknown_name_lists_valid_ones():
    with pytest.raises(
        ValueError, match=r"initializer 'glorot' is unknown; choose one of: "
    ) as info:
        init.get("glorot")
    for name in EXPECTED_NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match=r"initializer 'xavier' is unknown"):
        Dense(3, 2, init="xavier")


def test_torch_default_is_uniform_within_one_over_sqrt_fan_in():
    # torch's kaiming_uniform_(a=sqrt(5)) for Linear and Conv weights: bound 1 / sqrt(fan_in)
    W = init.get("torch_default")((64, 3, 5, 5), np.random.default_rng(0), np.float64)
    bound = 1 / np.sqrt(3 * 25)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
    assert abs(W.std() - bound / np.sqrt(3)) < 0.02 * bound
