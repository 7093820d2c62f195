"""Learning-rate schedules: the rate each epoch runs with equals the formula."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Dense, Sequential
from glassnet.train.schedules import CosineWithWarmup, ExponentialDecay, ReduceOnPlateau, StepDecay


class RecordRate(gn.train.Callback):
    """Records the learning rate each epoch runs with (placed after the schedule)."""

    def __init__(self):
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(self.state.optimizer.lr)


def _rates(schedule, epochs, lr=0.1, validation=False):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (32, 2))
    y = X.sum(axis=1, keepdims=True)
    model = Sequential(Dense(2, 1, seed=0, dtype=np.float64))
    recorder = RecordRate()
    gn.fit(model, X, y, loss="mse", optimizer="sgd", lr=lr, epochs=epochs, batch_size=None,
           verbose=0, callbacks=[schedule, recorder],
           validation_split=0.25 if validation else 0.0)  # fmt: skip
    return recorder.rates


def test_step_decay():
    expected = [0.1] * 3 + [0.05] * 3 + [0.025]
    assert _rates(StepDecay(step_size=3, gamma=0.5), 7) == pytest.approx(expected)


def test_exponential_decay():
    assert _rates(ExponentialDecay(0.9), 4) == pytest.approx([0.1 * 0.9**e for e in range(4)])


def test_cosine_with_warmup():
    rates = _rates(CosineWithWarmup(epochs=7, warmup=2, min_lr=0.01), 7)
    # warm-up: 0.1 * 1/2, 0.1 * 2/2; then cosine from 0.1 (epoch 2) to 0.01 (epoch 6) over 4 steps
    expected = [0.05, 0.1] + [0.01 + 0.09 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(5)]
    assert rates == pytest.approx(expected)


def test_reduce_on_plateau_cuts_the_rate_after_patience_epochs_without_improvement():
    class Plateau(gn.train.Callback):  # feeds a made-up monitored value: improves twice, then flat
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [3.0, 2.0, 1.0][epoch] if epoch < 3 else 1.0

    rates = []

    class Rate(gn.train.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(self.state.optimizer.lr)

    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (16, 2)), rng.uniform(-1, 1, (16, 1))
    model = Sequential(Dense(2, 1, seed=0, dtype=np.float64))
    gn.fit(model, X, y, loss="mse", optimizer="sgd", lr=0.1, epochs=9, batch_size=None, verbose=0,
           callbacks=[Plateau(), ReduceOnPlateau(factor=0.5, patience=2), Rate()])  # fmt: skip
    # epochs 0-2 improve; epochs 3 and 4 do not -> halve before epoch 5; 5, 6 -> halve before 7
    assert rates == pytest.approx([0.1] * 5 + [0.05] * 2 + [0.025] * 2)


def test_schedules_validate_their_arguments():
    with pytest.raises(ValueError, match=r"StepDecay: expected a positive step_size, got 0"):
        StepDecay(0)
    with pytest.raises(ValueError, match=r"CosineWithWarmup: expected warmup in 0\.\.4, got 5"):
        CosineWithWarmup(epochs=5, warmup=5)
    with pytest.raises(ValueError, match=r"ReduceOnPlateau: expected factor in \(0, 1\), got 1"):
        ReduceOnPlateau(factor=1)
