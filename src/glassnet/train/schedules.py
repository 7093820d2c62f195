"""Learning-rate schedules, used from ``fit`` as callbacks that set ``optimizer.lr`` before
each epoch: step, exponential, cosine with warm-up, and reduce-on-plateau.

    fit(..., optimizer="sgd", lr=0.1, callbacks=[CosineWithWarmup(epochs=50, warmup=5)])

The schedule reads the optimizer's learning rate at the start of training as its base rate
eta_0. (The bold driver, which must undo steps, is an optimizer: ``glassnet.optim.BoldDriver``.)
References: Goodfellow, Bengio & Courville, Deep Learning (2016), 8.3.1; Loshchilov & Hutter,
"SGDR: Stochastic gradient descent with warm restarts" (2017), eq. 5; Goyal et al., "Accurate,
large minibatch SGD" (2017), sec. 2.2 (warm-up).
"""

import math

from .callbacks import Callback
from .checks import is_integer, is_real

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineWithWarmup", "ReduceOnPlateau"]


class Schedule(Callback):
    """Base: ``rate(epoch, base_lr)`` gives eta for the 0-based epoch about to run."""

    state_attributes = ("base_lr",)

    def on_train_begin(self, logs=None):
        self.base_lr = self.state.optimizer.lr

    def on_epoch_begin(self, epoch, logs=None):
        self.state.optimizer.lr = self.rate(epoch, self.base_lr)


class StepDecay(Schedule):
    """eta = eta_0 * gamma^floor(epoch / step_size)."""

    def __init__(self, step_size, gamma=0.1):
        if not (is_integer(step_size) and step_size >= 1):
            raise ValueError(f"StepDecay: expected a positive step_size, got {step_size!r}")
        self.step_size, self.gamma = int(step_size), _gamma("StepDecay", gamma)

    def rate(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """eta = eta_0 * gamma^epoch."""

    def __init__(self, gamma):
        self.gamma = _gamma("ExponentialDecay", gamma)

    def rate(self, epoch, base_lr):
        return base_lr * self.gamma**epoch


class CosineWithWarmup(Schedule):
    """Linear warm-up from eta_0 / warmup to eta_0 over the first ``warmup`` epochs, then cosine
    annealing to ``min_lr`` at the last epoch:

        eta = eta_0 (e + 1) / warmup                                          for e < warmup
        eta = min_lr + (eta_0 - min_lr) (1 + cos(pi (e - warmup) / (epochs - 1 - warmup))) / 2
    """

    def __init__(self, epochs, warmup=0, min_lr=0.0):
        if not (is_integer(epochs) and epochs >= 1):
            raise ValueError(f"CosineWithWarmup: expected a positive number of epochs, got "
                             f"{epochs!r}")  # fmt: skip
        if not (is_integer(warmup) and 0 <= warmup < epochs):
            raise ValueError(f"CosineWithWarmup: expected warmup in 0..{epochs - 1}, got "
                             f"{warmup!r}")  # fmt: skip
        self.epochs, self.warmup = int(epochs), int(warmup)
        self.min_lr = _non_negative("CosineWithWarmup", "min_lr", min_lr)

    def rate(self, epoch, base_lr):
        if epoch < self.warmup:
            return base_lr * (epoch + 1) / self.warmup
        span = self.epochs - 1 - self.warmup
        progress = min(1.0, (epoch - self.warmup) / span) if span > 0 else 1.0
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class ReduceOnPlateau(Callback):
    """Multiply eta by ``factor`` when the monitored value has not improved by more than
    ``min_delta`` for ``patience`` epochs (never below ``min_lr``)."""

    state_attributes = ("best", "wait")

    def __init__(self, monitor="val_loss", factor=0.5, patience=5, min_delta=0.0, min_lr=0.0):
        if not isinstance(monitor, str):
            raise TypeError(f"ReduceOnPlateau: expected monitor to be the name of a logged value "
                            f"(e.g. 'val_loss'), got {monitor!r}")  # fmt: skip
        if not (is_real(factor) and 0 < factor < 1):
            raise ValueError(f"ReduceOnPlateau: expected factor in (0, 1), got {factor!r}")
        if not (is_integer(patience) and patience >= 1):
            raise ValueError(f"ReduceOnPlateau: expected patience >= 1, got {patience!r}")
        if not (is_real(min_delta) and math.isfinite(min_delta)):
            raise ValueError(f"ReduceOnPlateau: expected min_delta to be a finite number, got "
                             f"{min_delta!r}")  # fmt: skip
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.min_delta = abs(float(min_delta))
        self.min_lr = _non_negative("ReduceOnPlateau", "min_lr", min_lr)
        self.sign = -1.0 if monitor.removeprefix("val_") == "accuracy" else 1.0

    def on_train_begin(self, logs=None):
        self.best, self.wait = math.inf, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in logs:
            raise KeyError(f"ReduceOnPlateau: expected '{self.monitor}' in the logs, got "
                           f"{sorted(logs)}")  # fmt: skip
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            optimizer = self.state.optimizer
            optimizer.lr = max(self.min_lr, optimizer.lr * self.factor)
            self.wait = 0


def _gamma(who, gamma):
    """The decay factor gamma as a float in (0, 1]."""
    if not (is_real(gamma) and 0 < gamma <= 1):
        raise ValueError(f"{who}: expected gamma in (0, 1], got {gamma!r}")
    return float(gamma)


def _non_negative(who, name, value):
    """A finite number >= 0, as a float."""
    if not (is_real(value) and 0 <= value < math.inf):
        raise ValueError(f"{who}: expected {name} >= 0, got {value!r}")
    return float(value)
