"""Metrics computed from network outputs and targets: 'accuracy', 'zero_one', 'mean_iou', 'mse',
'mae'.

A metric is ``metric(output, target) -> float`` on arrays, where ``output`` is what the
network produced for a batch (probabilities, logits or values) and ``target`` what ``fit``
was given. For classification the predicted class is the argmax for several outputs; for a
single output it is ``output > threshold`` (0.5 for probabilities and values, 0 for logits).
Outputs (n, C, d1, ...) classify every position (every pixel of an (n, C, H, W) segmentation
map), as cross-entropy takes them: the class axis is 1, the targets are labels (n, d1, ...) or
one-hot/soft targets (n, C, d1, ...), and 'accuracy' is then the fraction of positions
classified correctly (pixel accuracy).
Metrics are a public boundary: they compute on host (NumPy) arrays, whichever backend made
the output.

``fit`` logs the training value of a metric as the sample-weighted mean of its values on the
epoch's batches. For accuracy, zero_one and the errors that is the value on the whole epoch;
mean_iou is a ratio of counts over all positions, so its batch mean differs from the mean IoU of
the epoch. ``evaluate`` (and the "val_" metrics of ``fit``) compute every metric on the whole
set at once, whatever their ``batch_size``.
"""

import numpy as np

from ..backend import to_host
from ..errors import ShapeError

__all__ = ["NAMES", "accuracy", "class_iou", "get", "mae", "mean_iou", "mse", "predicted_classes",
           "zero_one"]  # fmt: skip


def predicted_classes(output, threshold=0.5):
    """Class labels (a NumPy array) from outputs: argmax over several outputs,
    ``output > threshold`` for one. Outputs (n, C, d1, ...) give one label per position,
    (n, d1, ...): the argmax over axis 1, or the threshold of the single channel if C is 1."""
    output = to_host(output)
    if output.ndim >= 3:
        if output.shape[1] > 1:
            return output.argmax(axis=1)
        return (output[:, 0] > threshold).astype(np.int64)
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    return (output.reshape(-1) > threshold).astype(np.int64)


def _true_classes(target):
    target = to_host(target)
    if target.ndim == 2 and target.shape[1] > 1:
        return target.argmax(axis=1)  # one-hot or soft targets
    return target.reshape(-1)


def _class_pair(who, output, target, threshold):
    """(predicted, true) class arrays of one shape: (n,) per sample, (n, d1, ...) per position."""
    output, target = to_host(output), to_host(target)
    predicted = predicted_classes(output, threshold)
    if output.ndim < 3:
        true = _true_classes(target)
        if predicted.shape != true.shape:
            raise ShapeError(f"{who}: expected output and target for the same samples, got "
                             f"output {output.shape} and target {target.shape}")  # fmt: skip
        return predicted, true
    if target.shape == output.shape:  # one-hot or soft targets per position
        return predicted, (target.argmax(axis=1) if output.shape[1] > 1 else target[:, 0])
    if target.shape == predicted.shape:  # one label per position
        return predicted, target
    raise ShapeError(f"{who}: expected labels of shape {predicted.shape} or targets of shape "
                     f"{output.shape} for output of shape {output.shape} (classes on axis 1), "
                     f"got {target.shape}")  # fmt: skip


def accuracy(output, target, threshold=0.5):
    """Fraction of samples whose predicted class equals the target class; for outputs
    (n, C, d1, ...) the fraction of positions (pixel accuracy)."""
    predicted, true = _class_pair("accuracy", output, target, threshold)
    return float((predicted == true).mean())


def zero_one(output, target, threshold=0.5):
    """Zero-one loss: the fraction of misclassified samples (1 - accuracy)."""
    return 1.0 - accuracy(output, target, threshold)


def class_iou(output, target, threshold=0.5):
    """Intersection over union (the Jaccard index) of each class, a NumPy array of C values.

        IoU_k = |P_k & T_k| / |P_k | T_k| = TP_k / (TP_k + FP_k + FN_k)

    with P_k the samples (or positions) predicted as class k and T_k those whose target is k,
    counted over all samples of the batch together (not per image). C is the number of outputs
    on axis 1 (2 for a single output, thresholded). A class that appears in neither the
    prediction nor the target has no IoU: its entry is NaN.

    Raises:
        ShapeError: target and output do not describe the same samples (or positions).
        ValueError: a target label is not an integer in 0..C-1, or there are no samples.
    """
    return _class_iou("class_iou", output, target, threshold)


def mean_iou(output, target, threshold=0.5):
    """Mean intersection over union over the classes (``class_iou``), the usual score of a
    segmentation: classes absent from both the prediction and the target are left out of the
    mean (there is nothing to get right or wrong about them), so a batch without class k is
    scored on the other classes alone; a class in only one of them counts with IoU 0.
    Background (class 0) counts as a class."""
    return float(np.nanmean(_class_iou("mean_iou", output, target, threshold)))


def _class_iou(who, output, target, threshold):
    output = to_host(output)
    predicted, true = _class_pair(who, output, target, threshold)
    n_classes = output.shape[1] if output.ndim >= 2 and output.shape[1] > 1 else 2
    if true.size == 0:
        raise ValueError(f"{who}: expected at least one sample, got none")
    true = true.reshape(-1)
    bad = (true < 0) | (true >= n_classes) | (true != np.round(true))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{who}: expected target labels in 0..{n_classes - 1} for {n_classes} "
                         f"classes, got {true[i]:g} at flat index {i}")  # fmt: skip
    pairs = true.astype(np.int64) * n_classes + predicted.reshape(-1)
    confusion = np.bincount(pairs, minlength=n_classes**2).reshape(n_classes, n_classes)
    intersection = np.diag(confusion).astype(np.float64)  # rows: target, columns: predicted
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
    iou = np.full(n_classes, np.nan)
    present = union > 0
    iou[present] = intersection[present] / union[present]
    return iou


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


NAMES = {"accuracy": accuracy, "zero_one": zero_one, "mean_iou": mean_iou, "mse": mse,
         "mae": mae}  # fmt: skip


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
