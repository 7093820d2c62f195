"""Gradient descent with optional momentum (the lectures' form) or Nesterov momentum."""

from ..backend import xp
from ..ops._util import constant
from .optimizer import Optimizer, is_real

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, w := w - eta g.

    With momentum mu (the lectures' form, deck 000; Rumelhart, Hinton & Williams 1986):

        dw = -eta g + mu dw_old,   w := w + dw

    For a constant eta this is torch's form (v = mu v + g; w := w - eta v) with dw = -eta v;
    if eta changes between steps the two differ (here old steps keep the eta they were taken
    with). With ``nesterov=True``, torch's form of Nesterov momentum (Sutskever et al. 2013):

        v = mu v + g,   w := w - eta (g + mu v)

    Args:
        params: the parameters to update.
        lr: learning rate eta (> 0).  momentum: mu in [0, 1).
        nesterov: Nesterov momentum (needs momentum > 0).
        weight_decay: g := g + weight_decay * w before the update (torch's convention).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    """

    elementwise = True
    writes_out = True  # update(..., out=) writes the new weights into out, w left as it was

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, *,
                 flatten=True):  # fmt: skip
        super().__init__(params, lr, weight_decay, flatten=flatten)
        if not (is_real(momentum) and 0.0 <= momentum < 1.0):
            raise ValueError(f"SGD: expected momentum in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0.0:
            raise ValueError("SGD: expected momentum > 0 for nesterov=True, got momentum=0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def update(self, w, g, state, out=None):
        # the hyperparameters as 0-d arrays of w's dtype: cheaper operands than Python floats
        eta, mu = constant(self.lr, w.dtype), constant(self.momentum, w.dtype)
        if self.momentum == 0.0:
            xp.subtract(w, eta * g, out=w if out is None else out)
        elif self.nesterov:
            v = state.get("v")
            if v is None:
                v = state["v"] = g.copy()  # torch starts its buffer at the first gradient
            else:
                v *= mu
                v += g
            xp.subtract(w, eta * (g + mu * v), out=w if out is None else out)
        else:
            dw = state.get("dw")
            if dw is None:
                dw = state["dw"] = -eta * g
            else:
                dw *= mu
                dw -= eta * g
            xp.add(w, dw, out=w if out is None else out)

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay})")  # fmt: skip
