"""Pictures of a network and its training: learning curves, decision regions, histograms of
weights, activations and deltas, and the confusion matrix.

matplotlib is optional (``pip install glassnet[plot]``): it is imported inside the plotting
functions only, so ``import glassnet.viz`` needs NumPy alone. Every plotting function returns
a ``matplotlib.figure.Figure`` made without pyplot (no GUI backend, no global figure state)
and, given ``path``, also writes it there (PNG unless the suffix names another format).
``confusion_matrix`` and ``layer_values`` compute arrays and need no matplotlib at all.
"""

from .plots import (
    activation_histograms,
    confusion_matrix,
    decision_regions,
    layer_statistics,
    layer_values,
    learning_curves,
    plot_confusion_matrix,
    weight_histograms,
)

__all__ = ["learning_curves", "decision_regions", "activation_histograms", "layer_values",
           "layer_statistics", "weight_histograms", "confusion_matrix",
           "plot_confusion_matrix"]  # fmt: skip
