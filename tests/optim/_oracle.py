"""Shared by the optimizer tests: a tiny quadratic, a 3-5-2 tanh MLP trained side by side
with PyTorch (float64, full batch, MSE) from the same weights, and a small regression task for
training through fit."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, ops
from glassnet.nn import Dense, Parameter, Sequential


def quadratic_steps(make_optimizer, w0, steps=2, lr_schedule=None, target=0.0):
    """Minimise E = 1/2 sum (w - target)^2 (so g = w - target); returns w after each step."""
    w = Parameter(np.array(w0, dtype=np.float64))
    opt = make_optimizer([w])
    trajectory = []
    for k in range(steps):
        if lr_schedule is not None:
            opt.lr = lr_schedule[k]
        opt.zero_grad()
        d = w - target
        (0.5 * (d * d).sum()).backward()
        opt.step()
        trajectory.append(w.data.copy())
    return trajectory


def linear_steps(make_optimizer, w0, a, steps=2):
    """Minimise E = sum(a * w) (g = a, constant); returns w after each step."""
    w = Parameter(np.array(w0, dtype=np.float64))
    opt = make_optimizer([w])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        (w * Tensor(np.asarray(a, dtype=np.float64))).sum().backward()
        opt.step()
        trajectory.append(w.data.copy())
    return trajectory


def regression(n=40, hidden=8):
    """y = sin(2 x1) + x2 on n points of [-1, 1]^2 (seed 0), and a 2-hidden-1 tanh MLP."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (n, 2))
    y = np.sin(2 * X[:, :1]) + X[:, 1:]
    model = Sequential(Dense(2, hidden, "tanh", seed=0, dtype=np.float64),
                       Dense(hidden, 1, seed=1, dtype=np.float64))  # fmt: skip
    return model, X, y


def fit_losses(optimizer, epochs=30, **kwargs):
    """The loss per epoch of ``regression()`` fitted full-batch through ``gn.fit``."""
    model, X, y = regression()
    history = gn.fit(model, X, y, loss="mse", optimizer=optimizer, batch_size=None,
                     epochs=epochs, verbose=0, seed=0, **kwargs)  # fmt: skip
    return history.history["loss"]


def torch_betas(kwargs):
    """glassnet's ``beta1``, ``beta2`` keywords as torch's ``betas`` tuple."""
    args = dict(kwargs)
    args["betas"] = (args.pop("beta1", 0.9), args.pop("beta2", 0.999))
    return args


def refusals(**rules):
    """Cases ``(kwargs, message)`` for a test that each bad value is refused with the rule it
    breaks: ``refusals(lr=("> 0", [0, -1]))`` expects "expected lr > 0, got -1" for lr=-1."""
    return [
        pytest.param({name: value}, re.escape(f"expected {name} {rule}, got {value}"),
                     id=f"{name}={value}")  # fmt: skip
        for name, (rule, values) in rules.items()
        for value in values
    ]


def mlp(seed=0):
    return Sequential(
        Dense(3, 5, "tanh", seed=seed, dtype=np.float64),
        Dense(5, 2, seed=seed + 1, dtype=np.float64),
    )


def data():
    rng = np.random.default_rng(123)
    return rng.normal(size=(8, 3)), rng.normal(size=(8, 2))


def train_glassnet(net, opt, steps, X, Y):
    for _ in range(steps):
        opt.zero_grad()
        ops.mse(net(Tensor(X)), Y).backward()
        opt.step()
    return [p.data.copy() for p in net.parameters()]


def torch_twin(torch, net):
    """The same MLP in torch with the same weights (W is (out, in) in both)."""
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    ).double()
    with torch.no_grad():
        for q, p in zip(
            [model[0].weight, model[0].bias, model[2].weight, model[2].bias], net.parameters()
        ):
            q.copy_(torch.from_numpy(p.data))
    return model


def train_torch(torch, model, opt, steps, X, Y):
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), Y).backward()
        opt.step()
    return [model[0].weight, model[0].bias, model[2].weight, model[2].bias]


def compare_with_torch(torch, make_glassnet_opt, make_torch_opt, steps=20):
    X, Y = data()
    net = mlp()
    model = torch_twin(torch, net)
    ours = train_glassnet(net, make_glassnet_opt(net.parameters()), steps, X, Y)
    theirs = train_torch(torch, model, make_torch_opt(model.parameters()), steps, X, Y)
    initial = [p.data for p in mlp().parameters()]
    for w, q, w0 in zip(ours, theirs, initial):
        assert np.abs(w - w0).max() > 1e-3  # the weights really moved
        np.testing.assert_allclose(w, q.detach().numpy(), rtol=1e-6, atol=1e-6)
