"""AdamW: hand-worked steps, decoupled decay against Adam's coupled one, the torch oracle,
by name through fit, errors."""

import numpy as np
import pytest

from glassnet import optim
from glassnet.nn import Parameter
from glassnet.optim import Adam, AdamW
from tests.conftest import require

from ._oracle import (
    compare_with_torch,
    data,
    fit_losses,
    mlp,
    quadratic_steps,
    refusals,
    torch_betas,
    train_glassnet,
)

B1, B2, EPS = 0.9, 0.999, 1e-8


def _adam_step(w, g, m, v, t, eta):
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g * g
    return w - eta * (m / (1 - B1**t)) / (np.sqrt(v / (1 - B2**t)) + EPS), m, v


def test_two_steps_by_hand_decoupled_decay():
    # E = 1/2 sum w^2 (g = w), w0 = [1, -2], eta = 0.1, weight_decay = 0.5 (shrink 1 - 0.05):
    # step 1: g = [1, -2] (at w0);  decay: w = 0.95 w0 = [0.95, -1.9]
    #         Adam: m_hat = g, v_hat = g^2, step = 0.1 sign(g):  w = [0.85, -1.8]
    # step 2: g = w1 = [0.85, -1.8];  decay: w = 0.95 w1 = [0.8075, -1.71]
    #         m = 0.09 [1, -2] + 0.1 [0.85, -1.8] = [0.175, -0.36],  m_hat = m / 0.19
    #           = [0.9210526, -1.8947368]
    #         v = 0.000999 [1, 4] + 0.001 [0.7225, 3.24] = [0.0017215, 0.007236],
    #         v_hat = v / 0.001999 = [0.8611806, 3.6198099],  sqrt = [0.9279982, 1.9025798]
    #         w = [0.8075 - 0.1 * 0.9925157, -1.71 + 0.1 * 0.9958777] = [0.7082484, -1.6104122]
    w1, w2 = quadratic_steps(lambda p: AdamW(p, lr=0.1, weight_decay=0.5), [1.0, -2.0])
    np.testing.assert_allclose(w1, [0.85, -1.8], rtol=1e-8)
    np.testing.assert_allclose(w2, [0.7082484, -1.6104122], atol=1e-7)
    # the same with the formula
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t, got in ((1, w1), (2, w2)):
        g = w.copy()
        w, m, v = _adam_step(0.95 * w, g, m, v, t, 0.1)
        np.testing.assert_allclose(got, w, rtol=1e-14)


def test_decoupled_decay_differs_from_adams_coupled_decay():
    # Adam(weight_decay=0.5) adds the decay to g: g' = g + 0.5 w = 1.5 w on this quadratic, and
    # Adam's normalisation removes the factor 1.5 again, so step 1 is w0 - 0.1 sign(w0):
    # Adam:  w1 = [0.9, -1.9],  w2 = [0.8004122, -1.8001665]
    # AdamW: w1 = [0.85, -1.8], w2 = [0.7082484, -1.6104122]
    coupled = quadratic_steps(lambda p: Adam(p, lr=0.1, weight_decay=0.5), [1.0, -2.0])
    decoupled = quadratic_steps(lambda p: AdamW(p, lr=0.1, weight_decay=0.5), [1.0, -2.0])
    np.testing.assert_allclose(coupled[0], [0.9, -1.9], rtol=1e-8)
    np.testing.assert_allclose(coupled[1], [0.8004122, -1.8001665], atol=1e-7)
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t, got in ((1, coupled[0]), (2, coupled[1])):
        w, m, v = _adam_step(w, 1.5 * w, m, v, t, 0.1)
        np.testing.assert_allclose(got, w, rtol=1e-14)
    for a, b in zip(coupled, decoupled):
        assert np.abs(a - b).min() > 0.04


def test_without_decay_it_is_adam():
    X, Y = data()
    initial = [p.data.copy() for p in mlp().parameters()]
    net_w, net_a = mlp(), mlp()
    adamw = train_glassnet(net_w, AdamW(net_w.parameters(), lr=0.01, weight_decay=0.0), 5, X, Y)
    adam = train_glassnet(net_a, Adam(net_a.parameters(), lr=0.01), 5, X, Y)
    for a, b, w0 in zip(adamw, adam, initial):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, w0)


def test_parameters_without_gradient_are_not_decayed_one_by_one():
    used, unused = Parameter(np.array([1.0])), Parameter(np.array([5.0]))
    opt = AdamW([used, unused], lr=0.1, weight_decay=0.5, flatten=False)
    used.grad = np.array([2.0])
    opt.step()
    assert unused.data[0] == 5.0 and used.data[0] == pytest.approx(0.95 - 0.1, rel=1e-8)


def test_on_flat_buffers_a_missing_gradient_is_zero_and_the_weight_decays():
    used, unused = Parameter(np.array([1.0])), Parameter(np.array([5.0]))
    opt = AdamW([used, unused], lr=0.1, weight_decay=0.5)
    used.grad, unused.grad = np.array([2.0]), None
    opt.step()
    # unused: shrunk by 1 - 0.1 * 0.5 = 0.95 and no Adam step (m = 0), as torch with zero grads
    assert unused.data[0] == 5.0 * 0.95 and used.data[0] == pytest.approx(0.95 - 0.1, rel=1e-8)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"lr": 0.01},
        {"lr": 0.01, "weight_decay": 0.5},
        {"lr": 0.02, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6, "weight_decay": 0.1},
    ],
    ids=["default", "lr", "weight_decay", "betas_eps"],
)
def test_twenty_steps_match_torch(kwargs):
    torch = require("torch")

    torch_adamw = lambda p: torch.optim.AdamW(p, **torch_betas(kwargs))  # noqa: E731
    compare_with_torch(torch, lambda p: AdamW(p, **kwargs), torch_adamw)


def test_by_name_and_in_fit():
    params = [Parameter(np.zeros(2))]
    opt = optim.get("adamw", params)
    assert type(opt) is AdamW and (opt.lr, opt.weight_decay) == (1e-3, 1e-2)
    assert optim.get("adamw", params, lr=0.5).lr == 0.5
    assert repr(opt) == "AdamW(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01)"
    losses = fit_losses("adamw", lr=0.05)
    assert losses[-1] < 0.1 * losses[0], losses


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("kwargs, message", refusals(
    lr=("> 0", [0, -1e-3]),
    weight_decay=(">= 0", [-0.01]),
    beta1=("in [0, 1)", [1.0]),
    beta2=("in [0, 1)", [1.0]),
))
def test_bad_hyperparameters_name_the_culprit(kwargs, message):
    with pytest.raises(ValueError, match=f"AdamW: {message}"):
        AdamW(_params(), **kwargs)
