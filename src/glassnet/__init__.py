"""glassnet: artificial neural networks with nothing hidden, on their own autodiff."""

from . import autodiff, backend, errors, ops
from .autodiff import Tensor, no_grad, tensor

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "no_grad", "autodiff", "ops", "backend", "errors", "__version__"]
