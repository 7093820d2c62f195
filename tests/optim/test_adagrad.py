"""Adagrad: hand-worked steps, the torch oracle, weight decay, by name through fit, errors."""

import numpy as np
import pytest

from glassnet import optim
from glassnet.nn import Parameter
from glassnet.optim import Adagrad
from tests.conftest import require

from ._oracle import compare_with_torch, fit_losses, linear_steps, quadratic_steps, refusals


def test_two_steps_by_hand_on_the_quadratic():
    # E = 1/2 sum w^2 (g = w), w0 = [1, -2], eta = 0.1, eps = 1e-10 (negligible here):
    # step 1: G = [1, 4], sqrt(G) = [1, 2];  w = [1 - 0.1 * 1/1, -2 + 0.1 * 2/2] = [0.9, -1.9]
    # step 2: g = [0.9, -1.9], G = [1 + 0.81, 4 + 3.61] = [1.81, 7.61],
    #         sqrt(G) = [1.3453624, 2.7586228]
    #         w = [0.9 - 0.09 / 1.3453624, -1.9 + 0.19 / 2.7586228]
    #           = [0.9 - 0.0668965, -1.9 + 0.0688749] = [0.8331035, -1.8311251]
    w1, w2 = quadratic_steps(lambda p: Adagrad(p, lr=0.1), [1.0, -2.0])
    np.testing.assert_allclose(w1, [0.9, -1.9], rtol=1e-9)
    np.testing.assert_allclose(w2, [0.8331035, -1.8311251], rtol=1e-7)
    np.testing.assert_allclose(
        w2, [0.9 - 0.09 / np.sqrt(1.81), -1.9 + 0.19 / np.sqrt(7.61)], rtol=1e-9
    )


def test_eps_is_added_to_sqrt_G_not_inside():
    # one step from w = 1 (g = 1), eta = 0.1, eps = 1: G = 1
    # torch / glassnet: w = 1 - 0.1 * 1 / (sqrt(1) + 1) = 0.95;  sqrt(G + eps) would give 0.9292893
    (w1,) = quadratic_steps(lambda p: Adagrad(p, lr=0.1, eps=1.0), [1.0], steps=1)
    assert w1[0] == pytest.approx(0.95, rel=1e-15)


def test_steps_shrink_as_squared_gradients_accumulate():
    # E = sum w (g = 1 always): step k moves w by eta / sqrt(k): 0.1, 0.0707107, 0.0577350
    w1, w2, w3 = linear_steps(lambda p: Adagrad(p, lr=0.1), [0.0], [1.0], steps=3)
    np.testing.assert_allclose([w1[0], w2[0] - w1[0], w3[0] - w2[0]],
                               [-0.1, -0.1 / np.sqrt(2), -0.1 / np.sqrt(3)], rtol=1e-9)  # fmt: skip


def test_weight_decay_two_steps_by_hand():
    # E = sum w (g = 1), weight_decay 0.5: g' = 1 + 0.5 w; w0 = [1, 2], eta = 0.1.
    # step 1: g' = [1.5, 2], G = [2.25, 4]:  w = w0 - 0.1 = [0.9, 1.9]
    # step 2: g' = [1.45, 1.95], G = [4.3525, 7.8025], sqrt(G) = [2.0862646, 2.7932955]
    #         w = [0.9 - 0.145 / 2.0862646, 1.9 - 0.195 / 2.7932955] = [0.8304978, 1.8301900]
    #   (without decay G = [2, 2] and w2 = w1 - 0.1 / sqrt(2) = [0.8292893, 1.8292893])
    w1, w2 = linear_steps(lambda p: Adagrad(p, lr=0.1, weight_decay=0.5), [1.0, 2.0], [1.0, 1.0])
    np.testing.assert_allclose(w1, [0.9, 1.9], rtol=1e-9)
    np.testing.assert_allclose(w2, [0.8304978, 1.8301900], rtol=1e-7)


@pytest.mark.parametrize(
    "kwargs",
    [{"lr": 0.1}, {"lr": 0.05, "eps": 1e-3}, {"lr": 0.1, "weight_decay": 0.1}],
    ids=["lr", "eps", "weight_decay"],
)
def test_twenty_steps_match_torch(kwargs):
    torch = require("torch")
    compare_with_torch(
        torch, lambda p: Adagrad(p, **kwargs), lambda p: torch.optim.Adagrad(p, **kwargs)
    )


def test_by_name_and_in_fit():
    params = [Parameter(np.zeros(2))]
    opt = optim.get("adagrad", params)
    assert type(opt) is Adagrad and opt.lr == 0.01 and opt.eps == 1e-10
    assert optim.get("adagrad", params, lr=0.5).lr == 0.5
    losses = fit_losses("adagrad", lr=0.1)
    assert losses[-1] < 0.1 * losses[0], losses


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("kwargs, message", refusals(
    lr=("> 0", [0, -0.01]),
    eps=("> 0", [0, -1e-10]),
    weight_decay=(">= 0", [-0.1]),
))
def test_bad_hyperparameters_name_the_culprit(kwargs, message):
    with pytest.raises(ValueError, match=f"Adagrad: {message}"):
        Adagrad(_params(), **kwargs)
