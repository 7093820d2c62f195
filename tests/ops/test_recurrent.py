"""ops.elman against the same cell composed from small glassnet ops step by step (values and
all gradients), the mask's carried state, and its argument checks. The spec table
(specs.py) adds the gradient checks, the torch comparison and forward mode."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.errors import ShapeError


def _composed(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, mask=None, inject=None):
    """The Elman RNN as a graph of small ops, one cell per step. ``inject``: None or one zero
    Tensor per step added to the step's new state (its grad is then dE/dh_t)."""
    f = ops.tanh if nonlinearity == "tanh" else ops.relu
    h, outputs = h0, []
    for t in range(x.shape[0]):
        z = f(ops.add(ops.linear(x[t], w_ih, b_ih), ops.linear(h, w_hh, b_hh)))
        if inject is not None:
            z = z + inject[t]
        if mask is None:
            h = z
            outputs.append(z)
        else:
            m = mask[t][:, None].astype(np.float64)
            h = z * m + h * (1 - m)
            outputs.append(z * m)
    return ops.stack(outputs, axis=0)


def _leaves(rng, steps=7, n=3, features=2, hidden=4):
    shapes = [(steps, n, features), (n, hidden), (hidden, features), (hidden, hidden),
              (hidden,), (hidden,)]  # fmt: skip
    return [rng.uniform(-0.8, 0.8, s) for s in shapes]


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_equals_the_composed_cell(nonlinearity, masked, rng):
    arrays = _leaves(rng)
    mask = (rng.random((7, 3)) > 0.3) if masked else None
    upstream = rng.uniform(0.5, 1.5, (7, 3, 4))
    results = []
    for fn in (ops.elman, _composed):
        leaves = [gn.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*leaves, nonlinearity, mask=mask)
        ops.sum(out * upstream).backward()
        results.append((out.data, [t.grad for t in leaves]))
    (fused, fused_grads), (composed, composed_grads) = results
    np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-12)
    for i, (a, b) in enumerate(zip(fused_grads, composed_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"gradient {i}")


def test_a_masked_step_carries_the_state_and_outputs_zero(rng):
    x, h0, w_ih, w_hh, b_ih, b_hh = _leaves(rng, steps=5, n=2)
    mask = np.array([[0, 1], [1, 1], [0, 1], [1, 0], [0, 0]])  # sequence 0: steps 1 and 3
    out = ops.elman(x, h0, gn.tensor(w_ih), w_hh, b_ih, b_hh, mask=mask).data
    assert not out[mask == 0].any()
    alone = ops.elman(x[[1, 3], :1], h0[:1], gn.tensor(w_ih), w_hh, b_ih, b_hh).data
    np.testing.assert_allclose(out[[1, 3], 0], alone[:, 0], rtol=1e-12)


def test_no_bias_and_zero_initial_state(rng):
    x, _, w_ih, w_hh, _, _ = _leaves(rng)
    out = ops.elman(gn.tensor(x), None, w_ih, w_hh)
    h = np.zeros((3, 4))
    for t in range(7):
        h = np.tanh(x[t] @ w_ih.T + h @ w_hh.T)
        np.testing.assert_allclose(out.data[t], h, rtol=1e-12)


def test_one_node_for_the_whole_sequence(rng):
    leaves = [gn.tensor(a, requires_grad=True) for a in _leaves(rng, steps=50)]
    out = ops.elman(*leaves)
    assert type(out._op).__name__ == "Elman"
    assert all(t._op is None for t in out._op.inputs)


def test_bad_arguments_say_expected_and_got(rng):
    x, h0, w_ih, w_hh, b_ih, b_hh = (gn.tensor(a) for a in _leaves(rng))
    with pytest.raises(ValueError, match="expected nonlinearity 'tanh' or 'relu', got 'gelu'"):
        ops.elman(x, h0, w_ih, w_hh, b_ih, b_hh, "gelu")
    with pytest.raises(ShapeError, match=r"expected x of 3 dims \(T, N, input\), got shape"):
        ops.elman(x[0], h0, w_ih, w_hh)
    with pytest.raises(ShapeError, match=r"expected W_ih of shape \(H, 2\).*got \(2, 4\)"):
        ops.elman(x, h0, w_ih.T, w_hh)
    with pytest.raises(ShapeError, match=r"expected W_hh of shape \(4, 4\), got \(4, 2\)"):
        ops.elman(x, h0, w_ih, w_ih)
    with pytest.raises(ShapeError, match=r"expected h0 of shape \(3, 4\), got \(2, 4\)"):
        ops.elman(x, h0[:2], w_ih, w_hh)
    with pytest.raises(ShapeError, match=r"expected b_hh of shape \(4,\), got \(3,\)"):
        ops.elman(x, h0, w_ih, w_hh, b_ih, b_hh[:3])
    with pytest.raises(ValueError, match="both biases b_ih and b_hh, or neither"):
        ops.elman(x, h0, w_ih, w_hh, b_ih)
    with pytest.raises(ShapeError, match=r"expected a mask of shape \(7, 3\) \(T, N\), got"):
        ops.elman(x, h0, w_ih, w_hh, mask=np.ones((3, 7)))
    with pytest.raises(ValueError, match="expected a mask of 0s and 1s"):
        ops.elman(x, h0, w_ih, w_hh, mask=np.full((7, 3), 0.5))
    with pytest.raises(TypeError, match=r"elman: expected floating weights or inputs, got dtypes"):
        ops.elman(*[gn.from_numpy(a.data.astype(np.int64)) for a in (x, h0, w_ih, w_hh)])


@pytest.mark.parametrize("name, gates", [("elman", 1), ("lstm", 4), ("gru", 3)])
def test_mixed_dtypes_meet_in_the_common_one(name, gates):
    # seed 0: a float64 sequence through float32 weights runs in float64, as linear does; each
    # weight's gradient comes back in float32, the float64 one of the same weights rounded
    rng = np.random.default_rng(0)
    steps, n, features, hidden = 5, 3, 2, 4
    x = rng.normal(size=(steps, n, features))
    weights = [rng.normal(size=(gates * hidden, features)).astype(np.float32) * 0.5,
               rng.normal(size=(gates * hidden, hidden)).astype(np.float32) * 0.5]  # fmt: skip
    mask = np.ones((steps, n))
    mask[3:, 0] = 0
    results = []
    for dtype in (np.float32, np.float64):
        ws = [gn.tensor(w.astype(dtype), requires_grad=True) for w in weights]
        states = [None, None] if name == "lstm" else [None]
        y = getattr(ops, name)(gn.tensor(x), *states, *ws, mask=mask)
        y = y[0] if isinstance(y, tuple) else y
        (y * y).sum().backward()
        results.append((y, ws))
    (y32, w32), (y64, w64) = results
    assert y32.dtype == np.float64
    np.testing.assert_array_equal(y32.data, y64.data)
    for a, b in zip(w32, w64):
        assert a.grad.dtype == np.float32
        np.testing.assert_array_equal(a.grad, b.grad.astype(np.float32))
