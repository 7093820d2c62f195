"""Automatic differentiation: ``Tensor``, the reverse walk, grad mode, gradcheck, and forward
mode (``jvp``) with Hessian-vector products (``hvp``, ``hessian``)."""

from .forward import hessian, hessian_from_gradient, hvp, jvp
from .gradcheck import gradcheck, numerical_grad
from .graph import IndexedGrad, Op, backward, enable_grad, is_grad_enabled, no_grad, walk
from .tensor import Tensor, from_numpy, tensor

__all__ = [
    "Tensor",
    "tensor",
    "from_numpy",
    "Op",
    "IndexedGrad",
    "walk",
    "backward",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "numerical_grad",
    "jvp",
    "hvp",
    "hessian",
    "hessian_from_gradient",
]
