"""Weights from PyTorch: ``load_torch_state_dict(model, state)``.

A torch module's ``state_dict()`` (its tensors turned into NumPy arrays, e.g. with
``{k: v.numpy() for k, v in m.state_dict().items()}``; torch itself is not needed here) is
matched to the glassnet model layer by layer, in order: each group of torch keys with the
same prefix (``0.weight``, ``0.bias``) is one layer, and so is each glassnet module that holds
parameters or buffers itself. Then, by the names torch gives them:

    Linear (weight, bias)                  -> Dense (W, b)             weight (out, in) = W
    Conv1d / Conv2d / ConvTranspose2d      -> the same glassnet layer  weight = W, bias = b
    BatchNorm1d / BatchNorm2d (weight, bias, running_mean, running_var, num_batches_tracked)
                                           -> BatchNorm / BatchNorm2d  gamma, beta, the buffers
                                              (num_batches_tracked is ignored)
    LayerNorm (weight, bias)               -> LayerNorm (gamma, beta)
    Embedding (weight)                     -> Embedding (W)            weight (num, dim) = W
    RNN (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse, ..._l1 ...)
                                           -> RNN  W_ih_l0, W_hh_l0, b_ih_l0, b_hh_l0, ...
    MultiheadAttention (in_proj_weight, in_proj_bias; out_proj.weight, out_proj.bias, a layer
    of its own)                            -> MultiheadAttention (in_W, in_b; out_proj, a Dense)
    TransformerEncoderLayer (self_attn.*, linear1, linear2, norm1, norm2)
                                           -> the same names (MultiheadAttention, Dense,
                                              LayerNorm)

Shapes must agree exactly; a mismatch names the torch key and the glassnet layer.
"""

import re

import numpy as np

from ..backend import to_device
from ..errors import ShapeError
from .module import Module

__all__ = ["load_torch_state_dict"]

_NAMES = {"weight": ("W", "gamma"), "bias": ("b", "beta"), "running_mean": ("running_mean",),
          "running_var": ("running_var",), "in_proj_weight": ("in_W",),
          "in_proj_bias": ("in_b",)}  # fmt: skip
_IGNORED = ("num_batches_tracked",)
_RECURRENT = re.compile(r"(weight|bias)(_[ih]h_l\d+(?:_reverse)?)")  # weight_ih_l0 -> W_ih_l0


def _targets(key):
    """The glassnet names a torch parameter name may map to."""
    match = _RECURRENT.fullmatch(key)
    if match:
        return (("W" if match[1] == "weight" else "b") + match[2],)
    return _NAMES.get(key, ())


def _torch_layers(state):
    """[(prefix, {name: array})] in the order of the keys."""
    layers = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"load_torch_state_dict: expected string keys, got {key!r}")
        prefix, _, name = key.rpartition(".")
        layers.setdefault(prefix, {})[name] = value
    return list(layers.items())


def _own_layers(model):
    """[(name, module, {attribute: array})] for every module holding parameters or buffers."""
    out = []
    for name, module in model.named_modules():
        own = {attr: p.data for attr, p in module.named_parameters() if "." not in attr}
        own.update((attr, getattr(module, attr)) for attr in module._buffer_names)
        if own:
            out.append((name or type(module).__name__, module, own))
    return out


def load_torch_state_dict(model, state):
    """Copy a torch ``state_dict`` (NumPy arrays under torch's keys) into ``model``.

    Args:
        model: a glassnet Module whose layers with weights come in the order of the torch
            module's (a Sequential ported layer by layer: nn.Linear became Dense).
        state: {torch key: array}, as ``{k: v.numpy() for k, v in m.state_dict().items()}``.
    Returns:
        the model. Nothing is copied unless everything fits.
    Raises:
        TypeError: not a Module or not a dict. ValueError: a different number of layers, or a
        torch name glassnet has no counterpart for. ShapeError: an array of another shape.
    """
    if not isinstance(model, Module):
        raise TypeError(f"load_torch_state_dict: expected a glassnet Module, "
                        f"got {type(model).__name__}")  # fmt: skip
    if not isinstance(state, dict):
        raise TypeError(f"load_torch_state_dict: expected a dict of arrays (a torch state_dict), "
                        f"got {type(state).__name__}")  # fmt: skip
    theirs, ours = _torch_layers(state), _own_layers(model)
    if len(theirs) != len(ours):
        raise ValueError(
            f"load_torch_state_dict: the torch state has {len(theirs)} layers with weights "
            f"({', '.join(p or '(root)' for p, _ in theirs)}), the model {len(ours)} "
            f"({', '.join(n for n, _, _ in ours)})"
        )
    copies = []
    for (prefix, arrays), (name, module, own) in zip(theirs, ours):
        for key, value in arrays.items():
            if key in _IGNORED:
                continue
            target = next((t for t in _targets(key) if t in own), None)
            where = f"{prefix}.{key}" if prefix else key
            if target is None:
                raise ValueError(f"load_torch_state_dict: {where} has no counterpart in {name} "
                                 f"({type(module).__name__} holds {sorted(own)})")  # fmt: skip
            value = np.asarray(value)
            if value.shape != own[target].shape:
                raise ShapeError(f"load_torch_state_dict: {where} has shape {value.shape}, "
                                 f"{name}.{target} {own[target].shape}")  # fmt: skip
            copies.append((own[target], value))
        missing = set(own) - {t for key in arrays for t in _targets(key) if t in own}
        if missing:
            raise ValueError(f"load_torch_state_dict: the torch layer {prefix or '(root)'} has no "
                             f"value for {name}.{min(missing)}")  # fmt: skip
    for target, value in copies:
        target[...] = to_device(value)
    return model
