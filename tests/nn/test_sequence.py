"""nn.TimeDistributed: one layer per time step, gradients, saving, bad inputs."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.autodiff import gradcheck
from glassnet.errors import ShapeError


@pytest.mark.parametrize("batch_first", [False, True])
def test_equals_the_layer_applied_at_each_step(rng, batch_first):
    dense = nn.Dense(3, 2, "tanh", dtype=np.float64, seed=0)
    layer = nn.TimeDistributed(dense, batch_first=batch_first)
    x = rng.normal(size=(4, 5, 3))
    y = layer(x).data
    assert y.shape == (4, 5, 2)
    steps = [dense(gn.tensor(x[:, t] if batch_first else x[t])).data for t in range(x.shape[1]
             if batch_first else x.shape[0])]  # fmt: skip
    np.testing.assert_allclose(y, np.stack(steps, axis=1 if batch_first else 0), rtol=1e-12)


def test_gradient_sums_over_the_steps(rng):
    dense = nn.Dense(3, 2, "tanh", dtype=np.float64, seed=1)
    layer = nn.TimeDistributed(dense)
    x = rng.normal(size=(3, 2, 3))
    assert gradcheck(lambda t: layer(t), [x])
    dense.W.grad = None  # gradcheck's backward reached W too
    layer(gn.tensor(x)).sum().backward()
    folded = dense.W.grad.copy()
    per_step = 0
    for t in range(3):
        dense.W.grad = None
        dense(gn.tensor(x[t])).sum().backward()
        per_step = per_step + dense.W.grad
    np.testing.assert_allclose(folded, per_step, rtol=1e-10)  # shared weights: the sum


def test_takes_layers_with_several_feature_axes(rng):
    conv = nn.Conv1d(2, 3, 3, dtype=np.float64, seed=0)
    layer = nn.TimeDistributed(conv)
    x = rng.normal(size=(4, 2, 2, 6))  # (T, N, C, L)
    y = layer(x).data
    assert y.shape == (4, 2, 3, 4)
    np.testing.assert_allclose(y[2], conv(gn.tensor(x[2])).data, rtol=1e-12)


def test_round_trips_through_save_and_load(tmp_path, rng):
    model = nn.TimeDistributed(nn.Sequential(nn.Dense(3, 4, "relu", seed=0), nn.Dense(4, 2)),
                               batch_first=True)  # fmt: skip
    x = rng.normal(size=(2, 5, 3)).astype(model.dtype)
    gn.save(model, tmp_path / "m.npz")
    loaded = gn.load(tmp_path / "m.npz")
    assert isinstance(loaded, nn.TimeDistributed) and loaded.batch_first
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_bad_arguments_and_inputs_are_refused(rng):
    with pytest.raises(TypeError, match="expected layer to be a glassnet Module, got function"):
        nn.TimeDistributed(lambda x: x)
    with pytest.raises(TypeError, match="expected batch_first to be a bool, got 1"):
        nn.TimeDistributed(nn.Dense(3, 2), batch_first=1)
    layer = nn.TimeDistributed(nn.Dense(3, 2))
    with pytest.raises(ShapeError, match=r"expected input \(T, N, \*features\) .* shape \(4, 3\)"):
        layer(rng.normal(size=(4, 3)))
    with pytest.raises(ShapeError):  # the layer's own check names the width
        layer(rng.normal(size=(4, 2, 5)))
