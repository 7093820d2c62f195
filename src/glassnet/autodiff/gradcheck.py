"""Gradient checking: analytic backward passes against central finite differences (float64)."""

import numpy as np

from ..errors import GradcheckError
from .graph import no_grad
from .tensor import Tensor

__all__ = ["numerical_grad", "gradcheck"]

_FULL_CHECK_LIMIT = 400  # inputs with more elements are checked along random directions


def _scalarize(f, inputs, weights):
    """Scalar L = sum(weights * f(*inputs)); weights fix one random projection of the output."""
    out = f(*inputs)
    return (out.data * weights).sum() if weights is not None else out.data.sum()


def numerical_grad(f, inputs, index, weights=None, eps=1e-6):
    """Central differences dL/d inputs[index], L = sum(weights * f(*inputs)), element by element.

        dL/dx_k ~ (L(x + eps e_k) - L(x - eps e_k)) / (2 eps)
    """
    x = inputs[index].data
    grad = np.zeros_like(x)
    with no_grad():
        for k in np.ndindex(*x.shape):
            saved = x[k]
            x[k] = saved + eps
            plus = _scalarize(f, inputs, weights)
            x[k] = saved - eps
            minus = _scalarize(f, inputs, weights)
            x[k] = saved
            grad[k] = (plus - minus) / (2 * eps)
    return grad


def _directional(f, inputs, index, direction, weights, eps):
    x = inputs[index].data
    saved = x.copy()
    with no_grad():
        x[...] = saved + eps * direction
        plus = _scalarize(f, inputs, weights)
        x[...] = saved - eps * direction
        minus = _scalarize(f, inputs, weights)
    x[...] = saved
    return (plus - minus) / (2 * eps)


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the backward pass of ``f`` against central finite differences in float64.

    ``f`` maps Tensors to a Tensor. The output is reduced to a scalar with fixed random weights
    (so every output element matters), backward gives the analytic gradient of every input,
    and each is compared with central differences: element by element for inputs of up to 400
    elements, along three random directions for larger ones. Non-float inputs (labels, masks)
    are passed through unchanged and not checked.

    Args:
        f: callable taking Tensors, returning a Tensor.
        inputs: arrays or Tensors; floating ones are converted to float64 leaf tensors.
        eps: finite-difference step. atol, rtol: tolerance, |analytic - numeric| <=
            atol + rtol * |numeric|.

    Returns:
        True when every gradient agrees.

    Raises:
        GradcheckError: naming the input, the element (or direction) and both values.
    """
    tensors = []
    for x in inputs:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if np.issubdtype(data.dtype, np.floating):
            tensors.append(Tensor(np.array(data, dtype=np.float64), requires_grad=True))
        else:
            tensors.append(Tensor(data))
    rng = np.random.default_rng(seed)
    out = f(*tensors)
    weights = rng.uniform(0.5, 1.5, size=out.shape) if out.ndim else None
    upstream = np.ones_like(out.data) if weights is None else weights.astype(out.dtype)
    if out.requires_grad:
        out.backward(upstream)
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        if t.size <= _FULL_CHECK_LIMIT:
            numeric = numerical_grad(f, tensors, i, weights, eps)
            bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
            if bad.any():
                k = tuple(int(j) for j in np.argwhere(bad)[0])
                raise GradcheckError(
                    f"gradcheck: input {i}, element {k}: analytic gradient {float(analytic[k])!r}, "
                    f"numerical {float(numeric[k])!r}"
                )
            continue
        for d in range(3):
            direction = rng.standard_normal(t.shape)
            numeric = _directional(f, tensors, i, direction, weights, eps)
            exact = float((analytic * direction).sum())
            if abs(exact - numeric) > atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck: input {i}, random direction {d}: analytic directional "
                    f"derivative {exact!r}, numerical {numeric!r}"
                )
    return True
