"""Adam."""

import math

from ..backend import xp
from .optimizer import Optimizer, is_real

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, Kingma & Ba (2015), Algorithm 1, with eps added to sqrt(v_hat) as torch does:

        m = beta1 m + (1 - beta1) g          m_hat = m / (1 - beta1^t)
        v = beta2 v + (1 - beta2) g^2        v_hat = v / (1 - beta2^t)
        w = w - eta * m_hat / (sqrt(v_hat) + eps)

    (scikit-learn, Keras and Chainer add eps to sqrt(v) instead.)

    Args:
        params: the parameters to update.
        lr: step size eta (default 1e-3).  beta1, beta2: decay rates in [0, 1).
        eps: added to sqrt(v_hat) (default 1e-8).
        weight_decay: g := g + weight_decay * w before the update (torch's Adam, not AdamW).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    Reference: D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    elementwise = True
    writes_out = True  # update(..., out=) writes the new weights into out, w left as it was

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, *,
                 flatten=True):  # fmt: skip
        super().__init__(params, lr, weight_decay, flatten=flatten)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not (is_real(beta) and 0.0 <= beta < 1.0):
                raise ValueError(f"{type(self).__name__}: expected {name} in [0, 1), got {beta!r}")
        if not (is_real(eps) and eps > 0):
            raise ValueError(f"{type(self).__name__}: expected eps > 0, got {eps!r}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def update(self, w, g, state, out=None):
        if not state:
            state["m"], state["v"] = xp.zeros_like(w), xp.zeros_like(w)
        m, v, t = state["m"], state["v"], self.t
        scratch = xp.empty_like(w)  # one temporary, reused by every line below
        m *= self.beta1
        m += xp.multiply(g, 1.0 - self.beta1, out=scratch)
        v *= self.beta2
        xp.multiply(g, g, out=scratch)
        scratch *= 1.0 - self.beta2
        v += scratch
        # eta m_hat / (sqrt(v_hat) + eps) = m / (c sqrt(v) + eps / s), the bias corrections
        # and eta folded into two scalars: s = eta / (1 - beta1^t), c = 1 / (s sqrt(1 - beta2^t))
        s = self.lr / (1.0 - self.beta1**t)
        denominator = xp.sqrt(v, out=scratch)
        denominator *= 1.0 / (s * math.sqrt(1.0 - self.beta2**t))
        denominator += self.eps / s
        step = xp.divide(m, denominator, out=scratch)
        xp.subtract(w, step, out=w if out is None else out)

    def __repr__(self):
        return (f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")  # fmt: skip
