"""The glass: a recorder that watches activations, deltas and gradients while a network trains.

Attach it to a model; every forward in training mode records, per layer, the mean and std of
the layer's activations, the fraction of saturated (or, for ReLU, dead) units, and during
backward the norm of the layer's delta (the gradient arriving at its pre-activation net,
taken with a tensor hook). As a ``fit`` callback it also records each parameter's gradient
norm after every backward pass.

The layers with a net input are Dense and the convolutions (Conv1d, Conv2d, ConvTranspose2d),
wherever they sit (in a Sequential, a Residual block, a Concat branch). A convolution has no
activation of its own: the activation layer right after it in a Sequential (Conv2d, ReLU) is
taken as its activation, as a Dense's own one is, so its net is the convolution's output and
its a the activation's output.
"""

import math
import numbers

from ..backend import xp
from .activation import Activation, saturation
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dense import Dense
from .module import Sequential

__all__ = ["Recorder"]

_CONV = (Conv1d, Conv2d, ConvTranspose2d)


class Recorder:
    """Record per-layer statistics of a model at every training step.

    The watched layers, each under its name in ``model.named_modules()``:
        Dense: a = f(net) its output, the delta at its net a_prev @ W^T + b.
        Conv1d, Conv2d, ConvTranspose2d: net is the layer's output; a is the output of the
            activation layer right after it in a Sequential (then not watched on its own),
            else net itself (linear units, no saturation rule). Statistics are over all of a
            (samples, channels and positions); the delta is dE/dnet, of net's shape.
        any other activation layer: a its output, the delta at its input.

    Args:
        model: any Module; every such layer inside it is watched.
        every: record every ``every``-th forward pass (1: all).

    Attributes:
        layers: {layer name: {"mean": [...], "std": [...], "saturated": [...],
            "delta_norm": [...]}}, one entry per recorded step ("saturated" holds None where
            the activation has no saturation rule; "delta_norm" NaN for a step without backward).
        grad_norms: {parameter name: [...]}, filled by ``on_batch_end`` (i.e. as a callback).

    Example:
        rec = Recorder(model)
        glassnet.fit(model, X, y, loss="cross_entropy", callbacks=[rec])
        rec.layers["layers.0"]["std"]
    """

    def __init__(self, model, every=1):
        if not callable(getattr(model, "named_modules", None)):
            raise TypeError(f"Recorder: expected the model to watch (a Module), got {model!r}")
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"Recorder: expected every to be a positive integer, got {every!r}")
        self.model, self.every = model, int(every)
        self.layers, self.grad_norms, self._handles, self._calls = {}, {}, [], {}
        modules = list(model.named_modules())
        owners = dict(modules)
        after_conv = _activations_after_conv(model)
        taken = {id(activation) for activation in after_conv.values()}
        for name, module in modules:
            if isinstance(module, Activation):
                if _inside_dense(name, owners) or id(module) in taken:
                    continue
            elif not isinstance(module, (Dense, *_CONV)):
                continue
            key = name or type(module).__name__
            self.layers[key] = {"mean": [], "std": [], "saturated": [], "delta_norm": []}
            watched = after_conv.get(id(module), module)  # a convolution: its activation
            self._handles.append(watched.register_forward_hook(self._hook(key, module)))
        self.stop_training = False

    def _hook(self, name, layer):
        def record(module, inputs, a):
            if not module.training:
                return
            count = self._calls.get(name, 0)
            self._calls[name] = count + 1
            if count % self.every:
                return
            stats, data = self.layers[name], a.data
            stats["mean"].append(float(data.mean()))
            stats["std"].append(float(data.std()))
            if isinstance(layer, Dense):  # the delta arrives at the pre-activation net
                act, net = layer.activation_name, layer.net
            elif module is layer and isinstance(layer, _CONV):  # no activation: a is net
                act, net = "identity", a
            else:  # an activation layer (a convolution's, or a standalone one): its input
                act, net = module.name, inputs[0]
            stats["saturated"].append(saturation(act, data))
            stats["delta_norm"].append(math.nan)  # filled in by the hook during backward
            if net is not None and net.requires_grad:
                index = len(stats["delta_norm"]) - 1

                def delta_hook(delta):
                    stats["delta_norm"][index] = float(xp.sqrt((delta * delta).sum()))

                net.register_hook(delta_hook)
            return

        return record

    # as a fit callback
    def on_batch_end(self, batch, logs=None):
        """Record the gradient norm of every parameter (called by fit after each backward)."""
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                self.grad_norms.setdefault(name, []).append(float(xp.sqrt((p.grad * p.grad).sum())))

    def detach(self):
        """Remove the hooks from the model."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def summary(self):
        """One line per layer: the latest activation mean/std, saturation and delta norm."""
        lines = []
        for name, s in self.layers.items():
            if s["mean"]:
                sat = s["saturated"][-1]
                lines.append(
                    f"{name:>12}: mean {s['mean'][-1]: .4f}  std {s['std'][-1]:.4f}  "
                    f"saturated {'-' if sat is None else f'{sat:.3f}'}  "
                    f"delta norm {s['delta_norm'][-1] if s['delta_norm'] else float('nan'):.3g}"
                )
        return "\n".join(lines)


def _inside_dense(name, owners):
    """True for the activation sub-module of a Dense (the Dense records it already);
    ``owners`` maps the model's module names to the modules."""
    if not name:
        return False
    return isinstance(owners.get(name.rpartition(".")[0] if "." in name else ""), Dense)


def _activations_after_conv(model):
    """{id(convolution): the activation layer right after it in a Sequential} for the
    convolutions inside ``model`` whose output goes straight into an activation layer. An
    activation instance used more than once in the model is nobody's (it is watched alone)."""
    modules = [module for _, module in model.named_modules()]
    uses = {}
    for module in modules:
        uses[id(module)] = uses.get(id(module), 0) + 1
    pairs = {}
    for module in modules:
        if isinstance(module, Sequential):
            for layer, following in zip(module.layers, module.layers[1:]):
                if (isinstance(layer, _CONV) and isinstance(following, Activation)
                        and uses[id(following)] == 1):  # fmt: skip
                    pairs[id(layer)] = following
    return pairs
