"""Callbacks: hooks into the training loop (progress display, early stopping).

The Trainer (and so ``fit``) sets ``callback.state`` to itself (a ``TrainingState``) before
``on_train_begin``. A callback stops training by setting ``state.stop_training = True`` and,
for the record, a short ``state.stop_reason``. Every hook is optional; ``logs`` is a dict of
floats. A callback with state that a resumed run needs lists it in ``state_attributes``.
"""

import sys
import time

import numpy as np

__all__ = ["Callback", "TrainingState", "History", "ProgressBar", "EpochLogger", "EarlyStopping",
           "monitor_sign"]  # fmt: skip


class TrainingState:
    """What callbacks may read and change while training runs (the Trainer is one).

    Attributes: model, optimizer, history, epochs (the total ``fit`` aims at, None when epochs
    are run one by one), n_batches (of the current epoch), X and y (its training data), epoch
    (the current epoch's index; after it, the number completed), stop_training, stop_reason,
    active_samples (an index array restricting the next epochs to those samples).
    """

    def __init__(self, model, optimizer, history, epochs, n_batches, X=None, y=None):
        self.model, self.optimizer, self.history = model, optimizer, history
        self.epochs, self.n_batches, self.X, self.y = epochs, n_batches, X, y
        self.epoch, self.stop_training, self.stop_reason = 0, False, None
        self.active_samples = None  # an index array restricts the next epochs to those samples


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def monitor_sign(who, monitor, mode):
    """+1 if smaller values of ``monitor`` are better, -1 if larger ones are ("auto": larger
    for accuracy-like keys)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: expected mode 'auto', 'min' or 'max', got {mode!r}")
    if not isinstance(monitor, str):
        raise TypeError(f"{who}: expected monitor as a log key such as 'val_loss', got {monitor!r}")
    if mode == "auto":
        mode = "max" if monitor.removeprefix("val_") == "accuracy" else "min"
    return 1.0 if mode == "min" else -1.0


class Callback:
    """Base class; override the hooks you need.

    A callback whose attributes change during training and matter for what comes next names
    them in ``state_attributes``; ``state_dict`` and ``load_state_dict`` then save and restore
    them, and checkpoints keep them (numbers, strings, arrays, Generators, lists and dicts).
    """

    state = None
    state_attributes = ()

    def state_dict(self):
        """{name: value} of the ``state_attributes`` (arrays copied)."""
        return {name: _copied(getattr(self, name, None)) for name in self.state_attributes}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned; a Generator takes the saved state in place."""
        for name in self.state_attributes:
            value = state[name]
            current = getattr(self, name, None)
            if isinstance(current, np.random.Generator) and isinstance(value, np.random.Generator):
                current.bit_generator.state = value.bit_generator.state
            else:
                setattr(self, name, _copied(value))

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_train_end(self, logs=None):
        """After the last epoch (also after an early stop)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before each epoch (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """After each epoch with its logs (loss, metrics, val_*)."""

    def on_batch_begin(self, batch, logs=None):
        """Before each batch's forward pass (0-based batch index within the epoch)."""

    def on_batch_end(self, batch, logs=None):
        """After each batch's optimizer step, with {"loss": the batch loss}."""


def _copied(value):
    """A deep copy of arrays, lists and dicts; anything else as it is."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if hasattr(value, "copy") and hasattr(value, "shape"):
        return value.copy()
    return value


class History:
    """Per-epoch records of a training run, as Keras keeps them.

    Attributes:
        history: {"loss": [...], "val_loss": [...], "<metric>": [...], "val_<metric>": [...]}.
        epoch: the epoch numbers recorded (0-based).
        stop_reason: None when all epochs ran, else a short text saying why training stopped.
        diverged: True when training stopped because the loss or the weights became NaN or
            inf (the weights whose loss was last finite were kept).
    """

    def __init__(self, history=None, epoch=None, stop_reason=None, diverged=False):
        self.history = {} if history is None else history
        self.epoch = [] if epoch is None else epoch
        self.stop_reason, self.diverged = stop_reason, diverged

    def record(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def to_dict(self):
        """A JSON-able dict (used by ``glassnet.save``)."""
        return {"history": self.history, "epoch": self.epoch, "stop_reason": self.stop_reason,
                "diverged": self.diverged}  # fmt: skip

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict`` (files from before ``diverged`` was kept read as False)."""
        history = {k: list(v) for k, v in d["history"].items()}
        return cls(history, list(d["epoch"]), d["stop_reason"], bool(d.get("diverged", False)))

    def __repr__(self):
        return (f"History(epochs={len(self.epoch)}, keys={list(self.history)}, "
                f"stop_reason={self.stop_reason!r})")  # fmt: skip


def _of(epochs):
    """"/N" when the number of epochs is known (fit), "" when epochs are run one by one."""
    return "" if epochs is None else f"/{epochs}"


def _format(logs):
    return " - ".join(f"{k} {v:.4f}" for k, v in logs.items())


class EpochLogger(Callback):
    """One line per epoch (``verbose=2``): epoch, logs and time; always printed."""

    def __init__(self, stream=None):
        self.stream = stream

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        stream = self.stream or sys.stdout
        seconds = time.perf_counter() - self._start
        line = f"Epoch {epoch + 1}{_of(self.state.epochs)} - {_format(logs)} - {seconds:.1f}s"
        print(line, file=stream, flush=True)


class ProgressBar(EpochLogger):
    """A progress bar per epoch with loss and metrics (``verbose=1``), drawn only when the
    stream is a terminal; quiet otherwise."""

    width = 30

    def on_train_begin(self, logs=None):
        stream = self.stream or sys.stdout
        self.active = hasattr(stream, "isatty") and stream.isatty()

    def on_batch_end(self, batch, logs=None):
        if self.active and (batch % 10 == 0 or batch + 1 == self.state.n_batches):
            done = (batch + 1) / self.state.n_batches
            bar = "=" * int(done * self.width)
            stream = self.stream or sys.stdout
            print(f"\rEpoch {self.state.epoch + 1}{_of(self.state.epochs)} [{bar:<{self.width}}] "
                  f"loss {logs['loss']:.4f}", end="", file=stream, flush=True)  # fmt: skip

    def on_epoch_end(self, epoch, logs=None):
        if self.active:
            print("\r", end="", file=self.stream or sys.stdout)
            super().on_epoch_end(epoch, logs)


class EarlyStopping(Callback):
    """Stop when a monitored quantity has not improved for ``patience`` epochs.

    Args:
        monitor: key of the logs ("val_loss" by default; "loss", "val_accuracy", ...).
        patience: epochs without improvement to wait.
        min_delta: an improvement smaller than this does not count.
        restore_best: at the end (stopped early or not), load the weights of the best checkpoint.
        mode: "min", "max" or "auto" (max for accuracy-like keys, min otherwise).
        checkpoint_every: take a checkpoint (compare, keep the best weights) every k epochs;
            patience then counts checkpoints. With 1 (default) every epoch is a checkpoint.
    """

    state_attributes = ("best", "best_epoch", "best_state", "wait")

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True,
                 mode="auto", checkpoint_every=1):  # fmt: skip
        self.sign = monitor_sign("EarlyStopping", monitor, mode)
        if not (_is_int(patience) and patience >= 0):
            raise ValueError(f"EarlyStopping: expected patience >= 0, got {patience!r}")
        if not (_is_int(checkpoint_every) and checkpoint_every >= 1):
            raise ValueError(f"EarlyStopping: expected checkpoint_every >= 1, "
                             f"got {checkpoint_every!r}")  # fmt: skip
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(float(min_delta))
        self.checkpoint_every = checkpoint_every
        self.restore_best = restore_best

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_state, self.wait = float("inf"), None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: expected '{self.monitor}' in the logs, "
                           f"got {sorted(logs)}; "
                           "pass validation data to monitor a val_ quantity")  # fmt: skip
        if (epoch + 1) % self.checkpoint_every:
            return  # not a checkpoint
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_state = self.state.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.state.stop_training = True
            every = self.checkpoint_every
            unit = "epochs" if every == 1 else f"checkpoints (every {every} epochs)"
            self.state.stop_reason = (
                f"early stopping: {self.monitor} did not improve for {self.patience} {unit} "
                f"(best at epoch {self.best_epoch + 1})"
            )

    def on_train_end(self, logs=None):
        if self.restore_best and self.best_state is not None:
            self.state.model.load_state_dict(self.best_state)
