"""Batch normalisation (Ioffe & Szegedy 2015) as one fused op: normalise each feature over the
batch, then scale and shift; the backward is the paper's in closed form.

Reference: S. Ioffe, C. Szegedy, "Batch normalization: accelerating deep network training by
reducing internal covariate shift", ICML 2015, Algorithm 1 and the chain rule below it.
"""

import numbers

from ..autodiff import Op, Tensor
from ..backend import xp
from ..errors import ShapeError
from ._util import add_tangents, as_tensor

__all__ = ["batch_norm"]


class BatchNorm(Op):
    """y = gamma * x_hat + beta with x_hat = (x - mu) / sqrt(var + eps), per feature.

    Training (mu, var: mean and biased variance of x over the batch of n samples):
        grad_x     = (gamma / sqrt(var + eps)) / n * (n g - sum(g) - x_hat * sum(g x_hat))
    Eval (mu, var: the running statistics, constants):
        grad_x     = gamma / sqrt(var + eps) * g
    Both:
        grad_gamma = sum(g x_hat),   grad_beta = sum(g)       (sums over the batch; g = grad_out)
    In training, running_mean and running_var (if given) are updated in place, as torch does:
        running_mean = (1 - momentum) running_mean + momentum mu
        running_var  = (1 - momentum) running_var  + momentum var * n / (n - 1)   (unbiased)
    """

    saved_inputs = (1,)  # gamma; x enters the backward through x_hat, which forward made

    def forward(self, x, gamma, beta, running_mean, running_var, training, momentum, eps):
        if training:
            mu, var = x.mean(axis=0), x.var(axis=0)
            if running_mean is not None:
                n = x.shape[0]
                running_mean *= 1.0 - momentum
                running_mean += momentum * mu
                running_var *= 1.0 - momentum
                running_var += (momentum * n / (n - 1)) * var
        else:  # the running statistics may have another dtype than x: x's dtype wins
            mu, var = (
                running_mean.astype(x.dtype, copy=False),
                running_var.astype(x.dtype, copy=False),
            )
        self.inv_std = 1.0 / xp.sqrt(var + eps)
        self.x_hat = (x - mu) * self.inv_std
        self.gamma, self.training = gamma, training
        return gamma * self.x_hat + beta

    def backward(self, grad_out):
        g, x_hat = grad_out, self.x_hat
        grad_beta = g.sum(axis=0)
        grad_gamma = (g * x_hat).sum(axis=0)
        grad_x = None
        if self.needs[0]:
            scale = self.gamma * self.inv_std
            if self.training:
                n = g.shape[0]
                grad_x = (scale / n) * (n * g - grad_beta - x_hat * grad_gamma)
            else:
                grad_x = scale * g
        return (grad_x, grad_gamma if self.needs[1] else None, grad_beta if self.needs[2] else None)

    def jvp(self, dx, dgamma, dbeta):
        # training: dx_hat = inv_std (dx - mean(dx) - x_hat mean(x_hat dx)); eval: inv_std dx
        # dy = gamma dx_hat + dgamma x_hat + dbeta
        x_hat, terms = self.x_hat, []
        if dx is not None:
            dx_hat = (dx - dx.mean(axis=0) - x_hat * (x_hat * dx).mean(axis=0)
                      if self.training else dx)
            terms.append(self.gamma * self.inv_std * dx_hat)
        if dgamma is not None:
            terms.append(dgamma * x_hat)
        if dbeta is not None:
            terms.append(xp.broadcast_to(dbeta, x_hat.shape))
        return add_tangents(*terms) if terms else xp.zeros_like(x_hat)


def _check_vector(name, value, n_features):
    if value.shape != (n_features,):
        raise ShapeError(f"batch_norm: expected {name} of shape ({n_features},), got {value.shape}")


def _as_buffer(name, value):
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, xp.ndarray) or not xp.issubdtype(value.dtype, xp.floating):
        raise TypeError(
            f"batch_norm: expected {name} as a floating NumPy array (updated in place), got "
            f"{type(value).__name__}"
            + (f" of dtype {value.dtype}" if hasattr(value, "dtype") else "")
        )
    return value


def batch_norm(x, gamma, beta, running_mean=None, running_var=None, training=True,
               momentum=0.1, eps=1e-5):  # fmt: skip
    """Batch normalisation of x (batch, features), one fused op (Ioffe & Szegedy 2015, Alg. 1).

        mu = mean of x over the batch,  var = biased variance over the batch   (training)
        mu = running_mean,              var = running_var                       (eval)
        x_hat = (x - mu) / sqrt(var + eps),   y = gamma * x_hat + beta

    In training the running statistics, when given, are updated in place as in torch:
    running_mean = (1 - momentum) running_mean + momentum mu, and running_var likewise with
    the unbiased batch variance var * n / (n - 1). See ``BatchNorm`` for the backward.

    Args:
        x: Tensor (batch, features); a plain array is taken as a constant of gamma's dtype.
        gamma, beta: Tensors (features,): scale and shift (plain arrays: constants).
        running_mean, running_var: NumPy arrays (features,), or None (then only training mode
            is possible); updated in place in training.
        training: normalise with the batch statistics (True) or the running ones (False).
        momentum: weight of the current batch in the running statistics, in [0, 1].
        eps: added to the variance, > 0.
    Shapes: x (batch, features) -> y (batch, features).
    Raises:
        ShapeError: x not 2-D, or gamma, beta or a running statistic not of shape (features,).
        ValueError: a batch of one sample in training (its variance is undefined); eval mode
            without running statistics; momentum outside [0, 1]; eps <= 0.
        TypeError: a running statistic that is not a floating NumPy array.
    Reference: Ioffe & Szegedy, "Batch normalization", ICML 2015, Algorithm 1.
    """
    if not isinstance(x, Tensor):
        x = as_tensor(x, gamma) if isinstance(gamma, Tensor) else Tensor(xp.asarray(x))
    gamma, beta = as_tensor(gamma, x), as_tensor(beta, x)
    if x.ndim != 2:
        raise ShapeError(f"batch_norm: expected x of shape (batch, features), got {x.shape}")
    n_features = x.shape[1]
    _check_vector("gamma", gamma, n_features)
    _check_vector("beta", beta, n_features)
    if (running_mean is None) != (running_var is None):
        raise ValueError(
            "batch_norm: expected both running_mean and running_var or neither, got one"
        )
    if running_mean is not None:
        running_mean = _as_buffer("running_mean", running_mean)
        running_var = _as_buffer("running_var", running_var)
        _check_vector("running_mean", running_mean, n_features)
        _check_vector("running_var", running_var, n_features)
    if training and x.shape[0] < 2:
        raise ValueError(
            f"batch_norm: expected more than one sample per batch in training, got input of shape "
            f"{x.shape}; the variance over a batch of one sample is undefined (use eval mode)"
        )
    if not training and running_mean is None:
        raise ValueError(
            "batch_norm: expected running_mean and running_var in eval mode (training=False), "
            "got None"
        )
    if not (isinstance(momentum, numbers.Real) and 0.0 <= momentum <= 1.0):
        raise ValueError(f"batch_norm: expected momentum in [0, 1], got {momentum!r}")
    if not (isinstance(eps, numbers.Real) and eps > 0):
        raise ValueError(f"batch_norm: expected eps > 0, got {eps!r}")
    return BatchNorm.apply(x, gamma, beta, running_mean=running_mean, running_var=running_var,
                           training=bool(training), momentum=float(momentum),
                           eps=float(eps))  # fmt: skip
