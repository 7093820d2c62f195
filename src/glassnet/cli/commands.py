"""What the ``glassnet`` commands do: the per-dataset recipes, the networks (an MLP or LeNet-5),
and train, evaluate, predict, plot.

The argument parsing lives in ``main.py``; each ``command_*`` here receives the parsed
arguments and the parser (for usage errors) and returns the exit status.
"""

import itertools
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from .. import nn, optim, viz
from ..errors import FileFormatError
from ..io import load, load_history, load_info, save
from ..nn.activation import NAMES as ACTIVATION_NAMES
from ..train import EpochLogger, evaluate, fit
from ..train.checks import check_finite
from ..train.metrics import predicted_classes

__all__ = ["RECIPES", "MODELS", "LENET5", "IMAGE_SHAPES", "HIDDEN_ACTIVATIONS", "load_dataset",
           "build_network", "build_lenet5", "read_samples", "command_train", "command_evaluate",
           "command_predict", "command_plot", "EXIT_DIVERGED"]  # fmt: skip

EXIT_DIVERGED = 1  # training failed: the loss or the weights became NaN or inf

# What `glassnet train --data NAME` trains unless an option overrides it. The first six keys
# are the tunable defaults; "output" (the output layer's activation) and "loss" fit the task.
RECIPES = {
    "mnist": {"hidden": (256, 128), "activation": "relu", "optimizer": "adam", "lr": 1e-3,
              "epochs": 15, "batch_size": 128, "output": "softmax", "loss": "cross_entropy"},
    # the documented XOR set-up of tests/e2e/test_xor.py: bipolar inputs, uniform(-0.5, 0.5)
    "xor": {"hidden": (2,), "activation": "sigmoid", "optimizer": "momentum", "lr": 0.5,
            "epochs": 1500, "batch_size": None, "output": "sigmoid", "loss": "sse",
            "init": {"name": "uniform", "r": 0.5}},
    "moons": {"hidden": (16,), "activation": "tanh", "optimizer": "adam", "lr": 0.01,
              "epochs": 40, "batch_size": 32, "output": "sigmoid", "loss": "binary_cross_entropy"},
    # tanh nets learn the training spirals but not the held-out points (nor does sklearn's MLP)
    "spirals": {"hidden": (64, 64, 64), "activation": "relu", "optimizer": "adam", "lr": 0.01,
                "epochs": 500, "batch_size": 32,
                "output": "sigmoid", "loss": "binary_cross_entropy"},
}  # fmt: skip
# `--model`: the network `glassnet train` builds. mlp: Dense layers of --hidden (the recipes
# above); lenet5: LeNet-5 (LeCun et al. 1998, with ReLU and max-pooling as
# benchmarks/lenet_mnist.py trains it), for the datasets of images in IMAGE_SHAPES.
MODELS = ("mlp", "lenet5")
# what --model lenet5 puts in place of the dataset's recipe (3 epochs of the 20,000 embedded
# images: about 97% test accuracy, 2-3 s an epoch on 2 idle cores); the options override it
# as they do a recipe, but --hidden, which LeNet-5's fixed layers leave nothing to set
LENET5 = {"hidden": (), "activation": "relu", "optimizer": "adam", "lr": 1e-3, "epochs": 3,
          "batch_size": 64, "output": "softmax", "loss": "cross_entropy"}  # fmt: skip
IMAGE_SHAPES = {"mnist": (1, 28, 28)}  # (channels, height, width) of the datasets of images
DATA_SEED = 0  # moons and spirals are drawn the same way each time: evaluate sees train's split
HIDDEN_ACTIVATIONS = sorted(set(ACTIVATION_NAMES) - {"softmax", "log_softmax", "maxout", "step"})


def _dataset(args, parser, model_path=None):
    """(name, data path) of the dataset a command works on: ``--data`` and ``--data-path`` as
    given; without ``--data``, what the model file records (``glassnet train`` records both),
    else the embedded MNIST subset. The one place that checks the --data-path rule."""
    data, data_path, source = args.data, args.data_path, ""
    if data is None and model_path is not None:
        recorded = load_info(model_path) or {}
        data = recorded.get("data")
        if data is not None:
            if data not in RECIPES:
                raise ValueError(f"{parser.prog.split()[-1]}: expected the dataset recorded in "
                                 f"{model_path} to be one of {', '.join(RECIPES)}, got {data!r}; "
                                 "pass --data")  # fmt: skip
            source = f" (recorded in {model_path})"
            if data_path is None and isinstance(recorded.get("data_path"), str):
                data_path = recorded["data_path"]
    data = "mnist" if data is None else data
    if args.data_path is not None and data != "mnist":
        parser.error(f"--data-path: expected it only with --data mnist, got --data {data}{source}")
    return data, data_path


def load_dataset(name, data_path=None):
    """(X_train, y_train, X_test, y_test, description) of a dataset of ``RECIPES``."""
    from .. import data  # plain arrays; imported only when a command needs them

    if name == "mnist":
        (X_train, y_train), (X_test, y_test) = data.load_mnist(data_path)
        where = "the embedded subset" if data_path is None else str(data_path)
        return X_train, y_train, X_test, y_test, f"mnist ({where})"
    if name == "xor":
        X, y = data.xor()
        X = data.MinMaxScaler((-1, 1)).fit_transform(X)  # bipolar coding: centred inputs
        return X, y, X, y, "xor (inputs coded -1/+1; its 4 patterns are also the test set)"
    if name == "moons":
        X, y = data.two_moons(seed=DATA_SEED)
    else:
        X, y = data.two_spirals(seed=DATA_SEED)
    split = data.train_test_split(X, y, test_fraction=0.2, seed=DATA_SEED)
    X_train, X_test, y_train, y_test = split
    return X_train, y_train, X_test, y_test, f"{name} (a fixed 80/20 train/test split)"


# -- train ----------------------------------------------------------------------------------------


def build_network(n_in, hidden, activation, n_out, output, seed, init="glorot_uniform"):
    """An MLP n_in-hidden...-n_out: Dense layers, ``activation`` hidden units, ``output`` units."""
    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden, n_out]
    layers = [nn.Dense(a, b, activation, init=init, seed=rng)
              for a, b in itertools.pairwise(sizes[:-1])]  # fmt: skip
    return nn.Sequential(*layers, nn.Dense(sizes[-2], n_out, output, init=init, seed=rng))


def build_lenet5(input_shape, activation, n_out, output, seed):
    """LeNet-5 for images ``input_shape`` = (channels, height, width), as torch initialises it:

        conv 5x5 x6 (zero padding 2) - activation - 2x2 max-pool - conv 5x5 x16 - activation -
        2x2 max-pool - flatten - Dense 120 - Dense 84 (``activation``) - Dense n_out (``output``)

    For 1x28x28 images (MNIST): 1x28x28-6C5p2-MP2-16C5-MP2-120-84-10, 61,706 parameters."""
    channels, height, width = input_shape
    if min(height, width) < 12:
        raise ValueError(f"train: expected LeNet-5 images at least 12x12, got {height}x{width}")
    rng = np.random.default_rng(seed)
    flat = 16 * ((height // 2 - 4) // 2) * ((width // 2 - 4) // 2)
    return nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=2, seed=rng), nn.activation.get(activation),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, seed=rng), nn.activation.get(activation), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dense(flat, 120, activation, init="torch_default", seed=rng),
        nn.Dense(120, 84, activation, init="torch_default", seed=rng),
        nn.Dense(84, n_out, output, init="torch_default", seed=rng),
    )  # fmt: skip


def _outputs(recipe, y_train, y_test):
    """Output units: one per class for softmax outputs, one for a sigmoid output."""
    if recipe["output"] != "softmax":
        return 1
    return int(max(np.max(y_train), np.max(y_test))) + 1


def _dense_layers(model):
    return [module for _, module in model.named_modules() if isinstance(module, nn.Dense)]


def _architecture(model, input_shape=None):
    """'784-256-128-10' from the Dense layers of an MLP. A network with convolutions in the
    notation of Ciresan et al. (2012), e.g. LeNet-5's '1x28x28-6C5p2-MP2-16C5-MP2-120-84-10':
    nCk (n maps of k x k convolutions; pP: zero padding P, sS: stride S), MPk / APk (k x k max-
    / average pooling), then the Dense layers' units; it starts with ``input_shape`` if given."""
    if not any(isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
               for _, m in model.named_modules()):  # fmt: skip
        dense = _dense_layers(model)
        if not dense:
            return type(model).__name__
        return "-".join(str(n) for n in [dense[0].in_features] + [d.out_features for d in dense])
    codes = [] if input_shape is None else [_shape_text(input_shape)]
    for _, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            code = f"{module.out_channels}C{_side(module.kernel_size)}"
            if module.padding != (0, 0):
                code += f"p{_side(module.padding)}"
            if module.stride != (1, 1):
                code += f"s{_side(module.stride)}"
            codes.append(code)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            kind = "MP" if isinstance(module, nn.MaxPool2d) else "AP"
            codes.append(f"{kind}{_side(module.kernel_size)}")
        elif isinstance(module, nn.Dense):
            codes.append(str(module.out_features))
    return "-".join(codes)


def _side(pair):
    """'5' for (5, 5), '3x5' for (3, 5); 'same' and 'valid' as they are."""
    if isinstance(pair, str):
        return pair
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _shape_text(shape):
    return "x".join(map(str, shape))


class _EpochLines(EpochLogger):
    """One line per epoch; beyond 50 epochs about 25 lines (the first and the last always)."""

    def on_epoch_end(self, epoch, logs=None):
        every = 1 if self.state.epochs <= 50 else math.ceil(self.state.epochs / 25)
        if epoch == 0 or (epoch + 1) % every == 0 or epoch + 1 == self.state.epochs:
            super().on_epoch_end(epoch, logs)


def _recipe_with_overrides(args, parser, data):
    """The recipe of ``data`` (of ``--model lenet5``) with the options given; usage errors end
    here, before any work."""
    recipe = dict(RECIPES[data])
    if args.model == "lenet5":
        if data not in IMAGE_SHAPES:
            parser.error(f"--model lenet5: expected a dataset of images (--data "
                         f"{' or '.join(IMAGE_SHAPES)}), got --data {data}")  # fmt: skip
        if args.hidden is not None:
            parser.error("--hidden: expected it only with --model mlp (LeNet-5's layers are "
                         "fixed), got --model lenet5")  # fmt: skip
        recipe.update(LENET5)
    for key in ("hidden", "activation", "optimizer", "lr", "epochs", "batch_size"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    if recipe["batch_size"] == "full":
        recipe["batch_size"] = None
    if args.batch_size is None and recipe["optimizer"] in optim.FULL_BATCH:
        recipe["batch_size"] = None  # Rprop and its kin are defined on the whole training set
    folder = Path(args.out).resolve().parent
    if not folder.is_dir() or Path(args.out).is_dir():
        parser.error(f"--out: expected a file path in an existing folder, got {args.out}")
    return recipe


def _summary(description, X_train, X_test, model, recipe, seed, input_shape=None):
    """Three lines: the data, the network and the training settings. ``input_shape``: of one
    image as LeNet-5 takes it (None: an MLP, which takes the rows of X_train as they are)."""
    n_out = _dense_layers(model)[-1].out_features
    n_params = sum(p.size for p in model.parameters())
    if input_shape is None:
        features = f"{X_train.shape[1]} features"
        network = _architecture(model)
        hidden = f"{recipe['activation']} hidden units" if recipe["hidden"] else "no hidden layer"
    else:
        features = f"{_shape_text(input_shape)} images"
        network = f"LeNet-5 {_architecture(model, input_shape)}"
        hidden = f"{recipe['activation']} hidden units"
    batch = "full batch" if recipe["batch_size"] is None else f"batch size {recipe['batch_size']}"
    return (f"data: {description}: {len(X_train):,} training and {len(X_test):,} test samples, "
            f"{features}, {max(n_out, 2)} classes\n"
            f"network: {network}, {hidden}, {recipe['output']} output, "
            f"{n_params:,} parameters\n"
            f"training: {recipe['optimizer']} (lr {recipe['lr']:g}), loss {recipe['loss']}, "
            f"{recipe['epochs']} epoch{'s' if recipe['epochs'] != 1 else ''}, {batch}, "
            f"seed {seed}")  # fmt: skip


def command_train(args, parser):
    """Train the recipe of ``--data`` (with overrides), report test accuracy, save the model;
    a run that diverges saves nothing and returns EXIT_DIVERGED."""
    data, data_path = _dataset(args, parser)
    recipe = _recipe_with_overrides(args, parser, data)
    X_train, y_train, X_test, y_test, description = load_dataset(data, data_path)
    n_out = _outputs(recipe, y_train, y_test)
    recorded_path = None if data_path is None else str(Path(data_path).resolve())
    info = {"data": data, "data_path": recorded_path}
    input_shape = None
    if args.model == "lenet5":
        input_shape = IMAGE_SHAPES[data]
        model = build_lenet5(input_shape, recipe["activation"], n_out, recipe["output"], args.seed)
        info.update(model="lenet5", input_shape=list(input_shape))  # what evaluate and predict need
    else:
        init = recipe.get("init", "glorot_uniform")
        model = build_network(X_train.shape[1], recipe["hidden"], recipe["activation"], n_out,
                              recipe["output"], args.seed, init)  # fmt: skip
    if not args.quiet:
        print(_summary(description, X_train, X_test, model, recipe, args.seed, input_shape))
    if input_shape is not None:  # the rows of pixels as images (channels, height, width)
        X_train = X_train.reshape(len(X_train), *input_shape)
        X_test = X_test.reshape(len(X_test), *input_shape)
    # fit's and NumPy's overflow warnings stay out of the terminal: one line below says it
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        history = fit(
            model, X_train, y_train, loss=recipe["loss"], optimizer=recipe["optimizer"],
            lr=recipe["lr"], epochs=recipe["epochs"], batch_size=recipe["batch_size"],
            metrics=["accuracy"], callbacks=[] if args.quiet else [_EpochLines()], verbose=0,
            seed=args.seed + 1,
        )  # fmt: skip
        if history.diverged:  # the loss or the weights became NaN or inf
            print(f"glassnet: error: training diverged: {history.stop_reason}; nothing was saved "
                  f"to {args.out} (try a smaller --lr)", file=sys.stderr)  # fmt: skip
            return EXIT_DIVERGED
        scores = evaluate(model, X_test, y_test, loss=recipe["loss"], metrics=["accuracy"])
    if history.stop_reason:
        print(f"training stopped early: {history.stop_reason}")
    print(f"test accuracy: {scores['accuracy']:.4f}")
    save(model, args.out, history=history, info=info)
    if not args.quiet:
        print(f"saved the model and its training history to {Path(args.out).resolve()}")
    return 0


# -- evaluate and predict ------------------------------------------------------------------------


def _input_shape(who, model, model_path, n_features):
    """The shape of one sample as ``model`` takes it, or None for a model whose first layer
    declares nothing (a custom Module: X goes in as it is).

    The ``input_shape`` that 'glassnet train' records in the model file's info (LeNet-5:
    [1, 28, 28]), else (in_features,) of a first Dense, else for a first Conv2d square images
    (in_channels, side, side) that the ``n_features`` of a flattened sample fill exactly.
    """
    recorded = (load_info(model_path) or {}).get("input_shape")
    if recorded is not None:
        counts = [isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in recorded] \
            if isinstance(recorded, list) else []  # fmt: skip
        if not (counts and all(counts)):
            raise FileFormatError(f"{who}: expected the input_shape recorded in {model_path} to "
                                  f"be a list of positive ints, got {recorded!r}")  # fmt: skip
        return tuple(recorded)
    for _, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            side = math.isqrt(n_features // module.in_channels)
            if module.in_channels * side * side != n_features:
                raise ValueError(f"{who}: expected samples of {module.in_channels}-channel square "
                                 f"images for the convolutional model {model_path}, which "
                                 f"records no input_shape, got {n_features} features")  # fmt: skip
            return (module.in_channels, side, side)
        if getattr(module, "in_channels", None) is not None:
            return None  # another convolution: its input shape cannot be guessed
        if getattr(module, "in_features", None) is not None:
            return (module.in_features,)
    return None


def _as_images(X, input_shape):
    """Rows of X as samples of ``input_shape`` when that has more than one axis."""
    if input_shape is None or len(input_shape) == 1:
        return X
    return X.reshape(len(X), *input_shape)


def _expected_features(input_shape):
    """'784 features (1x28x28 images, flattened)', '2 features'."""
    n = math.prod(input_shape)
    images = f" ({_shape_text(input_shape)} images, flattened)" if len(input_shape) > 1 else ""
    return f"{n} features{images}"


def command_evaluate(args, parser):
    """Print the loss and accuracy of a saved model on the test split of its dataset."""
    data, data_path = _dataset(args, parser, args.model)
    model = load(args.model)
    _, _, X_test, y_test, description = load_dataset(data, data_path)
    input_shape = _input_shape("evaluate", model, args.model, X_test.shape[1])
    images = input_shape is not None and len(input_shape) > 1  # an MLP's Dense says it itself
    if images and X_test.shape[1] != math.prod(input_shape):
        raise ValueError(f"evaluate: expected --data with {_expected_features(input_shape)} "
                         f"for the model {args.model}, got {data} with {X_test.shape[1]}; "
                         "pass the --data it was trained on")  # fmt: skip
    loss = RECIPES[data]["loss"]
    scores = evaluate(model, _as_images(X_test, input_shape), y_test, loss=loss,
                      metrics=["accuracy"])  # fmt: skip
    print(f"model: {_architecture(model, input_shape if images else None)} from {args.model}")
    print(f"data: the test split of {description}, {len(X_test):,} samples")
    print(f"loss: {scores['loss']:.4f} ({loss})")
    print(f"accuracy: {scores['accuracy']:.4f}")
    return 0


def read_samples(path):
    """A (samples, features) float array from a .npy file (2-D, or 1-D for one sample) or a
    numeric comma-separated .csv file without a header."""
    path = Path(path)
    if path.suffix not in (".npy", ".csv"):
        raise ValueError(f"predict: expected INPUT to be a .npy or .csv file, got {path}")
    if not path.is_file():
        raise FileNotFoundError(f"predict: expected INPUT to be an existing file, got {path}")
    try:
        with warnings.catch_warnings():  # an empty file is reported below
            warnings.simplefilter("ignore", UserWarning)
            if path.suffix == ".csv":
                X = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
            else:
                X = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        kind = "numbers separated by commas" if path.suffix == ".csv" else "a NumPy array"
        raise ValueError(f"predict: expected {kind} in {path}, got: {error}") from None
    if not isinstance(X, np.ndarray):  # an .npz archive named .npy
        X.close()
        raise ValueError(f"predict: expected one array in {path}, got an .npz archive")
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.size == 0 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"predict: expected a non-empty numeric array (samples, features) "
                         f"in {path}, got {X.dtype} of shape {X.shape}")  # fmt: skip
    check_finite("predict", f"INPUT {path.name}", X)
    return X


def command_predict(args, parser):
    """Print (or write to --out) the predicted class or the outputs of each input sample."""
    if args.out is not None and Path(args.out).suffix not in (".npy", ".csv"):
        parser.error(f"--out: expected a .npy or .csv file name, got {args.out}")
    model = load(args.model)
    X = read_samples(args.input)
    input_shape = _input_shape("predict", model, args.model, X.shape[1])
    if input_shape is not None and X.shape[1] != math.prod(input_shape):
        raise ValueError(f"predict: expected samples with {_expected_features(input_shape)} for "
                         f"the model {args.model}, got {X.shape[1]} in {args.input}")  # fmt: skip
    output = model.predict(_as_images(X, input_shape))
    result = output if args.proba else predicted_classes(output, threshold=0.5)
    if args.out is None:
        for row in result:
            print(",".join(f"{v:.6g}" for v in row) if args.proba else int(row))
    elif args.out.endswith(".npy"):
        np.save(args.out, result)
    else:
        np.savetxt(args.out, result, fmt="%.8g" if args.proba else "%d", delimiter=",")
    return 0


# -- plot ----------------------------------------------------------------------------------------

PLOT_FILES = {"learning_curves": "learning-curves", "weights": "weights",
              "confusion_matrix": "confusion-matrix",
              "decision_regions": "decision-regions"}  # fmt: skip


def command_plot(args, parser):
    """Write PNGs of a saved model and its history; print the path of each file written.

    MODEL-learning-curves.png (from the history saved with the model), MODEL-weights.png,
    MODEL-confusion-matrix.png (on the test split of its dataset) and, for data in the plane
    (xor, moons, spirals), MODEL-decision-regions.png, where MODEL is the model file's stem.
    """
    data, data_path = _dataset(args, parser, args.model)
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        parser.error(f"--out-dir: expected a folder, got the file {args.out_dir}")
    model = load(args.model)
    history = load_history(args.model)
    if history is None:
        raise ValueError(f"plot: expected a model file saved with its training history, got none "
                         f"in {args.model}; 'glassnet train' saves it, and so does "
                         "glassnet.save(model, path, history=history)")  # fmt: skip
    _, _, X_test, y_test, _ = load_dataset(data, data_path)
    input_shape = _input_shape("plot", model, args.model, X_test.shape[1])
    if input_shape is not None and X_test.shape[1] != math.prod(input_shape):
        raise ValueError(f"plot: expected --data with {_expected_features(input_shape)} for the "
                         f"model {args.model}, got {data} with {X_test.shape[1]}; pass the "
                         "--data it was trained on")  # fmt: skip
    output = model.predict(_as_images(X_test, input_shape))
    n_classes = output.shape[1] if output.ndim == 2 and output.shape[1] > 1 else 2
    y_pred = predicted_classes(output, threshold=0.5)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(args.model).stem
    path = {key: out_dir / f"{stem}-{suffix}.png" for key, suffix in PLOT_FILES.items()}
    try:
        viz.learning_curves(history, path["learning_curves"])
        viz.weight_histograms(model, path["weights"])
        viz.plot_confusion_matrix(y_test, y_pred, path["confusion_matrix"], n_classes=n_classes)
        if X_test.shape[1] == 2:
            viz.decision_regions(model, X_test, y_test, path["decision_regions"])
        else:
            del path["decision_regions"]
    except ImportError as error:  # matplotlib is optional: one line, as for every other error
        print(f"glassnet: error: {error}", file=sys.stderr)
        return 2
    for written in path.values():
        print(written)
    return 0
