"""Adversarial examples: the gradient of the loss with respect to the input, and the fast
gradient sign method built on it.

Reference: I. J. Goodfellow, J. Shlens, C. Szegedy, "Explaining and harnessing adversarial
examples", ICLR 2015, eq. 3.
"""

import math
import numbers

import numpy as np

from ..autodiff import Tensor
from ..nn import loss as losses
from .checks import as_features, as_targets, first_layer_check, probe_loss

__all__ = ["fgsm", "input_gradient"]


def _loss_value(loss_fn, out, y):
    """The loss with mean reduction: named losses are asked for it, callables used as given."""
    if isinstance(loss_fn, losses.Loss):
        return loss_fn(out, y, reduction="mean")
    return loss_fn(out, y)


def input_gradient(model, X, y, *, loss):
    """dL/dX: the gradient of the loss with respect to the inputs, one backward pass.

        L = 1/N sum_i loss(model(x_i), y_i),   returns grad_X = dL/dX   (N: samples in X)

    The model runs in eval mode (dropout off, batch norm on running statistics) and its mode is
    restored afterwards. The parameters get no gradient: their ``.grad`` stays as it was.

    Args:
        model: a Module. X: (samples, features), converted to the model's dtype.
        y: targets as for ``fit`` (integer labels or one-hot for "cross_entropy").
        loss: a name from ``glassnet.nn.loss`` ('cross_entropy', 'mse', ...), evaluated with
            mean reduction over the samples ('sse' too), or a callable loss(output, target)
            returning a scalar Tensor (used as it is).
    Returns:
        A NumPy array of X's shape in the model's dtype.
    Raises:
        ValueError, ShapeError, TypeError: bad data, as ``fit`` raises them.
    """
    who = "input_gradient"
    loss_fn = losses.get(loss)
    X = as_features(who, X, model.dtype)
    y = as_targets(who, y, len(X), model.dtype, getattr(loss_fn, "name", None) == "cross_entropy")
    first_layer_check(who, model, X)
    loss_fn = losses.bind(loss_fn, model)
    probe_loss(who, model, loss_fn, X, y)
    params = model.parameters()
    flags = [p.requires_grad for p in params]
    was_training = model.training
    model.eval()
    try:
        for p in params:  # only the input's gradient is wanted: skips grad_W and leaves .grad alone
            p.requires_grad = False
        x = Tensor(X.copy(), requires_grad=True)
        _loss_value(loss_fn, model(x), y).backward()
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad = flag
        model.train(was_training)
    return x.grad if x.grad is not None else np.zeros_like(X)  # a loss that ignores X


def fgsm(model, X, y, *, loss, eps):
    """Fast gradient sign method: x_adv = clip(x + eps * sign(grad_x L), 0, 1).

    Each input element moves by exactly eps in the direction that increases the loss (an
    element whose gradient is zero stays), then the result is clipped to the pixel range
    [0, 1]. This is the max-norm attack of the reference's eq. 3, eta = eps sign(grad_x J).

    Args:
        model: a Module. X: (samples, features) with values in [0, 1]. y: targets.
        loss: as for ``input_gradient`` (a name or a callable).
        eps: the step size in max norm, >= 0.
    Returns:
        x_adv, a NumPy array of X's shape in the model's dtype.
    Raises:
        ValueError: eps negative or not finite; bad data as for ``fit``.
    Reference: Goodfellow, Shlens & Szegedy, "Explaining and harnessing adversarial examples",
        ICLR 2015, eq. 3.
    """
    if isinstance(eps, bool) or not (
        isinstance(eps, numbers.Real) and math.isfinite(eps) and eps >= 0
    ):
        raise ValueError(f"fgsm: expected eps >= 0, got {eps!r}")
    grad = input_gradient(model, X, y, loss=loss)
    X = as_features("fgsm", X, model.dtype)
    x_adv = X + X.dtype.type(eps) * np.sign(grad)
    return x_adv.clip(0.0, 1.0)
