"""Training with noise on the inputs (or on any layer's activations)."""

from .. import ops
from ..autodiff import Tensor
from ..backend import as_rng, normal
from .module import Module, register

__all__ = ["GaussianNoise"]


@register
class GaussianNoise(Module):
    """Adds Gaussian noise N(0, std^2) to its input in training mode; the identity in eval mode.

    As the first layer it trains the network on noisy copies of the inputs, a regulariser
    (Bishop 1995 shows it is equivalent to Tikhonov regularisation for small noise).

    Args:
        std: standard deviation of the noise (>= 0). seed: int or Generator.
    Reference: C. M. Bishop, "Training with noise is equivalent to Tikhonov regularization",
    Neural Computation 7(1), 1995.
    """

    def __init__(self, std, *, seed=None):
        super().__init__()
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not std >= 0:
            raise ValueError(f"GaussianNoise: expected std >= 0, got {std!r}")
        self.std, self.rng = float(std), as_rng(seed)

    def forward(self, x):
        if not self.training or self.std == 0.0:
            return x
        noise = normal(self.rng, x.shape, x.dtype, self.std)  # on the device, as x is
        return ops.add(x, Tensor(noise))

    def config(self):
        return {"std": self.std}

    def extra_repr(self):
        return f"std={self.std}"
