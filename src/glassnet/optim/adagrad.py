"""Adagrad."""

import numpy as np

from .optimizer import Optimizer, is_real

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: each weight's step shrinks with the sum of its squared gradients so far.

        G = G + g^2                      (G starts at 0)
        w = w - eta * g / (sqrt(G) + eps)

    This is torch's form (eps added to sqrt(G); no lr decay, G starts at 0). The paper's
    diagonal update is w = w - eta * diag(delta I + G^(1/2))^(-1) g, the same with delta = eps.

    Args:
        params: the parameters to update.
        lr: step size eta (default 0.01).
        eps: added to sqrt(G) so that a weight whose gradients were all 0 divides by eps, not 0
            (default 1e-10).
        weight_decay: g := g + weight_decay * w before the update (torch's convention).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    Raises:
        ValueError: lr <= 0, eps <= 0 or weight_decay < 0.
    Reference: J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization", JMLR 12 (2011), the diagonal update of Figure 1 / eq. (1).
    """

    elementwise = True
    writes_out = True  # update(..., out=) writes the new weights into out, w left as it was

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0, *, flatten=True):
        super().__init__(params, lr, weight_decay, flatten=flatten)
        if not (is_real(eps) and eps > 0):
            raise ValueError(f"Adagrad: expected eps > 0, got {eps!r}")
        self.eps = float(eps)

    def update(self, w, g, state, out=None):
        if not state:
            state["G"] = np.zeros_like(w)
        G = state["G"]
        G += g * g
        denominator = np.sqrt(G)
        denominator += self.eps
        np.subtract(w, self.lr * g / denominator, out=w if out is None else out)

    def __repr__(self):
        return f"Adagrad(lr={self.lr}, eps={self.eps}, weight_decay={self.weight_decay})"
