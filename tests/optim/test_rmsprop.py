"""RMSprop: hand-worked steps, the torch oracle, weight decay, by name through fit, errors."""

import numpy as np
import pytest

from glassnet import optim
from glassnet.nn import Parameter
from glassnet.optim import RMSprop
from tests.conftest import require

from ._oracle import compare_with_torch, fit_losses, linear_steps, quadratic_steps, refusals


def test_two_steps_by_hand_on_the_quadratic():
    # E = 1/2 sum w^2 (g = w), w0 = [1, -2], eta = 0.01, alpha = 0.99, eps = 1e-8:
    # step 1: v = 0.01 g^2 = [0.01, 0.04], sqrt(v) = [0.1, 0.2] = 0.1 |g|  (no bias correction)
    #         w = w0 - 0.01 g / (0.1 |g| + 1e-8) = [1 - 0.0999999900, -2 + 0.0999999950]
    #           ~ [0.9, -1.9]    (a bias-corrected v would give steps of 0.01)
    # step 2: g = w1 ~ [0.9, -1.9]
    #         v = 0.99 [0.01, 0.04] + 0.01 [0.81, 3.61] = [0.0099 + 0.0081, 0.0396 + 0.0361]
    #           = [0.018, 0.0757],  sqrt(v) = [0.1341641, 0.2751363]
    #         w = [0.9 - 0.009 / 0.1341641, -1.9 + 0.019 / 0.2751363] = [0.8329180, -1.8309433]
    w1, w2 = quadratic_steps(lambda p: RMSprop(p, lr=0.01), [1.0, -2.0])
    np.testing.assert_allclose(w1, [1 - 0.01 / (0.1 + 1e-8), -2 + 0.02 / (0.2 + 1e-8)], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.8329180, -1.8309433], rtol=1e-7)


def test_alpha_zero_is_sign_descent():
    # alpha = 0: v = g^2, so each step is eta * g / |g| = eta * sign(g), whatever |g|
    (w1,) = linear_steps(
        lambda p: RMSprop(p, lr=0.1, alpha=0.0), [0.0, 0.0], [1e-3, -50.0], steps=1
    )
    np.testing.assert_allclose(w1, [-0.1, 0.1], rtol=1e-4)


def test_weight_decay_two_steps_by_hand():
    # E = sum w (g = 1), weight_decay 0.5: g' = 1 + 0.5 w; w0 = [1, 2], eta = 0.01, alpha = 0.99.
    # step 1: g' = [1.5, 2], v = 0.01 g'^2, sqrt(v) = 0.1 g':  w ~ w0 - 0.1 = [0.9, 1.9]
    # step 2: g' = [1.45, 1.95], v = 0.99 * 0.01 [2.25, 4] + 0.01 [2.1025, 3.8025]
    #           = [0.043300, 0.077625],  sqrt(v) = [0.2080865, 0.2786126]
    #         w = [0.9 - 0.0145 / 0.2080865, 1.9 - 0.0195 / 0.2786126] = [0.8303175, 1.8300104]
    #   (without decay v = [0.0199, 0.0199] and w2 = w1 - 0.01 / 0.1410674 = w1 - 0.0708881)
    w1, w2 = linear_steps(lambda p: RMSprop(p, lr=0.01, weight_decay=0.5), [1.0, 2.0], [1.0, 1.0])
    np.testing.assert_allclose(w1, [0.9, 1.9], rtol=1e-7)
    np.testing.assert_allclose(w2, [0.8303175, 1.8300104], atol=1e-7)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"lr": 0.005, "alpha": 0.9, "eps": 1e-4}, {"lr": 0.01, "weight_decay": 0.1}],
    ids=["default", "alpha_eps", "weight_decay"],
)
def test_twenty_steps_match_torch(kwargs):
    torch = require("torch")
    compare_with_torch(
        torch, lambda p: RMSprop(p, **kwargs), lambda p: torch.optim.RMSprop(p, **kwargs)
    )


def test_by_name_and_in_fit():
    params = [Parameter(np.zeros(2))]
    opt = optim.get("rmsprop", params)
    assert type(opt) is RMSprop and (opt.lr, opt.alpha, opt.eps) == (0.01, 0.99, 1e-8)
    assert optim.get("rmsprop", params, lr=0.5).lr == 0.5
    losses = fit_losses("rmsprop")
    assert losses[-1] < 0.1 * losses[0], losses


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("kwargs, message", refusals(
    lr=("> 0", [0, -0.01]),
    alpha=("in [0, 1)", [-0.1, 1.0, 1.5]),
    eps=("> 0", [0, -1e-8]),
))
def test_bad_hyperparameters_name_the_culprit(kwargs, message):
    with pytest.raises(ValueError, match=f"RMSprop: {message}"):
        RMSprop(_params(), **kwargs)
