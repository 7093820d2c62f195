"""Classic models built on the engine: the perceptron, single linear neurons (ADALINE,
logistic regression, least squares in closed form), the MLP with shortcut connections, and the
scikit-learn estimators NeuralNetClassifier and NeuralNetRegressor.

Floor 6: these import from the floors below (train, nn, optim, ops, ...), nothing imports
them. The classic models need NumPy alone: the estimators' module, which imports
scikit-learn, is loaded only when one of its names is first asked for.
"""

from .linear import Adaline, LinearRegression, LogisticRegression
from .perceptron import Perceptron
from .shortcut import ShortcutMLP

__all__ = ["Adaline", "LinearRegression", "LogisticRegression", "NeuralNetClassifier",
           "NeuralNetRegressor", "Perceptron", "ShortcutMLP"]  # fmt: skip

_ESTIMATORS = ("NeuralNetClassifier", "NeuralNetRegressor")


def __getattr__(name):
    """Load the scikit-learn estimators on first use (PEP 562), so that importing
    glassnet.models does not import scikit-learn."""
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
