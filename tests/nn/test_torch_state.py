"""load_torch_state_dict: a torch model's weights, copied by torch's keys, give the same outputs."""

import numpy as np
import pytest

from glassnet import nn
from glassnet.errors import ShapeError
from tests.conftest import require


def _numpy_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def test_a_torch_mlp_with_batch_norm_ports_layer_by_layer(rng):
    torch = require("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 3)).double()  # fmt: skip
    with torch.no_grad():  # running statistics that are not the defaults
        theirs.train()(torch.as_tensor(rng.normal(size=(16, 5))))
    theirs.eval()
    ours = nn.Sequential(nn.Dense(5, 8, dtype=np.float64), nn.BatchNorm(8, dtype=np.float64),
                         nn.ReLU(), nn.Dense(8, 3, dtype=np.float64))  # fmt: skip
    assert nn.load_torch_state_dict(ours, _numpy_state(theirs)) is ours
    x = rng.normal(size=(6, 5))
    expected = theirs(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours.predict(x), expected, rtol=1e-12, atol=1e-12)


def test_mismatches_are_named_and_nothing_is_copied():
    ours = nn.Sequential(nn.Dense(5, 8), nn.Dense(8, 3))
    before = [p.data.copy() for p in ours.parameters()]
    good = {"0.weight": np.zeros((8, 5)), "0.bias": np.zeros(8), "2.weight": np.zeros((3, 8)),
            "2.bias": np.zeros(3)}  # fmt: skip
    with pytest.raises(ShapeError, match=r"2.weight has shape \(8, 3\), layers.1.W \(3, 8\)"):
        nn.load_torch_state_dict(ours, {**good, "2.weight": np.zeros((8, 3))})
    with pytest.raises(ValueError, match="the torch state has 1 layers with weights"):
        nn.load_torch_state_dict(ours, {"0.weight": np.zeros((8, 5)), "0.bias": np.zeros(8)})
    with pytest.raises(ValueError, match="0.scale has no counterpart in layers.0"):
        nn.load_torch_state_dict(ours, {**good, "0.scale": np.zeros(8)})
    with pytest.raises(ValueError, match=r"has no value for layers.1.b"):
        nn.load_torch_state_dict(ours, {k: v for k, v in good.items() if k != "2.bias"})
    with pytest.raises(TypeError, match="expected a dict of arrays"):
        nn.load_torch_state_dict(ours, [1, 2])
    with pytest.raises(TypeError, match="expected a glassnet Module"):
        nn.load_torch_state_dict("model", good)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, ours.parameters()))
    nn.load_torch_state_dict(ours, good)
    assert all(not p.data.any() for p in ours.parameters())
