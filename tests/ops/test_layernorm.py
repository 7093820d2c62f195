"""ops.layer_norm beyond the spec table: the composition it fuses, edge cases, the checks of
its wrapper."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.errors import ShapeError


def _composed(x, gamma, beta, eps):
    """The same normalisation built from primitive ops (mean, sub, mul, sqrt, div)."""
    mu = ops.mean(x, axis=-1, keepdims=True)
    centred = x - mu
    var = ops.mean(centred * centred, axis=-1, keepdims=True)
    return centred / ops.sqrt(var + eps) * gamma + beta


def test_fused_op_equals_the_composition_of_primitives_values_and_gradients(rng):
    arrays = rng.normal(size=(3, 4, 6)), rng.normal(size=6), rng.normal(size=6)
    upstream = rng.uniform(0.5, 1.5, (3, 4, 6))
    grads = []
    for f in (lambda x, g, b: ops.layer_norm(x, 6, g, b, eps=1e-3),
              lambda x, g, b: _composed(x, g, b, 1e-3)):  # fmt: skip
        leaves = [gn.tensor(a, requires_grad=True) for a in arrays]
        out = f(*leaves)
        out.backward(upstream)
        grads.append([out.data] + [t.grad for t in leaves])
    for fused, composed in zip(*grads):
        np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


def test_each_sample_is_normalised_on_its_own():
    x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])
    y = ops.layer_norm(gn.tensor(x), 3, eps=1e-12).data
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(y[0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)], rtol=1e-9)
    one = ops.layer_norm(gn.tensor(x[:1]), 3, eps=1e-12).data  # a batch of one is fine
    np.testing.assert_allclose(one, y[:1])


def test_a_constant_sample_gives_beta_and_finite_gradients():
    x = gn.tensor(np.full((2, 4), 3.0), requires_grad=True)
    gamma = gn.tensor(np.full(4, 2.0), requires_grad=True)
    beta = gn.tensor(np.arange(4.0), requires_grad=True)
    y = ops.layer_norm(x, (4,), gamma, beta)
    np.testing.assert_array_equal(y.data, [[0, 1, 2, 3]] * 2)
    y.backward(np.ones((2, 4)))
    assert np.isfinite(x.grad).all() and np.isfinite(gamma.grad).all()
    np.testing.assert_array_equal(beta.grad, [2, 2, 2, 2])


def test_plain_arrays_are_constants_of_the_weights_dtype():
    w = gn.tensor(np.ones(3, np.float32), requires_grad=True)
    y = ops.layer_norm(np.arange(6.0).reshape(2, 3), 3, w)
    assert y.dtype == np.float32
    y.backward(np.ones((2, 3), np.float32))
    assert w.grad.dtype == np.float32 and w.grad.shape == (3,)


@pytest.mark.parametrize(
    ("x_shape", "normalized_shape", "kwargs", "error", "match"),
    [((2, 3), 4, {}, ShapeError, r"expected x of shape \(\.\.\., 4\).*got \(2, 3\)"),
     ((3,), (2, 3), {}, ShapeError, r"\(\.\.\., 2, 3\).*got \(3,\)"),
     ((2, 3), 3, {"weight": np.ones(4)}, ShapeError, r"weight of shape \(3,\).*got \(4,\)"),
     ((2, 3), 3, {"bias": np.ones((1, 3))}, ShapeError, r"bias of shape \(3,\).*got \(1, 3\)"),
     ((2, 3), 0, {}, ValueError, "normalized_shape to be a positive int.*got 0"),
     ((2, 3), (), {}, ValueError, r"normalized_shape.*got \(\)"),
     ((2, 3), "3", {}, ValueError, "normalized_shape.*got '3'"),
     ((2, 3), 3, {"eps": 0.0}, ValueError, "eps > 0, got 0.0")],
)  # fmt: skip
def test_bad_arguments_are_named(x_shape, normalized_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        ops.layer_norm(gn.tensor(np.zeros(x_shape)), normalized_shape, **kwargs)
