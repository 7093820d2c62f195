"""Saving and loading models: one npz file with the arrays and a JSON description.

The file holds the ``state_dict`` arrays under their dotted names and one entry,
``__glassnet__``, a JSON text: the format version, the architecture (class names from the
registry of known classes and constructor arguments from ``config()``), optionally the
training history and optionally ``info`` (what else the caller records, e.g. the CLI's
dataset). Loading never executes code from the file: no pickle (``allow_pickle=False``) and
classes only from the registry. It is bounded: the file's declared sizes are checked against
its size, and the architecture against the arrays, before anything is allocated (see
``_files.py``). Saving is atomic: a temporary file in the same folder, flushed to disk, then
``os.replace``.
"""

import json

import numpy as np

from ..backend import to_host
from ..errors import FileFormatError
from ..nn.init import allocation_budget, reserve
from ..nn.module import REGISTRY, Module, Sequential
from ..nn.normalization import BatchNorm
from ..train.callbacks import History
from ._files import META_KEY, NpzReader, check_format, write_npz_atomic

__all__ = ["save", "load", "load_history", "load_info", "FORMAT_VERSION"]

FORMAT_VERSION = 1
MAX_DEPTH = 100  # modules nested inside modules: far beyond any real network


def describe(module):
    """The architecture of ``module`` as JSON-able data."""
    name = type(module).__name__
    if REGISTRY.get(name) is not type(module):
        raise TypeError(f"save: expected modules of registered classes, got {name}; "
                        "decorate the class with glassnet.nn.register")  # fmt: skip
    if isinstance(module, Sequential):
        return {"class": name, "layers": [describe(layer) for layer in module.layers]}
    out = {"class": name, "config": module.config()}
    if module.module_arguments:  # constructor arguments that are modules (Residual, Concat)
        out["modules"] = {arg: _describe_argument(getattr(module, arg))
                          for arg in module.module_arguments}  # fmt: skip
    return out


def _describe_argument(value):
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    return None if value is None else describe(value)


def build(description, where="", *, _depth=0):
    """Rebuild a module (with fresh weights) from ``describe``'s output; ``where`` ends each
    error message (" in PATH").

    Run inside ``nn.init.allocation_budget`` (as ``load`` does), it allocates no more than the
    budget allows; descriptions nested more than MAX_DEPTH deep are refused.
    """
    if _depth >= MAX_DEPTH:
        raise FileFormatError(f"load: expected modules nested at most {MAX_DEPTH} deep, got a "
                              f"description nested deeper{where}")  # fmt: skip
    if not isinstance(description, dict):
        raise FileFormatError(f"load: expected a module description (a JSON object), got "
                              f"{_short(description)}{where}")  # fmt: skip
    cls = REGISTRY.get(description.get("class"))
    if cls is None:
        raise FileFormatError(f"load: expected a known module class, got "
                              f"{_short(description.get('class'))}{where}")  # fmt: skip
    if cls is Sequential or issubclass(cls, Sequential):
        return cls(*[build(d, where, _depth=_depth + 1) for d in description["layers"]])
    config = description.get("config", {})
    if issubclass(cls, BatchNorm) and _is_count(config.get("num_features")):
        reserve((4, config["num_features"]))  # gamma, beta and two buffers, not via nn.init
    if cls.module_arguments:
        modules = description.get("modules")
        if not isinstance(modules, dict) or set(modules) != set(cls.module_arguments):
            raise FileFormatError(f"load: expected the sub-modules {list(cls.module_arguments)} of "
                                  f"{cls.__name__}, got {_short(modules)}{where}")  # fmt: skip

        def rebuilt(value):
            if isinstance(value, list):
                return [build(d, where, _depth=_depth + 1) for d in value]
            return None if value is None else build(value, where, _depth=_depth + 1)

        return cls.from_config(config, {k: rebuilt(v) for k, v in modules.items()})
    return cls(**config)


def _is_count(n):
    return isinstance(n, int) and not isinstance(n, bool) and n > 0


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def save(model, path, history=None, *, info=None):
    """Write ``model`` (and optionally its training ``history``) to one file, atomically.

    Args:
        model: a Module of registered classes. path: the file (".npz" is customary).
        history: a History (or None).
        info: a dict of JSON values recorded with the model (``load_info`` reads it back),
            e.g. the dataset it was trained on; None records nothing.

    The file gets the mode a new file gets under the umask, or keeps the mode of the file it
    replaces; temporary files a killed save left next to ``path`` are removed.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a glassnet Module, got {type(model).__name__}")
    meta = {
        "format": "glassnet",
        "version": FORMAT_VERSION,
        "model": describe(model),
        "history": history.to_dict() if history is not None else None,
    }
    if info is not None:
        try:
            if not isinstance(info, dict):
                raise TypeError(f"got {type(info).__name__}")
            json.dumps(info)
        except (TypeError, ValueError) as error:
            raise TypeError(f"save: expected info as a dict of JSON values, {error}") from None
        meta["info"] = info
    arrays = {name: to_host(value) for name, value in model.state_dict().items()}  # device -> file
    write_npz_atomic(path, arrays, meta=meta, meta_key=META_KEY, who="save")


def _open(path):
    """An NpzReader on ``path`` whose JSON entry is a glassnet description we can read."""
    reader = NpzReader(path, "load", meta_key=META_KEY)
    try:
        check_format(reader.meta, reader.path, "load", name="glassnet", version=FORMAT_VERSION)
    except BaseException:
        reader.close()
        raise
    return reader


def _malformed(path, error):
    detail = error.args[0] if error.args else type(error).__name__
    return FileFormatError(f"load: the description in {path} is malformed: {detail}")


def load(path):
    """The model saved in ``path``, rebuilt from the registry of known classes with its weights.

    Raises FileNotFoundError for a missing file and FileFormatError for anything wrong with
    it: it is not a glassnet file, is truncated, declares more than it holds, has a newer
    format version, or its arrays do not fit the architecture it describes.
    """
    with _open(path) as reader:
        model = _build(reader)
        # the shapes against the architecture first, with zero-stride stand-ins: no data read
        stand_ins = {name: np.broadcast_to(np.zeros((), dtype), shape)
                     for name, (shape, dtype) in reader.headers.items()}  # fmt: skip
        _load_state(model, stand_ins, reader.path)
        _load_state(model, reader.read_all(), reader.path)  # copies onto the active device
    return model


def _build(reader):
    """The model of the reader's description, allocating at most what the file's arrays hold."""

    def too_many(shape, declared, held):
        if declared == np.prod(shape):
            what = f"a layer with {declared} weights (shape {shape})"
        else:
            what = f"layers with at least {declared} weights (the last of shape {shape})"
        return FileFormatError(f"load: the description in {reader.path} declares {what} but the "
                               f"file holds {held}")  # fmt: skip

    try:
        with allocation_budget(reader.n_elements, too_many):
            return build(reader.meta["model"], f" in {reader.path}")
    except FileFormatError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise _malformed(reader.path, error) from None


def _load_state(model, arrays, path):
    try:
        model.load_state_dict(arrays)
    except (KeyError, ValueError) as error:
        detail = error.args[0] if error.args else error
        raise FileFormatError(f"load: the arrays in {path} do not fit the architecture it "
                              f"describes: {detail}") from None  # fmt: skip


def load_history(path):
    """The History saved with the model in ``path``, or None if none was saved."""
    with _open(path) as reader:
        record = reader.meta.get("history")
    if record is None:
        return None
    try:
        return History.from_dict(record)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise _malformed(path, error) from None


def load_info(path):
    """The ``info`` dict saved with the model in ``path`` (``save(..., info=...)``), or None
    if none was saved (files written before glassnet recorded it have none)."""
    with _open(path) as reader:
        info = reader.meta.get("info")
    if info is not None and not isinstance(info, dict):
        raise FileFormatError(f"load_info: expected info as a JSON object, got "
                              f"{type(info).__name__} in {path}")  # fmt: skip
    return info
