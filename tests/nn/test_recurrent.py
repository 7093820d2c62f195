"""The RNN layer against torch.nn.RNN (values and every gradient, after load_torch_state_dict),
padded sequences against running each alone and against torch's packed sequences, a gradient
check through time, saving, argument and shape errors, and one graph node per layer and
direction whatever the sequence length."""

from collections import Counter

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops
from glassnet.autodiff import gradcheck, walk
from glassnet.errors import ShapeError
from tests.conftest import require

CONFIGS = [
    pytest.param({"num_layers": 1, "nonlinearity": "tanh"}, id="1layer_tanh"),
    pytest.param({"num_layers": 2, "nonlinearity": "relu"}, id="2layers_relu"),
    pytest.param({"num_layers": 2, "nonlinearity": "tanh", "bidirectional": True}, id="2layers_bi"),
    pytest.param(
        {
            "num_layers": 1,
            "nonlinearity": "relu",
            "bidirectional": True,
            "batch_first": True,
            "bias": False,
        },
        id="bi_relu_batch_first_nobias",
    ),
    pytest.param({"num_layers": 2, "nonlinearity": "tanh", "batch_first": True}, id="batch_first"),
]


def _pair(torch, config, seed=0):
    """A torch RNN and a glassnet RNN holding the same float64 weights."""
    torch.manual_seed(seed)
    theirs = torch.nn.RNN(3, 4, **config).double()
    ours = nn.RNN(3, 4, **config, dtype="float64", seed=seed)
    nn.load_torch_state_dict(ours, {k: v.detach().numpy() for k, v in
                                    theirs.state_dict().items()})  # fmt: skip
    return theirs, ours


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-9, err_msg=what)


@pytest.mark.parametrize("config", CONFIGS)
def test_matches_torch_values_and_gradients(config, rng):
    torch = require("torch")
    theirs, ours = _pair(torch, config)
    d = 2 if config.get("bidirectional") else 1
    shape = (2, 6, 3) if config.get("batch_first") else (6, 2, 3)
    x = rng.uniform(-1, 1, shape)
    hx = rng.uniform(-1, 1, (config["num_layers"] * d, 2, 4))
    up_out = rng.uniform(0.5, 1.5, shape[:2] + (d * 4,))
    up_h = rng.uniform(0.5, 1.5, hx.shape)

    gx, ghx = gn.tensor(x, requires_grad=True), gn.tensor(hx, requires_grad=True)
    out, h_n = ours(gx, ghx)
    tx, thx = torch.tensor(x, requires_grad=True), torch.tensor(hx, requires_grad=True)
    t_out, t_h = theirs(tx, thx)
    _close(out.data, t_out.detach().numpy(), "output")
    _close(h_n.data, t_h.detach().numpy(), "h_n")

    (ops.sum(out * up_out) + ops.sum(h_n * up_h)).backward()
    ((t_out * torch.tensor(up_out)).sum() + (t_h * torch.tensor(up_h)).sum()).backward()
    _close(gx.grad, tx.grad.numpy(), "grad x")
    _close(ghx.grad, thx.grad.numpy(), "grad hx")
    for (name, p), (t_name, t_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == t_name.replace("weight", "W").replace("bias", "b")
        _close(p.grad, t_p.grad.numpy(), f"grad {name}")


def test_without_hx_starts_from_zeros(rng):
    torch = require("torch")
    theirs, ours = _pair(torch, {"num_layers": 2, "bidirectional": True})
    x = rng.uniform(-1, 1, (4, 3, 3))
    out, h_n = ours(x)
    t_out, t_h = theirs(torch.tensor(x))
    _close(out.data, t_out.detach().numpy(), "output")
    _close(h_n.data, t_h.detach().numpy(), "h_n")


def test_unbatched_input_as_torch(rng):
    torch = require("torch")
    theirs, ours = _pair(torch, {"num_layers": 1, "bidirectional": True})
    x, hx = rng.uniform(-1, 1, (5, 3)), rng.uniform(-1, 1, (2, 4))
    out, h_n = ours(x, hx)
    t_out, t_h = theirs(torch.tensor(x), torch.tensor(hx))
    assert out.shape == (5, 8) and h_n.shape == (2, 4)
    _close(out.data, t_out.detach().numpy(), "output")
    _close(h_n.data, t_h.detach().numpy(), "h_n")


@pytest.mark.parametrize("batch_first", [False, True])
def test_padded_sequences_equal_each_run_alone_and_torch_packed(batch_first, rng):
    torch = require("torch")
    config = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    theirs, ours = _pair(torch, config)
    lengths = np.array([5, 2, 4])
    x = rng.uniform(-1, 1, (5, 3, 3))
    x[2:, 1] = 99.0  # padding: must not leak into anything
    x[4:, 2] = -99.0
    hx = rng.uniform(-1, 1, (4, 3, 4))
    xin = x.transpose(1, 0, 2) if batch_first else x
    out, h_n = ours(xin, hx, lengths=lengths)
    out = out.data.transpose(1, 0, 2) if batch_first else out.data
    for n, length in enumerate(lengths):
        seq = x[:length, n : n + 1]
        alone, h_alone = ours(seq.transpose(1, 0, 2) if batch_first else seq, hx[:, n : n + 1])
        _close(out[:length, n], alone.data.reshape(length, -1), f"outputs of sequence {n}")
        assert not out[length:, n].any(), "padded outputs must be 0"
        _close(h_n.data[:, n], h_alone.data[:, 0], f"final states of sequence {n}")
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xin), torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
    )
    t_packed, t_h = theirs(packed, torch.tensor(hx))
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_packed, total_length=5)
    _close(out, t_out.detach().numpy(), "output vs torch packed")
    _close(h_n.data, t_h.detach().numpy(), "h_n vs torch packed")


def test_padded_gradients_match_torch_packed(rng):
    torch = require("torch")
    theirs, ours = _pair(torch, {"num_layers": 1, "bidirectional": True, "nonlinearity": "relu"})
    lengths = np.array([3, 5])
    x = rng.uniform(-1, 1, (5, 2, 3))
    gx = gn.tensor(x, requires_grad=True)
    out, h_n = ours(gx, lengths=lengths)
    (ops.sum(out * out) + ops.sum(h_n)).backward()
    tx = torch.tensor(x, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths),
                                                     enforce_sorted=False)  # fmt: skip
    t_packed, t_h = theirs(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_packed, total_length=5)
    ((t_out * t_out).sum() + t_h.sum()).backward()
    _close(gx.grad, tx.grad.numpy(), "grad x")
    for (name, p), (_, t_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, t_p.grad.numpy(), f"grad {name}")


def test_gradcheck_through_six_steps(rng):
    rnn = nn.RNN(2, 3, num_layers=2, bidirectional=True, dtype="float64", seed=1)
    names, params = zip(*rnn.named_parameters())
    lengths = np.array([6, 4])

    def f(x, hx, *weights):
        for name, w in zip(names, weights):
            setattr(rnn, name, w)  # the layer reads its weights by name: gradcheck's leaves
        out, h_n = rnn(x, hx, lengths=lengths)
        return ops.sum(out * out) + ops.sum(h_n)

    inputs = [rng.uniform(-1, 1, (6, 2, 2)), rng.uniform(-1, 1, (4, 2, 3))]
    assert gradcheck(f, inputs + [p.data.copy() for p in params])


@pytest.mark.parametrize("layer", [nn.RNN, nn.GRU, nn.LSTM], ids=["rnn", "gru", "lstm"])
def test_dropout_only_between_layers_in_training(rng, layer):
    x = rng.uniform(-1, 1, (4, 2, 3))
    rnn = layer(3, 5, num_layers=2, dropout=0.5, dtype="float64", seed=0)
    plain = layer(3, 5, num_layers=2, dtype="float64", seed=0)
    rnn.eval()
    np.testing.assert_array_equal(rnn(x)[0].data, plain(x)[0].data)
    rnn.train()
    assert not np.allclose(rnn(x)[0].data, plain(x)[0].data)
    one = layer(3, 5, dropout=0.5, dtype="float64", seed=0)  # one layer: nothing to drop
    np.testing.assert_array_equal(one(x)[0].data, layer(3, 5, dtype="float64", seed=0)(x)[0].data)


def test_default_init_is_torch_uniform():
    rnn = nn.RNN(7, 16, num_layers=2, bidirectional=True, seed=0)
    names = [n for n, _ in rnn.named_parameters()]
    assert names[:8] == ["W_ih_l0", "W_hh_l0", "b_ih_l0", "b_hh_l0", "W_ih_l0_reverse",
                         "W_hh_l0_reverse", "b_ih_l0_reverse", "b_hh_l0_reverse"]  # fmt: skip
    assert rnn.W_ih_l0.shape == (16, 7) and rnn.W_ih_l1.shape == (16, 32)
    assert rnn.W_hh_l1_reverse.shape == (16, 16) and rnn.b_hh_l1_reverse.shape == (16,)
    for name, p in rnn.named_parameters():
        assert np.abs(p.data).max() <= 0.25 and np.abs(p.data).max() > 0.2, name


def _count_nodes(tensor):
    """{op class name: how many} in the graph behind ``tensor`` (through autodiff.walk)."""
    return Counter(type(t.op).__name__ for t in walk(tensor) if t.op is not None)


def test_one_node_per_layer_and_direction_whatever_the_length(rng):
    rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    counts = []
    for steps in (3, 40):
        out, h_n = rnn(rng.uniform(-1, 1, (steps, 2, 3)), lengths=np.array([steps, 2]))
        kinds = _count_nodes(ops.sum(out) + ops.sum(h_n))
        assert kinds["Elman"] == 4
        counts.append(kinds)
    assert counts[0] == counts[1]


def test_save_and_load_round_trip(tmp_path, rng):
    rnn = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True, dropout=0.25,
                 bidirectional=True, dtype="float64", seed=3)  # fmt: skip
    rnn.eval()
    gn.save(rnn, tmp_path / "rnn.npz")
    loaded = gn.load(tmp_path / "rnn.npz")
    loaded.eval()
    assert isinstance(loaded, nn.RNN) and loaded.config() == rnn.config()
    x = rng.uniform(-1, 1, (2, 5, 3))
    for a, b in zip(rnn(x, lengths=np.array([5, 3])), loaded(x, lengths=np.array([5, 3]))):
        np.testing.assert_array_equal(a.data, b.data)


def test_float32_by_default(rng):
    out, h_n = nn.RNN(3, 4, seed=0)(rng.uniform(-1, 1, (4, 2, 3)).astype(np.float32))
    assert out.dtype == np.float32 and h_n.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"hidden_size": 0}, ValueError, "expected hidden_size to be a positive int, got 0"),
        ({"num_layers": 1.5}, ValueError, "expected num_layers to be a positive int"),
        ({"nonlinearity": "sigmoid"}, ValueError, "expected nonlinearity 'tanh' or 'relu'"),
        ({"dropout": 1.0}, ValueError, r"expected dropout in \[0, 1\), got 1.0"),
        ({"bidirectional": 1}, TypeError, "expected bidirectional to be a bool, got 1"),
        ({"dtype": "int32"}, TypeError, "expected a floating dtype"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"input_size": 3, "hidden_size": 4} | kwargs
    with pytest.raises(error, match=match):
        nn.RNN(**args)


def test_bad_shapes_say_expected_and_got(rng):
    rnn = nn.RNN(3, 4, num_layers=2)
    with pytest.raises(ShapeError, match=r"input_size=3, got shape \(5, 2, 2\)"):
        rnn(np.zeros((5, 2, 2)))
    with pytest.raises(ShapeError, match=r"expected hx of shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        rnn(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ShapeError, match=r"expected lengths as 2 ints \(N,\), got int64 array "
                                         r"of shape \(3,\)"):  # fmt: skip
        rnn(np.zeros((5, 2, 3)), lengths=np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"expected lengths in 1 .. 5 \(T\), got \[6, 2\]"):
        rnn(np.zeros((5, 2, 3)), lengths=np.array([6, 2]))
    with pytest.raises(ShapeError, match="expected lengths as 2 ints"):
        rnn(np.zeros((5, 2, 3)), lengths=np.array([1.0, 2.0]))


def test_torch_state_with_wrong_shapes_names_the_key():
    rnn = nn.RNN(3, 4)
    state = {"weight_ih_l0": np.zeros((4, 2)), "weight_hh_l0": np.zeros((4, 4)),
             "bias_ih_l0": np.zeros(4), "bias_hh_l0": np.zeros(4)}  # fmt: skip
    with pytest.raises(ShapeError, match=r"weight_ih_l0 has shape \(4, 2\), RNN.W_ih_l0"):
        nn.load_torch_state_dict(rnn, state)
