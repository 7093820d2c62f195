"""Activation layers, one per activation op, and the name table that ``Dense`` uses.

Saturation rules for the diagnostics live here too, next to the function they describe.
"""

import math
import numbers

from .. import ops
from .module import Module, register

__all__ = [
    "Activation", "Step", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softsign",
    "Softplus", "ELU", "GELU", "Maxout", "Softmax", "LogSoftmax", "get", "NAMES",
]  # fmt: skip


def _real(who, name, value):
    """``value`` as a Python float, refusing bools, non-numbers, NaN and inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{who}: expected {name} to be a finite number, got {value!r}")
    return float(value)


def _integer(who, name, value, minimum=None):
    """``value`` as a Python int (>= ``minimum`` if given), refusing bools and non-integers."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or (minimum is not None and value < minimum)
    ):
        at_least = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{who}: expected {name} to be an integer{at_least}, got {value!r}")
    return int(value)


class Activation(Module):
    """Base of activation layers: a = f(net), no parameters. A subclass sets ``name`` (its key
    in ``NAMES``) and ``forward``; a configurable one also stores its arguments and returns
    them from ``config()`` (for saving), which nothing calls per forward."""

    name = ""

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.config().items())


@register
class Step(Activation):
    """Heaviside step a = 1 if net > 0 else 0 (zero gradient)."""

    name, forward = "step", staticmethod(ops.step)


@register
class Identity(Activation):
    """Linear units a = net."""

    name, forward = "identity", staticmethod(ops.identity)


@register
class Tanh(Activation):
    """a = tanh(net)."""

    name, forward = "tanh", staticmethod(ops.tanh)


@register
class ReLU(Activation):
    """a = max(0, net)."""

    name, forward = "relu", staticmethod(ops.relu)


@register
class Softsign(Activation):
    """a = net / (1 + |net|)."""

    name, forward = "softsign", staticmethod(ops.softsign)


@register
class Softplus(Activation):
    """a = ln(1 + exp(net))."""

    name, forward = "softplus", staticmethod(ops.softplus)


@register
class GELU(Activation):
    """GELU, tanh approximation."""

    name, forward = "gelu", staticmethod(ops.gelu)


@register
class Sigmoid(Activation):
    """Logistic sigmoid a = 1 / (1 + exp(-beta net))."""

    name = "sigmoid"

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = _real("Sigmoid", "beta", beta)

    def forward(self, net):
        return ops.sigmoid(net, self.beta)

    def config(self):
        return {"beta": self.beta}


@register
class LeakyReLU(Activation):
    """a = net if net > 0 else negative_slope * net."""

    name = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = _real("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, net):
        return ops.leaky_relu(net, self.negative_slope)

    def config(self):
        return {"negative_slope": self.negative_slope}


@register
class ELU(Activation):
    """a = net if net > 0 else alpha (exp(net) - 1)."""

    name = "elu"

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = _real("ELU", "alpha", alpha)

    def forward(self, net):
        return ops.elu(net, self.alpha)

    def config(self):
        return {"alpha": self.alpha}


@register
class Maxout(Activation):
    """Maximum over consecutive groups of ``pieces`` inputs:
    (batch, units * pieces) -> (batch, units)."""

    name = "maxout"

    def __init__(self, pieces=2):
        super().__init__()
        self.pieces = _integer("Maxout", "pieces", pieces, minimum=1)

    def forward(self, net):
        return ops.maxout(net, self.pieces)

    def config(self):
        return {"pieces": self.pieces}


@register
class Softmax(Activation):
    """a = softmax(net) along ``axis``; a loss "cross_entropy" uses net as its logits."""

    name = "softmax"

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = _integer(type(self).__name__, "axis", axis)

    def forward(self, net):
        return ops.softmax(net, self.axis)

    def config(self):
        return {"axis": self.axis}


@register
class LogSoftmax(Softmax):
    """a = log softmax(net) along ``axis``."""

    name = "log_softmax"

    def forward(self, net):
        return ops.log_softmax(net, self.axis)


NAMES = {cls.name: cls for cls in [Step, Identity, Sigmoid, Tanh, ReLU, LeakyReLU, Softsign,
                                   Softplus, ELU, GELU, Maxout, Softmax, LogSoftmax]}  # fmt: skip


def get(activation):
    """An activation layer from a name ("tanh"), a config dict ({"name": "sigmoid", "beta": 2}),
    an Activation, or None (None stays None)."""
    if activation is None or isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in NAMES:
        return NAMES[activation]()
    if isinstance(activation, dict) and activation.get("name") in NAMES:
        return NAMES[activation["name"]](**{k: v for k, v in activation.items() if k != "name"})
    raise ValueError(
        f"activation {activation!r} is unknown; choose one of: {', '.join(sorted(NAMES))}"
    )


def saturation(name, a):
    """Fraction of saturated units of activation ``name`` in the array ``a`` (None if the rule
    does not apply): |a| > 0.99 for tanh and softsign, a < 0.01 or a > 0.99 for sigmoid, and
    a == 0 exactly for ReLU (dead units)."""
    if name in ("tanh", "softsign"):
        return float((abs(a) > 0.99).mean())
    if name == "sigmoid":
        return float(((a < 0.01) | (a > 0.99)).mean())
    if name == "relu":
        return float((a == 0).mean())
    return None
