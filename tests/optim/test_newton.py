"""Damped Newton's method."""

import numpy as np
import pytest

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


def test_bad_hyperparameters_name_the_culprit():
    w = Parameter(np.array([1.0]))
    with pytest.raises(ValueError, match=r"Newton: expected damping >= 0, got -1"):
        Newton([w], damping=-1)
    with pytest.raises(ValueError, match=r"Newton: expected max_tries >= 1 \(an int\), got 0"):
        Newton([w], max_tries=0)
    with pytest.raises(ValueError, match="expected a closure"):
        Newton([w]).step()
