"""SGD: hand-worked trajectories, the torch oracle, the lectures' momentum form, errors."""

import numpy as np
import pytest

from glassnet.nn import Parameter
from glassnet.optim import SGD
from tests.conftest import require

from ._oracle import compare_with_torch, quadratic_steps

W0 = [1.0, -2.0]  # E = 1/2 sum w^2, so g = w


def test_plain_sgd_two_steps_by_hand():
    # eta = 0.1, g = w:
    # step 1: w = [1, -2] - 0.1 [1, -2] = [0.9, -1.8]
    # step 2: w = [0.9, -1.8] - 0.1 [0.9, -1.8] = [0.81, -1.62]
    w1, w2 = quadratic_steps(lambda p: SGD(p, lr=0.1), W0)
    np.testing.assert_allclose(w1, [0.9, -1.8], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.81, -1.62], rtol=1e-15)


def test_momentum_two_steps_by_hand_lecture_form():
    # dw = -eta g + mu dw_old, eta = 0.1, mu = 0.9:
    # step 1: dw = -0.1 [1, -2] = [-0.1, 0.2];                 w = [0.9, -1.8]
    # step 2: dw = -0.1 [0.9, -1.8] + 0.9 [-0.1, 0.2]
    #            = [-0.09 - 0.09, 0.18 + 0.18] = [-0.18, 0.36];  w = [0.72, -1.44]
    w1, w2 = quadratic_steps(lambda p: SGD(p, lr=0.1, momentum=0.9), W0)
    np.testing.assert_allclose(w1, [0.9, -1.8], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.72, -1.44], rtol=1e-14)


def test_nesterov_two_steps_by_hand():
    # v = mu v + g (v starts at g), w := w - eta (g + mu v), eta = 0.1, mu = 0.9:
    # step 1: v = [1, -2];  w = [1, -2] - 0.1 ([1, -2] + 0.9 [1, -2]) = [0.81, -1.62]
    # step 2: g = [0.81, -1.62];  v = 0.9 [1, -2] + g = [1.71, -3.42]
    #         g + mu v = [0.81 + 1.539, -1.62 - 3.078] = [2.349, -4.698]
    #         w = [0.81 - 0.2349, -1.62 + 0.4698] = [0.5751, -1.1502]
    w1, w2 = quadratic_steps(lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True), W0)
    np.testing.assert_allclose(w1, [0.81, -1.62], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.5751, -1.1502], rtol=1e-14)


def test_weight_decay_two_steps_by_hand():
    # g := g + lambda w = w + 0.5 w = 1.5 w, eta = 0.1, so each step multiplies w by 0.85:
    # step 1: w = 0.85 [1, -2] = [0.85, -1.7];  step 2: w = 0.7225 [1, -2] = [0.7225, -1.445]
    w1, w2 = quadratic_steps(lambda p: SGD(p, lr=0.1, weight_decay=0.5), W0)
    np.testing.assert_allclose(w1, [0.85, -1.7], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.7225, -1.445], rtol=1e-14)


def test_momentum_with_weight_decay_by_hand():
    # g' = 1.5 w, eta = 0.1, mu = 0.5, w0 = [1, -2]:
    # step 1: dw = -0.15 [1, -2] = [-0.15, 0.3];   w = [0.85, -1.7]
    # step 2: dw = -0.15 [0.85, -1.7] + 0.5 [-0.15, 0.3] = [-0.2025, 0.405];  w = [0.6475, -1.295]
    w1, w2 = quadratic_steps(lambda p: SGD(p, lr=0.1, momentum=0.5, weight_decay=0.5), W0)
    np.testing.assert_allclose(w1, [0.85, -1.7], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.6475, -1.295], rtol=1e-14)


def test_parameters_without_gradient_are_left_alone():
    used, unused = Parameter(np.array([1.0])), Parameter(np.array([5.0]))
    opt = SGD([used, unused], lr=0.1, momentum=0.9)
    opt.zero_grad()
    (used * used).sum().backward()
    opt.step()
    assert unused.data[0] == 5.0 and used.data[0] == pytest.approx(0.8)
    assert opt.t == 1


# -- the lectures' momentum and torch's ---------------------------------------------------


def test_lecture_momentum_after_an_lr_change_by_hand():
    # E = 1/2 w^2, w0 = 1, mu = 0.9; eta = 0.1 for step 1, then 0.2 for step 2.
    # lectures (glassnet): step 1: dw = -0.1 * 1 = -0.1, w = 0.9
    #                      step 2: dw = -0.2 * 0.9 + 0.9 * (-0.1) = -0.27, w = 0.63
    # torch:               step 1: v = 1, w = 1 - 0.1 * 1 = 0.9
    #                      step 2: v = 0.9 * 1 + 0.9 = 1.8, w = 0.9 - 0.2 * 1.8 = 0.54
    # the old step keeps the eta it was taken with in the lectures' form, torch rescales it.
    w1, w2 = quadratic_steps(lambda p: SGD(p, lr=0.1, momentum=0.9), [1.0], lr_schedule=[0.1, 0.2])
    assert w1[0] == pytest.approx(0.9, rel=1e-15)
    assert w2[0] == pytest.approx(0.63, rel=1e-14)
    assert w2[0] != pytest.approx(0.54, rel=1e-3)


def test_lecture_momentum_differs_from_torch_after_an_lr_change():
    torch = require("torch")
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    for lr in (0.1, 0.2):
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        (0.5 * (w * w).sum()).backward()
        opt.step()
    torch_w2 = w.detach().numpy()[0]
    (_, ours_w2) = quadratic_steps(
        lambda p: SGD(p, lr=0.1, momentum=0.9), [1.0], lr_schedule=[0.1, 0.2]
    )
    assert torch_w2 == pytest.approx(0.54, rel=1e-14)
    assert ours_w2[0] == pytest.approx(0.63, rel=1e-14)
    assert not np.isclose(ours_w2[0], torch_w2)


def test_lecture_momentum_equals_torch_for_a_constant_lr_on_the_quadratic():
    torch = require("torch")
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05, momentum=0.8)
    for _ in range(10):
        opt.zero_grad()
        (0.5 * (w * w).sum()).backward()
        opt.step()
    ours = quadratic_steps(lambda p: SGD(p, lr=0.05, momentum=0.8), W0, steps=10)[-1]
    np.testing.assert_allclose(ours, w.detach().numpy(), rtol=1e-12)


# -- 20 steps against torch on a 3-5-2 tanh MLP (float64, MSE, full batch) ----------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.01},
        {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
    ],
    ids=["sgd", "momentum", "nesterov", "weight_decay", "momentum_weight_decay"],
)
def test_twenty_steps_match_torch(kwargs):
    torch = require("torch")
    compare_with_torch(torch, lambda p: SGD(p, **kwargs), lambda p: torch.optim.SGD(p, **kwargs))


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("lr", [0, -1, -0.1, float("nan"), float("inf")])
def test_lr_must_be_positive(lr):
    with pytest.raises(ValueError, match=r"SGD: expected lr > 0, got"):
        SGD(_params(), lr=lr)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5])
def test_momentum_must_be_in_zero_one(momentum):
    with pytest.raises(ValueError, match=rf"SGD: expected momentum in \[0, 1\), got {momentum}"):
        SGD(_params(), lr=0.1, momentum=momentum)


def test_nesterov_needs_momentum():
    with pytest.raises(
        ValueError, match=r"SGD: expected momentum > 0 for nesterov=True, got momentum=0"
    ):
        SGD(_params(), lr=0.1, nesterov=True)


def test_empty_params():
    with pytest.raises(ValueError, match=r"SGD: expected parameters to optimize, got none"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: expected parameters to optimize, got none"):
        SGD(iter([]), lr=0.1)


def test_negative_weight_decay():
    with pytest.raises(ValueError, match=r"SGD: expected weight_decay >= 0, got -0.1"):
        SGD(_params(), lr=0.1, weight_decay=-0.1)


@pytest.mark.parametrize("lr", [np.float32(0.1), np.int64(1)])
def test_numpy_scalar_lr_is_accepted(lr):
    opt = SGD(_params(), lr=lr)
    assert opt.lr == pytest.approx(float(lr))


def test_momentum_state_dict_continues_the_same_trajectory():
    _check_state_round_trip(lambda p: SGD(p, lr=0.1, momentum=0.9))
    _check_state_round_trip(lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True))


def _check_state_round_trip(make_optimizer):
    from ._oracle import data, mlp, train_glassnet

    X, Y = data()
    net = mlp()
    opt = make_optimizer(net.parameters())
    train_glassnet(net, opt, 3, X, Y)
    model_state, opt_state = net.state_dict(), opt.state_dict()
    reference = train_glassnet(net, opt, 3, X, Y)

    twin = mlp(seed=50)  # different initial weights, overwritten by the loaded state
    twin_opt = make_optimizer(twin.parameters())
    twin.load_state_dict(model_state)
    twin_opt.load_state_dict(opt_state)
    assert twin_opt.t == 3
    resumed = train_glassnet(twin, twin_opt, 3, X, Y)
    for a, b in zip(reference, resumed):
        np.testing.assert_array_equal(a, b)
