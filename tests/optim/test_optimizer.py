"""The Optimizer base class and ``glassnet.optim.get``."""

import numpy as np
import pytest

from glassnet import optim
from glassnet.nn import Parameter
from glassnet.optim import SGD, Adam, Optimizer


def _params():
    return [Parameter(np.ones(3)), Parameter(np.zeros((2, 2)))]


@pytest.mark.parametrize(
    "name, cls, lr, momentum, nesterov",
    [
        ("sgd", SGD, 0.01, 0.0, False),
        ("momentum", SGD, 0.01, 0.9, False),
        ("nesterov", SGD, 0.01, 0.9, True),
        ("adam", Adam, 1e-3, None, None),
    ],
)
def test_get_by_name_with_default_and_given_lr(name, cls, lr, momentum, nesterov):
    params = _params()
    opt = optim.get(name, params)
    assert type(opt) is cls and opt.lr == lr and opt.params == params
    if cls is SGD:
        assert opt.momentum == momentum and opt.nesterov == nesterov
    assert optim.get(name, params, lr=0.5).lr == 0.5


def test_get_passes_an_optimizer_through():
    opt = SGD(_params(), lr=0.1)
    assert optim.get(opt, None) is opt
    assert optim.get(opt, None, lr=0.3) is opt and opt.lr == 0.3


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"optimizer 'adamx' is unknown; choose one of: ") as info:
        optim.get("adamx", _params())
    for name in ("sgd", "momentum", "nesterov", "adam", "adamw", "adagrad", "rmsprop", "adadelta",
                 "rprop+", "rprop-", "irprop+", "irprop-", "bfgs", "lbfgs", "scg", "newton",
                 "lm"):  # fmt: skip
        assert name in str(info.value)


def test_zero_grad_sets_grad_to_none_on_the_per_parameter_path():
    params = _params()
    opt = SGD(params, lr=0.1, flatten=False)  # the flat path zeroes its buffer: test_flat.py
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_returns_the_closure_loss_and_counts_steps():
    w = Parameter(np.array([2.0]))
    opt = SGD([w], lr=0.25)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert len(calls) == 1 and float(loss.data) == 4.0
    assert w.data[0] == pytest.approx(2.0 - 0.25 * 4.0)  # g = 2 w = 4
    assert opt.step() is None and opt.t == 2


def test_a_new_optimizer_writes_only_update():
    class SignDescent(Optimizer):
        def update(self, w, g, state):
            w -= self.lr * np.sign(g)

    w = Parameter(np.array([1.0, -3.0, 0.0]))
    opt = SignDescent([w], lr=0.5)
    w.grad = np.array([2.0, -0.1, 0.0])
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5, -2.5, 0.0])


def test_state_dict_is_a_copy_and_has_lr_and_t():
    w = Parameter(np.array([1.0, 2.0]))
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.array([1.0, 1.0])
    opt.step()
    state = opt.state_dict()
    assert state["t"] == 1 and state["lr"] == 0.1
    np.testing.assert_array_equal(state["state.0.dw"], [-0.1, -0.1])
    w.grad = np.array([1.0, 1.0])
    opt.step()
    np.testing.assert_array_equal(state["state.0.dw"], [-0.1, -0.1])  # not aliased


def test_repr_shows_hyperparameters():
    assert repr(SGD(_params(), lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"
    )
    assert "beta2=0.999" in repr(Adam(_params()))


def test_full_batch_names_are_exactly_the_full_batch_classes():
    for name in optim.NAMES:
        opt = optim.get(name, _params())
        assert getattr(opt, "full_batch", False) == (name in optim.FULL_BATCH), name
    assert len(optim.NAMES) == 17 and optim.FULL_BATCH <= set(optim.NAMES)
