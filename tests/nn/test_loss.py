"""Named losses: resolved once against the model (softmax/sigmoid outputs train on their net
input through the fused op, linear outputs are logits), and on probabilities when called
directly."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops
from glassnet.nn import loss as losses

from ..conftest import require


def _softmax_net(seed=0, dtype="float64"):
    return nn.Sequential(nn.Dense(3, 5, "tanh", seed=seed, dtype=dtype),
                         nn.Dense(5, 4, "softmax", seed=seed + 1, dtype=dtype))  # fmt: skip


def test_a_softmax_network_trains_through_the_fused_op_on_its_net_input(rng):
    model, X, y = _softmax_net(), gn.tensor(rng.normal(size=(6, 3))), np.array([0, 1, 2, 3, 0, 1])
    bound = losses.bind("cross_entropy", model)
    assert bound.layer is model[1] and bound.threshold == 0.5
    out = model(X)
    value = bound(out, y)
    assert isinstance(value.op, ops.loss.SoftmaxCrossEntropy)
    assert value.op.inputs[0] is model[1].net  # the logits, not the probabilities
    expected = -np.log(out.data[np.arange(6), y]).mean()
    assert float(value.data) == pytest.approx(expected, rel=1e-12)
    value.backward()
    delta = out.data.copy()
    delta[np.arange(6), y] -= 1.0  # delta = a - y, over the batch mean
    a_prev = np.tanh(X.data @ model[0].W.data.T + model[0].b.data)
    np.testing.assert_allclose(model[1].W.grad, delta.T @ a_prev / 6, rtol=1e-10)


def test_saturated_softmax_outputs_still_give_the_true_loss(rng):
    model = nn.Sequential(nn.Dense(2, 3, "softmax", seed=0, dtype="float64"))
    model[0].W.data[...] = [[1000.0, 0.0], [-1000.0, 0.0], [0.0, 0.0]]
    out = model(gn.tensor(np.array([[1.0, 0.0]])))
    assert out.data[0, 1] == 0.0  # exp(-2000) underflows: the probabilities cannot say more
    value = losses.bind("cross_entropy", model)(out, np.array([1]))
    assert float(value.data) == pytest.approx(2000.0)  # from the logits: -log_softmax = 2000


def test_a_linear_output_is_taken_as_logits(rng):
    model = nn.Sequential(nn.Dense(3, 1, seed=0, dtype="float64"))
    bound = losses.bind("binary_cross_entropy", model)
    assert bound.layer is None and bound.threshold == 0.0  # logits: classes split at 0
    out = model(gn.tensor(rng.normal(size=(4, 3))))
    y = np.array([0.0, 1.0, 1.0, 0.0])
    expected = ops.sigmoid_binary_cross_entropy(gn.tensor(out.data), y)
    assert float(bound(out, y).data) == pytest.approx(float(expected.data), rel=1e-12)


def test_mismatched_output_layers_are_refused():
    sigmoid_net = nn.Sequential(nn.Dense(3, 2, "sigmoid", seed=0))
    message = (r"cross_entropy: expected a network ending in a softmax or a linear layer, "
               r"got one ending in a sigmoid .*'binary_cross_entropy'")
    with pytest.raises(ValueError, match=message):
        losses.bind("cross_entropy", sigmoid_net)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: .* ending in a softmax"):
        losses.bind("binary_cross_entropy", _softmax_net())


class _HiddenSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3, 4, seed=0)

    def forward(self, x):
        return ops.softmax(self.dense(x))


class _DeclaredSoftmax(_HiddenSoftmax):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3, 4, "softmax", seed=0)

    def forward(self, x):
        return self.dense(x)

    def output_layer(self):
        return self.dense


def test_a_custom_module_ending_in_ops_softmax_is_refused_not_trained_on_garbage(rng):
    X, y = rng.normal(size=(8, 3)), np.arange(8) % 4
    message = (r"cross_entropy: expected the model's outputs to be logits, "
               r"got the output of ops.softmax")
    with pytest.raises(ValueError, match=message):
        gn.fit(_HiddenSoftmax(), X, y, loss="cross_entropy", epochs=1, verbose=0)


def test_a_custom_module_that_declares_its_output_layer_trains(rng):
    X, y = rng.normal(size=(64, 3)), (np.arange(64) % 4)
    model = _DeclaredSoftmax()
    assert losses.bind("cross_entropy", model).layer is model.dense
    history = gn.fit(model, X, y, loss="cross_entropy", epochs=3, verbose=0, seed=0)
    assert np.isfinite(history.history["loss"]).all()


def test_called_directly_a_cross_entropy_takes_probabilities(rng):
    torch = require("torch")
    p = ops.softmax(gn.tensor(rng.normal(size=(5, 3)), requires_grad=True)).data
    y = np.array([0, 2, 1, 1, 0])
    value = losses.get("cross_entropy")(gn.tensor(p), y)
    expected = torch.nn.functional.nll_loss(torch.log(torch.as_tensor(p)), torch.as_tensor(y))
    assert float(value.data) == pytest.approx(float(expected), rel=1e-12)
    q = 0.5 * (1 + np.tanh(rng.normal(size=(4, 1))))
    t = np.array([[1.0], [0.0], [1.0], [0.0]])
    value = losses.get("binary_cross_entropy")(gn.tensor(q), t)
    expected = torch.nn.functional.binary_cross_entropy(torch.as_tensor(q), torch.as_tensor(t))
    assert float(value.data) == pytest.approx(float(expected), rel=1e-12)


def test_a_probability_of_zero_gives_a_large_finite_loss_and_gradient():
    p = gn.tensor(np.array([[0.0, 1.0], [0.5, 0.5]]), requires_grad=True)
    value = losses.get("cross_entropy")(p, np.array([0, 1]))
    assert float(value.data) == pytest.approx((100.0 + np.log(2.0)) / 2)  # log clamped at -100
    value.backward()
    assert np.isfinite(p.grad).all()
    q = gn.tensor(np.array([0.0, 1.0]), requires_grad=True)
    value = losses.get("binary_cross_entropy")(q, np.array([1.0, 0.0]))
    assert float(value.data) == pytest.approx(100.0)
    value.backward()
    assert np.isfinite(q.grad).all()


def test_dense_exposes_its_net_input_without_keeping_graphs_alive(rng):
    layer = nn.Dense(3, 2, "tanh", seed=0, dtype="float64")
    x = gn.tensor(rng.normal(size=(4, 3)))
    a = layer(x)
    np.testing.assert_allclose(layer.net.data, x.data @ layer.W.data.T, rtol=1e-12)
    assert a.op.inputs[0] is layer.net
    del a
    assert layer.net is None  # the graph is gone, so W is writable again
    layer.W.data[...] = 0.0
    with gn.no_grad():
        layer(x)
    assert layer.net is not None and layer.net.op is None  # without a graph it is kept
