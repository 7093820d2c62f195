"""Adam: hand-worked steps, the torch oracle, weight decay, errors, resuming from state."""

import math

import numpy as np
import pytest

from glassnet.nn import Parameter
from glassnet.optim import Adam
from tests.conftest import require

from ._oracle import (
    compare_with_torch,
    data,
    linear_steps,
    mlp,
    quadratic_steps,
    refusals,
    torch_betas,
    torch_twin,
    train_glassnet,
    train_torch,
)


def test_two_steps_by_hand_on_the_quadratic():
    # E = 1/2 sum w^2 (g = w), w0 = [1, -2], eta = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    # step 1 (t = 1): m = 0.1 g, v = 0.001 g^2, so m_hat = g, v_hat = g^2 and
    #   w = w0 - 0.1 g / (|g| + 1e-8) = [1 - 0.1/(1 + 1e-8), -2 + 0.1 * 2/(2 + 1e-8)] ~ [0.9, -1.9]
    # step 2 (t = 2), w1 ~ [0.9, -1.9]:
    #   m = 0.9 * 0.1 [1, -2] + 0.1 w1 ~ [0.18, -0.37],  m_hat = m / 0.19 ~ [0.94737, -1.94737]
    #   v = 0.999 * 0.001 [1, 4] + 0.001 w1^2 ~ [0.001809, 0.007606],
    #   v_hat = v / 0.001999 ~ [0.90495, 3.80490],  sqrt ~ [0.95129, 1.95062]
    #   w = w1 - 0.1 m_hat / (sqrt(v_hat) + eps) ~ [0.8004122, -1.8001665]
    eta, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    g0 = np.array([1.0, -2.0])
    w1 = g0 - eta * g0 / (np.abs(g0) + eps)
    m = b1 * (1 - b1) * g0 + (1 - b1) * w1
    v = b2 * (1 - b2) * g0**2 + (1 - b2) * w1**2
    w2 = w1 - eta * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(w2, [0.8004122297, -1.8001664866], rtol=1e-9)  # the decimals above

    got1, got2 = quadratic_steps(lambda p: Adam(p, lr=0.1), [1.0, -2.0])
    np.testing.assert_allclose(got1, w1, rtol=1e-14)
    np.testing.assert_allclose(got2, w2, rtol=1e-13)


def test_eps_is_added_to_sqrt_v_hat_not_sqrt_v():
    # one step with g = eps = 1e-4, eta = 0.1: m = 1e-5, v = 1e-11, m_hat = g, v_hat = g^2
    # torch / paper (glassnet):  w = -eta m_hat / (sqrt(v_hat) + eps) = -0.1 g / (2 g) = -0.05
    # Keras / sklearn form:      w = -eta sqrt(1 - beta2) / (1 - beta1) m / (sqrt(v) + eps)
    #                              = -0.0316228 * 1e-5 / (3.16228e-6 + 1e-4) ~ -0.0030654
    (w1,) = linear_steps(lambda p: Adam(p, lr=0.1, eps=1e-4), [0.0], [1e-4], steps=1)
    assert w1[0] == pytest.approx(-0.05, rel=1e-12)
    keras_form = -0.1 * math.sqrt(1 - 0.999) / (1 - 0.9) * 1e-5 / (math.sqrt(1e-11) + 1e-4)
    assert keras_form == pytest.approx(-0.0030654, rel=1e-4)


def test_weight_decay_two_steps_by_hand():
    # E = sum w (g = 1, constant), weight_decay 0.5: g' = 1 + 0.5 w; w0 = [1, 2], eta = 0.1.
    # (On E = 1/2 w^2 decay would only rescale g, which Adam cannot see, hence a linear E.)
    # step 1: g' = [1.5, 2.0], m_hat = g', v_hat = g'^2:  w ~ w0 - 0.1 = [0.9, 1.9]
    # step 2: g' = 1 + 0.5 w1 ~ [1.45, 1.95]
    #   m = 0.9 * 0.1 [1.5, 2] + 0.1 [1.45, 1.95] = [0.28, 0.375],  m_hat = m / 0.19
    #   v = 0.999 * 0.001 [2.25, 4] + 0.001 [2.1025, 3.8025] = [0.00435025, 0.0077985]
    #   w ~ [0.9 - 0.0998973, 1.9 - 0.0999260] = [0.8001027, 1.8000740]
    #   (without decay g = 1 every step and w2 = [0.8, 1.8] exactly, up to eps)
    eta, b1, b2, eps, lam = 0.1, 0.9, 0.999, 1e-8, 0.5
    w0 = np.array([1.0, 2.0])
    g0 = 1.0 + lam * w0
    w1 = w0 - eta * g0 / (np.abs(g0) + eps)
    g1 = 1.0 + lam * w1
    m = b1 * (1 - b1) * g0 + (1 - b1) * g1
    v = b2 * (1 - b2) * g0**2 + (1 - b2) * g1**2
    w2 = w1 - eta * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(w2, [0.8001027, 1.8000740], atol=1e-7)

    got1, got2 = linear_steps(lambda p: Adam(p, lr=0.1, weight_decay=lam), w0, [1.0, 1.0])
    np.testing.assert_allclose(got1, w1, rtol=1e-14)
    np.testing.assert_allclose(got2, w2, rtol=1e-13)
    no_decay = linear_steps(lambda p: Adam(p, lr=0.1), w0, [1.0, 1.0])[1]
    assert np.abs(got2 - no_decay).min() > 5e-5


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"lr": 0.01},
        {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.02, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6},
    ],
    ids=["default", "lr", "weight_decay", "betas_eps"],
)
def test_twenty_steps_match_torch(kwargs):
    torch = require("torch")

    if not kwargs:  # the default lr (1e-3) moves weights little in 20 steps: compare tightly
        X, Y = data()
        net = mlp()
        model = torch_twin(torch, net)
        ours = train_glassnet(net, Adam(net.parameters()), 20, X, Y)
        theirs = train_torch(torch, model, torch.optim.Adam(model.parameters()), 20, X, Y)
        for w, q in zip(ours, theirs):
            np.testing.assert_allclose(w, q.detach().numpy(), rtol=1e-10, atol=1e-12)
        return
    torch_adam = lambda p: torch.optim.Adam(p, **torch_betas(kwargs))  # noqa: E731
    compare_with_torch(torch, lambda p: Adam(p, **kwargs), torch_adam)


def test_state_dict_continues_the_same_trajectory():
    X, Y = data()
    net = mlp()
    opt = Adam(net.parameters(), lr=0.05)
    train_glassnet(net, opt, 4, X, Y)
    model_state, opt_state = net.state_dict(), opt.state_dict()
    assert opt_state["t"] == 4 and "state.0.m" in opt_state and "state.3.v" in opt_state
    reference = train_glassnet(net, opt, 3, X, Y)
    # the saved state is a copy: training on did not change it
    assert opt_state["t"] == 4

    twin = mlp(seed=9)
    twin_opt = Adam(twin.parameters(), lr=0.05)
    twin.load_state_dict(model_state)
    twin_opt.load_state_dict(opt_state)
    resumed = train_glassnet(twin, twin_opt, 3, X, Y)
    for a, b in zip(reference, resumed):
        np.testing.assert_array_equal(a, b)
    # without the optimizer state (fresh moments, t = 0) the trajectory differs
    fresh = mlp(seed=9)
    fresh.load_state_dict(model_state)
    restarted = train_glassnet(fresh, Adam(fresh.parameters(), lr=0.05), 3, X, Y)
    assert not np.allclose(restarted[0], reference[0])


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("kwargs, message", refusals(
    beta1=("in [0, 1)", [1.0, -0.1, 1.5]),
    beta2=("in [0, 1)", [1.0, -0.1, 1.5]),
    lr=("> 0", [0, -1e-3]),
    eps=("> 0", [0]),
))
def test_bad_hyperparameters_name_the_culprit(kwargs, message):
    with pytest.raises(ValueError, match=f"Adam: {message}"):
        Adam(_params(), **kwargs)


def test_empty_params():
    with pytest.raises(ValueError, match=r"Adam: expected parameters to optimize, got none"):
        Adam([])


def test_beta_zero_is_allowed():
    # beta1 = 0, beta2 = 0: m_hat = g, v_hat = g^2, every step is eta * sign(g)
    (w1,) = quadratic_steps(lambda p: Adam(p, lr=0.1, beta1=0.0, beta2=0.0), [3.0, -0.5], steps=1)
    np.testing.assert_allclose(w1, [2.9, -0.4], rtol=1e-7)
