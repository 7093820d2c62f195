"""Training: the Trainer (step by step, epoch by epoch, checkpoints and exact resume) and
``fit`` over it, ``evaluate``, callbacks, metrics and the History; stopping criteria,
learning-rate schedules, weight penalties and noise, selective delta propagation, and
adversarial examples."""

from . import metrics, regularization, schedules, selective, stopping
from .adversarial import fgsm, input_gradient
from .checkpoint import ModelCheckpoint, save_checkpoint
from .callbacks import Callback, EarlyStopping, EpochLogger, History, ProgressBar, TrainingState
from .fit import evaluate, fit
from .regularization import WeightNoise, WeightPenalty
from .schedules import CosineWithWarmup, ExponentialDecay, ReduceOnPlateau, StepDecay
from .selective import SelectiveDelta
from .tbptt import detach_state, truncated_bptt
from .stopping import ErrorBelow, MaxEpochs, RelativeImprovementBelow, WeightChangeBelow
from .trainer import Trainer

__all__ = [
    "Trainer", "fit", "evaluate", "save_checkpoint", "ModelCheckpoint", "metrics", "Callback",
    "EarlyStopping", "EpochLogger", "History",
    "ProgressBar", "TrainingState", "input_gradient", "fgsm",
    "stopping", "MaxEpochs", "ErrorBelow", "RelativeImprovementBelow", "WeightChangeBelow",
    "schedules", "StepDecay", "ExponentialDecay", "CosineWithWarmup", "ReduceOnPlateau",
    "regularization", "WeightPenalty", "WeightNoise", "selective", "SelectiveDelta",
    "truncated_bptt", "detach_state",
]  # fmt: skip
