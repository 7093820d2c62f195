"""Stopping criteria (deck 000): each fires on its own condition, the first one wins, and the
History says which."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Dense, Sequential
from glassnet.train.stopping import (
    ErrorBelow,
    MaxEpochs,
    RelativeImprovementBelow,
    WeightChangeBelow,
)


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (64, 2))
    y = X @ np.array([[1.5], [-0.5]]) + 0.2 + 0.1 * rng.normal(size=(64, 1))  # noise: a floor
    model = Sequential(Dense(2, 1, seed=seed, dtype=np.float64))
    return model, X, y


def _fit(callbacks, epochs=200, lr=0.1, **kwargs):
    model, X, y = _problem()
    history = gn.fit(model, X, y, loss="mse", optimizer="sgd", lr=lr, epochs=epochs,
                     batch_size=None, callbacks=callbacks, verbose=0, **kwargs)  # fmt: skip
    return model, history


def test_max_epochs_stops_after_n_epochs():
    _, history = _fit([MaxEpochs(7)])
    assert len(history.history["loss"]) == 7
    assert history.stop_reason == "maximal number of epochs reached (7)"


def test_error_below_fires_at_the_first_epoch_under_the_threshold():
    _, history = _fit([ErrorBelow(0.02)])
    losses = history.history["loss"]
    assert losses[-1] < 0.02 and all(value >= 0.02 for value in losses[:-1])
    assert history.stop_reason.startswith("loss ")
    assert f"at epoch {len(losses)}" in history.stop_reason


def test_relative_improvement_below_fires_when_progress_stalls():
    _, history = _fit([RelativeImprovementBelow(0.01)], epochs=500)
    losses = history.history["loss"]
    improvements = [(a - b) / abs(a) for a, b in zip(losses, losses[1:])]
    assert improvements[-1] < 0.01 and all(i >= 0.01 for i in improvements[:-1])
    assert "relative improvement of loss" in history.stop_reason


def test_weight_change_below_measures_the_largest_single_weight_change():
    changes = []

    class Spy(gn.train.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.before = [p.data.copy() for p in self.state.optimizer.params]

        def on_epoch_end(self, epoch, logs=None):
            params = self.state.optimizer.params
            changes.append(max(np.abs(p.data - w).max() for p, w in zip(params, self.before)))

    _, history = _fit([Spy(), WeightChangeBelow(1e-4)], epochs=1000)
    assert changes[-1] < 1e-4 and all(c >= 1e-4 for c in changes[:-1])
    assert "maximal weight change" in history.stop_reason


def test_the_first_criterion_that_fires_is_the_one_recorded():
    _, history = _fit([MaxEpochs(3), ErrorBelow(1e9)])  # ErrorBelow fires after epoch 1
    assert len(history.history["loss"]) == 1
    assert history.stop_reason.startswith("loss ")  # MaxEpochs(3) had not fired yet
    _, history = _fit([ErrorBelow(1e9), MaxEpochs(1)])
    assert history.stop_reason.startswith("loss ")  # both fire at epoch 1: the first listed wins


def test_criteria_validate_their_arguments():
    with pytest.raises(ValueError, match=r"MaxEpochs: expected a positive number of epochs, got 0"):
        MaxEpochs(0)
    with pytest.raises(ValueError, match=r"ErrorBelow: expected a threshold >= 0, got -1"):
        ErrorBelow(-1)
    with pytest.raises(KeyError, match=r"ErrorBelow: expected 'val_loss' in the logs"):
        _fit([ErrorBelow(0.1, monitor="val_loss")])
