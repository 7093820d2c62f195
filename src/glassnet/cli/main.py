"""The ``glassnet`` command: train a network, evaluate a saved one, predict with it.

    glassnet train                          # the default job: an MLP on the embedded MNIST subset
    glassnet train --data xor               # the lectures' 2-2-1 sigmoid net
    glassnet train --model lenet5           # LeNet-5, a convolutional network, on the same images
    glassnet evaluate glassnet-model.npz
    glassnet predict glassnet-model.npz samples.csv
    glassnet plot glassnet-model.npz         # learning curves, weights, confusion matrix as PNGs

A mistake in the arguments or in a file ends in one line ``glassnet: error: ...`` and exit
status 2, never in a traceback; a bug in glassnet itself still shows its traceback. What the
commands do is in ``commands.py``. Exit status (see ``main``): 0 success, 1 training failed
(diverged), 2 usage error or bad file, 130 interrupted, 141 output pipe closed.
"""

import argparse
import difflib
import math
import os
import sys

from .. import __version__, optim
from .commands import (
    HIDDEN_ACTIVATIONS,
    LENET5,
    MODELS,
    RECIPES,
    command_evaluate,
    command_plot,
    command_predict,
    command_train,
)

__all__ = ["main", "build_parser", "RECIPES"]


# -- argument types: each raises ArgumentTypeError with the message the user sees ----------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _one_of(names):
    """An argument type that accepts one of ``names`` and suggests the closest on a typo."""

    def name(text):
        if text not in names:
            close = difflib.get_close_matches(text, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"expected one of {', '.join(names)}, got {text!r}{hint}"
            raise argparse.ArgumentTypeError(message)
        return text

    return name


def _batch_size(text):
    return "full" if text == "full" else _positive_int(text)


def _hidden(text):
    if text == "none":
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = (0,)
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive layer sizes such as "
                                         f"256,128 (or none), got {text!r}")  # fmt: skip
    return sizes


# -- the parser ----------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with every usage error as one line: ``glassnet: error: ...; see '... --help'``."""

    def error(self, message):
        self.exit(2, f"glassnet: error: {message}; see '{self.prog} --help'\n")


def _recipe_table():
    lines = ["defaults per dataset (an option overrides its default):",
             "  data     hidden   activation optimizer lr     epochs batch  output + loss"]
    for name, r in RECIPES.items():
        hidden = ",".join(map(str, r["hidden"])) or "none"
        batch = "full" if r["batch_size"] is None else r["batch_size"]
        lines.append(f"  {name:<8} {hidden:<8} {r['activation']:<10} {r['optimizer']:<9} "
                     f"{r['lr']:<6g} {r['epochs']:<6} {batch:<6} {r['output']} + {r['loss']}")
    r = LENET5
    lines.append("with --model lenet5 (--data mnist only; --hidden does not apply):")
    lines.append(f"  mnist    lenet5   {r['activation']:<10} {r['optimizer']:<9} {r['lr']:<6g} "
                 f"{r['epochs']:<6} {r['batch_size']:<6} {r['output']} + {r['loss']}")
    return "\n".join(lines)


TRAIN_HELP = """\
Train a multilayer perceptron by backpropagation, print one line per epoch and
the accuracy on the test set, and save the trained model (with its training
history) to one file.

Without options it trains a 784-256-128-10 ReLU network with softmax outputs on
the MNIST subset that ships with glassnet (20,000 training and 5,000 test images
of handwritten digits). The toy problems are xor (the 4 XOR patterns), and moons
and spirals (points in the plane from two classes, split 80/20 into training
and test points).

With --model lenet5 it trains LeNet-5 on the MNIST images instead, a
convolutional network 1x28x28-6C5p2-MP2-16C5-MP2-120-84-10 (6 maps of 5x5
convolutions zero-padded by 2, 2x2 max-pooling, 16 maps of 5x5 convolutions,
2x2 max-pooling, then Dense layers of 120, 84 and 10 units). The model file
records the image shape, so that 'glassnet evaluate' and 'glassnet predict'
take the flattened 784-pixel rows as they take them for an MLP."""

TRAIN_EXAMPLES = """
examples:
  glassnet train                            # the MNIST subset
  glassnet train --data xor                 # the 2-2-1 sigmoid net of the lectures
  glassnet train --model lenet5             # LeNet-5 on the MNIST subset
  glassnet train --data moons --hidden 8,8 --epochs 100 --out moons.npz
  glassnet train --data-path mnist.npz      # full MNIST (Keras .npz or IDX folder)"""


def _add_data_options(parser, verb, default="mnist"):
    # no argparse default: commands.py tells an omitted --data from one given (_dataset)
    parser.add_argument("--data", type=_one_of(list(RECIPES)), metavar="NAME",
                        help=f"the dataset to {verb}: {', '.join(RECIPES)} (default: {default})")
    parser.add_argument("--data-path", metavar="PATH",
                        help="with --data mnist: a folder of MNIST IDX files or a Keras mnist.npz "
                        "(default: the embedded subset)")  # fmt: skip


RECORDED = "the dataset recorded in MODEL, else mnist"


def _add_train(commands):
    formatter = argparse.RawDescriptionHelpFormatter
    train = commands.add_parser("train", help="train a network on a dataset and save it",
                                description=TRAIN_HELP, formatter_class=formatter,
                                epilog=_recipe_table() + "\n" + TRAIN_EXAMPLES)  # fmt: skip
    _add_data_options(train, "train on")
    recipe = train.add_argument_group("network and training (defaults per dataset: see below)")
    recipe.add_argument("--model", type=_one_of(list(MODELS)), default="mlp", metavar="NAME",
                        help="the network: mlp (a multilayer perceptron of --hidden layers) or "
                        "lenet5 (LeNet-5, a convolutional network for the mnist images) "
                        "(default: mlp)")  # fmt: skip
    recipe.add_argument("--hidden", type=_hidden, metavar="SIZES",
                        help="hidden layer sizes, comma-separated, e.g. 256,128, or none")
    recipe.add_argument("--activation", type=_one_of(HIDDEN_ACTIVATIONS), metavar="NAME",
                        help=f"activation of the hidden units: {', '.join(HIDDEN_ACTIVATIONS)}")
    recipe.add_argument("--optimizer", type=_one_of(list(optim.NAMES)), metavar="NAME",
                        help=f"{', '.join(optim.NAMES)} (momentum and nesterov: mu = 0.9)")
    recipe.add_argument("--lr", type=_positive_float, help="learning rate (step size) eta")
    recipe.add_argument("--epochs", type=_positive_int, metavar="N", help="passes over the data")
    recipe.add_argument("--batch-size", type=_batch_size, metavar="N",
                        help="samples per weight update, or full (full-batch learning)")
    train.add_argument("--seed", type=_seed, default=0, metavar="N",
                       help="seed of the initial weights and the shuffling (default: 0)")
    train.add_argument("--out", default="glassnet-model.npz", metavar="FILE",
                       help="where to save the model (default: glassnet-model.npz)")
    train.add_argument("--quiet", action="store_true",
                       help="print only the test accuracy, no setup or per-epoch lines")
    train.set_defaults(command=command_train, command_parser=train)


def _add_evaluate_and_predict(commands):
    formatter = argparse.RawDescriptionHelpFormatter
    evaluate = commands.add_parser(
        "evaluate", help="print a saved model's loss and accuracy on a test set",
        formatter_class=formatter,
        description="Load a model saved by 'glassnet train' and print its loss and accuracy on\n"
        "the test split of a dataset: the split that 'glassnet train' reports on. The\n"
        "dataset is the one 'glassnet train' recorded in MODEL (mnist for a model file\n"
        "without one); --data and --data-path override it.",
        epilog="examples:\n  glassnet evaluate glassnet-model.npz\n"
        "  glassnet evaluate moons.npz               # the moons test split, as recorded\n"
        "  glassnet evaluate moons.npz --data spirals",
    )  # fmt: skip
    evaluate.add_argument("model", metavar="MODEL", help="a model file saved by 'glassnet train'")
    _add_data_options(evaluate, "evaluate on", RECORDED)
    evaluate.set_defaults(command=command_evaluate, command_parser=evaluate)
    predict = commands.add_parser(
        "predict", help="predict the classes (or outputs) of samples in a .npy or .csv file",
        formatter_class=formatter,
        description="Load a saved model and print one predicted class per input sample: the index\n"
        "of the largest output, or for a single (sigmoid) output 1 if it exceeds 0.5, else 0.\n"
        "With --proba, print the outputs themselves.\n\n"
        "INPUT is a .npy file (2-D: one sample per row; 1-D: a single sample) or a .csv file\n"
        "of numbers separated by commas, one sample per line, without a header.",
        epilog="examples:\n  glassnet predict glassnet-model.npz digits.npy\n"
        "  glassnet predict moons.npz points.csv --proba --out outputs.csv",
    )  # fmt: skip
    predict.add_argument("model", metavar="MODEL", help="a model file saved by 'glassnet train'")
    predict.add_argument("input", metavar="INPUT", help="the samples: a .npy or .csv file")
    predict.add_argument("--proba", action="store_true", help="print the output rows, not classes")
    predict.add_argument("--out", metavar="FILE", help="write the result to a .npy or .csv file")
    predict.set_defaults(command=command_predict, command_parser=predict)


PLOT_HELP = """\
Draw a model saved by 'glassnet train' and write the pictures as PNG files into
--out-dir, named after the model file (MODEL.npz -> MODEL-*.png):

  MODEL-learning-curves.png    loss and accuracy per epoch, from the saved history
  MODEL-weights.png            a histogram of each layer's weight matrix W
  MODEL-confusion-matrix.png   true against predicted classes on the test split
  MODEL-decision-regions.png   the predicted class over the plane, with the test
                               points (only for 2-D data: xor, moons, spirals)

The dataset is the one 'glassnet train' recorded in MODEL (mnist for a model
file without one); --data and --data-path override it. Needs matplotlib
(pip install glassnet[plot])."""


def _add_plot(commands):
    plot = commands.add_parser(
        "plot", help="draw a saved model: learning curves, weights, confusion matrix (PNG)",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=PLOT_HELP,
        epilog="examples:\n  glassnet plot glassnet-model.npz\n"
        "  glassnet plot moons.npz --out-dir plots",
    )  # fmt: skip
    plot.add_argument("model", metavar="MODEL", help="a model file saved by 'glassnet train'")
    _add_data_options(plot, "draw the confusion matrix (and decision regions) on", RECORDED)
    plot.add_argument("--out-dir", default=".", metavar="DIR",
                      help="the folder to write the PNG files to, made if missing "
                      "(default: the current folder)")  # fmt: skip
    plot.set_defaults(command=command_plot, command_parser=plot)


def build_parser():
    """The argument parser of the ``glassnet`` command."""
    parser = _Parser(
        prog="glassnet", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="glassnet: neural networks with nothing hidden. Train a multilayer\n"
        "perceptron (or LeNet-5), then evaluate it or predict with it.\n"
        "'glassnet COMMAND --help' explains each command.",
        epilog="example:\n  glassnet train --data xor --out xor.npz\n"
        "  glassnet evaluate xor.npz",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_train(commands)
    _add_evaluate_and_predict(commands)
    _add_plot(commands)
    return parser


def _silence_stdout():
    """Point stdout at /dev/null so that Python's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
        pass


def main(argv=None):
    """Run the ``glassnet`` command with ``argv`` (default: sys.argv[1:]); returns the exit status.

    ====  ===============================================================================
    0     success (``--help`` and ``--version`` too)
    1     training failed: the loss or the weights became NaN or inf (nothing is saved)
    2     a usage error or a bad file (one line ``glassnet: error: ...`` on stderr)
    130   interrupted (Ctrl-C)
    141   the output pipe was closed (128 + SIGPIPE), e.g. ``glassnet predict ... | head``
    ====  ===============================================================================

    Only the errors a user can cause become the one-line message: ValueError (glassnet's
    ShapeError, FileFormatError and NotFittedError among them) and OSError. Anything else
    is a bug in glassnet and keeps its traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "command"):
            parser.error("expected a command (train, evaluate, predict or plot), got none")
        return args.command(args, args.command_parser)
    except BrokenPipeError:  # the reader went away, e.g. `glassnet predict ... | head`
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports it
    except SystemExit as stop:  # argparse: --help, --version and usage errors
        return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 2
    except (ValueError, OSError) as error:  # the user's mistake: the file, the data, a value
        message = " ".join(str(error).split())
        print(f"glassnet: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
