"""Damped Newton's method."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Parameter
from glassnet.optim.newton import Newton

from .test_lbfgs import quadratic, quadratic_closure


def test_convex_quadratic_in_one_step():
    A, b = quadratic(5)
    w = Parameter(np.zeros(5))
    opt = Newton([w])
    opt.step(quadratic_closure(w, opt, A, b))
    np.testing.assert_allclose(w.data, np.linalg.solve(A, b), atol=1e-7)


def test_indefinite_hessian_still_descends():
    A = np.diag([1.0, -1.0])  # a saddle: H is not positive definite
    w = Parameter(np.array([1.0, 0.5]))
    opt = Newton([w])
    closure = quadratic_closure(w, opt, A, np.zeros(2))
    before = float(closure().data)
    opt.step(closure)
    assert float(closure().data) < before


def test_trains_an_mlp_full_batch_and_refuses_mini_batches():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 2))
    y = np.sin(2 * X[:, :1]) + X[:, 1:]
    model = gn.nn.Sequential(gn.nn.Dense(2, 4, "tanh", seed=0, dtype=np.float64),
                             gn.nn.Dense(4, 1, seed=1, dtype=np.float64))  # fmt: skip
    opt = Newton(model.parameters(), damping=1e-3)
    with pytest.raises(ValueError, match="pass batch_size=None"):
        gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=10, verbose=0)
    losses = gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=None, epochs=15, verbose=0).history["loss"]
    assert losses[-1] < 0.05 * losses[0]


def test_bad_hyperparameters_name_the_culprit():
    w = Parameter(np.array([1.0]))
    with pytest.raises(ValueError, match=r"Newton: expected damping >= 0, got -1"):
        Newton([w], damping=-1)
    with pytest.raises(ValueError, match=r"Newton: expected max_tries >= 1 \(an int\), got 0"):
        Newton([w], max_tries=0)
    with pytest.raises(ValueError, match="expected a closure"):
        Newton([w]).step()
