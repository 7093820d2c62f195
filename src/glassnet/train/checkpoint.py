"""Checkpoints: all a training run needs to go on exactly where it stopped, in one file.

``save_checkpoint(trainer, path)`` writes one npz file, atomically and without pickle, as
``glassnet.save`` does. Its arrays are the model's weights (``model.<name>``), the
optimizer's state arrays (``optimizer.<key>``) and the arrays inside callback states; its
JSON entry holds the rest:

    format "glassnet-checkpoint", version, the model's description (as glassnet.save),
    optimizer: its class and scalar state (step count, lr, the bold driver's previous loss,
        LM's mu and stall flag, ...: everything ``state_dict`` returns)
    trainer: epoch, global_step, stop_training, stop_reason, diverged, history,
        active_samples (SelectiveDelta's subset)
    generators: the state of the trainer's Generator (shuffling, augmentation) and of every
        Generator a module holds (dropout masks, noise layers), by module name
    callbacks: the class and ``state_dict()`` of each callback that has state (early
        stopping's best weights and patience count, schedules' base lr, weight noise's
        Generator, ...), in order

A Trainer built alike (same architecture, optimizer class, callbacks) then takes it back
with ``trainer.load_checkpoint(path)``; ``fit(..., resume_from=path)`` does that and trains
on to ``epochs`` in total. A run resumed from the checkpoint of epoch k gives bit-identical
weights and history to the run that was not interrupted. A checkpoint taken between the
steps of an epoch restores all the state too, but the next ``run_epoch`` starts a new epoch.
"""

import numbers
import os
from pathlib import Path

import numpy as np

from ..backend import to_host
from ..errors import CheckpointError, FileFormatError
from ..io._files import read_npz_bounded, write_npz_atomic
from ..io.save import describe
from .callbacks import Callback, History, monitor_sign

__all__ = ["save_checkpoint", "ModelCheckpoint", "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 1
_FORMAT = "glassnet-checkpoint"


# -- state trees <-> JSON + arrays ------------------------------------------------------------


def pack(value, arrays, key):
    """``value`` as JSON-able data; its arrays go into ``arrays`` under names from ``key``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):  # NumPy scalars included; a 0-d array is not one
        return float(value)
    if isinstance(value, np.random.Generator):
        return {"__generator__": pack(value.bit_generator.state, arrays, key)}
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # a NumPy or device array
        arrays[key] = to_host(value)
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): pack(v, arrays, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [pack(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    raise TypeError(
        f"save_checkpoint: cannot store a {type(value).__name__} (at {key}) in a checkpoint; "
        "a state_dict holds numbers, strings, arrays, Generators, lists and dicts"
    )


def unpack(data, arrays):
    """The inverse of ``pack`` (a Generator comes back as a new Generator in that state)."""
    if isinstance(data, dict):
        if set(data) == {"__array__"}:
            if data["__array__"] not in arrays:
                raise FileFormatError(
                    f"load_checkpoint: the array {data['__array__']!r} is missing"
                )
            return arrays[data["__array__"]]
        if set(data) == {"__generator__"}:
            state = unpack(data["__generator__"], arrays)
            try:
                bit_generator = getattr(np.random, state["bit_generator"])()
                bit_generator.state = state
            except (AttributeError, KeyError, TypeError, ValueError) as error:
                raise FileFormatError(
                    f"load_checkpoint: a random generator's state is malformed ({error})"
                ) from None
            return np.random.Generator(bit_generator)
        return {k: unpack(v, arrays) for k, v in data.items()}
    if isinstance(data, list):
        return [unpack(v, arrays) for v in data]
    return data


def assign(owner, name, value):
    """Set ``owner.name`` to ``value``; an existing Generator takes the saved state in place
    (it may be shared, e.g. one Generator seeding several layers)."""
    current = getattr(owner, name, None)
    if isinstance(current, np.random.Generator) and isinstance(value, np.random.Generator):
        current.bit_generator.state = value.bit_generator.state
    else:
        setattr(owner, name, value)


def module_generators(model):
    """{"<module name>.<attribute>": Generator} for every Generator a module holds."""
    found = {}
    for name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{name or '(model)'}.{attribute}"] = (module, attribute)
    return found


def stateful(callbacks):
    """The callbacks whose state a checkpoint keeps (those with ``state_attributes``)."""
    return [cb for cb in callbacks if getattr(cb, "state_attributes", ())]


# -- writing ---------------------------------------------------------------------------------


def save_checkpoint(trainer, path):
    """Write everything ``trainer`` needs to go on exactly from here to ``path`` (one npz file,
    atomically, no pickle; see the module docstring for what is in it).

    Args:
        trainer: a ``glassnet.train.Trainer``. path: the file (".npz" is customary).
    """
    if not all(
        hasattr(trainer, a) for a in ("model", "optimizer", "history", "global_step", "rng")
    ):
        raise TypeError(
            f"save_checkpoint: expected a glassnet.train.Trainer, got {type(trainer).__name__}"
        )
    arrays = {f"model.{name}": to_host(value) for name, value in trainer.model.state_dict().items()}
    opt = trainer.optimizer
    meta = {
        "format": _FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": describe(trainer.model),
        "optimizer": {
            "class": type(opt).__name__,
            "state": pack(opt.state_dict(), arrays, "optimizer"),
        },
        "trainer": {
            "epoch": trainer.epoch,
            "global_step": trainer.global_step,
            "stop_training": bool(trainer.stop_training),
            "stop_reason": trainer.stop_reason,
            "diverged": bool(trainer.diverged),
            "history": trainer.history.to_dict(),
            "active_samples": pack(trainer.active_samples, arrays, "trainer.active_samples"),
        },
        "generators": {
            "trainer": pack(trainer.rng, arrays, "generators.trainer"),
            "modules": {
                name: pack(getattr(m, a), arrays, f"generators.{name}")
                for name, (m, a) in module_generators(trainer.model).items()
            },
        },
        "callbacks": [
            {"class": type(cb).__name__, "state": pack(cb.state_dict(), arrays, f"callbacks.{i}")}
            for i, cb in enumerate(stateful(trainer.callbacks))
        ],
    }
    write_npz_atomic(path, arrays, meta=meta, who="save_checkpoint")


# -- reading ---------------------------------------------------------------------------------


def read_checkpoint(path):
    """(meta, arrays) of a checkpoint file, its format and version checked."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_checkpoint: expected the path of a checkpoint file, got {path!r}")
    meta, arrays = read_npz_bounded(path, "load_checkpoint", kind="glassnet checkpoint")
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        hint = "; it is a model file: load it with glassnet.load" if found == "glassnet" else ""
        raise FileFormatError(
            f"load_checkpoint: expected a glassnet checkpoint, got format {found!r} in {path}{hint}"
        )
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FileFormatError(
            f"load_checkpoint: expected a positive integer version, got {version!r} in {path}"
        )
    if version > CHECKPOINT_VERSION:
        raise FileFormatError(
            f"load_checkpoint: expected checkpoint version <= {CHECKPOINT_VERSION}, got "
            f"{version} in {path}; it was written by a newer glassnet"
        )
    return meta, arrays


def _first_difference(a, b, where="model"):
    """A path to the first place where two descriptions differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where}: the checkpoint has {a!r}, this trainer {b!r}"


def restore(trainer, path):
    """Load the checkpoint in ``path`` into ``trainer``; returns the saved callback states (for
    ``restore_callbacks``, after the next ``on_train_begin``, which would reset them)."""
    meta, arrays = read_checkpoint(path)
    try:
        _check_fits(trainer, meta, path)
        model_arrays = {k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")}
        trainer.model.load_state_dict(model_arrays)
        trainer.optimizer.load_state_dict(unpack(meta["optimizer"]["state"], arrays))
        state = meta["trainer"]
        trainer.epoch, trainer.global_step = int(state["epoch"]), int(state["global_step"])
        trainer.stop_training, trainer.stop_reason = (
            bool(state["stop_training"]),
            state["stop_reason"],
        )
        trainer.diverged = bool(state["diverged"])
        trainer.history = History.from_dict(state["history"])
        active = unpack(state["active_samples"], arrays)
        trainer.active_samples = None if active is None else np.asarray(active, np.int64)
        assign(trainer, "rng", unpack(meta["generators"]["trainer"], arrays))
        for name, (module, attribute) in module_generators(trainer.model).items():
            assign(module, attribute, unpack(meta["generators"]["modules"][name], arrays))
        pending = [unpack(entry["state"], arrays) for entry in meta["callbacks"]]
    except (KeyError, TypeError, AttributeError) as error:
        detail = error.args[0] if error.args else type(error).__name__
        raise FileFormatError(
            f"load_checkpoint: the checkpoint {path} is malformed: {detail!r}"
        ) from None
    return pending


def _check_fits(trainer, meta, path):
    """Raise a CheckpointError naming what differs between the checkpoint and the trainer."""
    ours = describe(trainer.model)
    if meta["model"] != ours:
        raise CheckpointError(
            f"load_checkpoint: {path} was written for another architecture: "
            f"{_first_difference(meta['model'], ours)}"
        )
    name = type(trainer.optimizer).__name__
    if meta["optimizer"]["class"] != name:
        raise CheckpointError(
            f"load_checkpoint: {path} holds the state of a {meta['optimizer']['class']} "
            f"optimizer, this trainer has a {name}"
        )
    saved = [entry["class"] for entry in meta["callbacks"]]
    ours = [type(cb).__name__ for cb in stateful(trainer.callbacks)]
    if saved != ours:
        raise CheckpointError(
            f"load_checkpoint: {path} holds the state of the callbacks {saved}, "
            f"this trainer has {ours} (callbacks with state, in order)"
        )
    saved, ours = sorted(meta["generators"]["modules"]), sorted(module_generators(trainer.model))
    if saved != ours:
        raise CheckpointError(
            f"load_checkpoint: {path} holds the random generators of {saved}, this model has {ours}"
        )


def restore_callbacks(trainer, states):
    """Give each stateful callback its saved state."""
    for cb, state in zip(stateful(trainer.callbacks), states):
        cb.load_state_dict(state)


# -- the callback -----------------------------------------------------------------------------


class ModelCheckpoint(Callback):
    """Write a checkpoint (``save_checkpoint``) during training, every ``every`` epochs.

    Args:
        path: the file; "{epoch}" and log keys in it are filled in (``"run-{epoch:03d}.npz"``,
            ``"best-{val_loss:.3f}.npz"``), otherwise each checkpoint replaces the last.
        every: write after every k-th epoch. monitor: the log key ``save_best_only`` watches.
        save_best_only: write only when ``monitor`` improved on the best so far.
        mode: "min", "max" or "auto" (max for accuracy-like keys), as for EarlyStopping.
    It runs after the other callbacks' ``on_epoch_end``, so that their state for the epoch is
    in the file; resuming from it continues exactly (``fit(..., resume_from=path)``).
    """

    runs_last = True

    def __init__(self, path, every=1, monitor="val_loss", save_best_only=False, mode="auto"):
        if not isinstance(path, str) and not hasattr(path, "__fspath__"):
            raise TypeError(f"ModelCheckpoint: expected a file path, got {path!r}")
        if (
            isinstance(every, (bool, np.bool_))
            or not isinstance(every, numbers.Integral)
            or every < 1
        ):
            raise ValueError(
                f"ModelCheckpoint: expected every to be a positive integer, got {every!r}"
            )
        if not isinstance(save_best_only, (bool, np.bool_)):
            raise TypeError(
                f"ModelCheckpoint: expected save_best_only True or False, got {save_best_only!r}"
            )
        folder = Path(str(path)).parent
        if "{" not in str(folder) and not folder.is_dir():
            raise FileNotFoundError(f"ModelCheckpoint: expected a path in an existing folder, "
                                    f"got {path} (no folder {folder})")  # fmt: skip
        self.path, self.every, self.monitor = str(path), int(every), monitor
        self.save_best_only, self.sign = (
            bool(save_best_only),
            monitor_sign("ModelCheckpoint", monitor, mode),
        )
        self.best, self.written = None, []
        self.state_attributes = ("best",) if self.save_best_only else ()  # else nothing to resume

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        if self.save_best_only:
            if self.monitor not in logs:
                raise KeyError(
                    f"ModelCheckpoint: expected '{self.monitor}' in the logs, got {sorted(logs)}; "
                    "pass validation data to monitor a val_ quantity"
                )
            value = self.sign * logs[self.monitor]
            if self.best is not None and not value < self.best:
                return
            self.best = value
        try:
            path = self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in the path {self.path!r} ({error!r}); "
                f"it may use {{epoch}} and {sorted(logs)}"
            ) from None
        save_checkpoint(self.state, path)
        self.written.append(path)
