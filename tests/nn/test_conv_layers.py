"""The convolutional layers: torch's outputs after copying weights, torch's initialisation,
shape errors naming the layer, save/load round trips, and a small CNN that learns."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.errors import ShapeError
from tests.conftest import require

F64 = np.float64


def _numpy_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _torch_pairs(torch):
    """(torch module, glassnet layer, input shape) of every layer with a torch twin."""
    T = torch.nn
    return [
        (T.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3, dtype=F64), (2, 3, 7, 6)),
        (
            T.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(2, 1), groups=2),
            nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(2, 1), groups=2, dtype=F64),
            (2, 4, 9, 8),
        ),
        (
            T.Conv2d(3, 3, 3, padding="same", groups=3, bias=False),
            nn.Conv2d(3, 3, 3, padding="same", groups=3, bias=False, dtype=F64),
            (1, 3, 5, 5),
        ),
        (
            T.Conv1d(2, 5, 4, stride=2, padding=1),
            nn.Conv1d(2, 5, 4, stride=2, padding=1, dtype=F64),
            (3, 2, 11),
        ),
        (
            T.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
            nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, dtype=F64),
            (2, 4, 4, 5),
        ),
        (T.MaxPool2d(2), nn.MaxPool2d(2), (2, 3, 6, 7)),
        (T.MaxPool2d(3, stride=2, padding=1), nn.MaxPool2d(3, stride=2, padding=1), (2, 2, 7, 7)),
        (T.MaxPool1d(3, stride=2), nn.MaxPool1d(3, stride=2), (2, 2, 9)),
        (T.AvgPool2d(2, stride=1, padding=1), nn.AvgPool2d(2, stride=1, padding=1), (2, 3, 5, 4)),
        (T.AvgPool1d(2), nn.AvgPool1d(2), (2, 3, 8)),
        (T.Sequential(T.AdaptiveAvgPool2d(1), T.Flatten()), nn.GlobalAvgPool2d(), (2, 3, 5, 4)),
        (T.Upsample(scale_factor=2, mode="nearest"), nn.Upsample(2), (1, 2, 3, 4)),
        (T.Flatten(), nn.Flatten(), (2, 3, 4, 5)),
        (T.BatchNorm2d(3), nn.BatchNorm2d(3, dtype=F64), (4, 3, 5, 5)),
    ]


def test_each_layer_gives_torchs_output_and_input_gradient(rng):
    torch = require("torch")
    torch.manual_seed(0)
    for theirs, ours, shape in _torch_pairs(torch):
        theirs = theirs.double()
        if _numpy_state(theirs):
            nn.load_torch_state_dict(ours, _numpy_state(theirs))
        x = rng.normal(size=shape)
        tx = torch.tensor(x, requires_grad=True)
        expected = theirs(tx)
        gx = gn.tensor(x, requires_grad=True)
        out = ours(gx)
        np.testing.assert_allclose(
            out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=repr(ours)
        )
        weights = rng.normal(size=out.shape)
        (expected * torch.as_tensor(weights)).sum().backward()
        (out * gn.tensor(weights)).sum().backward()
        np.testing.assert_allclose(
            gx.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=repr(ours)
        )


def test_the_default_initialisation_is_torchs():
    # seed 0: W and b ~ uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 3 * 5 * 5 / groups
    for layer, fan_in in (
        (nn.Conv2d(3, 64, 5, seed=0), 75),
        (nn.Conv2d(4, 64, 5, groups=2, seed=0), 50),
        (nn.ConvTranspose2d(64, 8, 3, seed=0), 72),
    ):
        bound = 1 / np.sqrt(fan_in)
        for p in (layer.W.data, layer.b.data):
            assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound
    assert nn.Conv2d(3, 4, 3).W.shape == (4, 3, 3, 3) and nn.ConvTranspose2d(3, 4, 3).W.shape == (
        3,
        4,
        3,
        3,
    )
    assert nn.Conv2d(3, 4, 3).W.dtype == np.float32


@pytest.mark.parametrize(
    "layer, shape, match",
    [
        (
            nn.Conv2d(3, 4, 3),
            (2, 2, 8, 8),
            r"Conv2d\(3, 4, kernel_size=3, stride=1\): expected input "
            r"\(batch, channels, height, width\) with 3 channels, got shape \(2, 2, 8, 8\)",
        ),
        (nn.Conv2d(3, 4, 3), (2, 3, 8), "with 3 channels"),
        (nn.Conv1d(2, 4, 3), (2, 2, 8, 8), r"\(batch, channels, length\)"),
        (nn.MaxPool2d(2), (2, 8), r"MaxPool2d\(kernel_size=2, stride=2\): expected input"),
        (nn.BatchNorm2d(3), (2, 3), r"expected input \(batch, 3, height, width\)"),
        (nn.Dropout2d(0.5), (2, 3), "expected input"),
        (nn.GlobalAvgPool2d(), (2, 3, 4), "expected input"),
    ],
)
def test_a_wrong_input_shape_names_the_layer(layer, shape, match):
    with pytest.raises(ShapeError, match=match):
        layer(gn.tensor(np.zeros(shape, np.float32)))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.Conv2d(3, 4, 0), "kernel_size as a positive int"),
        (lambda: nn.Conv2d(3, 4, 3, groups=2), "divisible by groups"),
        (lambda: nn.Conv2d(3, 4, 3, padding="full"), "padding 'same', 'valid'"),
        (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), "padding='same' needs stride 1"),
        (lambda: nn.Conv2d(0, 4, 3), "in_channels to be a positive int"),
        (lambda: nn.Conv2d(3, 4, (3, 3, 3)), "kernel_size as a positive int or 2 of them"),
        (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2), "output_padding smaller"),
        (lambda: nn.MaxPool2d(2, padding=2), "padding at most half the kernel size"),
        (lambda: nn.Upsample(0), "scale_factor"),
        (lambda: nn.Flatten(1.5), "start_dim to be an int"),
    ],
)
def test_layers_refuse_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _lenet(seed=0):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, seed=seed),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, seed=seed + 1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Dropout2d(0.1, seed=seed + 2),
        nn.Flatten(),
        nn.Dense(16 * 5 * 5, 84, "relu", seed=seed + 3),
        nn.Dense(84, 10, "softmax", seed=seed + 4),
    )


def test_every_layer_saves_and_loads_with_identical_outputs(tmp_path, rng):
    images = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding="same", seed=0),
        nn.ConvTranspose2d(4, 2, 2, stride=2, seed=1),
        nn.MaxPool2d(2),
        nn.AvgPool2d(3, stride=1, padding=1),
        nn.Upsample(2),
        nn.BatchNorm2d(2),
        nn.Dropout2d(0.3),
        nn.MaxPool2d(2),
        nn.GlobalAvgPool2d(),
    )
    sequences = nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1, seed=2), nn.MaxPool1d(2), nn.AvgPool1d(2), nn.Flatten()
    )
    for net, shape in ((images, (3, 1, 6, 6)), (_lenet(), (3, 1, 28, 28)), (sequences, (3, 2, 8))):
        x = rng.normal(size=shape)
        gn.save(net, tmp_path / "m.npz")
        loaded = gn.load(tmp_path / "m.npz")
        assert repr(loaded) == repr(net)
        assert np.array_equal(net.predict(x), loaded.predict(x))


def test_summary_of_lenet():
    lines = []
    rows = _lenet().summary((1, 28, 28), print_fn=lines.append)
    assert [r["output_shape"] for r in rows][:4] == [
        (None, 6, 28, 28),
        (None, 6, 28, 28),
        (None, 6, 14, 14),
        (None, 16, 10, 10),
    ]
    assert rows[-1]["output_shape"] == (None, 10)
    assert lines[-1] == f"Total parameters: {sum(p.size for p in _lenet().parameters()):,}"
    with pytest.raises(
        ShapeError, match=r"Dense\(400 -> 84, relu\): expected input \(batch, 400\), got \(1, 576\)"
    ):
        _lenet().summary((1, 32, 32), print_fn=lambda line: None)


def _stripes(n, seed):
    """n 8x8 images of one horizontal (label 0) or vertical (label 1) bright stripe, noisy."""
    rng = np.random.default_rng(seed)
    X = 0.1 * rng.normal(size=(n, 1, 8, 8))
    y = rng.integers(0, 2, n)
    where = rng.integers(0, 8, n)
    for i in range(n):
        if y[i] == 0:
            X[i, 0, where[i], :] += 1.0
        else:
            X[i, 0, :, where[i]] += 1.0
    return X, y


def test_a_small_cnn_tells_horizontal_from_vertical_stripes():
    # seeds: data 0 (train) and 1 (test), weights 0..2, shuffling 0; a random or broken
    # convolution stays near 50%
    X, y = _stripes(200, 0)
    X_test, y_test = _stripes(100, 1)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, seed=0),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1, seed=1),
        nn.ReLU(),
        nn.GlobalAvgPool2d(),
        nn.Dense(4, 2, "softmax", seed=2),
    )
    gn.fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.02,
        epochs=30,
        batch_size=20,
        verbose=0,
        seed=0,
    )
    accuracy = gn.evaluate(model, X_test, y_test, loss="cross_entropy", metrics=["accuracy"])[
        "accuracy"
    ]
    assert accuracy == 1.0


def test_fit_and_predict_check_nchw_input_against_the_first_conv_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GlobalAvgPool2d(), nn.Dense(2, 2, "softmax"))
    with pytest.raises(
        ShapeError,
        match=r"\(the first layer\) expects X of shape \(samples, channels, height, "
        r"width\) with 1 channels, got shape \(4, 64\)",
    ):
        gn.fit(model, np.zeros((4, 64)), np.zeros(4, int), loss="cross_entropy", verbose=0)
    with pytest.raises(ShapeError, match="with 1 channels, got shape"):
        model.predict(np.zeros((4, 3, 8, 8)))
    assert model.predict(np.zeros((4, 1, 8, 8))).shape == (4, 2)


def test_a_fully_convolutional_network_learns_per_pixel_labels():
    # seed 0: label each pixel 1 where the image is bright, 0 elsewhere; a 1x1-conv network
    # (conv 3x3 -> ReLU -> conv 1x1 to 2 classes) trained with per-pixel cross-entropy
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 1, 6, 6))
    y = (X[:, 0] > 0.5).astype(int)  # (n, H, W) labels
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, seed=0), nn.ReLU(),
                          nn.Conv2d(8, 2, 1, seed=1))  # fmt: skip
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.02, epochs=60,
                     batch_size=8, verbose=0, seed=0)
    predicted = model.predict(X).argmax(axis=1)
    assert (predicted == y).mean() > 0.97 and history.history["loss"][-1] < 0.1
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        gn.fit(model, X, y + 1, loss="cross_entropy", epochs=1, verbose=0)
    with pytest.raises(TypeError, match="expected integer labels per position"):
        gn.fit(model, X, y.astype(float), loss="cross_entropy", epochs=1, verbose=0)
