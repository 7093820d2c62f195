"""What a convolutional network learns to look at: the first layer's filters of LeNet-5 and the
feature maps they make of one test digit, before and after training.

It trains LeNet-5 (examples/lenet5_mnist.py) on the embedded MNIST subset and writes four
pictures: ``filters-before.png`` and ``filters-after.png`` (the six 5x5 kernels of the first
convolution, one grey scale for all: mid-grey is 0), ``maps-before.png`` and
``maps-after.png`` (the six 28x28 maps after its ReLU for the first test image, a 7). Random
kernels give blurred copies of the digit; after training some kernels are edge detectors (with
seed 0, kernel 2 is dark above and bright below, and its map keeps little but the 7's
horizontal bar). Needs matplotlib (``pip install ".[plot]"``).

Run:  python examples/cnn_filters.py [--epochs 2] [--seed 0] [--out .] [--limit N]

Measured with ``python examples/cnn_filters.py`` (seed 0, 2 epochs on the 20,000 training
images): test accuracy 0.9674 on the 5,000 test images; the first layer's kernels grew from
an RMS of 0.121 to 0.177.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import glassnet as gn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _mnist import load_images  # noqa: E402
from lenet5_mnist import lenet5  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="passes over the training images")
    parser.add_argument("--seed", type=int, default=0, help="weights and shuffling")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the pictures")
    parser.add_argument("--limit", type=int, default=None, help="the first N training and test "
                        "images (a quick run)")  # fmt: skip
    args = parser.parse_args(argv)
    X, y, X_test, y_test = load_images(None, args.limit)
    model = lenet5(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    first = model.layers[0]
    rms = {"before": float(np.sqrt(np.mean(np.asarray(first.W.data) ** 2)))}
    written = []
    for stage in ("before", "after"):
        if stage == "after":
            gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e-3,
                   epochs=args.epochs, batch_size=64, seed=args.seed, verbose=0)  # fmt: skip
            rms["after"] = float(np.sqrt(np.mean(np.asarray(first.W.data) ** 2)))
        for name, figure in (("filters", gn.viz.plot_filters(model)),
                             ("maps", gn.viz.plot_feature_maps(model, X_test[0]))):  # fmt: skip
            path = args.out / f"{name}-{stage}.png"
            figure.savefig(path, dpi=100)
            written.append(path)
    accuracy = float((model.predict(X_test).argmax(axis=1) == y_test).mean())
    print(f"test accuracy {accuracy:.4f} on {len(y_test)} images after {args.epochs} epochs")
    print(f"first-layer kernels: RMS {rms['before']:.3f} before, {rms['after']:.3f} after")
    print("wrote " + ", ".join(str(p) for p in written))
    return {"accuracy": accuracy, "rms": rms, "written": written}


if __name__ == "__main__":
    main()
