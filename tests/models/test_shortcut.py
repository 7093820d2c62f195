"""ShortcutMLP: shapes, the forward formula against NumPy, gradients, training where shortcuts
matter (XOR with one hidden unit), config and file round trips, errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, nn
from glassnet.autodiff import gradcheck, numerical_grad
from glassnet.data import xor
from glassnet.errors import ShapeError
from glassnet.models import ShortcutMLP


def numpy_forward(net, x):
    """Reference: layer k sees [x, a_1, ..., a_(k-1)]; tanh hidden units, sigmoid outputs."""
    earlier = [x]
    for k, layer in enumerate(net.layers):
        net_k = np.concatenate(earlier, axis=1) @ layer.W.data.T + layer.b.data
        earlier.append(np.tanh(net_k) if k < len(net.layers) - 1 else 1.0 / (1.0 + np.exp(-net_k)))
    return earlier[-1]


def test_every_layer_sees_the_input_and_all_earlier_layers():
    net = ShortcutMLP(3, [4, 2, 5], 2, seed=0)
    assert [layer.W.shape for layer in net.layers] == [(4, 3), (2, 7), (5, 9), (2, 14)]
    assert [layer.b.shape for layer in net.layers] == [(4,), (2,), (5,), (2,)]
    assert [name for name, _ in net.named_parameters()][:2] == ["layers.0.W", "layers.0.b"]
    assert sum(p.size for p in net.parameters()) == 4 * 4 + 2 * 8 + 5 * 10 + 2 * 15
    assert (
        repr(net)
        == "ShortcutMLP(3 -> [4, 2, 5] -> 2, hidden tanh, output identity, with shortcuts)"
    )


def test_one_int_is_one_hidden_layer_and_none_is_a_linear_model():
    assert [layer.W.shape for layer in ShortcutMLP(2, 3, 1, seed=0).layers] == [(3, 2), (1, 5)]
    linear = ShortcutMLP(2, [], 1, seed=0)
    assert [layer.W.shape for layer in linear.layers] == [(1, 2)]
    x = np.ones((3, 2), np.float32)
    np.testing.assert_allclose(linear.predict(x), x @ linear.layers[0].W.data.T)


def test_forward_equals_a_numpy_reimplementation(rng):
    net = ShortcutMLP(3, [4, 2], 2, "tanh", "sigmoid", seed=1, dtype=np.float64)
    for layer in net.layers:  # nonzero biases, so a missing "+ b" fails
        layer.b.data[...] = rng.normal(size=layer.b.shape)
    x = rng.normal(size=(6, 3))
    np.testing.assert_allclose(net(Tensor(x)).data, numpy_forward(net, x), rtol=1e-12, atol=1e-14)


def test_gradcheck_of_the_whole_network_wrt_its_input(rng):
    net = ShortcutMLP(3, [4, 2], 2, "tanh", "sigmoid", seed=2, dtype=np.float64)
    assert gradcheck(net, [rng.normal(size=(5, 3))])


def test_first_layer_weight_gradient_sums_over_all_shortcut_paths(rng):
    net = ShortcutMLP(3, [2, 2], 1, "tanh", seed=3, dtype=np.float64)
    x = Tensor(rng.normal(size=(4, 3)))
    net(x).sum().backward()
    W = net.layers[0].W
    numeric = numerical_grad(lambda x_, W_: net(x_), [x, W], 1)  # perturbs W in place
    np.testing.assert_allclose(W.grad, numeric, rtol=1e-6, atol=1e-9)


def test_xor_needs_only_one_hidden_unit_with_shortcuts():
    # The output sees x directly, so one hidden unit ("both 1") suffices; without shortcuts a
    # 2-1-1 network's output is monotone in one linear function of x and can never solve XOR.
    X, y = xor()

    def train(net):
        gn.fit(net, X, y, loss="binary_cross_entropy", optimizer="adam", lr=0.1, epochs=150,
               batch_size=None, verbose=0)  # fmt: skip
        return np.mean((net.predict(X).ravel() > 0.5) == y)

    with_shortcuts = [
        train(ShortcutMLP(2, [1], 1, "tanh", "sigmoid", seed=s, dtype=np.float64))
        for s in range(10)
    ]
    assert sum(acc == 1.0 for acc in with_shortcuts) >= 9, with_shortcuts
    plain = [train(nn.Sequential(nn.Dense(2, 1, "tanh", seed=s, dtype=np.float64),
                                 nn.Dense(1, 1, "sigmoid", seed=s + 100, dtype=np.float64)))
             for s in range(3)]  # fmt: skip
    assert max(plain) <= 0.75


def test_save_and_load_give_identical_predictions(tmp_path, rng):
    net = ShortcutMLP(
        3, [4, 2], 2, "relu", {"name": "sigmoid", "beta": 2.0}, seed=4, dtype=np.float64
    )
    for layer in net.layers:
        layer.b.data[...] = rng.normal(size=layer.b.shape)
    path = tmp_path / "shortcut.npz"
    gn.save(net, path)
    loaded = gn.load(path)
    assert type(loaded) is ShortcutMLP and loaded.config() == net.config()
    assert loaded.dtype == np.float64
    x = rng.normal(size=(7, 3))
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_config_rebuilds_the_same_architecture():
    net = ShortcutMLP(5, (3, 3), 4, "sigmoid", "softmax", seed=0)
    config = net.config()
    assert config == {"in_features": 5, "hidden": [3, 3], "out_features": 4,
                      "activation": {"name": "sigmoid", "beta": 1.0},  # as Dense writes them
                      "output_activation": {"name": "softmax", "axis": -1},
                      "dtype": "float32"}  # fmt: skip
    rebuilt = ShortcutMLP(**config)
    assert [l.W.shape for l in rebuilt.layers] == [l.W.shape for l in net.layers]
    rebuilt.load_state_dict(net.state_dict())
    x = np.random.default_rng(0).normal(size=(2, 5))
    np.testing.assert_array_equal(rebuilt.predict(x), net.predict(x))


def test_errors_name_the_network():
    net = ShortcutMLP(3, [4], 1, seed=0)
    with pytest.raises(
        ShapeError,
        match=r"ShortcutMLP\(3 -> \[4\] -> 1, .*expected input \(batch, 3\), got \(2, 5\)",
    ):
        net(Tensor(np.ones((2, 5), np.float32)))
    with pytest.raises(ShapeError, match=r"fit: ShortcutMLP\(3 -> \[4\] -> 1"):
        gn.fit(net, np.ones((4, 5)), np.ones(4), loss="sse", verbose=0)
    with pytest.raises(
        ValueError, match=r"ShortcutMLP: expected hidden\[1\] to be a positive int, got 0"
    ):
        ShortcutMLP(3, [4, 0], 1)
    with pytest.raises(ValueError, match=r"ShortcutMLP: expected in_features to be a positive int"):
        ShortcutMLP(0, [4], 1)
    with pytest.raises(TypeError, match=r"ShortcutMLP: expected hidden as a list of positive ints"):
        ShortcutMLP(3, "4", 1)
    with pytest.raises(ValueError, match=r"activation 'sigmod' is unknown"):
        ShortcutMLP(3, [4], 1, "sigmod")
