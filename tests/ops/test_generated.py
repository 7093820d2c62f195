"""Checks generated from the spec table (specs.py), for every op in ``glassnet.ops.__all__``:
gradcheck in float64, the NumPy reference, PyTorch values and gradients, float32 kept float32,
the no-grad path, and inputs left untouched."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import gradcheck
from tests.conftest import require

from .specs import SPECS

CASES = [spec.param() for spec in SPECS]
FORWARD_CASES = [spec.param(backward=False) for spec in SPECS]


def _leaves(arrays, requires_grad=True):
    return [gn.tensor(x, requires_grad=requires_grad) for x in arrays]


def _upstream(rng, shape, dtype):
    """A random upstream gradient, so every output element weighs differently."""
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


@pytest.mark.parametrize("spec", CASES)
def test_backward_matches_finite_differences(spec, rng):
    inputs = spec.sample(rng)
    assert gradcheck(lambda *xs: spec.call(spec.fn, xs), inputs)
    if not spec.differentiable:  # e.g. step: the gradient is zero by definition
        leaves = _leaves(inputs)
        out = spec.call(spec.fn, leaves)
        out.backward(np.ones(out.shape))
        for x in leaves:
            assert x.grad is not None and not x.grad.any()


@pytest.mark.parametrize("spec", FORWARD_CASES)
def test_forward_matches_numpy_reference(spec, rng):
    inputs = spec.sample(rng)
    out = spec.call(spec.fn, _leaves(inputs, requires_grad=False))
    expected = spec.call(spec.ref, inputs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", CASES)
def test_values_and_gradients_match_torch(spec, rng):
    torch = require("torch")
    inputs = spec.sample(rng)
    leaves = _leaves(inputs)
    out = spec.call(spec.fn, leaves)
    upstream = _upstream(rng, out.shape, np.float64)

    t_inputs = [torch.tensor(x, requires_grad=spec.differentiable) for x in inputs]
    t_out = spec.call(spec.torch, t_inputs)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-6, atol=1e-10)

    out.backward(upstream)
    if not spec.differentiable:
        for x in leaves:
            assert not x.grad.any()
        return
    (t_out * torch.as_tensor(upstream)).sum().backward()
    for i, (x, t) in enumerate(zip(leaves, t_inputs)):
        assert x.grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(
            x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-10, err_msg=f"gradient of input {i}"
        )


@pytest.mark.parametrize("spec", CASES)
def test_float32_stays_float32(spec, rng):
    inputs = spec.sample(rng, dtype=np.float32)
    leaves = _leaves(inputs)
    out = spec.call(spec.fn, leaves)
    assert out.dtype == np.float32, f"{spec.name}: output up-cast to {out.dtype}"
    expected = spec.call(spec.ref, inputs)  # float32 too: dropout's mask depends on the dtype
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-5)
    out.backward(_upstream(rng, out.shape, np.float32))
    for i, x in enumerate(leaves):
        assert x.grad.dtype == np.float32, f"{spec.name}: gradient {i} up-cast to {x.grad.dtype}"
        assert x.grad.shape == x.shape


@pytest.mark.parametrize("spec", FORWARD_CASES)
def test_no_grad_records_nothing(spec, rng):
    leaves = _leaves(spec.sample(rng))
    with gn.no_grad():
        out = spec.call(spec.fn, leaves)
    if any(out is x for x in leaves):  # identity and eval-mode dropout return their input
        return
    assert not out.requires_grad
    assert out.is_leaf


@pytest.mark.parametrize("spec", CASES)
def test_inputs_are_not_modified(spec, rng):
    inputs = spec.sample(rng)
    copies = [x.copy() for x in inputs]
    leaves = _leaves(inputs)
    out = spec.call(spec.fn, leaves)
    out.backward(_upstream(rng, out.shape, np.float64))
    for x, before in zip(leaves, copies):
        np.testing.assert_array_equal(x.data, before)


def test_every_op_has_a_spec():
    missing = sorted(set(ops.__all__) - {s.fn.__name__ for s in SPECS})
    assert not missing, f"ops without an OpSpec: {missing}"


def test_spec_functions_are_the_public_ops():
    for spec in SPECS:
        assert getattr(ops, spec.fn.__name__) is spec.fn, spec.name


def test_spec_names_are_unique():
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
