"""The normalisation layers: batch normalisation and layer normalisation."""

import numbers

from .. import ops
from ..backend import default_dtype, xp
from ..errors import ShapeError
from .init import reserve
from .module import Module, Parameter, register

__all__ = ["BatchNorm", "BatchNorm2d", "LayerNorm"]


def _no_weights(self):
    """A normalisation's gamma and beta scale and shift each feature after it is normalised:
    they are neither weights nor biases to a weight penalty (see ``Module.own_weights``)."""
    return []


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

    own_weights = own_biases = _no_weights

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


@register
class LayerNorm(Module):
    """Layer normalisation of each sample over its trailing axes (torch's nn.LayerNorm):
    y = gamma * (x - mu) / sqrt(var + eps) + beta, with mu and var (biased) the mean and
    variance of the sample's values over the last ``len(normalized_shape)`` axes.

    The statistics are each sample's own (each position's, for a (batch, time, features)
    sequence), the same in training and evaluation: no running statistics, and a batch of
    one is fine. The usual place is around the sub-layers of a sequence model.

    Args:
        normalized_shape: int or tuple of ints, the trailing shape of the input (features).
        eps: added to the variance, > 0.
        elementwise_affine: learn gamma (and beta) of shape normalized_shape (default True);
            False: y = x_hat, no parameters.
        bias: learn beta too (default True; only with elementwise_affine).
        dtype: dtype of the parameters (default: glassnet's default dtype).
    Parameters: gamma (ones) and beta (zeros), shape normalized_shape (torch's weight and
        bias; ``load_torch_state_dict`` maps them).
    Shapes: (..., *normalized_shape) -> the same shape.
    Reference: Ba, Kiros & Hinton, "Layer normalization", arXiv:1607.06450 (2016).
    """

    own_weights = own_biases = _no_weights

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 dtype=None):  # fmt: skip
        super().__init__()
        shape = (normalized_shape,) if _is_count(normalized_shape) else normalized_shape
        if not isinstance(shape, (tuple, list)) or not shape or not all(map(_is_count, shape)):
            raise ValueError(f"LayerNorm: expected normalized_shape to be a positive int or "
                             f"a non-empty tuple of positive ints, "
                             f"got {normalized_shape!r}")  # fmt: skip
        if isinstance(eps, bool) or not (isinstance(eps, numbers.Real) and eps > 0):
            raise ValueError(f"LayerNorm: expected eps > 0, got {eps!r}")
        for what, flag in (("elementwise_affine", elementwise_affine), ("bias", bias)):
            if not isinstance(flag, bool):
                raise TypeError(f"LayerNorm: expected {what} to be True or False, got {flag!r}")
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"LayerNorm: expected a floating dtype for gamma and beta, got {dtype}")
        self.normalized_shape, self.eps = tuple(int(n) for n in shape), float(eps)
        self.elementwise_affine, self.bias, self._dtype = elementwise_affine, bias, dtype
        self.gamma = self.beta = None
        if elementwise_affine:
            reserve(((1 + bias), *self.normalized_shape))  # gamma (and beta), not via nn.init
            self.gamma = Parameter(xp.ones(self.normalized_shape, dtype))
            self.beta = Parameter(xp.zeros(self.normalized_shape, dtype)) if bias else None

    def forward(self, x):
        k, shape = len(self.normalized_shape), self.normalized_shape
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
            raise ShapeError(f"{self!r}: expected input (..., {', '.join(map(str, shape))}), "
                             f"got {x.shape}")  # fmt: skip
        return ops.layer_norm(x, shape, self.gamma, self.beta, eps=self.eps)

    def config(self):
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine, "bias": self.bias,
                "dtype": str(self._dtype if self.gamma is None else self.gamma.dtype)}  # fmt: skip

    def extra_repr(self):
        shape = self.normalized_shape
        text = f"{shape[0] if len(shape) == 1 else shape}, eps={self.eps}"
        if not self.elementwise_affine:
            text += ", elementwise_affine=False"
        elif self.beta is None:
            text += ", bias=False"
        return text


def _is_count(n):
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1
