import gzip
import importlib.util
import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from glassnet.data import load_mnist, mnist_subset_info
from glassnet.data.mnist import IDX_FILES
from glassnet.errors import FileFormatError

ROOT = Path(__file__).resolve().parents[2]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


def _shared_mnist():
    if not SHARED_MNIST.exists():
        pytest.skip(f"{SHARED_MNIST} is missing (the full MNIST in the Keras layout)")
    return SHARED_MNIST


def _check_split(X, y, n):
    assert X.shape == (n, 784) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


@pytest.fixture(scope="module")
def subset():
    return load_mnist()


def test_embedded_subset(subset):
    (X_train, y_train), (X_test, y_test) = subset
    info = mnist_subset_info()
    _check_split(X_train, y_train, info["n_train"])
    _check_split(X_test, y_test, info["n_test"])
    assert (info["n_train"], info["n_test"]) == (20000, 5000)
    assert "CC BY-SA 3.0" in info["licence"] and "LeCun" in info["source"]
    assert Path(info["path"]).stat().st_size <= 8_000_000
    pixels = np.round(X_train[:100] * 255)  # exactly the uint8 values divided by 255
    np.testing.assert_array_equal(pixels / np.float32(255), X_train[:100])


def test_embedded_subset_follows_the_documented_rule(subset):
    """The subset is the rows of the full MNIST that tools/make_mnist_subset.py names."""
    spec = importlib.util.spec_from_file_location(
        "make_mnist_subset", ROOT / "tools" / "make_mnist_subset.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (X_full, y_full), (X_full_test, y_full_test) = load_mnist(_shared_mnist())
    train, test = tool.subset_indices()
    (X_train, y_train), (X_test, y_test) = subset
    np.testing.assert_array_equal(X_train, X_full[train])
    np.testing.assert_array_equal(y_train, y_full[train])
    np.testing.assert_array_equal(X_test, X_full_test[test])
    np.testing.assert_array_equal(y_test, y_full_test[test])


def test_full_mnist_from_the_keras_npz():
    (X_train, y_train), (X_test, y_test) = load_mnist(str(_shared_mnist()))
    _check_split(X_train, y_train, 60000)
    _check_split(X_test, y_test, 10000)
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first training labels


def _idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx_folder(folder, images, labels, gzipped):
    contents = {
        "train-images-idx3-ubyte": _idx_bytes(images[:6], 2051),
        "train-labels-idx1-ubyte": _idx_bytes(labels[:6], 2049),
        "t10k-images-idx3-ubyte": _idx_bytes(images[6:], 2051),
        "t10k-labels-idx1-ubyte": _idx_bytes(labels[6:], 2049),
    }
    for name, data in contents.items():
        if gzipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_folder(tmp_path, rng, gzipped):
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = np.arange(10, dtype=np.uint8)
    _write_idx_folder(tmp_path, images, labels, gzipped)
    (X_train, y_train), (X_test, y_test) = load_mnist(tmp_path)
    assert X_train.shape == (6, 784) and X_test.shape == (4, 784)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(X_train, images[:6].reshape(6, 784) / np.float32(255))
    np.testing.assert_array_equal(y_train, labels[:6])
    np.testing.assert_array_equal(y_test, labels[6:])
    assert X_train.min() == 0.0 and X_train.max() == 1.0


def test_idx_wrong_magic_number(tmp_path, rng):
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    _write_idx_folder(tmp_path, images, np.arange(10, dtype=np.uint8), gzipped=False)
    swapped = tmp_path / "train-labels-idx1-ubyte"
    swapped.write_bytes((tmp_path / "train-images-idx3-ubyte").read_bytes())
    with pytest.raises(
        ValueError, match=r"expected IDX labels with magic number 2049 \(0x00000801\), got 2051"
    ):
        load_mnist(tmp_path)


def test_idx_truncated_file(tmp_path, rng):
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    _write_idx_folder(tmp_path, images, np.arange(10, dtype=np.uint8), gzipped=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(
        ValueError, match=r"expected 3152 bytes for IDX images of shape \(4, 28, 28\), got 3147"
    ):
        load_mnist(tmp_path)


def test_missing_idx_files_are_named(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as caught:
        load_mnist(tmp_path)
    message = str(caught.value)
    for name in IDX_FILES[1:]:
        assert str(tmp_path / name) in message and str(tmp_path / f"{name}.gz") in message
    assert "train-images-idx3-ubyte" not in message.split("got none of:")[1]
    assert "yann.lecun.com/exdb/mnist" in message and "mnist.npz" in message


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(
        FileNotFoundError, match=r"load_mnist: expected a folder of IDX files or a Keras \.npz"
    ):
        load_mnist(missing)
    with pytest.raises(FileNotFoundError, match=r"yann\.lecun\.com"):
        load_mnist(missing)


def test_npz_with_wrong_keys_or_labels(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "wrong.npz", images=images)
    with pytest.raises(
        ValueError, match=r"expected an \.npz with arrays x_train, y_train, x_test, y_test"
    ):
        load_mnist(tmp_path / "wrong.npz")
    labels = np.array([0, 1, 12], dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", x_train=images, y_train=labels, x_test=images, y_test=labels)
    with pytest.raises(ValueError, match=r"training set: expected labels in 0..9, got 0..12"):
        load_mnist(tmp_path / "bad.npz")
    (tmp_path / "mnist.csv").write_text("0,0\n")
    with pytest.raises(ValueError, match=r"expected a folder of IDX files or an \.npz file"):
        load_mnist(tmp_path / "mnist.csv")


# -- corrupt and lying files: a FileFormatError naming the file, nothing large allocated ------


def _idx_folder(tmp_path, rng, gzipped=True):
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    _write_idx_folder(tmp_path, images, np.arange(10, dtype=np.uint8), gzipped=gzipped)
    return tmp_path / ("t10k-images-idx3-ubyte" + (".gz" if gzipped else ""))


def _corrupt_deflate(data):
    """gzip of ``data`` whose first deflate block has the invalid type 11 (a raw zlib.error)."""
    packed = bytearray(gzip.compress(data))
    packed[10] = 0b111  # BFINAL = 1, BTYPE = 11
    return bytes(packed)


def _flipped(data):
    packed = bytearray(gzip.compress(data))
    packed[20:60] = bytes(b ^ 0x5A for b in packed[20:60])
    return bytes(packed)


CORRUPT_GZIP = {
    "invalid deflate block": _corrupt_deflate,
    "flipped bits": _flipped,
    "cut short": lambda data: gzip.compress(data)[:-30],
    "not gzip at all": lambda data: data,
    "empty": lambda data: b"",
    "wrong checksum": lambda data: gzip.compress(data)[:-8] + bytes(8),
}


@pytest.mark.parametrize("damage", CORRUPT_GZIP.values(), ids=CORRUPT_GZIP.keys())
def test_a_corrupt_gzip_idx_file_is_named_in_a_file_format_error(tmp_path, rng, damage):
    path = _idx_folder(tmp_path, rng)
    path.write_bytes(damage(gzip.decompress(path.read_bytes())))
    with pytest.raises(FileFormatError, match=rf"load_mnist: expected .* in {path}|{path}"):
        load_mnist(tmp_path)


def test_a_damaged_gzip_file_names_the_file_and_the_damage(tmp_path, rng):
    path = _idx_folder(tmp_path, rng)
    path.write_bytes(_corrupt_deflate(gzip.decompress(path.read_bytes())))
    with pytest.raises(FileFormatError) as caught:
        load_mnist(tmp_path)
    expected = f"load_mnist: expected a readable gzip IDX file, got {path}"
    assert str(caught.value).startswith(expected)


def _idx_header(magic, shape):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in shape)


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_idx_header_declaring_more_than_the_file_can_hold_is_refused(tmp_path, rng, gzipped):
    path = _idx_folder(tmp_path, rng, gzipped)
    data = _idx_header(2051, (10**6, 28, 28)) + bytes(100)  # 784 MB declared, 116 bytes given
    path.write_bytes(gzip.compress(data) if gzipped else data)
    if gzipped:
        message = (r"load_mnist: expected IDX images of shape \(1000000, 28, 28\) to take "
                   rf"784000016 bytes, got a gzip file of \d+ bytes, which inflates to at most "
                   rf"\d+ in {path}")  # fmt: skip
    else:
        message = (r"load_mnist: expected 784000016 bytes for IDX images of shape "
                   rf"\(1000000, 28, 28\), got 116 in {path} \(truncated\?\)")  # fmt: skip
    with pytest.raises(FileFormatError, match=message):
        load_mnist(tmp_path)


def test_a_gzip_idx_file_longer_than_its_header_says_is_not_read_to_the_end(tmp_path, rng):
    # 50 MB of zeros after a header that declares 4 images: deflated to about 50 KB
    path = _idx_folder(tmp_path, rng)
    path.write_bytes(gzip.compress(_idx_header(2051, (4, 28, 28)) + bytes(50_000_000)))
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match=rf"expected 3152 bytes for IDX images of shape "
                           rf"\(4, 28, 28\), got more in {path}"):  # fmt: skip
            load_mnist(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def _npz_member(shape, descr="|u1", data=b""):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})  # fmt: skip
    return buffer.getvalue() + data


def test_a_keras_npz_declaring_terabytes_is_refused_before_allocating(tmp_path):
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", _npz_member((10**7, 28, 28 * 10**4)))
        for name in ("y_train", "x_test", "y_test"):
            archive.writestr(f"{name}.npy", _npz_member((0,)))
    with pytest.raises(FileFormatError, match=r"load_mnist: expected x_train of shape "
                       r"\(10000000, 28, 280000\) uint8 to take \d+ bytes, got a member of 128 "
                       rf"bytes in {path}"):  # fmt: skip
        load_mnist(path)


@pytest.mark.parametrize("cut", [0.3, 0.7, 0.99])
def test_a_truncated_or_corrupt_keras_npz_is_a_file_format_error(tmp_path, cut):
    path = tmp_path / "mnist.npz"
    images, labels = np.zeros((5, 28, 28), np.uint8), np.arange(5, dtype=np.uint8)
    np.savez_compressed(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(FileFormatError, match=rf"load_mnist: expected .*{path}"):
        load_mnist(path)
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(FileFormatError, match=rf"load_mnist: expected .*{path}"):
        load_mnist(path)


# -- flatten=False: NCHW images for conv networks --------------------------------------------------


def test_unflattened_subset_is_nchw_with_the_same_values(subset):
    (X_train, y_train), (X_test, y_test) = load_mnist(flatten=False)
    (flat_train, flat_y_train), (flat_test, flat_y_test) = subset
    assert X_train.shape == (20000, 1, 28, 28) and X_test.shape == (5000, 1, 28, 28)
    assert X_train.dtype == np.float32 and X_test.dtype == np.float32
    np.testing.assert_array_equal(X_train.reshape(20000, 784), flat_train)
    np.testing.assert_array_equal(X_test.reshape(5000, 784), flat_test)
    np.testing.assert_array_equal(y_train, flat_y_train)
    np.testing.assert_array_equal(y_test, flat_y_test)
    assert y_train.dtype == np.int64
    # row-major: pixel (row r, column c) of the image is feature 28 r + c of the flat row
    assert X_train[7, 0, 14, 9] == flat_train[7, 28 * 14 + 9]


def test_unflattened_idx_folder_keeps_rows_and_columns(tmp_path, rng):
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    _write_idx_folder(tmp_path, images, np.arange(10, dtype=np.uint8), gzipped=False)
    (X_train, y_train), (X_test, _) = load_mnist(tmp_path, flatten=False)
    assert X_train.shape == (6, 1, 28, 28) and X_test.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(X_train[:, 0], images[:6] / np.float32(255))
    np.testing.assert_array_equal(X_test[:, 0], images[6:] / np.float32(255))
    assert y_train.tolist() == list(range(6))
    (X_flat, _), _ = load_mnist(tmp_path, flatten=True)
    assert X_flat.shape == (6, 784)


@pytest.mark.parametrize("flatten", [0, 1, "no", None, "False"])
def test_flatten_must_be_a_bool(flatten):
    with pytest.raises(TypeError, match=rf"^load_mnist: expected flatten True or False, got "
                       rf"{flatten!r}$"):  # fmt: skip
        load_mnist(flatten=flatten)
