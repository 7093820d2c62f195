"""The plots, each a function that returns a matplotlib ``Figure`` (and writes it to ``path``).

The figures are made with ``matplotlib.figure.Figure`` directly, not with pyplot: no backend is
chosen, no window opens and no global list of figures grows, so the functions are safe in
scripts, tests and servers alike. matplotlib is imported inside each function (B1).
"""

import math

import numpy as np

from ..autodiff import Tensor, no_grad
from ..backend import to_host
from ..errors import ShapeError
from ..nn import loss as losses
from ..nn.conv import Conv1d, Conv2d, ConvTranspose2d
from ..nn.dense import Dense
from ..nn.diagnostics import _activations_after_conv
from ..train.callbacks import History
from ..train.checks import as_features, as_targets, first_layer_check, probe_loss
from ..train.metrics import predicted_classes

__all__ = ["activation_histograms", "confusion_matrix", "decision_regions", "layer_statistics",
           "layer_values", "learning_curves", "plot_confusion_matrix", "plot_feature_maps",
           "plot_filters", "plot_time_deltas", "weight_histograms"]  # fmt: skip

DPI = 100  # a figure of figsize (w, h) inches is written as w*100 x h*100 pixels


# -- shared helpers -------------------------------------------------------------------------------


def _matplotlib(who):
    """(matplotlib, Figure), or an ImportError that says how to install them."""
    try:
        import matplotlib
        import matplotlib.colors  # ListedColormap, used by the callers
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"{who}: expected matplotlib, which is not installed; "
                          "pip install glassnet[plot]") from None  # fmt: skip
    return matplotlib, Figure


def _axes_grid(Figure, n, columns=3, size=(4.0, 3.0)):
    """A figure with ``n`` axes in rows of at most ``columns`` (no empty axes left over)."""
    cols = min(n, columns)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(size[0] * cols, size[1] * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, list(axes[:n])


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=DPI)
    return fig


def _class_colors(matplotlib, who, n_classes):
    """Distinct colours, one per class (tab10, or tab20 beyond ten classes), as an RGB array."""
    if n_classes > 20:
        raise ValueError(f"{who}: expected at most 20 classes to colour apart, got {n_classes}")
    name = "tab10" if n_classes <= 10 else "tab20"
    return np.asarray(matplotlib.colormaps[name].colors[:n_classes])


def _labels(who, name, y, n=None):
    """Class labels as a 1-D int64 array (a column (n, 1) is accepted), checked."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or (n is not None and len(y) != n):
        expected = "(samples,)" if n is None else f"({n},)"
        raise ShapeError(
            f"{who}: expected {name} as class labels of shape {expected}, got {y.shape}"
        )
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise TypeError(f"{who}: expected numeric class labels in {name}, got dtype {y.dtype}")
    if y.size and (np.any(y != np.round(y)) or y.min() < 0):
        raise ValueError(f"{who}: expected non-negative integer class labels in {name}, "
                         f"got values such as {y[(y != np.round(y)) | (y < 0)][0]!r}")  # fmt: skip
    return y.astype(np.int64)


def _dense_layers(who, model):
    dense = [
        (name or type(m).__name__, m) for name, m in model.named_modules() if isinstance(m, Dense)
    ]
    if not dense:
        raise ValueError(f"{who}: expected a model with Dense layers, got {type(model).__name__}")
    return dense


# -- learning curves ------------------------------------------------------------------------------


def learning_curves(history, path=None):
    """The loss and each metric per epoch, training and validation, one axes per quantity.

    Args:
        history: a ``History`` (from ``fit`` or ``glassnet.load_history``) or its ``.history``
            dict {"loss": [...], "val_loss": [...], "accuracy": [...], ...}.
        path: where to write the figure (PNG unless the suffix names another format), or None.
    Returns:
        The Figure. Axes k shows quantity k ("loss" first): line 0 the training values, line 1
        the "val_" values (when recorded), against epochs 1, 2, ...; an early stop is the title.
    Raises:
        ValueError: a history without any recorded epoch.
        ImportError: matplotlib is not installed.
    """
    who = "learning_curves"
    records = history.history if isinstance(history, History) else history
    if not isinstance(records, dict):
        raise TypeError(
            f"{who}: expected a History or its dict of lists, got {type(history).__name__}"
        )
    if not any(len(values) for values in records.values()):
        raise ValueError(f"{who}: expected a history with at least one recorded epoch, got none")
    quantities = []  # "loss", each metric, and any val_ quantity without a training counterpart
    for key in records:
        base = key.removeprefix("val_")
        if base not in quantities and (key == base or base not in records):
            quantities.append(base)
    _, Figure = _matplotlib(who)
    from matplotlib.ticker import MaxNLocator

    fig, axes = _axes_grid(Figure, len(quantities), columns=2)
    for ax, quantity in zip(axes, quantities):
        for key, label in ((quantity, "training"), (f"val_{quantity}", "validation")):
            if key in records:
                values = np.asarray(records[key], dtype=np.float64)
                marker = "." if len(values) < 30 else None
                ax.plot(np.arange(1, len(values) + 1), values, marker=marker, label=label)
        ax.set(title=quantity, xlabel="epoch", ylabel=quantity)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        ax.legend()
    stop_reason = getattr(history, "stop_reason", None)
    if stop_reason:
        fig.suptitle(f"training stopped early: {stop_reason}")
    return _finish(fig, path)


# -- decision regions -----------------------------------------------------------------------------


def decision_regions(model, X, y, path=None, resolution=200, *, threshold=0.5):
    """The class a 2-input classifier predicts over the plane, with the samples on top.

    The plane around the samples (their range plus 10% on each side) is sampled on a
    ``resolution`` x ``resolution`` grid; the predicted class of each grid point is shown as an
    image (``AxesImage``) whose cell centres are the grid points, class k in colour k of a
    fixed palette (tab10). The samples are drawn in the colour of their true class.

    Args:
        model: a Module with 2 inputs. X: (samples, 2). y: (samples,) integer class labels.
        path: where to write the figure, or None. resolution: grid points per axis (>= 2).
        threshold: for a single output, class 1 where the output exceeds it (0.5 for a
            sigmoid output; 0 for logits).
    Returns:
        The Figure; ``fig.axes[0].images[0].get_array()`` holds the predicted classes, row i at
        the i-th grid value of the second feature (origin at the bottom).
    Raises:
        ShapeError: X without exactly 2 features, or y of another length.
        ValueError: bad labels or resolution. ImportError: matplotlib is not installed.
    """
    who = "decision_regions"
    X = as_features(who, X, model.dtype)
    if X.shape[1] != 2:
        raise ShapeError(
            f"{who}: expected X with 2 features (points in the plane), got shape {X.shape}"
        )
    first_layer_check(who, model, X)
    y = _labels(who, "y", y, len(X))
    if (
        not isinstance(resolution, (int, np.integer))
        or isinstance(resolution, bool)
        or resolution < 2
    ):
        raise ValueError(f"{who}: expected resolution to be an integer >= 2, got {resolution!r}")
    low, high = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
    margin = np.where(high > low, 0.1 * (high - low), 1.0)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # row-major: y outer, x inner
    output = model.predict(grid)
    classes = np.asarray(predicted_classes(output, threshold)).reshape(resolution, resolution)
    n_outputs = output.shape[1] if output.ndim == 2 else 1
    n_classes = max(n_outputs if n_outputs > 1 else 2, int(y.max()) + 1)
    matplotlib, Figure = _matplotlib(who)
    from matplotlib.patches import Patch

    colors = _class_colors(matplotlib, who, n_classes)
    fig = Figure(figsize=(6, 5), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    extent = (xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2)  # cell centres
    ax.imshow(classes, origin="lower", extent=extent,
              cmap=matplotlib.colors.ListedColormap(colors), vmin=-0.5, vmax=n_classes - 0.5,
              alpha=0.4, interpolation="nearest", aspect="auto")  # fmt: skip
    ax.scatter(X[:, 0], X[:, 1], c=colors[y], s=16, edgecolors="black", linewidths=0.5)
    ax.legend(handles=[Patch(color=colors[k], label=f"class {k}") for k in range(n_classes)],
              loc="upper right", fontsize="small")  # fmt: skip
    ax.set(title="predicted class (regions) and true class (points)", xlabel="x1", ylabel="x2")
    return _finish(fig, path)


# -- activations and deltas -----------------------------------------------------------------------


def layer_values(model, X, y=None, *, loss=None):
    """The net inputs, activations and deltas of every Dense layer for X, in one pass.

        net = a_prev @ W^T + b,   a = f(net),   delta = dE/dnet

    One forward pass over all of X in eval mode (dropout off), with a forward hook on each
    Dense layer (on its activation layer when it has one, whose input is net), and, given y
    and loss, one backward pass with a tensor hook on each net. E is the loss as ``fit``
    computes it for a batch holding all of X (with the loss's own reduction). The model's
    mode and its parameters' ``.grad`` are left as they were.

    Args:
        model: a Module with Dense layers. X: (samples, features).
        y: targets as for ``fit``, or None for no backward pass. loss: a loss name or callable
            (required with y).
    Returns:
        {layer name: {"net": array, "a": array, "delta": array or None}}, arrays of shape
        (samples, units), in the order the layers ran.
    Raises:
        ValueError, ShapeError, TypeError: bad data, as ``fit`` raises them.
    """
    who = "layer_values"
    dense = _dense_layers(who, model)
    X = as_features(who, X, model.dtype)
    first_layer_check(who, model, X)
    loss_fn = None
    if y is not None:
        if loss is None:
            raise ValueError(f"{who}: expected a loss with y (for the deltas), got loss=None")
        loss_fn = losses.bind(loss, model)  # the first layer was checked above
        y = as_targets(
            who, y, len(X), model.dtype, getattr(loss_fn, "name", None) == "cross_entropy"
        )
        probe_loss(who, model, loss_fn, X, y)
    values, handles = {}, []

    def watch(name, has_activation):
        def record(module, inputs, out):
            net = inputs[0] if has_activation else out
            entry = {"net": np.array(net.data), "a": np.array(out.data), "delta": None}
            values[name] = entry
            if net.requires_grad:

                def keep_delta(delta):
                    entry["delta"] = np.array(delta)

                net.register_hook(keep_delta)

        return record

    for name, layer in dense:
        watched = layer if layer.activation is None else layer.activation
        handles.append(watched.register_forward_hook(watch(name, layer.activation is not None)))
    params = model.parameters()
    flags = [p.requires_grad for p in params]
    was_training = model.training
    model.eval()
    try:
        if loss_fn is None:
            with no_grad():
                model(Tensor(X))
        else:
            for p in params:  # only the deltas are wanted: no grad_W, and .grad stays as it was
                p.requires_grad = False
            loss_fn(model(Tensor(X.copy(), requires_grad=True)), y).backward()
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad = flag
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return values


def activation_histograms(model, X, y=None, *, loss=None, path=None, bins=30):
    """Histograms of each Dense layer's activations a and, given y and loss, its deltas.

    The values come from ``layer_values`` (one forward and one backward pass over all of X):
    column j shows layer j; row 0 its activations a, row 1 its deltas dE/dnet. Saturated
    units show up as mass at the ends of a's range, vanishing deltas as a spike at 0.

    Args:
        model: a Module with Dense layers. X: (samples, features).
        y, loss: targets and loss as for ``fit`` (both or neither; without them, no deltas).
        path: where to write the figure, or None. bins: bins per histogram.
    Returns:
        The Figure; the bar heights of each axes add up to samples x units of its layer.
    Raises:
        ValueError, ShapeError, TypeError: bad data. ImportError: matplotlib is not installed.
    """
    who = "activation_histograms"
    values = layer_values(model, X, y, loss=loss)
    rows = 1 if y is None else 2
    _, Figure = _matplotlib(who)
    fig = Figure(figsize=(3.2 * len(values), 2.8 * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, len(values), squeeze=False)
    layers = dict(_dense_layers(who, model))
    for j, (name, entry) in enumerate(values.items()):
        ax = axes[0, j]
        ax.hist(entry["a"].ravel(), bins=bins, color="tab:blue")
        ax.set(title=f"{name}: a ({layers[name].activation_name})", xlabel="a", ylabel="count")
        if rows == 2:
            ax = axes[1, j]
            ax.hist(entry["delta"].ravel(), bins=bins, color="tab:orange")
            ax.set(title=f"{name}: delta", xlabel="delta = dE/dnet", ylabel="count")
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))  # 1e-4 as an offset
            ax.locator_params(axis="x", nbins=5)
    return _finish(fig, path)


def layer_statistics(recorder, path=None):
    """What a diagnostics ``Recorder`` stored, per recorded step: one axes per statistic.

    Axes, in order: the mean of a, the std of a, the fraction of saturated (or dead) units,
    the norm of the delta, each with one line per layer the recorder watched (Dense,
    convolution and activation layers, labelled with the layer's name; a layer whose
    activation has no saturation rule has no line there), and, when the recorder ran as a
    ``fit`` callback, the gradient norm of each parameter per batch.

    Args:
        recorder: a ``glassnet.nn.Recorder`` after training. path: where to write, or None.
    Returns:
        The Figure. None entries are plotted as gaps (NaN); norms on a log axis when positive.
    Raises:
        ValueError: a recorder that recorded nothing. ImportError: matplotlib is not installed.
    """
    who = "layer_statistics"
    if not any(stats["mean"] for stats in recorder.layers.values()):
        raise ValueError(
            f"{who}: expected a Recorder that has recorded steps, got none; pass it to "
            "fit(callbacks=[recorder]) or run the model in training mode"
        )
    panels = [("mean", "mean of a"), ("std", "std of a"), ("saturated", "saturated fraction"),
              ("delta_norm", "delta norm ||dE/dnet||")]  # fmt: skip
    sources = [
        (title, {name: stats[key] for name, stats in recorder.layers.items()})
        for key, title in panels
    ]
    if recorder.grad_norms:
        sources.append(("gradient norm per parameter", recorder.grad_norms))
    _, Figure = _matplotlib(who)
    fig, axes = _axes_grid(Figure, len(sources), columns=3)
    for ax, (title, series) in zip(axes, sources):
        for name, values in series.items():
            if not values or all(v is None for v in values):
                continue
            values = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, label=name)
        finite = np.concatenate(
            [np.asarray(line.get_ydata(), np.float64) for line in ax.get_lines()] or [[]]
        )
        finite = finite[np.isfinite(finite)]
        if "norm" in title and finite.size and finite.min() > 0:
            ax.set_yscale("log")
        ax.set(title=title, xlabel="recorded step" if "gradient" not in title else "batch")
        if ax.get_lines():
            ax.legend(fontsize="small")
    return _finish(fig, path)


def plot_time_deltas(recorder, path=None, *, layers=None, steps=4):
    """The gradient through time: ||dE/dh_t|| at every time step t of each recurrent cell a
    ``Recorder`` watched, for a few recorded training steps (log axis).

    One axes per cell ("lstm.l0", "lstm.l0_reverse", ...), x the time step in the cell's own
    order (for the loss at the last output, the right end is nearest to the loss), one line
    per chosen recorded step, labelled with its training step (the recorder's forward count,
    ``every`` apart). A plain RNN's norms fall geometrically to the left (the
    vanishing gradient, Hochreiter 1991; Bengio et al. 1994); an LSTM's fall far more slowly.

    Args:
        recorder: a ``glassnet.nn.Recorder`` that watched an RNN, LSTM or GRU in training, or
            a dict {label: Recorder} to compare models (one row of axes each, titled
            "label: cell").
        path: where to write the figure, or None.
        layers: None for every recurrent cell, or a list of cell names.
        steps: how many recorded steps to draw, spread evenly from the first to the last.
    Returns:
        The Figure.
    Raises:
        ValueError: no recurrent cell was watched, a cell has no completed backward, an unknown
            cell name, or ``steps`` < 1. ImportError: matplotlib is not installed.
    """
    who = "plot_time_deltas"
    recorders = recorder if isinstance(recorder, dict) else {None: recorder}
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{who}: expected steps a positive int, got {steps!r}")
    cells = {}
    for label, rec in recorders.items():
        found = {name: s for name, s in getattr(rec, "layers", {}).items()
                 if "time_delta_norm" in s}  # fmt: skip
        if not found:
            watched = sorted(getattr(rec, "layers", {})) or "nothing"
            raise ValueError(f"{who}: expected a Recorder watching an RNN, LSTM or GRU, got "
                             f"{type(rec).__name__} watching {watched}")  # fmt: skip
        if layers is not None:
            unknown = [name for name in layers if name not in found]
            if unknown:
                raise ValueError(f"{who}: expected cell names among {sorted(found)}, got "
                                 f"{unknown}")  # fmt: skip
            found = {name: found[name] for name in layers}
        cells.update({(name if label is None else f"{label}: {name}"): (s, rec.every)
                      for name, s in found.items()})  # fmt: skip
    _, Figure = _matplotlib(who)
    fig, axes = _axes_grid(Figure, len(cells), columns=2, size=(5.0, 3.2))
    for ax, (name, (stats, every)) in zip(axes, cells.items()):
        done = [k for k, norms in enumerate(stats["time_delta_norm"])
                if np.isfinite(to_host(norms)).all()]  # fmt: skip
        if not done:
            raise ValueError(f"{who}: expected {name!r} to have recorded a backward pass, got "
                             f"{len(stats['time_delta_norm'])} forward(s) without one")  # fmt: skip
        chosen = sorted({done[round(j * (len(done) - 1) / max(steps - 1, 1))]
                         for j in range(min(steps, len(done)))})  # fmt: skip
        for k in chosen:
            norms = to_host(stats["time_delta_norm"][k]).astype(np.float64)
            norms[norms <= 0] = np.nan  # a log axis: no gradient (masked, cut) is a gap
            ax.plot(np.arange(len(norms)), norms, label=f"training step {k * every + 1}")
        ax.set_yscale("log")
        ax.set(title=name, xlabel="time step t", ylabel="||dE/dh_t||")
        ax.legend(fontsize="small")
    return _finish(fig, path)


# -- weights --------------------------------------------------------------------------------------


def weight_histograms(model, path=None, bins=30):
    """One histogram per Dense weight matrix W, titled with its parameter name and shape.

    Args:
        model: a Module with Dense layers. path: where to write, or None. bins: bins each.
    Returns:
        The Figure; axes k's bar heights add up to the number of weights in the k-th W.
    Raises:
        ValueError: a model without Dense layers. ImportError: matplotlib is not installed.
    """
    who = "weight_histograms"
    dense = _dense_layers(who, model)
    _, Figure = _matplotlib(who)
    fig, axes = _axes_grid(Figure, len(dense), columns=3)
    for ax, (name, layer) in zip(axes, dense):
        W = np.asarray(layer.W.data)
        ax.hist(W.ravel(), bins=bins, color="tab:green")
        out_features, in_features = W.shape
        ax.set(title=f"{name}.W ({out_features}x{in_features})", xlabel="weight", ylabel="count")
        ax.locator_params(axis="x", nbins=5)
    return _finish(fig, path)


# -- convolutions: filters and feature maps -------------------------------------------------------

_CONV = (Conv1d, Conv2d, ConvTranspose2d)
_CONV_NAMES = "Conv1d, Conv2d or ConvTranspose2d"


def _modules_of(who, model):
    """The (name, module) pairs of a Module, or a TypeError naming what came instead."""
    if not callable(getattr(model, "named_modules", None)):
        raise TypeError(f"{who}: expected a glassnet Module, got {type(model).__name__}")
    return list(model.named_modules())


def _conv_layers(who, model, modules):
    """(name, layer) of every convolution in ``modules``, in order; a ValueError if none."""
    convs = [(name, m) for name, m in modules if isinstance(m, _CONV)]
    if not convs:
        raise ValueError(f"{who}: expected a model with a convolution layer ({_CONV_NAMES}), "
                         f"got {type(model).__name__} without one")  # fmt: skip
    return convs


def _label(name, module):
    return f"{name} ({type(module).__name__})" if name else type(module).__name__


def _kernels(conv):
    """The filters of a convolution as (out_channels, in_channels / groups, kh, kw) float64:
    filter o holds the kernel that each of its group's input channels is correlated with (a
    Conv1d's kernels have kh = 1; a ConvTranspose2d's W (in, out / groups, kh, kw) is
    regrouped by output channel, as stored, not flipped)."""
    W = np.asarray(to_host(conv.W.data), dtype=np.float64)
    if isinstance(conv, ConvTranspose2d):
        groups, per_group = conv.groups, conv.in_channels // conv.groups
        W = W.reshape(groups, per_group, -1, *W.shape[2:]).transpose(0, 2, 1, 3, 4)
        W = W.reshape(conv.out_channels, per_group, *W.shape[3:])
    return W[:, :, None, :] if W.ndim == 3 else W


def _check_name(who, layer):
    if not isinstance(layer, str):
        raise TypeError(f"{who}: expected layer as a name from named_modules() (a str) or None, "
                        f"got {type(layer).__name__}")  # fmt: skip


def _count(who, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: expected {name} to be a positive integer, got {value!r}")
    return int(value)


def _show(ax, image, title, **style):
    """One small image without ticks (1-D data drawn as a row stretched to the axes)."""
    ax.imshow(image, interpolation="nearest", aspect="auto" if image.shape[0] == 1 else "equal",
              **style)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize="small")


def plot_filters(model_or_layer, path=None, *, layer=None, channel=None, max_filters=64):
    """The filters of a convolution layer, each output channel's kernel as a small image.

    The layer is the first convolution (Conv1d, Conv2d or ConvTranspose2d) in
    ``named_modules()`` order, ``model_or_layer`` itself when it is one, or the one named
    ``layer``. Filter o is its kernel K[o] of shape (in_channels / groups, kh, kw): W[o] for
    Conv2d, W[:, :, None, :] rows for Conv1d, W regrouped by output channel for
    ConvTranspose2d. What one filter's image is depends on ``channel``:

        None     "rgb" for 3 input channels per group, the kernel itself for 1, else "mean"
        "rgb"    one RGB image (kh, kw, 3): 0.5 + 0.5 K[o].transpose(1, 2, 0) / m
        "mean"   one greyscale image: the mean of K[o] over its input channels
        "all"    one greyscale image per (o, c): K[o, c]; row o of the grid is filter o
        c (int)  one greyscale image: K[o, c], the kernel of input channel c

    All images share one scale: m is the largest |value| shown, the greyscale images run from
    -m (black) to m (white) and in the RGB images a weight 0 is mid-grey, so that filters can
    be compared by brightness. The first ``max_filters`` filters are shown.

    Args:
        model_or_layer: a Module holding a convolution, or a convolution layer.
        path: where to write the figure (PNG unless the suffix names another format), or None.
        layer: the name of a convolution in ``model_or_layer.named_modules()``, or None.
        channel: None, "rgb", "mean", "all" or an input channel index (see above).
        max_filters: how many output channels to show at most.
    Returns:
        The Figure: one axes per image, filter by filter (for "all" row o holds filter o's
        in_channels / groups kernels), titled "o" (or "o, c"); ``ax.images[0].get_array()`` is
        the kernel (the RGB array for "rgb"). The suptitle names the layer, mode and scale.
    Raises:
        TypeError: not a Module, or a layer that is not a str. ValueError: no convolution, an
        unknown layer name (the valid names are listed), a bad channel or max_filters.
        ImportError: matplotlib is not installed.
    """
    who = "plot_filters"
    modules = _modules_of(who, model_or_layer)
    convs = _conv_layers(who, model_or_layer, modules)
    if layer is None:
        name, conv = convs[0]
    else:
        _check_name(who, layer)
        found, others = dict(convs), {n: m for n, m in modules if n}
        if layer not in found:
            names = ", ".join(repr(n) for n, _ in convs)
            what = f" ({type(others[layer]).__name__})" if layer in others else ""
            raise ValueError(f"{who}: expected layer to name a convolution layer, one of {names}; "
                             f"got {layer!r}{what}")  # fmt: skip
        name, conv = layer, found[layer]
    max_filters = _count(who, "max_filters", max_filters)
    K = _kernels(conv)[:max_filters]
    per_group = K.shape[1]
    if channel is None:
        channel = "rgb" if per_group == 3 else 0 if per_group == 1 else "mean"
    if isinstance(channel, (int, np.integer)) and not isinstance(channel, bool):
        if not 0 <= channel < per_group:
            raise ValueError(f"{who}: expected channel in 0..{per_group - 1} (the input channels "
                             f"of each filter), got {channel}")  # fmt: skip
        images = [(str(o), K[o, channel]) for o in range(len(K))]
        mode = f"input channel {channel}"
    elif channel == "rgb":
        if per_group != 3:
            raise ValueError(f"{who}: expected filters with 3 input channels for channel='rgb', "
                             f"got {per_group}; pass 'all', 'mean' or an index")  # fmt: skip
        images = [(str(o), K[o].transpose(1, 2, 0)) for o in range(len(K))]
        mode = "RGB"
    elif channel == "mean":
        images = [(str(o), K[o].mean(axis=0)) for o in range(len(K))]
        mode = f"mean over {per_group} input channels"
    elif channel == "all":
        images = [(f"{o}, {c}", K[o, c]) for o in range(len(K)) for c in range(per_group)]
        mode = f"row: filter, column: its {per_group} input channels"
    else:
        raise ValueError(f"{who}: expected channel None, 'rgb', 'mean', 'all' or an input channel "
                         f"index, got {channel!r}")  # fmt: skip
    m = max(float(np.abs(np.stack([image for _, image in images])).max()), 1e-300)
    _, Figure = _matplotlib(who)
    columns = per_group if channel == "all" else 8
    fig, axes = _axes_grid(Figure, len(images), columns=columns, size=(1.3, 1.4))
    for ax, (title, image) in zip(axes, images):
        if channel == "rgb":
            _show(ax, 0.5 + 0.5 * image / m, title)
        else:
            _show(ax, image, title, cmap="gray", vmin=-m, vmax=m)
    shown = f"{len(K)} of {conv.out_channels}" if len(K) < conv.out_channels else f"{len(K)}"
    scale = "weight 0 is grey" if channel == "rgb" else "black -m, white m"
    fig.suptitle(f"{_label(name, conv)}: {shown} filters ({mode}); {scale}, m = {m:.3g}",
                 fontsize="small")  # fmt: skip
    return _finish(fig, path)


def _input_sample(who, model, conv, x):
    """One input for ``model`` whose first convolution is ``conv``, as (1, C, ...) of the
    model's dtype: x of shape (C, *spatial) or (1, C, *spatial)."""
    if isinstance(x, Tensor):
        x = x.data
    x = np.asarray(to_host(x) if not isinstance(x, (list, tuple)) else x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{who}: expected x as numbers, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"{who}: expected real numbers in x, got dtype {x.dtype}")
    channels, spatial, shape = conv.in_channels, "L" if conv.n == 1 else "H, W", x.shape
    if x.ndim == conv.n + 1:
        x = x[None]
    if x.ndim != conv.n + 2 or x.shape[0] != 1 or x.shape[1] != channels:
        raise ShapeError(f"{who}: expected one input of shape ({channels}, {spatial}) or "
                         f"(1, {channels}, {spatial}) for {conv!r}, got {shape}")  # fmt: skip
    x = x.astype(model.dtype)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{who}: expected finite values in x, got NaN or inf")
    return x


def _feature_maps(who, model, x, layer):
    """(name, layer, its output for x as (C, ...) float64): the computing half of
    ``plot_feature_maps``, which documents the arguments."""
    modules = _modules_of(who, model)
    convs = _conv_layers(who, model, modules)
    if layer is None:
        name, target = convs[0]
        activation = _activations_after_conv(model).get(id(target))
        if activation is not None:  # its output after the nonlinearity
            name, target = next((n, m) for n, m in modules if m is activation)
    else:
        _check_name(who, layer)
        found = {n: m for n, m in modules if n}
        if layer not in found:
            names = ", ".join(repr(n) for n in found)
            raise ValueError(f"{who}: expected layer as a name from model.named_modules(), one of "
                             f"{names}; got {layer!r}")  # fmt: skip
        name, target = layer, found[layer]
    x = _input_sample(who, model, convs[0][1], x)
    outputs = []

    def keep(module, inputs, out):
        if not outputs:
            outputs.append(np.array(to_host(out.data), dtype=np.float64))

    handle = target.register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(Tensor(x))
    finally:
        handle.remove()
        model.train(was_training)
    if not outputs:
        raise ValueError(f"{who}: {_label(name, target)} did not run in the model's forward")
    out = outputs[0]
    if out.ndim not in (3, 4):
        raise ShapeError(f"{who}: expected {_label(name, target)} to give feature maps (1, "
                         f"channels, height, width) or (1, channels, length), got shape "
                         f"{out.shape}; choose a layer before the maps are flattened")  # fmt: skip
    return name, target, out[0]


def plot_feature_maps(model, x, layer=None, path=None, *, max_maps=64):
    """The feature maps (activations) of one layer for one input, one small image per channel.

    The model runs once on x in eval mode without a graph (its mode is restored after); a
    forward hook keeps the layer's output. By default the layer is the first convolution in
    ``model.named_modules()`` order or, when an activation layer follows it directly in a
    Sequential (Conv2d, ReLU), that activation: the maps after the nonlinearity.

    Args:
        model: a Module with a convolution layer (Conv1d, Conv2d or ConvTranspose2d).
        x: one input for the model's first convolution: (C, H, W) or (1, C, H, W) ((C, L) or
            (1, C, L) for a Conv1d), C its in_channels.
        layer: a name from ``model.named_modules()`` (any layer whose output is (1, C, H, W)
            or (1, C, L): a convolution, its activation, a pooling layer ...), or None.
        path: where to write the figure, or None. max_maps: how many channels to show at most.
    Returns:
        The Figure: axes k shows channel k of the layer's output, titled "k", with
        ``ax.images[0].get_array()`` equal to that map (a 1-D map as one row); all images share
        one colour scale (viridis, from the smallest to the largest value shown). The suptitle
        names the layer and the scale.
    Raises:
        TypeError: not a Module, x not real numbers, a layer that is not a str. ValueError: no
        convolution in the model, an unknown layer name (the valid names are listed), a bad
        max_maps, x with NaN or inf.
        ShapeError: x of the wrong shape, or a layer whose output is not feature maps.
        ImportError: matplotlib is not installed.
    """
    who = "plot_feature_maps"
    max_maps = _count(who, "max_maps", max_maps)
    name, target, maps = _feature_maps(who, model, x, layer)
    shown = maps[:max_maps]
    if shown.ndim == 2:  # (C, L): one row each
        shown = shown[:, None, :]
    low, high = float(shown.min()), float(shown.max())
    if high == low:
        low, high = low - 0.5, high + 0.5  # a constant layer: its one colour mid-scale
    _, Figure = _matplotlib(who)
    fig, axes = _axes_grid(Figure, len(shown), columns=8, size=(1.3, 1.4))
    for k, (ax, image) in enumerate(zip(axes, shown)):
        _show(ax, image, str(k), cmap="viridis", vmin=low, vmax=high)
    count = f"{len(shown)} of {len(maps)}" if len(shown) < len(maps) else f"{len(maps)}"
    size = "x".join(str(n) for n in maps.shape[1:])
    fig.suptitle(f"{_label(name, target)}: {count} feature maps of {size}; "
                 f"colour from {low:.3g} to {high:.3g}", fontsize="small")  # fmt: skip
    return _finish(fig, path)


# -- confusion matrix -----------------------------------------------------------------------------


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Counts C[i, j] of samples of true class i predicted as class j (NumPy only).

    Args:
        y_true, y_pred: (samples,) integer class labels.
        n_classes: the number of classes (default: the largest label + 1).
    Returns:
        An int64 array (n_classes, n_classes); rows are true classes, columns predictions, as in
        scikit-learn. The diagonal holds the correct predictions.
    Raises:
        ShapeError: labels of different lengths or not 1-D. ValueError: a negative or
        non-integer label, or one >= n_classes.
    """
    who = "confusion_matrix"
    y_true = _labels(who, "y_true", y_true)
    y_pred = _labels(who, "y_pred", y_pred, len(y_true))
    largest = int(max(y_true.max(initial=-1), y_pred.max(initial=-1)))
    if n_classes is None:
        n_classes = largest + 1
    elif (
        not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes < 1
    ):
        raise ValueError(f"{who}: expected n_classes to be a positive integer, got {n_classes!r}")
    elif largest >= n_classes:
        raise ValueError(f"{who}: expected labels in 0..{n_classes - 1} for {n_classes} classes, "
                         f"got {largest}")  # fmt: skip
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def plot_confusion_matrix(y_true, y_pred, path=None, n_classes=None):
    """The confusion matrix as an image with each count written in its cell.

    Args:
        y_true, y_pred: (samples,) integer class labels. path: where to write, or None.
        n_classes: as for ``confusion_matrix``.
    Returns:
        The Figure; ``fig.axes[0].images[0].get_array()`` is the count matrix, and the text
        in cell (i, j) (at x = j, y = i) is C[i, j]. The title gives the accuracy.
    Raises:
        As ``confusion_matrix``; ImportError: matplotlib is not installed.
    """
    who = "plot_confusion_matrix"
    counts = confusion_matrix(y_true, y_pred, n_classes)
    _, Figure = _matplotlib(who)
    n = len(counts)
    side = max(4.0, 0.55 * n + 2.0)
    fig = Figure(figsize=(side + 1.0, side), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1))
    fig.colorbar(image, ax=ax, label="samples")
    for i in range(n):
        for j in range(n):
            dark = counts[i, j] > 0.5 * counts.max()  # white text on the dark cells
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize="small",
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    total = int(counts.sum())
    accuracy = np.trace(counts) / total if total else math.nan
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"confusion matrix: accuracy {accuracy:.4f} on {total:,} samples")  # fmt: skip
    return _finish(fig, path)
