"""Classic models built on the engine: the perceptron, single linear neurons (ADALINE,
logistic regression, least squares in closed form) and the MLP with shortcut connections.

Floor 6: these import from the floors below (train, nn, optim, ops, ...), nothing imports
them, and they need NumPy alone.
"""

from .linear import Adaline, LinearRegression, LogisticRegression
from .perceptron import Perceptron
from .shortcut import ShortcutMLP

__all__ = ["Adaline", "LinearRegression", "LogisticRegression", "Perceptron", "ShortcutMLP"]
