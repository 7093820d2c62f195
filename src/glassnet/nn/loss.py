"""Losses by name, as ``fit`` and ``evaluate`` use them: callables ``loss(output, target)``.

"cross_entropy" and "binary_cross_entropy" always run the fused, stable ops on logits. If the
network ends in a softmax (for "cross_entropy") or a sigmoid (for "binary_cross_entropy"),
the logits are that last activation's input, so a network written as in the lectures
(softmax outputs + cross-entropy) trains stably; if it ends in a linear layer, its outputs are
the logits, as in torch.
"""

from .. import ops

__all__ = ["Loss", "get", "NAMES"]


class Loss:
    """A named loss E(output, target) -> scalar Tensor with a fixed reduction."""

    def __init__(self, name, function, reduction, doc):
        self.name, self.function, self.reduction, self.__doc__ = name, function, reduction, doc

    def __call__(self, output, target):
        return self.function(output, target, self.reduction)

    def __repr__(self):
        return f"Loss({self.name!r}, reduction={self.reduction!r})"


def _logits(output, expected, loss_name):
    if output._logits is None:
        return output
    kind, net = output._logits
    if kind != expected:
        raise ValueError(
            f"{loss_name}: expected a network ending in a {expected} or a linear layer, got one "
            f"ending in a {kind}; use "
            + ("'binary_cross_entropy'" if kind == "sigmoid" else "'cross_entropy'")
            + " for it"
        )
    return net


def _cross_entropy(output, target, reduction):
    return ops.softmax_cross_entropy(_logits(output, "softmax", "cross_entropy"), target, reduction)


def _binary_cross_entropy(output, target, reduction):
    logits = _logits(output, "sigmoid", "binary_cross_entropy")
    return ops.sigmoid_binary_cross_entropy(logits, target, reduction)


NAMES = {
    "sse": Loss("sse", ops.sse, "sum", "E = 1/2 sum over samples and outputs of (y - a)^2."),
    "mse": Loss("mse", ops.mse, "mean", "Mean of (y - a)^2 over all elements."),
    "l1": Loss("l1", ops.l1, "mean", "Mean of |y - a| over all elements."),
    "binary_cross_entropy": Loss(
        "binary_cross_entropy", _binary_cross_entropy, "mean",
        "Binary cross-entropy on the logits (sigmoid input or linear output), per element.",
    ),
    "cross_entropy": Loss(
        "cross_entropy", _cross_entropy, "mean",
        "Categorical cross-entropy on the logits (softmax input or linear output), per sample.",
    ),
}  # fmt: skip


def get(loss):
    """A loss from its name ('sse', 'mse', 'l1', 'binary_cross_entropy', 'cross_entropy') or a
    callable ``loss(output, target)`` returning a scalar Tensor (passed through)."""
    if isinstance(loss, str):
        if loss in NAMES:
            return NAMES[loss]
        raise ValueError(f"loss {loss!r} is unknown; choose one of: {', '.join(NAMES)}")
    if callable(loss):
        return loss
    raise TypeError(f"loss: expected a name or a callable loss(output, target), got {loss!r}")
