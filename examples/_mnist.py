"""What the MNIST examples share: the images, the command-line options, and the train-and-test
run that prints and returns their figures (not an example itself)."""

import argparse
import time

import glassnet as gn


def load_images(path=None, limit=None):
    """MNIST as images (n, 1, 28, 28) float32 in [0, 1] and int64 labels: the embedded subset
    (path None) or a Keras mnist.npz / folder of IDX files; ``limit``: the first N of each."""
    (X, y), (X_test, y_test) = gn.data.load_mnist(path, flatten=False)
    if limit is not None:
        X, y, X_test, y_test = X[:limit], y[:limit], X_test[:limit], y_test[:limit]
    return X, y, X_test, y_test


def options(description, epochs, lr=None):
    """The parser of the options every MNIST example takes (add your own to it): --epochs,
    --seed, --data, --limit, --batch-size, and --lr when ``lr`` is a default for it."""
    parser = argparse.ArgumentParser(description=description.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=epochs, help="passes over the images")
    parser.add_argument("--seed", type=int, default=0, help="weights and shuffling")
    parser.add_argument("--data", default=None, help="mnist.npz or a folder of IDX files "
                        "(default: the embedded subset)")  # fmt: skip
    parser.add_argument("--limit", type=int, default=None, help="use the first N training and "
                        "N test images (a quick run)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=64, help="images per step")
    if lr is not None:
        parser.add_argument("--lr", type=float, default=lr, help="Adam's learning rate")
    return parser


def train_and_test(model, args, lr=1e-3):
    """Train ``model`` with Adam on the images ``args`` name, print each epoch and the test
    figures, and return {"test_accuracy", "test_loss", "history", "seconds"}."""
    X, y, X_test, y_test = load_images(args.data, args.limit)
    print(f"\n{len(X)} training and {len(X_test)} test images, {args.epochs} epochs")
    start = time.perf_counter()
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=lr,
                     epochs=args.epochs, batch_size=args.batch_size, metrics=["accuracy"],
                     seed=args.seed, verbose=2)  # fmt: skip
    seconds = time.perf_counter() - start
    scores = gn.evaluate(model, X_test, y_test, loss="cross_entropy", metrics=["accuracy"],
                         batch_size=500)  # fmt: skip
    print(f"test accuracy {scores['accuracy']:.4f}, test loss {scores['loss']:.4f} "
          f"({seconds:.0f} s of training)")  # fmt: skip
    return {"test_accuracy": scores["accuracy"], "test_loss": scores["loss"],
            "history": history.history, "seconds": seconds}  # fmt: skip
