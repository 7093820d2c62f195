"""Automatic differentiation: ``Tensor``, the reverse walk, grad mode, gradcheck, and forward
mode (``jvp``) with Hessian-vector products (``hvp``, ``hessian``)."""

from .forward import hessian, hessian_from_gradient, hvp, jvp
from .gradcheck import gradcheck, numerical_grad
from .graph import Op, backward, enable_grad, is_grad_enabled, no_grad
from .tensor import Tensor, tensor

__all__ = [
    "Tensor",
    "tensor",
    "Op",
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
