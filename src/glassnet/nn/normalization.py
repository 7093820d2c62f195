"""The batch normalisation layer."""

import numbers

from .. import ops
from ..backend import default_dtype, xp
from ..errors import ShapeError
from .module import Module, Parameter, register

__all__ = ["BatchNorm", "BatchNorm2d"]


@register
class BatchNorm(Module):
    """Batch normalisation of each feature: y = gamma * (x - mu) / sqrt(var + eps) + beta.

    In training mode mu and var are the batch's mean and biased variance, and the running
    statistics are updated (running = (1 - momentum) running + momentum batch statistic, with
    the unbiased variance, as torch's BatchNorm1d); in eval mode the running statistics are
    used, so each sample's output no longer depends on the rest of the batch. It sits between
    the linear part of a layer and its activation:
    ``Sequential(Dense(784, 256), BatchNorm(256), ReLU(), ...)``.

    Args:
        num_features: features of the input (the units of the layer before).
        momentum: weight of the current batch in the running statistics, in [0, 1].
        eps: added to the variance, > 0.
        dtype: dtype of the parameters and buffers (default: glassnet's default dtype).
    Parameters: gamma (ones) and beta (zeros), shape (num_features,).
    Buffers: running_mean (zeros) and running_var (ones), shape (num_features,); saved with
        the parameters by ``state_dict`` and ``glassnet.save``.
    Shapes: (batch, num_features) -> (batch, num_features); training needs batch >= 2.
    Reference: Ioffe & Szegedy, "Batch normalization", ICML 2015, Algorithm 1 (training) and
        Algorithm 2 (inference with population statistics).
    """

    def __init__(self, num_features, *, momentum=0.1, eps=1e-5, dtype=None):
        super().__init__()
        if (
            not isinstance(num_features, numbers.Integral)
            or isinstance(num_features, bool)
            or num_features < 1
        ):
            raise ValueError(
                f"BatchNorm: expected num_features to be a positive int, got {num_features!r}"
            )
        if isinstance(momentum, bool) or not (
            isinstance(momentum, numbers.Real) and 0.0 <= momentum <= 1.0
        ):
            raise ValueError(f"BatchNorm: expected momentum in [0, 1], got {momentum!r}")
        if isinstance(eps, bool) or not (isinstance(eps, numbers.Real) and eps > 0):
            raise ValueError(f"BatchNorm: expected eps > 0, got {eps!r}")
        self.num_features, self.momentum, self.eps = int(num_features), float(momentum), float(eps)
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        self.gamma = Parameter(xp.ones(self.num_features, dtype))
        self.beta = Parameter(xp.zeros(self.num_features, dtype))
        self.running_mean = xp.zeros(self.num_features, dtype)
        self.running_var = xp.ones(self.num_features, dtype)
        self._buffer_names = ("running_mean", "running_var")

    ranks = (2,)  # the input ranks it takes: (batch, features)
    axes = "(batch, {})"

    def forward(self, x):
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            expected = self.axes.format(self.num_features)
            raise ShapeError(f"{self!r}: expected input {expected}, got {x.shape}")
        if self.training and x.size // x.shape[1] < 2:  # one value per channel: no variance
            raise ValueError(
                f"{self!r}: expected more than one sample per batch in training, got input of "
                f"shape {x.shape}; the variance over a batch of one sample is undefined "
                "(call .eval() to use the running statistics)"
            )
        return ops.batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var,
                              training=self.training, momentum=self.momentum,
                              eps=self.eps)  # fmt: skip

    def config(self):
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps,
                "dtype": str(self.gamma.dtype)}  # fmt: skip

    def extra_repr(self):
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}"


@register
class BatchNorm2d(BatchNorm):
    """Batch normalisation of each channel of NCHW input (torch's BatchNorm2d): mu and var of
    channel c are taken over the batch and every position, y = gamma_c (x - mu_c) /
    sqrt(var_c + eps) + beta_c. Between a convolution and its activation:
    ``Sequential(Conv2d(1, 32, 3, padding=1), BatchNorm2d(32), ReLU(), ...)``.

    Args, parameters and buffers: as BatchNorm, with num_features the channels.
    Shapes: (N, C, H, W) -> (N, C, H, W).
    Reference: Ioffe & Szegedy (2015), section 3.2 (convolutional networks).
    """

    ranks = (4,)
    axes = "(batch, {}, height, width)"
