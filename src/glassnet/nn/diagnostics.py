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

Recurrent layers (RNN, LSTM, GRU) are watched per cell, i.e. per layer and direction, from
inside their fused ops (``register_cell_observer``): the statistics of the states h_t, the
norm of the gradient dE/dh_t arriving at the state at every time step (the vanishing or
exploding gradient through time, drawn by ``viz.plot_time_deltas``), and the mean and
saturation of every gate of an LSTM (i, f, g, o) or GRU (r, z, n).
"""

import math
import numbers

from ..backend import xp
from .activation import Activation, saturation
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dense import Dense
from .module import Sequential
from .recurrent import GRU, LSTM, RNN

__all__ = ["Recorder"]

_CONV = (Conv1d, Conv2d, ConvTranspose2d)
_RECURRENT = (RNN, LSTM, GRU)
_GATE_FUNCTIONS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid", "r": "sigmoid",
                   "z": "sigmoid", "n": "tanh"}  # fmt: skip


class Recorder:
    """Record per-layer statistics of a model at every training step.

    The watched layers, each under its name in ``model.named_modules()``:
        Dense: a = f(net) its output, the delta at its net a_prev @ W^T + b.
        Conv1d, Conv2d, ConvTranspose2d: net is the layer's output; a is the output of the
            activation layer right after it in a Sequential (then not watched on its own),
            else net itself (linear units, no saturation rule). Statistics are over all of a
            (samples, channels and positions); the delta is dE/dnet, of net's shape.
        any other activation layer: a its output, the delta at its input.
        RNN, LSTM, GRU: one entry per cell, named "{layer name}.l{l}" for layer l ("_reverse"
            added for the reverse direction), e.g. "lstm.l0": a is the state h_t over all
            steps and samples (padded steps left out), "saturated" the rule of the RNN's
            nonlinearity (None for LSTM and GRU, whose gates say it), "delta_norm" the norm of
            dE/dh over all steps, and two more lists: "time_delta_norm", per recorded step an
            array (T,) of ||dE/dh_t|| (over the batch) at each time step t, in the cell's own
            order (t = 0 its first step; for the reverse direction the last input step), NaNs
            until the backward; and "gates", {gate: {"mean": [...], "saturated": [...]}} for
            i, f, g, o (LSTM) or r, z, n (GRU), sigmoid gates saturated below 0.01 or above
            0.99, tanh ones beyond +-0.99.

    Args:
        model: any Module; every such layer inside it is watched.
        every: record every ``every``-th forward pass (1: all).

    Attributes:
        layers: {layer name: {"mean": [...], "std": [...], "saturated": [...],
            "delta_norm": [...]}}, one entry per recorded step ("saturated" holds None where
            the activation has no saturation rule; "delta_norm" NaN for a step without backward).
            Recurrent cells add "time_delta_norm" and "gates" (above).
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
            if isinstance(module, _RECURRENT):
                self._watch_cells(name or type(module).__name__, module)
                continue
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

    def _watch_cells(self, key, layer):
        gates = {LSTM: "ifgo", GRU: "rzn"}.get(type(layer), "")
        for depth in range(layer.num_layers):
            for suffix in layer._suffixes:
                self.layers[f"{key}.l{depth}{suffix}"] = {
                    "mean": [], "std": [], "saturated": [], "delta_norm": [],
                    "time_delta_norm": [],
                    "gates": {g: {"mean": [], "saturated": []} for g in gates}}  # fmt: skip
        rule = layer.nonlinearity if isinstance(layer, RNN) else None

        def factory(module, cell):
            if not module.training:
                return None
            layer_index, direction = cell
            name = f"{key}.l{layer_index}{'_reverse' if direction else ''}"
            count = self._calls.get(name, 0)
            self._calls[name] = count + 1
            if count % self.every:
                return None
            return self._cell_observer(self.layers[name], rule)

        self._handles.append(layer.register_cell_observer(factory))

    @staticmethod
    def _cell_observer(stats, rule):
        """The ``observe(event, values)`` of one cell for one recorded forward."""
        slot = {}

        def observe(event, values):
            if event == "forward":
                mask = values["mask"]
                keep = None if mask is None else mask.astype(bool)
                h = values["h"] if keep is None else values["h"][keep]
                stats["mean"].append(float(h.mean()))
                stats["std"].append(float(h.std()))
                stats["saturated"].append(None if rule is None else saturation(rule, h))
                for g, a in values["gates"].items():
                    a = a if keep is None else a[keep]
                    stats["gates"][g]["mean"].append(float(a.mean()))
                    stats["gates"][g]["saturated"].append(saturation(_GATE_FUNCTIONS[g], a))
                slot["index"] = len(stats["delta_norm"])
                stats["delta_norm"].append(math.nan)
                stats["time_delta_norm"].append(xp.full(values["h"].shape[0], math.nan))
            elif "index" in slot:
                norms = xp.array(values["delta_norm"], copy=True)
                stats["time_delta_norm"][slot["index"]] = norms
                stats["delta_norm"][slot["index"]] = float(xp.sqrt((norms * norms).sum()))

        return observe

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
        """One line per layer: the latest activation mean/std, saturation and delta norm (and
        for a recurrent cell the mean of each gate)."""
        lines = []
        for name, s in self.layers.items():
            if s["mean"]:
                sat = s["saturated"][-1]
                lines.append(
                    f"{name:>12}: mean {s['mean'][-1]: .4f}  std {s['std'][-1]:.4f}  "
                    f"saturated {'-' if sat is None else f'{sat:.3f}'}  "
                    f"delta norm {s['delta_norm'][-1] if s['delta_norm'] else float('nan'):.3g}"
                    + "".join(f"  {g} {v['mean'][-1]:.3f}" for g, v in s.get("gates", {}).items())
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
