"""Gradient clipping by norm and by value, standalone and through an optimizer's attributes."""

import numpy as np
import pytest

from glassnet.nn import Parameter
from glassnet.optim import SGD
from glassnet.optim.clip import clip_grad_norm, clip_grad_value
from tests.conftest import require


def _params():
    a, b = Parameter(np.array([3.0, 0.0])), Parameter(np.array([[4.0]]))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([[4.0]])
    return a, b


def test_clip_grad_norm_scales_all_gradients_together():
    a, b = _params()
    total = clip_grad_norm([a, b], 1.0)  # joint norm sqrt(9 + 16) = 5
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [3 / 5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad, [[4 / 5]], rtol=1e-6)
    assert clip_grad_norm([a, b], 10.0) == pytest.approx(1.0, rel=1e-6)  # below: unchanged
    np.testing.assert_allclose(a.grad, [3 / 5, 0.0], rtol=1e-6)


def test_clip_grad_value_clips_each_element():
    a, b = _params()
    clip_grad_value([a, b], 3.5)
    np.testing.assert_array_equal(a.grad, [3.0, 0.0])
    np.testing.assert_array_equal(b.grad, [[3.5]])


def test_clip_grad_norm_matches_torch():
    torch = require("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    params = [Parameter(a.copy()) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = 3 * a
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    for t, a in zip(tparams, arrays):
        t.grad = torch.tensor(3 * a)
    total = clip_grad_norm(params, 0.5)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, 0.5)
    assert total == pytest.approx(float(ttotal), rel=1e-12)
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_an_optimizer_clips_before_its_step():
    a, b = _params()
    opt = SGD([a, b], lr=1.0)
    opt.clip_norm = 1.0
    opt.step()
    np.testing.assert_allclose(a.data, [3.0 - 0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.data, [[4.0 - 0.8]], rtol=1e-6)
    a.grad, b.grad = np.array([10.0, -10.0]), np.array([[0.5]])
    opt.clip_norm, opt.clip_value = None, 1.0
    opt.step()
    np.testing.assert_allclose(a.data, [2.4 - 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(b.data, [[3.2 - 0.5]], rtol=1e-6)


def test_clipping_validates_its_bound():
    with pytest.raises(ValueError, match=r"clip_grad_norm: expected max_norm > 0, got 0"):
        clip_grad_norm([], 0)
    with pytest.raises(ValueError, match=r"clip_grad_value: expected clip_value > 0, got -1"):
        clip_grad_value([], -1)
