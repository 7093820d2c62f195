"""The diagnostics Recorder: activation statistics, saturation, deltas and gradient norms,
checked against a forward and backward pass written out in NumPy (Dense networks) and against
gradients taken at a leaf cut into the graph (convolutional networks)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, nn, ops
from glassnet.nn import Dense, Recorder, Sequential, Tanh
from glassnet.train.callbacks import Callback

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


# -- convolutional networks -----------------------------------------------------------------------


def _cnn():
    """Conv2d -> ReLU -> MaxPool2d -> Conv2d -> ReLU -> Flatten -> Dense on (1, 8, 8) images."""
    return Sequential(
        nn.Conv2d(1, 4, 3, seed=0, dtype=np.float64),  # (4, 6, 6)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (4, 3, 3)
        nn.Conv2d(4, 5, 3, padding=1, seed=1, dtype=np.float64),  # (5, 3, 3)
        nn.ReLU(),
        nn.Flatten(),
        Dense(45, 3, seed=2, dtype=np.float64),
    )


def _images(n=24, channels=1, size=8, classes=3):
    rng = np.random.default_rng(7)
    return rng.normal(size=(n, channels, size, size)), rng.integers(0, classes, size=n)


def _cut_at(model, layer, X, loss):
    """A forward and backward pass of ``loss(model(X))`` with ``layer``'s output replaced by a
    fresh leaf: (that output, dE/d output) as arrays, found without the Recorder's hooks."""
    leaves = []

    def cut(module, inputs, out):
        leaves.append(Tensor(out.data.copy(), requires_grad=True))
        return leaves[-1]

    handle = layer.register_forward_hook(cut)
    try:
        loss(model(Tensor(X))).backward()
    finally:
        handle.remove()
    assert len(leaves) == 1, "the layer should run once"
    return leaves[0].data, leaves[0].grad


class _Snapshots(Callback):
    """The parameters before every batch (what the batch's forward and backward saw)."""

    def __init__(self):
        self.states = []

    def on_batch_begin(self, batch, logs=None):
        self.states.append(self.state.model.state_dict())


def test_a_conv_net_trained_with_fit_records_every_conv_layer():
    model, (X, y) = _cnn(), _images()
    recorder, snapshots = Recorder(model), _Snapshots()
    # the ReLU right after each convolution is that convolution's activation, not a layer of its
    # own; pooling and flattening have no net input
    assert list(recorder.layers) == ["layers.0", "layers.3", "layers.6"]
    # full batches: a step's statistics and delta norms do not depend on the shuffled order
    gn.fit(model, X, y, loss="cross_entropy", optimizer="sgd", lr=0.1, epochs=4, batch_size=None,
           callbacks=[recorder, snapshots], verbose=0, seed=0)  # fmt: skip
    assert len(snapshots.states) == 4
    for stats in recorder.layers.values():
        assert all(len(stats[key]) == 4 for key in ("mean", "std", "saturated", "delta_norm"))
        assert np.all(np.isfinite(stats["mean"])) and np.all(np.isfinite(stats["std"]))
        assert np.all(np.isfinite(stats["delta_norm"])) and min(stats["delta_norm"]) > 0
    for key in ("layers.0", "layers.3"):  # ReLU: the fraction of dead units
        assert all(0.0 < v < 1.0 for v in recorder.layers[key]["saturated"])
    assert recorder.layers["layers.6"]["saturated"] == [None] * 4  # linear units
    # every conv parameter's gradient norm, once per batch; the last one is still in .grad
    assert set(recorder.grad_norms) == {name for name, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        assert len(recorder.grad_norms[name]) == 4 and recorder.grad_norms[name][-1] > 0
        assert recorder.grad_norms[name][-1] == pytest.approx(np.linalg.norm(p.grad), rel=1e-12)
    # each step again, from the parameters it started with, without the recorder
    recorder.detach()

    def loss(out):
        return ops.softmax_cross_entropy(out, y)

    for step, state in enumerate(snapshots.states):
        model.load_state_dict(state)
        for key, conv, relu in (("layers.0", model[0], model[1]), ("layers.3", model[3], model[4])):
            stats = recorder.layers[key]
            net, delta = _cut_at(model, conv, X, loss)
            a = np.maximum(net, 0.0)
            assert stats["mean"][step] == pytest.approx(a.mean(), rel=1e-12)
            assert stats["std"][step] == pytest.approx(a.std(), rel=1e-12)
            assert stats["saturated"][step] == pytest.approx(np.mean(a == 0.0), abs=1e-15)
            assert stats["delta_norm"][step] == pytest.approx(np.linalg.norm(delta), rel=1e-10)
            # the delta at the net, not at the ReLU's output: the two norms differ here
            _, grad_a = _cut_at(model, relu, X, loss)
            assert np.linalg.norm(grad_a) != pytest.approx(np.linalg.norm(delta), rel=1e-3)
        net, delta = _cut_at(model, model[6], X, loss)
        assert recorder.layers["layers.6"]["delta_norm"][step] == pytest.approx(
            np.linalg.norm(delta), rel=1e-10
        )
    for p in model.parameters():
        p.grad = None
    model.load_state_dict(snapshots.states[-1])
    loss(model(Tensor(X))).backward()
    for name, p in model.named_parameters():
        assert recorder.grad_norms[name][-1] == pytest.approx(np.linalg.norm(p.grad), rel=1e-10)


def _blocks():
    """Convolutions inside a Residual block and the branches of a Concat, on (2, 6, 6) inputs."""
    return Sequential(
        nn.Conv2d(2, 4, 3, padding=1, seed=0, dtype=np.float64),
        nn.Tanh(),
        nn.Residual(Sequential(
            nn.Conv2d(4, 4, 3, padding=1, seed=1, dtype=np.float64),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1, seed=2, dtype=np.float64),
        )),
        nn.ReLU(),
        nn.Concat(
            nn.Conv2d(4, 2, 1, seed=3, dtype=np.float64),
            Sequential(nn.Conv2d(4, 3, 3, padding=1, seed=4, dtype=np.float64), nn.Sigmoid()),
        ),
        nn.Flatten(),
        Dense(5 * 6 * 6, 2, seed=5, dtype=np.float64),
    )  # fmt: skip


_F = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
      "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), None: lambda z: z}  # fmt: skip


def test_conv_layers_inside_residual_and_concat_blocks():
    model, (X, y) = _blocks(), _images(n=10, channels=2, size=6, classes=2)
    modules = dict(model.named_modules())
    recorder = Recorder(model)
    # each watched layer and the activation that makes its a (None: linear units)
    expected = {
        "layers.0": "tanh",
        "layers.2.block.layers.0": "relu",
        "layers.2.block.layers.2": None,  # into the sum: linear units
        "layers.3": "relu",  # the ReLU after the block, on its own (its net: the block's sum)
        "layers.4.branches.0": None,
        "layers.4.branches.1.layers.0": "sigmoid",
        "layers.6": None,
    }
    assert list(recorder.layers) == list(expected)

    def loss(out):
        return ops.softmax_cross_entropy(out, y)

    loss(model(Tensor(X))).backward()
    recorder.detach()
    for name, rule in expected.items():
        stats, layer = recorder.layers[name], modules[name]
        if isinstance(layer, nn.ReLU):  # a standalone activation: its input is the net
            net, delta = _cut_at(model, modules["layers.2"], X, loss)
        else:
            net, delta = _cut_at(model, layer, X, loss)
        a = _F[rule](net)
        assert stats["mean"] == [pytest.approx(a.mean(), rel=1e-12, abs=1e-15)], name
        assert stats["std"] == [pytest.approx(a.std(), rel=1e-12)], name
        assert stats["delta_norm"] == [pytest.approx(np.linalg.norm(delta), rel=1e-10)], name
        if rule is None:
            assert stats["saturated"] == [None], name
        else:
            assert stats["saturated"] == [pytest.approx(_saturation(rule, a), abs=1e-15)], name


@pytest.mark.parametrize(
    "conv, activation, shape",
    [
        (lambda: nn.Conv1d(2, 3, 3, seed=0, dtype=np.float64), nn.Tanh, (6, 2, 9)),
        (
            lambda: nn.ConvTranspose2d(2, 3, 2, stride=2, seed=0, dtype=np.float64),
            nn.Sigmoid,
            (6, 2, 3, 3),
        ),
    ],
)
def test_conv1d_and_conv_transpose2d_are_layers_with_a_net_input(conv, activation, shape):
    layer = conv()
    X = np.random.default_rng(3).normal(size=shape)
    flat = 3 * (7 if len(shape) == 3 else 36)
    model = Sequential(layer, activation(), nn.Flatten(), Dense(flat, 1, seed=1, dtype=np.float64))
    recorder = Recorder(model)
    assert list(recorder.layers) == ["layers.0", "layers.3"]
    out = model(Tensor(X))
    (out * out).sum().backward()
    recorder.detach()
    net, delta = _cut_at(model, layer, X, lambda out: (out * out).sum())
    a = model[1](Tensor(net)).data
    stats = recorder.layers["layers.0"]
    assert stats["mean"] == [pytest.approx(a.mean(), rel=1e-12)]
    assert stats["saturated"] == [pytest.approx(_saturation(model[1].name, a), abs=1e-15)]
    assert stats["delta_norm"] == [pytest.approx(np.linalg.norm(delta), rel=1e-10)]
