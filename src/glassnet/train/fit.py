"""``fit`` and ``evaluate``: a Trainer built, run and returned as its History."""

from ..nn import loss as losses
from ..nn.module import input_dtype
from . import metrics as metric_table
from .checks import as_features, as_targets, first_layer_check, probe_loss
from .trainer import Trainer, check_int, evaluate_checked

__all__ = ["fit", "evaluate"]


def fit(
    model,
    X,
    y,
    *,
    loss,
    optimizer="adam",
    lr=None,
    epochs=10,
    batch_size=32,
    shuffle=True,
    validation_data=None,
    validation_split=0.0,
    callbacks=(),
    metrics=(),
    verbose=1,
    seed=None,
    augment=None,
    resume_from=None,
):
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
        metrics: names ('accuracy', 'zero_one', 'mean_iou', 'mse', 'mae') or callables.
        verbose: 0 silent, 1 a progress bar in a terminal, 2 one line per epoch.
        seed: int or Generator for the shuffling (and for ``augment``).
        augment: a callable augment(X_batch, y_batch, rng) -> (X_batch, y_batch) applied to every
            training batch, e.g. ``glassnet.data.AdditiveNoise(0.1)`` or ``Mixup(0.2, n_classes)``.
        resume_from: a checkpoint written by ``glassnet.save_checkpoint`` (or a ModelCheckpoint)
            of a run set up alike: training goes on from it until ``epochs`` in total, exactly
            as the uninterrupted run would have.
    Returns:
        History: ``.history`` maps "loss", "val_loss", each metric and "val_" + metric to
        per-epoch lists; ``.stop_reason`` is None when all epochs ran.
        ``.diverged`` is True when the loss or the weights became NaN or inf (the weights
        whose loss was last finite are kept, and a RuntimeWarning says so).
    Raises:
        ValueError, ShapeError, TypeError: bad data or settings, before any training.
        CheckpointError: ``resume_from`` does not fit this model, optimizer or callbacks.
    """
    trainer = Trainer(
        model,
        loss,
        optimizer,
        lr=lr,
        metrics=metrics,
        callbacks=callbacks,
        augment=augment,
        seed=seed,
        _who="fit",
    )
    if resume_from is not None:
        trainer.load_checkpoint(resume_from)
    return trainer.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        validation_data=validation_data,
        validation_split=validation_split,
        verbose=verbose,
    )


def evaluate(model, X, y, *, loss, metrics=(), batch_size=1024):
    """Loss and metrics of ``model`` on (X, y), in eval mode and without a graph.

    Args:
        model: a Module. X, y: as for ``fit``. loss: a loss name or callable.
        metrics: 'accuracy', 'zero_one', 'mean_iou', 'mse', 'mae' or callables.
        batch_size: samples per forward pass (only memory depends on it).
    Returns:
        {"loss": float, "<metric>": float, ...}, keyed like the History. The loss is the
        mean over samples of a "mean" loss (the total for 'sse').
    """
    loss_fn = losses.get(loss)
    check_int("evaluate", "batch_size", batch_size)
    X = as_features("evaluate", X, input_dtype(model, X))
    y = as_targets(
        "evaluate", y, len(X), model.dtype, getattr(loss_fn, "name", None) == "cross_entropy"
    )
    first_layer_check("evaluate", model, X)
    loss_fn = losses.bind(loss_fn, model)
    probe_loss("evaluate", model, loss_fn, X, y)
    return evaluate_checked(
        model, X, y, loss_fn, [metric_table.get(m) for m in metrics], batch_size
    )
