"""Loss functions E(output, target), each one fused op whose backward is the output delta.

Each states dE/da once (``derivative``, see ops/_base.py): backward is grad_out * dE/da and
jvp sum(dE/da * da).

Targets are constants (no gradient flows into them). ``reduction`` is "mean" or "sum";
what "mean" divides by is stated per loss and matches PyTorch where PyTorch has the loss.
The logit versions never form exp of a large number: finite values and gradients for any
finite logits. Reference: Bishop, Pattern Recognition and Machine Learning (2006), 4.3.2 and
5.2 (delta = a - y for matching output units and losses); the lectures' deck 003.
"""

import numbers

from ..autodiff import Tensor
from ..backend import xp
from ..errors import ShapeError
from ._base import Loss
from ._util import constant, ratio
from .shape import reshape, transpose

__all__ = [
    "sse", "mse", "l1", "binary_cross_entropy", "sigmoid_binary_cross_entropy",
    "cross_entropy", "softmax_cross_entropy",
]  # fmt: skip

_LOG_FLOOR = -100.0  # log p is clamped here for p -> 0, as torch's BCELoss does
_TINY = 3.7e-44  # ~ exp(-100): representable (subnormal) in float32


def _divisor(reduction, n):
    return n if reduction == "mean" else 1


class SumOfSquares(Loss):
    """E = 1/2 * sum (a - y)^2 (the lectures' quadratic loss), divided by the number of samples
    for "mean".   delta = (a - y) / divisor."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, a, y, reduction):
        self.diff, self.n = a - y, _divisor(reduction, a.shape[0] if a.ndim else 1)
        return 0.5 * (self.diff * self.diff).sum() / self.n

    def derivative(self, scale):
        return self.diff * (scale / self.n)


class MeanSquaredError(Loss):
    """E = sum (a - y)^2, divided by the number of elements for "mean" (torch's MSELoss).
    delta = 2 (a - y) / divisor."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, a, y, reduction):
        self.diff, self.n = a - y, _divisor(reduction, a.size)
        return (self.diff * self.diff).sum() / self.n

    def derivative(self, scale):
        return self.diff * (2.0 * scale / self.n)


class AbsoluteError(Loss):
    """E = sum |a - y|, divided by the number of elements for "mean" (torch's L1Loss).
    delta = sign(a - y) / divisor."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, a, y, reduction):
        diff = a - y
        self.sign, self.n = xp.sign(diff), _divisor(reduction, a.size)
        return xp.abs(diff).sum() / self.n

    def derivative(self, scale):
        return self.sign * (scale / self.n)


class BinaryCrossEntropy(Loss):
    """E = -sum [y ln a + (1 - y) ln(1 - a)] on probabilities a (each ln clamped at -100, as
    torch), divided by the number of elements for "mean".
    grad_a = (a - y) / max(a (1 - a), 1e-12) / divisor (torch's form)."""

    def forward(self, a, y, reduction):
        self.a, self.y, self.n = a, y, _divisor(reduction, a.size)
        log_a = xp.maximum(xp.log(xp.maximum(a, _TINY)), _LOG_FLOOR)
        log_1ma = xp.maximum(xp.log(xp.maximum(1.0 - a, _TINY)), _LOG_FLOOR)
        return -(y * log_a + (1.0 - y) * log_1ma).sum() / self.n

    def derivative(self, scale):
        a = self.a
        return (a - self.y) / xp.maximum(a * (1.0 - a), 1e-12) * (scale / self.n)


class SigmoidBinaryCrossEntropy(Loss):
    """Binary cross-entropy on logits x, fused with the sigmoid a = 1 / (1 + exp(-x)):

        E = sum [ln(1 + exp(x)) - x y]    (equal to the BCE of a; ln(1 + exp(x)) is evaluated
                                          as logaddexp(0, x) = max(x, 0) + ln(1 + exp(-|x|)),
                                          which never overflows)
        delta = (a - y) / divisor,  divisor = number of elements for "mean" (torch's
        BCEWithLogitsLoss).
    """

    def forward(self, x, y, reduction):
        self.x, self.y, self.n = x, y, _divisor(reduction, x.size)
        e = xp.logaddexp(constant(0, x.dtype), x)
        e -= x * y
        return e.sum() / self.n

    def derivative(self, scale):
        half = constant(0.5, self.x.dtype)
        a = xp.tanh(self.x * half)
        a *= half
        a += half  # a = (1 + tanh(x / 2)) / 2 = sigmoid(x), in the array made here
        a -= self.y
        a *= ratio(scale, self.n, a.dtype)
        return a


class CrossEntropy(Loss):
    """Categorical cross-entropy on probabilities a: E = -sum_i sum_k y_ik ln a_ik (ln clamped
    at -100), divided by the number of samples for "mean".   grad_a = -y / a / divisor (0
    where the clamp holds)."""

    def forward(self, a, y, reduction):
        self.a, self.y, self.n = a, y, _divisor(reduction, a.shape[0])
        return -(y * xp.maximum(xp.log(xp.maximum(a, _TINY)), _LOG_FLOOR)).sum() / self.n

    def derivative(self, scale):
        a = self.a
        safe = a > _TINY
        grad = xp.where(safe, -self.y / xp.where(safe, a, 1.0), 0.0).astype(a.dtype)
        return grad * (scale / self.n)


class SoftmaxCrossEntropy(Loss):
    """Categorical cross-entropy on logits x, fused with the softmax a = softmax(x):

        E = -sum_i sum_k y_ik log_softmax(x)_ik     (labels: y is one-hot of the label)
        delta = (a - y) / divisor,  divisor = number of samples for "mean" (torch's
        CrossEntropyLoss).
    With labels and a boolean ``keep`` (n,), the rows where it is False (ignore_index) add
    nothing, their delta is 0, and "mean" divides by the number of kept rows (at least 1).
    """

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, x, target, reduction, keep=None):
        shifted = x - x.max(axis=-1, keepdims=True)
        log_a = shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))
        counted = x.shape[0] if keep is None else max(int(keep.sum()), 1)
        self.log_a, self.target, self.n = log_a, target, _divisor(reduction, counted)
        self.keep = keep
        if target.ndim == 1:  # integer labels
            picked = log_a[xp.arange(x.shape[0]), target]
            return -(picked if keep is None else picked[keep]).sum() / self.n
        return -(target * log_a).sum() / self.n

    def derivative(self, scale):
        delta = xp.exp(self.log_a)
        if self.target.ndim == 1:
            delta[xp.arange(delta.shape[0]), self.target] -= 1.0
            if self.keep is not None:
                delta[~self.keep] = 0.0
        else:
            delta -= self.target
        delta *= ratio(scale, self.n, delta.dtype)
        return delta


def _check_reduction(who, reduction):
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{who}: expected reduction 'mean' or 'sum', got {reduction!r}")


def _target_like(who, output, target):
    """The target as an array of the output's dtype and shape; (n,) fits a single output (n, 1)."""
    y = target.data if isinstance(target, Tensor) else xp.asarray(target)
    out = output.data
    if y.shape != out.shape:
        if out.ndim == 2 and out.shape[1] == 1 and y.shape == out.shape[:1]:
            y = y.reshape(out.shape)
        else:
            raise ShapeError(
                f"{who}: expected target of shape {out.shape} (the output's), got {y.shape}"
            )
    return y if y.dtype == out.dtype else y.astype(out.dtype)


def _class_target(who, output, target):
    """Integer labels (n,) checked against the number of classes, or soft targets like output."""
    y = target.data if isinstance(target, Tensor) else xp.asarray(target)
    if y.ndim == 1 and output.ndim == 2 and y.shape[0] == output.shape[0]:
        if not xp.issubdtype(y.dtype, xp.integer):
            raise TypeError(f"{who}: expected integer class labels, got dtype {y.dtype}")
        n_classes = output.shape[1]
        bad = (y < 0) | (y >= n_classes)
        if bad.any():
            i = int(xp.argmax(bad))
            raise ValueError(
                f"{who}: labels must be in 0..{n_classes - 1} for {n_classes} classes, "
                f"got {int(y[i])} at index {i}"
            )
        return y
    return _target_like(who, output, target)


def sse(output, target, reduction="sum"):
    """Halved sum of squared errors 1/2 sum (y - a)^2; "mean" divides by the number of samples."""
    _check_reduction("sse", reduction)
    return SumOfSquares.apply(output, y=_target_like("sse", output, target), reduction=reduction)


def mse(output, target, reduction="mean"):
    """Mean squared error (torch's MSELoss): "mean" divides by the number of elements."""
    _check_reduction("mse", reduction)
    return MeanSquaredError.apply(
        output, y=_target_like("mse", output, target), reduction=reduction
    )


def l1(output, target, reduction="mean"):
    """Absolute error (torch's L1Loss)."""
    _check_reduction("l1", reduction)
    return AbsoluteError.apply(output, y=_target_like("l1", output, target), reduction=reduction)


def binary_cross_entropy(probabilities, targets, reduction="mean"):
    """Binary cross-entropy on probabilities in [0, 1] (torch's BCELoss)."""
    _check_reduction("binary_cross_entropy", reduction)
    y = _target_like("binary_cross_entropy", probabilities, targets)
    return BinaryCrossEntropy.apply(probabilities, y=y, reduction=reduction)


def sigmoid_binary_cross_entropy(logits, targets, reduction="mean"):
    """Binary cross-entropy on logits, fused and stable (torch's BCEWithLogitsLoss); delta a - y."""
    _check_reduction("sigmoid_binary_cross_entropy", reduction)
    y = _target_like("sigmoid_binary_cross_entropy", logits, targets)
    return SigmoidBinaryCrossEntropy.apply(logits, y=y, reduction=reduction)


def _classes_last(who, x, target):
    """(n, C, d1, ...) scores and their targets as rows (n d1 ..., C), as torch's
    CrossEntropyLoss takes them: labels (n, d1, ...) or soft targets (n, C, d1, ...). A "mean"
    then averages over every position of every sample. 2-D scores pass unchanged."""
    if x.ndim <= 2:
        return x, target
    y = target.data if isinstance(target, Tensor) else xp.asarray(target)
    axes = (0, *range(2, x.ndim), 1)
    rows = reshape(transpose(x, axes), -1, x.shape[1])
    if y.shape == x.shape[:1] + x.shape[2:]:
        return rows, y.reshape(-1)
    if y.shape == x.shape:
        return rows, xp.transpose(y, axes).reshape(-1, x.shape[1])
    raise ShapeError(f"{who}: expected labels of shape {x.shape[:1] + x.shape[2:]} or soft "
                     f"targets of shape {x.shape} for scores of shape {x.shape}, "
                     f"got {y.shape}")  # fmt: skip


def cross_entropy(probabilities, target, reduction="mean"):
    """Categorical cross-entropy on probabilities (e.g. softmax outputs); labels or soft targets.
    Probabilities (n, C, d1, ...) take labels (n, d1, ...): one classification per position."""
    _check_reduction("cross_entropy", reduction)
    probabilities, target = _classes_last("cross_entropy", probabilities, target)
    y = _class_target("cross_entropy", probabilities, target)
    if y.ndim == 1:
        y = xp.eye(probabilities.shape[1], dtype=probabilities.dtype)[y]
    return CrossEntropy.apply(probabilities, y=y, reduction=reduction)


def softmax_cross_entropy(logits, labels, reduction="mean", ignore_index=None):
    """Categorical cross-entropy on logits, fused and stable (torch's CrossEntropyLoss).

    ``labels`` are integer class labels (n,) or one-hot/soft targets (n, classes);
    delta = a - y. Logits (n, C, d1, ...) take labels (n, d1, ...) or soft targets (n, C, d1,
    ...): one classification per position (per pixel for segmentation), as torch's.

    ``ignore_index``: None, or an int label (outside 0..C-1 or not, e.g. -100, torch's
    default, or a padding class) whose positions count for nothing: no loss, no gradient, and
    "mean" averages over the other labels only (0 when every label is ignored; torch gives
    NaN). Padded steps of a sequence batch tagged with it drop out of the loss.
    """
    who = "softmax_cross_entropy"
    _check_reduction(who, reduction)
    logits, labels = _classes_last(who, logits, labels)
    if ignore_index is None:
        y = _class_target(who, logits, labels)
        return SoftmaxCrossEntropy.apply(logits, target=y, reduction=reduction)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"{who}: expected ignore_index None or an int label, got "
                        f"{ignore_index!r}")  # fmt: skip
    raw = labels.data if isinstance(labels, Tensor) else xp.asarray(labels)
    if raw.ndim != 1 or not xp.issubdtype(raw.dtype, xp.integer):
        raise TypeError(f"{who}: ignore_index needs integer labels (n,) or (n, d1, ...), got "
                        f"{raw.dtype} labels of shape {raw.shape}")  # fmt: skip
    keep = raw != ignore_index
    y = _class_target(who, logits, xp.where(keep, raw, 0))
    return SoftmaxCrossEntropy.apply(logits, target=y, reduction=reduction, keep=keep)
