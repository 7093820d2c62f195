"""ops.last_valid: values and gradients against NumPy and torch, and its argument checks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops
from glassnet.autodiff import Tensor, gradcheck
from glassnet.errors import ShapeError
from tests.conftest import require

LENGTHS = np.array([4, 1, 3])


def _reference(output, lengths, batch_first=False):
    if batch_first:
        return np.stack([output[n, lengths[n] - 1] for n in range(len(lengths))])
    return np.stack([output[lengths[n] - 1, n] for n in range(len(lengths))])


@pytest.mark.parametrize("batch_first", [False, True])
def test_values_and_gradient_match_numpy(rng, batch_first):
    shape = (3, 4, 2) if batch_first else (4, 3, 2)
    x = rng.normal(size=shape)
    t = gn.tensor(x, requires_grad=True)
    y = ops.last_valid(t, LENGTHS, batch_first=batch_first)
    np.testing.assert_array_equal(y.data, _reference(x, LENGTHS, batch_first))
    upstream = rng.uniform(0.5, 1.5, y.shape)
    y.backward(upstream)
    expected = np.zeros(shape)
    for n, length in enumerate(LENGTHS):
        expected[(n, length - 1) if batch_first else (length - 1, n)] = upstream[n]
    np.testing.assert_array_equal(t.grad, expected)  # zero at every step but the last real one
    assert gradcheck(lambda a: ops.last_valid(a, LENGTHS, batch_first), [x])


def test_matches_torch_gather(rng):
    torch = require("torch")
    x = rng.normal(size=(4, 3, 5))
    t = gn.tensor(x, requires_grad=True)
    y = ops.last_valid(t, Tensor(LENGTHS))  # lengths as an integer Tensor too
    upstream = rng.normal(size=y.shape)
    y.backward(upstream)
    tx = torch.tensor(x, requires_grad=True)
    index = torch.as_tensor(LENGTHS - 1).view(1, -1, 1).expand(1, 3, 5)
    ty = tx.gather(0, index).squeeze(0)
    (ty * torch.as_tensor(upstream)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.grad, tx.grad.numpy(), rtol=1e-12)


def test_is_the_last_layer_state_of_a_padded_rnn(rng):
    rnn = nn.RNN(2, 3, dtype=np.float64, seed=0)
    x = rng.normal(size=(5, 3, 2))
    lengths = np.array([5, 2, 3])
    out, h_n = rnn(x, lengths=lengths)
    np.testing.assert_allclose(ops.last_valid(out, lengths).data, h_n.data[-1], rtol=1e-12)


def test_float32_stays_float32(rng):
    t = gn.tensor(rng.normal(size=(4, 3, 2)).astype(np.float32))
    assert ops.last_valid(t, [1, 2, 3]).dtype == np.float32


@pytest.mark.parametrize(
    "lengths, error, message",
    [
        ([4, 1], ShapeError, r"expected lengths as 3 ints \(N,\) .* shape \(2,\)"),
        ([[4, 1, 3]], ShapeError, r"expected lengths as 3 ints .* shape \(1, 3\)"),
        ([4.0, 1.0, 3.0], ShapeError, r"expected lengths as 3 ints .* float64"),
        ([4, 0, 3], ValueError, r"expected lengths in 1 \.\. 4 \(T\), got \[4, 0, 3\]"),
        ([5, 1, 3], ValueError, r"expected lengths in 1 \.\. 4 \(T\), got \[5, 1, 3\]"),
    ],
)
def test_bad_lengths_are_refused_by_name(rng, lengths, error, message):
    t = gn.tensor(rng.normal(size=(4, 3, 2)))
    with pytest.raises(error, match=message):
        ops.last_valid(t, lengths)


def test_bad_output_is_refused(rng):
    with pytest.raises(ShapeError, match=r"expected output \(T, N, \*features\), got shape \(4,\)"):
        ops.last_valid(gn.tensor(rng.normal(size=4)), [1])
    with pytest.raises(TypeError, match="expected output to be a Tensor, got ndarray"):
        ops.last_valid(rng.normal(size=(4, 3, 2)), [1, 2, 3])
    with pytest.raises(TypeError, match="expected batch_first to be a bool"):
        ops.last_valid(gn.tensor(rng.normal(size=(4, 3, 2))), [1, 2, 3], batch_first=1)
