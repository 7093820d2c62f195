"""``fit`` and ``evaluate``: the training loop written out."""

import math
import warnings

import numpy as np

from .. import optim
from ..autodiff import Tensor, no_grad
from ..backend import as_rng
from ..nn import loss as losses
from . import metrics as metric_table
from .callbacks import EpochLogger, History, ProgressBar, TrainingState
from .checks import as_features, as_targets, first_layer_check, probe_loss

__all__ = ["fit", "evaluate"]


def _prepare(who, model, X, y, loss_fn):
    """(X, y, the loss bound to the model), checked against each other on a probe."""
    X = as_features(who, X, model.dtype)
    integer_labels = getattr(loss_fn, "name", None) == "cross_entropy"
    y = as_targets(who, y, len(X), model.dtype, integer_labels)
    first_layer_check(who, model, X)
    loss_fn = losses.bind(loss_fn, model)
    probe_loss(who, model, loss_fn, X, y)
    return X, y, loss_fn


def _threshold(output, loss_fn):
    """Decision threshold of a single output: 0 for logits, 0.5 for probabilities and values."""
    return getattr(loss_fn, "threshold", 0.5)


def _batches(n, batch_size):
    size = n if batch_size is None else batch_size
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _check_positive_int(who, name, value, allow_none=False, allow_zero=False):
    if value is None and allow_none:
        return
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < (0 if allow_zero else 1):
        raise ValueError(f"{who}: expected {name} to be a {'non-negative' if allow_zero else 'positive'} "
                         f"integer{' or None' if allow_none else ''}, got {value!r}")  # fmt: skip


def fit(model, X, y, *, loss, optimizer="adam", lr=None, epochs=10, batch_size=32, shuffle=True,
        validation_data=None, validation_split=0.0, callbacks=(), metrics=(), verbose=1,
        seed=None, augment=None):  # fmt: skip
    """Train ``model`` on (X, y) by backpropagation; returns a ``History``.

    Each step: zero_grad, forward, loss, backward, optimizer step. ``batch_size=1`` is online
    learning, ``batch_size=None`` full-batch learning, anything else mini-batches, all through
    the same vectorised code. An optimizer with ``needs_closure`` gets a closure that does
    zero_grad/forward/backward and returns the loss, and fit does not do them itself.

    Args:
        model: a Module. X: (samples, features), converted to the model's dtype.
        y: targets: integer labels (samples,) or one-hot (samples, classes) for
            "cross_entropy"; values (samples, outputs), or (samples,) for one output, otherwise.
        loss: 'sse', 'mse', 'l1', 'binary_cross_entropy', 'cross_entropy', or a callable
            loss(output, target) -> scalar Tensor.
        optimizer: a name ('sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta',
            'adam', 'adamw', and the full-batch 'rprop+', 'rprop-', 'irprop+', 'irprop-', 'bfgs',
            'lbfgs', 'scg', 'newton', 'lm'; see glassnet.optim.get) or an Optimizer. lr: its
            learning rate (None: the optimizer's default).
        epochs: passes over the data. shuffle: reshuffle the samples each epoch.
        validation_data: (X_val, y_val), evaluated after every epoch; or validation_split: the
            last fraction of (X, y) held out (before shuffling).
        callbacks: Callback objects (e.g. EarlyStopping, a diagnostics Recorder).
        metrics: names ('accuracy', 'zero_one', 'mse', 'mae') or callables(output, target).
        verbose: 0 silent, 1 a progress bar in a terminal, 2 one line per epoch.
        seed: int or Generator for the shuffling (and for ``augment``).
        augment: a callable augment(X_batch, y_batch, rng) -> (X_batch, y_batch) applied to every
            training batch, e.g. ``glassnet.data.AdditiveNoise(0.1)`` or ``Mixup(0.2, n_classes)``.
    Returns:
        History: ``.history`` maps "loss", "val_loss", each metric and "val_" + metric to
        per-epoch lists; ``.stop_reason`` is None when all epochs ran.
    Raises:
        ValueError, ShapeError, TypeError: bad data or settings, before any training.
    """
    loss_fn = losses.get(loss)
    _check_positive_int("fit", "epochs", epochs, allow_zero=True)
    _check_positive_int("fit", "batch_size", batch_size, allow_none=True)
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0 and np.isfinite(lr)):
        raise ValueError(f"fit: expected lr > 0, got {lr!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: expected validation_split in [0, 1), got {validation_split!r}")
    X, y, validation_data, loss_fn = _training_data(model, X, y, validation_data, validation_split, loss_fn)
    opt = optim.get(optimizer, model.parameters(), lr)
    _check_optimizer(opt, loss, loss_fn, batch_size, len(X))
    callbacks = list(callbacks) + ([ProgressBar()] if verbose == 1 else [EpochLogger()] if verbose == 2 else [])
    if augment is not None and not callable(augment):
        raise TypeError(f"fit: expected augment to be a callable (X, y, rng) -> (X, y), got {augment!r}")
    rng = as_rng(seed)
    run = _Run(model, opt, loss_fn, X, y, batch_size, [metric_table.get(m) for m in metrics], callbacks, epochs)
    run.augment, run.rng = augment, rng
    hooks, state = run.hooks, run.state
    for hook in hooks["on_train_begin"]:
        hook({})
    model.train()
    for epoch in range(epochs):
        state.epoch = epoch
        for hook in hooks["on_epoch_begin"]:
            hook(epoch, {})
        active = state.active_samples  # None: all samples (see SelectiveDelta)
        if active is None:
            order = rng.permutation(len(X)) if shuffle else None
        else:
            order = active[rng.permutation(len(active))] if shuffle else active
        logs = run.epoch(epoch, order)
        if logs is None:  # diverged: the weights are back to the last finite ones
            warnings.warn(f"fit: {state.stop_reason}; training stopped and the last finite weights "
                          "were kept (try a smaller learning rate)", RuntimeWarning, stacklevel=2)  # fmt: skip
            break
        if validation_data is not None:
            scores = _evaluate_checked(model, *validation_data, loss_fn, metrics)
            logs.update((f"val_{k}", v) for k, v in scores.items())
            model.train()
        state.history.record(epoch, logs)
        for hook in hooks["on_epoch_end"]:
            hook(epoch, logs)
        if state.stop_training:
            if state.stop_reason is None:
                state.stop_reason = f"stopped by a callback after epoch {epoch + 1}"
            break
    state.history.stop_reason = state.stop_reason
    for hook in hooks["on_train_end"]:
        hook({})
    return state.history


def _training_data(model, X, y, validation_data, validation_split, loss_fn):
    """(X, y, validation_data, bound loss) checked and converted; a validation_split is cut off
    the end."""
    X, y, loss_fn = _prepare("fit", model, X, y, loss_fn)
    if validation_data is None and validation_split > 0:
        n_val = int(round(len(X) * validation_split))
        if not 0 < n_val < len(X):
            raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation samples for {len(X)} samples")
        X, y, validation_data = X[:-n_val], y[:-n_val], (X[-n_val:], y[-n_val:])
    if validation_data is not None:
        validation_data = _prepare("fit (validation_data)", model, *validation_data, loss_fn)[:2]
    return X, y, validation_data, loss_fn


def _check_optimizer(opt, loss, loss_fn, batch_size, n):
    """Refuse what an optimizer is not defined for: Levenberg-Marquardt fits residuals, so it
    takes squared-error losses only; a full-batch method takes the whole training set."""
    if getattr(opt, "needs_residuals", False) and getattr(loss_fn, "name", None) not in ("sse", "mse"):
        raise ValueError(f"fit: optimizer 'lm' ({type(opt).__name__}) minimises a sum of squared residuals; "
                         f"expected loss 'sse' or 'mse', got {loss!r}")  # fmt: skip
    if getattr(opt, "full_batch", False) and batch_size is not None and batch_size < n:
        raise ValueError(
            f"fit: {type(opt).__name__} is a full-batch method (defined on the whole training set), "
            f"got batch_size={batch_size} for {n} samples; pass batch_size=None"
        )


class _Run:
    """The state of one ``fit`` call and its epoch: batches, steps, running loss and metrics."""

    def __init__(self, model, opt, loss_fn, X, y, batch_size, metric_fns, callbacks, epochs):
        self.model, self.opt, self.loss_fn, self.X, self.y = model, opt, loss_fn, X, y
        self.params, self.metric_fns = opt.params, metric_fns
        self.batch_size, self.spans = batch_size, _batches(len(X), batch_size)
        self.augment = self.rng = None
        self.summed = getattr(loss_fn, "reduction", "mean") == "sum"
        self.state = TrainingState(model, opt, History(), epochs, len(self.spans), X, y)
        names = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin",
                 "on_batch_end")  # fmt: skip
        self.hooks = {name: [getattr(cb, name) for cb in callbacks if hasattr(cb, name)] for name in names}
        for cb in callbacks:
            cb.state = self.state

    def forward_backward(self, xb, yb):
        """zero_grad, forward, loss, backward; returns (loss tensor, output)."""
        self.opt.zero_grad()
        out = self.model(xb)
        value = self.loss_fn(out, yb)
        value.backward()
        return value, out

    def closure(self, xb, yb, kept):
        """The closure handed to an optimizer with ``needs_closure``: zero_grad, forward,
        backward, return the loss; the latest loss and output are left in ``kept``."""

        def closure():
            kept["value"], kept["out"] = self.forward_backward(xb, yb)
            return kept["value"]

        return self.residual_closure(xb, yb, kept) if getattr(self.opt, "needs_residuals", False) else closure

    def residual_closure(self, xb, yb, kept):
        """The closure for an optimizer with ``needs_residuals`` (Levenberg-Marquardt): forward,
        return the residuals output - target (samples, outputs). ``kept`` gets the loss and output
        of the first call, at the weights the step starts from (what fit reports for the epoch)."""

        def closure():
            out = self.model(xb)
            target = yb.reshape(out.shape) if yb.shape != out.shape else yb  # (n,) for one output
            if "value" not in kept:
                kept["value"], kept["out"] = self.loss_fn(out.detach(), yb), out
            return out - target

        return closure


    def epoch(self, epoch, order):
        """One pass over the batches of ``order`` (indices into X, or None for all in order);
        returns the epoch's logs, or None if the loss diverged."""
        spans = self.spans if order is None or len(order) == len(self.X) else _batches(len(order), self.batch_size)
        return self._epoch(epoch, order, spans)

    def _epoch(self, epoch, order, spans):
        """One pass over the batches; returns the epoch's logs, or None if the loss diverged."""
        opt, metric_fns, X, y, augment = self.opt, self.metric_fns, self.X, self.y, self.augment
        n = len(X) if order is None else len(order)
        safe_weights = [p.data.copy() for p in self.params]  # kept in case the loss diverges
        total_loss, totals = 0.0, [0.0] * len(metric_fns)
        begin, end, with_closure = self.hooks["on_batch_begin"], self.hooks["on_batch_end"], opt.needs_closure
        for batch, (start, stop) in enumerate(spans):
            if order is None:
                xb, yb = X[start:stop], y[start:stop]
            else:  # take: a third of X[index]'s time on small batches
                index = order[start:stop]
                xb, yb = X.take(index, axis=0), y.take(index, axis=0)
            if augment is not None:
                xb, yb = augment(xb, yb, self.rng)
            xb = Tensor(xb)
            for hook in begin:
                hook(batch, {})
            if with_closure:
                kept = {}
                opt.step(self.closure(xb, yb, kept))
                value, out = kept["value"], kept["out"]
            else:
                value, out = self.forward_backward(xb, yb)
            batch_loss = float(value.data)
            if not math.isfinite(batch_loss):
                return self.diverged(safe_weights, f"the loss became {batch_loss} at epoch {epoch + 1}, batch {batch + 1}")
            if not with_closure:
                opt.step()
            share = (stop - start) / n
            total_loss += batch_loss if self.summed else batch_loss * share
            if metric_fns:
                threshold = _threshold(out, self.loss_fn)
                for k, (_, fn) in enumerate(metric_fns):
                    totals[k] += fn(out.data, yb, threshold=threshold) * share
            for hook in end:
                hook(batch, {"loss": batch_loss})
        if not all(np.isfinite(p.data).all() for p in self.params):  # the last step overflowed
            return self.diverged(safe_weights, f"the weights became non-finite in epoch {epoch + 1}")
        logs = {"loss": total_loss}
        logs.update((name, total) for (name, _), total in zip(metric_fns, totals))
        return logs

    def diverged(self, safe_weights, reason):
        """Stop training on a NaN or inf loss or weights, keeping the last finite weights: the
        current ones if they are all finite (only the loss overflowed), else those of the
        epoch's start. Returns None (no logs for this epoch)."""
        if not all(np.isfinite(p.data).all() for p in self.params):
            for p, w in zip(self.params, safe_weights):
                p.data[...] = w
        self.state.stop_training, self.state.stop_reason = True, reason


def evaluate(model, X, y, *, loss, metrics=(), batch_size=1024):
    """Loss and metrics of ``model`` on (X, y), in eval mode and without a graph.

    Args:
        model: a Module. X, y: as for ``fit``. loss: a loss name or callable.
        metrics: 'accuracy', 'zero_one', 'mse', 'mae' or callables(output, target).
        batch_size: samples per forward pass (only memory depends on it).
    Returns:
        {"loss": float, "<metric>": float, ...}, keyed like the History. The loss is the
        mean over samples of a "mean" loss (the total for 'sse').
    """
    loss_fn = losses.get(loss)
    _check_positive_int("evaluate", "batch_size", batch_size)
    X, y, loss_fn = _prepare("evaluate", model, X, y, loss_fn)
    return _evaluate_checked(model, X, y, loss_fn, metrics, batch_size)


def _evaluate_checked(model, X, y, loss_fn, metrics, batch_size=1024):
    """``evaluate`` on data that has passed the checks already (fit's validation data)."""
    metric_fns = [metric_table.get(m) for m in metrics]
    n, total = len(X), 0.0
    outs = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for start, stop in _batches(n, batch_size):
                out = model(Tensor(X[start:stop]))
                value = float(loss_fn(out, y[start:stop]).data)
                share = 1.0 if getattr(loss_fn, "reduction", "mean") == "sum" else (stop - start) / n
                total += value * share
                outs.append((out.data, _threshold(out, loss_fn)))
    finally:
        model.train(was_training)
    scores = {"loss": total}
    if metric_fns:
        output = np.concatenate([o for o, _ in outs])
        for name, fn in metric_fns:
            scores[name] = fn(output, y, threshold=outs[0][1])
    return scores
