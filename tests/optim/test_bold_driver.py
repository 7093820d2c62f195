"""The bold driver: eta grows while the error falls; a rise is undone and eta shrinks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Parameter
from glassnet.optim.bold_driver import BoldDriver

from ._oracle import regression


def test_two_steps_by_hand():
    # E(w) = 1/2 w^2 with w0 = 1, eta = 0.5, increase 1.1, decrease 0.5.
    # step 1: E = 0.5, g = 1, no previous error -> w = 1 - 0.5 * 1 = 0.5
    # step 2: E = 0.125 < 0.5 -> eta = 0.55; g = 0.5 -> w = 0.5 - 0.55 * 0.5 = 0.225
    w = Parameter(np.array([1.0]))
    opt = BoldDriver([w], lr=0.5, increase=1.1, decrease=0.5)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert w.data[0] == pytest.approx(0.5)
    opt.step(closure)
    assert opt.lr == pytest.approx(0.55) and w.data[0] == pytest.approx(0.225)


def test_a_rise_is_undone_and_eta_halved():
    # E(w) = 1/2 w^2, w0 = 1, eta = 2.5: step 1 jumps to w = 1 - 2.5 = -1.5 (E rises to 1.125).
    # step 2 sees the rise: w goes back to 1, eta = 1.25, and steps from there: w = 1 - 1.25 = -0.25
    w = Parameter(np.array([1.0]))
    opt = BoldDriver([w], lr=2.5, increase=1.1, decrease=0.5)
    evaluations = []

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w * w).sum()
        loss.backward()
        evaluations.append(float(w.data[0]))
        return loss

    opt.step(closure)
    assert w.data[0] == pytest.approx(-1.5)
    loss = opt.step(closure)
    assert evaluations == pytest.approx([1.0, -1.5, 1.0])  # the error at the restored weights
    assert opt.lr == pytest.approx(1.25) and opt.undone == 1
    assert w.data[0] == pytest.approx(-0.25) and float(loss.data) == pytest.approx(0.5)


def test_bold_driver_in_fit_is_full_batch_and_reduces_the_error():
    model, X, y = regression(n=50)
    opt = BoldDriver(model.parameters(), lr=0.05)
    with pytest.raises(ValueError, match="BoldDriver is a full-batch method.*pass batch_size=None"):
        gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=10, verbose=0)
    history = gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=None, epochs=200,
                     verbose=0)  # fmt: skip
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0]
    assert opt.lr != 0.05  # it adapted


def test_bold_driver_validates_its_factors():
    w = Parameter(np.array([1.0]))
    with pytest.raises(ValueError, match=r"BoldDriver: expected increase > 1, got 1"):
        BoldDriver([w], increase=1)
    with pytest.raises(ValueError, match=r"BoldDriver: expected decrease in \(0, 1\), got 1.5"):
        BoldDriver([w], decrease=1.5)
    with pytest.raises(ValueError, match="expected a closure"):
        BoldDriver([w]).step()
