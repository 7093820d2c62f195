"""Adadelta: hand-worked steps, the torch oracle, lr and weight decay, by name through fit,
errors."""

import numpy as np
import pytest

from glassnet import optim
from glassnet.nn import Parameter
from glassnet.optim import Adadelta
from tests.conftest import require

from ._oracle import compare_with_torch, fit_losses, linear_steps, quadratic_steps, refusals


def test_two_steps_by_hand_on_the_quadratic():
    # E = 1/2 sum w^2 (g = w), w0 = [1, -2], eta = 1, rho = 0.9, eps = 1e-6:
    # step 1: E_g2 = 0.1 g^2 = [0.1, 0.4],  RMS[g] = sqrt(E_g2 + eps) = [0.3162293, 0.6324563]
    #         RMS[dx] = sqrt(0 + eps) = 0.001
    #         dx = -0.001 / RMS[g] * g = [-0.0031623, 0.0031623],  w = [0.9968377, -1.9968377]
    #         E_dx2 = 0.1 dx^2 = [0.99999e-6, 0.99999e-6]
    # step 2: g = w1,  E_g2 = 0.9 [0.1, 0.4] + 0.1 w1^2 = [0.1893685, 0.7587361]
    #         RMS[g] = [0.4351661, 0.8710552],  RMS[dx] = sqrt(E_dx2 + eps) = [0.0014142, 0.0014142]
    #         dx = [-0.0014142 / 0.4351661 * 0.9968377, 0.0014142 / 0.8710552 * 1.9968377]
    #            = [-0.0032395, 0.0032420],  w = [0.9935982, -1.9935957]
    w1, w2 = quadratic_steps(lambda p: Adadelta(p), [1.0, -2.0])
    np.testing.assert_allclose(w1, [0.9968377, -1.9968377], atol=1e-7)
    np.testing.assert_allclose(w2, [0.9935982, -1.9935957], atol=1e-7)
    g1 = np.array([1.0, -2.0])
    np.testing.assert_allclose(w1, g1 - 1e-3 / np.sqrt(0.1 * g1**2 + 1e-6) * g1, rtol=1e-14)


def test_lr_scales_the_step_but_not_the_accumulated_dx():
    # torch's form: w = w + eta dx, E_dx2 accumulates dx (not eta dx). eta = 0.5, g = 1 always:
    # step 1: E_g2 = 0.1, dx1 = -sqrt(1e-6) / sqrt(0.100001) = -0.0031623, w1 = 0.5 dx1
    #         E_dx2 = 0.1 dx1^2 = 1.0e-6   (0.25e-6 if eta dx were accumulated)
    # step 2: E_g2 = 0.19, dx2 = -sqrt(E_dx2 + 1e-6) / sqrt(0.190001),  w2 = w1 + 0.5 dx2
    eps, eta = 1e-6, 0.5
    dx1 = -np.sqrt(eps) / np.sqrt(0.1 + eps)
    e_dx2 = 0.1 * dx1**2
    dx2 = -np.sqrt(e_dx2 + eps) / np.sqrt(0.19 + eps)
    w1, w2 = linear_steps(lambda p: Adadelta(p, lr=eta), [0.0], [1.0])
    assert w1[0] == pytest.approx(eta * dx1, rel=1e-14)
    assert w2[0] == pytest.approx(eta * (dx1 + dx2), rel=1e-14)
    scaled = eta * dx1 - eta * np.sqrt(0.1 * (eta * dx1) ** 2 + eps) / np.sqrt(0.19 + eps)
    assert abs(w2[0] - scaled) > 1e-4


def test_weight_decay_changes_the_gradient():
    # E = sum w (g = 1), weight_decay 2, w0 = [-1]: g' = 1 + 2 * (-1) = -1, so w grows:
    # step 1: dx = -0.001 / sqrt(0.1 + 1e-6) * (-1) = +0.0031623
    (w1,) = linear_steps(lambda p: Adadelta(p, weight_decay=2.0), [-1.0], [1.0], steps=1)
    assert w1[0] == pytest.approx(-1 + 1e-3 / np.sqrt(0.1 + 1e-6), rel=1e-14)


@pytest.mark.parametrize(
    "kwargs",
    [{"eps": 1e-4}, {"lr": 0.5, "rho": 0.95, "eps": 1e-4}, {"eps": 1e-4, "weight_decay": 0.1}],
    ids=["eps", "lr_rho", "weight_decay"],
)
def test_twenty_steps_match_torch(kwargs):
    torch = require("torch")
    compare_with_torch(
        torch, lambda p: Adadelta(p, **kwargs), lambda p: torch.optim.Adadelta(p, **kwargs)
    )


def test_by_name_and_in_fit():
    params = [Parameter(np.zeros(2))]
    opt = optim.get("adadelta", params)
    assert type(opt) is Adadelta and (opt.lr, opt.rho, opt.eps) == (1.0, 0.9, 1e-6)
    assert optim.get("adadelta", params, lr=0.5).lr == 0.5
    losses = fit_losses("adadelta")
    assert losses[-1] < 0.7 * losses[0], losses  # Adadelta starts slowly (steps ~ sqrt(eps))


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("kwargs, message", refusals(
    lr=("> 0", [0, -1.0]),
    rho=("in [0, 1)", [-0.1, 1.0, 1.5]),
    eps=("> 0", [0, -1e-6]),
))
def test_bad_hyperparameters_name_the_culprit(kwargs, message):
    with pytest.raises(ValueError, match=f"Adadelta: {message}"):
        Adadelta(_params(), **kwargs)
