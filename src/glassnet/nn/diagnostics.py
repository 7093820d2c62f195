"""The glass: a recorder that watches activations, deltas and gradients while a network trains.

Attach it to a model; every forward in training mode records, per layer, the mean and std of
the layer's activations, the fraction of saturated (or, for ReLU, dead) units, and during
backward the norm of the layer's delta (the gradient arriving at its pre-activation net,
taken with a tensor hook). As a ``fit`` callback it also records each parameter's gradient
norm after every backward pass.
"""

import math
import numbers

from ..backend import xp
from .activation import Activation, saturation
from .dense import Dense

__all__ = ["Recorder"]


class Recorder:
    """Record per-layer statistics of a model at every training step.

    Args:
        model: any Module; every ``Dense`` and activation layer inside it is watched.
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
        for name, module in model.named_modules():
            if isinstance(module, (Dense, Activation)) and not _inside_dense(name, model):
                key = name or type(module).__name__
                self.layers[key] = {"mean": [], "std": [], "saturated": [], "delta_norm": []}
                self._handles.append(module.register_forward_hook(self._hook(key)))
        self.stop_training = False

    def _hook(self, name):
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
            act = module.activation_name if isinstance(module, Dense) else module.name
            stats["saturated"].append(saturation(act, data))
            if isinstance(module, Dense):  # the delta arrives at the pre-activation net
                net = module.net
            else:  # a standalone activation layer: its input is the net
                net = inputs[0]
            stats["delta_norm"].append(math.nan)  # filled in by the hook during backward
            if net.requires_grad:
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


def _inside_dense(name, model):
    """True for the activation sub-module of a Dense (the Dense records it already)."""
    parent = name.rpartition(".")[0] if "." in name else ("" if name else None)
    if parent is None:
        return False
    owner = dict(model.named_modules()).get(parent)
    return isinstance(owner, Dense)
