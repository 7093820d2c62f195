"""Make the MNIST subset that glassnet ships: src/glassnet/data/mnist_subset.npz.

Rule (fixed, documented in src/glassnet/data/DATA_LICENSE.md):
    rng = numpy.random.default_rng(0)
    train rows = sorted(rng.permutation(60000)[:20000])   # drawn first
    test rows  = sorted(rng.permutation(10000)[:5000])    # then, from the same generator
Images stay uint8 (n, 28, 28) and labels uint8 (n,), in the Keras layout (x_train, y_train,
x_test, y_test), written with numpy.savez_compressed. The file must stay at most 8 MB.

Run from the repository root:
    python tools/make_mnist_subset.py [SOURCE] [--out OUT]
SOURCE defaults to ../shared/data/mnist.npz (the full MNIST in the Keras layout).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "mnist.npz"
DEFAULT_OUT = ROOT / "src" / "glassnet" / "data" / "mnist_subset.npz"
SEED, N_TRAIN, N_TEST = 0, 20000, 5000
MAX_BYTES = 8_000_000


def subset_indices(n_train_total=60000, n_test_total=10000):
    """The rows taken: (train indices, test indices), each sorted ascending."""
    rng = np.random.default_rng(SEED)
    train = np.sort(rng.permutation(n_train_total)[:N_TRAIN])
    test = np.sort(rng.permutation(n_test_total)[:N_TEST])
    return train, test


def make_subset(source, out):
    """Write the subset of ``source`` to ``out``; returns the file size in bytes."""
    with np.load(source, allow_pickle=False) as full:
        arrays = {key: full[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    train, test = subset_indices(len(arrays["x_train"]), len(arrays["x_test"]))
    subset = {
        "x_train": arrays["x_train"][train].astype(np.uint8),
        "y_train": arrays["y_train"][train].astype(np.uint8),
        "x_test": arrays["x_test"][test].astype(np.uint8),
        "y_test": arrays["y_test"][test].astype(np.uint8),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **subset)
    for key, value in subset.items():
        print(f"{key}: {value.shape} {value.dtype}")
    print("training label counts:", np.bincount(subset["y_train"], minlength=10).tolist())
    print("test label counts:    ", np.bincount(subset["y_test"], minlength=10).tolist())
    return out.stat().st_size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help="full MNIST in the Keras layout (default: ../shared/data/mnist.npz)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the subset file to write")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"make_mnist_subset: expected the full MNIST at {args.source}, got no such file; "
              "pass its path as the first argument", file=sys.stderr)  # fmt: skip
        return 1
    size = make_subset(args.source, args.out)
    print(f"wrote {args.out}: {size} bytes ({size / 1e6:.2f} MB; limit {MAX_BYTES / 1e6:.2f} MB)")
    if size > MAX_BYTES:
        print(f"make_mnist_subset: expected at most {MAX_BYTES} bytes, got {size}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
