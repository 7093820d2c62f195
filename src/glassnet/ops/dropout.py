"""Inverted dropout (Srivastava et al. 2014): drop each unit with probability p in training
and scale the survivors by 1 / (1 - p), so that nothing changes at evaluation time.
``dropout2d`` drops whole feature maps (Tompson et al. 2015, "spatial dropout"): one draw per
(sample, channel), shared by every position of that map."""

from ..autodiff import Op
from ..backend import as_rng, uniform
from ..errors import ShapeError

__all__ = ["dropout", "dropout2d"]


class Dropout(Op):
    """a = x * m,  m_k = 1 / (1 - p) with probability 1 - p, else 0.   grad_x = grad_out * m.

    The mask m may broadcast over x: dropout2d's has shape (N, C, 1, 1), one draw per map.
    """

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, grad_out):
        return (grad_out * self.mask,)

    def jvp(self, dx):
        # da = dx * m
        return dx * self.mask


def _check_p(fn, p):
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{fn}: expected p in [0, 1), got {p}")


def _masked(x, p, seed, shape):
    # drawn on the device; on NumPy the very draws of rng.random(shape, dtype=dtype)
    keep = uniform(as_rng(seed), shape, x.dtype) >= p
    return Dropout.apply(x, mask=keep * x.dtype.type(1.0 / (1.0 - p)))


def dropout(x, p, seed=None, training=True):
    """Inverted dropout of ``x`` with drop probability ``p``; identity when not training."""
    _check_p("dropout", p)
    if not training or p == 0.0:
        return x
    return _masked(x, p, seed, x.shape)


def dropout2d(x, p, seed=None, training=True):
    """Inverted dropout of whole feature maps: each channel of each sample of (N, C, H, W)
    input is zeroed with probability ``p``, the others scaled by 1 / (1 - p), as torch's
    F.dropout2d; identity when not training. A 3-D input is (N, C, L) and loses whole
    channels too (torch's behaviour for 3-D input, with its warning left out).

        a[n, c] = x[n, c] * m[n, c],   m[n, c] = 1 / (1 - p) with probability 1 - p, else 0

    Args:
        x: Tensor (N, C, H, W) or (N, C, L).  p: drop probability in [0, 1).
        seed: int, numpy.random.Generator (advanced by each call) or None.
        training: False returns x itself.
    Raises:
        ShapeError: x not 3-D or 4-D.  ValueError: p outside [0, 1).
    """
    _check_p("dropout2d", p)
    if x.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected input of shape (N, C, H, W) or (N, C, L), got "
                         f"{x.shape}")  # fmt: skip
    if not training or p == 0.0:
        return x
    return _masked(x, p, seed, x.shape[:2] + (1,) * (x.ndim - 2))
