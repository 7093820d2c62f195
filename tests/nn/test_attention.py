"""nn.MultiheadAttention and nn.TransformerEncoderLayer against torch's (float64, eval mode,
after load_torch_state_dict: outputs, attention weights, gradients of the inputs and the
parameters), masks, dropout, save and load, and the constructors' and forward's checks."""

import numpy as np
import pytest

import glassnet
import glassnet as gn
from glassnet import nn
from glassnet.errors import ShapeError
from tests.conftest import require

E, H, L, S, N = 6, 2, 4, 5, 3


def _numpy_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _torch_params(module):
    """torch's gradients under glassnet's names (the order of the parameters is the same)."""
    return [p.grad.numpy() for p in module.parameters()]


def _close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9, err_msg=what)


def _layout(x, batch_first):
    """(N, T, E) data in the module's layout."""
    return x if batch_first else np.swapaxes(x, 0, 1).copy()


def _compare_mha(torch, ours, theirs, q, k, v, rng, **kwargs):
    tkw = {name: torch.as_tensor(m) if isinstance(m, np.ndarray) else m
           for name, m in kwargs.items()}  # fmt: skip
    leaves = [gn.tensor(x, requires_grad=True) for x in (q, k, v)]
    t_leaves = [torch.tensor(x, requires_grad=True) for x in (q, k, v)]
    out, weights = ours(*leaves, **kwargs)
    t_out, t_weights = theirs(*t_leaves, **tkw)
    _close(out.data, t_out.detach().numpy(), "attn_output")
    if t_weights is None:
        assert weights is None
    else:
        _close(weights.data, t_weights.detach().numpy(), "attn_weights")
    g = rng.uniform(0.5, 1.5, out.shape)
    loss = (out * g).sum()
    t_loss = (t_out * torch.tensor(g)).sum()
    if t_weights is not None:  # the weights' gradient flows too
        gw = rng.uniform(0.5, 1.5, weights.shape)
        loss = loss + (weights * gw).sum()
        t_loss = t_loss + (t_weights * torch.tensor(gw)).sum()
    loss.backward()
    t_loss.backward()
    for name, x, t in zip(("query", "key", "value"), leaves, t_leaves):
        _close(x.grad, t.grad.numpy(), f"gradient of {name}")
    for (name, p), t_grad in zip(ours.named_parameters(), _torch_params(theirs)):
        _close(p.grad, t_grad, f"gradient of {name}")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_self_attention_matches_torch(batch_first, need_weights, average, rng):
    torch = require("torch")
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=torch.float64)
    torch.nn.init.uniform_(theirs.in_proj_bias, -0.5, 0.5)  # torch starts them at zero
    torch.nn.init.uniform_(theirs.out_proj.bias, -0.5, 0.5)
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first, dtype="float64", seed=0)
    assert nn.load_torch_state_dict(ours, _numpy_state(theirs)) is ours
    theirs.eval(), ours.eval()
    x = _layout(rng.normal(size=(N, L, E)), batch_first)
    _compare_mha(torch, ours, theirs, x, x, x, rng, need_weights=need_weights,
                 average_attn_weights=average)  # fmt: skip


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_cross_attention_with_masks_matches_torch(batch_first, need_weights, rng):
    torch = require("torch")
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=torch.float64)
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first, dtype="float64")
    nn.load_torch_state_dict(ours, _numpy_state(theirs))
    theirs.eval(), ours.eval()
    q = _layout(rng.normal(size=(N, L, E)), batch_first)
    k = _layout(rng.normal(size=(N, S, E)), batch_first)
    v = _layout(rng.normal(size=(N, S, E)), batch_first)
    padding = np.zeros((N, S), bool)
    padding[0, 3:] = padding[2, 0] = True  # True: the key is padding (torch's nn convention)
    blocked = rng.uniform(size=(L, S)) > 0.7  # True: not allowed
    blocked[:, 1] = False  # (every query keeps a key: torch's own MHA gives NaN otherwise)
    float_mask = rng.normal(size=(N * H, L, S))
    float_padding = np.where(padding, -np.inf, 0.0)
    for masks in ({"key_padding_mask": padding}, {"attn_mask": blocked},
                  {"attn_mask": float_mask, "key_padding_mask": float_padding}):  # fmt: skip
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        _compare_mha(torch, ours, theirs, q, k, v, rng, need_weights=need_weights, **masks)


def test_causal_and_unbatched_match_torch(rng):
    torch = require("torch")
    torch.manual_seed(2)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64).eval()
    ours = nn.MultiheadAttention(E, H, dtype="float64").eval()
    nn.load_torch_state_dict(ours, _numpy_state(theirs))
    causal = np.triu(np.ones((L, L), bool), 1)  # True above the diagonal: the future
    x = rng.normal(size=(L, N, E))
    _compare_mha(torch, ours, theirs, x, x, x, rng, attn_mask=causal, is_causal=True,
                 need_weights=False)  # fmt: skip
    # is_causal alone builds the same mask (torch insists on attn_mask as well)
    alone, _ = ours(x, x, x, need_weights=False, is_causal=True)
    given, _ = ours(x, x, x, need_weights=False, attn_mask=causal)
    np.testing.assert_allclose(alone.data, given.data, rtol=1e-12)
    for p in ours.parameters():
        p.grad = None
    theirs.zero_grad()
    single = rng.normal(size=(L, E))  # unbatched (L, E)
    _compare_mha(torch, ours, theirs, single, single, single, rng)


def test_fused_and_composed_paths_agree_on_a_fully_masked_query(rng):
    """A batch whose keys are all padding: zeros from both paths (torch's MHA gives NaN)."""
    mha = nn.MultiheadAttention(E, H, dtype="float64", seed=3).eval()
    x = rng.normal(size=(L, N, E))
    padding = np.zeros((N, L), bool)
    padding[1] = True
    fused, none = mha(x, x, x, key_padding_mask=padding, need_weights=False)
    composed, weights = mha(x, x, x, key_padding_mask=padding)
    assert none is None
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12, atol=1e-15)
    assert np.isfinite(fused.data).all()
    assert not weights.data[1].any() and np.allclose(weights.data[0].sum(-1), 1)
    # the fully masked batch gets just out_proj's bias
    np.testing.assert_allclose(fused.data[:, 1], np.broadcast_to(mha.out_proj.b.data, (L, E)))


def test_dropout_acts_on_the_weights_in_training_only():
    mha = nn.MultiheadAttention(E, H, dropout=0.5, dtype="float64", seed=4)
    x = np.random.default_rng(5).normal(size=(L, N, E))
    _, weights = mha(x, x, x, average_attn_weights=False)
    kept = weights.data != 0
    assert 0.2 < 1 - kept.mean() < 0.8  # about half of the weights dropped
    mha.eval()
    _, plain = mha(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(weights.data[kept], 2 * plain.data[kept])  # the others doubled
    out1, w1 = mha(x, x, x)
    out2, _ = mha(x, x, x, need_weights=False)
    np.testing.assert_allclose(w1.data.sum(-1), 1.0)
    np.testing.assert_allclose(out1.data, out2.data, rtol=1e-12)


def _encoder_pair(torch, norm_first, batch_first, activation="relu"):
    torch.manual_seed(3)
    t_activation = activation
    if activation == "gelu":  # glassnet's GELU is the tanh approximation
        t_activation = lambda x: torch.nn.functional.gelu(x, approximate="tanh")
    theirs = torch.nn.TransformerEncoderLayer(
        E, H, dim_feedforward=8, dropout=0.1, activation=t_activation, batch_first=batch_first,
        norm_first=norm_first, dtype=torch.float64,
    )  # fmt: skip
    for p in theirs.parameters():  # away from torch's ones and zeros for the norms and biases
        if p.ndim == 1:
            torch.nn.init.uniform_(p, -0.5, 1.5)
    ours = nn.TransformerEncoderLayer(E, H, dim_feedforward=8, dropout=0.1,
                                      activation=activation, batch_first=batch_first,
                                      norm_first=norm_first, dtype="float64")  # fmt: skip
    nn.load_torch_state_dict(ours, _numpy_state(theirs))
    return ours.eval(), theirs.eval()


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "padding", "causal"])
def test_encoder_layer_matches_torch(norm_first, batch_first, masks, rng):
    torch = require("torch")
    ours, theirs = _encoder_pair(torch, norm_first, batch_first)
    x = _layout(rng.normal(size=(N, L, E)), batch_first)
    kwargs = {}
    if masks == "padding":
        padding = np.zeros((N, L), bool)
        padding[0, 2:] = padding[1, 0] = True
        kwargs["src_key_padding_mask"] = padding
    elif masks == "causal":
        kwargs = {"src_mask": np.triu(np.ones((L, L), bool), 1), "is_causal": True}
    tkw = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    src = gn.tensor(x, requires_grad=True)
    t_src = torch.tensor(x, requires_grad=True)
    out, t_out = ours(src, **kwargs), theirs(t_src, **tkw)
    _close(out.data, t_out.detach().numpy(), "output")
    g = rng.uniform(0.5, 1.5, out.shape)
    (out * g).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    _close(src.grad, t_src.grad.numpy(), "gradient of src")
    names = [name for name, _ in ours.named_parameters()]
    assert len(names) == len(list(theirs.parameters())) == 12
    for (name, p), t_grad in zip(ours.named_parameters(), _torch_params(theirs)):
        _close(p.grad, t_grad, f"gradient of {name}")


def test_encoder_layer_gelu_is_torchs_tanh_gelu(rng):
    torch = require("torch")
    ours, theirs = _encoder_pair(torch, False, True, activation="gelu")
    x = rng.normal(size=(N, L, E))
    _close(ours(gn.tensor(x)).data, theirs(torch.as_tensor(x)).detach().numpy(), "gelu output")


def test_encoder_layer_names_and_dropout():
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=8, dtype="float64", seed=0)
    assert [name for name, _ in layer.named_parameters()] == [
        "self_attn.in_W", "self_attn.in_b", "self_attn.out_proj.W", "self_attn.out_proj.b",
        "linear1.W", "linear1.b", "linear2.W", "linear2.b",
        "norm1.gamma", "norm1.beta", "norm2.gamma", "norm2.beta",
    ]  # fmt: skip
    x = np.random.default_rng(0).normal(size=(L, N, E))
    train1, train2 = layer(x).data, layer(x).data
    assert not np.allclose(train1, train2)  # dropout in training: masks differ call to call
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


def test_save_and_load_round_trip(tmp_path, rng):
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=8, activation="gelu",
                                       batch_first=True, norm_first=True, layer_norm_eps=1e-4,
                                       dtype="float64", seed=1).eval()  # fmt: skip
    glassnet.save(layer, tmp_path / "enc.npz")
    loaded = glassnet.load(tmp_path / "enc.npz").eval()
    assert repr(loaded) == repr(layer)
    x = rng.normal(size=(N, L, E))
    np.testing.assert_array_equal(loaded(x).data, layer(x).data)
    mha = nn.MultiheadAttention(E, H, dropout=0.2, bias=False, batch_first=True, dtype="float64")
    glassnet.save(mha, tmp_path / "mha.npz")
    back = glassnet.load(tmp_path / "mha.npz").eval()
    assert back.config() == mha.config() and back.in_b is None
    np.testing.assert_array_equal(back(x, x, x)[1].data, mha.eval()(x, x, x)[1].data)


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((6, 4), {}, ValueError, "expected embed_dim divisible by num_heads, got embed_dim=6"),
    ((0, 1), {}, ValueError, "expected embed_dim to be a positive int, got 0"),
    ((6, 2), {"dropout": 1.0}, ValueError, r"expected dropout in \[0, 1\), got 1.0"),
    ((6, 2), {"batch_first": 1}, TypeError, "expected batch_first to be True or False"),
    ((6, 2), {"dtype": "int64"}, TypeError, "expected a floating dtype"),
])  # fmt: skip
def test_multihead_attention_constructor_checks(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.MultiheadAttention(*args, **kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"activation": "tanh"}, ValueError, r"expected activation in \['gelu', 'relu'\], got 'tanh'"),
    ({"dim_feedforward": 0}, ValueError, "expected dim_feedforward to be a positive int"),
    ({"norm_first": None}, TypeError, "expected norm_first to be True or False"),
    ({"dropout": -0.1}, ValueError, r"expected dropout in \[0, 1\)"),
])  # fmt: skip
def test_encoder_layer_constructor_checks(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.TransformerEncoderLayer(6, 2, **kwargs)


def test_forward_checks_name_what_came():
    mha = nn.MultiheadAttention(E, H, dtype="float64")
    x, y = np.zeros((L, N, E)), np.zeros((S, N, E))
    with pytest.raises(ShapeError, match=r"expected query \(L, N, E\) or unbatched \(L, E\) with "
                                         r"E=6, as query, got shape \(4, 3, 5\)"):  # fmt: skip
        mha(np.zeros((L, N, 5)), y, y)
    with pytest.raises(ShapeError, match="expected key and value of one length and batch"):
        mha(x, y, np.zeros((S + 1, N, E)))
    with pytest.raises(ShapeError, match="expected query and key of one batch size"):
        mha(x, np.zeros((S, N + 1, E)), np.zeros((S, N + 1, E)))
    with pytest.raises(ShapeError, match=r"expected key_padding_mask \(3, 5\) \(batch, keys\), "
                                         r"got \(5, 3\)"):  # fmt: skip
        mha(x, y, y, key_padding_mask=np.zeros((S, N), bool))
    with pytest.raises(ShapeError, match=r"expected attn_mask \(4, 5\) or \(N \* num_heads, L, S\)"
                                         r" = \(6, 4, 5\), got \(5, 4\)"):  # fmt: skip
        mha(x, y, y, attn_mask=np.zeros((S, L), bool))
    with pytest.raises(TypeError, match="expected a boolean or float attn_mask, got dtype int64"):
        mha(x, y, y, attn_mask=np.zeros((L, S), np.int64))
    with pytest.raises(TypeError, match="expected need_weights to be True or False"):
        mha(x, y, y, need_weights="yes")
