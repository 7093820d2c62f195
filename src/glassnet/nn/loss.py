"""Losses by name, as ``fit`` and ``evaluate`` use them: callables ``loss(output, target)``.

"sse", "mse" and "l1" compare the outputs with the targets. "cross_entropy" and
"binary_cross_entropy" need to know whether the outputs are probabilities or logits, which
is a property of the model, not of a tensor. So they are resolved once, when ``fit`` (or
``evaluate``, ``fgsm``, the estimators) binds the loss to the model with ``loss.bind(model)``,
as Keras's ``from_logits`` does it by hand:

- a model ending in a softmax (for "cross_entropy") or a sigmoid (for "binary_cross_entropy"),
  as a Dense activation or an activation layer, is trained through the fused, stable op on
  that layer's net input (``layer.net``: delta = a - y), while the model still outputs
  probabilities;
- a model ending in a linear layer (or any other activation) has its outputs taken as the
  logits, as in torch;
- a sigmoid network with "cross_entropy" (or a softmax one with the binary loss) is refused.

Called directly, unbound, the two compute the loss of the probabilities they are given
(``ops.cross_entropy`` / ``ops.binary_cross_entropy``: each log clamped at -100 as torch's
BCELoss, so a probability of exactly 0 gives a large finite loss, never inf or NaN).
"""

from .. import ops
from .activation import Activation, Sigmoid, Softmax
from .dense import Dense

__all__ = ["Loss", "LogitLoss", "BoundLoss", "get", "bind", "output_layer", "NAMES"]


class Loss:
    """A named loss E(output, target) -> scalar Tensor with a fixed reduction.

    Attributes:
        name, reduction: as given. threshold: the decision threshold of a single output for
            the metrics (0.5: probabilities or values).
    """

    threshold = 0.5

    def __init__(self, name, function, reduction, doc):
        self.name, self.function, self.reduction, self.__doc__ = name, function, reduction, doc

    def __call__(self, output, target, reduction=None):
        """E(output, target); ``reduction`` overrides the loss's own ("mean" or "sum")."""
        return self.function(output, target, reduction or self.reduction)

    def bind(self, model):
        """This loss for ``model`` (nothing to resolve for a loss on values)."""
        return self

    def __repr__(self):
        return f"Loss({self.name!r}, reduction={self.reduction!r})"


class LogitLoss(Loss):
    """A cross-entropy that has a probability form and a fused logit form.

    Args:
        name: "cross_entropy" or "binary_cross_entropy".
        on_probabilities, on_logits: the functional ops (output, target, reduction).
        ending: the output activation whose net input are the logits: "softmax" or "sigmoid".
    """

    def __init__(self, name, on_probabilities, on_logits, ending, reduction, doc):
        super().__init__(name, on_probabilities, reduction, doc)
        self.on_logits, self.ending = on_logits, ending

    def bind(self, model):
        """The loss resolved for ``model``: fused on the output layer's net input when the model
        ends in this loss's activation, on the outputs as logits when it ends linear."""
        layer = output_layer(model)
        ending = _ending(layer)
        if ending == self.ending:
            return BoundLoss(self, layer=layer)
        if ending in ("softmax", "sigmoid"):
            other = "binary_cross_entropy" if ending == "sigmoid" else "cross_entropy"
            raise ValueError(
                f"{self.name}: expected a network ending in a {self.ending} or a linear layer, got "
                f"one ending in a {ending} ({layer!r}); use '{other}' for it"
            )
        return BoundLoss(self, layer=None, known=layer is not None)


class BoundLoss(Loss):
    """A ``LogitLoss`` bound to a model: ``loss(output, target)`` on its logits.

    With ``layer`` given, the logits are ``layer.net`` (the net input of the model's output
    layer in the forward that produced ``output``); otherwise ``output`` itself. For a model
    whose output layer could not be found (``known=False``: a custom Module without
    ``output_layer``), the first call on a recorded output (the first training step) checks
    that it is not the output of a softmax or sigmoid op the loss cannot see through.
    """

    def __init__(self, loss, layer=None, known=True):
        super().__init__(loss.name, loss.on_logits, loss.reduction, loss.__doc__)
        self.loss, self.layer, self.known = loss, layer, known
        self.threshold = 0.5 if layer is not None else 0.0  # logits: decide at 0

    def logits(self, output):
        """The logits behind ``output``."""
        if self.layer is not None:
            net = getattr(self.layer, "net", None)
            if net is None or net.shape != output.shape:
                raise RuntimeError(
                    f"{self.name}: expected the output layer {self.layer!r} to have run in this "
                    f"forward pass, got no net input of shape {output.shape} from it"
                )
            return net
        if not self.known and output.op is not None:  # the first step with a graph tells
            _refuse_hidden_ending(self.name, output, self.loss.ending)
            self.known = True
        return output

    def __call__(self, output, target, reduction=None):
        return self.function(self.logits(output), target, reduction or self.reduction)

    def __repr__(self):
        where = f"net input of {self.layer!r}" if self.layer is not None else "outputs"
        return f"Loss({self.name!r}, reduction={self.reduction!r}, logits: {where})"


def output_layer(model):
    """The layer that computes ``model``'s output: the last of a Sequential (looking inside
    nested ones), what a Module's ``output_layer()`` returns, or None if it cannot tell. A
    layer used as the whole model is its own output layer."""
    if isinstance(model, (Dense, Activation)):
        return model
    layer = model.output_layer() if callable(getattr(model, "output_layer", None)) else None
    while layer is not None:
        inner = layer.output_layer() if callable(getattr(layer, "output_layer", None)) else None
        if inner is None or inner is layer:
            return layer
        layer = inner
    return None


def _ending(layer):
    """'softmax', 'sigmoid' (steepness 1, over the last axis), 'linear', 'other', or None."""
    if layer is None:
        return None
    activation = layer.activation if isinstance(layer, Dense) else layer
    if activation is None:
        return "linear"
    if isinstance(activation, Softmax) and type(activation) is Softmax and activation.axis == -1:
        return "softmax"
    if isinstance(activation, Sigmoid) and activation.beta == 1.0:
        return "sigmoid"
    if isinstance(layer, Dense) or isinstance(activation, Activation):
        return "other"
    return None


def _refuse_hidden_ending(name, output, ending):
    op = output.op
    kind = type(op).__name__.lower() if op is not None else ""
    if kind in ("softmax", "sigmoid"):
        raise ValueError(
            f"{name}: expected the model's outputs to be logits, got the output of ops.{kind}, "
            f"whose input the loss cannot find; end the model in Dense(..., '{kind}') or an "
            f"nn.{type(op).__name__} layer, give it an output_layer() method, or return logits"
        )


NAMES = {
    "sse": Loss("sse", ops.sse, "sum", "E = 1/2 sum over samples and outputs of (y - a)^2."),
    "mse": Loss("mse", ops.mse, "mean", "Mean of (y - a)^2 over all elements."),
    "l1": Loss("l1", ops.l1, "mean", "Mean of |y - a| over all elements."),
    "binary_cross_entropy": LogitLoss(
        "binary_cross_entropy", ops.binary_cross_entropy, ops.sigmoid_binary_cross_entropy,
        "sigmoid", "mean",
        "Binary cross-entropy per element: on probabilities, or bound to a model on its logits.",
    ),
    "cross_entropy": LogitLoss(
        "cross_entropy", ops.cross_entropy, ops.softmax_cross_entropy, "softmax", "mean",
        "Categorical cross-entropy per sample: on probabilities, or bound to a model on its "
        "logits.",
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


def bind(loss, model):
    """``loss`` (a name or callable) resolved for ``model``: ``get(loss).bind(model)`` where the
    loss can be bound, the callable itself otherwise."""
    loss = get(loss)
    binder = getattr(loss, "bind", None)
    return binder(model) if callable(binder) else loss
