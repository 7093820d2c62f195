"""The ``observe`` callable of ops.elman, ops.lstm and ops.gru: the per-step norms of dE/dh_t
it gets from the fused backward equal the gradients at the states of the same cell composed
from small ops (read there by adding a zero Tensor to every new state), the gates it gets are
the cell's, and observing changes no value, gradient or graph."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from tests.ops.test_lstm_gru import _composed_gru, _composed_lstm
from tests.ops.test_lstm_gru import _leaves as _gated_leaves
from tests.ops.test_recurrent import _composed
from tests.ops.test_recurrent import _leaves as _elman_leaves

STEPS, N, HIDDEN = 7, 3, 4


class _Events:
    """An observer that keeps what it was handed (copies: the op's arrays are its own)."""

    def __init__(self):
        self.forward, self.backward = [], []

    def __call__(self, event, values):
        if event == "forward":
            gates = {k: v.copy() for k, v in values["gates"].items()}
            self.forward.append({"h": values["h"].copy(), "mask": values["mask"], "gates": gates})
        else:
            assert event == "backward"
            self.backward.append(values["delta_norm"].copy())


def _run(kind, arrays, mask, observe=None, inject=None):
    """(output Tensor, leaves) of one cell, fused (inject None) or composed with injection."""
    leaves = [gn.tensor(a, requires_grad=True) for a in arrays]
    if kind == "elman":
        fn = _composed if inject is not None else ops.elman
        extra = {"inject": inject} if inject is not None else {"observe": observe}
        return fn(*leaves, "tanh", mask=mask, **extra), leaves
    if kind == "lstm":
        if inject is not None:
            return _composed_lstm(*leaves, mask=mask, inject=inject)[0], leaves
        return ops.lstm(*leaves, mask=mask, observe=observe)[0], leaves
    fn = _composed_gru if inject is not None else ops.gru
    extra = {"inject": inject} if inject is not None else {"observe": observe}
    return fn(*leaves, mask=mask, **extra), leaves


def _arrays(kind, rng):
    if kind == "elman":
        return _elman_leaves(rng, steps=STEPS, n=N, hidden=HIDDEN)
    return _gated_leaves(rng, {"lstm": 4, "gru": 3}[kind], 2 if kind == "lstm" else 1,
                         steps=STEPS, n=N, hidden=HIDDEN)  # fmt: skip


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("masked", [False, True])
def test_step_norms_are_the_gradients_at_the_states(kind, masked, rng):
    arrays = _arrays(kind, rng)
    mask = (rng.random((STEPS, N)) > 0.3) if masked else None
    upstream = rng.uniform(-1.5, 1.5, (STEPS, N, HIDDEN))
    events = _Events()
    out, _ = _run(kind, arrays, mask, observe=events)
    ops.sum(out * upstream).backward()
    inject = [gn.tensor(np.zeros((N, HIDDEN)), requires_grad=True) for _ in range(STEPS)]
    composed, _ = _run(kind, arrays, mask, inject=inject)
    ops.sum(composed * upstream).backward()
    expected = np.array([np.linalg.norm(e.grad) for e in inject])
    assert len(events.forward) == len(events.backward) == 1
    np.testing.assert_allclose(events.backward[0], expected, rtol=1e-10, atol=1e-14)
    if masked:
        assert not events.backward[0][~mask.any(axis=1)].any()


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_observing_changes_no_value_gradient_or_graph(kind, rng):
    arrays = _arrays(kind, rng)
    upstream = rng.uniform(-1.5, 1.5, (STEPS, N, HIDDEN))
    results = []
    for observe in (None, _Events()):
        out, leaves = _run(kind, arrays, None, observe=observe)
        fused = out._op if kind != "lstm" else out._op.inputs[0]._op  # lstm's y slices its node
        assert type(fused).__name__ in ("Elman", "LSTM", "GRU")
        assert all(t._op is None for t in fused.inputs)
        ops.sum(out * upstream).backward()
        results.append((out.data, [t.grad for t in leaves]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_lstm_and_gru_hand_over_their_gates_and_states(rng):
    events = _Events()
    arrays = _arrays("lstm", rng)
    y, _ = ops.lstm(*[gn.tensor(a) for a in arrays], observe=events)
    (seen,) = events.forward
    np.testing.assert_array_equal(seen["h"], y.data)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = arrays
    a0 = x[0] @ w_ih.T + b_ih + h0 @ w_hh.T + b_hh  # step 0 by hand
    expected = {"i": a0[:, :4], "f": a0[:, 4:8], "g": a0[:, 8:12], "o": a0[:, 12:]}
    for name, a in expected.items():
        value = np.tanh(a) if name == "g" else 1 / (1 + np.exp(-a))
        np.testing.assert_allclose(seen["gates"][name][0], value, rtol=1e-12, err_msg=name)
    events = _Events()
    x, h0, w_ih, w_hh, b_ih, b_hh = arrays = _arrays("gru", rng)
    ops.gru(*[gn.tensor(a) for a in arrays], observe=events)
    u, v = x[0] @ w_ih.T + b_ih, h0 @ w_hh.T + b_hh
    r = 1 / (1 + np.exp(-(u[:, :4] + v[:, :4])))
    z = 1 / (1 + np.exp(-(u[:, 4:8] + v[:, 4:8])))
    n = np.tanh(u[:, 8:] + r * v[:, 8:])
    gates = events.forward[0]["gates"]
    for name, value in (("r", r), ("z", z), ("n", n)):
        np.testing.assert_allclose(gates[name][0], value, rtol=1e-12, err_msg=name)


def test_no_backward_without_a_gradient_and_a_bad_observer(rng):
    events = _Events()
    with gn.no_grad():
        ops.elman(*[gn.tensor(a, requires_grad=True) for a in _arrays("elman", rng)],
                  observe=events)  # fmt: skip
    assert len(events.forward) == 1 and events.backward == []
    for name, fn, arrays in (("elman", ops.elman, _arrays("elman", rng)),
                             ("lstm", ops.lstm, _arrays("lstm", rng)),
                             ("gru", ops.gru, _arrays("gru", rng))):  # fmt: skip
        with pytest.raises(TypeError, match=f"{name}: expected observe None or a callable"):
            fn(*[gn.tensor(a) for a in arrays], observe="yes")
