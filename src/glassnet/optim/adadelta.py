"""Adadelta."""

import numpy as np

from .optimizer import Optimizer, is_real

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: steps in the units of w, from running averages of g^2 and of the steps dx^2.

        E_g2  = rho E_g2 + (1 - rho) g^2              (E_g2 = E[g^2]; both averages start at 0)
        dx    = -sqrt(E_dx2 + eps) / sqrt(E_g2 + eps) * g   (= -RMS[dx]_(t-1) / RMS[g]_t * g)
        E_dx2 = rho E_dx2 + (1 - rho) dx^2            (E_dx2 = E[dx^2])
        w     = w + eta * dx

    The paper has no learning rate (eta = 1, the default); torch's form, used here, scales
    the step by eta but accumulates the unscaled dx in E_dx2.

    Args:
        params: the parameters to update.
        lr: eta, a factor on each step (default 1.0).
        rho: decay rate of both averages, in [0, 1) (default 0.9).
        eps: added inside both square roots; it sets the size of the first steps (default 1e-6).
        weight_decay: g := g + weight_decay * w before the update (torch's convention).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    Raises:
        ValueError: lr <= 0, rho outside [0, 1), eps <= 0 or weight_decay < 0.
    Reference: M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701
    (2012), Algorithm 1.
    """

    elementwise = True
    writes_out = True  # update(..., out=) writes the new weights into out, w left as it was

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, flatten=True):
        super().__init__(params, lr, weight_decay, flatten=flatten)
        if not (is_real(rho) and 0.0 <= rho < 1.0):
            raise ValueError(f"Adadelta: expected rho in [0, 1), got {rho!r}")
        if not (is_real(eps) and eps > 0):
            raise ValueError(f"Adadelta: expected eps > 0, got {eps!r}")
        self.rho, self.eps = float(rho), float(eps)

    def update(self, w, g, state, out=None):
        if not state:
            state["E_g2"], state["E_dx2"] = np.zeros_like(w), np.zeros_like(w)
        E_g2, E_dx2, rho, eps = state["E_g2"], state["E_dx2"], self.rho, self.eps
        E_g2 *= rho
        E_g2 += (1.0 - rho) * (g * g)
        dx = -np.sqrt(E_dx2 + eps) / np.sqrt(E_g2 + eps) * g
        E_dx2 *= rho
        E_dx2 += (1.0 - rho) * (dx * dx)
        np.add(w, self.lr * dx, out=w if out is None else out)

    def __repr__(self):
        return (f"Adadelta(lr={self.lr}, rho={self.rho}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")  # fmt: skip
