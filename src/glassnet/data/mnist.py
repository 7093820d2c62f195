"""MNIST handwritten digits: the subset shipped with glassnet, IDX files, or a Keras ``.npz``.

Nothing is ever downloaded. ``load_mnist()`` reads the embedded subset (20,000 training and
5,000 test images, see ``mnist_subset_info()``); ``load_mnist(path)`` reads the full set from
files the user already has.
"""

import gzip
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

__all__ = ["load_mnist", "mnist_subset_info"]

SUBSET_PATH = Path(__file__).resolve().parent / "mnist_subset.npz"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")  # fmt: skip
KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
WHERE_TO_GET = ("get the four IDX files from http://yann.lecun.com/exdb/mnist/ (mirrored at "
                "https://ossci-datasets.s3.amazonaws.com/mnist/) or Keras' mnist.npz from "
                "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                "mnist.npz")  # fmt: skip
_IDX_MAGIC = {"images": 2051, "labels": 2049}  # 0x0803: uint8 with 3 dims; 0x0801: uint8, 1 dim
MAX_COMPRESSION_RATIO = 1100  # deflate (gzip, zip) cannot exceed about 1032:1
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


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
        "[:20000]), then test rows = sorted(rng.permutation(10000)[:5000]) "
        "(tools/make_mnist_subset.py)",
    }


def load_mnist(path=None, *, flatten=True):
    """Load MNIST as float32 images in [0, 1] (flat, or NCHW for conv nets) and int64 labels.

    Args:
        path: None for the embedded subset (20,000 training, 5,000 test images); a folder
            holding the four IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``);
            or an ``.npz`` in the Keras layout (``x_train``, ``y_train``, ``x_test``,
            ``y_test``; uint8 images of shape (n, 28, 28)).
        flatten: True (the default) for X of shape (n, 784), one row per image; False for
            shape (n, 1, 28, 28), one grey channel (NCHW, what ``nn.Conv2d`` takes). The
            values are the same either way.

    Returns:
        ``(X_train, y_train), (X_test, y_test)``: X float32 of shape (n, 784), or
        (n, 1, 28, 28) with ``flatten=False``, holding pixel / 255; y int64 of shape (n,) in
        0..9.

    Raises:
        FileNotFoundError: the path or one of the IDX files does not exist; the message names
            every file looked for and where to get MNIST (nothing is downloaded).
        FileFormatError: a file is not MNIST (wrong IDX magic number, keys, shapes or labels),
            is truncated or corrupt, or declares more data than it can hold (a ValueError).
        TypeError: ``flatten`` is not a bool.

    Reference:
        Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to
        document recognition, Proc. IEEE 86(11), 1998; http://yann.lecun.com/exdb/mnist/.
    """
    if not isinstance(flatten, (bool, np.bool_)):
        raise TypeError(f"load_mnist: expected flatten True or False, got {flatten!r}")
    train, test = _load(path)
    if flatten:
        return train, test
    return tuple((X.reshape(len(X), 1, 28, 28), y) for X, y in (train, test))


def _load(path):
    """Both splits, each (X float32 (n, 784), y int64 (n,)), from path (None: the subset)."""
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
    with open(path, "rb") as file:
        if file.read(2) != b"PK":  # np.load would read a plain .npy whole, or try unpickling
            raise FileFormatError(f"load_mnist: expected an .npz (zip) archive in the Keras "
                                  f"layout, got another kind of file: {path}")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in KERAS_KEYS if key not in archive.files]
            if missing:
                raise FileFormatError(f"load_mnist: expected an .npz with arrays "
                                      f"{', '.join(KERAS_KEYS)} (the Keras layout), got "
                                      f"{sorted(archive.files)} in {path}")  # fmt: skip
            _check_npz_sizes(archive.zip, path)
            arrays = {key: archive[key] for key in KERAS_KEYS}
    except FileFormatError:
        raise
    except _UNREADABLE as error:
        raise FileFormatError(f"load_mnist: expected a readable .npz file, got an unreadable or "
                              f"truncated file {path} ({error})") from None  # fmt: skip
    train = _as_dataset(f"load_mnist({path}) training set", arrays["x_train"], arrays["y_train"])
    test = _as_dataset(f"load_mnist({path}) test set", arrays["x_test"], arrays["y_test"])
    return train, test


def _check_npz_sizes(archive, path):
    """Each Keras array's npy header must account for its zip member's size, and the members
    for the file's size, before any array is allocated."""
    infos = [archive.getinfo(f"{key}.npy") for key in KERAS_KEYS]
    declared, on_disk = sum(info.compress_size for info in infos), os.path.getsize(path)
    if declared > on_disk:
        raise FileFormatError(f"load_mnist: expected members that fit in the file, got "
                              f"{declared} bytes declared in {path} of {on_disk}")  # fmt: skip
    for key, info in zip(KERAS_KEYS, infos):
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise FileFormatError(f"load_mnist: expected a compression ratio of at most "
                                  f"{MAX_COMPRESSION_RATIO}:1, got {info.file_size} bytes from "
                                  f"{info.compress_size} for {key} in {path}")  # fmt: skip
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)  # fmt: skip
            if read_header is None:
                raise FileFormatError(f"load_mnist: expected npy format version 1.0 or 2.0, "
                                      f"got {version} for {key} in {path}")  # fmt: skip
            shape, _, dtype = read_header(member)
            expected = member.tell() + math.prod(shape) * dtype.itemsize
        if expected != info.file_size:
            raise FileFormatError(f"load_mnist: expected {key} of shape {shape} {dtype} to take "
                                  f"{expected} bytes, got a member of {info.file_size} bytes in "
                                  f"{path}")  # fmt: skip


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
    The header is read first: what it declares must fit the file (a gzip file inflates at
    most MAX_COMPRESSION_RATIO times) before the values are read, and no more than declared.
    """
    gzipped = path.suffix == ".gz"
    expected = _IDX_MAGIC[kind]
    header_size = 4 + 4 * (expected & 0xFF)
    on_disk = path.stat().st_size
    try:
        with (gzip.open if gzipped else open)(path, "rb") as file:
            header = file.read(header_size)
            magic = int.from_bytes(header[:4], "big") if len(header) >= 4 else None
            if magic != expected:
                raise FileFormatError(f"load_mnist: expected IDX {kind} with magic number "
                                      f"{expected} (0x{expected:08x}), got {magic} in {path}; is "
                                      "it the right file, and gzipped only if its name ends in "
                                      ".gz?")  # fmt: skip
            shape = tuple(int.from_bytes(header[k : k + 4], "big")
                          for k in range(4, len(header), 4))  # fmt: skip
            size = header_size + math.prod(shape)
            if len(header) < header_size or (not gzipped and size != on_disk):
                got = on_disk if not gzipped else len(header)
                raise FileFormatError(f"load_mnist: expected {size} bytes for IDX {kind} of "
                                      f"shape {shape}, got {got} in {path} "
                                      "(truncated?)")  # fmt: skip
            if size > MAX_COMPRESSION_RATIO * on_disk:
                raise FileFormatError(f"load_mnist: expected IDX {kind} of shape {shape} to take "
                                      f"{size} bytes, got a gzip file of {on_disk} bytes, which "
                                      f"inflates to at most {MAX_COMPRESSION_RATIO * on_disk} "
                                      f"in {path}")  # fmt: skip
            values = file.read(size - header_size + 1)  # one more: a longer file is refused
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        kind_of_file = "gzip IDX file" if gzipped else "IDX file"
        raise FileFormatError(f"load_mnist: expected a readable {kind_of_file}, got {path} "
                              f"({error})") from None  # fmt: skip
    if header_size + len(values) != size:
        got = "more" if header_size + len(values) > size else header_size + len(values)
        raise FileFormatError(f"load_mnist: expected {size} bytes for IDX {kind} of shape "
                              f"{shape}, got {got} in {path} (truncated?)")  # fmt: skip
    return np.frombuffer(values, dtype=np.uint8).reshape(shape)


def _load_idx_folder(folder):
    files = _find_idx_files(folder)
    train_images = _read_idx(files["train-images-idx3-ubyte"], "images")
    train_labels = _read_idx(files["train-labels-idx1-ubyte"], "labels")
    test_images = _read_idx(files["t10k-images-idx3-ubyte"], "images")
    test_labels = _read_idx(files["t10k-labels-idx1-ubyte"], "labels")
    train = _as_dataset(f"load_mnist({folder}) training set", train_images, train_labels)
    test = _as_dataset(f"load_mnist({folder}) test set", test_images, test_labels)
    return train, test
