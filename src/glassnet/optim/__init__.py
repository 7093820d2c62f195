"""Optimizers, each updating parameters in place; ``get`` builds one from its name."""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .bold_driver import BoldDriver
from .clip import clip_grad_norm, clip_grad_value
from .lbfgs import BFGS, LBFGS
from .levenberg_marquardt import LevenbergMarquardt
from .newton import Newton
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .rprop import IRpropMinus, IRpropPlus, Rprop, RpropMinus, RpropPlus
from .scg import SCG
from .sgd import SGD

__all__ = [
    "BFGS",
    "LBFGS",
    "NAMES",
    "SCG",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "BoldDriver",
    "FULL_BATCH",
    "IRpropMinus",
    "IRpropPlus",
    "LevenbergMarquardt",
    "Newton",
    "Optimizer",
    "RMSprop",
    "Rprop",
    "RpropMinus",
    "RpropPlus",
    "clip_grad_norm",
    "clip_grad_value",
    "get",
]  # fmt: skip


def _factory(cls, **fixed):
    """factory(params, lr) -> cls(params, lr=lr, **fixed), or the class's default lr for None."""
    return lambda params, lr: cls(params, **fixed) if lr is None else cls(params, lr=lr, **fixed)


NAMES = {
    "sgd": _factory(SGD),
    "momentum": _factory(SGD, momentum=0.9),
    "nesterov": _factory(SGD, momentum=0.9, nesterov=True),
    "adam": _factory(Adam),
    "adamw": _factory(AdamW),
    "adagrad": _factory(Adagrad),
    "rmsprop": _factory(RMSprop),
    "adadelta": _factory(Adadelta),
    "rprop+": _factory(RpropPlus),
    "rprop-": _factory(RpropMinus),
    "irprop+": _factory(IRpropPlus),
    "irprop-": _factory(IRpropMinus),
    "bfgs": _factory(BFGS),
    "lbfgs": _factory(LBFGS),
    "scg": lambda params, lr: SCG(params),
    "newton": _factory(Newton),
    "lm": lambda params, lr: (LevenbergMarquardt(params) if lr is None
                              else LevenbergMarquardt(params, mu=lr)),  # fmt: skip
}

# The names of the methods defined on the whole training set (their classes set full_batch).
FULL_BATCH = frozenset({"rprop+", "rprop-", "irprop+", "irprop-", "bfgs", "lbfgs", "scg", "newton",
                        "lm"})  # fmt: skip


def get(optimizer, params, lr=None):
    """An optimizer from its name, with ``lr`` (None: the optimizer's default), or an
    Optimizer passed through unchanged (``lr``, if given, is set on it).

    Names: 'sgd', 'momentum' (mu = 0.9), 'nesterov' (mu = 0.9), 'adam', 'adamw', 'adagrad',
    'rmsprop', 'adadelta', and the full-batch methods: the Rprop variants 'rprop+', 'rprop-',
    'irprop+', 'irprop-' (``lr`` is the initial step size delta_0), 'bfgs' and 'lbfgs' (``lr`` is
    the first trial step of the line search), 'scg' (no learning rate: ``lr`` is ignored),
    'newton' (``lr`` scales the Newton step) and 'lm' (Levenberg-Marquardt, squared-error losses
    only; ``lr`` is the initial damping mu).
    """
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            optimizer.lr = lr
        return optimizer
    if isinstance(optimizer, str) and optimizer in NAMES:
        return NAMES[optimizer](params, lr)
    raise ValueError(f"optimizer {optimizer!r} is unknown; choose one of: {', '.join(NAMES)}")
