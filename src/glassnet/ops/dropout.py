"""Inverted dropout (Srivastava et al. 2014): drop each unit with probability p in training
and scale the survivors by 1 / (1 - p), so that nothing changes at evaluation time."""

from ..autodiff import Op
from ..backend import as_rng, uniform

__all__ = ["dropout"]


class Dropout(Op):
    """a = x * m,  m_k = 1 / (1 - p) with probability 1 - p, else 0.   grad_x = grad_out * m."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, grad_out):
        return (grad_out * self.mask,)

    def jvp(self, dx):
        # da = dx * m
        return dx * self.mask


def dropout(x, p, seed=None, training=True):
    """Inverted dropout of ``x`` with drop probability ``p``; identity when not training."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: expected p in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    # drawn on the device; on NumPy the very draws of rng.random(shape, dtype=dtype)
    keep = uniform(as_rng(seed), x.shape, x.dtype) >= p
    return Dropout.apply(x, mask=keep * x.dtype.type(1.0 / (1.0 - p)))
