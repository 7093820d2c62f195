"""Every full-batch method, by its name: it trains a small MLP through fit on the whole
training set and refuses mini-batches with an error that says what to pass."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim

from ._oracle import regression

# epochs each needs to cut the loss of the problem below by 20x (seed 0)
EPOCHS = {"rprop+": 100, "rprop-": 100, "irprop+": 100, "irprop-": 100, "bfgs": 40, "lbfgs": 40,
          "scg": 60, "newton": 15, "lm": 15}  # fmt: skip


def test_every_full_batch_name_is_covered():
    assert set(EPOCHS) == optim.FULL_BATCH


@pytest.mark.parametrize("name", sorted(optim.FULL_BATCH))
def test_trains_an_mlp_full_batch_and_refuses_mini_batches(name):
    model, X, y = regression(hidden=4)
    opt = optim.get(name, model.parameters())
    refusal = rf"fit: {type(opt).__name__} is a full-batch method .*pass batch_size=None"
    with pytest.raises(ValueError, match=refusal):
        gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=10, verbose=0)
    history = gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=None, epochs=EPOCHS[name],
                     verbose=0)  # fmt: skip
    losses = history.history["loss"]
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])


@pytest.mark.parametrize("name", ["bfgs", "lbfgs", "scg", "newton", "lm"])
def test_whole_vector_methods_refuse_a_per_parameter_update(name):
    w = gn.nn.Parameter(np.ones(3))
    opt = optim.get(name, [w])
    with pytest.raises(TypeError, match=r"updates the whole weight vector.*call step\(closure\)"):
        opt.update(w.data, np.ones(3), {})
    assert w.data.tolist() == [1.0, 1.0, 1.0]
