"""ops.embedding beyond the spec table (padding_idx, the checks of its wrapper) and
ops.positional_encoding against the formula of Vaswani et al. (2017)."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import jvp
from glassnet.errors import ShapeError
from tests.conftest import require

INDICES = np.array([[0, 2, 2, 4], [2, 1, 0, 2]])


@pytest.mark.parametrize("padding_idx", [2, -3, 0])
def test_padding_idx_matches_torch_and_gets_no_gradient(padding_idx, rng):
    torch = require("torch")
    weight = rng.normal(size=(5, 3))
    upstream = rng.uniform(0.5, 1.5, (2, 4, 3))
    w = gn.tensor(weight, requires_grad=True)
    out = ops.embedding(INDICES, w, padding_idx=padding_idx)
    out.backward(upstream)
    wt = torch.tensor(weight, requires_grad=True)
    expected = torch.nn.functional.embedding(torch.as_tensor(INDICES), wt, padding_idx)
    (expected * torch.as_tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.data, expected.detach().numpy())  # the row is read
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert not w.grad[padding_idx].any()
    np.testing.assert_allclose(w.grad[1], upstream[1, 1])  # picked once
    np.testing.assert_allclose(w.grad[3], 0.0)  # never picked


def test_repeated_indices_add_up_without_padding(rng):
    w = gn.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    upstream = rng.uniform(0.5, 1.5, (2, 4, 3))
    ops.embedding(INDICES, w).backward(upstream)
    np.testing.assert_allclose(w.grad[2], upstream[0, 1] + upstream[0, 2] + upstream[1, 0]
                               + upstream[1, 3])  # fmt: skip
    np.testing.assert_allclose(w.grad[0], upstream[0, 0] + upstream[1, 2])


def test_jvp_treats_the_padding_row_as_a_constant_like_backward(rng):
    weight, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    u = rng.normal(size=(2, 4, 3))

    def f(w):
        return ops.embedding(INDICES, w, padding_idx=2)

    _, tangent = jvp(f, (weight,), (v,))
    w = gn.tensor(weight, requires_grad=True)
    f(w).backward(u)
    np.testing.assert_allclose((u * tangent).sum(), (w.grad * v).sum(), rtol=1e-12)
    assert not tangent[INDICES == 2].any()
    np.testing.assert_array_equal(tangent[INDICES != 2], v[INDICES[INDICES != 2]])


def test_float32_weight_keeps_its_dtype_and_int32_indices_work():
    w = gn.tensor(np.arange(6, dtype=np.float32).reshape(3, 2), requires_grad=True)
    out = ops.embedding(np.array([2, 2], np.int32), w)
    assert out.dtype == np.float32
    out.backward(np.ones((2, 2), np.float32))
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [[0, 0], [0, 0], [2, 2]])


def test_bad_arguments_are_named():
    w = gn.tensor(np.zeros((4, 2)), requires_grad=True)
    with pytest.raises(TypeError, match="integer indices, got dtype float64"):
        ops.embedding(np.array([0.0, 1.0]), w)
    with pytest.raises(TypeError, match="integer indices, got dtype bool"):
        ops.embedding(np.array([True, False]), w)
    with pytest.raises(IndexError, match=r"expected indices in \[0, 4\) \(num_embeddings 4\), "
                                         r"got 7"):  # fmt: skip
        ops.embedding(np.array([[1, 7], [0, 2]]), w)
    with pytest.raises(IndexError, match=r"\[0, 4\).*got -2"):
        ops.embedding(np.array([-2, 9]), w)
    with pytest.raises(ShapeError, match=r"weight of shape \(num_embeddings, embedding_dim\), "
                                         r"got \(4,\)"):  # fmt: skip
        ops.embedding(np.array([0]), gn.tensor(np.zeros(4)))
    with pytest.raises(TypeError, match="weight as a Tensor"):
        ops.embedding(np.array([0]), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"padding_idx to be an int in \[-4, 4\), got 4"):
        ops.embedding(np.array([0]), w, padding_idx=4)
    assert ops.embedding(np.zeros((0, 3), np.int64), w).shape == (0, 3, 2)  # nothing to check


# ---- positional_encoding ----------------------------------------------------------------------


def _formula(length, d_model):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)), one
    element at a time with the math module."""
    pe = np.empty((length, d_model))
    for pos in range(length):
        for i in range((d_model + 1) // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            pe[pos, 2 * i] = math.sin(angle)
            if 2 * i + 1 < d_model:
                pe[pos, 2 * i + 1] = math.cos(angle)
    return pe


@pytest.mark.parametrize(("length", "d_model"), [(7, 8), (50, 16), (5, 7), (3, 1), (1, 4)])
def test_positional_encoding_is_the_formula(length, d_model):
    pe = ops.positional_encoding(length, d_model, dtype=np.float64)
    assert pe.shape == (length, d_model) and pe.dtype == np.float64
    np.testing.assert_allclose(pe, _formula(length, d_model), rtol=1e-12, atol=1e-12)


def test_positional_encoding_properties():
    pe = ops.positional_encoding(20, 6)
    assert pe.dtype == np.float32  # the default dtype
    np.testing.assert_array_equal(pe[0], [0, 1, 0, 1, 0, 1])  # position 0: sin 0, cos 0
    np.testing.assert_allclose(pe[:, 0], np.sin(np.arange(20)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, 1.0, rtol=1e-6)
    odd = ops.positional_encoding(4, 5, dtype=np.float64)  # the last column: a lone sine
    np.testing.assert_allclose(odd[:, 4], np.sin(np.arange(4) / 10000 ** (4 / 5)))
    assert ops.positional_encoding(0, 3).shape == (0, 3)
    assert "positional_encoding" not in ops.__all__  # a plain array, no op on Tensors


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [((-1, 4), ValueError, "length to be an int >= 0, got -1"),
     ((3, 0), ValueError, "d_model to be an int >= 1, got 0"),
     ((2.0, 4), ValueError, "length.*got 2.0"),
     ((3, 4, np.int64), TypeError, "floating dtype, got int64")],
)  # fmt: skip
def test_positional_encoding_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        ops.positional_encoding(*args)
