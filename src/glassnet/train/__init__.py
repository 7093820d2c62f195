"""Training: the ``fit`` loop, ``evaluate``, callbacks, metrics and the History."""

from . import metrics
from .adversarial import fgsm, input_gradient
from .callbacks import Callback, EarlyStopping, EpochLogger, History, ProgressBar, TrainingState
from .fit import evaluate, fit

__all__ = ["fit", "evaluate", "metrics", "Callback", "EarlyStopping", "EpochLogger", "History",
           "ProgressBar", "TrainingState", "input_gradient", "fgsm"]  # fmt: skip
