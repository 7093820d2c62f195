"""The BatchNorm layer: parameters and buffers, config and state round trips, torch's
BatchNorm1d over optimizer steps, training with fit, eval mode on running statistics, and
save/load."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, nn
from glassnet.errors import ShapeError
from glassnet.optim import SGD
from tests.conftest import require


def test_parameters_buffers_and_state_dict():
    layer = nn.BatchNorm(5)
    assert [name for name, _ in layer.named_parameters()] == ["gamma", "beta"]
    np.testing.assert_array_equal(layer.gamma.data, np.ones(5))
    np.testing.assert_array_equal(layer.beta.data, np.zeros(5))
    assert sum(p.size for p in layer.parameters()) == 10  # the running statistics are not trained
    state = layer.state_dict()
    assert sorted(state) == ["beta", "gamma", "running_mean", "running_var"]
    np.testing.assert_array_equal(state["running_mean"], np.zeros(5))
    np.testing.assert_array_equal(state["running_var"], np.ones(5))
    assert all(a.dtype == np.float32 for a in state.values())  # glassnet's default dtype


def test_state_dict_round_trip_carries_the_running_statistics(rng):
    layer = nn.BatchNorm(3, dtype=np.float64)
    layer(Tensor(rng.normal(2.0, 3.0, (10, 3))))
    other = nn.BatchNorm(3, dtype=np.float64)
    other.load_state_dict(layer.state_dict())
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], value, err_msg=name)
    assert not np.array_equal(other.running_mean, np.zeros(3))


def test_config_round_trip_and_repr():
    layer = nn.BatchNorm(7, momentum=0.2, eps=1e-3, dtype=np.float64)
    config = layer.config()
    assert json.loads(json.dumps(config)) == config
    rebuilt = nn.BatchNorm(**config)
    assert rebuilt.config() == config
    assert rebuilt.gamma.dtype == np.float64 and rebuilt.running_var.dtype == np.float64
    assert repr(layer) == "BatchNorm(7, momentum=0.2, eps=0.001)"
    assert nn.REGISTRY["BatchNorm"] is nn.BatchNorm


def test_astype_converts_the_buffers():
    layer = nn.BatchNorm(2).astype(np.float64)
    assert layer.running_mean.dtype == np.float64 and layer.gamma.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_features": 0}, r"BatchNorm: expected num_features to be a positive int, got 0"),
        ({"num_features": 2.0}, r"expected num_features to be a positive int, got 2.0"),
        (
            {"num_features": 3, "momentum": -0.1},
            r"BatchNorm: expected momentum in \[0, 1\], got -0.1",
        ),
        ({"num_features": 3, "eps": 0.0}, r"BatchNorm: expected eps > 0, got 0.0"),
    ],
)
def test_bad_settings_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.BatchNorm(**kwargs)


def test_wrong_input_shape_names_the_layer():
    layer = nn.BatchNorm(4)
    with pytest.raises(ShapeError, match=r"BatchNorm\(4, momentum=0.1, eps=1e-05\): expected input "
                                         r"\(batch, 4\), got \(8, 3\)"):  # fmt: skip
        layer(Tensor(np.ones((8, 3), np.float32)))
    with pytest.raises(ShapeError, match=r"expected input \(batch, 4\), got \(4,\)"):
        layer(Tensor(np.ones(4, np.float32)))


def test_a_batch_of_one_fails_in_training_and_works_in_eval():
    layer = nn.BatchNorm(3)
    x = Tensor(np.ones((1, 3), np.float32))
    message = (r"BatchNorm\(3, .*\): expected more than one sample per batch in training, "
               r"got input of shape \(1, 3\)")
    with pytest.raises(ValueError, match=message):
        layer(x)
    assert layer.eval()(x).shape == (1, 3)


def test_training_uses_batch_statistics_and_eval_the_running_ones(rng):
    layer = nn.BatchNorm(3, momentum=1.0, dtype=np.float64)  # momentum 1: running = last batch
    x = rng.normal(5.0, 2.0, (20, 3))
    y = layer(Tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, x.var(axis=0, ddof=1), rtol=1e-12)
    layer.eval()
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + 1e-5)
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-12)


def test_matches_torch_batchnorm1d_over_sgd_steps_then_eval(rng):
    torch = require("torch")
    features = 5
    layer = nn.BatchNorm(features, momentum=0.2, dtype=np.float64)
    reference = torch.nn.BatchNorm1d(features, momentum=0.2, dtype=torch.float64)
    ours_opt, their_opt = (
        SGD(layer.parameters(), lr=0.1),
        torch.optim.SGD(reference.parameters(), lr=0.1),
    )
    for step in range(5):
        x = rng.normal(step - 2.0, 0.5 + step, (9, features))
        g = rng.uniform(-1, 1, x.shape)
        x_ours, x_theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours_opt.zero_grad()
        their_opt.zero_grad()
        y_ours, y_theirs = layer(x_ours), reference(x_theirs)
        y_ours.backward(g)
        y_theirs.backward(torch.as_tensor(g))
        np.testing.assert_allclose(y_ours.data, y_theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(
            layer.gamma.grad, reference.weight.grad.numpy(), rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(
            layer.beta.grad, reference.bias.grad.numpy(), rtol=1e-10, atol=1e-10
        )
        ours_opt.step()
        their_opt.step()
    np.testing.assert_allclose(layer.gamma.data, reference.weight.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        layer.running_mean, reference.running_mean.numpy(), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(layer.running_var, reference.running_var.numpy(), rtol=1e-10)
    layer.eval(), reference.eval()
    x = rng.normal(size=(4, features))
    with torch.no_grad():
        expected = reference(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-10, atol=1e-10)


def _classifier(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Dense(2, 16, seed=rng), nn.BatchNorm(16), nn.ReLU(),
        nn.Dense(16, 16, seed=rng), nn.BatchNorm(16), nn.ReLU(),
        nn.Dense(16, 2, "softmax", seed=rng),
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained():
    X, y = gn.data.two_moons(400, noise=0.1, seed=0)
    model = _classifier(0)
    history = gn.fit(model, X, y, loss="cross_entropy", lr=0.01, epochs=15, batch_size=50,
                     verbose=0, seed=0, metrics=["accuracy"])  # fmt: skip
    return model, X, y, history


def test_batchnorm_network_trains_with_fit(trained):
    model, X, y, history = trained
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert gn.evaluate(model, X, y, loss="cross_entropy", metrics=["accuracy"])["accuracy"] >= 0.95
    assert model.training  # fit leaves it in training mode
    assert not np.array_equal(model[1].running_mean, np.zeros(16))  # fit updated the buffers


def test_eval_outputs_do_not_depend_on_the_batch(trained):
    model, X, _, _ = trained
    full = model.predict(X)  # eval mode: running statistics
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_allclose(
        model.predict(X[order])[np.argsort(order)], full, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(model.predict(X[:3]), full[:3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(X, batch_size=7), full, rtol=1e-5, atol=1e-6)
    state = model.state_dict()
    with gn.no_grad():  # training mode normalises with the batch: another batch, other outputs
        a = model(Tensor(X[:3].astype(np.float32))).data
        b = model(Tensor(X[:50].astype(np.float32))).data[:3]
    assert not np.allclose(a, b, atol=1e-3)
    model.load_state_dict(state)  # those training-mode calls moved the running statistics


def test_save_and_load_keep_predictions_and_running_statistics(trained, tmp_path):
    model, X, _, _ = trained
    gn.save(model, tmp_path / "bn.npz")
    loaded = gn.load(tmp_path / "bn.npz")
    assert [type(layer).__name__ for layer in loaded] == [type(layer).__name__ for layer in model]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], value, err_msg=name)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_save_and_load_a_float64_layer(tmp_path, rng):
    model = nn.Sequential(
        nn.Dense(3, 4, seed=0, dtype=np.float64), nn.BatchNorm(4, momentum=0.5, dtype=np.float64)
    )
    model(Tensor(rng.normal(size=(6, 3))))
    gn.save(model, tmp_path / "m.npz")
    loaded = gn.load(tmp_path / "m.npz")
    assert loaded[1].config() == model[1].config()
    assert loaded[1].running_var.dtype == np.float64
    np.testing.assert_array_equal(loaded[1].running_var, model[1].running_var)
