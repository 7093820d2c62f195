"""Optimizers, each updating parameters in place; ``get`` builds one from its name."""

from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "get", "NAMES"]

NAMES = {
    "sgd": lambda params, lr: SGD(params, lr=0.01 if lr is None else lr),
    "momentum": lambda params, lr: SGD(params, lr=0.01 if lr is None else lr, momentum=0.9),
    "nesterov": lambda params, lr: SGD(params, lr=0.01 if lr is None else lr, momentum=0.9, nesterov=True),
    "adam": lambda params, lr: Adam(params, lr=1e-3 if lr is None else lr),
}


def get(optimizer, params, lr=None):
    """An optimizer from a name ('sgd', 'momentum' (mu = 0.9), 'nesterov' (mu = 0.9), 'adam')
    with ``lr`` (None: its default), or an Optimizer passed through unchanged."""
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            optimizer.lr = lr
        return optimizer
    if isinstance(optimizer, str) and optimizer in NAMES:
        return NAMES[optimizer](params, lr)
    raise ValueError(f"optimizer {optimizer!r} is unknown; choose one of: {', '.join(NAMES)}")
