"""Gradient clipping, by global norm and by value (applied to ``param.grad`` before a step).

Reference: Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
networks", ICML 2013, Algorithm 1 (norm clipping).
"""

import math
import numbers

from ..backend import xp

__all__ = ["clip_grad_norm", "clip_grad_value"]

# Both functions assign new arrays to ``p.grad``; an optimizer on flat buffers copies them back
# into its buffer at the next step (and clips its buffers in place itself, ``_clip_arrays``).


def _check_positive(who, name, value):
    """Raise unless ``value`` is a real number > 0 (Python or NumPy; not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{who}: expected {name} > 0, got {value!r}")


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so that their joint norm ||g|| is at most ``max_norm``:

        g := g * max_norm / ||g||   if ||g|| > max_norm,   ||g|| = sqrt(sum over all of g^2)

    Returns the norm before clipping (as torch.nn.utils.clip_grad_norm_ does)."""
    _check_positive("clip_grad_norm", "max_norm", max_norm)
    grads = [p for p in params if p.grad is not None]
    total = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)  # torch's 1e-6 keeps the division finite
        for p in grads:
            p.grad = p.grad * p.grad.dtype.type(scale)
    return total


def _clip_arrays(grads, max_norm=None, clip_value=None):
    """Clip gradient arrays in place, as ``clip_grad_norm`` (their joint norm) and then
    ``clip_grad_value`` do for parameters; None skips either. Used on the flat buffers."""
    if max_norm is not None:
        _check_positive("clip_grad_norm", "max_norm", max_norm)
        total = math.sqrt(sum(float(g @ g) for g in grads))
        if total > max_norm:
            scale = max_norm / (total + 1e-6)
            for g in grads:
                g *= g.dtype.type(scale)
    if clip_value is not None:
        _check_positive("clip_grad_value", "clip_value", clip_value)
        for g in grads:
            xp.clip(g, -clip_value, clip_value, out=g)


def clip_grad_value(params, clip_value):
    """Clip every gradient element to [-clip_value, clip_value]."""
    _check_positive("clip_grad_value", "clip_value", clip_value)
    for p in params:
        if p.grad is not None:
            p.grad = xp.clip(p.grad, -clip_value, clip_value)
