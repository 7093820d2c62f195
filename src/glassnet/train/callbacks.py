"""Callbacks: hooks into the training loop (progress display, early stopping).

``fit`` sets ``callback.state`` (a ``TrainingState``) before ``on_train_begin``. A callback
stops training by setting ``state.stop_training = True`` and, for the record, a short
``state.stop_reason``. Every hook is optional; ``logs`` is a dict of floats.
"""

import sys
import time

__all__ = ["Callback", "TrainingState", "History", "ProgressBar", "EpochLogger", "EarlyStopping"]


class TrainingState:
    """What callbacks may read and change while ``fit`` runs."""

    def __init__(self, model, optimizer, history, epochs, n_batches, X=None, y=None):
        self.model, self.optimizer, self.history = model, optimizer, history
        self.epochs, self.n_batches, self.X, self.y = epochs, n_batches, X, y
        self.epoch, self.stop_training, self.stop_reason = 0, False, None
        self.active_samples = None  # an index array restricts the next epochs to those samples


class Callback:
    """Base class; override the hooks you need."""

    state = None

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


class History:
    """Per-epoch records of a training run, as Keras keeps them.

    Attributes:
        history: {"loss": [...], "val_loss": [...], "<metric>": [...], "val_<metric>": [...]}.
        epoch: the epoch numbers recorded (0-based).
        stop_reason: None when all epochs ran, else a short text saying why training stopped.
    """

    def __init__(self, history=None, epoch=None, stop_reason=None):
        self.history = {} if history is None else history
        self.epoch = [] if epoch is None else epoch
        self.stop_reason = stop_reason

    def record(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def to_dict(self):
        """A JSON-able dict (used by ``glassnet.save``)."""
        return {"history": self.history, "epoch": self.epoch, "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict``."""
        return cls({k: list(v) for k, v in d["history"].items()}, list(d["epoch"]), d["stop_reason"])

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)}, stop_reason={self.stop_reason!r})"


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
        print(f"Epoch {epoch + 1}/{self.state.epochs} - {_format(logs)} - {seconds:.1f}s", file=stream, flush=True)


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
            print(f"\rEpoch {self.state.epoch + 1}/{self.state.epochs} [{bar:<{self.width}}] "
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

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True, mode="auto",
                 checkpoint_every=1):  # fmt: skip
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: expected mode 'auto', 'min' or 'max', got {mode!r}")
        if not (isinstance(patience, int) and patience >= 0):
            raise ValueError(f"EarlyStopping: expected patience >= 0, got {patience!r}")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise ValueError(f"EarlyStopping: expected checkpoint_every >= 1, got {checkpoint_every!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.checkpoint_every = checkpoint_every
        self.restore_best = restore_best
        if mode == "auto":
            mode = "max" if monitor.removeprefix("val_") == "accuracy" else "min"
        self.sign = 1.0 if mode == "min" else -1.0

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_state, self.wait = float("inf"), None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: expected '{self.monitor}' in the logs, got {sorted(logs)}; "
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
            unit = "epochs" if self.checkpoint_every == 1 else f"checkpoints (every {self.checkpoint_every} epochs)"
            self.state.stop_reason = (
                f"early stopping: {self.monitor} did not improve for {self.patience} {unit} "
                f"(best at epoch {self.best_epoch + 1})"
            )

    def on_train_end(self, logs=None):
        if self.restore_best and self.best_state is not None:
            self.state.model.load_state_dict(self.best_state)
