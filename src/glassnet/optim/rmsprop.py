"""RMSprop."""

import numpy as np

from .optimizer import Optimizer, is_real

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running average of its recent magnitude.

        v = alpha v + (1 - alpha) g^2    (v starts at 0; no bias correction)
        w = w - eta * g / (sqrt(v) + eps)

    This is torch's form (not centred, no momentum, eps added to sqrt(v)); Keras adds eps
    inside the square root instead.

    Args:
        params: the parameters to update.
        lr: step size eta (default 0.01).
        alpha: decay rate of the average of g^2, in [0, 1) (default 0.99).
        eps: added to sqrt(v) (default 1e-8).
        weight_decay: g := g + weight_decay * w before the update (torch's convention).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    Raises:
        ValueError: lr <= 0, alpha outside [0, 1), eps <= 0 or weight_decay < 0.
    Reference: T. Tieleman, G. Hinton, "Lecture 6.5 - rmsprop: Divide the gradient by a running
    average of its recent magnitude", COURSERA: Neural Networks for Machine Learning (2012).
    """

    elementwise = True
    writes_out = True  # update(..., out=) writes the new weights into out, w left as it was

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, *, flatten=True):
        super().__init__(params, lr, weight_decay, flatten=flatten)
        if not (is_real(alpha) and 0.0 <= alpha < 1.0):
            raise ValueError(f"RMSprop: expected alpha in [0, 1), got {alpha!r}")
        if not (is_real(eps) and eps > 0):
            raise ValueError(f"RMSprop: expected eps > 0, got {eps!r}")
        self.alpha, self.eps = float(alpha), float(eps)

    def update(self, w, g, state, out=None):
        if not state:
            state["v"] = np.zeros_like(w)
        v = state["v"]
        v *= self.alpha
        v += (1.0 - self.alpha) * (g * g)
        denominator = np.sqrt(v)
        denominator += self.eps
        np.subtract(w, self.lr * g / denominator, out=w if out is None else out)

    def __repr__(self):
        return (f"RMSprop(lr={self.lr}, alpha={self.alpha}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")  # fmt: skip
