"""Behaviour of inverted dropout: identity at evaluation, survivors scaled by 1 / (1 - p),
the keep fraction, and masks that a seed reproduces."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops


def test_eval_mode_and_p_zero_are_the_identity():
    x = gn.tensor(np.ones((4, 5)), requires_grad=True)
    assert ops.dropout(x, 0.5, seed=0, training=False) is x
    assert ops.dropout(x, 0.0, seed=0) is x


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_training_keeps_about_1_minus_p_and_scales_survivors(p, rng):
    x = gn.tensor(rng.uniform(1.0, 2.0, (200, 500)), requires_grad=True)
    a = ops.dropout(x, p, seed=1)
    kept = a.data != 0
    assert abs(kept.mean() - (1 - p)) < 0.01  # 100,000 draws: the std of the mean is < 0.002
    np.testing.assert_allclose(a.data[kept], x.data[kept] / (1 - p), rtol=1e-12)
    a.backward(np.ones(a.shape))
    np.testing.assert_allclose(x.grad, kept / (1 - p))  # grad_x = grad_out * mask


def test_expected_value_is_unchanged(rng):
    x = gn.tensor(np.ones(200_000))
    assert ops.dropout(x, 0.3, seed=rng).data.mean() == pytest.approx(1.0, abs=0.01)


def test_same_seed_same_mask_other_seed_other_mask():
    x = gn.tensor(np.ones((8, 8)))
    first, again = ops.dropout(x, 0.5, seed=7), ops.dropout(x, 0.5, seed=7)
    other = ops.dropout(x, 0.5, seed=8)
    np.testing.assert_array_equal(first.data, again.data)
    assert (first.data != other.data).any()


def test_a_generator_advances_between_calls():
    x, rng = gn.tensor(np.ones((8, 8))), np.random.default_rng(3)
    assert (ops.dropout(x, 0.5, seed=rng).data != ops.dropout(x, 0.5, seed=rng).data).any()


def test_float32_mask_keeps_float32():
    a = ops.dropout(gn.tensor(np.ones((3, 3), np.float32)), 0.5, seed=0)
    assert a.dtype == np.float32
    assert set(np.unique(a.data)) <= {0.0, 2.0}


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_p_outside_0_1_is_rejected(p):
    with pytest.raises(ValueError, match=rf"dropout: expected p in \[0, 1\), got {p}"):
        ops.dropout(gn.tensor(np.ones(3)), p)
