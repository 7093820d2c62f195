"""The Trainer: training driven one step, one epoch or one ``fit`` at a time.

``fit`` is a thin wrapper over it; the estimators and the CLI train through ``fit``. A loop
that needs to interleave its own work with training (a playground, truncated BPTT, a GAN,
data-parallel workers) calls ``step`` and ``run_epoch`` itself::

    trainer = Trainer(model, "cross_entropy", "adam", lr=1e-3, seed=0)
    for xb, yb in batches:
        loss = trainer.step(xb, yb)        # zero_grad, forward, backward, optimizer step
    logs = trainer.run_epoch(X, y, batch_size=32)   # one pass, callbacks included
    glassnet.save_checkpoint(trainer, "run.npz")    # and later: trainer.load_checkpoint(...)

Every step keeps a copy of the weights whose loss was last seen finite: when a loss (or the
weights after an update) becomes NaN or inf, training stops and those weights come back.
"""

import math
import numbers
import warnings

import numpy as np

from .. import optim
from ..autodiff import Tensor, no_grad
from ..backend import _retain_for_training, as_rng, threads, xp
from ..nn import loss as losses
from ..nn.module import Module, input_dtype
from . import metrics as metric_table
from .callbacks import Callback, EpochLogger, History, ProgressBar, TrainingState
from .checkpoint import restore, restore_callbacks
from .checks import as_features, as_targets, check_batch, first_layer_check, probe_loss

__all__ = ["Trainer"]

_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
)


def is_int(value):
    """True for Python and NumPy integers, not bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_number(value):
    """True for Python and NumPy reals, not bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(who, name, value, *, minimum=1, allow_none=False):
    """Raise unless ``value`` is an integer >= ``minimum`` (or None where allowed)."""
    if value is None and allow_none:
        return
    if not is_int(value) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(
            f"{who}: expected {name} to be a {kind} integer{' or None' if allow_none else ''}, "
            f"got {value!r}"
        )


def batches(n, batch_size):
    """(start, stop) of each batch of ``batch_size`` (None: one batch of all n)."""
    size = n if batch_size is None else batch_size
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _check_owned(who, opt, model):
    """Refuse an optimizer that holds parameters the model does not have: it would train
    nothing that the model uses (the usual case: an optimizer built before glassnet.load)."""
    own = {id(p) for p in model.parameters()}
    foreign = sum(id(p) not in own for p in opt.params)
    if foreign:
        raise ValueError(
            f"{who}: the optimizer holds {foreign} of its {len(opt.params)} parameters that are "
            f"not this model's, so training would change nothing the model uses (was it built "
            f"for another "
            f"model, e.g. before glassnet.load?); build it from this model: "
            f"{type(opt).__name__}(model.parameters(), ...)"
        )


def _check_callbacks(who, callbacks):
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"{who}: expected callbacks as a list of Callback objects, got {callbacks!r}"
            + ("; wrap it in a list: callbacks=[...]" if isinstance(callbacks, Callback) else "")
        )
    for cb in callbacks:  # a Callback, or an object with its hooks (nn's diagnostics Recorder)
        if not isinstance(cb, Callback) and not any(
            callable(getattr(cb, name, None)) for name in _HOOKS
        ):
            raise TypeError(
                f"{who}: expected every callback to be a glassnet.train.Callback (or to have "
                f"its hooks, such as on_epoch_end), got {cb!r}"
            )
    return list(callbacks)


def _overrides(callback, name):
    """True when ``callback`` has a hook ``name`` that does something: not Callback's no-op
    (so that a callback without batch hooks costs nothing per batch)."""
    if getattr(callback, name, None) is None:
        return False
    if name in getattr(callback, "__dict__", {}):  # set on the instance
        return True
    return getattr(type(callback), name, None) is not getattr(Callback, name, None)


class Trainer(TrainingState):
    """Trains ``model`` on ``loss`` with an optimizer, one step or one epoch at a time.

    Args:
        model: a Module. loss: a loss name ('sse', 'mse', 'l1', 'binary_cross_entropy',
            'cross_entropy') or a callable loss(output, target) -> scalar Tensor; it is bound
            to the model once (a softmax or sigmoid output is trained through the fused op).
        optimizer: a name (see ``glassnet.optim.get``) or an Optimizer over this model's
            parameters. lr: its learning rate (None: the optimizer's default).
        metrics: names ('accuracy', 'zero_one', 'mean_iou', 'mse', 'mae') or callables.
        callbacks: Callback objects; ``callback.state`` is set to this trainer.
        augment: a callable augment(X_batch, y_batch, rng) -> (X_batch, y_batch) for every
            training batch. seed: int or Generator for the shuffling and ``augment``.
    Attributes:
        epoch: epochs completed (during an epoch: its 0-based index). global_step: optimizer
            steps taken. history: a History of the completed epochs. stop_training: set by a
            callback (or on divergence) to end ``fit``; stop_reason says why. diverged: True
            once a loss or the weights became NaN or inf (the last finite weights are back).
        rng: the Generator of the shuffling and the augmentation. optimizer, model, callbacks.
    """

    def __init__(
        self,
        model,
        loss,
        optimizer="adam",
        *,
        lr=None,
        metrics=(),
        callbacks=(),
        augment=None,
        seed=None,
        _who="Trainer",
    ):
        who = _who  # the name in error messages: "fit" when fit builds the trainer
        self.loss = losses.get(loss)
        if not isinstance(model, Module):
            raise TypeError(
                f"{who}: expected a glassnet Module as the model, got {type(model).__name__}"
            )
        if lr is not None and not (is_number(lr) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"{who}: expected lr > 0, got {lr!r} (None: the optimizer's default)")
        if augment is not None and not callable(augment):
            raise TypeError(
                f"{who}: expected augment to be a callable (X, y, rng) -> (X, y), got {augment!r}"
            )
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise TypeError(
                f"{who}: expected metrics as a list of names or callables, got {metrics!r}"
            )
        opt = optim.get(optimizer, model.parameters(), None if lr is None else float(lr))
        _check_owned(who, opt, model)
        super().__init__(model, opt, History(), None, 0)
        self._who = who
        self.loss_fn = losses.bind(self.loss, model)  # what each step calls
        self.metrics = [metric_table.get(m) for m in metrics]
        self.callbacks = _check_callbacks(who, callbacks)
        self.augment, self.rng = augment, as_rng(seed)
        self.global_step, self.diverged = 0, False
        self._summed = getattr(self.loss_fn, "reduction", "mean") == "sum"
        self._integer_labels = getattr(self.loss, "name", None) == "cross_entropy"
        self._probed = {}  # (X.shape[1:], y.shape[1:], y.dtype) checked -> the output's shape
        self._begun = False  # on_train_begin has run
        self._pending = None  # callback states from a checkpoint, installed after on_train_begin
        self._good = self._spare = None  # the weights whose loss was last seen finite; a spare set
        self._kept_any = False  # some weights were kept: a divergence has something to go back to
        self._borrowed = False  # _good are the optimizer's previous_weights(), not our copies
        _retain_for_training()  # freed arrays reused, not re-faulted each step (see backend)
        # a conv network runs its steps inside backend.threads (its ops split their own work):
        # decided here, as a step is too short to walk the modules each time, and per batch
        # shape after its first step (see _step)
        self._splits = model.uses_threads()
        self._threaded = {}  # batch shape -> whether its steps split any work
        self._bound_hooks = None
        self._extra = ()  # the progress display fit adds for the duration of a call

    # -- data --------------------------------------------------------------------------------
    def checked(self, who, X, y):
        """(X, y) as arrays of the model's dtype, checked against the model and the loss: the
        first layer's width, the targets' shape (on a probe forward of two samples, once per
        shape), and their values (label range, [0, 1] for binary cross-entropy, ...)."""
        X = as_features(who, X, input_dtype(self.model, X))
        y = as_targets(who, y, len(X), self.model.dtype, self._integer_labels)
        key = (X.shape[1:], y.shape[1:], y.dtype.str)
        if key in self._probed:  # shapes known to fit: the values are checked still
            check_batch(who, self.loss_fn, y, self._probed[key])
        else:
            first_layer_check(who, self.model, X)
            self._probed[key] = probe_loss(who, self.model, self.loss_fn, X, y)
        return X, y

    # -- the loop ------------------------------------------------------------------------------
    def _hook(self, name):
        """The bound hook ``name`` of every callback; a ModelCheckpoint's on_epoch_end last, so
        that the other callbacks' state for the epoch is in the file it writes."""
        if self._bound_hooks is None:
            callbacks = sorted(
                [*self.callbacks, *self._extra], key=lambda cb: getattr(cb, "runs_last", False)
            )
            for cb in callbacks:
                cb.state = self
            self._bound_hooks = {
                n: [getattr(cb, n) for cb in callbacks if _overrides(cb, n)] for n in _HOOKS
            }
        return self._bound_hooks[name]


    def _begin(self):
        if self._begun:
            return
        self._begun = True
        self.model.train()
        for hook in self._hook("on_train_begin"):
            hook({})
        if self._pending is not None:
            pending, self._pending = self._pending, None
            restore_callbacks(self, pending)

    def step(self, X_batch, y_batch):
        """One optimizer step on a batch (zero_grad, forward, loss, backward, step, with the
        batch callbacks around it); returns the batch loss as a float. A NaN or inf loss
        brings back the last finite weights, sets ``diverged`` and ``stop_training`` and is
        returned as it came."""
        X_batch, y_batch = self.checked("Trainer.step", X_batch, y_batch)
        self._begin()
        if not self.model.training:  # evaluate and predict give the mode back: train() once
            self.model.train()
        loss = self._step(X_batch, y_batch, None)[0]
        if self.diverged:
            self._warn("Trainer.step", 2)
        return loss

    def _forward_backward(self, xb, yb):
        self.optimizer.zero_grad()
        out = self.model(xb)
        value = self.loss_fn(out, yb)
        value.backward()
        return value, out

    def _step(self, xb, yb, batch):
        """(loss, output) of one step on checked arrays, batch ``batch`` of the epoch (None: a
        step on its own); the loss is NaN or inf on divergence."""
        if not (self._splits and self._threaded.get(xb.shape, True)):
            return self._one_step(xb, yb, batch)
        with threads() as inside:
            result = self._one_step(xb, yb, batch)
        if inside is not None:
            # a step none of whose ops split its work (every layer small, as LeNet-5's at
            # batch 64) runs faster on the BLAS's own threads: later steps of this shape do
            self._threaded[xb.shape] = inside.splits > 0
        return result

    def _one_step(self, xb, yb, batch):
        opt = self.optimizer
        if self.augment is not None:
            xb, yb = self.augment(xb, yb, self.rng)
        xb = Tensor(xb)
        for hook in self._hook("on_batch_begin"):
            hook(batch, {})
        if opt.needs_closure:
            kept = {}
            self._keep(pending=True)  # the weights the step starts from
            opt.step(self._closure(xb, yb, kept))
            value, out, first = kept["value"], kept["out"], kept["first"]
            loss = float(value.data)
            if math.isfinite(first):
                self._good, self._spare = self._spare, self._good  # the start weights were finite
        else:
            value, out = self._forward_backward(xb, yb)
            loss = float(value.data)
            if math.isfinite(loss):
                if opt.keeps_previous:  # the weights stay intact in the optimizer: no copy
                    opt.step(keep_previous=True)
                    self._good, self._spare, self._kept_any = opt.previous_weights(), None, True
                    self._borrowed = True
                else:
                    self._keep()
                    opt.step()
        if not math.isfinite(loss):
            where = (
                f"step {self.global_step + 1}"
                if batch is None
                else f"epoch {self.epoch + 1}, batch {batch + 1}"
            )
            self._diverged(f"the loss became {loss} at {where}")
            return loss, out
        self.global_step += 1
        for hook in self._hook("on_batch_end"):
            hook(batch, {"loss": loss})
        return loss, out

    def _closure(self, xb, yb, kept):
        """The closure handed to an optimizer with ``needs_closure``: zero_grad, forward,
        backward, return the loss (for ``needs_residuals``: forward, return output - target).
        ``kept`` gets the latest loss and output, and "first": the loss at the start weights."""
        if getattr(self.optimizer, "needs_residuals", False):

            def residuals():
                out = self.model(xb)
                target = (
                    yb.reshape(out.shape) if yb.shape != out.shape else yb
                )  # (n,) for one output
                if "value" not in kept:  # the loss at the weights the step starts from
                    kept["value"], kept["out"] = self.loss_fn(out.detach(), yb), out
                    kept["first"] = float(kept["value"].data)
                return out - target

            return residuals

        def closure():
            kept["value"], kept["out"] = self._forward_backward(xb, yb)
            kept.setdefault("first", float(kept["value"].data))
            return kept["value"]

        return closure

    def _keep(self, pending=False):
        """Copy the weights into the spare buffers (``pending``: for a closure step, whose
        loss is known only afterwards) or into the good ones."""
        params = self.optimizer.params
        if self._good is None or self._borrowed:  # not the optimizer's arrays: our own
            self._borrowed = False
            self._good, self._spare = ([xp.empty_like(p.data) for p in params] for _ in range(2))
        try:
            for k, p in zip(self._spare if pending else self._good, params):
                xp.copyto(k, p.data, casting="no")
        except (ValueError, TypeError):  # a parameter changed shape or dtype: buffers anew
            self._good = None
            return self._keep(pending)
        self._kept_any = True


    def _warn(self, who, stacklevel):
        warnings.warn(
            f"{who}: training stopped: {self.stop_reason}; the last weights with a finite loss "
            "were "
            "kept (try a smaller learning rate)",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )

    def _diverged(self, reason):
        """Stop on a NaN or inf: bring back the weights whose loss was last seen finite."""
        if self._kept_any and self._good is not None:
            for p, w in zip(self.optimizer.params, self._good):
                p.data[...] = w
        self.stop_training, self.stop_reason, self.diverged = True, reason, True

    def run_epoch(self, X, y, batch_size=32, shuffle=True, *, validation_data=None):
        """One pass over (X, y) in batches (``batch_size=None``: one full batch), with the epoch
        callbacks; the samples are reshuffled first if ``shuffle``. Returns the epoch's logs
        ({"loss", metrics..., "val_loss", "val_<metric>"...}), which also go into ``history``.
        On divergence it returns the logs so far with the NaN or inf loss, records nothing,
        and sets ``diverged``."""
        check_int("Trainer.run_epoch", "batch_size", batch_size, allow_none=True)
        _check_bool("Trainer.run_epoch", "shuffle", shuffle)
        X, y = self.checked("Trainer.run_epoch", X, y)
        if validation_data is not None:
            validation_data = self.checked(
                "Trainer.run_epoch (validation_data)", *_pair("Trainer.run_epoch", validation_data)
            )
        logs = self._run_epoch(X, y, batch_size, shuffle, validation_data)
        if self.diverged:
            self._warn("Trainer.run_epoch", 2)
        return logs

    def _run_epoch(self, X, y, batch_size, shuffle, validation_data):
        self._begin()
        self.X, self.y = X, y
        epoch = self.epoch
        self._check_full_batch("Trainer.run_epoch", batch_size, len(X))
        for hook in self._hook("on_epoch_begin"):
            hook(epoch, {})
        active = self.active_samples  # None: all samples (see SelectiveDelta)
        if active is None:
            order = self.rng.permutation(len(X)) if shuffle else None
        else:
            order = active[self.rng.permutation(len(active))] if shuffle else active
        n = len(X) if order is None else len(order)
        spans = batches(n, batch_size)
        self.n_batches = len(spans)
        self.model.train()
        total, totals, metric_fns = 0.0, [0.0] * len(self.metrics), self.metrics
        threshold = getattr(self.loss_fn, "threshold", 0.5)
        for batch, (start, stop) in enumerate(spans):
            if order is None:
                xb, yb = X[start:stop], y[start:stop]
            else:  # take: a third of X[index]'s time on small batches
                index = order[start:stop]
                xb, yb = X.take(index, axis=0), y.take(index, axis=0)
            loss, out = self._step(xb, yb, batch)
            if self.diverged:
                return {"loss": loss}
            share = (stop - start) / n
            total += loss if self._summed else loss * share
            for k, (_, fn) in enumerate(metric_fns):
                totals[k] += fn(out.data, yb, threshold=threshold) * share
        if not all(
            xp.isfinite(p.data).all() for p in self.optimizer.params
        ):  # the last update overflowed
            self._diverged(f"the weights became NaN or inf in epoch {epoch + 1}")
            return {"loss": math.nan}
        logs = {"loss": total}
        logs.update((name, value) for (name, _), value in zip(metric_fns, totals))
        if validation_data is not None:
            scores = self._evaluate(*validation_data)
            logs.update((f"val_{k}", v) for k, v in scores.items())
            self.model.train()
        self.history.record(epoch, logs)
        self.epoch = epoch + 1
        for hook in self._hook("on_epoch_end"):
            hook(epoch, logs)
        return logs

    def _check_full_batch(self, who, batch_size, n):
        opt = self.optimizer
        if getattr(opt, "full_batch", False) and batch_size is not None and batch_size < n:
            raise ValueError(
                f"{who}: {type(opt).__name__} is a full-batch method (defined on the whole "
                "training set), "
                f"got batch_size={batch_size} for {n} samples; pass batch_size=None"
            )

    def evaluate(self, X, y, batch_size=1024):
        """Loss and metrics on (X, y) in eval mode without a graph: {"loss": ..., metric: ...}."""
        check_int("Trainer.evaluate", "batch_size", batch_size)
        return self._evaluate(*self.checked("Trainer.evaluate", X, y), batch_size)

    def _evaluate(self, X, y, batch_size=1024):
        return evaluate_checked(self.model, X, y, self.loss_fn, self.metrics, batch_size)

    def fit(
        self,
        X,
        y,
        *,
        epochs=10,
        batch_size=32,
        shuffle=True,
        validation_data=None,
        validation_split=0.0,
        verbose=1,
    ):
        """Train until ``epoch == epochs`` (in total: a resumed trainer goes on from where it
        was) or a callback stops it; returns the History. Arguments as for ``glassnet.fit``."""
        check_int("fit", "epochs", epochs, minimum=0)
        check_int("fit", "batch_size", batch_size, allow_none=True)
        _check_bool("fit", "shuffle", shuffle)
        if not is_int(verbose) or verbose not in (0, 1, 2):
            raise ValueError(
                "fit: expected verbose 0 (silent), 1 (progress bar) or 2 (a line per epoch), "
                f"got {verbose!r}"
            )
        if not is_number(validation_split) or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: expected validation_split in [0, 1), got {validation_split!r}")
        if validation_data is not None and validation_split:
            raise ValueError("fit: expected validation_data or validation_split, got both")
        X, y = self.checked("fit", X, y)
        if validation_data is None and validation_split > 0:
            n_val = int(round(len(X) * validation_split))
            if not 0 < n_val < len(X):
                raise ValueError(
                    f"fit: validation_split={validation_split} leaves no training or no "
                    f"validation samples for {len(X)} samples"
                )
            X, y, validation_data = X[:-n_val], y[:-n_val], (X[-n_val:], y[-n_val:])
        elif validation_data is not None:
            validation_data = self.checked("fit (validation_data)", *_pair("fit", validation_data))
        self._check_full_batch("fit", batch_size, len(X))
        _check_residual_loss(self.optimizer, self.loss)
        self._extra = [ProgressBar()] if verbose == 1 else [EpochLogger()] if verbose == 2 else []
        self._bound_hooks, self.epochs = None, epochs
        self.stop_training, self.stop_reason, self.diverged = False, None, False
        self.X, self.y, self.n_batches = X, y, len(batches(len(X), batch_size))
        try:
            self._begin()
            while self.epoch < epochs and not self.stop_training:
                self._run_epoch(X, y, batch_size, shuffle, validation_data)
                if self.stop_training and self.stop_reason is None:
                    self.stop_reason = f"stopped by a callback after epoch {self.epoch}"
            self.history.stop_reason = self.stop_reason
            self.history.diverged = self.diverged
            for hook in self._hook("on_train_end"):
                hook({})
        finally:
            self._begun, self._extra, self._bound_hooks = False, (), None
        if self.diverged:  # at the caller's line: fit's, or this method's caller
            self._warn(self._who, 3 if self._who == "fit" else 2)
        return self.history

    def load_checkpoint(self, path):
        """Restore a checkpoint written by ``glassnet.save_checkpoint`` into this trainer (built
        like the one that wrote it): weights, optimizer state, random generators, callback
        states, history and position. A mismatch (architecture, optimizer, callbacks) raises
        a CheckpointError that names it."""
        pending = restore(self, path)
        self._good, self._kept_any = None, False  # weights kept before the restore are stale
        if self._begun:
            restore_callbacks(self, pending)
        else:
            self._pending = pending
        return self

    def __repr__(self):
        return (
            f"Trainer({type(self.model).__name__}, loss={getattr(self.loss, 'name', self.loss)!r}, "
            f"optimizer={type(self.optimizer).__name__}, epoch={self.epoch}, "
            f"global_step={self.global_step})"
        )


def evaluate_checked(model, X, y, loss_fn, metric_fns, batch_size=1024):
    """Loss and metrics of ``model`` on checked (X, y) with a bound loss, in eval mode and
    without a graph (``glassnet.evaluate`` after its checks, and the validation data)."""
    n, total, outs = len(X), 0.0, []
    summed = getattr(loss_fn, "reduction", "mean") == "sum"
    threshold = getattr(loss_fn, "threshold", 0.5)
    was_training = model.training
    model.eval()
    try:
        with no_grad(), model.work_threads():
            for start, stop in batches(n, batch_size):
                out = model(Tensor(X[start:stop]))
                value = float(loss_fn(out, y[start:stop]).data)
                total += value if summed else value * (stop - start) / n
                outs.append(out.data)
    finally:
        model.train(was_training)
    scores = {"loss": total}
    if metric_fns:
        output = xp.concatenate(outs)
        for name, fn in metric_fns:
            scores[name] = fn(output, y, threshold=threshold)
    return scores


def _check_bool(who, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: expected {name} to be True or False, got {value!r}")


def _pair(who, validation_data):
    if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
        raise TypeError(
            f"{who}: expected validation_data as a pair (X_val, y_val), got "
            f"{type(validation_data).__name__}"
        )
    return validation_data


def _check_residual_loss(opt, loss):
    """Levenberg-Marquardt fits residuals, so it takes squared-error losses only."""
    if getattr(opt, "needs_residuals", False) and getattr(loss, "name", None) not in ("sse", "mse"):
        raise ValueError(
            f"fit: optimizer 'lm' ({type(opt).__name__}) minimises a sum of squared residuals; "
            f"expected loss 'sse' or 'mse', got {getattr(loss, 'name', loss)!r}"
        )
