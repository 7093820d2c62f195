"""Stopping criteria as in the lectures (deck 000): combine any of them; ``fit`` stops at the
first that fires, and ``History.stop_reason`` says which.

    fit(..., callbacks=[ErrorBelow(1e-3), RelativeImprovementBelow(1e-4), WeightChangeBelow(1e-6)])

Each is a callback that looks at the epoch's logs (or weights) after every epoch.
Reference: the lectures' "practical considerations" (deck 000); Prechelt, "Early stopping -
but when?", in Neural Networks: Tricks of the Trade (1998), sec. 2.
"""

import numpy as np

from .callbacks import Callback
from .checks import is_integer, is_real

__all__ = ["StoppingCriterion", "MaxEpochs", "ErrorBelow", "RelativeImprovementBelow",
           "WeightChangeBelow"]  # fmt: skip


class StoppingCriterion(Callback):
    """Base: ``check(epoch, logs)`` returns a reason (text) to stop, or None to go on."""

    def check(self, epoch, logs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define check (abstract)")

    def on_epoch_end(self, epoch, logs=None):
        if self.state.stop_training:  # an earlier criterion fired first: its reason stands
            return
        reason = self.check(epoch, logs)
        if reason is not None:
            self.state.stop_training, self.state.stop_reason = True, reason


def _threshold(who, value):
    if not (is_real(value) and value >= 0):
        raise ValueError(f"{who}: expected a threshold >= 0, got {value!r}")
    return float(value)


def _monitor(who, monitor):
    if not isinstance(monitor, str):
        raise TypeError(f"{who}: expected monitor to be the name of a logged value (e.g. 'loss'), "
                        f"got {monitor!r}")  # fmt: skip
    return monitor


class MaxEpochs(StoppingCriterion):
    """Stop after ``n`` epochs (``fit``'s ``epochs`` is the same criterion, always on)."""

    def __init__(self, n):
        if not (is_integer(n) and n >= 1):
            raise ValueError(f"MaxEpochs: expected a positive number of epochs, got {n!r}")
        self.n = int(n)

    def check(self, epoch, logs):
        return f"maximal number of epochs reached ({self.n})" if epoch + 1 >= self.n else None


class ErrorBelow(StoppingCriterion):
    """Stop when the monitored error (the epoch's "loss" by default) is below ``threshold``."""

    def __init__(self, threshold, monitor="loss"):
        self.threshold = _threshold("ErrorBelow", threshold)
        self.monitor = _monitor("ErrorBelow", monitor)

    def check(self, epoch, logs):
        value = _logged(self, logs)
        if value < self.threshold:
            return f"{self.monitor} {value:.4g} below {self.threshold:g} at epoch {epoch + 1}"
        return None


class RelativeImprovementBelow(StoppingCriterion):
    """Stop when the relative improvement of the error, (E_old - E_new) / |E_old|, from one
    epoch to the next is below ``threshold`` (a rise counts as no improvement)."""

    state_attributes = ("previous",)

    def __init__(self, threshold, monitor="loss"):
        self.threshold = _threshold("RelativeImprovementBelow", threshold)
        self.monitor = _monitor("RelativeImprovementBelow", monitor)
        self.previous = None

    def on_train_begin(self, logs=None):
        self.previous = None

    def check(self, epoch, logs):
        value, previous = _logged(self, logs), self.previous
        self.previous = value
        if previous is None or previous == 0:
            return None
        improvement = (previous - value) / abs(previous)
        if improvement < self.threshold:
            return (f"relative improvement of {self.monitor} {improvement:.3g} below "
                    f"{self.threshold:g} at epoch {epoch + 1}")  # fmt: skip
        return None


class WeightChangeBelow(StoppingCriterion):
    """Stop when the largest change of any single weight during an epoch, max |w_new - w_old|,
    is below ``threshold``."""

    def __init__(self, threshold):
        self.threshold = _threshold("WeightChangeBelow", threshold)

    def on_epoch_begin(self, epoch, logs=None):
        self.before = [p.data.copy() for p in self.state.optimizer.params]

    def check(self, epoch, logs):
        params = self.state.optimizer.params
        change = max(float(np.abs(p.data - w).max()) for p, w in zip(params, self.before))
        if change < self.threshold:
            return (f"maximal weight change {change:.3g} below {self.threshold:g} at epoch "
                    f"{epoch + 1}")  # fmt: skip
        return None


def _logged(criterion, logs):
    if criterion.monitor not in logs:
        raise KeyError(f"{type(criterion).__name__}: expected '{criterion.monitor}' in the logs, "
                       f"got {sorted(logs)}")  # fmt: skip
    return logs[criterion.monitor]
