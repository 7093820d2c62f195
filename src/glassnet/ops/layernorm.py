"""Layer normalisation (Ba, Kiros & Hinton 2016) as one fused op: normalise each sample over
its trailing feature axes, then scale and shift; the backward in closed form.

Where batch normalisation takes a feature's statistics over the batch, layer normalisation
takes a sample's over its own features, so it works the same for a batch of one and at every
step of a sequence (batch, time, features): each position is normalised on its own.

Reference: J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer normalization", arXiv:1607.06450
(2016), eq. (4); the backward is the chain rule through x_hat (as for batch norm, over the
normalised axes instead of the batch).
"""

import numbers

from ..autodiff import Op, Tensor
from ..backend import xp
from ..errors import ShapeError
from ._util import add_tangents, as_tensor

__all__ = ["layer_norm"]


class LayerNorm(Op):
    """y = gamma * x_hat + beta with x_hat = (x - mu) / sigma, sigma = sqrt(var + eps), where
    mu and var (biased) run over the trailing normalised axes of each sample (D values).

    Means below run over those D values; sums for gamma and beta over the leading axes.
        g_hat      = gamma * g                                         (g = grad_out)
        grad_x     = (1 / sigma) (g_hat - mean(g_hat) - x_hat mean(g_hat x_hat))
        grad_gamma = sum(g x_hat),   grad_beta = sum(g)
    The map v -> v - mean(v) - x_hat mean(x_hat v) is symmetric (a projection), so the jvp
    uses the same one: dx_hat = (1 / sigma) P(dx), dy = gamma dx_hat + dgamma x_hat + dbeta.
    The inputs are x, then gamma and beta where present (``affine`` says which).
    """

    saved_inputs = (1,)  # gamma; x enters the backward through x_hat, which forward made

    def forward(self, x, *params, axes, affine, eps):
        has_gamma, has_beta = affine
        mu = x.mean(axis=axes, keepdims=True)
        centred = x - mu
        var = (centred * centred).mean(axis=axes, keepdims=True)  # biased, as torch
        self.inv_std = inv_std = 1.0 / xp.sqrt(var + eps)
        self.x_hat = x_hat = centred * inv_std
        self.axes, self.affine = axes, affine
        self.leading = tuple(range(x.ndim - len(axes)))
        self.gamma = params[0] if has_gamma else None
        y = x_hat * self.gamma if has_gamma else x_hat.copy()
        if has_beta:
            y += params[-1]
        return y

    def _project(self, v):
        """P(v) = v - mean(v) - x_hat mean(x_hat v), over the normalised axes (see above)."""
        x_hat, axes = self.x_hat, self.axes
        mean_v = v.mean(axis=axes, keepdims=True)
        return v - mean_v - x_hat * (x_hat * v).mean(axis=axes, keepdims=True)

    def backward(self, grad_out):
        g, grads = grad_out, []
        if self.needs[0]:
            g_hat = g if self.gamma is None else g * self.gamma
            grads.append(self.inv_std * self._project(g_hat))
        else:
            grads.append(None)
        i = 1
        if self.affine[0]:
            grads.append((g * self.x_hat).sum(axis=self.leading) if self.needs[i] else None)
            i += 1
        if self.affine[1]:
            grads.append(g.sum(axis=self.leading) if self.needs[i] else None)
        return tuple(grads)

    def jvp(self, dx, *dparams):
        # dy = gamma dx_hat + dgamma x_hat + dbeta,  dx_hat = (1 / sigma) P(dx)
        has_gamma, has_beta = self.affine
        dgamma = dparams[0] if has_gamma else None
        dbeta = dparams[-1] if has_beta else None
        terms = []
        if dx is not None:
            dx_hat = self.inv_std * self._project(dx)
            terms.append(dx_hat if self.gamma is None else dx_hat * self.gamma)
        if dgamma is not None:
            terms.append(dgamma * self.x_hat)
        if dbeta is not None:
            terms.append(xp.broadcast_to(dbeta, self.x_hat.shape))
        return add_tangents(*terms) if terms else xp.zeros_like(self.x_hat)


def _shape(normalized_shape):
    shape = normalized_shape
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if (
        not shape
        or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in shape)
        or min(shape) < 1
    ):
        raise ValueError(f"layer_norm: expected normalized_shape to be a positive int or a "
                         f"non-empty tuple of positive ints, got {normalized_shape!r}")  # fmt: skip
    return tuple(int(n) for n in shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation of x over its trailing ``len(normalized_shape)`` axes, one fused op
    (Ba et al. 2016), as torch's F.layer_norm:

        mu = mean of x over those axes,  var = biased variance over them   (per sample)
        x_hat = (x - mu) / sqrt(var + eps),   y = weight * x_hat + bias

    The statistics of each sample (each position of a (batch, time, features) sequence) are
    its own, in training and evaluation alike. See ``LayerNorm`` for the backward.

    Args:
        x: Tensor (..., *normalized_shape); a plain array is a constant (of weight's dtype
            when weight is a Tensor).
        normalized_shape: int or tuple of ints: the trailing shape of x to normalise over.
        weight, bias: Tensors of shape normalized_shape (gamma and beta), or None (no scale,
            no shift); plain arrays are constants.
        eps: added to the variance, > 0.
    Shapes: x (..., *normalized_shape) -> y of x's shape.
    Raises:
        ValueError: normalized_shape not a positive int or tuple of them; eps <= 0.
        ShapeError: x's trailing shape, or weight's or bias's shape, not normalized_shape.
    Reference: Ba, Kiros & Hinton, "Layer normalization", arXiv:1607.06450 (2016).
    """
    shape = _shape(normalized_shape)
    if not isinstance(x, Tensor):
        like = next((p for p in (weight, bias) if isinstance(p, Tensor)), None)
        x = as_tensor(x, like) if like is not None else Tensor(xp.asarray(x))
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k :]) != shape:
        raise ShapeError(f"layer_norm: expected x of shape (..., {', '.join(map(str, shape))}) "
                         f"(normalized_shape {shape}), got {x.shape}")  # fmt: skip
    params = []
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        p = as_tensor(p, x)
        if tuple(p.shape) != shape:
            raise ShapeError(f"layer_norm: expected {name} of shape {shape} (normalized_shape), "
                             f"got {p.shape}")  # fmt: skip
        params.append(p)
    if isinstance(eps, bool) or not (isinstance(eps, numbers.Real) and eps > 0):
        raise ValueError(f"layer_norm: expected eps > 0, got {eps!r}")
    axes = tuple(range(x.ndim - k, x.ndim))
    return LayerNorm.apply(x, *params, axes=axes, affine=(weight is not None, bias is not None),
                           eps=float(eps))  # fmt: skip
