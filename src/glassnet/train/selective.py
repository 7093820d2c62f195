"""Selective delta propagation (deck 000): spend the epochs on the samples still learned badly."""

import numpy as np

from .callbacks import Callback

__all__ = ["SelectiveDelta"]


class SelectiveDelta(Callback):
    """After an epoch on all samples, mark the samples whose error is above ``threshold`` and
    train only on them for the next ``epochs`` epochs; then use all samples again for one
    epoch, mark anew, and so on. Samples already learned well stop costing backward passes.

    The error of a sample is max_k |a_k - y_k| between the network's output (``predict``) and
    its target (one-hot for integer labels with several outputs), i.e. the size of the output
    delta for the matching loss. If no sample or every sample is marked, training goes on with
    all samples.

    Args:
        threshold: error above which a sample is marked. epochs: selective epochs per cycle.
    Attributes:
        marked_counts: how many samples were marked at each marking.
    Reference: the lectures' practical considerations (deck 000), "selective delta
    propagation".
    """

    state_attributes = ("remaining", "marked_counts")

    def __init__(self, threshold, epochs=5):
        if not threshold >= 0:
            raise ValueError(f"SelectiveDelta: expected threshold >= 0, got {threshold!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"SelectiveDelta: expected a positive number of epochs, "
                             f"got {epochs!r}")  # fmt: skip
        self.threshold, self.epochs = float(threshold), epochs

    def on_train_begin(self, logs=None):
        self.remaining, self.marked_counts = 0, []

    def sample_errors(self):
        """max_k |a_k - y_k| for every training sample."""
        X, y = self.state.X, self.state.y
        output = self.state.model.predict(X)
        output = output.reshape(len(X), -1)
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and output.shape[1] > 1:
            target = np.eye(output.shape[1], dtype=output.dtype)[y]
        else:
            target = y.reshape(len(y), -1).astype(output.dtype)
        return np.abs(output - target).max(axis=1)

    def on_epoch_end(self, epoch, logs=None):
        state = self.state
        if self.remaining:
            self.remaining -= 1
            if not self.remaining:
                state.active_samples = None  # the next epoch sees every sample again
            return
        marked = np.flatnonzero(self.sample_errors() > self.threshold)
        self.marked_counts.append(len(marked))
        if 0 < len(marked) < len(state.X):
            state.active_samples, self.remaining = marked, self.epochs

    def on_train_end(self, logs=None):
        self.state.active_samples = None
