"""glassnet: artificial neural networks with nothing hidden, on their own autodiff.

The library's index page: everything a user needs is importable from here.
"""

from . import autodiff, backend, errors, nn, ops, optim, train
from . import models  # registers its modules (e.g. ShortcutMLP) so that load() can rebuild them
from .autodiff import Tensor, from_numpy, no_grad, tensor
from .io import load, load_history, save
from .train import History, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_numpy", "no_grad", "fit", "evaluate", "History", "save", "load", "load_history",
    "autodiff", "backend", "errors", "nn", "ops", "optim", "train", "models", "data", "__version__",
]  # fmt: skip


def __getattr__(name):
    if name == "data":  # imported on first use: plain arrays, no engine needed
        import importlib

        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
