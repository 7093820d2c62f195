"""Networks: modules, layers, initializers and the diagnostics recorder."""

from . import init
from .activation import (  # fmt: skip
    ELU, GELU, Activation, Identity, LeakyReLU, LogSoftmax, Maxout,
    ReLU, Sigmoid, Softmax, Softplus, Softsign, Step, Tanh,
)
from .attention import MultiheadAttention, TransformerEncoderLayer
from .blocks import Concat, Residual
from .conv import (  # fmt: skip
    AvgPool1d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, Flatten, GlobalAvgPool2d, MaxPool1d,
    MaxPool2d, Upsample,
)
from .dense import Dense
from .diagnostics import Recorder
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .module import REGISTRY, Module, Parameter, Sequential, register
from .normalization import BatchNorm, BatchNorm2d, LayerNorm
from .noise import GaussianNoise
from .recurrent import GRU, LSTM, RNN
from .sequence import TimeDistributed
from .torch_state import load_torch_state_dict

__all__ = [
    "Module", "Parameter", "Sequential", "Residual", "Concat", "Dense", "Dropout", "BatchNorm",
    "GaussianNoise",
    "Recorder", "init", "register", "REGISTRY", "Activation", "Step", "Identity", "Sigmoid",
    "Tanh", "ReLU", "LeakyReLU", "Softsign", "Softplus", "ELU", "GELU", "Maxout", "Softmax",
    "LogSoftmax", "load_torch_state_dict", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d",
    "MaxPool2d", "AvgPool1d", "AvgPool2d", "GlobalAvgPool2d", "Upsample", "Flatten", "BatchNorm2d",
    "Dropout2d",
    "LayerNorm", "Embedding",
    "RNN", "LSTM", "GRU", "TimeDistributed",
    "MultiheadAttention", "TransformerEncoderLayer",
]  # fmt: skip
