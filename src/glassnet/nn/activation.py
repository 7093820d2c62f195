"""Activation layers, one per activation op, and the name table that ``Dense`` uses.

Saturation rules for the diagnostics live here too, next to the function they describe.
"""

from .. import ops
from .module import Module, register

__all__ = [
    "Activation", "Step", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softsign",
    "Softplus", "ELU", "GELU", "Maxout", "Softmax", "LogSoftmax", "get", "NAMES",
]  # fmt: skip


class Activation(Module):
    """Base of activation layers: a = f(net), no parameters."""

    name = ""
    function = None

    def forward(self, net):
        return self.function(net, **self.config())

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.config().items())


def _layer(cls_name, name, function, doc):
    cls = type(cls_name, (Activation,), {"name": name, "function": staticmethod(function), "__doc__": doc})
    return register(cls)


Step = _layer("Step", "step", ops.step, "Heaviside step a = 1 if net > 0 else 0 (zero gradient).")
Identity = _layer("Identity", "identity", ops.identity, "Linear units a = net.")
Tanh = _layer("Tanh", "tanh", ops.tanh, "a = tanh(net).")
ReLU = _layer("ReLU", "relu", ops.relu, "a = max(0, net).")
Softsign = _layer("Softsign", "softsign", ops.softsign, "a = net / (1 + |net|).")
Softplus = _layer("Softplus", "softplus", ops.softplus, "a = ln(1 + exp(net)).")
GELU = _layer("GELU", "gelu", ops.gelu, "GELU, tanh approximation.")


@register
class Sigmoid(Activation):
    """Logistic sigmoid a = 1 / (1 + exp(-beta net))."""

    name, function = "sigmoid", staticmethod(ops.sigmoid)

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def config(self):
        return {"beta": self.beta}


@register
class LeakyReLU(Activation):
    """a = net if net > 0 else negative_slope * net."""

    name, function = "leaky_relu", staticmethod(ops.leaky_relu)

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def config(self):
        return {"negative_slope": self.negative_slope}


@register
class ELU(Activation):
    """a = net if net > 0 else alpha (exp(net) - 1)."""

    name, function = "elu", staticmethod(ops.elu)

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def config(self):
        return {"alpha": self.alpha}


@register
class Maxout(Activation):
    """Maximum over consecutive groups of ``pieces`` inputs: (batch, units * pieces) -> (batch, units)."""

    name, function = "maxout", staticmethod(ops.maxout)

    def __init__(self, pieces=2):
        super().__init__()
        self.pieces = pieces

    def config(self):
        return {"pieces": self.pieces}


@register
class Softmax(Activation):
    """a = softmax(net) along ``axis``; a loss "cross_entropy" uses net as its logits."""

    name, function = "softmax", staticmethod(ops.softmax)

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def config(self):
        return {"axis": self.axis}


@register
class LogSoftmax(Softmax):
    """a = log softmax(net) along ``axis``."""

    name, function = "log_softmax", staticmethod(ops.log_softmax)


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
