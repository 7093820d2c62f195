"""Saving and loading: round trips, the file format, atomic writes and every documented error."""

import json
import os
import zipfile

import numpy as np
import pytest

import glassnet
from glassnet import nn
from glassnet.errors import FileFormatError
from glassnet.io import FORMAT_VERSION
from glassnet.train import History


def _mixed_model(dtype=None):
    """A net with several activations, a configured Sigmoid(beta), Dropout and a softmax output."""
    return nn.Sequential(
        nn.Dense(5, 8, "tanh", seed=1, dtype=dtype),
        nn.Dropout(0.3, seed=2),
        nn.Dense(8, 8, {"name": "leaky_relu", "negative_slope": 0.2}, seed=3, dtype=dtype),
        nn.Dense(8, 6, None, seed=4, dtype=dtype),
        nn.Sigmoid(beta=2.0),
        nn.Dense(6, 6, "relu", bias=False, seed=5, dtype=dtype),
        nn.Dense(6, 3, "softmax", seed=6, dtype=dtype),
    )


def _rewrite(path, meta=None, arrays=None):
    """Rewrite a saved file with its JSON entry and/or arrays changed."""
    with np.load(path, allow_pickle=False) as archive:
        old = {k: archive[k] for k in archive.files}
    old_meta = json.loads(old.pop("__glassnet__").tobytes().decode("utf-8"))
    new_meta = old_meta if meta is None else meta(old_meta)
    new_arrays = old if arrays is None else arrays(old)
    new_arrays["__glassnet__"] = np.frombuffer(json.dumps(new_meta).encode(), dtype=np.uint8)
    np.savez(path, **new_arrays)


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions(tmp_path, rng, dtype):
    model = _mixed_model(dtype)
    X = rng.normal(size=(20, 5))
    path = tmp_path / "model.npz"
    glassnet.save(model, path)
    loaded = glassnet.load(path)
    assert repr(loaded) == repr(model)
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded[4].beta == 2.0 and loaded[1].p == 0.3
    assert loaded[2].activation.negative_slope == 0.2
    assert loaded[5].b is None


def test_round_trip_after_training(tmp_path, rng):
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    model = _mixed_model()
    glassnet.fit(model, X, y, loss="cross_entropy", epochs=2, verbose=0, seed=0)
    glassnet.save(model, tmp_path / "trained.npz")
    loaded = glassnet.load(tmp_path / "trained.npz")
    for (name, a), (name_b, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert name == name_b
        np.testing.assert_array_equal(a, b)


def test_history_round_trip(tmp_path, rng):
    X, y = rng.normal(size=(30, 5)), rng.integers(0, 3, size=30)
    model = _mixed_model()
    history = glassnet.fit(model, X, y, loss="cross_entropy", epochs=3, metrics=["accuracy"],
                           validation_split=0.2, verbose=0, seed=0)  # fmt: skip
    history.stop_reason = "early stopping: val_loss did not improve for 1 epochs"
    glassnet.save(model, tmp_path / "m.npz", history=history)
    loaded = glassnet.load_history(tmp_path / "m.npz")
    assert isinstance(loaded, History)
    assert loaded.history == history.history
    assert set(loaded.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert loaded.epoch == [0, 1, 2]
    assert loaded.stop_reason == history.stop_reason


def test_load_history_is_none_without_history(tmp_path):
    glassnet.save(_mixed_model(), tmp_path / "m.npz")
    assert glassnet.load_history(tmp_path / "m.npz") is None


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    model = _mixed_model()
    glassnet.save(model, tmp_path / "m.npz", history=History({"loss": [1.0]}, [0]))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        files = set(archive.files)
        meta = json.loads(archive["__glassnet__"].tobytes().decode("utf-8"))
        assert archive["layers.0.W"].dtype == np.float32
    assert files == set(model.state_dict()) | {"__glassnet__"}
    assert meta["format"] == "glassnet" and meta["version"] == FORMAT_VERSION
    assert meta["model"]["class"] == "Sequential"
    assert meta["history"]["history"] == {"loss": [1.0]}


def test_save_accepts_a_string_path_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    glassnet.save(_mixed_model(), "here.npz")
    assert isinstance(glassnet.load("here.npz"), nn.Sequential)
    assert os.listdir(tmp_path) == ["here.npz"]


# -- atomic writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["numpy.savez", "os.replace"])
def test_interrupted_save_keeps_the_old_file(tmp_path, rng, monkeypatch, target):
    path = tmp_path / "model.npz"
    old_model = _mixed_model()
    glassnet.save(old_model, path)
    X = rng.normal(size=(4, 5))
    expected = old_model.predict(X)

    def fail(*args, **kwargs):
        if target == "numpy.savez":  # die after part of the archive is written
            args[0].write(b"PK\x03\x04 half an archive")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(target, fail)
    new_model = nn.Sequential(*[nn.Dense(5, 3, seed=9)])
    with pytest.raises(OSError, match="simulated"):
        glassnet.save(new_model, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"]  # no temp file left behind
    np.testing.assert_array_equal(glassnet.load(path).predict(X), expected)


# -- errors ----------------------------------------------------------------------------------


def test_truncated_file_raises(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        FileFormatError,
        match=r"load: expected a glassnet model file \(npz\), got an unreadable or truncated file",
    ):
        glassnet.load(path)


def test_truncated_file_cut_near_the_end_raises(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FileFormatError, match="unreadable or truncated"):
        glassnet.load(path)


def test_foreign_npz_raises(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(
        FileFormatError,
        match=r"expected a glassnet model file, got .*foreign\.npz without a '__glassnet__' entry",
    ):
        glassnet.load(path)
    with pytest.raises(FileFormatError, match="without a '__glassnet__' entry"):
        glassnet.load_history(path)


def test_random_bytes_raise(tmp_path, rng):
    path = tmp_path / "noise.npz"
    path.write_bytes(rng.integers(0, 256, size=2000, dtype=np.uint8).tobytes())
    with pytest.raises(FileFormatError, match="unreadable or truncated file"):
        glassnet.load(path)


def test_plain_npy_file_raises(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.ones((2, 2)))
    with pytest.raises(FileFormatError, match="glassnet model file"):
        glassnet.load(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="load: no such file"):
        glassnet.load(tmp_path / "absent.npz")


def test_newer_format_version_raises(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path)
    _rewrite(path, meta=lambda meta: {**meta, "version": FORMAT_VERSION + 1})
    with pytest.raises(
        FileFormatError,
        match=rf"expected file format version <= {FORMAT_VERSION}, got {FORMAT_VERSION + 1}.*upgrade",
    ):
        glassnet.load(path)


def test_other_format_name_raises(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path)
    _rewrite(path, meta=lambda meta: {**meta, "format": "keras"})
    with pytest.raises(FileFormatError, match="got format 'keras'"):
        glassnet.load(path)


def test_unknown_class_in_file_raises(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(nn.Sequential(nn.Dense(2, 2, seed=0)), path)

    def rename(meta):
        meta["model"]["layers"][0]["class"] = "os.system"
        return meta

    _rewrite(path, meta=rename)
    with pytest.raises(FileFormatError, match=r"expected a known module class, got 'os.system'"):
        glassnet.load(path)


def test_arrays_of_the_wrong_shape_raise(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path)
    _rewrite(path, arrays=lambda arrays: {**arrays, "layers.0.W": np.zeros((8, 4), np.float32)})
    with pytest.raises(
        FileFormatError,
        match=r"do not fit the architecture.*expected layers.0.W of shape \(8, 5\), got \(8, 4\)",
    ):
        glassnet.load(path)


def test_missing_and_extra_arrays_raise(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path)

    def swap(arrays):
        arrays["layers.9.W"] = arrays.pop("layers.6.W")
        return arrays

    _rewrite(path, arrays=swap)
    with pytest.raises(
        FileFormatError,
        match=r"do not fit the architecture.*missing \['layers.6.W'\].*unexpected \['layers.9.W'\]",
    ):
        glassnet.load(path)


def test_unregistered_module_cannot_be_saved(tmp_path):
    class Doubler(nn.Module):
        def forward(self, x):
            return x * 2.0

    model = nn.Sequential(nn.Dense(2, 2, seed=0), Doubler())
    with pytest.raises(
        TypeError,
        match=r"save: expected modules of registered classes, got Doubler; decorate the class with glassnet.nn.register",
    ):
        glassnet.save(model, tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())  # nothing written, not even a temp file


def test_subclass_of_a_registered_class_is_not_saved_as_its_parent(tmp_path):
    class MyDense(nn.Dense):
        pass

    with pytest.raises(TypeError, match="got MyDense"):
        glassnet.save(nn.Sequential(MyDense(2, 2, seed=0)), tmp_path / "m.npz")


def test_saving_something_else_raises(tmp_path):
    with pytest.raises(TypeError, match="save: expected a glassnet Module, got dict"):
        glassnet.save({"W": np.ones(2)}, tmp_path / "m.npz")


def test_saved_archive_is_a_zip_with_npy_members(tmp_path):
    glassnet.save(_mixed_model(), tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


_BROKEN_DESCRIPTIONS = {
    "not an object": [1, 2],
    "version as text": {"format": "glassnet", "version": "2", "model": {"class": "Sequential", "layers": []}},
    "no model": {"format": "glassnet", "version": 1},
    "unknown argument": {"format": "glassnet", "version": 1, "model": {"class": "Dense", "config": {"bogus": 1}}},
    "layers not a list": {"format": "glassnet", "version": 1, "model": {"class": "Sequential", "layers": None}},
    "config not an object": {"format": "glassnet", "version": 1, "model": {"class": "Dense", "config": [1]}},
}  # fmt: skip


@pytest.mark.parametrize("meta", _BROKEN_DESCRIPTIONS.values(), ids=_BROKEN_DESCRIPTIONS.keys())
def test_malformed_description_raises_file_format_error(tmp_path, meta):
    path = tmp_path / "m.npz"
    np.savez(path, __glassnet__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(FileFormatError, match="load: "):
        glassnet.load(path)
