"""AdamW: Adam with decoupled weight decay."""

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """AdamW: Adam whose weight decay shrinks the weights directly instead of adding to g.

        w = w - eta * weight_decay * w      (decoupled decay, on the weights before this step)
        then Adam's step with the gradient g taken at the undecayed w:
        m = beta1 m + (1 - beta1) g          m_hat = m / (1 - beta1^t)
        v = beta2 v + (1 - beta2) g^2        v_hat = v / (1 - beta2^t)
        w = w - eta * m_hat / (sqrt(v_hat) + eps)

    How it differs from ``Adam(weight_decay=...)``: there the decay is added to the gradient,
    g := g + weight_decay * w, so it enters m and v and is divided by sqrt(v_hat) like the rest
    of g (weights with large gradients are barely decayed). Here m and v never see it: every
    weight shrinks by the same factor (1 - eta * weight_decay) per step.

    This is torch's form, where the decay is scaled by eta. The paper's Algorithm 2 writes
    w = w - eta_t (alpha m_hat / (sqrt(v_hat) + eps) + lambda w), the decay scaled by the
    schedule multiplier eta_t only; with a fixed alpha the two agree for
    weight_decay = lambda / alpha (lr = alpha eta_t).

    Args:
        params: the parameters to update.
        lr: step size eta (default 1e-3).  beta1, beta2: decay rates in [0, 1).
        eps: added to sqrt(v_hat) (default 1e-8).
        weight_decay: the decoupled decay factor, >= 0 (default 1e-2, as torch.optim.AdamW).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    Raises:
        ValueError: lr <= 0, a beta outside [0, 1), eps <= 0 or weight_decay < 0.
    Reference: I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
    Algorithm 2 (AdamW).
    """

    writes_out = False  # its step shrinks w in place before the update

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, *,
                 flatten=True):  # fmt: skip
        super().__init__(params, lr, beta1, beta2, eps, weight_decay, flatten=flatten)

    def step(self, closure=None):
        """Decay, then Adam's update, for every parameter that has a gradient; returns the
        closure's loss if given. (Overrides the base step, which would add the decay to g.)"""
        loss = closure() if closure is not None else None  # g at the undecayed weights
        slots = self._slots(clip=True)
        self.t += 1
        shrink = 1.0 - self.lr * self.weight_decay
        for w, g, state in slots:
            if g is not None:
                if self.weight_decay:
                    w *= shrink
                self.update(w, g, state)
        return loss

    def __repr__(self):
        return (f"AdamW(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")  # fmt: skip
