"""glassnet's own MNIST recipe for an MLP, on the full data (../shared/data/mnist.npz).

Recipe (fixed in advance, no model selection on the test set):
  784-800-800-10, ReLU, inverted dropout 0.2 after each hidden layer, He-uniform weights,
  softmax cross-entropy on the logits, Adam (lr 1e-3), batch 128, 20 epochs on all 60,000
  training images, the learning rate halved after epochs 8, 12 and 16 (a step schedule set
  by a small callback). The test set (10,000 images) is used only once, at the end.

Prints the test accuracy per seed (0, 1, 2), their mean, and the training time per seed.
Run:  python benchmarks/mnist_recipe.py            (about 3-5 minutes per seed on 2 cores)

With --parity it runs the reference recipe of the CI parity test instead (784-256-128-10
ReLU initialised as torch's nn.Linear, Adam 1e-3, batch 128, no dropout, no
schedule; the CI test trains 3 epochs: --parity --epochs 3).
"""

import argparse
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.train import Callback

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"


class HalveLearningRate(Callback):
    """Halve the optimizer's learning rate after the given epochs (1-based)."""

    def __init__(self, after_epochs):
        self.after_epochs = set(after_epochs)

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.after_epochs:
            self.state.optimizer.lr *= 0.5


def build(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Dense(784, 800, "relu", init="he_uniform", seed=rng), nn.Dropout(0.2, seed=rng),
        nn.Dense(800, 800, "relu", init="he_uniform", seed=rng), nn.Dropout(0.2, seed=rng),
        nn.Dense(800, 10, seed=rng),
    )  # fmt: skip


def build_parity(seed):
    """The parity test's network (tests/e2e/test_mnist.py imports it from here): 784-256-128-10
    ReLU with a linear output layer (logits), initialised as torch initialises nn.Linear (W and
    b from uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)))."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out, activation in ((784, 256, "relu"), (256, 128, "relu"), (128, 10, None)):
        r = 1 / np.sqrt(n_in)
        layer = nn.Dense(n_in, n_out, activation, init=nn.init.Uniform(r), seed=rng)
        layer.b.data[...] = rng.uniform(-r, r, n_out)
        layers.append(layer)
    return nn.Sequential(*layers)


def main(argv=None):
    parser = argparse.ArgumentParser(description="glassnet's MNIST MLP recipe, seeds 0-2")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: 20 (10 with --parity)")
    parser.add_argument("--parity", action="store_true", help="the reference recipe of the parity test")
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.parity else 20)
    (X, y), (X_test, y_test) = gn.data.load_mnist(MNIST)
    accuracies = []
    for seed in args.seeds:
        model = build_parity(seed) if args.parity else build(seed)
        callbacks = [] if args.parity else [HalveLearningRate({8, 12, 16})]
        start = time.perf_counter()
        gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=epochs, batch_size=128,
               callbacks=callbacks, verbose=0, seed=seed)  # fmt: skip
        seconds = time.perf_counter() - start
        accuracy = gn.evaluate(model, X_test, y_test, loss="cross_entropy", metrics=["accuracy"])["accuracy"]
        accuracies.append(accuracy)
        print(f"seed {seed}: test accuracy {accuracy:.4f}  ({seconds:.0f} s training)", flush=True)
    print(f"mean test accuracy over seeds {args.seeds}: {np.mean(accuracies):.4f}")


if __name__ == "__main__":
    main()
