"""The dropout layer."""

import numbers

from .. import ops
from ..backend import as_rng
from ..errors import ShapeError
from .module import Module, register

__all__ = ["Dropout", "Dropout2d"]


@register
class Dropout(Module):
    """Inverted dropout: in training, each unit is zeroed with probability p and the others are
    scaled by 1 / (1 - p); in eval mode it is the identity.

    Args:
        p: drop probability in [0, 1).
        seed: int or numpy.random.Generator for the masks (drawn on the active device,
            through ``backend.uniform``).
    Reference: Srivastava et al., "Dropout", JMLR 15 (2014).
    """

    def __init__(self, p=0.5, *, seed=None):
        super().__init__()
        if isinstance(p, bool) or not (isinstance(p, numbers.Real) and 0.0 <= p < 1.0):
            raise ValueError(f"Dropout: expected p in [0, 1), got {p!r}")
        self.p, self.rng = float(p), as_rng(seed)

    def forward(self, x):
        return ops.dropout(x, self.p, self.rng, training=self.training)

    def config(self):
        return {"p": self.p}

    def extra_repr(self):
        return f"p={self.p}"


@register
class Dropout2d(Dropout):
    """Dropout of whole feature maps: in training each channel of each sample is zeroed with
    probability p and the others scaled by 1 / (1 - p) (neighbouring pixels are correlated,
    so dropping single pixels regularises little). Shapes: (N, C, H, W) -> (N, C, H, W).
    Reference: Tompson et al., "Efficient object localization using convolutional
    networks", CVPR 2015.
    """

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(f"{self!r}: expected input (batch, channels, height, width), "
                             f"got {x.shape}")  # fmt: skip
        return ops.dropout2d(x, self.p, self.rng, training=self.training)
