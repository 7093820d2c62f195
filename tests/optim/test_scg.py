"""Scaled conjugate gradient (Moller 1993)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Parameter
from glassnet.optim.scg import SCG

from .test_lbfgs import quadratic, quadratic_closure


def test_convex_quadratic_within_n_iterations():
    A, b = quadratic(6)
    w = Parameter(np.zeros(6))
    opt = SCG([w])
    closure = quadratic_closure(w, opt, A, b)
    for _ in range(6):
        opt.step(closure)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, b), atol=1e-5)


def test_trains_an_mlp_full_batch_and_refuses_mini_batches():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 2))
    y = np.sin(2 * X[:, :1]) + X[:, 1:]
    model = gn.nn.Sequential(gn.nn.Dense(2, 6, "tanh", seed=0, dtype=np.float64),
                             gn.nn.Dense(6, 1, seed=1, dtype=np.float64))  # fmt: skip
    opt = SCG(model.parameters())
    with pytest.raises(ValueError, match="pass batch_size=None"):
        gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=10, verbose=0)
    losses = gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=None, epochs=60, verbose=0).history["loss"]
    assert losses[-1] < 0.05 * losses[0]


def test_bad_hyperparameters_name_the_culprit():
    w = Parameter(np.array([1.0]))
    with pytest.raises(ValueError, match=r"SCG: expected sigma > 0, got 0"):
        SCG([w], sigma=0)
    with pytest.raises(ValueError, match=r"SCG: expected lambda_ > 0, got -1"):
        SCG([w], lambda_=-1)
    with pytest.raises(ValueError, match="expected a closure"):
        SCG([w]).step()
