"""Scaled conjugate gradient (Moller 1993)."""

import numpy as np
import pytest

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


def test_bad_hyperparameters_name_the_culprit():
    w = Parameter(np.array([1.0]))
    with pytest.raises(ValueError, match=r"SCG: expected sigma > 0, got 0"):
        SCG([w], sigma=0)
    with pytest.raises(ValueError, match=r"SCG: expected lambda_ > 0, got -1"):
        SCG([w], lambda_=-1)
    with pytest.raises(ValueError, match="expected a closure"):
        SCG([w]).step()
