"""Rprop+, Rprop-, iRprop+ and iRprop-: hand-worked steps, what each does on a sign change,
step-size bounds, the torch oracle (iRprop-), full-batch use through fit, errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, optim
from glassnet.nn import Parameter
from glassnet.optim import IRpropMinus, IRpropPlus, Rprop, RpropMinus, RpropPlus
from tests.conftest import require

from ._oracle import compare_with_torch, data, fit_losses, mlp, regression

VARIANTS = [RpropPlus, RpropMinus, IRpropPlus, IRpropMinus]
IDS = [cls.__name__ for cls in VARIANTS]


def _run(cls, grads, losses=None, w0=None, **kwargs):
    """Steps of ``cls`` on one parameter w (zeros unless w0) whose gradient at step k is
    grads[k] and whose loss is losses[k] (default 0); returns w after each step and the opt."""
    w = Parameter(np.zeros(len(grads[0])) if w0 is None else np.array(w0, dtype=np.float64))
    opt = cls([w], **kwargs)
    trajectory = []
    for k, g in enumerate(grads):

        def closure(g=g, loss=0.0 if losses is None else losses[k]):
            w.grad = np.array(g, dtype=np.float64)
            return Tensor(np.array(loss))

        opt.step(closure)  # the base step runs the closure too
        trajectory.append(w.data.copy())
    return trajectory, opt


def _quadratic(cls, w0, steps=2, **kwargs):
    """Steps on E = 1/2 sum w^2 (g = w) through a closure; returns w after each step."""
    w = Parameter(np.array(w0, dtype=np.float64))
    opt = cls([w], **kwargs)
    trajectory = []

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * w).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
        trajectory.append(w.data.copy())
    return trajectory


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_two_steps_by_hand_without_a_sign_change(cls):
    # E = 1/2 sum w^2 (g = w), w0 = [1, -2], delta_0 = lr = 0.1; all variants agree here:
    # step 1: no g_old, delta = 0.1:  w = w0 - sign(g) 0.1 = [0.9, -1.9]  (|g| = 1 and 2: same step)
    # step 2: same signs, delta = 1.2 * 0.1 = 0.12:  w = [0.9 - 0.12, -1.9 + 0.12] = [0.78, -1.78]
    w1, w2 = _quadratic(cls, [1.0, -2.0], lr=0.1)
    np.testing.assert_allclose(w1, [0.9, -1.9], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.78, -1.78], rtol=1e-15)


# Gradients [1, -1], [1, 1], [1, 1] from w = [0, 0], delta_0 = 0.1: the first weight keeps its
# sign (delta 0.1, 0.12, 0.144), the second changes sign at step 2 (delta 0.1 -> 0.05).
#   step 1, all:  w = -sign(g) * 0.1 = [-0.1, 0.1]
#   step 2, first weight, all: w = -0.1 - 0.12 = -0.22;  second weight:
#     Rprop+:            undo step 1: 0.1 - 0.1 = 0.0, g_old := 0
#     Rprop-:            step with delta 0.05 along the new sign: 0.1 - 0.05 = 0.05, g_old := 1
#     iRprop-:           stay at 0.1, g_old := 0
#     iRprop+, E rose:   undo step 1 as Rprop+: 0.0;   E fell: stay as iRprop-: 0.1
#   step 3, first weight: -0.22 - 0.144 = -0.364;  second weight:
#     Rprop+, iRprop+ (g_old = 0, delta 0.05):  0.0 - 0.05 = -0.05
#     Rprop- (same sign as g_old = 1, delta 0.05 * 1.2 = 0.06):  0.05 - 0.06 = -0.01
#     iRprop-, iRprop+ when E fell (g_old = 0, delta 0.05):  0.1 - 0.05 = 0.05
GRADS = [[1.0, -1.0], [1.0, 1.0], [1.0, 1.0]]
ROSE, FELL = [1.0, 2.0, 3.0], [1.0, 0.5, 0.25]
SIGN_CHANGE_CASES = [
    (RpropPlus, None, [[-0.1, 0.1], [-0.22, 0.0], [-0.364, -0.05]], [1.0, 0.0]),
    (RpropMinus, None, [[-0.1, 0.1], [-0.22, 0.05], [-0.364, -0.01]], [1.0, 1.0]),
    (IRpropMinus, None, [[-0.1, 0.1], [-0.22, 0.1], [-0.364, 0.05]], [1.0, 0.0]),
    (IRpropPlus, ROSE, [[-0.1, 0.1], [-0.22, 0.0], [-0.364, -0.05]], [1.0, 0.0]),
    (IRpropPlus, FELL, [[-0.1, 0.1], [-0.22, 0.1], [-0.364, 0.05]], [1.0, 0.0]),
]


@pytest.mark.parametrize(
    "cls, losses, expected, g_old_after_step_2",
    SIGN_CHANGE_CASES,
    ids=["rprop+", "rprop-", "irprop-", "irprop+_error_rose", "irprop+_error_fell"],
)
def test_what_each_variant_does_on_a_sign_change(cls, losses, expected, g_old_after_step_2):
    trajectory, _ = _run(cls, GRADS, losses, lr=0.1)
    np.testing.assert_allclose(trajectory, expected, rtol=1e-14, atol=1e-15)
    _, opt = _run(cls, GRADS[:2], losses, lr=0.1)
    np.testing.assert_array_equal(opt.state[0]["grad"], g_old_after_step_2)
    np.testing.assert_allclose(opt.state[0]["delta"], [0.12, 0.05], rtol=1e-15)


def test_irprop_plus_compares_the_error_with_the_previous_step():
    # the undo at step 2 depends only on E(2) > E(1), not on E(3) or on E falling overall
    (_, w2, _), opt = _run(IRpropPlus, GRADS, [5.0, 5.0 + 1e-9, 0.0], lr=0.1)
    assert w2[1] == 0.0  # a tiny rise is a rise
    (_, w2, _), _ = _run(IRpropPlus, GRADS, [5.0, 5.0, 9.0], lr=0.1)
    assert w2[1] == pytest.approx(0.1)  # equal is not a rise
    assert opt.previous_error == 0.0 and opt.error_rose is False


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_the_step_is_sign_of_g_times_delta_whatever_the_size_of_g(cls):
    # step 1: delta 0.1 for every weight: w = -sign(g) 0.1; a zero gradient does not move w
    # step 2: same signs, delta 0.12: w = [-0.22, 0.22, 0]
    (w1, w2), _ = _run(cls, [[1e-8, -1e6, 0.0], [3.0, -1e-12, 0.0]], lr=0.1)
    np.testing.assert_allclose(w1, [-0.1, 0.1, 0.0], rtol=1e-15)
    np.testing.assert_allclose(w2, [-0.22, 0.22, 0.0], rtol=1e-15)


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_step_size_stops_growing_at_delta_max(cls):
    # g = 1 always, delta_0 = 1, eta_plus = 1.2, delta_max = 1.5: delta = 1, 1.2, 1.44, 1.5
    # (1.728 clamped); w = -1, -2.2, -3.64, -5.14
    trajectory, opt = _run(cls, [[1.0]] * 4, lr=1.0, delta_max=1.5)
    np.testing.assert_allclose(np.ravel(trajectory), [-1.0, -2.2, -3.64, -5.14], rtol=1e-14)
    assert opt.state[0]["delta"][0] == 1.5


def test_step_size_stops_shrinking_at_delta_min():
    # Rprop- steps on every sign change: g = +1, -1, +1, -1, delta_0 = 0.1, delta_min = 0.03:
    # delta = 0.1, 0.05, 0.03 (0.025 clamped), 0.03 (0.015 clamped)
    # w = -0.1, -0.1 + 0.05 = -0.05, -0.05 - 0.03 = -0.08, -0.08 + 0.03 = -0.05
    trajectory, opt = _run(RpropMinus, [[1.0], [-1.0], [1.0], [-1.0]], lr=0.1, delta_min=0.03)
    np.testing.assert_allclose(np.ravel(trajectory), [-0.1, -0.05, -0.08, -0.05], rtol=1e-14)
    assert opt.state[0]["delta"][0] == 0.03


def test_the_initial_step_is_clamped_too_and_lr_does_nothing_later():
    # delta_0 = lr = 100 > delta_max = 50: the first step is 50 (as torch.optim.Rprop);
    # then lr is ignored: step 2 uses the adapted delta min(1.2 * 50, 50) = 50, not 0.001
    w = Parameter(np.array([0.0]))
    opt = IRpropMinus([w], lr=100.0)
    w.grad = np.array([1.0])
    opt.step()
    assert w.data[0] == -50.0
    opt.lr = 0.001
    opt.step()
    assert w.data[0] == -100.0


def test_weight_decay_is_added_to_the_gradient():
    # E = -0.5 w (g = -0.5), weight_decay 1, w0 = 1: g' = -0.5 + 1 = 0.5 > 0, so w = 1 - 0.1
    # (without decay g < 0 and w = 1.1)
    (w1,), _ = _run(RpropMinus, [[-0.5]], w0=[1.0], lr=0.1, weight_decay=1.0)
    assert w1[0] == pytest.approx(0.9, rel=1e-15)
    (w1,), _ = _run(RpropMinus, [[-0.5]], w0=[1.0], lr=0.1)
    assert w1[0] == pytest.approx(1.1, rel=1e-15)


def test_irprop_plus_with_weight_decay_compares_the_penalised_error():
    # E = 2 at w0 = [1, -2], weight_decay 0.5: error = 2 + 0.5 / 2 * (1 + 4) = 3.25
    _, opt = _run(IRpropPlus, [[1.0, 1.0]], [2.0], w0=[1.0, -2.0], weight_decay=0.5)
    assert opt.previous_error == pytest.approx(3.25, rel=1e-15)


def test_only_irprop_plus_needs_the_closure_and_all_are_full_batch():
    assert [cls.needs_closure for cls in VARIANTS] == [False, False, True, False]
    assert all(cls.full_batch for cls in VARIANTS)
    with pytest.raises(
        ValueError, match=r"IRpropPlus.step: expected a closure that returns the loss, got None"
    ):
        IRpropPlus([Parameter(np.zeros(1))]).step()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.01},
        {"lr": 0.1},
        {"lr": 0.05, "eta_plus": 1.5, "eta_minus": 0.3, "delta_min": 1e-3, "delta_max": 0.08},
    ],
    ids=["torch_default", "paper_default", "etas_bounds"],
)
def test_irprop_minus_twenty_steps_match_torch_rprop(kwargs):
    torch = require("torch")

    def torch_rprop(params):
        args = {
            "lr": 0.1,
            "eta_plus": 1.2,
            "eta_minus": 0.5,
            "delta_min": 1e-6,
            "delta_max": 50.0,
        } | kwargs
        return torch.optim.Rprop(params, lr=args["lr"], etas=(args["eta_minus"], args["eta_plus"]),
                                 step_sizes=(args["delta_min"], args["delta_max"]))  # fmt: skip

    compare_with_torch(torch, lambda p: IRpropMinus(p, **kwargs), torch_rprop)


def test_the_variants_take_different_paths_on_the_mlp():
    # delta_0 = 0.5 overshoots: signs change, and for iRprop+ the error rises 4 times in 15 steps
    X, Y = data()
    finals, rises = [], 0
    for cls in VARIANTS:
        net = mlp()
        opt = cls(net.parameters(), lr=0.5)

        def closure(net=net, opt=opt):
            opt.zero_grad()
            loss = gn.ops.mse(net(Tensor(X)), Y)
            loss.backward()
            return loss

        for _ in range(15):
            opt.step(closure)
            rises += cls is IRpropPlus and opt.error_rose
        finals.append(np.concatenate([p.data.ravel() for p in net.parameters()]))
    assert rises > 0
    for i in range(4):
        for j in range(i):
            assert np.abs(finals[i] - finals[j]).max() > 1e-2, (IDS[i], IDS[j])


def test_irprop_plus_state_dict_continues_the_same_trajectory():
    X, Y = data()

    def train(net, opt, steps):
        def closure():
            opt.zero_grad()
            loss = gn.ops.mse(net(Tensor(X)), Y)
            loss.backward()
            return loss

        for _ in range(steps):
            opt.step(closure)
        return [p.data.copy() for p in net.parameters()]

    net = mlp()
    opt = IRpropPlus(net.parameters(), lr=0.1)
    train(net, opt, 4)
    model_state, opt_state = net.state_dict(), opt.state_dict()
    assert {"state.0.delta", "state.0.grad", "state.0.dw", "previous_error"} <= set(opt_state)
    reference = train(net, opt, 4)
    twin = mlp(seed=7)
    twin_opt = IRpropPlus(twin.parameters(), lr=0.1)
    twin.load_state_dict(model_state)
    twin_opt.load_state_dict(opt_state)
    for a, b in zip(reference, train(twin, twin_opt, 4)):
        np.testing.assert_array_equal(a, b)


# -- by name and through fit ---------------------------------------------------------------


NAMED = {"rprop+": RpropPlus, "rprop-": RpropMinus, "irprop+": IRpropPlus, "irprop-": IRpropMinus}


@pytest.mark.parametrize("name", list(NAMED))
def test_by_name_and_in_fit(name):
    params = [Parameter(np.zeros(2))]
    opt = optim.get(name, params)
    assert type(opt) is NAMED[name] and opt.lr == 0.1
    assert (opt.eta_plus, opt.eta_minus, opt.delta_min, opt.delta_max) == (1.2, 0.5, 1e-6, 50.0)
    assert optim.get(name, params, lr=0.01).lr == 0.01
    losses = fit_losses(name)
    assert losses[-1] < 0.05 * losses[0], losses


@pytest.mark.parametrize("name", list(NAMED))
def test_fit_refuses_mini_batches(name):
    model, X, y = regression()
    with pytest.raises(
        ValueError, match=rf"{NAMED[name].__name__} is a full-batch method.*pass batch_size=None"
    ):
        gn.fit(model, X, y, loss="mse", optimizer=name, batch_size=10, verbose=0)


# -- errors ------------------------------------------------------------------------------


def _params():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_lr_must_be_positive(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: expected lr > 0, got -0.1"):
        cls(_params(), lr=-0.1)


@pytest.mark.parametrize("eta_minus", [0, 1, 1.5, -0.5])
def test_eta_minus_must_be_in_zero_one(eta_minus):
    with pytest.raises(
        ValueError, match=rf"RpropPlus: expected eta_minus in \(0, 1\), got {eta_minus}"
    ):
        RpropPlus(_params(), eta_minus=eta_minus)


@pytest.mark.parametrize("eta_plus", [1, 1.0, 0.5, float("inf")])
def test_eta_plus_must_be_above_one(eta_plus):
    with pytest.raises(ValueError, match=rf"IRpropMinus: expected eta_plus > 1, got {eta_plus}"):
        IRpropMinus(_params(), eta_plus=eta_plus)


@pytest.mark.parametrize(
    "delta_min, delta_max", [(1.0, 0.5), (0.0, 50.0), (-1e-6, 50.0), (1e-6, float("inf"))]
)
def test_delta_bounds_must_be_ordered_and_positive(delta_min, delta_max):
    message = (rf"IRpropPlus: expected 0 < delta_min <= delta_max \(finite\), "
               rf"got delta_min={delta_min}, delta_max={delta_max}")
    with pytest.raises(ValueError, match=message):
        IRpropPlus(_params(), delta_min=delta_min, delta_max=delta_max)


def test_the_base_class_is_not_an_optimizer_by_itself():
    with pytest.raises(
        TypeError, match=r"Rprop: expected one of its variants RpropPlus, RpropMinus"
    ):
        Rprop(_params())
