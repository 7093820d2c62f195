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

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "CosineWithWarmup", "ReduceOnPlateau"]


class Schedule(Callback):
    """Base: ``rate(epoch, base_lr)`` gives eta for the 0-based epoch about to run."""

    def on_train_begin(self, logs=None):
        self.base_lr = self.state.optimizer.lr

    def on_epoch_begin(self, epoch, logs=None):
        self.state.optimizer.lr = self.rate(epoch, self.base_lr)


class StepDecay(Schedule):
    """eta = eta_0 * gamma^floor(epoch / step_size)."""

    def __init__(self, step_size, gamma=0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepDecay: expected a positive step_size, got {step_size!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"StepDecay: expected gamma in (0, 1], got {gamma!r}")
        self.step_size, self.gamma = step_size, gamma

    def rate(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """eta = eta_0 * gamma^epoch."""

    def __init__(self, gamma):
        if not 0 < gamma <= 1:
            raise ValueError(f"ExponentialDecay: expected gamma in (0, 1], got {gamma!r}")
        self.gamma = gamma

    def rate(self, epoch, base_lr):
        return base_lr * self.gamma**epoch


class CosineWithWarmup(Schedule):
    """Linear warm-up from eta_0 / warmup to eta_0 over the first ``warmup`` epochs, then cosine
    annealing to ``min_lr`` at the last epoch:

        eta = eta_0 (e + 1) / warmup                                          for e < warmup
        eta = min_lr + (eta_0 - min_lr) (1 + cos(pi (e - warmup) / (epochs - 1 - warmup))) / 2
    """

    def __init__(self, epochs, warmup=0, min_lr=0.0):
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"CosineWithWarmup: expected a positive number of epochs, got {epochs!r}")
        if not (isinstance(warmup, int) and 0 <= warmup < epochs):
            raise ValueError(f"CosineWithWarmup: expected warmup in 0..{epochs - 1}, got {warmup!r}")
        if not min_lr >= 0:
            raise ValueError(f"CosineWithWarmup: expected min_lr >= 0, got {min_lr!r}")
        self.epochs, self.warmup, self.min_lr = epochs, warmup, min_lr

    def rate(self, epoch, base_lr):
        if epoch < self.warmup:
            return base_lr * (epoch + 1) / self.warmup
        span = self.epochs - 1 - self.warmup
        progress = min(1.0, (epoch - self.warmup) / span) if span > 0 else 1.0
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class ReduceOnPlateau(Callback):
    """Multiply eta by ``factor`` when the monitored value has not improved by more than
    ``min_delta`` for ``patience`` epochs (never below ``min_lr``)."""

    def __init__(self, monitor="val_loss", factor=0.5, patience=5, min_delta=0.0, min_lr=0.0):
        if not 0 < factor < 1:
            raise ValueError(f"ReduceOnPlateau: expected factor in (0, 1), got {factor!r}")
        if not (isinstance(patience, int) and patience >= 1):
            raise ValueError(f"ReduceOnPlateau: expected patience >= 1, got {patience!r}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_delta, self.min_lr = abs(min_delta), min_lr
        self.sign = -1.0 if monitor.removeprefix("val_") == "accuracy" else 1.0

    def on_train_begin(self, logs=None):
        self.best, self.wait = math.inf, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in logs:
            raise KeyError(f"ReduceOnPlateau: expected '{self.monitor}' in the logs, got {sorted(logs)}")
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            optimizer = self.state.optimizer
            optimizer.lr = max(self.min_lr, optimizer.lr * self.factor)
            self.wait = 0
