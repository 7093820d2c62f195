"""Dropout layer: identity in eval mode, inverted scaling in training, seeded masks."""

import numpy as np
import pytest

from glassnet import Tensor
from glassnet.nn import Dropout


def test_identity_in_eval_mode():
    layer = Dropout(0.5, seed=0).eval()
    x = Tensor(np.random.default_rng(0).normal(size=(20, 30)))
    out = layer(x)
    np.testing.assert_array_equal(out.data, x.data)


def test_p_zero_is_identity_in_training():
    x = Tensor(np.random.default_rng(0).normal(size=(4, 5)))
    np.testing.assert_array_equal(Dropout(0.0, seed=0)(x).data, x.data)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_training_zeroes_about_p_and_scales_the_rest(p):
    x = Tensor(np.full((200, 500), 3.0))  # 100,000 units: the dropped fraction is p +- 0.005
    out = Dropout(p, seed=1)(x).data
    dropped = out == 0.0
    assert abs(dropped.mean() - p) < 0.005
    np.testing.assert_allclose(out[~dropped], 3.0 / (1.0 - p), rtol=1e-12)
    # inverted dropout keeps the expected activation: the mean stays ~3
    assert abs(out.mean() - 3.0) < 0.05


def test_float32_input_stays_float32():
    out = Dropout(0.5, seed=0)(Tensor(np.ones((3, 4), np.float32)))
    assert out.dtype == np.float32


def test_gradient_uses_the_same_mask():
    x = Tensor(np.ones((50, 40)), requires_grad=True)
    out = Dropout(0.3, seed=2)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # d(x*m)/dx = m and x = 1


def test_same_seed_same_mask_and_masks_change_between_calls():
    x = Tensor(np.ones((10, 10)))
    a, b = Dropout(0.5, seed=42), Dropout(0.5, seed=42)
    first_a, first_b = a(x).data, b(x).data
    np.testing.assert_array_equal(first_a, first_b)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.array_equal(a(x).data, first_a)  # a fresh mask on every call
    c = Dropout(0.5, seed=np.random.default_rng(42))  # a Generator is accepted
    np.testing.assert_array_equal(c(x).data, first_a)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5"])
def test_p_outside_zero_one_is_rejected(p):
    with pytest.raises(ValueError, match=r"Dropout: expected p in \[0, 1\), got"):
        Dropout(p)


def test_config_and_repr():
    layer = Dropout(0.25)
    assert layer.config() == {"p": 0.25}
    assert repr(layer) == "Dropout(p=0.25)"
    assert layer.parameters() == []
