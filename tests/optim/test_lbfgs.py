"""BFGS and L-BFGS with the strong-Wolfe line search (N&W Algorithms 3.5, 3.6, 6.1, 7.4)."""

import numpy as np
import pytest

from glassnet import Tensor
from glassnet.nn import Parameter
from glassnet.optim.lbfgs import BFGS, LBFGS
from tests.conftest import require


def rosenbrock_closure(w, opt):
    def closure():
        opt.zero_grad()
        x, y = w[0], w[1]
        a, b = 1.0 - x, y - x * x
        loss = a * a + 100.0 * (b * b)
        loss.backward()
        return loss

    return closure


def quadratic(n=5, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    return M @ M.T + n * np.eye(n), rng.normal(size=n)


def quadratic_closure(w, opt, A, b):
    At, bt = Tensor(A), Tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * (At @ w)).sum() - (bt * w).sum()
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("cls, iterations", [(BFGS, 60), (LBFGS, 60)])
def test_rosenbrock_converges_and_every_step_is_strong_wolfe(cls, iterations):
    w = Parameter(np.array([-1.2, 1.0]))
    opt = cls([w])
    closure = rosenbrock_closure(w, opt)
    for _ in range(iterations):
        opt.step(closure)
        s = opt.last_search
        if s is None:  # converged: the gradient vanished
            continue
        assert s["wolfe"]
        assert s["f"] <= s["f0"] + opt.c1 * s["alpha"] * s["d0"]
        assert abs(s["d"]) <= opt.c2 * abs(s["d0"])
        opt.last_search = None
    np.testing.assert_allclose(w.data, [1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("cls", [BFGS, LBFGS])
def test_convex_quadratic_reaches_the_exact_minimiser(cls):
    A, b = quadratic()
    w = Parameter(np.zeros(5))
    opt = cls([w])
    closure = quadratic_closure(w, opt, A, b)
    for _ in range(30):
        opt.step(closure)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, b), atol=1e-9)


def test_lbfgs_trajectory_matches_torch_on_a_quadratic():
    torch = require("torch")
    A, b = quadratic(4, seed=1)
    w = Parameter(np.ones(4))
    opt = LBFGS([w], history_size=10)
    closure = quadratic_closure(w, opt, A, b)
    q = torch.ones(4, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([q], lr=1, max_iter=1, history_size=10, line_search_fn="strong_wolfe",
                             tolerance_grad=1e-12, tolerance_change=1e-14)  # fmt: skip
    At, bt = torch.from_numpy(A), torch.from_numpy(b)

    def tclosure():
        topt.zero_grad()
        loss = 0.5 * q @ (At @ q) - bt @ q
        loss.backward()
        return loss

    for _ in range(4):
        opt.step(closure)
        topt.step(tclosure)
        np.testing.assert_allclose(w.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_bad_hyperparameters_name_the_culprit():
    w = Parameter(np.array([1.0]))
    with pytest.raises(ValueError, match=r"LBFGS: expected history_size >= 1 \(an int\), got 0"):
        LBFGS([w], history_size=0)
    with pytest.raises(ValueError, match=r"BFGS: expected c1 in \(0, 1\), got 1.5"):
        BFGS([w], c1=1.5)
    with pytest.raises(ValueError, match=r"BFGS: expected c2 in \(c1, 1\)"):
        BFGS([w], c2=1e-5)
    with pytest.raises(ValueError, match=r"LBFGS: expected lr > 0, got -1"):
        LBFGS([w], lr=-1)
    with pytest.raises(ValueError, match="expected a closure"):
        LBFGS([w]).step()
