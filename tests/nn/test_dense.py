"""Dense: shapes, the forward formula, activations by name, errors, config, torch oracle."""

import json

import numpy as np
import pytest

from glassnet import Tensor
from glassnet.errors import ShapeError
from glassnet.nn import Dense
from glassnet.nn import activation as activations
from glassnet.nn.init import Uniform
from tests.conftest import require


def test_weight_and_bias_shapes_and_parameter_count():
    layer = Dense(5, 3, seed=0)
    assert layer.W.shape == (3, 5)  # (out, in), the lectures' and torch's layout
    assert layer.b.shape == (3,)
    assert sum(p.size for p in layer.parameters()) == 5 * 3 + 3
    np.testing.assert_array_equal(layer.b.data, np.zeros(3))
    no_bias = Dense(5, 3, bias=False, seed=0)
    assert no_bias.b is None
    assert [name for name, _ in no_bias.named_parameters()] == ["W"]


def test_output_shape_and_dtype():
    layer = Dense(4, 7, "relu", seed=0)
    out = layer(Tensor(np.ones((10, 4), np.float32)))
    assert out.shape == (10, 7) and out.dtype == np.float32
    layer64 = Dense(4, 7, "relu", seed=0, dtype=np.float64)
    assert layer64.W.dtype == np.float64
    assert layer64(Tensor(np.ones((2, 4)))).dtype == np.float64


@pytest.mark.parametrize(
    "name, f",
    [
        (None, lambda z: z),
        ("identity", lambda z: z),
        ("tanh", np.tanh),
        ("sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z))),
        ("relu", lambda z: np.maximum(z, 0.0)),
        ("softsign", lambda z: z / (1.0 + np.abs(z))),
        ("softmax", lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)),
    ],
)
def test_forward_is_x_W_transposed_plus_b_then_activation(name, f):
    rng = np.random.default_rng(7)
    layer = Dense(4, 3, name, seed=1, dtype=np.float64)
    layer.b.data[...] = rng.normal(size=3)  # a nonzero bias, so a missing "+ b" fails
    x = rng.normal(size=(6, 4))
    expected = f(x @ layer.W.data.T + layer.b.data)
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-12, atol=1e-14)


def test_activation_by_name_object_and_config_dict():
    assert Dense(2, 2, "tanh").activation_name == "tanh"
    assert Dense(2, 2).activation_name == "identity"
    assert Dense(2, 2, activations.ReLU()).activation_name == "relu"
    layer = Dense(2, 2, {"name": "sigmoid", "beta": 2.0}, seed=0, dtype=np.float64)
    x = np.array([[0.5, -1.0]])
    net = x @ layer.W.data.T
    np.testing.assert_allclose(layer(Tensor(x)).data, 1.0 / (1.0 + np.exp(-2.0 * net)), rtol=1e-12)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match=r"activation 'sigmod' is unknown; choose one of") as info:
        Dense(3, 2, "sigmod")
    for valid in ("sigmoid", "tanh", "relu", "softmax", "identity"):
        assert valid in str(info.value)


def test_wrong_input_width_names_the_layer():
    layer = Dense(784, 256, "relu", seed=0)
    x = Tensor(np.zeros((32, 783), np.float32))
    with pytest.raises(
        ShapeError,
        match=r"Dense\(784 -> 256, relu\): expected input \(batch, 784\), got \(32, 783\)",
    ):
        layer(x)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "4"])
def test_invalid_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match=r"Dense: expected in_features to be a positive int"):
        Dense(bad, 3)
    with pytest.raises(ValueError, match=r"Dense: expected out_features to be a positive int"):
        Dense(3, bad)


def test_repr():
    assert repr(Dense(784, 256, "relu")) == "Dense(784 -> 256, relu)"
    assert repr(Dense(3, 1)) == "Dense(3 -> 1, identity)"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_features": 4, "out_features": 3, "activation": "tanh"},
        {
            "in_features": 4,
            "out_features": 3,
            "activation": {"name": "sigmoid", "beta": 2.0},
            "bias": False,
        },
        {
            "in_features": 2,
            "out_features": 5,
            "activation": {"name": "leaky_relu", "negative_slope": 0.2},
        },
        {"in_features": 3, "out_features": 2, "init": Uniform(0.3), "dtype": np.float64},
        {"in_features": 3, "out_features": 2, "init": "he_normal"},
    ],
)
def test_config_round_trip_through_json_rebuilds_the_same_layer(kwargs):
    layer = Dense(**kwargs, seed=0)
    config = json.loads(json.dumps(layer.config()))  # JSON-able, as glassnet.save writes it
    rebuilt = Dense(**config, seed=0)
    assert rebuilt.config() == layer.config()
    assert repr(rebuilt) == repr(layer)
    assert [(n, p.shape, p.dtype) for n, p in rebuilt.named_parameters()] == [
        (n, p.shape, p.dtype) for n, p in layer.named_parameters()
    ]
    # same initializer and same seed: the same weights, so the same function
    np.testing.assert_array_equal(rebuilt.W.data, layer.W.data)
    x = Tensor(np.random.default_rng(0).normal(size=(3, layer.in_features)).astype(layer.W.dtype))
    np.testing.assert_array_equal(rebuilt(x).data, layer(x).data)


def test_state_dict_round_trip_between_layers():
    a, b = Dense(3, 2, "tanh", seed=0), Dense(3, 2, "tanh", seed=1)
    assert not np.array_equal(a.W.data, b.W.data)
    b.load_state_dict(a.state_dict())
    x = Tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(a(x).data, b(x).data)


@pytest.mark.parametrize("activation", [None, "tanh", "sigmoid", "relu"])
def test_matches_torch_linear_values_and_gradients(activation):
    torch = require("torch")
    rng = np.random.default_rng(11)
    layer = Dense(5, 4, activation, seed=3, dtype=np.float64)
    layer.b.data[...] = rng.normal(size=4)
    x_np, grad_out = rng.normal(size=(8, 5)), rng.normal(size=(8, 4))

    linear = torch.nn.Linear(5, 4, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.W.data))  # same (out, in) layout, no transpose
        linear.bias.copy_(torch.from_numpy(layer.b.data))
    f = {None: lambda z: z, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[
        activation
    ]
    x_t = torch.from_numpy(x_np).requires_grad_(True)
    out_t = f(linear(x_t))
    out_t.backward(torch.from_numpy(grad_out))

    x = Tensor(x_np, requires_grad=True)
    out = layer(x)
    out.backward(grad_out)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.W.grad, linear.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.b.grad, linear.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
