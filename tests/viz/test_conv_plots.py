"""glassnet.viz for convolutional networks: the filters and feature maps drawn are checked
against the weights and against activations computed here in NumPy, image by image, and the
Recorder's statistics of conv layers against the lines of ``layer_statistics``."""

import re
import sys

import numpy as np
import pytest

import glassnet
from glassnet import Tensor, nn, viz
from glassnet.errors import ShapeError
from tests.conftest import require


def _rgb_net():
    """Conv2d(3 -> 5) -> ReLU -> MaxPool2d -> Conv2d(5 -> 4) -> ReLU -> Flatten -> Dense."""
    return nn.Sequential(
        nn.Conv2d(3, 5, 3, seed=0, dtype=np.float64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(5, 4, 3, padding=1, seed=1, dtype=np.float64),
        nn.ReLU(),
        nn.Flatten(),
        nn.Dense(4 * 3 * 3, 2, seed=2, dtype=np.float64),
    )


def _conv2d(x, W, b):
    """Cross-correlation of one sample x (C, H, W) with W (O, C, kh, kw), stride 1, no padding."""
    windows = np.lib.stride_tricks.sliding_window_view(x, W.shape[2:], axis=(1, 2))
    return np.einsum("chwuv,ocuv->ohw", windows, W) + b[:, None, None]


def _images(fig):
    """The image array of every axes, in order (each axes holds exactly one image)."""
    assert all(len(ax.images) == 1 for ax in fig.axes)
    return [np.asarray(ax.images[0].get_array()) for ax in fig.axes]


# -- filters --------------------------------------------------------------------------------------


def test_filters_of_three_input_channels_are_rgb_images_of_the_weights(tmp_path):
    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    model = _rgb_net()
    W = model[0].W.data
    fig = viz.plot_filters(model, tmp_path / "filters.png")
    m = np.abs(W).max()
    images = _images(fig)
    assert len(images) == 5 == model[0].out_channels
    for o, image in enumerate(images):
        assert image.shape == (3, 3, 3)  # (kh, kw, RGB)
        np.testing.assert_allclose(image, 0.5 + 0.5 * W[o].transpose(1, 2, 0) / m, rtol=1e-12)
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2", "3", "4"]
    assert "layers.0 (Conv2d): 5 filters (RGB)" in fig.get_suptitle()
    # the file, and the pixels Agg renders at the centre of each kernel cell of filter 2
    import matplotlib.image

    written = matplotlib.image.imread(tmp_path / "filters.png")
    width, height = fig.get_size_inches() * fig.dpi
    assert written.shape[:2] == (round(height), round(width))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3] / 255.0
    ax = fig.axes[2]
    for i in range(3):
        for j in range(3):
            x, y = ax.transData.transform((j, i))  # imshow: cell (i, j) centred at x=j, y=i
            rendered = pixels[int(pixels.shape[0] - y), int(x)]
            np.testing.assert_allclose(rendered, images[2][i, j], atol=1.5 / 255)


def test_filters_of_one_input_channel_share_a_grey_scale_and_max_filters_cuts():
    require("matplotlib")
    model = nn.Sequential(nn.Conv2d(1, 10, 5, seed=3), nn.Tanh())
    W = model[0].W.data
    fig = viz.plot_filters(model, max_filters=4)
    images = _images(fig)
    assert len(images) == 4
    m = np.abs(W[:4]).max()
    for o, (ax, image) in enumerate(zip(fig.axes, images)):
        np.testing.assert_array_equal(image, W[o, 0])
        assert ax.images[0].get_clim() == pytest.approx((-m, m))
        assert ax.images[0].get_cmap().name == "gray"
    assert "4 of 10 filters" in fig.get_suptitle()
    assert len(viz.plot_filters(model[0]).axes) == 10  # a layer on its own


def test_filters_per_input_channel_mean_and_all():
    require("matplotlib")
    model = _rgb_net()
    W = model[3].W.data  # (4, 5, 3, 3)
    # default for 5 input channels: the mean over them
    np.testing.assert_allclose(
        np.stack(_images(viz.plot_filters(model, layer="layers.3"))), W.mean(axis=1), rtol=1e-12
    )
    picked = _images(viz.plot_filters(model, layer="layers.3", channel=2))
    np.testing.assert_array_equal(np.stack(picked), W[:, 2])
    fig = viz.plot_filters(model, layer="layers.3", channel="all")
    images = _images(fig)
    assert len(images) == 4 * 5
    for o in range(4):
        for c in range(5):
            np.testing.assert_array_equal(images[o * 5 + c], W[o, c])
            assert fig.axes[o * 5 + c].get_title() == f"{o}, {c}"
    # the grid: row o holds filter o's five kernels
    rows = [fig.axes[k].get_subplotspec().rowspan.start for k in range(20)]
    assert rows == [k // 5 for k in range(20)]
    # the first layer, one image per (out, in): its RGB channels as three grey images
    first = _images(viz.plot_filters(model, channel="all"))
    np.testing.assert_array_equal(first[3 * 1 + 2], model[0].W.data[1, 2])


def test_filters_of_conv_transpose2d_and_conv1d():
    require("matplotlib")
    up = nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2, seed=0)  # W (4, 3, 2, 2)
    images = _images(viz.plot_filters(up, channel="all"))
    assert len(images) == 6 * 2
    for o in range(6):
        g, j = divmod(o, 3)  # output channel o: group g, column j of W
        for c in range(2):  # its group's input channels 2 g, 2 g + 1
            np.testing.assert_array_equal(images[o * 2 + c], up.W.data[2 * g + c, j])
    seq = nn.Sequential(nn.Conv1d(2, 3, 5, seed=1), nn.ReLU())
    images = _images(viz.plot_filters(seq, channel=1))
    assert len(images) == 3
    for o, image in enumerate(images):
        np.testing.assert_array_equal(image, seq[0].W.data[o, 1][None, :])  # one row


def test_plot_filters_names_bad_arguments():
    model = _rgb_net()
    with pytest.raises(
        ValueError,
        match=r"plot_filters: expected a model with a convolution layer \(Conv1d, Conv2d or "
        r"ConvTranspose2d\), got Sequential without one",
    ):
        viz.plot_filters(nn.Sequential(nn.Dense(2, 3)))
    with pytest.raises(
        ValueError,
        match=r"plot_filters: expected layer to name a convolution layer, one of 'layers.0', "
        r"'layers.3'; got 'layers.1' \(ReLU\)",
    ):
        viz.plot_filters(model, layer="layers.1")
    with pytest.raises(ValueError, match=r"one of 'layers.0', 'layers.3'; got 'conv'$"):
        viz.plot_filters(model, layer="conv")
    with pytest.raises(TypeError, match=r"plot_filters: expected layer as a name .* got int"):
        viz.plot_filters(model, layer=0)
    with pytest.raises(
        ValueError, match=r"plot_filters: expected channel in 0..2 \(the input channels"
    ):
        viz.plot_filters(model, channel=3)
    with pytest.raises(
        ValueError, match=r"plot_filters: expected filters with 3 input channels for "
        r"channel='rgb', got 5",
    ):  # fmt: skip
        viz.plot_filters(model, layer="layers.3", channel="rgb")
    with pytest.raises(ValueError, match=r"plot_filters: expected channel None, 'rgb', 'mean'"):
        viz.plot_filters(model, channel="red")
    with pytest.raises(ValueError, match=r"expected max_filters to be a positive integer, got 0"):
        viz.plot_filters(model, max_filters=0)
    with pytest.raises(TypeError, match=r"plot_filters: expected a glassnet Module, got ndarray"):
        viz.plot_filters(model[0].W.data)


# -- feature maps ---------------------------------------------------------------------------------


def test_feature_maps_default_to_the_first_convolution_after_its_activation(tmp_path, rng):
    require("matplotlib")
    model = _rgb_net()
    x = rng.normal(size=(3, 8, 8))
    fig = viz.plot_feature_maps(model, x, path=tmp_path / "maps.png")
    expected = np.maximum(_conv2d(x, model[0].W.data, model[0].b.data), 0.0)  # (5, 6, 6)
    images = _images(fig)
    assert len(images) == 5
    for k, (ax, image) in enumerate(zip(fig.axes, images)):
        np.testing.assert_allclose(image, expected[k], rtol=1e-12, atol=1e-14)
        assert ax.get_title() == str(k)
        assert ax.images[0].get_clim() == pytest.approx((expected.min(), expected.max()))
    assert fig.get_suptitle().startswith("layers.1 (ReLU): 5 feature maps of 6x6")
    assert (tmp_path / "maps.png").stat().st_size > 0
    # a batch of one, or a Tensor, is the same input; the model's mode is left as it was
    model.eval()
    again = _images(viz.plot_feature_maps(model, Tensor(x[None])))
    np.testing.assert_array_equal(np.stack(again), np.stack(images))
    assert not model.training and not model[1].training


def test_feature_maps_of_a_named_layer(rng):
    require("matplotlib")
    model = _rgb_net()
    x = rng.normal(size=(1, 3, 8, 8))
    net = _conv2d(x[0], model[0].W.data, model[0].b.data)
    before = np.stack(_images(viz.plot_feature_maps(model, x, layer="layers.0")))
    np.testing.assert_allclose(before, net, rtol=1e-12, atol=1e-14)
    assert before.min() < 0, "the net input, before the ReLU"
    pooled = np.stack(_images(viz.plot_feature_maps(model, x, layer="layers.2")))
    expected = np.maximum(net, 0.0).reshape(5, 3, 2, 3, 2).max(axis=(2, 4))
    np.testing.assert_allclose(pooled, expected, rtol=1e-12, atol=1e-14)
    # the second convolution, its first two maps only
    fig = viz.plot_feature_maps(model, x, layer="layers.3", max_maps=2)
    second = np.pad(expected, ((0, 0), (1, 1), (1, 1)))  # padding=1
    maps = _conv2d(second, model[3].W.data, model[3].b.data)
    np.testing.assert_allclose(np.stack(_images(fig)), maps[:2], rtol=1e-12, atol=1e-14)
    assert "2 of 4 feature maps of 3x3" in fig.get_suptitle()


def test_feature_maps_in_a_residual_block_and_of_a_conv1d(rng):
    require("matplotlib")
    block = nn.Residual(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, seed=0), nn.Tanh()))
    model = nn.Sequential(block, nn.Flatten(), nn.Dense(2 * 5 * 5, 1, seed=1))
    x = rng.normal(size=(2, 5, 5)).astype(np.float32)
    fig = viz.plot_feature_maps(model, x)  # the block's conv, after the Tanh that follows it
    conv = block.block[0]
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    expected = np.tanh(_conv2d(padded, conv.W.data, conv.b.data))
    np.testing.assert_allclose(np.stack(_images(fig)), expected, rtol=1e-5, atol=1e-6)
    assert fig.get_suptitle().startswith("layers.0.block.layers.1 (Tanh)")
    seq = nn.Sequential(nn.Conv1d(1, 3, 3, seed=2, dtype=np.float64))
    signal = rng.normal(size=(1, 7))
    images = _images(viz.plot_feature_maps(seq, signal))
    windows = np.lib.stride_tricks.sliding_window_view(signal[0], 3)
    expected = windows @ seq[0].W.data[:, 0].T + seq[0].b.data  # (5, 3)
    np.testing.assert_allclose(np.stack(images), expected.T[:, None, :], rtol=1e-12)


def test_plot_feature_maps_names_bad_arguments(rng):
    model = _rgb_net()
    x = rng.normal(size=(3, 8, 8))
    with pytest.raises(
        ValueError, match=r"plot_feature_maps: expected a model with a convolution layer"
    ):
        viz.plot_feature_maps(nn.Sequential(nn.Dense(2, 3)), np.zeros(2))
    for bad in (x[:2], x[0], np.stack([x, x]), x[None, None]):
        with pytest.raises(
            ShapeError,
            match=r"plot_feature_maps: expected one input of shape \(3, H, W\) or \(1, 3, H, "
            r"W\) for Conv2d\(3, 5.*got " + re.escape(str(bad.shape)),
        ):
            viz.plot_feature_maps(model, bad)
    names = ", ".join(f"'layers.{k}'" for k in range(7))
    with pytest.raises(
        ValueError,
        match=rf"plot_feature_maps: expected layer as a name from model.named_modules\(\), one "
        rf"of {names}; got 'layers.9'$",
    ):
        viz.plot_feature_maps(model, x, layer="layers.9")
    with pytest.raises(
        ShapeError,
        match=r"plot_feature_maps: expected layers.5 \(Flatten\) to give feature maps .* got "
        r"shape \(1, 36\)",
    ):
        viz.plot_feature_maps(model, x, layer="layers.5")
    with pytest.raises(ValueError, match=r"expected max_maps to be a positive integer, got 0"):
        viz.plot_feature_maps(model, x, max_maps=0)
    with pytest.raises(ValueError, match=r"plot_feature_maps: expected finite values in x"):
        viz.plot_feature_maps(model, np.full((3, 8, 8), np.nan))
    with pytest.raises(TypeError, match=r"plot_feature_maps: expected x as numbers"):
        viz.plot_feature_maps(model, np.array([["a"]]))


def test_conv_plots_without_matplotlib_say_how_to_install_it(monkeypatch, rng):
    model = _rgb_net()
    x = rng.normal(size=(3, 8, 8))
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.colors"):
        monkeypatch.setitem(sys.modules, name, None)
    for who, call in {
        "plot_filters": lambda: viz.plot_filters(model),
        "plot_feature_maps": lambda: viz.plot_feature_maps(model, x),
    }.items():
        with pytest.raises(ImportError, match=rf"^{who}: expected matplotlib"):
            call()


# -- the Recorder's statistics of a conv net ------------------------------------------------------


def test_layer_statistics_plot_the_conv_layers_of_a_recorder(rng):
    require("matplotlib")
    model = _rgb_net()
    X, y = rng.normal(size=(16, 3, 8, 8)), rng.integers(0, 2, size=16)
    recorder = nn.Recorder(model)
    glassnet.fit(model, X, y, loss="cross_entropy", epochs=2, batch_size=8, verbose=0,
                 callbacks=[recorder], seed=0)  # fmt: skip
    assert list(recorder.layers) == ["layers.0", "layers.3", "layers.6"]
    fig = viz.layer_statistics(recorder)
    for ax, key in zip(fig.axes, ["mean", "std", "saturated", "delta_norm"]):
        lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
        # the linear output layer has no saturation rule, hence no line there
        layers = ["layers.0", "layers.3"] + ([] if key == "saturated" else ["layers.6"])
        assert set(lines) == set(layers), key
        for name in layers:
            assert len(lines[name]) == 4
            np.testing.assert_array_equal(lines[name], recorder.layers[name][key])
    gradients = {line.get_label(): line.get_ydata() for line in fig.axes[-1].get_lines()}
    assert {"layers.0.W", "layers.0.b", "layers.3.W", "layers.3.b"} <= set(gradients)
    np.testing.assert_array_equal(gradients["layers.3.W"], recorder.grad_norms["layers.3.W"])
