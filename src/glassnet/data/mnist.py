"""MNIST handwritten digits: the subset shipped with glassnet, IDX files, or a Keras ``.npz``.

Nothing is ever downloaded. ``load_mnist()`` reads the embedded subset (20,000 training and
5,000 test images, see ``mnist_subset_info()``); ``load_mnist(path)`` reads the full set from
files the user already has.
"""

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "mnist_subset_info"]

SUBSET_PATH = Path(__file__).resolve().parent / "mnist_subset.npz"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")  # fmt: skip
KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
WHERE_TO_GET = ("get the four IDX files from http://yann.lecun.com/exdb/mnist/ (mirrored at "
                "https://ossci-datasets.s3.amazonaws.com/mnist/) or Keras' mnist.npz from "
                "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")  # fmt: skip
_IDX_MAGIC = {"images": 2051, "labels": 2049}  # 0x0803: uint8 with 3 dims; 0x0801: uint8, 1 dim


def mnist_subset_info():
    """What the embedded MNIST subset holds, where it comes from and under which licence.

    Returns:
        A new dict with keys ``path``, ``n_train``, ``n_test``, ``image_shape``, ``source``,
        ``licence`` and ``rule`` (how the images were chosen).
    """
    return {
        "path": str(SUBSET_PATH),
        "n_train": 20000,
        "n_test": 5000,
        "image_shape": (28, 28),
        "source": "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten "
        "digits, http://yann.lecun.com/exdb/mnist/ (via Keras' mnist.npz)",
        "licence": "CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)",
        "rule": "rng = numpy.random.default_rng(0); training rows = sorted(rng.permutation(60000)"
        "[:20000]), then test rows = sorted(rng.permutation(10000)[:5000]) (tools/make_mnist_subset.py)",
    }


def load_mnist(path=None):
    """Load MNIST as flat float32 images in [0, 1] and int64 labels.

    Args:
        path: None for the embedded subset (20,000 training, 5,000 test images); a folder
            holding the four IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``);
            or an ``.npz`` in the Keras layout (``x_train``, ``y_train``, ``x_test``,
            ``y_test``; uint8 images of shape (n, 28, 28)).

    Returns:
        ``(X_train, y_train), (X_test, y_test)``: X float32 of shape (n, 784) with pixel / 255,
        y int64 of shape (n,) in 0..9.

    Raises:
        FileNotFoundError: the path or one of the IDX files does not exist; the message names
            every file looked for and where to get MNIST (nothing is downloaded).
        ValueError: a file is not MNIST (wrong IDX magic number, keys, shapes or labels).

    Reference:
        Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to
        document recognition, Proc. IEEE 86(11), 1998; http://yann.lecun.com/exdb/mnist/.
    """
    if path is None:
        if not SUBSET_PATH.is_file():
            raise FileNotFoundError(f"load_mnist: expected the embedded subset at {SUBSET_PATH}, "
                                    "got no such file; reinstall glassnet or run "
                                    "tools/make_mnist_subset.py")  # fmt: skip
        return _load_npz(SUBSET_PATH)
    path = Path(os.fspath(path))
    if path.is_dir():
        return _load_idx_folder(path)
    if not path.exists():
        raise FileNotFoundError(f"load_mnist: expected a folder of IDX files or a Keras .npz, got "
                                f"no such file or folder: {path}; {WHERE_TO_GET}")  # fmt: skip
    if path.suffix != ".npz":
        raise ValueError(f"load_mnist: expected a folder of IDX files or an .npz file, got {path}")
    return _load_npz(path)


def _as_dataset(who, images, labels):
    """Check one split and turn it into (float32 (n, 784) in [0, 1], int64 (n,))."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{who}: expected uint8 images of shape (n, 28, 28), "
                         f"got {images.dtype} {images.shape}")  # fmt: skip
    if (
        labels.ndim != 1
        or len(labels) != len(images)
        or not np.issubdtype(labels.dtype, np.integer)
    ):
        raise ValueError(f"{who}: expected {len(images)} integer labels of shape (n,), "
                         f"got {labels.dtype} {labels.shape}")  # fmt: skip
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{who}: expected labels in 0..9, got {labels.min()}..{labels.max()}")
    X = images.reshape(len(images), 784).astype(np.float32)
    X /= np.float32(255.0)
    return X, labels.astype(np.int64)


def _load_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in KERAS_KEYS if key not in archive.files]
        if missing:
            raise ValueError(f"load_mnist: expected an .npz with arrays {', '.join(KERAS_KEYS)} "
                             f"(the Keras layout), got {sorted(archive.files)} in {path}")  # fmt: skip
        arrays = {key: archive[key] for key in KERAS_KEYS}
    train = _as_dataset(f"load_mnist({path}) training set", arrays["x_train"], arrays["y_train"])
    test = _as_dataset(f"load_mnist({path}) test set", arrays["x_test"], arrays["y_test"])
    return train, test


def _find_idx_files(folder):
    """The path of each of the four IDX files (plain or .gz); FileNotFoundError names the gaps."""
    found, missing = {}, []
    for name in IDX_FILES:
        candidates = [folder / name, folder / f"{name}.gz"]
        hits = [c for c in candidates if c.is_file()]
        if hits:
            found[name] = hits[0]
        else:
            missing.append(" or ".join(str(c) for c in candidates))
    if missing:
        raise FileNotFoundError(f"load_mnist: expected the four MNIST IDX files in {folder}, got "
                                f"none of: {'; '.join(missing)}. Nothing is downloaded: "
                                f"{WHERE_TO_GET}")  # fmt: skip
    return found


def _read_idx(path, kind):
    """One IDX file as a uint8 array; the magic number must be that of ``kind`` (images, labels).

    Format (LeCun et al.): a big-endian int32 magic number 0x00000803 (images) or 0x00000801
    (labels), one big-endian int32 per dimension, then the uint8 values in row-major order.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(
            f"load_mnist: expected a readable IDX file, got {path} ({error})"
        ) from None
    expected = _IDX_MAGIC[kind]
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != expected:
        raise ValueError(f"load_mnist: expected IDX {kind} with magic number {expected} "
                         f"(0x{expected:08x}), got {magic} in {path}; is it the right file, and "
                         "gzipped only if its name ends in .gz?")  # fmt: skip
    ndim = expected & 0xFF
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(f"load_mnist: expected {header + int(np.prod(shape))} bytes for IDX "
                         f"{kind} of shape {shape}, got {len(raw)} in {path} (truncated?)")  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _load_idx_folder(folder):
    files = _find_idx_files(folder)
    train_images = _read_idx(files["train-images-idx3-ubyte"], "images")
    train_labels = _read_idx(files["train-labels-idx1-ubyte"], "labels")
    test_images = _read_idx(files["t10k-images-idx3-ubyte"], "images")
    test_labels = _read_idx(files["t10k-labels-idx1-ubyte"], "labels")
    train = _as_dataset(f"load_mnist({folder}) training set", train_images, train_labels)
    test = _as_dataset(f"load_mnist({folder}) test set", test_images, test_labels)
    return train, test
