"""Networks: modules, layers, initializers and the diagnostics recorder."""

from . import init
from .activation import (  # fmt: skip
    ELU, GELU, Activation, Identity, LeakyReLU, LogSoftmax, Maxout,
    ReLU, Sigmoid, Softmax, Softplus, Softsign, Step, Tanh,
)
from .blocks import Concat, Residual
from .dense import Dense
from .diagnostics import Recorder
from .dropout import Dropout
from .module import REGISTRY, Module, Parameter, Sequential, register
from .normalization import BatchNorm
from .noise import GaussianNoise
from .torch_state import load_torch_state_dict

__all__ = [
    "Module", "Parameter", "Sequential", "Residual", "Concat", "Dense", "Dropout", "BatchNorm",
    "GaussianNoise",
    "Recorder", "init", "register", "REGISTRY", "Activation", "Step", "Identity", "Sigmoid",
    "Tanh", "ReLU", "LeakyReLU", "Softsign", "Softplus", "ELU", "GELU", "Maxout", "Softmax",
    "LogSoftmax", "load_torch_state_dict",
]  # fmt: skip
