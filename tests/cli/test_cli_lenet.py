"""``glassnet train --model lenet5``: LeNet-5 on the MNIST images, and evaluate, predict and plot
of its model file without extra options (the file records the image shape)."""

import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

import glassnet
from glassnet import nn
from glassnet.cli import main
from glassnet.cli.commands import _architecture, build_lenet5
from tests.conftest import require

LENET5_CODE = "1x28x28-6C5p2-MP2-16C5-MP2-120-84-10"


def _accuracy(text, label="test accuracy"):
    match = re.search(rf"^{label}: (\d\.\d{{4}})$", text, re.MULTILINE)
    assert match, f"no '{label}: ...' line in:\n{text}"
    return float(match.group(1))


def _one_line_error(capsys, message):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err and len(lines) == 1, captured.err
    assert lines[0].startswith("glassnet: error: ") and message in lines[0], lines[0]


def _keras_mnist(path, n_train, n_test):
    """A small MNIST file in the Keras layout, cut from the embedded subset."""
    (X, y), (X_test, y_test) = glassnet.data.load_mnist()
    images = lambda X: np.round(X * 255).astype(np.uint8).reshape(-1, 28, 28)
    np.savez(path, x_train=images(X[:n_train]), y_train=y[:n_train].astype(np.uint8),
             x_test=images(X_test[:n_test]), y_test=y_test[:n_test].astype(np.uint8))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """LeNet-5 trained by the CLI with its recipe for one epoch on 2,000 of the embedded
    training images (500 test images): (path, stdout, data path)."""
    folder = tmp_path_factory.mktemp("lenet")
    data_path = _keras_mnist(folder / "mnist-2000.npz", 2000, 500)
    path = folder / "lenet.npz"
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["train", "--model", "lenet5", "--data-path", str(data_path), "--epochs", "1",
                     "--out", str(path)])  # fmt: skip
    assert code == 0
    return path, out.getvalue(), data_path


@pytest.fixture(scope="module")
def test_images():
    _, (X_test, y_test) = glassnet.data.load_mnist()
    return X_test[:6], y_test[:6]


# -- train ----------------------------------------------------------------------------------------


def test_train_lenet5_describes_the_conv_net_and_learns(lenet):
    path, out, data_path = lenet
    assert (f"data: mnist ({data_path}): 2,000 training and 500 test samples, 1x28x28 images, "
            "10 classes") in out  # fmt: skip
    assert (f"network: LeNet-5 {LENET5_CODE}, relu hidden units, softmax output, "
            "61,706 parameters") in out  # fmt: skip
    assert "training: adam (lr 0.001), loss cross_entropy, 1 epoch, batch size 64, seed 0" in out
    assert _accuracy(out) > 0.4  # 32 steps: about 60%; chance is 10%
    model = glassnet.load(path)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten",
                     "Dense", "Dense", "Dense"]  # fmt: skip
    assert repr(model[0]) == "Conv2d(1, 6, kernel_size=5, stride=1, padding=2)"
    info = {"data": "mnist", "data_path": str(data_path), "model": "lenet5",
            "input_shape": [1, 28, 28]}  # fmt: skip
    assert glassnet.io.load_info(path) == info
    assert glassnet.load_history(path).epoch == [0]


def test_lenet5_options_override_its_recipe_and_data_path_works(tmp_path, capsys):
    data_path = _keras_mnist(tmp_path / "small.npz", 200, 50)
    path = tmp_path / "tanh.npz"
    args = ["train", "--model", "lenet5", "--data-path", str(data_path), "--activation", "tanh",
            "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "100", "--epochs", "2",
            "--out", str(path)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "200 training and 50 test samples, 1x28x28 images" in out
    assert f"LeNet-5 {LENET5_CODE}, tanh hidden units" in out
    assert "training: sgd (lr 0.05), loss cross_entropy, 2 epochs, batch size 100" in out
    model = glassnet.load(path)
    assert [type(layer).__name__ for layer in model.layers[1:5:3]] == ["Tanh", "Tanh"]
    assert model[7].activation_name == "tanh" and model[9].activation_name == "softmax"
    assert main(["evaluate", str(path)]) == 0  # the data path and the image shape, recorded
    assert "the test split of mnist" in (text := capsys.readouterr().out) and "50 samples" in text


def test_the_help_shows_the_lenet5_recipe(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--model NAME" in out and "with --model lenet5 (--data mnist only" in out
    assert re.search(r"mnist +lenet5 +relu +adam +0\.001 +3 +64 +softmax \+ cross_entropy", out)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "moons"],
         "--model lenet5: expected a dataset of images (--data mnist), got --data moons"),
        (["--data", "xor"], "expected a dataset of images (--data mnist), got --data xor"),
        (["--hidden", "32"],
         "--hidden: expected it only with --model mlp (LeNet-5's layers are fixed)"),
    ],
)  # fmt: skip
def test_lenet5_with_what_it_cannot_train_is_a_usage_error(tmp_path, capsys, args, message):
    out = tmp_path / "m.npz"
    assert main(["train", "--model", "lenet5", *args, "--out", str(out)]) == 2
    _one_line_error(capsys, message)
    assert not out.exists()


def test_an_unknown_model_suggests_the_closest_name(capsys):
    assert main(["train", "--model", "lenet"]) == 2
    _one_line_error(capsys, "argument --model: expected one of mlp, lenet5, got 'lenet' "
                    "(did you mean 'lenet5'?)")  # fmt: skip


# -- evaluate, predict, plot: the model file says what they need ------------------------------


def test_evaluate_needs_no_option_for_a_lenet5_file(lenet, capsys):
    path, train_out, data_path = lenet
    assert main(["evaluate", str(path)]) == 0  # the data path and the image shape, recorded
    out = capsys.readouterr().out
    assert f"model: {LENET5_CODE} from {path}" in out and f"({data_path}), 500 samples" in out
    assert _accuracy(out, "accuracy") == _accuracy(train_out)


def test_predict_takes_flattened_images(lenet, tmp_path, capsys, test_images):
    path, _, _ = lenet
    X, _ = test_images
    model = glassnet.load(path)
    expected = model.predict(X.reshape(-1, 1, 28, 28))
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    classes = [int(line) for line in capsys.readouterr().out.split()]
    assert classes == expected.argmax(axis=1).tolist()
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", fmt="%.9g")
    out_file = tmp_path / "p.npy"
    assert main(["predict", str(path), str(tmp_path / "x.csv"), "--proba",
                 "--out", str(out_file)]) == 0  # fmt: skip
    np.testing.assert_allclose(np.load(out_file), expected, rtol=1e-5, atol=1e-7)
    np.save(tmp_path / "one.npy", X[0])  # a single sample, 1-D
    assert main(["predict", str(path), str(tmp_path / "one.npy")]) == 0
    assert capsys.readouterr().out == f"{classes[0]}\n"


def test_inputs_that_are_not_the_images_are_one_line_errors(lenet, tmp_path, capsys):
    path, _, _ = lenet
    np.save(tmp_path / "wide.npy", np.zeros((2, 785)))
    assert main(["predict", str(path), str(tmp_path / "wide.npy")]) == 2
    _one_line_error(capsys, "predict: expected samples with 784 features (1x28x28 images, "
                    f"flattened) for the model {path}, got 785 in")  # fmt: skip
    assert main(["evaluate", str(path), "--data", "moons"]) == 2
    _one_line_error(capsys, "evaluate: expected --data with 784 features (1x28x28 images, "
                    f"flattened) for the model {path}, got moons with 2;")  # fmt: skip
    assert main(["plot", str(path), "--data", "spirals", "--out-dir", str(tmp_path)]) == 2
    _one_line_error(capsys, "plot: expected --data with 784 features (1x28x28 images, "
                    f"flattened) for the model {path}, got spirals with 2;")  # fmt: skip
    assert not list(tmp_path.glob("*.png"))


def test_plot_draws_a_lenet5_file(lenet, tmp_path, capsys):
    require("matplotlib")
    path, _, _ = lenet
    assert main(["plot", str(path), "--out-dir", str(tmp_path)]) == 0
    written = capsys.readouterr().out.splitlines()
    assert written == [str(tmp_path / f"lenet-{name}.png")
                       for name in ["learning-curves", "weights", "confusion-matrix"]]  # fmt: skip
    assert all((tmp_path / name).stat().st_size > 0 for name in written)


def test_a_conv_file_without_recorded_shape_takes_square_images(tmp_path, capsys, test_images):
    X, _ = test_images
    model = build_lenet5((1, 28, 28), "relu", 10, "softmax", seed=0)
    path = tmp_path / "bare.npz"
    glassnet.save(model, path)  # no info: evaluate and predict take 784 = 1 x 28 x 28
    small = _keras_mnist(tmp_path / "small.npz", 10, 20)
    assert main(["evaluate", str(path), "--data-path", str(small)]) == 0
    assert f"model: {LENET5_CODE} from" in capsys.readouterr().out
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 0
    expected = model.predict(X.reshape(-1, 1, 28, 28)).argmax(axis=1)
    assert [int(c) for c in capsys.readouterr().out.split()] == expected.tolist()
    np.save(tmp_path / "odd.npy", np.zeros((2, 783)))
    assert main(["predict", str(path), str(tmp_path / "odd.npy")]) == 2
    _one_line_error(capsys, "predict: expected samples of 1-channel square images for the "
                    "convolutional model")  # fmt: skip


def test_a_malformed_recorded_input_shape_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "m.npz"
    model = build_lenet5((1, 28, 28), "relu", 10, "softmax", seed=0)
    glassnet.save(model, path, info={"data": "mnist", "input_shape": [1, "28", 28]})
    assert main(["evaluate", str(path)]) == 2
    _one_line_error(capsys, f"evaluate: expected the input_shape recorded in {path} to be a "
                    "list of positive ints, got [1, '28', 28]")  # fmt: skip


def test_architecture_codes_of_other_conv_layers():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Conv2d(8, 4, (3, 5)), nn.MaxPool2d(3), nn.Flatten(),
                          nn.Dense(8, 2, "softmax"))  # fmt: skip
    assert _architecture(model) == "8C3p1s2-AP2-4C3x5-MP3-2"
    assert _architecture(model, (3, 32, 32)) == "3x32x32-8C3p1s2-AP2-4C3x5-MP3-2"
    mlp = nn.Sequential(nn.Dense(784, 16, "relu"), nn.Dense(16, 10, "softmax"))
    assert _architecture(mlp, (784,)) == "784-16-10"  # an MLP: its Dense layers, as before
