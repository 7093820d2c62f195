"""Reverse-mode automatic differentiation: ``Tensor``, the graph walk, grad mode, gradcheck."""

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
]
