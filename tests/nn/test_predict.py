"""Module.predict at its boundary: bad batch sizes, empty input, and X that is not
(samples, features) or not numeric get a clear error; an empty X gets an empty result."""

import numpy as np
import pytest

from glassnet.errors import ShapeError
from glassnet.models import ShortcutMLP
from glassnet.nn import BatchNorm, Dense, Dropout, Sequential, Softmax


def _net(dtype=np.float32):
    layers = [Dense(3, 4, "tanh", seed=0, dtype=dtype), Dropout(0.5, seed=0),
              BatchNorm(4, dtype=dtype), Dense(4, 2, seed=1, dtype=dtype), Softmax()]  # fmt: skip
    return Sequential(*layers)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8", True])
def test_a_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match=r"Sequential.predict: expected batch_size to be a "
                       rf"positive integer or None, got {batch_size!r}"):  # fmt: skip
        _net().predict(np.ones((5, 3)), batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [np.int64(2), None, 1, 100])
def test_numpy_integers_and_none_are_batch_sizes(batch_size):
    net, X = _net(), np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(net.predict(X, batch_size=batch_size), net.predict(X), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [_net, lambda dtype: ShortcutMLP(3, [2], 2, dtype=dtype),
                                  lambda dtype: Dense(3, 2, dtype=dtype)])  # fmt: skip
def test_an_empty_X_gives_an_empty_result_in_the_model_dtype(make, dtype):
    out = make(dtype).predict(np.empty((0, 3)))
    assert out.shape == (0, 2) and out.dtype == dtype


def test_an_empty_X_keeps_the_training_mode():
    net = _net()
    net.predict(np.empty((0, 3), np.float32))
    assert net.training


@pytest.mark.parametrize("X, shape", [(np.ones(3), r"\(3,\)"), (np.ones((2, 1, 3)), r"\(2, 1, 3\)"),
                                      (np.float64(3.0), r"\(\)")])  # fmt: skip
def test_X_of_the_wrong_rank_is_named(X, shape):
    with pytest.raises(ShapeError, match=r"Sequential.predict: Dense\(3 -> 4, tanh\) \(the first "
                       rf"layer\) expects X of shape \(samples, 3\), got .*{shape}"):  # fmt: skip
        _net().predict(X)


def test_a_single_sample_as_a_vector_gets_a_reshape_hint():
    with pytest.raises(ShapeError, match=r"X.reshape\(1, -1\)"):
        _net().predict(np.ones(3))


def test_X_of_the_wrong_width_is_named():
    with pytest.raises(ShapeError, match=r"Sequential.predict: Dense\(3 -> 4, tanh\) \(the first "
                       r"layer\) expects 3 features, got X with 2 \(shape \(5, 2\)\)"):  # fmt: skip
        _net().predict(np.ones((5, 2)))


@pytest.mark.parametrize("X, dtype", [(np.array([["a", "b", "c"]]), "<U1"), (None, "object")])
def test_X_that_is_not_numeric_is_a_type_error(X, dtype):
    with pytest.raises(TypeError, match=rf"predict: expected numeric X, got dtype {dtype}"):
        _net().predict(X)


def test_complex_X_is_a_type_error_not_cast():
    with pytest.raises(TypeError, match=r"Sequential.predict: expected real numbers in X, got "
                       r"complex dtype complex128"):  # fmt: skip
        _net().predict(np.ones((2, 3)) + 1j)


def test_ragged_X_is_named():
    with pytest.raises(ValueError, match=r"Sequential.predict: expected X as a rectangular"):
        _net().predict([[1, 2, 3], [1, 2]])


def test_lists_of_lists_and_bools_are_accepted():
    net = _net()
    X = [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]
    np.testing.assert_array_equal(net.predict(X), net.predict(np.array(X)))
    np.testing.assert_array_equal(net.predict(np.array(X) > 0), net.predict(np.array(X)))
