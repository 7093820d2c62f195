"""glassnet.viz: what the figures show is checked against the data they were drawn from
(line data, image arrays, rendered pixels, bar heights, cell texts), not only that they exist."""

import subprocess
import sys

import numpy as np
import pytest

import glassnet
from glassnet import nn, viz
from glassnet.errors import ShapeError
from tests.conftest import require


def _check_png(path, fig):
    """The file is a PNG of the figure's size in pixels that is not blank."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    width, height = fig.get_size_inches() * fig.dpi
    assert image.shape[:2] == (round(height), round(width))
    pixels = image.reshape(-1, image.shape[2])[:, :3]
    packed = np.round(pixels * 255).astype(np.int64) @ np.array(
        [65536, 256, 1]
    )  # one int per colour
    assert len(np.unique(packed)) > 1, "a blank image"
    assert np.mean(np.any(pixels < 0.9, axis=1)) > 0.01, "almost nothing drawn"


def _bar_heights(ax):
    return np.array([patch.get_height() for patch in ax.patches])


def _bar_edges(ax):
    lefts = [patch.get_x() for patch in ax.patches]
    return np.array(lefts + [ax.patches[-1].get_x() + ax.patches[-1].get_width()])


@pytest.fixture
def three_class_net():
    """A 2-8-3 tanh/softmax net whose random weights split the plane among its three classes."""
    return nn.Sequential(nn.Dense(2, 8, "tanh", seed=0), nn.Dense(8, 3, "softmax", seed=1))


@pytest.fixture
def points(rng):
    X = rng.uniform(-2, 2, size=(60, 2))
    y = rng.integers(0, 3, size=60)
    return X, y


# -- matplotlib is optional ---------------------------------------------------------------------


def test_importing_viz_does_not_import_matplotlib():
    code = "import sys, glassnet.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plotting_without_matplotlib_says_how_to_install_it(monkeypatch, three_class_net, points):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.colors"):
        monkeypatch.setitem(sys.modules, name, None)  # `import matplotlib` now fails
    X, y = points
    calls = {
        "learning_curves": lambda: viz.learning_curves({"loss": [1.0, 0.5]}),
        "decision_regions": lambda: viz.decision_regions(three_class_net, X, y),
        "activation_histograms": lambda: viz.activation_histograms(three_class_net, X),
        "weight_histograms": lambda: viz.weight_histograms(three_class_net),
        "plot_confusion_matrix": lambda: viz.plot_confusion_matrix(y, y),
    }
    for who, call in calls.items():
        with pytest.raises(
            ImportError, match=rf"^{who}: expected matplotlib.*pip install glassnet\[plot\]"
        ):
            call()
    assert viz.confusion_matrix(y, y).trace() == len(y)  # arrays need no matplotlib
    assert set(viz.layer_values(three_class_net, X)) == {"layers.0", "layers.1"}


# -- learning curves ------------------------------------------------------------------------------


def test_learning_curves_plot_the_history_lists(tmp_path):
    require("matplotlib")
    X, y = glassnet.data.two_moons(n=120, seed=0)
    model = nn.Sequential(nn.Dense(2, 4, "tanh", seed=0), nn.Dense(4, 1, "sigmoid", seed=1))
    history = glassnet.fit(model, X, y, loss="binary_cross_entropy", epochs=4, metrics=["accuracy"],
                           validation_split=0.25, verbose=0, seed=0)  # fmt: skip
    fig = viz.learning_curves(history, tmp_path / "curves.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    for ax, quantity in zip(fig.axes, ["loss", "accuracy"]):
        training, validation = ax.get_lines()
        assert (training.get_label(), validation.get_label()) == ("training", "validation")
        np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_array_equal(training.get_ydata(), history.history[quantity])
        np.testing.assert_array_equal(validation.get_ydata(), history.history[f"val_{quantity}"])
    _check_png(tmp_path / "curves.png", fig)


def test_learning_curves_take_a_dict_and_show_an_early_stop():
    require("matplotlib")
    fig = viz.learning_curves({"loss": [3.0, 2.0, 1.5], "mae": [0.9, 0.8, 0.7]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    np.testing.assert_array_equal(fig.axes[1].get_lines()[0].get_ydata(), [0.9, 0.8, 0.7])
    stopped = glassnet.History(
        {"loss": [1.0]}, [0], stop_reason="the loss became nan at epoch 2, batch 3"
    )
    texts = [text.get_text() for text in viz.learning_curves(stopped).texts]  # the suptitle
    assert texts == ["training stopped early: the loss became nan at epoch 2, batch 3"]
    with pytest.raises(ValueError, match="learning_curves: expected a history with at least one"):
        viz.learning_curves(glassnet.History())


# -- decision regions -----------------------------------------------------------------------------


def _grid_of(image):
    """The (x, y) points at the centres of the image's cells, shaped like its array."""
    left, right, bottom, top = image.get_extent()
    rows, cols = image.get_array().shape
    xs = left + (np.arange(cols) + 0.5) * (right - left) / cols
    ys = bottom + (np.arange(rows) + 0.5) * (top - bottom) / rows
    return xs, ys


def _cell_of(image, X):
    """(row, column) of the image cell holding each point of X."""
    left, right, bottom, top = image.get_extent()
    rows, cols = image.get_array().shape
    col = np.floor((X[:, 0] - left) / (right - left) * cols).astype(int)
    row = np.floor((X[:, 1] - bottom) / (top - bottom) * rows).astype(int)
    return row, col


def _nearest(colors, palette):
    """Index of the palette colour nearest to each RGB colour."""
    distance = np.linalg.norm(
        np.asarray(colors)[:, None, :3] - np.asarray(palette)[None, :, :3], axis=2
    )
    return distance.argmin(axis=1)


def test_decision_regions_show_the_predicted_class_of_every_grid_point(three_class_net, points):
    require("matplotlib")
    X, y = points
    fig = viz.decision_regions(three_class_net, X, y, resolution=40)
    image = fig.axes[0].images[0]
    classes = np.asarray(image.get_array())
    assert classes.shape == (40, 40)
    xs, ys = _grid_of(image)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    expected = three_class_net.predict(grid).argmax(axis=1).reshape(40, 40)
    np.testing.assert_array_equal(classes, expected)
    assert len(np.unique(classes)) == 3, "the fixture should show all three classes"
    # every sample lies inside the image, and the colour under it is its cell's class colour
    row, col = _cell_of(image, X)
    assert np.all((0 <= row) & (row < 40) & (0 <= col) & (col < 40))
    palette = image.cmap.colors
    assert len(palette) == 3 and len(np.unique(np.asarray(palette), axis=0)) == 3
    colors_under_samples = image.to_rgba(classes)[row, col]
    under = _nearest(colors_under_samples, palette)
    np.testing.assert_array_equal(under, classes[row, col])
    # ... which is the model's prediction for the sample, up to points in a boundary cell
    agree = np.mean(under == three_class_net.predict(X).argmax(axis=1))
    assert agree > 0.9
    # the samples are drawn in the colour of their true class
    faces = fig.axes[0].collections[0].get_facecolors()
    np.testing.assert_array_equal(_nearest(faces, palette), y)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), X.astype(np.float32))


def test_decision_regions_rendered_pixels_have_the_predicted_colour(tmp_path):
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    model = nn.Sequential(nn.Dense(2, 6, "tanh", seed=3), nn.Dense(6, 1, "sigmoid", seed=4))
    X = np.array([[-1.0, -1.0], [1.0, 1.0]])  # two samples: the plane from -1.2 to 1.2
    fig = viz.decision_regions(model, X, [0, 1], path=tmp_path / "regions.png", resolution=30)
    _check_png(tmp_path / "regions.png", fig)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3] / 255.0
    ax, image = fig.axes[0], fig.axes[0].images[0]
    xs, ys = _grid_of(image)
    centres = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    display = ax.transData.transform(centres)
    samples = ax.transData.transform(X)
    legend = ax.get_legend().get_window_extent()
    free = np.min(np.linalg.norm(display[:, None] - samples[None], axis=2), axis=1) > 10
    free &= ~((legend.x0 - 3 <= display[:, 0]) & (display[:, 0] <= legend.x1 + 3)
              & (legend.y0 - 3 <= display[:, 1]) & (display[:, 1] <= legend.y1 + 3))  # fmt: skip
    rendered = pixels[
        (pixels.shape[0] - display[free, 1]).astype(int), display[free, 0].astype(int)
    ]
    blended = 0.4 * np.asarray(image.cmap.colors) + 0.6  # alpha 0.4 over the white background
    expected = (model.predict(centres[free]).ravel() > 0.5).astype(int)
    assert len(np.unique(expected)) == 2, "the fixture should show both classes"
    np.testing.assert_array_equal(_nearest(rendered, blended), expected)
    assert np.max(np.abs(rendered - blended[expected])) < 0.02


def test_decision_regions_check_their_input(three_class_net, points):
    X, y = points
    with pytest.raises(ShapeError, match=r"decision_regions: expected X with 2 features"):
        viz.decision_regions(three_class_net, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(
        ShapeError, match=r"decision_regions: expected y as class labels of shape \(60,\)"
    ):
        viz.decision_regions(three_class_net, X, y[:-1])
    with pytest.raises(
        ValueError, match=r"decision_regions: expected non-negative integer class labels"
    ):
        viz.decision_regions(three_class_net, X, y - 0.5)
    with pytest.raises(
        ValueError, match=r"decision_regions: expected resolution to be an integer >= 2, got 1"
    ):
        viz.decision_regions(three_class_net, X, y, resolution=1)


# -- activations and deltas -----------------------------------------------------------------------


def test_layer_values_match_the_backprop_formulas_worked_in_numpy(rng):
    model = nn.Sequential(nn.Dense(3, 4, "tanh", seed=0, dtype=np.float64),
                          nn.Dense(4, 2, "sigmoid", seed=1, dtype=np.float64))  # fmt: skip
    X, y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    values = viz.layer_values(model, X, y, loss="sse")
    (W1, b1), (W2, b2) = [(layer.W.data, layer.b.data) for layer in model]
    net1 = X @ W1.T + b1
    a1 = np.tanh(net1)
    net2 = a1 @ W2.T + b2
    a2 = 1 / (1 + np.exp(-net2))
    delta2 = (a2 - y) * a2 * (1 - a2)  # E = 1/2 sum (y - a)^2
    delta1 = (delta2 @ W2) * (1 - a1**2)
    for name, (net, a, delta) in {
        "layers.0": (net1, a1, delta1),
        "layers.1": (net2, a2, delta2),
    }.items():
        np.testing.assert_allclose(values[name]["net"], net, rtol=1e-12)
        np.testing.assert_allclose(values[name]["a"], a, rtol=1e-12)
        np.testing.assert_allclose(values[name]["delta"], delta, rtol=1e-10, atol=1e-15)
    # the model is left as it was: no gradients, requires_grad and training mode kept
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert model.training and model[0].training


def test_layer_values_of_a_fused_loss_and_of_linear_units(rng):
    model = nn.Sequential(nn.Dense(2, 3, None, seed=0, dtype=np.float64),
                          nn.Dense(3, 1, "sigmoid", seed=1, dtype=np.float64))  # fmt: skip
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, size=8)
    model.eval()
    values = viz.layer_values(model, X, y, loss="binary_cross_entropy")
    a2 = values["layers.1"]["a"]
    np.testing.assert_allclose(values["layers.1"]["delta"], (a2 - y[:, None]) / len(X), rtol=1e-10)
    np.testing.assert_array_equal(values["layers.0"]["net"], values["layers.0"]["a"])  # linear
    assert not model.training
    no_backward = viz.layer_values(model, X)
    assert no_backward["layers.0"]["delta"] is None
    with pytest.raises(ValueError, match="layer_values: expected a loss with y"):
        viz.layer_values(model, X, y)
    with pytest.raises(
        ValueError, match="layer_values: expected a model with Dense layers, got ReLU"
    ):
        viz.layer_values(nn.ReLU(), X)


def test_activation_histograms_count_every_activation_and_delta(three_class_net, points):
    require("matplotlib")
    X, y = points
    fig = viz.activation_histograms(three_class_net, X, y, loss="cross_entropy", bins=20)
    values = viz.layer_values(three_class_net, X, y, loss="cross_entropy")
    assert len(fig.axes) == 4  # row 0: a, row 1: delta; one column per layer
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "layers.0: a (tanh)",
        "layers.1: a (softmax)",
        "layers.0: delta",
        "layers.1: delta",
    ]
    panels = [("layers.0", "a"), ("layers.1", "a"), ("layers.0", "delta"), ("layers.1", "delta")]
    for ax, (name, key) in zip(fig.axes, panels):
        heights, edges = _bar_heights(ax), _bar_edges(ax)
        assert len(heights) == 20 and heights.sum() == values[name][key].size
        counts, _ = np.histogram(values[name][key], bins=edges)
        np.testing.assert_array_equal(heights, counts)
    assert len(viz.activation_histograms(three_class_net, X).axes) == 2  # no y: activations only


def test_layer_statistics_plot_what_the_recorder_stored():
    require("matplotlib")
    X, y = glassnet.data.two_moons(n=64, seed=0)
    model = nn.Sequential(nn.Dense(2, 4, "relu", seed=0), nn.Dense(4, 1, "sigmoid", seed=1))
    recorder = nn.Recorder(model)
    glassnet.fit(model, X, y, loss="binary_cross_entropy", epochs=2, batch_size=16, verbose=0,
                 callbacks=[recorder], seed=0)  # fmt: skip
    fig = viz.layer_statistics(recorder)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:2] == ["mean of a", "std of a"] and titles[-1] == "gradient norm per parameter"
    for ax, key in zip(fig.axes, ["mean", "std", "saturated", "delta_norm"]):
        lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
        assert set(lines) == {"layers.0", "layers.1"}
        for name, ydata in lines.items():
            np.testing.assert_array_equal(ydata, recorder.layers[name][key])
    gradient_lines = {line.get_label(): line.get_ydata() for line in fig.axes[-1].get_lines()}
    assert set(gradient_lines) == set(recorder.grad_norms)
    np.testing.assert_array_equal(gradient_lines["layers.0.W"], recorder.grad_norms["layers.0.W"])
    with pytest.raises(
        ValueError, match="layer_statistics: expected a Recorder that has recorded steps"
    ):
        viz.layer_statistics(nn.Recorder(model))


# -- weights --------------------------------------------------------------------------------------


def test_weight_histograms_count_every_weight(three_class_net):
    require("matplotlib")
    fig = viz.weight_histograms(three_class_net, bins=12)
    assert [ax.get_title() for ax in fig.axes] == ["layers.0.W (8x2)", "layers.1.W (3x8)"]
    for ax, layer in zip(fig.axes, three_class_net):
        heights, edges = _bar_heights(ax), _bar_edges(ax)
        assert heights.sum() == layer.W.size == layer.out_features * layer.in_features
        assert edges[0] == pytest.approx(layer.W.data.min()) and edges[-1] == pytest.approx(
            layer.W.data.max()
        )


# -- confusion matrix -----------------------------------------------------------------------------


def test_confusion_matrix_counts_each_pair_of_classes(rng):
    y_true, y_pred = rng.integers(0, 4, size=200), rng.integers(0, 4, size=200)
    expected = np.zeros((4, 4), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    counts = viz.confusion_matrix(y_true, y_pred)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(viz.confusion_matrix([0, 1, 1], [1, 1, 0], n_classes=3),
                                  [[0, 1, 0], [1, 1, 0], [0, 0, 0]])  # fmt: skip


def test_confusion_matrix_names_bad_labels():
    with pytest.raises(
        ShapeError,
        match=r"confusion_matrix: expected y_pred as class labels of shape \(3,\), got \(2,\)",
    ):
        viz.confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(
        ValueError, match=r"confusion_matrix: expected labels in 0..1 for 2 classes, got 2"
    ):
        viz.confusion_matrix([0, 1, 2], [0, 1, 1], n_classes=2)
    with pytest.raises(
        ValueError, match=r"confusion_matrix: expected non-negative integer class labels in y_true"
    ):
        viz.confusion_matrix([0, -1], [0, 1])


def test_plot_confusion_matrix_writes_the_counts_in_the_cells(rng, tmp_path):
    require("matplotlib")
    y_true, y_pred = rng.integers(0, 3, size=90), rng.integers(0, 3, size=90)
    counts = viz.confusion_matrix(y_true, y_pred)
    fig = viz.plot_confusion_matrix(y_true, y_pred, tmp_path / "confusion.png")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), counts)
    cells = {tuple(np.round(text.get_position()).astype(int)): text.get_text() for text in ax.texts}
    assert cells == {(j, i): str(counts[i, j]) for i in range(3) for j in range(3)}
    assert f"accuracy {np.trace(counts) / 90:.4f} on 90 samples" in ax.get_title()
    _check_png(tmp_path / "confusion.png", fig)
