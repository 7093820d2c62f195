"""The LSTM and GRU layers against torch.nn.LSTM / torch.nn.GRU (values and every gradient,
after load_torch_state_dict), padded sequences against torch's packed sequences, LSTM
peepholes against a NumPy forward, gradient checks through time, saving, argument and shape
errors, and one graph node per layer and direction whatever the sequence length."""

from collections import Counter

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops
from glassnet.autodiff import gradcheck, walk
from glassnet.errors import ShapeError
from tests.conftest import require
from tests.ops.specs import _gated_reference

CONFIGS = [
    pytest.param({"num_layers": 1}, id="1layer"),
    pytest.param({"num_layers": 2}, id="2layers"),
    pytest.param({"num_layers": 2, "bidirectional": True}, id="2layers_bi"),
    pytest.param(
        {"num_layers": 1, "bidirectional": True, "batch_first": True, "bias": False},
        id="bi_batch_first_nobias",
    ),
    pytest.param({"num_layers": 2, "batch_first": True}, id="batch_first"),
]
KINDS = ["LSTM", "GRU"]


def _pair(torch, kind, config, seed=0):
    """A torch layer and a glassnet layer of the same kind holding the same float64 weights."""
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, kind)(3, 4, **config).double()
    ours = getattr(nn, kind)(3, 4, **config, dtype="float64", seed=seed)
    nn.load_torch_state_dict(ours, {k: v.detach().numpy() for k, v in
                                    theirs.state_dict().items()})  # fmt: skip
    return theirs, ours


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-9, err_msg=what)


def _states(kind, final):
    """The final states as a list: [h_n] (GRU) or [h_n, c_n] (LSTM)."""
    return list(final) if kind == "LSTM" else [final]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", CONFIGS)
def test_matches_torch_values_and_gradients(kind, config, rng):
    torch = require("torch")
    theirs, ours = _pair(torch, kind, config)
    d = 2 if config.get("bidirectional") else 1
    shape = (2, 6, 3) if config.get("batch_first") else (6, 2, 3)
    x = rng.uniform(-1, 1, shape)
    starts = [rng.uniform(-1, 1, (config["num_layers"] * d, 2, 4)) for _ in _states(kind, (0, 0))]
    up_out = rng.uniform(0.5, 1.5, shape[:2] + (d * 4,))
    ups = [rng.uniform(0.5, 1.5, s.shape) for s in starts]

    gx = gn.tensor(x, requires_grad=True)
    g_starts = [gn.tensor(s, requires_grad=True) for s in starts]
    out, final = ours(gx, tuple(g_starts) if kind == "LSTM" else g_starts[0])
    tx = torch.tensor(x, requires_grad=True)
    t_starts = [torch.tensor(s, requires_grad=True) for s in starts]
    t_out, t_final = theirs(tx, tuple(t_starts) if kind == "LSTM" else t_starts[0])
    _close(out.data, t_out.detach().numpy(), "output")
    for i, (a, b) in enumerate(zip(_states(kind, final), _states(kind, t_final))):
        _close(a.data, b.detach().numpy(), f"final state {i}")

    loss = ops.sum(out * up_out)
    t_loss = (t_out * torch.tensor(up_out)).sum()
    for s, t_s, up in zip(_states(kind, final), _states(kind, t_final), ups):
        loss = loss + ops.sum(s * up)
        t_loss = t_loss + (t_s * torch.tensor(up)).sum()
    loss.backward()
    t_loss.backward()
    _close(gx.grad, tx.grad.numpy(), "grad x")
    for i, (s, t_s) in enumerate(zip(g_starts, t_starts)):
        _close(s.grad, t_s.grad.numpy(), f"grad of initial state {i}")
    pairs = list(zip(ours.named_parameters(), theirs.named_parameters()))
    assert len(pairs) == len(list(theirs.parameters())) > 0
    for (name, p), (t_name, t_p) in pairs:
        assert name == t_name.replace("weight", "W").replace("bias", "b")
        _close(p.grad, t_p.grad.numpy(), f"grad {name}")


@pytest.mark.parametrize("kind", KINDS)
def test_without_hx_and_unbatched_as_torch(kind, rng):
    torch = require("torch")
    theirs, ours = _pair(torch, kind, {"num_layers": 2, "bidirectional": True})
    x = rng.uniform(-1, 1, (4, 3, 3))
    out, final = ours(x)
    t_out, t_final = theirs(torch.tensor(x))
    _close(out.data, t_out.detach().numpy(), "output")
    for a, b in zip(_states(kind, final), _states(kind, t_final)):
        _close(a.data, b.detach().numpy(), "final state")
    out, final = ours(x[:, 0])
    t_out, t_final = theirs(torch.tensor(x[:, 0]))
    assert out.shape == (4, 8)
    _close(out.data, t_out.detach().numpy(), "unbatched output")
    for a, b in zip(_states(kind, final), _states(kind, t_final)):
        assert a.shape == (4, 4)
        _close(a.data, b.detach().numpy(), "unbatched final state")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_padded_sequences_match_torch_packed(kind, batch_first, rng):
    torch = require("torch")
    config = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    theirs, ours = _pair(torch, kind, config)
    lengths = np.array([5, 2, 4])
    x = rng.uniform(-1, 1, (5, 3, 3))
    x[2:, 1] = 99.0  # padding: must not leak into anything
    x[4:, 2] = -99.0
    xin = x.transpose(1, 0, 2) if batch_first else x
    gx = gn.tensor(xin, requires_grad=True)
    out, final = ours(gx, lengths=lengths)
    loss = ops.sum(out * out) + sum(ops.sum(s) for s in _states(kind, final))
    loss.backward()
    tx = torch.tensor(xin, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
    )
    t_packed, t_final = theirs(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_packed, batch_first=batch_first,
                                                      total_length=5)  # fmt: skip
    _close(out.data, t_out.detach().numpy(), "output vs torch packed")
    padded = out.data.transpose(1, 0, 2) if batch_first else out.data
    assert not padded[2:, 1].any() and not padded[4:, 2].any(), "padded outputs must be 0"
    for a, b in zip(_states(kind, final), _states(kind, t_final)):
        _close(a.data, b.detach().numpy(), "final state vs torch packed")
    ((t_out * t_out).sum() + sum(s.sum() for s in _states(kind, t_final))).backward()
    _close(gx.grad, tx.grad.numpy(), "grad x")
    for (name, p), (_, t_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, t_p.grad.numpy(), f"grad {name}")


# one direction of an LSTM with peepholes (Gers & Schmidhuber 2000), step by step in NumPy:
# the spec table's reference, (outputs, c_T)
_numpy_lstm = _gated_reference(np)


def test_peepholes_match_a_numpy_forward(rng):
    lstm = nn.LSTM(3, 4, num_layers=2, peepholes=True, dtype="float64", seed=2)
    assert lstm.W_peep_l1.shape == (3, 4)
    assert 0 < np.abs(lstm.W_peep_l0.data).max() <= 0.5  # torch's uniform(-1/sqrt(H), ..)
    x = rng.uniform(-1, 1, (6, 2, 3))
    h0, c0 = rng.uniform(-1, 1, (2, 2, 4)), rng.uniform(-1, 1, (2, 2, 4))
    out, (h_n, c_n) = lstm(x, (h0, c0))
    seq, hs, cs = x, [], []
    for layer in range(2):
        names = lstm.parameter_names(layer)
        assert names[-1] == f"W_peep_l{layer}"
        *weights, peep = [getattr(lstm, name).data for name in names]
        seq, c = _numpy_lstm(seq, h0[layer], c0[layer], *weights, peepholes=peep)
        hs.append(seq[-1])
        cs.append(c)
    np.testing.assert_allclose(out.data, seq, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.data, np.stack(hs), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_n.data, np.stack(cs), rtol=1e-12, atol=1e-12)
    plain = nn.LSTM(3, 4, num_layers=2, dtype="float64", seed=2)
    assert not np.allclose(plain(x, (h0, c0))[0].data, out.data)  # the peepholes matter


@pytest.mark.parametrize("kind, kwargs", [("LSTM", {"peepholes": True}), ("GRU", {})])
def test_gradcheck_through_six_steps(kind, kwargs, rng):
    layer = getattr(nn, kind)(2, 3, bidirectional=True, dtype="float64", seed=1, **kwargs)
    names, params = zip(*layer.named_parameters())
    lengths = np.array([6, 4])

    def f(x, *weights):
        for name, w in zip(names, weights):
            setattr(layer, name, w)  # the layer reads its weights by name: gradcheck's leaves
        out, final = layer(x, lengths=lengths)
        return ops.sum(out * out) + sum(ops.sum(s * s) for s in _states(kind, final))

    assert gradcheck(f, [rng.uniform(-1, 1, (6, 2, 2))] + [p.data.copy() for p in params])


def _count_nodes(tensor):
    """{op class name: how many} in the graph behind ``tensor`` (through autodiff.walk)."""
    return Counter(type(t.op).__name__ for t in walk(tensor) if t.op is not None)


@pytest.mark.parametrize("kind", KINDS)
def test_one_node_per_layer_and_direction_whatever_the_length(kind, rng):
    layer = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    counts = []
    for steps in (3, 40):
        out, final = layer(rng.uniform(-1, 1, (steps, 2, 3)), lengths=np.array([steps, 2]))
        kinds = _count_nodes(ops.sum(out) + sum(ops.sum(s) for s in _states(kind, final)))
        assert kinds[kind] == 4
        counts.append(kinds)
    assert counts[0] == counts[1]


@pytest.mark.parametrize("kind, kwargs", [("LSTM", {"peepholes": True}), ("LSTM", {}),
                                          ("GRU", {})])  # fmt: skip
def test_save_and_load_round_trip(kind, kwargs, tmp_path, rng):
    layer = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True, dropout=0.25,
                              bidirectional=True, dtype="float64", seed=3, **kwargs)  # fmt: skip
    layer.eval()
    gn.save(layer, tmp_path / "layer.npz")
    loaded = gn.load(tmp_path / "layer.npz")
    loaded.eval()
    assert type(loaded) is type(layer) and loaded.config() == layer.config()
    assert repr(loaded) == repr(layer)
    x = rng.uniform(-1, 1, (2, 5, 3))
    a_out, a_final = layer(x, lengths=np.array([5, 3]))
    b_out, b_final = loaded(x, lengths=np.array([5, 3]))
    np.testing.assert_array_equal(a_out.data, b_out.data)
    for a, b in zip(_states(kind, a_final), _states(kind, b_final)):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("kind, gates", [("LSTM", 4), ("GRU", 3)])
def test_default_init_is_torch_uniform_and_float32(kind, gates, rng):
    layer = getattr(nn, kind)(7, 16, num_layers=2, bidirectional=True, seed=0)
    assert layer.W_ih_l0.shape == (gates * 16, 7) and layer.W_ih_l1.shape == (gates * 16, 32)
    assert layer.W_hh_l1_reverse.shape == (gates * 16, 16)
    assert layer.b_hh_l1_reverse.shape == (gates * 16,)
    for name, p in layer.named_parameters():
        assert 0.2 < np.abs(p.data).max() <= 0.25, name
    out, final = layer(rng.uniform(-1, 1, (4, 2, 7)).astype(np.float32))
    assert out.dtype == np.float32
    assert all(s.dtype == np.float32 for s in _states(kind, final))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"hidden_size": 0}, ValueError, "expected hidden_size to be a positive int, got 0"),
        ({"num_layers": 1.5}, ValueError, "expected num_layers to be a positive int"),
        ({"dropout": 1.0}, ValueError, r"expected dropout in \[0, 1\), got 1.0"),
        ({"bidirectional": 1}, TypeError, "expected bidirectional to be a bool, got 1"),
        ({"dtype": "int32"}, TypeError, "expected a floating dtype"),
    ],
)
def test_bad_arguments(kind, kwargs, error, match):
    args = {"input_size": 3, "hidden_size": 4} | kwargs
    with pytest.raises(error, match=f"{kind}: {match}"):
        getattr(nn, kind)(**args)


def test_bad_peepholes_and_states():
    with pytest.raises(TypeError, match="LSTM: expected peepholes to be a bool, got 1"):
        nn.LSTM(3, 4, peepholes=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'peepholes'"):
        nn.GRU(3, 4, peepholes=True)
    lstm, x = nn.LSTM(3, 4, num_layers=2), np.zeros((5, 2, 3))
    with pytest.raises(TypeError, match=r"expected hx as a pair \(h_0, c_0\), got ndarray"):
        lstm(x, np.zeros((2, 2, 4)))
    with pytest.raises(ShapeError, match=r"expected c_0 of shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        lstm(x, (np.zeros((2, 2, 4)), np.zeros((1, 2, 4))))
    with pytest.raises(ShapeError, match=r"input_size=3, got shape \(5, 2, 2\)"):
        lstm(np.zeros((5, 2, 2)))
    gru = nn.GRU(3, 4)
    with pytest.raises(ShapeError, match=r"expected hx of shape \(1, 2, 4\).*got \(2, 2, 4\)"):
        gru(x, np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"expected lengths in 1 .. 5 \(T\), got \[6, 2\]"):
        gru(x, lengths=np.array([6, 2]))


def test_torch_state_into_a_peephole_lstm_names_the_missing_weight():
    torch = require("torch")
    state = {k: v.numpy() for k, v in torch.nn.LSTM(3, 4).state_dict().items()}
    with pytest.raises(ValueError, match=r"has no value for LSTM.W_peep_l0"):
        nn.load_torch_state_dict(nn.LSTM(3, 4, peepholes=True), state)
    with pytest.raises(ShapeError, match=r"weight_ih_l0 has shape \(16, 3\), GRU.W_ih_l0 "
                                         r"\(12, 3\)"):  # fmt: skip
        nn.load_torch_state_dict(nn.GRU(3, 4), state)
