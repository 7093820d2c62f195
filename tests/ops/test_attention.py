"""ops.scaled_dot_product_attention beyond the spec table (tests/ops/specs.py: gradcheck, torch,
causal, boolean and float masks): fully masked queries, stability, scale, and the checks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.errors import ShapeError
from tests.conftest import require

sdpa = ops.scaled_dot_product_attention


def _qkv(rng, L=3, S=4, E=2, Ev=3, batch=(2,)):
    return [gn.tensor(rng.normal(size=(*batch, n, e)), requires_grad=True)
            for n, e in ((L, E), (S, E), (S, Ev))]  # fmt: skip


def test_a_fully_masked_query_gives_zeros_and_no_gradient_as_torch(rng):
    torch = require("torch")
    q, k, v = _qkv(rng)
    keep = np.ones((3, 4), bool)
    keep[1] = False
    out = sdpa(q, k, v, attn_mask=keep)
    assert not out.data[:, 1].any() and out.data[:, [0, 2]].all()
    out.backward(np.ones(out.shape))
    t = [torch.tensor(x.data, requires_grad=True) for x in (q, k, v)]
    t_out = torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=torch.as_tensor(keep))
    t_out.sum().backward()
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), atol=1e-12)
    assert not q.grad[:, 1].any()
    for x, tx in zip((q, k, v), t):
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_large_scores_do_not_overflow(rng):
    q, k, v = _qkv(rng)
    out = sdpa(q * 1e4, k, v)  # scores of ~1e4: exp would overflow without the shift
    assert np.isfinite(out.data).all()
    top = np.argmax((q.data * 1e4) @ np.swapaxes(k.data, -1, -2), axis=-1)
    np.testing.assert_allclose(out.data, np.take_along_axis(v.data, top[..., None], -2))


def test_scale_and_a_tensor_mask_match_torch(rng):
    torch = require("torch")
    q, k, v = _qkv(rng)
    mask = gn.tensor(rng.normal(size=(3, 4)), requires_grad=True)  # a constant all the same
    out = sdpa(q, k, v, attn_mask=mask, scale=0.3)
    t = [torch.tensor(x.data) for x in (q, k, v)]
    expected = torch.nn.functional.scaled_dot_product_attention(
        *t, attn_mask=torch.tensor(mask.data), scale=0.3
    )
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-12)
    out.backward(np.ones(out.shape))
    assert mask.grad is None


def test_float32_with_a_float64_mask_stays_float32(rng):
    q, k, v = (gn.tensor(x.data.astype(np.float32)) for x in _qkv(rng))
    assert sdpa(q, k, v, attn_mask=rng.normal(size=(3, 4))).dtype == np.float32


def test_plain_arrays_are_constants_of_the_tensors_dtype(rng):
    q, k, v = _qkv(rng)
    out = sdpa(q, k.data, v.data)
    out.backward(np.ones(out.shape))
    assert q.grad is not None and k.grad is None
    np.testing.assert_allclose(sdpa(q.data, k.data, v.data).data, out.data)


@pytest.mark.parametrize("shapes, kwargs, error, match", [
    (((3, 2), (4, 3), (4, 3)), {}, ShapeError,
     r"expected k \(\.\.\., S, 2\) \(E of q \(3, 2\)\), got \(4, 3\)"),
    (((3, 2), (4, 2), (5, 3)), {}, ShapeError,
     r"expected v \(\.\.\., 4, Ev\) \(S of k \(4, 2\)\), got \(5, 3\)"),
    (((2, 3, 2), (3, 4, 2), (3, 4, 3)), {}, ShapeError,
     r"expected q, k and v with the same leading axes, got shapes \(2, 3, 2\), \(3, 4, 2\)"),
    (((2,), (4, 2), (4, 3)), {}, ShapeError, r"expected q with at least 2 axes"),
    (((3, 2), (4, 2), (4, 3)), {"attn_mask": np.ones((4, 3), bool)}, ShapeError,
     r"expected attn_mask broadcastable to \(\.\.\., L, S\) = \(3, 4\), got shape \(4, 3\)"),
    (((3, 2), (4, 2), (4, 3)), {"attn_mask": np.ones((2, 3, 4))}, ShapeError,
     r"= \(3, 4\), got shape \(2, 3, 4\)"),
    (((3, 2), (4, 2), (4, 3)), {"attn_mask": np.ones((3, 4), bool), "is_causal": True},
     ValueError, "expected attn_mask=None with is_causal=True"),
    (((3, 2), (4, 2), (4, 3)), {"attn_mask": np.ones((3, 4), np.int64)}, TypeError,
     "expected a boolean or float attn_mask, got dtype int64"),
    (((3, 2), (4, 2), (4, 3)), {"scale": 0.0}, ValueError, "expected scale > 0 or None, got 0.0"),
    (((3, 2), (4, 2), (4, 3)), {"is_causal": 1}, TypeError,
     "expected is_causal to be True or False, got 1"),
])  # fmt: skip
def test_bad_arguments_name_what_came(shapes, kwargs, error, match, rng):
    q, k, v = (gn.tensor(rng.normal(size=s)) for s in shapes)
    with pytest.raises(error, match=match):
        sdpa(q, k, v, **kwargs)


def test_inputs_of_different_dtypes_are_refused(rng):
    q, k, v = _qkv(rng)
    with pytest.raises(TypeError, match="expected q, k and v of one dtype, got float64, float32"):
        sdpa(q, gn.tensor(k.data.astype(np.float32)), v)
    with pytest.raises(TypeError, match="expected floating q, got dtype int64"):
        sdpa(gn.Tensor(np.ones((3, 2), np.int64)), k.data[0], v.data[0])
