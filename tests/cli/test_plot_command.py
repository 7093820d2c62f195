"""``glassnet plot``: the pictures of a model trained by ``glassnet train``, checked for what they
show (the figures are captured on their way to the files) and for being real PNG files."""

import io
import sys
from contextlib import redirect_stdout

import numpy as np
import pytest

import glassnet
from glassnet import nn, viz
from glassnet.cli import main
from glassnet.cli.commands import load_dataset
from tests.conftest import require

PLOTS = ["learning_curves", "weight_histograms", "plot_confusion_matrix", "decision_regions"]


@pytest.fixture(scope="module")
def plotted(tmp_path_factory):
    """`glassnet train --data moons --epochs 2`, then `glassnet plot` on it with every figure
    captured: (model path, picture folder, exit status, stdout, {function name: Figure})."""
    require("matplotlib")
    folder = tmp_path_factory.mktemp("plot")
    model_path, pictures = folder / "moons.npz", folder / "pictures"
    with redirect_stdout(io.StringIO()):
        assert main(["train", "--data", "moons", "--epochs", "2", "--out", str(model_path)]) == 0
    figures = {}

    def capture(name, function):
        def plot(*args, **kwargs):
            figures[name] = function(*args, **kwargs)
            return figures[name]

        return plot

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        for name in PLOTS:
            patch.setattr(viz, name, capture(name, getattr(viz, name)))
        status = main(["plot", str(model_path), "--data", "moons", "--out-dir", str(pictures)])
    return model_path, pictures, status, out.getvalue(), figures


def _check_png(path, fig):
    import matplotlib.image

    image = matplotlib.image.imread(path)
    width, height = fig.get_size_inches() * fig.dpi
    assert image.shape[:2] == (round(height), round(width))
    pixels = image.reshape(-1, image.shape[2])[:, :3]
    packed = np.round(pixels * 255).astype(np.int64) @ np.array(
        [65536, 256, 1]
    )  # one int per colour
    assert len(np.unique(packed)) > 1, f"{path} is blank"


def _saved_model(path, n_in=3, history=True):
    """A small model saved without training, with a made-up history (or none)."""
    model = nn.Sequential(nn.Dense(n_in, 4, "relu", seed=0), nn.Dense(4, 10, "softmax", seed=1))
    record = (
        glassnet.History({"loss": [2.0, 1.5], "accuracy": [0.3, 0.5]}, [0, 1]) if history else None
    )
    glassnet.save(model, path, history=record)
    return model


def test_plot_writes_four_pngs_and_prints_their_paths(plotted):
    _, pictures, status, out, figures = plotted
    assert status == 0
    names = ["learning-curves", "weights", "confusion-matrix", "decision-regions"]
    assert out.splitlines() == [str(pictures / f"moons-{name}.png") for name in names]
    for name, function in zip(names, PLOTS):
        _check_png(pictures / f"moons-{name}.png", figures[function])


def test_the_learning_curves_are_the_saved_history(plotted):
    model_path, *_, figures = plotted
    history = glassnet.load_history(model_path).history
    loss_axes, accuracy_axes = figures["learning_curves"].axes
    np.testing.assert_array_equal(loss_axes.get_lines()[0].get_ydata(), history["loss"])
    np.testing.assert_array_equal(accuracy_axes.get_lines()[0].get_ydata(), history["accuracy"])


def test_the_confusion_matrix_counts_the_test_predictions(plotted):
    model_path, *_, figures = plotted
    model = glassnet.load(model_path)
    _, _, X_test, y_test, _ = load_dataset("moons")
    predicted = (model.predict(X_test).ravel() > 0.5).astype(int)
    counts = np.zeros((2, 2), dtype=int)
    np.add.at(counts, (y_test, predicted), 1)
    ax = figures["plot_confusion_matrix"].axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), counts)
    assert sorted(text.get_text() for text in ax.texts) == sorted(str(c) for c in counts.ravel())


def test_the_decision_regions_are_the_models_predictions_on_the_test_points(plotted):
    model_path, *_, figures = plotted
    model = glassnet.load(model_path)
    _, _, X_test, _, _ = load_dataset("moons")
    ax = figures["decision_regions"].axes[0]
    image = ax.images[0]
    left, right, bottom, top = image.get_extent()
    rows, cols = image.get_array().shape
    xs = left + (np.arange(cols) + 0.5) * (right - left) / cols
    ys = bottom + (np.arange(rows) + 0.5) * (top - bottom) / rows
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    expected = (model.predict(grid).ravel() > 0.5).reshape(rows, cols)
    np.testing.assert_array_equal(image.get_array(), expected)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), X_test)


def test_the_weight_histograms_count_every_weight(plotted):
    model_path, *_, figures = plotted
    model = glassnet.load(model_path)
    axes = figures["weight_histograms"].axes
    assert [ax.get_title() for ax in axes] == ["layers.0.W (16x2)", "layers.1.W (1x16)"]
    for ax, layer in zip(axes, model):
        assert sum(patch.get_height() for patch in ax.patches) == layer.W.size


def test_plot_of_mnist_data_has_no_decision_regions(tmp_path, capsys):
    require("matplotlib")
    _saved_model(tmp_path / "digits.npz", n_in=784)
    assert main(["plot", str(tmp_path / "digits.npz"), "--out-dir", str(tmp_path)]) == 0
    written = capsys.readouterr().out.splitlines()
    assert written == [
        str(tmp_path / f"digits-{name}.png")
        for name in ["learning-curves", "weights", "confusion-matrix"]
    ]
    assert not (tmp_path / "digits-decision-regions.png").exists()


# -- mistakes: one line, exit status 2, nothing written ------------------------------------------


def _fails(args, capsys, message):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error: ")
    assert message in lines[0], lines[0]


def test_a_model_without_history_is_an_error(tmp_path, capsys):
    _saved_model(tmp_path / "m.npz", n_in=2, history=False)
    args = ["plot", str(tmp_path / "m.npz"), "--data", "moons", "--out-dir", str(tmp_path / "out")]
    message = "plot: expected a model file saved with its training history, got none in "
    _fails(args, capsys, message + str(tmp_path / "m.npz"))
    assert not (tmp_path / "out").exists()


def test_data_that_does_not_fit_the_model_is_an_error(tmp_path, capsys):
    _saved_model(tmp_path / "m.npz", n_in=3)
    _fails(["plot", str(tmp_path / "m.npz"), "--data", "moons", "--out-dir", str(tmp_path)], capsys,
           "plot: expected --data with 3 features for the model")  # fmt: skip
    assert not list(tmp_path.glob("*.png"))


def test_usage_mistakes_are_one_line_errors(tmp_path, capsys):
    _saved_model(tmp_path / "m.npz", n_in=2)
    (tmp_path / "file.txt").write_text("not a folder")
    model = str(tmp_path / "m.npz")
    _fails(["plot", model, "--data", "moons", "--data-path", "x.npz"], capsys,
           "--data-path: expected it only with --data mnist, got --data moons")  # fmt: skip
    _fails(["plot", model, "--data", "moons", "--out-dir", str(tmp_path / "file.txt")], capsys,
           "--out-dir: expected a folder, got the file")  # fmt: skip
    _fails(["plot", str(tmp_path / "missing.npz"), "--data", "moons"], capsys, "load: no such file")
    _fails(["plot", model, "--data", "moon"], capsys, "did you mean 'moons'?")
    _fails(["plot"], capsys, "the following arguments are required: MODEL")


def test_without_matplotlib_plot_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    _saved_model(tmp_path / "m.npz", n_in=2)
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.colors"):
        monkeypatch.setitem(sys.modules, name, None)
    args = ["plot", str(tmp_path / "m.npz"), "--data", "moons", "--out-dir", str(tmp_path)]
    message = "learning_curves: expected matplotlib, which is not installed; "
    _fails(args, capsys, message + "pip install glassnet[plot]")


def test_help_lists_the_plot_command_and_its_files(capsys):
    assert main(["--help"]) == 0
    assert "plot" in capsys.readouterr().out
    assert main(["plot", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ["learning-curves", "weights", "confusion-matrix", "decision-regions"]:
        assert f"MODEL-{name}.png" in out
    assert "--out-dir DIR" in out
