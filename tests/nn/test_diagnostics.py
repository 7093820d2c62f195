"""The diagnostics Recorder: activation statistics, saturation, deltas and gradient norms,
checked against a forward and backward pass written out in NumPy."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, ops
from glassnet.nn import Dense, Recorder, Sequential, Tanh

ACTIVATIONS = ["tanh", "sigmoid", "relu", "softsign"]


def _net():
    """3-6-6-6-2 with tanh, sigmoid, relu, softsign; weights scaled so that units saturate
    (softsign needs |net| > 99, hence its large weights)."""
    net = Sequential(
        Dense(3, 6, "tanh", seed=0, dtype=np.float64),
        Dense(6, 6, "sigmoid", seed=1, dtype=np.float64),
        Dense(6, 6, "relu", seed=2, dtype=np.float64),
        Dense(6, 2, "softsign", seed=3, dtype=np.float64),
    )
    rng = np.random.default_rng(4)
    for layer, scale in zip(net, [3.0, 3.0, 3.0, 60.0]):
        layer.W.data *= scale
        layer.b.data[...] = rng.normal(size=layer.b.shape)
    return net


def _data(n=32):
    rng = np.random.default_rng(5)
    return 2.0 * rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


def _manual(net, X, y):
    """Forward and backward of E = 1/2 sum (a - y)^2 by hand: activations and deltas."""
    derivative = {
        "tanh": lambda net, a: 1.0 - a * a,
        "sigmoid": lambda net, a: a * (1.0 - a),
        "relu": lambda net, a: (net > 0).astype(float),
        "softsign": lambda net, a: 1.0 / (1.0 + np.abs(net)) ** 2,
    }
    f = {
        "tanh": np.tanh,
        "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0.0),
        "softsign": lambda z: z / (1.0 + np.abs(z)),
    }
    a_prev, nets, outs = X, [], []
    for layer, name in zip(net, ACTIVATIONS):
        z = a_prev @ layer.W.data.T + layer.b.data
        a_prev = f[name](z)
        nets.append(z)
        outs.append(a_prev)
    grad_a = outs[-1] - y
    deltas = [None] * len(nets)
    for k in reversed(range(len(nets))):
        deltas[k] = grad_a * derivative[ACTIVATIONS[k]](nets[k], outs[k])
        grad_a = deltas[k] @ net[k].W.data
    return outs, deltas


def _saturation(name, a):
    if name in ("tanh", "softsign"):
        return np.mean(np.abs(a) > 0.99)
    if name == "sigmoid":
        return np.mean((a < 0.01) | (a > 0.99))
    return np.mean(a == 0.0)


def test_one_step_records_mean_std_saturation_and_delta_norm():
    net, (X, y) = _net(), _data()
    recorder = Recorder(net)
    assert list(recorder.layers) == ["layers.0", "layers.1", "layers.2", "layers.3"]
    loss = ops.sse(net(Tensor(X)), y)
    loss.backward()
    outs, deltas = _manual(net, X, y)
    for k, name in enumerate(ACTIVATIONS):
        stats = recorder.layers[f"layers.{k}"]
        assert len(stats["mean"]) == len(stats["std"]) == len(stats["saturated"]) == 1
        assert stats["mean"][0] == pytest.approx(outs[k].mean(), rel=1e-12, abs=1e-15)
        assert stats["std"][0] == pytest.approx(outs[k].std(), rel=1e-12)
        expected_saturation = _saturation(name, outs[k])
        assert 0.0 < expected_saturation < 1.0, f"the inputs must make {name} partly saturated"
        assert stats["saturated"][0] == pytest.approx(expected_saturation, abs=1e-15)
        assert stats["delta_norm"][0] == pytest.approx(np.linalg.norm(deltas[k]), rel=1e-10)


def test_delta_norm_is_at_the_pre_activation_not_the_output():
    # a 2-layer tanh net: delta = grad_a * (1 - a^2) differs from grad_a when units saturate
    net = Sequential(
        Dense(2, 3, "tanh", seed=0, dtype=np.float64), Dense(3, 1, seed=1, dtype=np.float64)
    )
    net[0].W.data *= 4.0
    X, y = np.random.default_rng(2).normal(size=(10, 2)), np.zeros((10, 1))
    recorder = Recorder(net)
    ops.sse(net(Tensor(X)), y).backward()
    W1, b1, W2, b2 = (p.data for p in net.parameters())
    a1 = np.tanh(X @ W1.T + b1)
    a2 = a1 @ W2.T + b2
    delta2 = a2 - y  # linear output, E = 1/2 sum (a - y)^2
    grad_a1 = delta2 @ W2
    delta1 = grad_a1 * (1.0 - a1**2)
    assert recorder.layers["layers.1"]["delta_norm"] == [
        pytest.approx(np.linalg.norm(delta2), rel=1e-12)
    ]
    assert recorder.layers["layers.0"]["delta_norm"] == [
        pytest.approx(np.linalg.norm(delta1), rel=1e-12)
    ]
    assert np.linalg.norm(delta1) < 0.9 * np.linalg.norm(grad_a1)  # the two are distinguishable


def test_delta_norm_of_a_standalone_activation_layer():
    net = Sequential(Dense(2, 3, seed=0, dtype=np.float64), Tanh())
    net[0].W.data *= 4.0
    X = np.random.default_rng(2).normal(size=(10, 2))
    recorder = Recorder(net)
    out = net(Tensor(X))
    (out * out).sum().backward()  # E = sum a^2, grad_a = 2 a
    a = np.tanh(X @ net[0].W.data.T + net[0].b.data)
    delta = 2.0 * a * (1.0 - a * a)
    assert recorder.layers["layers.1"]["delta_norm"][0] == pytest.approx(
        np.linalg.norm(delta), rel=1e-12
    )


def test_saturation_is_none_for_layers_without_a_rule():
    net = Sequential(Dense(2, 3, "elu", seed=0), Dense(3, 1, seed=1))
    recorder = Recorder(net)
    net(Tensor(np.ones((4, 2), np.float32)))
    assert recorder.layers["layers.0"]["saturated"] == [None]
    assert recorder.layers["layers.1"]["saturated"] == [None]


def test_as_fit_callback_fills_grad_norms_per_parameter_per_batch():
    net, (X, y) = _net(), _data(n=20)
    recorder = Recorder(net)
    # 16 training samples after the split, batches of 6: 3 batches per epoch, 2 epochs
    gn.fit(
        net,
        X,
        y,
        loss="mse",
        optimizer="sgd",
        lr=0.01,
        epochs=2,
        batch_size=6,
        validation_split=0.2,
        callbacks=[recorder],
        verbose=0,
        seed=0,
    )
    assert set(recorder.grad_norms) == {name for name, _ in net.named_parameters()}
    for name, p in net.named_parameters():
        norms = recorder.grad_norms[name]
        assert len(norms) == 6, name
        assert all(np.isfinite(norms)) and all(v > 0 for v in norms)
        # the gradient of the last batch is still there after fit
        assert norms[-1] == pytest.approx(np.linalg.norm(p.grad), rel=1e-12)
    # one record per training forward; validation (eval mode) and the pre-flight check add none
    for stats in recorder.layers.values():
        assert len(stats["mean"]) == 6 and len(stats["delta_norm"]) == 6
        assert all(np.isfinite(stats["delta_norm"]))


def test_records_nothing_in_eval_mode_or_predict():
    net, (X, _) = _net(), _data()
    recorder = Recorder(net)
    net.eval()
    net(Tensor(X))
    net.train()
    net.predict(X)
    assert all(not stats["mean"] and not stats["delta_norm"] for stats in recorder.layers.values())


def test_every_records_every_kth_forward():
    net, (X, _) = _net(), _data()
    recorder = Recorder(net, every=3)
    for _ in range(7):  # forwards 0, 3, 6 are recorded
        net(Tensor(X))
    assert all(len(stats["mean"]) == 3 for stats in recorder.layers.values())


def test_detach_stops_recording():
    net, (X, y) = _net(), _data()
    recorder = Recorder(net)
    net(Tensor(X))
    recorder.detach()
    ops.sse(net(Tensor(X)), y).backward()
    assert all(len(stats["mean"]) == 1 for stats in recorder.layers.values())
    assert all(not m._forward_hooks for _, m in net.named_modules())


def test_summary_has_one_line_per_recorded_layer():
    net, (X, y) = _net(), _data()
    recorder = Recorder(net)
    ops.sse(net(Tensor(X)), y).backward()
    lines = recorder.summary().splitlines()
    assert len(lines) == 4
    assert lines[0].strip().startswith("layers.0:")
    assert "saturated" in lines[0] and "delta norm" in lines[0]
