"""Pictures of a network and its training: learning curves, decision regions, histograms of
weights, activations and deltas, the statistics a diagnostics Recorder stored, the filters
and feature maps of convolutional networks, and the confusion matrix.

    learning_curves(history)                  loss and metrics per epoch
    decision_regions(model, X, y)             the predicted class over the plane
    activation_histograms(model, X, y)        each Dense layer's a and delta
    layer_values(model, X, y)                 the same values as arrays (no matplotlib)
    layer_statistics(recorder)                a Recorder's statistics per step (Dense and conv)
    plot_time_deltas(recorder)                ||dE/dh_t|| over time t for each recurrent cell
    weight_histograms(model)                  each Dense layer's W
    plot_filters(model_or_layer)              a convolution's kernels, one image per filter
                                              (RGB for 3 input channels)
    plot_feature_maps(model, x)               one input's feature maps at a layer, one image
                                              per channel (default: the first convolution,
                                              after its activation)
    confusion_matrix(y_true, y_pred)          the counts (no matplotlib)
    plot_confusion_matrix(y_true, y_pred)     the counts as an image

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
    plot_feature_maps,
    plot_filters,
    plot_time_deltas,
    weight_histograms,
)

__all__ = ["activation_histograms", "confusion_matrix", "decision_regions", "layer_statistics",
           "layer_values", "learning_curves", "plot_confusion_matrix", "plot_feature_maps",
           "plot_filters", "plot_time_deltas", "weight_histograms"]  # fmt: skip
