"""Behaviour of inverted dropout: identity at evaluation, survivors scaled by 1 / (1 - p),
the keep fraction, and masks that a seed reproduces; dropout2d drops whole feature maps."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.errors import ShapeError


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


# ---- dropout2d: whole feature maps -----------------------------------------------------------


def test_dropout2d_zeroes_whole_maps_and_scales_the_rest(rng):
    x = gn.tensor(rng.uniform(1.0, 2.0, (40, 50, 3, 2)), requires_grad=True)
    a = ops.dropout2d(x, 0.4, seed=2)
    kept = a.data != 0
    per_map = kept.reshape(40, 50, -1)
    assert (per_map.all(axis=-1) | ~per_map.any(axis=-1)).all()  # all or nothing per map
    assert abs(per_map[..., 0].mean() - 0.6) < 0.05  # 2,000 maps: the std of the mean is 0.011
    np.testing.assert_allclose(a.data[kept], x.data[kept] / 0.6, rtol=1e-12)
    a.backward(np.ones(a.shape))
    np.testing.assert_allclose(x.grad, kept / 0.6)


def test_dropout2d_eval_and_p_zero_are_the_identity():
    x = gn.tensor(np.ones((2, 3, 4, 4)))
    assert ops.dropout2d(x, 0.5, seed=0, training=False) is x
    assert ops.dropout2d(x, 0.0, seed=0) is x


def test_dropout2d_rejects_other_ranks_and_p_outside_0_1():
    with pytest.raises(ShapeError, match=r"dropout2d: expected input of shape \(N, C, H, W\) or "
                                         r"\(N, C, L\), got \(2, 3\)"):  # fmt: skip
        ops.dropout2d(gn.tensor(np.ones((2, 3))), 0.5)
    with pytest.raises(ValueError, match=r"dropout2d: expected p in \[0, 1\), got 1.0"):
        ops.dropout2d(gn.tensor(np.ones((2, 3, 4, 4))), 1.0)


def test_dropout2d_same_seed_same_maps():
    x = gn.tensor(np.ones((4, 6, 2, 2)))
    first, again = ops.dropout2d(x, 0.5, seed=5), ops.dropout2d(x, 0.5, seed=5)
    np.testing.assert_array_equal(first.data, again.data)
