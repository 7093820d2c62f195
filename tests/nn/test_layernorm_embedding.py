"""nn.LayerNorm and nn.Embedding: torch's nn.LayerNorm and nn.Embedding after
load_torch_state_dict (values and gradients), save and load, and the constructor's checks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.errors import ShapeError
from tests.conftest import require


def _numpy_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _perturb(torch, module, rng):
    """Parameters that are not torch's defaults (ones, zeros), so that a mapping to the wrong
    parameter or a missed copy shows."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.as_tensor(rng.normal(size=tuple(p.shape))))


# ---- LayerNorm --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "normalized_shape", "affine", "bias"),
    [((4, 3, 5), 5, True, True), ((2, 3, 2, 4), (2, 4), True, True), ((6, 5), (5,), True, False),
     ((3, 2, 5), 5, False, True)],
)  # fmt: skip
def test_layer_norm_matches_torch_after_load_torch_state_dict(shape, normalized_shape, affine,
                                                              bias, rng):  # fmt: skip
    torch = require("torch")
    theirs = torch.nn.LayerNorm(normalized_shape, eps=1e-4, elementwise_affine=affine,
                                bias=bias).double()  # fmt: skip
    _perturb(torch, theirs, rng)
    ours = nn.LayerNorm(normalized_shape, eps=1e-4, elementwise_affine=affine, bias=bias,
                        dtype=np.float64)  # fmt: skip
    assert sorted(name for name, _ in ours.named_parameters()) == (
        ["beta", "gamma"] if affine and bias else ["gamma"] if affine else []
    )
    if affine:
        assert nn.load_torch_state_dict(ours, _numpy_state(theirs)) is ours
        np.testing.assert_array_equal(ours.gamma.data, theirs.weight.detach().numpy())
    x = rng.normal(1.0, 2.0, shape)
    upstream = rng.uniform(0.5, 1.5, shape)
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    (expected * torch.as_tensor(upstream)).sum().backward()
    xg = gn.tensor(x, requires_grad=True)
    out = ours(xg)
    out.backward(upstream)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-10)
    for name, theirs_name in (("gamma", "weight"), ("beta", "bias")):
        p = getattr(ours, name)
        if p is not None:
            t_grad = getattr(theirs, theirs_name).grad.numpy()
            np.testing.assert_allclose(p.grad, t_grad, rtol=1e-6, atol=1e-10, err_msg=name)


def test_layer_norm_defaults_and_a_batch_of_one():
    layer = nn.LayerNorm(4)
    assert layer.gamma.dtype == np.float32 and layer.normalized_shape == (4,)
    np.testing.assert_array_equal(layer.gamma.data, np.ones(4))
    np.testing.assert_array_equal(layer.beta.data, np.zeros(4))
    y = layer(gn.tensor(np.array([[1.0, 2.0, 3.0, 6.0]], np.float32))).data
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(), 0.0, atol=1e-6)  # each sample its own statistics
    np.testing.assert_allclose(y.var(), 1.0, rtol=1e-4)
    assert repr(layer) == "LayerNorm(4, eps=1e-05)"
    assert repr(nn.LayerNorm((2, 3), bias=False)) == "LayerNorm((2, 3), eps=1e-05, bias=False)"


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_save_and_load_give_identical_outputs(affine, tmp_path, rng):
    model = nn.Sequential(nn.Dense(5, 6, seed=0, dtype=np.float64),
                          nn.LayerNorm(6, eps=1e-3, elementwise_affine=affine, dtype=np.float64),
                          nn.LayerNorm((2, 6), bias=False, dtype=np.float64))  # fmt: skip
    for p in model.parameters():  # not the defaults
        p.data[...] = rng.normal(size=p.shape)
    gn.save(model, tmp_path / "ln.npz")
    loaded = gn.load(tmp_path / "ln.npz")
    x = rng.normal(size=(3, 2, 5))
    assert loaded.layers[1].config() == model.layers[1].config()
    assert loaded.layers[2].beta is None and loaded.layers[2].normalized_shape == (2, 6)
    np.testing.assert_array_equal(loaded(gn.tensor(x)).data, model(gn.tensor(x)).data)


def test_layer_norm_shape_check_names_expected_and_got():
    layer = nn.LayerNorm((3, 4))
    with pytest.raises(ShapeError, match=r"LayerNorm\(\(3, 4\).*expected input \(\.\.\., 3, 4\), "
                                         r"got \(2, 4, 3\)"):  # fmt: skip
        layer(gn.tensor(np.zeros((2, 4, 3), np.float32)))
    with pytest.raises(ShapeError, match=r"expected input \(\.\.\., 3, 4\), got \(4,\)"):
        layer(gn.tensor(np.zeros(4, np.float32)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"normalized_shape": 0}, ValueError, "normalized_shape to be a positive int.*got 0"),
     ({"normalized_shape": ()}, ValueError, r"normalized_shape.*got \(\)"),
     ({"normalized_shape": (3, -1)}, ValueError, r"normalized_shape.*got \(3, -1\)"),
     ({"normalized_shape": 2.5}, ValueError, "normalized_shape.*got 2.5"),
     ({"normalized_shape": True}, ValueError, "normalized_shape.*got True"),
     ({"normalized_shape": 3, "eps": 0}, ValueError, "eps > 0, got 0"),
     ({"normalized_shape": 3, "eps": -1e-5}, ValueError, "eps > 0"),
     ({"normalized_shape": 3, "elementwise_affine": "yes"}, TypeError, "elementwise_affine"),
     ({"normalized_shape": 3, "bias": 1}, TypeError, "bias to be True or False, got 1"),
     ({"normalized_shape": 3, "dtype": np.int32}, TypeError, "floating dtype.*int32")],
)  # fmt: skip
def test_layer_norm_bad_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.LayerNorm(**kwargs)


# ---- Embedding --------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch_after_load_torch_state_dict(padding_idx, rng):
    torch = require("torch")
    theirs = torch.nn.Embedding(6, 4, padding_idx=padding_idx).double()
    _perturb(torch, theirs, rng)  # the padding row too: it is read, but gets no gradient
    ours = nn.Embedding(6, 4, padding_idx=padding_idx, dtype=np.float64, seed=0)
    assert nn.load_torch_state_dict(ours, _numpy_state(theirs)) is ours
    indices = np.array([[[0, 2, 2], [5, 1, 2]], [[3, 3, 3], [2, 0, 5]]])  # repeats, the pad
    upstream = rng.uniform(0.5, 1.5, (*indices.shape, 4))
    expected = theirs(torch.as_tensor(indices))
    (expected * torch.as_tensor(upstream)).sum().backward()
    out = ours(indices)
    assert out.shape == (2, 2, 3, 4)
    out.backward(upstream)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(ours.W.grad, theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-10)
    if padding_idx is not None:
        assert not ours.W.grad[padding_idx].any()


def test_embedding_initialisation_is_standard_normal_with_a_zero_padding_row():
    layer = nn.Embedding(400, 50, padding_idx=3, seed=1)
    assert layer.W.shape == (400, 50) and layer.W.dtype == np.float32
    assert not layer.W.data[3].any()
    rows = np.delete(layer.W.data, 3, axis=0)
    assert abs(rows.mean()) < 0.02 and abs(rows.std() - 1.0) < 0.02  # N(0, 1), 19,950 draws
    again = nn.Embedding(400, 50, padding_idx=3, seed=1)
    np.testing.assert_array_equal(again.W.data, layer.W.data)
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"


def test_embedding_takes_index_tensors_and_rejects_bad_indices():
    layer = nn.Embedding(5, 2, seed=0)
    picked = layer(gn.tensor(np.array([4, 0]), dtype=np.int64)).data
    np.testing.assert_array_equal(picked, layer.W.data[[4, 0]])
    with pytest.raises(TypeError, match="integer indices, got dtype float64"):
        layer(np.array([1.0, 2.0]))
    with pytest.raises(IndexError, match=r"indices in \[0, 5\).*got 5"):
        layer(np.array([[0, 5], [1, 2]]))
    with pytest.raises(IndexError, match=r"indices in \[0, 5\).*got -1"):
        layer(np.array([3, -1]))


def test_embedding_save_and_load_give_identical_outputs(tmp_path):
    layer = nn.Embedding(7, 3, padding_idx=1, dtype=np.float64, seed=2)
    gn.save(layer, tmp_path / "emb.npz")
    loaded = gn.load(tmp_path / "emb.npz")
    assert loaded.config() == layer.config() == {
        "num_embeddings": 7, "embedding_dim": 3, "padding_idx": 1, "dtype": "float64"}  # fmt: skip
    indices = np.array([[6, 1, 0], [2, 2, 5]])
    np.testing.assert_array_equal(loaded(indices).data, layer(indices).data)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [((0, 3), {}, ValueError, "num_embeddings to be a positive int, got 0"),
     ((4, 2.0), {}, ValueError, "embedding_dim to be a positive int, got 2.0"),
     ((4, 2), {"padding_idx": 4}, ValueError, r"padding_idx to be None or an int in \[-4, 4"),
     ((4, 2), {"padding_idx": -5}, ValueError, "got -5"),
     ((4, 2), {"padding_idx": 1.0}, ValueError, "padding_idx.*got 1.0"),
     ((4, 2), {"dtype": np.int64}, TypeError, "floating dtype for W, got int64")],
)  # fmt: skip
def test_embedding_bad_constructor_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Embedding(*args, **kwargs)


def test_a_torch_sequence_model_ports_embedding_and_layer_norm(rng):
    torch = require("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Embedding(9, 4), torch.nn.LayerNorm(4),
                                 torch.nn.Linear(4, 2)).double()  # fmt: skip
    _perturb(torch, theirs, rng)
    ours = nn.Sequential(nn.Embedding(9, 4, dtype=np.float64), nn.LayerNorm(4, dtype=np.float64),
                         nn.Dense(4, 2, dtype=np.float64))  # fmt: skip
    nn.load_torch_state_dict(ours, _numpy_state(theirs))
    tokens = rng.integers(0, 9, (3, 5))
    expected = theirs(torch.as_tensor(tokens)).detach().numpy()
    np.testing.assert_allclose(ours(tokens).data, expected, rtol=1e-6, atol=1e-10)


def test_fit_evaluate_and_predict_keep_the_integer_indices_of_an_embedding_first_model():
    # seed 0: whether token 3 occurs in a sequence of 5 tokens; an Embedding summed over the
    # steps and a Dense learn it (chance: about 0.6 for the majority class)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 6, (600, 5))
    y = (X == 3).any(axis=1).astype(np.int64)

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.out = nn.Embedding(6, 8, seed=0), nn.Dense(8, 2, seed=1)

        def forward(self, x):
            return self.out(self.emb(x).sum(axis=1))

    model = Bag()
    history = gn.fit(model, X, y, loss="cross_entropy", epochs=30, batch_size=32, verbose=0,
                     seed=0, metrics=["accuracy"])  # fmt: skip
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert gn.evaluate(model, X, y, loss="cross_entropy", metrics=["accuracy"])["accuracy"] > 0.97
    assert model.predict(X[:4]).shape == (4, 2)
    from glassnet.nn.module import input_dtype

    assert input_dtype(model, X) == np.int64 and input_dtype(model, X.astype(float)) == model.dtype
