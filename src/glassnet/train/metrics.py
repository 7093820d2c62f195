"""Metrics computed from network outputs and targets: 'accuracy', 'zero_one', 'mse', 'mae'.

A metric is ``metric(output, target) -> float`` on arrays, where ``output`` is what the
network produced for a batch (probabilities, logits or values) and ``target`` what ``fit``
was given. For classification the predicted class is the argmax for several outputs; for a
single output it is ``output > threshold`` (0.5 for probabilities and values, 0 for logits).
Metrics are a public boundary: they compute on host (NumPy) arrays, whichever backend made
the output.
"""

import numpy as np

from ..backend import to_host
from ..errors import ShapeError

__all__ = ["accuracy", "zero_one", "mse", "mae", "get", "NAMES", "predicted_classes"]


def predicted_classes(output, threshold=0.5):
    """Class labels (a NumPy array) from outputs: argmax over several outputs,
    ``output > threshold`` for one."""
    output = to_host(output)
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    return (output.reshape(-1) > threshold).astype(np.int64)


def _true_classes(target):
    target = to_host(target)
    if target.ndim == 2 and target.shape[1] > 1:
        return target.argmax(axis=1)  # one-hot or soft targets
    return target.reshape(-1)


def accuracy(output, target, threshold=0.5):
    """Fraction of samples whose predicted class equals the target class."""
    predicted, true = predicted_classes(output, threshold), _true_classes(target)
    if predicted.shape != true.shape:
        raise ShapeError(f"accuracy: expected output and target for the same samples, got output "
                         f"{to_host(output).shape} and target {to_host(target).shape}")  # fmt: skip
    return float((predicted == true).mean())


def zero_one(output, target, threshold=0.5):
    """Zero-one loss: the fraction of misclassified samples (1 - accuracy)."""
    return 1.0 - accuracy(output, target, threshold)


def _difference(who, output, target):
    output, target = to_host(output), to_host(target)
    if target.size != output.size:  # broadcasting (n, 1) against (n,) would compare n^2 pairs
        raise ShapeError(f"{who}: expected a target of the output's shape {output.shape}, got "
                         f"{target.shape}")  # fmt: skip
    return output - target.reshape(output.shape)


def mse(output, target, threshold=None):
    """Mean squared error over all elements."""
    d = _difference("mse", output, target)
    return float((d * d).mean())


def mae(output, target, threshold=None):
    """Mean absolute error over all elements."""
    return float(np.abs(_difference("mae", output, target)).mean())


NAMES = {"accuracy": accuracy, "zero_one": zero_one, "mse": mse, "mae": mae}


def get(metric):
    """(name, function) for a metric name or a callable ``metric(output, target)``."""
    if isinstance(metric, str):
        if metric in NAMES:
            return metric, NAMES[metric]
        raise ValueError(f"metric {metric!r} is unknown; choose one of: {', '.join(NAMES)}")
    if callable(metric):
        def host_metric(out, y, threshold=None):
            return float(metric(to_host(out), to_host(y)))

        return getattr(metric, "__name__", "metric"), host_metric
    raise TypeError(f"metric: expected a name or a callable, got {metric!r}")
