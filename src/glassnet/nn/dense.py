"""The fully connected layer."""

import numbers

from .. import ops
from ..backend import as_rng, default_dtype, xp
from ..errors import ShapeError
from . import activation as activations
from . import init as initializers
from .module import Module, Parameter, recall, register, remember

__all__ = ["Dense"]


@register
class Dense(Module):
    """Fully connected layer: net = a_prev @ W^T + b, a = f(net).

    Args:
        in_features: units in the previous layer; out_features: units in this one.
        activation: "tanh", "relu", ... (see ``glassnet.nn.activation.NAMES``), an
            activation layer, or None for linear units.
        bias: learn b (default True).
        init: weight initializer, a name ("glorot_uniform", "he_normal", "uniform", ...) or an
            ``glassnet.nn.init`` object such as ``Uniform(0.01)``; b starts at zero.
        seed: int or numpy.random.Generator for the initial weights.
        dtype: dtype of W and b (default: glassnet's default dtype, float32).
    Shapes: (batch, in_features) -> (batch, out_features); W (out, in), b (out,).
    """

    def __init__(self, in_features, out_features, activation=None, *, bias=True,
                 init="glorot_uniform", seed=None, dtype=None):  # fmt: skip
        super().__init__()
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Dense: expected {what} to be a positive int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init = initializers.get(init)
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Dense: expected a floating dtype for W and b, got {dtype}")
        shape = (self.out_features, self.in_features)
        self.W = Parameter(self.init(shape, as_rng(seed), dtype))
        self.b = Parameter(xp.zeros(self.out_features, dtype)) if bias else None
        self.activation = activations.get(activation)
        self._net = None

    def forward(self, a_prev):
        if a_prev.shape[-1] != self.in_features:
            raise ShapeError(
                f"{self!r}: expected input (batch, {self.in_features}), got {a_prev.shape} "
                f"(any (..., {self.in_features}) is taken: the leading axes fold into the batch)"
            )
        net = ops.linear(a_prev, self.W, self.b)
        self._net = remember(net)
        return net if self.activation is None else self.activation(net)

    @property
    def net(self):
        """The net input net = a_prev @ W^T + b of the latest forward, as a Tensor (a public hook
        point: the losses take their logits here, the diagnostics their deltas); None before the
        first forward, or once that forward's graph is gone."""
        return recall(self._net)

    @property
    def activation_name(self):
        """The activation's name, "identity" for linear units."""
        return "identity" if self.activation is None else self.activation.name

    def config(self):
        activation = self.activation
        if activation is not None and activation.config():
            activation = {"name": activation.name, **activation.config()}
        elif activation is not None:
            activation = activation.name
        return {"in_features": self.in_features, "out_features": self.out_features,
                "activation": activation, "bias": self.b is not None, "init": self.init.config(),
                "dtype": str(self.W.dtype)}  # fmt: skip

    def extra_repr(self):
        return f"{self.in_features} -> {self.out_features}, {self.activation_name}"

    def __repr__(self):
        return f"Dense({self.extra_repr()})"
