"""Saving and loading: round trips, the file format, atomic writes and every documented error."""

import json
import os
import re
import stat
import zipfile

import numpy as np
import pytest

import glassnet
from glassnet import nn
from glassnet.errors import FileFormatError
from glassnet.io import FORMAT_VERSION, load_info
from glassnet.io.save import MAX_DEPTH, build, describe
from glassnet.nn.module import REGISTRY
from glassnet.train import History
from tests.io.test_files import npy_bytes, peak_bytes, write_zip


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


@pytest.mark.parametrize("target", ["numpy.lib.format.write_array", "os.replace"])
def test_interrupted_save_keeps_the_old_file(tmp_path, rng, monkeypatch, target):
    path = tmp_path / "model.npz"
    old_model = _mixed_model()
    glassnet.save(old_model, path)
    X = rng.normal(size=(4, 5))
    expected = old_model.predict(X)

    def fail(*args, **kwargs):
        if target != "os.replace":  # die after part of the archive is written
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
        match=rf"expected file format version <= {FORMAT_VERSION}, got {FORMAT_VERSION + 1}"
        ".*upgrade",
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
        match=r"save: expected modules of registered classes, got Doubler; decorate the class "
        "with glassnet.nn.register",
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


_HEAD = {"format": "glassnet", "version": 1}
_BROKEN_DESCRIPTIONS = {
    "not an object": [1, 2],
    "version as text": {**_HEAD, "version": "2", "model": {"class": "Sequential", "layers": []}},
    "no model": _HEAD,
    "unknown argument": {**_HEAD, "model": {"class": "Dense", "config": {"bogus": 1}}},
    "layers not a list": {**_HEAD, "model": {"class": "Sequential", "layers": None}},
    "config not an object": {**_HEAD, "model": {"class": "Dense", "config": [1]}},
}


@pytest.mark.parametrize("meta", _BROKEN_DESCRIPTIONS.values(), ids=_BROKEN_DESCRIPTIONS.keys())
def test_malformed_description_raises_file_format_error(tmp_path, meta):
    path = tmp_path / "m.npz"
    np.savez(path, __glassnet__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(FileFormatError, match="load: "):
        glassnet.load(path)


# -- loading is bounded: by the file's size, then by what its arrays account for ----------------


def _file_with(path, description, arrays=None, **meta):
    """A model file written by hand: ``description`` as its architecture, ``arrays`` as its
    arrays (none by default); ``meta`` overrides entries of the JSON description."""
    entry = {"format": "glassnet", "version": 1, "model": description, "history": None, **meta}
    arrays = dict(arrays or {})
    arrays["__glassnet__"] = np.frombuffer(json.dumps(entry).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def _dense(n_in, n_out):
    return {"class": "Dense", "config": {"in_features": n_in, "out_features": n_out}}


def test_a_huge_npy_header_is_refused_by_load(tmp_path):
    # the 1.3 KB file whose header asks for 4 TB: a MemoryError before, now a FileFormatError
    path = write_zip(tmp_path / "huge.npz", {"W.npy": npy_bytes("<f4", (10**6, 10**6))},
                     meta={"format": "glassnet", "version": 1, "model": _dense(2, 3)})  # fmt: skip
    with pytest.raises(FileFormatError, match=r"load: expected W of shape \(1000000, 1000000\) "
                       r"float32 to take 4000000000128 bytes, got a member of 128 "
                       "bytes"):  # fmt: skip
        glassnet.load(path)
    with pytest.raises(FileFormatError, match="4000000000128 bytes"):
        glassnet.load_history(path)


def test_a_description_declaring_more_weights_than_the_file_holds_allocates_nothing(tmp_path):
    # 1 KB: Dense(2 -> 10^7) with 9 numbers in the file; before, its 80 MB were allocated first
    arrays = {"W": np.zeros((3, 2), np.float32), "b": np.zeros(3, np.float32)}
    path = _file_with(tmp_path / "m.npz", _dense(2, 10**7), arrays)
    result, peak = peak_bytes(glassnet.load, path)
    assert isinstance(result, FileFormatError), result
    assert re.fullmatch(r"load: the description in .*m\.npz declares a layer with 20000000 "
                        r"weights \(shape \(10000000, 2\)\) but the file holds 9",
                        str(result))  # fmt: skip
    assert peak < 5_000_000


def test_many_small_layers_cannot_add_up_past_the_file(tmp_path):
    layers = [_dense(2, 2)] * 10_000  # 60,000 numbers declared, 6 in the file
    arrays = {"layers.0.W": np.zeros((2, 2), np.float32), "layers.0.b": np.zeros(2, np.float32)}
    path = _file_with(tmp_path / "m.npz", {"class": "Sequential", "layers": layers}, arrays)
    with pytest.raises(FileFormatError, match=r"the description in .*m\.npz declares layers with "
                       r"at least 8 weights \(the last of shape \(2, 2\)\) but the file "
                       "holds 6$"):  # fmt: skip
        glassnet.load(path)


def test_arrays_that_do_not_fit_are_refused_before_their_data_is_read(tmp_path):
    # 20 MB of float32 zeros deflated to ~20 KB (ratio ~1000:1, within deflate's limit), for an
    # architecture that holds 9 numbers: the shapes are compared before any data is inflated
    members = {"layers.0.W.npy": npy_bytes("<f4", (5_000_000,), bytes(20_000_000)),
               "layers.0.b.npy": npy_bytes("<f4", (3,), bytes(12))}  # fmt: skip
    meta = {**_HEAD, "model": {"class": "Sequential", "layers": [_dense(2, 3)]}}
    path = write_zip(tmp_path / "bomb.npz", members, zipfile.ZIP_DEFLATED, meta=meta)
    assert path.stat().st_size < 100_000
    result, peak = peak_bytes(glassnet.load, path)
    assert isinstance(result, FileFormatError), result
    assert "expected layers.0.W of shape (3, 2), got (5000000,)" in str(result)
    assert peak < 5_000_000


SAMPLES = {  # constructor arguments of each registered class (default: none)
    "Dense": {"in_features": 3, "out_features": 2},
    "BatchNorm": {"num_features": 4},
    "ShortcutMLP": {"in_features": 2, "hidden": [3, 2], "out_features": 1},
    "GaussianNoise": {"std": 0.1},
    "Residual": {"block": nn.Dense(3, 3)},
    "Conv1d": {"in_channels": 2, "out_channels": 3, "kernel_size": 3},
    "Conv2d": {"in_channels": 2, "out_channels": 3, "kernel_size": 3},
    "ConvTranspose2d": {"in_channels": 2, "out_channels": 3, "kernel_size": 3},
    "BatchNorm2d": {"num_features": 4},
    "MaxPool1d": {"kernel_size": 2}, "MaxPool2d": {"kernel_size": 2},
    "AvgPool1d": {"kernel_size": 2}, "AvgPool2d": {"kernel_size": 2},
    "Concat": {"branches": (nn.Dense(3, 2), nn.Dense(3, 1))},
    "LayerNorm": {"normalized_shape": (2, 3)},
    "Embedding": {"num_embeddings": 5, "embedding_dim": 3},
    "MultiheadAttention": {"embed_dim": 4, "num_heads": 2},
    "TransformerEncoderLayer": {"d_model": 4, "nhead": 2, "dim_feedforward": 8},
    "RNN": {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True},
    "LSTM": {"input_size": 3, "hidden_size": 4, "bidirectional": True, "peepholes": True},
    "GRU": {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True},
    "TimeDistributed": {"layer": nn.Dense(3, 2), "batch_first": True},
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_class_builds_within_what_the_file_holds(tmp_path, name):
    """Each registered class, described in a file holding fewer than half its numbers, is
    refused while it is built (the budget counts every initializer's weights; a Dense bias,
    not counted, is never larger than its W). A new class whose weights come from elsewhere
    fails here: draw them through ``nn.init`` or call ``nn.init.reserve`` first."""
    cls = REGISTRY[name]
    if cls is nn.Sequential:
        module = nn.Sequential(nn.Dense(3, 2), nn.Dense(2, 2))
    else:
        try:
            arguments = dict(SAMPLES.get(name, {}))
            module = cls(*arguments.pop("branches", ()), **arguments)
        except (TypeError, ValueError) as error:
            pytest.fail(f"add constructor arguments for {name} to SAMPLES ({error})")
    n = sum(array.size for array in module.state_dict().values())
    if n == 0:
        assert repr(glassnet.load(_file_with(tmp_path / "m.npz", describe(module)))) == repr(module)
        return
    path = _file_with(tmp_path / "m.npz", describe(module), {"pad": np.zeros((n - 1) // 2)})
    with pytest.raises(FileFormatError, match=r"declares a layer with \d+ weights|declares layers"):
        glassnet.load(path)
    saved = tmp_path / "ok.npz"
    glassnet.save(module, saved)
    assert repr(glassnet.load(saved)) == repr(module)


def _nested(depth):
    description = _dense(2, 2)
    for _ in range(depth):
        description = {"class": "Sequential", "layers": [description]}
    return description


def test_deeply_nested_json_is_a_file_format_error(tmp_path):
    text = '{"format": "glassnet", "version": 1, "model": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "deep.npz"
    np.savez(path, __glassnet__=np.frombuffer(text.encode(), dtype=np.uint8))
    with pytest.raises(FileFormatError, match=r"load: expected a JSON description nested at most "
                       r"\d+ levels deep, got one nested deeper in .*deep\.npz"):  # fmt: skip
        glassnet.load(path)
    with pytest.raises(FileFormatError, match="nested deeper"):
        glassnet.load_history(path)


@pytest.mark.parametrize("depth", [120, 5000])
def test_deeply_nested_modules_are_refused_by_build(depth):
    with pytest.raises(FileFormatError, match=rf"load: expected modules nested at most "
                       rf"{MAX_DEPTH} deep, got a description nested deeper in "
                       r"x\.npz$"):  # fmt: skip
        build(_nested(depth), " in x.npz")
    assert isinstance(build(_nested(MAX_DEPTH - 1)), nn.Sequential)


@pytest.mark.parametrize("version", [True, False, 0, -1, 1.0, "1", None, [1]],
                         ids=lambda v: f"{type(v).__name__}-{v}")  # fmt: skip
def test_a_format_version_that_is_not_a_positive_integer_is_refused(tmp_path, version):
    path = _file_with(tmp_path / "m.npz", _dense(2, 1), version=version)
    with pytest.raises(FileFormatError, match=rf"load: expected the format version as a positive "
                       rf"integer, got {re.escape(repr(version))} in .*m\.npz"):  # fmt: skip
        glassnet.load(path)


def test_object_arrays_in_a_model_file_are_refused(tmp_path):
    path = write_zip(tmp_path / "o.npz", {"W.npy": npy_bytes("|O", (1,), bytes(8))},
                     meta={"format": "glassnet", "version": 1, "model": _dense(2, 1)})  # fmt: skip
    with pytest.raises(FileFormatError, match="load: expected arrays of numbers, got dtype object"):
        glassnet.load(path)


# -- info: what else a file records (the CLI's dataset) ---------------------------------------


def test_info_is_saved_and_read_back(tmp_path):
    path = tmp_path / "m.npz"
    glassnet.save(_mixed_model(), path, info={"data": "moons", "data_path": None})
    assert load_info(path) == {"data": "moons", "data_path": None}
    assert isinstance(glassnet.load(path), nn.Sequential)
    glassnet.save(_mixed_model(), path)
    assert load_info(path) is None


def test_info_must_be_a_json_object(tmp_path):
    with pytest.raises(TypeError, match=r"save: expected info as a dict of JSON values, got list"):
        glassnet.save(_mixed_model(), tmp_path / "m.npz", info=[1])
    with pytest.raises(TypeError, match="save: expected info as a dict of JSON values.*set"):
        glassnet.save(_mixed_model(), tmp_path / "m.npz", info={"a": {1, 2}})
    assert not list(tmp_path.iterdir())


def test_a_file_in_the_format_written_before_info_still_loads(tmp_path, rng):
    """What glassnet.save wrote before info existed: np.savez of the state_dict and the JSON."""
    model = _mixed_model()
    history = {"history": {"loss": [0.5, 0.25]}, "epoch": [0, 1], "stop_reason": None}
    path = _file_with(tmp_path / "old.npz", describe(model), model.state_dict(), history=history)
    X = rng.normal(size=(4, 5))
    np.testing.assert_array_equal(glassnet.load(path).predict(X), model.predict(X))
    assert glassnet.load_history(path).history == {"loss": [0.5, 0.25]}
    assert load_info(path) is None


# -- the written file: permissions and temporary files ----------------------------------------


def test_saved_files_get_the_mode_of_the_umask_and_keep_an_overwritten_files_mode(tmp_path):
    old = os.umask(0o027)
    try:
        glassnet.save(_mixed_model(), tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o640  # 0600 before, always
    os.chmod(tmp_path / "m.npz", 0o604)
    glassnet.save(_mixed_model(), tmp_path / "m.npz")
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o604


def test_a_save_removes_the_temporary_files_an_interrupted_save_left(tmp_path):
    (tmp_path / ".m.npz.x8k2m1q9.tmp").write_bytes(b"PK\x03\x04 a save killed halfway")
    glassnet.save(_mixed_model(), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == ["m.npz"]


def test_a_path_save_cannot_write_names_save(tmp_path):
    model = glassnet.nn.Sequential(glassnet.nn.Dense(2, 1, seed=0))
    with pytest.raises(FileNotFoundError, match=r"save: expected a file in an existing folder, "
                                                r"got .* \(no folder .*missing\)"):  # fmt: skip
        glassnet.save(model, tmp_path / "missing" / "m.npz")
    with pytest.raises(IsADirectoryError, match="save: expected a file to write, got the folder"):
        glassnet.save(model, tmp_path)
    with pytest.raises(TypeError, match="save: expected a file path, got 3"):
        glassnet.save(model, 3)
