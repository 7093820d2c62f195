"""Ties in max and min: the gradient is split evenly among the tied elements, as torch.amax
and torch.amin do."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from tests.conftest import require


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reduction_ties_share_the_gradient_like_torch(name, axis):
    torch = require("torch")
    values = np.array([[3.0, 3.0, 1.0], [-2.0, 0.0, -2.0], [3.0, -2.0, 0.0]])
    x = gn.tensor(values, requires_grad=True)
    out = getattr(ops, name)(x, axis=axis)
    upstream = np.arange(1.0, out.data.size + 1).reshape(out.shape)
    out.backward(upstream)
    t = torch.tensor(values, requires_grad=True)
    dims = (0, 1) if axis is None else axis
    t_out = getattr(torch, "a" + name)(t, dim=dims)
    (t_out * torch.as_tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.data, t_out.detach().numpy())
    np.testing.assert_allclose(x.grad, t.grad.numpy())


def test_max_of_all_equal_values_spreads_the_gradient():
    x = gn.tensor(np.full((2, 2), 5.0), requires_grad=True)
    ops.max(x).backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 0.25))
