"""ops.lstm and ops.gru against the same cells composed from small glassnet ops step by step
(values and all gradients), the mask's carried state and cell, peepholes, and the argument
checks. The spec table (specs.py) adds the gradient checks, the NumPy and torch references
and forward mode."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import gradcheck
from glassnet.errors import ShapeError


def _column(mask, t):
    return mask[t][:, None].astype(np.float64)


def _composed_lstm(x, h, c, w_ih, w_hh, b_ih, b_hh, mask=None, peepholes=None, inject=None):
    """The LSTM as a graph of small ops, one cell per step: (outputs, all cells). ``inject``:
    None or one zero Tensor per step added to the step's new state (its grad is dE/dh_t)."""
    hidden, outputs, cells = h.shape[1], [], []
    for t in range(x.shape[0]):
        a = ops.add(ops.linear(x[t], w_ih, b_ih), ops.linear(h, w_hh, b_hh))
        a_i, a_f, a_g, a_o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
        if peepholes is not None:
            a_i, a_f = a_i + peepholes[0] * c, a_f + peepholes[1] * c
        c_new = ops.sigmoid(a_f) * c + ops.sigmoid(a_i) * ops.tanh(a_g)
        if peepholes is not None:
            a_o = a_o + peepholes[2] * c_new
        h_new = ops.sigmoid(a_o) * ops.tanh(c_new)
        if inject is not None:
            h_new = h_new + inject[t]
        if mask is None:
            h, c = h_new, c_new
            outputs.append(h_new)
        else:
            m = _column(mask, t)
            h, c = h_new * m + h * (1 - m), c_new * m + c * (1 - m)
            outputs.append(h_new * m)
        cells.append(c)
    return ops.stack(outputs, axis=0), ops.stack(cells, axis=0)


def _composed_gru(x, h, w_ih, w_hh, b_ih, b_hh, mask=None, inject=None):
    """The GRU as a graph of small ops, one cell per step (``inject`` as _composed_lstm's)."""
    hidden, outputs = h.shape[1], []
    for t in range(x.shape[0]):
        u, v = ops.linear(x[t], w_ih, b_ih), ops.linear(h, w_hh, b_hh)
        r = ops.sigmoid(u[:, :hidden] + v[:, :hidden])
        z = ops.sigmoid(u[:, hidden : 2 * hidden] + v[:, hidden : 2 * hidden])
        n = ops.tanh(u[:, 2 * hidden :] + r * v[:, 2 * hidden :])
        h_new = (1 - z) * n + z * h
        if inject is not None:
            h_new = h_new + inject[t]
        if mask is None:
            h = h_new
            outputs.append(h_new)
        else:
            m = _column(mask, t)
            h = h_new * m + h * (1 - m)
            outputs.append(h_new * m)
    return ops.stack(outputs, axis=0)


def _leaves(rng, gates, states, steps=7, n=3, features=2, hidden=4, peepholes=False):
    shapes = [(steps, n, features)] + [(n, hidden)] * states
    shapes += [(gates * hidden, features), (gates * hidden, hidden), (gates * hidden,),
               (gates * hidden,)] + ([(3, hidden)] if peepholes else [])  # fmt: skip
    return [rng.uniform(-0.8, 0.8, s) for s in shapes]


def _assert_same(results):
    (fused, fused_grads), (composed, composed_grads) = results
    np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-12)
    for i, (a, b) in enumerate(zip(fused_grads, composed_grads)):
        assert a is not None, f"gradient {i} missing"
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"gradient {i}")


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("peepholes", [False, True])
def test_fused_lstm_equals_the_composed_cell(masked, peepholes, rng):
    arrays = _leaves(rng, 4, 2, peepholes=peepholes)
    mask = (rng.random((7, 3)) > 0.3) if masked else None
    up_y, up_c = rng.uniform(0.5, 1.5, (7, 3, 4)), rng.uniform(0.5, 1.5, (7, 3, 4))
    results = []
    for fused in (True, False):
        leaves = [gn.tensor(a, requires_grad=True) for a in arrays]
        peep = leaves.pop() if peepholes else None
        if fused:
            y, c = ops.lstm(*leaves, mask=mask, peepholes=peep, all_cells=True)
        else:
            y, c = _composed_lstm(*leaves, mask=mask, peepholes=peep)
        (ops.sum(y * up_y) + ops.sum(c * up_c)).backward()
        grads = [t.grad for t in leaves] + ([peep.grad] if peepholes else [])
        results.append((np.concatenate([y.data, c.data]), grads))
    _assert_same(results)


@pytest.mark.parametrize("masked", [False, True])
def test_fused_gru_equals_the_composed_cell(masked, rng):
    arrays = _leaves(rng, 3, 1)
    mask = (rng.random((7, 3)) > 0.3) if masked else None
    upstream = rng.uniform(0.5, 1.5, (7, 3, 4))
    results = []
    for fn in (ops.gru, _composed_gru):
        leaves = [gn.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*leaves, mask=mask)
        ops.sum(out * upstream).backward()
        results.append((out.data, [t.grad for t in leaves]))
    _assert_same(results)


def test_a_masked_step_carries_state_and_cell_and_outputs_zero(rng):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _leaves(rng, 4, 2, steps=5, n=2)
    mask = np.array([[0, 1], [1, 1], [0, 1], [1, 0], [0, 0]])  # sequence 0: steps 1 and 3
    y, c = ops.lstm(x, h0, c0, gn.tensor(w_ih), w_hh, b_ih, b_hh, mask=mask, all_cells=True)
    assert not y.data[mask == 0].any()
    alone, c_alone = ops.lstm(x[[1, 3], :1], h0[:1], c0[:1], gn.tensor(w_ih), w_hh, b_ih, b_hh,
                              all_cells=True)  # fmt: skip
    np.testing.assert_allclose(y.data[[1, 3], 0], alone.data[:, 0], rtol=1e-12)
    np.testing.assert_allclose(c.data[[1, 2], 0], c_alone.data[[0, 0], 0], rtol=1e-12)
    np.testing.assert_allclose(c.data[0, 0], c0[0], rtol=1e-12)  # nothing happened yet
    _, c_last = ops.lstm(x, h0, c0, gn.tensor(w_ih), w_hh, b_ih, b_hh, mask=mask)
    np.testing.assert_array_equal(c_last.data, c.data[-1])
    np.testing.assert_allclose(c_last.data[0], c_alone.data[-1, 0], rtol=1e-12)
    g = ops.gru(x, h0, gn.tensor(w_ih[:12]), w_hh[:12], b_ih[:12], b_hh[:12], mask=mask).data
    g_alone = ops.gru(x[[1, 3], :1], h0[:1], gn.tensor(w_ih[:12]), w_hh[:12], b_ih[:12],
                      b_hh[:12]).data  # fmt: skip
    assert not g[mask == 0].any()
    np.testing.assert_allclose(g[[1, 3], 0], g_alone[:, 0], rtol=1e-12)


def test_no_bias_and_zero_initial_states(rng):
    x, _, _, w_ih, w_hh, _, _ = (gn.tensor(a) for a in _leaves(rng, 4, 2))
    y, c_last = ops.lstm(x, None, None, w_ih, w_hh)
    ref_y, ref_c = _composed_lstm(x, np.zeros((3, 4)), np.zeros((3, 4)), w_ih, w_hh, None, None)
    np.testing.assert_allclose(y.data, ref_y.data, rtol=1e-12)
    np.testing.assert_allclose(c_last.data, ref_c.data[-1], rtol=1e-12)
    out = ops.gru(x, None, w_ih[:12], w_hh[:12])
    ref = _composed_gru(x, np.zeros((3, 4)), w_ih[:12], w_hh[:12], None, None)
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_one_node_for_the_whole_sequence(kind, rng):
    gates, states = (4, 2) if kind == "LSTM" else (3, 1)
    leaves = [gn.tensor(a, requires_grad=True) for a in _leaves(rng, gates, states, steps=50)]
    out = ops.lstm(*leaves)[0] if kind == "LSTM" else ops.gru(*leaves)
    op = out._op.inputs[0]._op if kind == "LSTM" else out._op  # lstm: a slice of the node
    assert type(op).__name__ == kind
    assert all(t._op is None for t in op.inputs)


def test_bad_arguments_say_expected_and_got(rng):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, peep = (gn.tensor(a) for a in
                                               _leaves(rng, 4, 2, peepholes=True))  # fmt: skip
    with pytest.raises(ShapeError, match=r"lstm: expected x of 3 dims \(T, N, input\)"):
        ops.lstm(x[0], h0, c0, w_ih, w_hh)
    with pytest.raises(ShapeError, match=r"expected W_ih of shape \(4H, 2\).*got \(15, 2\)"):
        ops.lstm(x, h0, c0, w_ih[:15], w_hh)
    with pytest.raises(ShapeError, match=r"expected W_hh of shape \(16, 4\), got \(12, 4\)"):
        ops.lstm(x, h0, c0, w_ih, w_hh[:12])
    with pytest.raises(ShapeError, match=r"expected c0 of shape \(3, 4\), got \(2, 4\)"):
        ops.lstm(x, h0, c0[:2], w_ih, w_hh)
    with pytest.raises(ShapeError, match=r"expected b_hh of shape \(16,\), got \(3,\)"):
        ops.lstm(x, h0, c0, w_ih, w_hh, b_ih, b_hh[:3])
    with pytest.raises(ValueError, match="lstm: expected both biases b_ih and b_hh, or neither"):
        ops.lstm(x, h0, c0, w_ih, w_hh, b_ih)
    with pytest.raises(ShapeError, match=r"expected peepholes of shape \(3, 4\) \(w_ci, w_cf, "
                                         r"w_co\), got \(4, 3\)"):  # fmt: skip
        ops.lstm(x, h0, c0, w_ih, w_hh, peepholes=peep.T)
    with pytest.raises(ShapeError, match=r"expected a mask of shape \(7, 3\) \(T, N\), got"):
        ops.lstm(x, h0, c0, w_ih, w_hh, mask=np.ones((3, 7)))
    with pytest.raises(ValueError, match="expected a mask of 0s and 1s"):
        ops.lstm(x, h0, c0, w_ih, w_hh, mask=np.full((7, 3), 0.5))
    with pytest.raises(TypeError, match=r"lstm: expected floating weights or inputs, got dtypes"):
        ints = [gn.from_numpy(a.data.astype(np.int64)) for a in (x, h0, c0, w_ih, w_hh)]
        ops.lstm(*ints)
    with pytest.raises(TypeError, match="gru: expected x or W_ih to be a Tensor"):
        ops.gru(x.data, h0, w_ih.data[:12], w_hh[:12])
    with pytest.raises(ShapeError, match=r"gru: expected W_ih of shape \(3H, 2\)"):
        ops.gru(x, h0, w_ih, w_hh)  # 16 rows: not 3H
    with pytest.raises(ShapeError, match=r"gru: expected h0 of shape \(3, 4\), got \(3, 2\)"):
        ops.gru(x, h0[:, :2], w_ih[:12], w_hh[:12])


def test_peepholes_without_bias_gradcheck_and_are_guarded_until_backward(rng):
    arrays = [a for i, a in enumerate(_leaves(rng, 4, 2, steps=5, n=2, peepholes=True))
              if i not in (5, 6)]  # fmt: skip
    mask = np.array([[1, 1], [1, 0], [0, 1], [1, 1], [0, 0]])

    def f(x, h0, c0, w_ih, w_hh, peepholes):
        y, c = ops.lstm(x, h0, c0, w_ih, w_hh, mask=mask, peepholes=peepholes, all_cells=True)
        return ops.sum(y * y) + ops.sum(c * c)

    assert gradcheck(f, arrays)
    leaves = [gn.tensor(a, requires_grad=True) for a in arrays]
    loss = f(*leaves)
    with pytest.raises(ValueError, match="read-only"):  # backward reads the peepholes
        leaves[5].data[0, 0] = 1.0
    loss.backward()
    leaves[5].data[0, 0] = 1.0  # released after backward
