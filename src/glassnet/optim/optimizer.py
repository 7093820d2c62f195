"""The optimizer base class: parameters, per-parameter state, and an in-place ``step``."""

import numbers
from abc import ABC, abstractmethod

import numpy as np

from .clip import clip_grad_norm, clip_grad_value

__all__ = ["Optimizer", "is_real"]


def is_real(value):
    """True for a real number (Python or NumPy), False for bools and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Optimizer(ABC):
    """Holds parameters and one state dict per parameter; ``step()`` updates ``param.data`` in
    place from ``param.grad``.

    ``weight_decay`` follows torch: g := g + weight_decay * w before the update, for every
    parameter the optimizer holds (biases included). Hyperparameters are plain attributes, so
    schedules and callbacks may change ``opt.lr`` between steps.

    An optimizer that needs the loss itself or several evaluations per step sets
    ``needs_closure = True`` and overrides ``step``; ``fit`` then passes a closure that runs
    zero_grad, forward and backward and returns the loss, and runs none of them itself. A
    method defined on the whole training set sets ``full_batch = True``; ``fit`` then refuses
    mini-batches with an error that tells the user to pass ``batch_size=None``. Setting
    ``clip_norm`` or ``clip_value`` on an optimizer clips the gradients before every step
    (``glassnet.optim.clip_grad_norm`` / ``clip_grad_value``).
    """

    needs_closure = False
    full_batch = False  # True for methods defined on the whole training set (Rprop, L-BFGS, ...)
    clip_norm = None  # set to a number: gradients are clipped to this joint norm before a step
    clip_value = None  # set to a number: gradient elements are clipped to [-value, value]

    def __init__(self, params, lr, weight_decay=0.0):
        self.params = list(params)
        name = type(self).__name__
        if not self.params:
            raise ValueError(f"{name}: expected parameters to optimize, got none")
        if not (is_real(lr) and lr > 0 and np.isfinite(lr)):
            raise ValueError(f"{name}: expected lr > 0, got {lr!r}")
        if not (is_real(weight_decay) and weight_decay >= 0):
            raise ValueError(f"{name}: expected weight_decay >= 0, got {weight_decay!r}")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.t, self.state = 0, [{} for _ in self.params]

    def zero_grad(self):
        """Forget the gradients (set ``grad`` to None, so the next backward starts fresh)."""
        for p in self.params:
            p.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns the closure's loss if given."""
        loss = closure() if closure is not None else None
        if self.clip_norm is not None:
            clip_grad_norm(self.params, self.clip_norm)
        if self.clip_value is not None:
            clip_grad_value(self.params, self.clip_value)
        self.t += 1
        decay = self.weight_decay
        for p, state in zip(self.params, self.state):
            g = p.grad
            if g is not None:
                self.update(p.data, g + decay * p.data if decay else g, state)
        return loss

    @abstractmethod
    def update(self, w, g, state):
        """Change the array ``w`` in place from its gradient ``g``; ``state`` is its own dict."""

    def state_dict(self):
        """Step count, hyperparameters and state arrays (copies), JSON/npz friendly."""
        out = {"t": self.t, "lr": self.lr}
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"state.{i}.{key}"] = np.array(value, copy=True)
        return out

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
        self.t, self.lr = int(state["t"]), float(state["lr"])
        for key, value in state.items():
            if key.startswith("state."):
                _, i, name = key.split(".", 2)
                self.state[int(i)][name] = np.array(value, copy=True)

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr}, weight_decay={self.weight_decay})"
