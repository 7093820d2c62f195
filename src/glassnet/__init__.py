"""glassnet: artificial neural networks with nothing hidden, on their own autodiff.

The library's index page: everything a user needs is importable from here.
"""

from . import autodiff, backend, errors, nn, ops, optim, train
from . import models  # registers its modules (e.g. ShortcutMLP) so that load() can rebuild them
from .autodiff import Tensor, from_numpy, no_grad, tensor
from .io import load, load_history, save
from .train import History, Trainer, evaluate, fit, save_checkpoint

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_numpy", "no_grad", "fit", "evaluate", "History", "Trainer",
    "save_checkpoint", "save", "load",
    "load_history", "autodiff", "backend", "errors", "nn", "ops", "optim", "train", "io", "models",
    "data", "viz", "cli", "__version__",
]  # fmt: skip

_ON_FIRST_USE = ("data", "viz", "cli")  # plain arrays; plots (matplotlib inside); the commands


def __getattr__(name):
    """Import the subpackages of ``_ON_FIRST_USE`` when first asked for (PEP 562), so that
    ``glassnet.viz.learning_curves`` works after ``import glassnet`` alone."""
    if name in _ON_FIRST_USE:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
