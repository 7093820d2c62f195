"""The ``glassnet`` command, run in-process through ``main(argv)`` on small data."""

import re
import subprocess
import sys

import numpy as np
import pytest

import glassnet
from glassnet.cli import RECIPES, main
from glassnet.cli.commands import load_dataset
from tests.conftest import require


def _accuracy(text, label="test accuracy"):
    match = re.search(rf"^{label}: (\d\.\d{{4}})$", text, re.MULTILINE)
    assert match, f"no '{label}: ...' line in:\n{text}"
    return float(match.group(1))


def _keras_mnist(path, n_train=300, n_test=100):
    """A small MNIST file in the Keras layout, cut from the embedded subset."""
    (X_train, y_train), (X_test, y_test) = glassnet.data.load_mnist()
    as_images = lambda X: np.round(X * 255).astype(np.uint8).reshape(-1, 28, 28)
    np.savez(path, x_train=as_images(X_train[:n_train]),
             y_train=y_train[:n_train].astype(np.uint8), x_test=as_images(X_test[:n_test]),
             y_test=y_test[:n_test].astype(np.uint8))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def moons_model(tmp_path_factory):
    """A moons model trained for 2 epochs by the CLI: (path, stdout)."""
    path = tmp_path_factory.mktemp("moons") / "moons.npz"
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["train", "--data", "moons", "--epochs", "2", "--out", str(path)]) == 0
    return path, out.getvalue()


# -- train -------------------------------------------------------------------------------------


def test_xor_default_recipe_solves_xor(tmp_path, capsys):
    path = tmp_path / "xor.npz"
    assert main(["train", "--data", "xor", "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert "network: 2-2-1, sigmoid hidden units, sigmoid output, 9 parameters" in out
    assert "momentum (lr 0.5), loss sse, 1500 epochs, full batch, seed 0" in out
    assert _accuracy(out) == 1.0
    model = glassnet.load(path)
    X, y = glassnet.data.xor()
    X = 2 * X - 1  # the CLI codes the XOR inputs bipolar
    np.testing.assert_array_equal((model.predict(X).ravel() > 0.5).astype(int), np.ravel(y))
    history = glassnet.load_history(path)
    assert len(history.history["loss"]) == RECIPES["xor"]["epochs"]
    assert history.history["loss"][-1] < 0.01
    assert len(re.findall(r"^Epoch \d+/1500 ", out, re.MULTILINE)) == 26  # epoch 1, then every 60th


def test_train_writes_a_model_whose_predictions_match_the_report(moons_model):
    path, out = moons_model
    assert (
        "data: moons" in out and "800 training and 200 test samples, 2 features, 2 classes" in out
    )
    assert "network: 2-16-1, tanh hidden units, sigmoid output" in out
    assert len(re.findall(r"^Epoch [12]/2 - loss \S+ - accuracy \S+ - ", out, re.MULTILINE)) == 2
    assert f"saved the model and its training history to {path}" in out
    model = glassnet.load(path)
    _, _, X_test, y_test, _ = load_dataset("moons")
    accuracy = np.mean((model.predict(X_test).ravel() > 0.5) == y_test)
    assert _accuracy(out) == pytest.approx(accuracy, abs=5e-5)
    assert _accuracy(out) > 0.75
    history = glassnet.load_history(path)
    assert set(history.history) == {"loss", "accuracy"} and history.epoch == [0, 1]


def test_train_is_reproducible_for_a_seed(tmp_path, capsys):
    for name in ("a", "b"):
        main(
            [
                "train",
                "--data",
                "moons",
                "--epochs",
                "1",
                "--seed",
                "3",
                "--quiet",
                "--out",
                str(tmp_path / f"{name}.npz"),
            ]
        )
    a, b = glassnet.load(tmp_path / "a.npz"), glassnet.load(tmp_path / "b.npz")
    for wa, wb in zip(a.state_dict().values(), b.state_dict().values()):
        np.testing.assert_array_equal(wa, wb)


def test_options_override_the_recipe(tmp_path, capsys):
    args = ["train", "--data", "moons", "--hidden", "4,3", "--activation", "relu",
            "--optimizer", "sgd", "--lr", "0.05", "--epochs", "1", "--batch-size", "full",
            "--out", str(tmp_path / "m.npz")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "network: 2-4-3-1, relu hidden units, sigmoid output, 31 parameters" in out
    assert "training: sgd (lr 0.05), loss binary_cross_entropy, 1 epoch, full batch, seed 0" in out
    assert repr(glassnet.load(tmp_path / "m.npz")[1]) == "Dense(4 -> 3, relu)"


def test_hidden_none_trains_a_network_without_hidden_layers(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--data",
                "moons",
                "--hidden",
                "none",
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "m.npz"),
            ]
        )
        == 0
    )
    assert "network: 2-1," in capsys.readouterr().out


def test_quiet_prints_only_the_accuracy(tmp_path, capsys):
    assert main(["train", "--data", "xor", "--quiet", "--out", str(tmp_path / "m.npz")]) == 0
    assert capsys.readouterr().out == "test accuracy: 1.0000\n"


def test_default_output_file_is_in_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", "xor", "--epochs", "1"]) == 0
    assert (tmp_path / "glassnet-model.npz").is_file()
    assert f"to {tmp_path / 'glassnet-model.npz'}" in capsys.readouterr().out


RELU_SGD = ["--activation", "relu", "--optimizer", "sgd"]
DIVERGING = {  # each really diverges: the loss becomes nan or inf within the first epoch
    "moons relu sgd 1e6": ["--data", "moons", *RELU_SGD, "--lr", "1e6"],
    "moons relu sgd 1e20": ["--data", "moons", *RELU_SGD, "--lr", "1e20"],
    "spirals sgd 1e6": ["--data", "spirals", "--optimizer", "sgd", "--lr", "1e6"],
}


@pytest.mark.parametrize("args", DIVERGING.values(), ids=DIVERGING.keys())
def test_diverging_training_exits_1_in_one_line_and_saves_nothing(tmp_path, capsys, args):
    # no np.errstate here: the CLI must not depend on the caller's (the tests' is strict)
    path = tmp_path / "m.npz"
    assert main(["train", *args, "--epochs", "3", "--out", str(path)]) == 1
    captured = capsys.readouterr()
    assert re.fullmatch(r"glassnet: error: training diverged: the loss became (inf|nan) at epoch "
                        rf"1, batch \d+; nothing was saved to {re.escape(str(path))} \(try a "
                        r"smaller --lr\)\n", captured.err), captured.err  # fmt: skip
    assert "test accuracy" not in captured.out and "saved the model" not in captured.out
    assert not path.exists() and not list(tmp_path.iterdir())


def test_diverging_training_leaves_an_existing_model_file_as_it_was(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(["train", "--data", "moons", "--epochs", "1", "--quiet", "--out", str(path)]) == 0
    before = path.read_bytes()
    assert main(["train", *DIVERGING["moons relu sgd 1e6"], "--out", str(path)]) == 1
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]


def test_diverging_training_shows_no_numpy_warning_in_the_terminal(tmp_path):
    result = subprocess.run([sys.executable, "-W", "default", "-m", "glassnet", "train",
                             *DIVERGING["moons relu sgd 1e6"], "--epochs", "2", "--quiet",
                             "--out", str(tmp_path / "m.npz")],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Warning" not in result.stderr, result.stderr
    assert result.stderr.startswith("glassnet: error: training diverged: the loss became")


def test_spirals_recipe_runs(tmp_path, capsys):
    assert (
        main(["train", "--data", "spirals", "--epochs", "2", "--out", str(tmp_path / "s.npz")]) == 0
    )
    out = capsys.readouterr().out
    assert (
        "155 training and 39 test samples" in out
        and "network: 2-64-64-64-1, relu hidden units" in out
    )
    assert main(["evaluate", str(tmp_path / "s.npz"), "--data", "spirals"]) == 0
    assert _accuracy(capsys.readouterr().out, "accuracy") == _accuracy(out)


def test_train_on_the_embedded_mnist_subset(tmp_path, capsys):
    path = tmp_path / "mnist.npz"
    assert main(["train", "--epochs", "1", "--hidden", "16", "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "data: mnist (the embedded subset): 20,000 training and 5,000 test samples, "
        "784 features, 10 classes" in out
    )
    assert "network: 784-16-10, relu hidden units, softmax output, 12,730 parameters" in out
    assert _accuracy(out) > 0.85


def test_train_and_evaluate_mnist_from_a_keras_npz(tmp_path, capsys):
    data_path = _keras_mnist(tmp_path / "mnist-small.npz")
    path = tmp_path / "model.npz"
    assert main(["train", "--data-path", str(data_path), "--epochs", "2", "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"mnist ({data_path}): 300 training and 100 test samples" in out
    assert "network: 784-256-128-10, relu hidden units, softmax output, 235,146 parameters" in out
    assert "adam (lr 0.001), loss cross_entropy, 2 epochs, batch size 128" in out
    trained = _accuracy(out)
    assert main(["evaluate", str(path), "--data-path", str(data_path)]) == 0
    out = capsys.readouterr().out
    assert _accuracy(out, "accuracy") == trained
    assert "the test split of mnist" in out and "100 samples" in out
    assert re.search(r"^loss: \d+\.\d{4} \(cross_entropy\)$", out, re.MULTILINE)
    assert main(["evaluate", str(path)]) == 0  # the data path is recorded in the model file
    out = capsys.readouterr().out
    assert _accuracy(out, "accuracy") == trained and f"mnist ({data_path}), 100 samples" in out


# -- evaluate ----------------------------------------------------------------------------------


def test_evaluate_prints_the_accuracy_train_reported(moons_model, capsys):
    path, train_out = moons_model
    assert main(["evaluate", str(path), "--data", "moons"]) == 0
    out = capsys.readouterr().out
    assert _accuracy(out, "accuracy") == _accuracy(train_out)
    assert "200 samples" in out and "(binary_cross_entropy)" in out


def test_evaluate_on_the_default_mnist_test_set(tmp_path, capsys):
    path = tmp_path / "m.npz"
    glassnet.save(glassnet.nn.Sequential(glassnet.nn.Dense(784, 10, "softmax", seed=0)), path)
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5,000 samples" in out and 0.0 <= _accuracy(out, "accuracy") <= 0.3  # untrained


# -- predict -----------------------------------------------------------------------------------


@pytest.fixture
def moons_points(moons_model):
    path, _ = moons_model
    _, _, X_test, _, _ = load_dataset("moons")
    model = glassnet.load(path)
    return path, X_test[:7], model.predict(X_test[:7])


def test_predict_npy_prints_one_class_per_line(tmp_path, capsys, moons_points):
    model_path, X, output = moons_points
    np.save(tmp_path / "x.npy", X)
    assert main(["predict", str(model_path), str(tmp_path / "x.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [str(int(v > 0.5)) for v in output.ravel()]


def test_predict_a_single_sample_from_1d_npy(tmp_path, capsys, moons_points):
    model_path, X, output = moons_points
    np.save(tmp_path / "one.npy", X[0])
    assert main(["predict", str(model_path), str(tmp_path / "one.npy"), "--proba"]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(float(output[0, 0]), rel=1e-5)


def test_predict_csv_with_proba(tmp_path, capsys, moons_points):
    model_path, X, output = moons_points
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    assert main(["predict", str(model_path), str(tmp_path / "x.csv"), "--proba"]) == 0
    printed = np.array([float(line) for line in capsys.readouterr().out.splitlines()])
    np.testing.assert_allclose(printed, output.ravel(), rtol=1e-5)


def test_predict_softmax_model_prints_argmax_and_writes_files(tmp_path, capsys, rng):
    model = glassnet.nn.Sequential(glassnet.nn.Dense(3, 4, "softmax", seed=0))
    glassnet.save(model, tmp_path / "m.npz")
    X = rng.normal(size=(6, 3))
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    expected = model.predict(X).argmax(axis=1)
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "x.csv")]) == 0
    assert capsys.readouterr().out.split() == [str(c) for c in expected]
    assert (
        main(
            [
                "predict",
                str(tmp_path / "m.npz"),
                str(tmp_path / "x.csv"),
                "--out",
                str(tmp_path / "c.npy"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), expected)
    assert (
        main(
            [
                "predict",
                str(tmp_path / "m.npz"),
                str(tmp_path / "x.csv"),
                "--proba",
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(
        np.loadtxt(tmp_path / "p.csv", delimiter=","), model.predict(X), rtol=1e-6
    )
    assert capsys.readouterr().out == ""


# -- errors: one line, exit status 2, never a traceback ------------------------------------------

_INTEGER, _NUMBER = "expected a positive integer, got", "expected a positive number, got"
_SIZES = "argument --hidden: expected comma-separated positive layer sizes"
BAD_TRAIN_ARGUMENTS = {
    "epochs 0": (["--epochs", "0"], f"argument --epochs: {_INTEGER} '0'"),
    "epochs negative": (["--epochs", "-3"], f"argument --epochs: {_INTEGER} '-3'"),
    "epochs text": (["--epochs", "ten"], f"argument --epochs: {_INTEGER} 'ten'"),
    "batch size 0": (["--batch-size", "0"], f"argument --batch-size: {_INTEGER} '0'"),
    "lr 0": (["--lr", "0"], f"argument --lr: {_NUMBER} '0'"),
    "lr negative": (["--lr", "-0.1"], f"argument --lr: {_NUMBER} '-0.1'"),
    "lr inf": (["--lr", "inf"], f"argument --lr: {_NUMBER} 'inf'"),
    "hidden text": (["--hidden", "256,x"], _SIZES),
    "hidden zero": (["--hidden", "256,0"], _SIZES),
    "hidden empty": (["--hidden", ""], _SIZES),
    "activation": (["--activation", "sigmod"],
                   ("argument --activation: expected one of elu, .*, relu, sigmoid, .*, got "
                    "'sigmod' \\(did you mean 'sigmoid'\\?\\); see")),
    "optimizer": (["--optimizer", "adamx"],
                  ("argument --optimizer: expected one of sgd, momentum, nesterov, adam, adamw, "
                   "adagrad, rmsprop, adadelta, rprop\\+, rprop-, irprop\\+, irprop-, bfgs, "
                   "lbfgs, scg, newton, lm, got 'adamx' \\(did you mean 'adam'\\?\\)")),
    "data": (["--data", "cifar"],
             "argument --data: expected one of mnist, xor, moons, spirals, got 'cifar'; see"),
    "seed": (["--seed", "-1"], "argument --seed: expected a non-negative integer, got '-1'"),
    "data path for xor": (["--data", "xor", "--data-path", "x.npz"],
                          "--data-path: expected it only with --data mnist, got --data xor"),
    "out folder": (["--out", "no/such/folder/m.npz"],
                   "--out: expected a file path in an existing folder"),
    "unknown option": (["--epoch-count", "3"], "unrecognized arguments: --epoch-count 3"),
}  # fmt: skip


def _assert_one_line_error(capsys, pattern):
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert re.match(rf"glassnet: error: {pattern}", captured.err), captured.err


@pytest.mark.parametrize(
    "args, message", BAD_TRAIN_ARGUMENTS.values(), ids=BAD_TRAIN_ARGUMENTS.keys()
)
def test_bad_train_arguments_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *args]) == 2
    _assert_one_line_error(capsys, message)
    assert not list(tmp_path.iterdir())  # failed before training: nothing written


def test_bad_errors_name_the_help_to_read(capsys):
    assert main(["train", "--epochs", "0"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("; see 'glassnet train --help'")


BAD_COMMANDS = {
    "no command": ([], r"expected a command \(train, evaluate, predict or plot\), got none"),
    "unknown command": (["fit"], "argument COMMAND: invalid choice: 'fit'"),
    "predict without input": (["predict", "m.npz"], "the following arguments are required: INPUT"),
    "predict out suffix": (["predict", "m.npz", "x.csv", "--out", "y.txt"],
                           "--out: expected a .npy or .csv file name, got y.txt"),
    "evaluate missing model": (["evaluate", "absent.npz"], "load: no such file: absent.npz"),
}  # fmt: skip


@pytest.mark.parametrize("args, message", BAD_COMMANDS.values(), ids=BAD_COMMANDS.keys())
def test_bad_commands_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    _assert_one_line_error(capsys, message)


def test_bad_files_exit_2_with_one_line(tmp_path, monkeypatch, capsys, moons_model):
    monkeypatch.chdir(tmp_path)
    model_path, _ = moons_model
    np.savez("foreign.npz", w=np.ones(2))
    assert main(["evaluate", "foreign.npz"]) == 2
    _assert_one_line_error(
        capsys,
        "load: expected a glassnet model file, got foreign.npz without a '__glassnet__' entry",
    )
    np.save("three.npy", np.ones((4, 3)))
    assert main(["predict", str(model_path), "three.npy"]) == 2
    _assert_one_line_error(
        capsys, "predict: expected samples with 2 features for the model .*, got 3 in three.npy"
    )
    (tmp_path / "words.csv").write_text("1.0,2.0\nhello,3\n")
    assert main(["predict", str(model_path), "words.csv"]) == 2
    _assert_one_line_error(capsys, "predict: expected numbers separated by commas in words.csv")
    (tmp_path / "x.txt").write_text("1,2\n")
    assert main(["predict", str(model_path), "x.txt"]) == 2
    _assert_one_line_error(
        capsys, r"predict: expected INPUT to be a \.npy or \.csv file, got x.txt"
    )
    assert main(["predict", str(model_path), "absent.csv"]) == 2
    _assert_one_line_error(capsys, "predict: expected INPUT to be an existing file, got absent.csv")
    np.save("nan.npy", np.array([[0.5, np.nan]]))
    assert main(["predict", str(model_path), "nan.npy"]) == 2
    _assert_one_line_error(
        capsys, r"predict: INPUT nan.npy has 1 NaN or inf values \(first: NaN at row 0, column 1\)"
    )
    np.savez("archive.npz", x=np.ones((2, 2)))
    (tmp_path / "archive.npy").write_bytes((tmp_path / "archive.npz").read_bytes())
    assert main(["predict", str(model_path), "archive.npy"]) == 2
    _assert_one_line_error(
        capsys, "predict: expected one array in archive.npy, got an .npz archive"
    )
    np.save("full.npy", np.ones((100, 2)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "full.npy").read_bytes()[:200])
    assert main(["predict", str(model_path), "cut.npy"]) == 2
    _assert_one_line_error(capsys, "predict: expected a NumPy array in cut.npy, got: ")
    np.save("cube.npy", np.ones((2, 2, 2)))
    assert main(["predict", str(model_path), "cube.npy"]) == 2
    _assert_one_line_error(
        capsys, r"predict: expected a non-empty numeric array \(samples, features\)"
    )


def test_evaluating_on_the_wrong_dataset_is_a_one_line_error(capsys, moons_model):
    model_path, _ = moons_model
    assert main(["evaluate", str(model_path), "--data", "mnist"]) == 2  # a moons model on MNIST
    _assert_one_line_error(
        capsys,
        r"evaluate: Dense\(2 -> 16, tanh\) \(the first layer\) expects 2 features, got X with 784",
    )


def test_missing_data_path_is_a_one_line_error(tmp_path, capsys):
    assert (
        main(
            ["train", "--data-path", str(tmp_path / "absent.npz"), "--out", str(tmp_path / "m.npz")]
        )
        == 2
    )
    _assert_one_line_error(capsys, ".*absent.npz")


def test_a_closed_output_pipe_ends_quietly(monkeypatch, capsys, moons_model, tmp_path):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    model_path, _ = moons_model
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["predict", str(model_path), str(tmp_path / "x.npy")]) == 141
    assert capsys.readouterr().err == ""


# -- help and version --------------------------------------------------------------------------


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for line in ("train     train a network on a dataset and save it",
                 "evaluate  print a saved model's loss and accuracy on a test set",
                 "predict   predict the classes"):  # fmt: skip
        assert line in out


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_each_command_has_help_with_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: glassnet {command}" in out
    assert re.search(rf"examples:\n  glassnet {command}", out)


def test_train_help_shows_the_recipes(capsys):
    main(["train", "--help"])
    out = capsys.readouterr().out
    assert re.search(r"mnist +256,128 +relu +adam +0\.001 +15 +128 +softmax \+ cross_entropy", out)
    assert re.search(r"xor +2 +sigmoid +momentum +0.5 +1500 +full +sigmoid \+ sse", out)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"glassnet {glassnet.__version__}\n"


def test_python_m_glassnet_help():
    result = subprocess.run(
        [sys.executable, "-m", "glassnet", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: glassnet" in result.stdout and "train" in result.stdout


def test_python_m_glassnet_error_exit_status():
    result = subprocess.run([sys.executable, "-m", "glassnet", "train", "--epochs", "0"],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr.startswith("glassnet: error: argument --epochs")
        and "Traceback" not in result.stderr
    )


def test_a_full_batch_optimizer_trains_full_batch_unless_told_otherwise(tmp_path, capsys):
    moons = ["train", "--data", "moons", "--out", str(tmp_path / "m.npz")]
    assert main([*moons, "--optimizer", "irprop-", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "irprop- (lr 0.01), loss binary_cross_entropy, 3 epochs, full batch" in out
    code = main([*moons, "--optimizer", "rprop+", "--batch-size", "32", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "RpropPlus is a full-batch method" in err and "pass batch_size=None" in err


def test_levenberg_marquardt_by_name_on_a_squared_error_recipe_only(tmp_path, capsys):
    # xor's recipe trains on 'sse': LM solves it (seed 0); moons' trains on cross-entropy: refused
    lm = ["train", "--optimizer", "lm"]
    assert main([*lm, "--data", "xor", "--epochs", "50", "--out", str(tmp_path / "x.npz")]) == 0
    out = capsys.readouterr().out
    assert "lm (lr 0.5), loss sse, 50 epochs, full batch" in out and "test accuracy: 1.0000" in out
    code = main([*lm, "--data", "moons", "--epochs", "1", "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err
    assert code == 2
    assert "optimizer 'lm' (LevenbergMarquardt) minimises a sum of squared residuals" in err
    assert "expected loss 'sse' or 'mse', got 'binary_cross_entropy'" in err
    assert not (tmp_path / "m.npz").exists()


# -- the dataset recorded in the model file ---------------------------------------------------


def test_a_trained_model_records_its_dataset(moons_model, tmp_path, capsys):
    path, train_out = moons_model
    assert glassnet.io.load_info(path) == {"data": "moons", "data_path": None}
    assert main(["evaluate", str(path)]) == 0  # no --data: moons, from the file
    out = capsys.readouterr().out
    assert "the test split of moons" in out and _accuracy(out, "accuracy") == _accuracy(train_out)
    assert main(["evaluate", str(path), "--data", "mnist"]) == 2  # an explicit --data overrides
    assert "expects 2 features, got X with 784" in capsys.readouterr().err


def test_plot_needs_no_data_option_for_a_trained_model(moons_model, tmp_path, capsys):
    require("matplotlib")
    path, _ = moons_model
    assert main(["plot", str(path), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "moons-decision-regions.png").is_file()  # 2-D data: moons, from the file


def test_data_path_is_refused_with_recorded_non_mnist_data(moons_model, capsys):
    path, _ = moons_model
    assert main(["evaluate", str(path), "--data-path", "x.npz"]) == 2
    _assert_one_line_error(capsys, "--data-path: expected it only with --data mnist, got --data "
                           f"moons \\(recorded in {re.escape(str(path))}\\)")  # fmt: skip
    assert main(["evaluate", str(path), "--data", "xor", "--data-path", "x.npz"]) == 2
    _assert_one_line_error(capsys, "--data-path: expected it only with --data mnist, got --data "
                           "xor;")  # fmt: skip


def test_a_recorded_dataset_glassnet_does_not_know_is_an_error(tmp_path, capsys):
    path = tmp_path / "m.npz"
    glassnet.save(glassnet.nn.Sequential(glassnet.nn.Dense(2, 1)), path, info={"data": "cifar"})
    assert main(["evaluate", str(path)]) == 2
    _assert_one_line_error(capsys, f"evaluate: expected the dataset recorded in "
                           f"{re.escape(str(path))} to be one of mnist, xor, moons, spirals, "
                           "got 'cifar'; pass --data")  # fmt: skip


# -- bugs are not usage errors ------------------------------------------------------------------


def test_a_genuine_bug_is_a_traceback_not_a_usage_error(monkeypatch, moons_model, tmp_path):
    cli_main = sys.modules["glassnet.cli.main"]  # the module (glassnet.cli.main is the function)

    def buggy(args, parser):
        return len(None)  # a TypeError: a bug in glassnet, not the user's mistake

    monkeypatch.setattr(cli_main, "command_evaluate", buggy)
    path, _ = moons_model
    with pytest.raises(TypeError, match="has no len"):
        main(["evaluate", str(path)])


def test_full_batch_names_agree_with_the_optimizer_classes():
    # the CLI decides full-batch training from optim.FULL_BATCH without building an optimizer
    probe = [glassnet.nn.Parameter(np.zeros(1))]
    for name in glassnet.optim.NAMES:
        assert (name in glassnet.optim.FULL_BATCH) == glassnet.optim.get(name, probe).full_batch
