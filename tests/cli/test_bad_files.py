"""Every bad file a command can be given ends in one line ``glassnet: error: ...`` and exit
status 2, never a traceback: truncated, corrupt, lying about its sizes, deeply nested, of a
bad format version; model files, Keras MNIST archives and gzipped IDX folders alike."""

import gzip
import json
import re
import zipfile

import numpy as np
import pytest

import glassnet
from glassnet.cli import main
from tests.io.test_files import npy_bytes, write_zip


def _model_file(path):
    layers = [glassnet.nn.Dense(2, 3, "tanh", seed=0), glassnet.nn.Dense(3, 1, "sigmoid", seed=1)]
    glassnet.save(glassnet.nn.Sequential(*layers), path)
    return path


def _dense_meta(n_in, n_out, **changes):
    dense = {"class": "Dense", "config": {"in_features": n_in, "out_features": n_out}}
    model = {"class": "Sequential", "layers": [dense]}
    return {"format": "glassnet", "version": 1, "model": model, **changes}


def _with_meta(path, meta, arrays=None):
    arrays = dict(arrays or {})
    arrays["__glassnet__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def _truncated(path):
    data = _model_file(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return path


def _huge_header(path):  # 4 TB declared in about 1 KB
    members = {"layers.0.W.npy": npy_bytes("<f4", (10**6, 10**6))}
    return write_zip(path, members, meta=_dense_meta(2, 3))


def _huge_layer(path):  # Dense(2 -> 3e8) described, 9 numbers held
    arrays = {"layers.0.W": np.zeros((3, 2), np.float32), "layers.0.b": np.zeros(3, np.float32)}
    return _with_meta(path, _dense_meta(2, 300_000_000), arrays)


def _deep_json(path):
    text = '{"format": "glassnet", "version": 1, "model": ' + "[" * 50_000 + "]" * 50_000 + "}"
    np.savez(path, __glassnet__=np.frombuffer(text.encode(), dtype=np.uint8))
    return path


def _deep_modules(path):
    description = {"class": "Dense", "config": {"in_features": 2, "out_features": 1}}
    for _ in range(150):
        description = {"class": "Sequential", "layers": [description]}
    return _with_meta(path, {"format": "glassnet", "version": 1, "model": description})


def _object_array(path):
    members = {"layers.0.W.npy": npy_bytes("|O", (1,), bytes(8))}
    return write_zip(path, members, meta=_dense_meta(2, 3))


def _deflate_bomb(path):
    members = {"layers.0.W.npy": npy_bytes("<f4", (5_000_000,), bytes(20_000_000)),
               "layers.0.b.npy": npy_bytes("<f4", (3,), bytes(12))}  # fmt: skip
    return write_zip(path, members, zipfile.ZIP_DEFLATED, meta=_dense_meta(2, 3))


BAD_MODEL_FILES = {
    "truncated": (_truncated, "unreadable or truncated file"),
    "random bytes": (_random_bytes, "unreadable or truncated file"),
    "huge header": (_huge_header, r"to take 4000000000128 bytes, got a member of 128 bytes"),
    "huge layer": (_huge_layer, r"declares a layer with 600000000 weights .* but the file holds 9"),
    "deep json": (_deep_json, r"expected a JSON description nested at most \d+ levels deep"),
    "deep modules": (_deep_modules, r"expected modules nested at most \d+ deep"),
    "object array": (_object_array, "expected arrays of numbers, got dtype object"),
    "deflate bomb": (_deflate_bomb, r"expected layers.0.W of shape \(3, 2\), got \(5000000,\)"),
    "version true": (lambda p: _with_meta(p, _dense_meta(2, 3, version=True)), "got True"),
    "version 0": (lambda p: _with_meta(p, _dense_meta(2, 3, version=0)), "got 0"),
    "version -1": (lambda p: _with_meta(p, _dense_meta(2, 3, version=-1)), "got -1"),
    "version 1.0": (lambda p: _with_meta(p, _dense_meta(2, 3, version=1.0)), "got 1.0"),
    "version text": (lambda p: _with_meta(p, _dense_meta(2, 3, version="1")), "got '1'"),
    "plain npy": (lambda p: p.write_bytes(npy_bytes("<f8", (1,), bytes(8))) and p, "plain array"),
    "a folder": (lambda p: p.mkdir() or p, "got the folder"),
}  # fmt: skip


def _one_line_error(capsys, pattern):
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error: "), captured.err
    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize("command", ["evaluate", "predict", "plot"])
@pytest.mark.parametrize("make, message", BAD_MODEL_FILES.values(), ids=BAD_MODEL_FILES.keys())
def test_a_bad_model_file_is_one_line_and_exit_2(tmp_path, capsys, command, make, message):
    path = make(tmp_path / "bad.npz")
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    args = {"evaluate": ["evaluate", str(path)],
            "predict": ["predict", str(path), str(tmp_path / "x.npy")],
            "plot": ["plot", str(path), "--out-dir", str(tmp_path / "out")]}[command]  # fmt: skip
    assert main(args) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "out").exists()


def _idx_folder(folder, damage):
    """The four MNIST IDX files, gzipped, the training images damaged by ``damage``."""
    images, labels = np.zeros((6, 28, 28), np.uint8), np.arange(6, dtype=np.uint8)
    for name, magic, array in [("train-images-idx3-ubyte", 2051, images),
                               ("train-labels-idx1-ubyte", 2049, labels),
                               ("t10k-images-idx3-ubyte", 2051, images),
                               ("t10k-labels-idx1-ubyte", 2049, labels)]:  # fmt: skip
        raw = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        packed = gzip.compress(raw + array.tobytes())
        damaged = damage(packed) if name.startswith("train-images") else packed
        (folder / f"{name}.gz").write_bytes(damaged)
    return folder


def _invalid_block(packed):
    packed = bytearray(packed)
    packed[10] = 0b111  # a deflate block of the invalid type 11: a raw zlib.error before
    return bytes(packed)


def _huge_dims(packed):
    return gzip.compress((2051).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in (10**6, 28, 28)) + bytes(64))  # fmt: skip


GZIP = "expected a readable gzip IDX file"
BAD_MNIST = {
    "gzip invalid block": (lambda p: _idx_folder(p, _invalid_block), GZIP),
    "gzip cut short": (lambda p: _idx_folder(p, lambda d: d[:-20]), GZIP),
    "gzip bad checksum": (lambda p: _idx_folder(p, lambda d: d[:-8] + bytes(8)), "CRC check"),
    "idx huge dims": (lambda p: _idx_folder(p, _huge_dims), "to take 784000016 bytes, got a gzip"),
    "keras npz cut": (lambda p: _cut_keras(p / "mnist.npz"), "expected a readable .npz"),
    "keras huge header": (lambda p: _huge_keras(p / "mnist.npz"), "expected x_train of shape"),
}


def _cut_keras(path):
    images = np.zeros((5, 28, 28), np.uint8)
    labels = np.arange(5)
    np.savez_compressed(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    path.write_bytes(path.read_bytes()[:-100])
    return path


def _huge_keras(path):
    members = {"x_train.npy": npy_bytes("|u1", (10**7, 28, 28 * 10**4))}
    for key in ("y_train", "x_test", "y_test"):
        members[f"{key}.npy"] = npy_bytes("|u1", (0,))
    return write_zip(path, members, meta=False)


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("make, message", BAD_MNIST.values(), ids=BAD_MNIST.keys())
def test_bad_mnist_files_are_one_line_and_exit_2(tmp_path, capsys, command, make, message):
    data_path = make(tmp_path)
    model = _model_file(tmp_path / "model.npz")
    args = {"train": ["train", "--data-path", str(data_path), "--out", str(tmp_path / "new.npz")],
            "evaluate": ["evaluate", str(model), "--data", "mnist",
                         "--data-path", str(data_path)]}  # fmt: skip
    assert main(args[command]) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "new.npz").exists()
