"""The multi-layer perceptron with shortcut connections: every layer sees the input and all
earlier layers."""

import numbers

import numpy as np

from .. import ops
from ..backend import as_rng, default_dtype
from ..errors import ShapeError
from ..nn import Dense, Module, register

__all__ = ["ShortcutMLP"]


@register
class ShortcutMLP(Module):
    """A feed-forward network in which each layer takes the input and the outputs of all the
    layers before it (shortcut connections), not only the previous layer's.

    With a_0 = x and hidden layers k = 1, ..., N - 1 (layer N is the output layer)::

        z_k = [x, a_1, ..., a_(k-1)]          (joined along the feature axis)
        a_k = f(z_k @ W_k^T + b_k)            (f = activation; output_activation for k = N)

    so layer k's Dense has in_features + hidden[0] + ... + hidden[k-2] inputs, and the
    output layer sees x and every hidden layer. This is the general feed-forward network in
    which unit i takes input from every unit j < i (lecture deck 003, Copenhagen, "Notation
    II": z_i = h(sum over j < i of w_ij z_j), with z_0 = 1 for the bias), grouped into layers:
    units within a layer do not feed each other. With every hidden width 1 and one output it
    is that network exactly, one unit per layer (the layout cascade-correlation grows).
    Shortcuts give each layer a direct path to the input and to the loss, e.g. XOR needs only
    one hidden unit.

    Args:
        in_features: inputs per sample.
        hidden: widths of the hidden layers, a sequence of positive ints (or one int for a
            single hidden layer; empty for no hidden layer, a plain linear model).
        out_features: output units.
        activation: of the hidden units, "tanh", "sigmoid", "relu", ... (see
            ``glassnet.nn.activation.NAMES``).
        output_activation: of the output units; None for linear outputs, "sigmoid" or
            "softmax" for class probabilities (the fused losses of ``fit`` then use the logits).
        seed: int or numpy.random.Generator for the initial weights (Glorot uniform, b = 0).
        dtype: of the weights (default: glassnet's default dtype, float32).

    Shapes:
        (batch, in_features) -> (batch, out_features); ``layers[k].W`` is
        (width_k, in_features + sum of the earlier hidden widths).

    Reference:
        K. J. Lang, M. J. Witbrock, Learning to tell two spirals apart, Proc. 1988
        Connectionist Models Summer School, 52-59 (shortcut connections); D. E. Rumelhart,
        G. E. Hinton, R. J. Williams, Learning internal representations by error propagation,
        in Parallel Distributed Processing 1, ch. 8 (1986) (XOR with one hidden unit and direct
        input-output connections); C. M. Bishop, Neural Networks for Pattern Recognition
        (1995), sec. 4.1 and lecture deck 003 (general feed-forward networks).

    Example:
        >>> import numpy as np
        >>> net = ShortcutMLP(2, [3, 2], 1, seed=0)
        >>> [layer.W.shape for layer in net.layers]
        [(3, 2), (2, 5), (1, 7)]
        >>> net.predict(np.zeros((4, 2))).shape
        (4, 1)
    """

    def __init__(self, in_features, hidden, out_features, activation="tanh", output_activation=None,
                 *, seed=None, dtype=None):  # fmt: skip
        super().__init__()
        hidden = _as_list(hidden)
        named = [("in_features", in_features), ("out_features", out_features)]
        for what, n in named + [(f"hidden[{k}]", n) for k, n in enumerate(hidden)]:
            if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
                raise ValueError(f"ShortcutMLP: expected {what} to be a positive int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.hidden = [int(n) for n in hidden]
        dtype = default_dtype() if dtype is None else dtype
        rng, width = as_rng(seed), self.in_features
        self.layers = []
        for n in self.hidden:
            self.layers.append(Dense(width, n, activation, seed=rng, dtype=dtype))
            width += n  # the next layer sees this one's outputs too
        self.layers.append(
            Dense(width, self.out_features, output_activation, seed=rng, dtype=dtype)
        )

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: expected input (batch, {self.in_features}), got {x.shape}")
        earlier = [x]  # [x, a_1, ..., a_(k-1)] for layer k
        for layer in self.layers:
            a = layer(ops.concatenate(earlier, axis=-1) if len(earlier) > 1 else x)
            earlier.append(a)
        return a

    def output_layer(self):
        """The output Dense layer."""
        return self.layers[-1]

    def config(self):
        hidden_layer = self.layers[0].config() if self.hidden else None
        return {"in_features": self.in_features, "hidden": list(self.hidden),
                "out_features": self.out_features,
                "activation": hidden_layer["activation"] if hidden_layer else None,
                "output_activation": self.layers[-1].config()["activation"],
                "dtype": str(self.layers[-1].W.dtype)}  # fmt: skip

    def extra_repr(self):
        hidden = self.layers[0].activation_name if self.hidden else "-"
        return (f"{self.in_features} -> {self.hidden} -> {self.out_features}, hidden {hidden}, "
                f"output {self.layers[-1].activation_name}, with shortcuts")  # fmt: skip


def _as_list(hidden):
    """hidden as a list of widths: one int is one hidden layer."""
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        return [hidden]
    if isinstance(hidden, (list, tuple)) or (isinstance(hidden, np.ndarray) and hidden.ndim == 1):
        return list(hidden)
    raise TypeError(f"ShortcutMLP: expected hidden as a list of positive ints, got {hidden!r}")
