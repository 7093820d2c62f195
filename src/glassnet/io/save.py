"""Saving and loading models: one npz file with the arrays and a JSON description.

The file holds the ``state_dict`` arrays under their dotted names and one entry,
``__glassnet__``, a JSON text: the format version, the architecture (class names from the
registry of known classes and constructor arguments from ``config()``) and, optionally, the
training history. Loading never executes code from the file: no pickle
(``allow_pickle=False``) and classes only from the registry. Saving is atomic: a temporary
file in the same folder, flushed to disk, then ``os.replace``.
"""

import io as _io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..backend import to_host
from ..errors import FileFormatError
from ..nn.module import REGISTRY, Module, Sequential
from ..train.callbacks import History

__all__ = ["save", "load", "load_history", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_META = "__glassnet__"


def describe(module):
    """The architecture of ``module`` as JSON-able data."""
    name = type(module).__name__
    if REGISTRY.get(name) is not type(module):
        raise TypeError(f"save: expected modules of registered classes, got {name}; "
                        "decorate the class with glassnet.nn.register")  # fmt: skip
    if isinstance(module, Sequential):
        return {"class": name, "layers": [describe(layer) for layer in module.layers]}
    return {"class": name, "config": module.config()}


def build(description):
    """Rebuild a module (with fresh weights) from ``describe``'s output."""
    if not isinstance(description, dict):
        raise FileFormatError(f"load: expected a module description (a JSON object), got {description!r}")
    cls = REGISTRY.get(description.get("class"))
    if cls is None:
        raise FileFormatError(f"load: expected a known module class, got {description.get('class')!r}")
    if cls is Sequential or issubclass(cls, Sequential):
        return cls(*[build(d) for d in description["layers"]])
    return cls(**description.get("config", {}))


def save(model, path, history=None):
    """Write ``model`` (and optionally its training ``history``) to one file, atomically.

    Args:
        model: a Module of registered classes. path: the file (".npz" is customary).
        history: a History (or None).
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a glassnet Module, got {type(model).__name__}")
    path = Path(path)
    meta = {
        "format": "glassnet",
        "version": FORMAT_VERSION,
        "model": describe(model),
        "history": history.to_dict() if history is not None else None,
    }
    arrays = {name: to_host(value) for name, value in model.state_dict().items()}  # device -> file
    arrays[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise FileFormatError(f"load: expected a glassnet model file (an npz archive), got a plain array file {path}")
        with archive:
            if _META not in archive.files:
                raise FileFormatError(f"load: expected a glassnet model file, got {path} without a '{_META}' entry")
            meta = json.loads(archive[_META].tobytes().decode("utf-8"))
            arrays = {k: archive[k] for k in archive.files if k != _META}
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, _io.UnsupportedOperation) as error:
        raise FileFormatError(f"load: expected a glassnet model file (npz), got an unreadable or truncated file {path} ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != "glassnet":
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FileFormatError(f"load: expected a glassnet model file, got format {found!r} in {path}")
    version = meta.get("version")
    if not isinstance(version, int):
        raise FileFormatError(f"load: expected an integer format version, got {version!r} in {path}")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"load: expected file format version <= {FORMAT_VERSION}, got {version} in {path}; "
            "it was written by a newer glassnet, upgrade to read it"
        )
    return meta, arrays


def _malformed(path, error):
    detail = error.args[0] if error.args else type(error).__name__
    return FileFormatError(f"load: the description in {path} is malformed: {detail}")


def load(path):
    """The model saved in ``path``, rebuilt from the registry of known classes with its weights."""
    meta, arrays = _read(path)
    try:
        model = build(meta["model"])
    except FileFormatError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise _malformed(path, error) from None
    try:
        model.load_state_dict(arrays)  # copies the host arrays onto the active device
    except (KeyError, ValueError) as error:
        detail = error.args[0] if error.args else error
        raise FileFormatError(f"load: the arrays in {path} do not fit the architecture it describes: {detail}") from None
    return model


def load_history(path):
    """The History saved with the model in ``path``, or None if none was saved."""
    meta, _ = _read(path)
    if meta.get("history") is None:
        return None
    try:
        return History.from_dict(meta["history"])
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise _malformed(path, error) from None
