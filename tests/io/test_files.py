"""The npz files underneath save and the checkpoints: the atomic writer and the bounded reader.

Every file here is small; what each one declares (an npy header, a zip member's sizes) asks for
far more, and the reader must refuse it from the declarations alone, before allocating.
"""

import io
import json
import os
import re
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest

from glassnet.errors import FileFormatError
from glassnet.io._files import (
    MAX_COMPRESSION_RATIO,
    META_KEY,
    NpzReader,
    read_npz_bounded,
    write_npz_atomic,
)


def npy_bytes(descr, shape, data=b"", version=(1, 0)):
    """An .npy member by hand: the header declares ``descr`` and ``shape``, ``data`` follows."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    writer = {(1, 0): np.lib.format.write_array_header_1_0,
              (2, 0): np.lib.format.write_array_header_2_0}[version]  # fmt: skip
    writer(buffer, header)
    return buffer.getvalue() + data


def meta_bytes(meta):
    array = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED, meta=None):
    """A zip of ``members`` ({name: bytes}) plus a JSON meta entry (unless meta is False)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        if meta is not False:
            archive.writestr(f"{META_KEY}.npy", meta_bytes(meta or {"format": "test"}))
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def peak_bytes(function, *args):
    """(what function raised or returned, the peak of memory traced while it ran)."""
    tracemalloc.start()
    try:
        try:
            result = function(*args)
        except Exception as error:  # noqa: BLE001 (the test looks at it)
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- round trip ------------------------------------------------------------------------------


def test_write_then_read_gives_the_arrays_and_the_meta(tmp_path, rng):
    arrays = {"layers.0.W": rng.normal(size=(3, 2)).astype(np.float32),
              "count": np.arange(5), "flag": np.array([True, False]),
              "fortran": np.asfortranarray(rng.normal(size=(2, 3)))}  # fmt: skip
    write_npz_atomic(tmp_path / "a.npz", arrays, meta={"format": "test", "n": [1, 2]})
    meta, loaded = read_npz_bounded(tmp_path / "a.npz", "reader")
    assert meta == {"format": "test", "n": [1, 2]}
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype
    with zipfile.ZipFile(tmp_path / "a.npz") as archive:  # a plain npz: numpy reads it too
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    with np.load(tmp_path / "a.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["count"], arrays["count"])


def test_array_names_that_are_numpy_savez_keywords_are_written(tmp_path):
    arrays = {"file": np.ones(2), "allow_pickle": np.zeros(1), "args": np.arange(3)}
    write_npz_atomic(tmp_path / "k.npz", arrays, meta={})
    assert set(read_npz_bounded(tmp_path / "k.npz", "reader")[1]) == set(arrays)


def test_the_reader_tells_shapes_before_reading_any_data(tmp_path):
    write_npz_atomic(tmp_path / "a.npz", {"W": np.zeros((4, 3), np.float32)}, meta={"x": 1})
    with NpzReader(tmp_path / "a.npz", "reader") as reader:
        assert reader.meta == {"x": 1}
        assert reader.headers == {"W": ((4, 3), np.dtype(np.float32))}
        assert reader.n_elements == 12
        assert reader.read("W").shape == (4, 3)


def test_a_compressed_npz_reads(tmp_path, rng):
    X = rng.normal(size=(50, 4))
    np.savez_compressed(tmp_path / "c.npz", X=X, **{META_KEY: np.frombuffer(b"{}", np.uint8)})
    np.testing.assert_array_equal(read_npz_bounded(tmp_path / "c.npz", "reader")[1]["X"], X)


def test_meta_entry_must_be_there_and_be_a_json_object(tmp_path):
    np.savez(tmp_path / "none.npz", w=np.ones(2))
    with pytest.raises(FileFormatError, match=r"reader: expected a glassnet model file, got "
                       r".*none\.npz without a '__glassnet__' entry"):  # fmt: skip
        read_npz_bounded(tmp_path / "none.npz", "reader")
    with pytest.raises(FileFormatError, match="expected a glassnet checkpoint, got"):
        read_npz_bounded(tmp_path / "none.npz", "reader", kind="glassnet checkpoint")
    write_zip(tmp_path / "list.npz", {}, meta=[1, 2])
    with pytest.raises(FileFormatError, match=r"expected a JSON object .*, got list in .*list"):
        read_npz_bounded(tmp_path / "list.npz", "reader")
    np.savez(tmp_path / "text.npz", **{META_KEY: np.frombuffer(b"\xff{", np.uint8)})
    with pytest.raises(FileFormatError, match=r"expected a JSON .*text\.npz"):
        read_npz_bounded(tmp_path / "text.npz", "reader")


# -- bounded: the declarations are checked before anything is allocated ------------------------


def test_a_header_declaring_terabytes_is_refused_before_allocating(tmp_path):
    # 1.3 KB on disk; the header asks for 10^6 x 10^6 float32 = 4 TB (a MemoryError before)
    path = write_zip(tmp_path / "huge.npz", {"W.npy": npy_bytes("<f4", (10**6, 10**6), b"\0" * 16)})
    assert path.stat().st_size < 2000
    result, peak = peak_bytes(read_npz_bounded, path, "reader")
    assert isinstance(result, FileFormatError), result
    assert re.search(r"reader: expected W of shape \(1000000, 1000000\) float32 to take "
                     r"4000000000128 bytes, got a member of 144 bytes in .*huge\.npz",
                     str(result))  # fmt: skip
    assert peak < 5_000_000


def test_a_header_declaring_less_than_the_member_holds_is_refused(tmp_path):
    path = write_zip(tmp_path / "long.npz", {"W.npy": npy_bytes("<f8", (2,), b"\0" * 80)})
    with pytest.raises(FileFormatError, match=r"expected W of shape \(2,\) float64 to take 144 "
                       r"bytes, got a member of 208 bytes"):  # fmt: skip
        read_npz_bounded(path, "reader")


def test_negative_sizes_in_a_header_are_refused(tmp_path):
    # (-1, -16) float64 "takes" 16 * 8 bytes: the sizes must not only multiply right
    path = write_zip(tmp_path / "neg.npz", {"W.npy": npy_bytes("<f8", (-1, -16), bytes(128))})
    with pytest.raises(FileFormatError, match=r"expected W of a shape of sizes >= 0, got \(-1"):
        read_npz_bounded(path, "reader")


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    path = write_zip(tmp_path / "obj.npz", {"W.npy": npy_bytes("|O", (1,), b"\0" * 8)})
    with pytest.raises(FileFormatError, match="reader: expected arrays of numbers, got dtype "
                       "object for W in"):  # fmt: skip
        read_npz_bounded(path, "reader")


def test_members_other_than_npy_arrays_are_refused(tmp_path):
    path = write_zip(tmp_path / "odd.npz", {"notes.txt": b"hello"})
    with pytest.raises(FileFormatError, match=r"expected only \.npy members, got 'notes\.txt'"):
        read_npz_bounded(path, "reader")
    path = write_zip(tmp_path / "v3.npz", {"W.npy": b"\x93NUMPY\x07\x00" + b"\0" * 20})
    with pytest.raises(FileFormatError, match=r"expected npy format version 1\.0 or 2\.0, got 7"):
        read_npz_bounded(path, "reader")


def test_an_npy_header_of_version_2_is_read(tmp_path):
    data = np.arange(3, dtype="<i8").tobytes()
    path = write_zip(tmp_path / "v2.npz", {"a.npy": npy_bytes("<i8", (3,), data, version=(2, 0))})
    np.testing.assert_array_equal(read_npz_bounded(path, "reader")[1]["a"], [0, 1, 2])


def test_the_same_entry_twice_is_refused(tmp_path):
    path = write_zip(tmp_path / "twice.npz", {"W.npy": npy_bytes("<f8", (0,))})
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("W.npy", npy_bytes("<f8", (0,)))
    with pytest.raises(FileFormatError, match=r"expected each entry once, got 'W' twice"):
        read_npz_bounded(path, "reader")


def _set_uncompressed_size(path, name, size):
    """Rewrite the uncompressed size of member ``name`` in both of its zip headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    data[info.header_offset + 22 : info.header_offset + 26] = size.to_bytes(4, "little")
    for start in _central_entries(data):
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == name.encode():
            data[start + 24 : start + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def _central_entries(data):
    start = data.find(b"PK\x01\x02")
    while start != -1:
        yield start
        start = data.find(b"PK\x01\x02", start + 4)


def test_a_compression_ratio_beyond_deflates_limit_is_refused(tmp_path):
    members = {"W.npy": npy_bytes("<f8", (1000,), b"\0" * 8000)}
    path = write_zip(tmp_path / "bomb.npz", members, compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as archive:
        compressed = archive.getinfo("W.npy").compress_size
    declared = (MAX_COMPRESSION_RATIO + 100) * compressed
    _set_uncompressed_size(path, "W.npy", declared)
    with pytest.raises(FileFormatError, match=rf"reader: expected a compression ratio of at most "
                       rf"{MAX_COMPRESSION_RATIO}:1 \(deflate's own limit is about 1032:1\), got "
                       rf"1200:1 for W in .*bomb\.npz"):  # fmt: skip
        read_npz_bounded(path, "reader")


def test_members_larger_than_the_file_are_refused(tmp_path):
    path = write_zip(tmp_path / "a.npz", {"W.npy": npy_bytes("<f8", (100,), b"\0" * 800)})
    data = bytearray(path.read_bytes())
    for start in _central_entries(data):  # claim every member is 10 MB long, stored
        data[start + 20 : start + 28] = (10**7).to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"reader: expected a glassnet model file \(npz\), "
                       r"got an unreadable or truncated file .*a\.npz \(its members declare "
                       r"20000000 bytes, the file has \d+\)"):  # fmt: skip
        read_npz_bounded(path, "reader")


def test_members_sharing_their_bytes_are_refused(tmp_path):
    # a zip bomb of overlapping members: each central entry points at the same compressed data
    path = write_zip(tmp_path / "a.npz", {"W.npy": npy_bytes("<f8", (1000,), b"\0" * 8000)},
                     compression=zipfile.ZIP_DEFLATED, meta=False)  # fmt: skip
    data = path.read_bytes()
    central = data.index(b"PK\x01\x02")
    end = data.index(b"PK\x05\x06")
    entry = data[central:end]
    copies = [entry.replace(b"W.npy", f"{c}.npy".encode()) for c in "ABCDEFGHIJ"]
    record = bytearray(data[end:])
    record[8:10] = record[10:12] = len(copies).to_bytes(2, "little")
    record[12:16] = sum(map(len, copies)).to_bytes(4, "little")
    path.write_bytes(data[:central] + b"".join(copies) + bytes(record))
    with pytest.raises(FileFormatError, match=r"its members declare \d+ bytes, the file has"):
        read_npz_bounded(path, "reader")


@pytest.mark.parametrize("cut", [0.5, 0.9, -10])
def test_truncated_files_are_refused(tmp_path, rng, cut):
    path = tmp_path / "t.npz"
    write_npz_atomic(path, {"W": rng.normal(size=(40, 30))}, meta={"format": "test"})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)] if cut > 0 else data[:cut])
    with pytest.raises(FileFormatError, match=r"reader: expected a glassnet model file \(npz\), "
                       r"got an unreadable or truncated file .*t\.npz"):  # fmt: skip
        read_npz_bounded(path, "reader")


def test_corrupt_member_data_is_refused(tmp_path, rng):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, W=rng.normal(size=(40, 30)),
                        **{META_KEY: np.frombuffer(b"{}", np.uint8)})  # fmt: skip
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("W.npy")
    middle = info.header_offset + 30 + len("W.npy") + info.compress_size // 2
    data[middle : middle + 40] = bytes(40)
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"unreadable or truncated file .*c\.npz"):
        read_npz_bounded(path, "reader")


def test_a_plain_npy_and_random_bytes_are_refused(tmp_path, rng):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(FileFormatError, match=r"reader: expected a glassnet model file \(an npz "
                       r"archive\), got a plain array file .*a\.npy"):  # fmt: skip
        read_npz_bounded(tmp_path / "a.npy", "reader")
    (tmp_path / "noise").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(FileFormatError, match="unreadable or truncated file"):
        read_npz_bounded(tmp_path / "noise", "reader")
    with pytest.raises(FileNotFoundError, match="reader: no such file: "):
        read_npz_bounded(tmp_path / "absent.npz", "reader")
    with pytest.raises(FileFormatError, match=r"reader: expected a glassnet model file, got the "
                       r"folder"):  # fmt: skip
        read_npz_bounded(tmp_path, "reader")


def test_deeply_nested_json_is_refused_clearly(tmp_path):
    text = "[" * 100_000 + "]" * 100_000
    with zipfile.ZipFile(tmp_path / "deep.npz", "w") as archive:
        archive.writestr(f"{META_KEY}.npy", meta_bytes_raw(text.encode()))
    with pytest.raises(FileFormatError, match=r"reader: expected a JSON description nested at "
                       r"most \d+ levels deep, got one nested deeper in .*deep\.npz"):  # fmt: skip
        read_npz_bounded(tmp_path / "deep.npz", "reader")


def meta_bytes_raw(raw):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(raw, dtype=np.uint8))
    return buffer.getvalue()


# -- the atomic writer: permissions and temporary files ---------------------------------------


@pytest.fixture
def umask():
    """Set the process umask for one test (and put the old one back)."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    write_npz_atomic(tmp_path / "m.npz", {"W": np.ones(2)}, meta={})
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o666 & ~mask


def test_overwriting_keeps_the_mode_of_the_old_file(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "m.npz"
    write_npz_atomic(path, {"W": np.ones(2)}, meta={})
    os.chmod(path, 0o640)
    write_npz_atomic(path, {"W": np.zeros(2)}, meta={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    np.testing.assert_array_equal(read_npz_bounded(path, "reader")[1]["W"], [0, 0])


def test_stale_temporary_files_of_the_target_are_removed_on_the_next_write(tmp_path):
    stale = [tmp_path / ".m.npz.k2j4h8x_.tmp", tmp_path / ".m.npz.abcdefgh.tmp"]
    others = [tmp_path / ".m.npz.k2j4h8x_.tmp.keep", tmp_path / ".other.npz.abcdefgh.tmp",
              tmp_path / ".m.abcdefgh.tmp", tmp_path / "m.npz.abcdefgh.tmp"]  # fmt: skip
    for path in stale + others:
        path.write_bytes(b"PK half an archive")
    write_npz_atomic(tmp_path / "m.npz", {"W": np.ones(2)}, meta={})
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["m.npz"] + [p.name for p in others])


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    write_npz_atomic(path, {"W": np.ones(2)}, meta={"old": True})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_npz_atomic(path, {"W": np.zeros(2)}, meta={"old": False})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.npz"]
    assert read_npz_bounded(path, "reader")[0] == {"old": True}


def test_object_arrays_and_bad_meta_are_not_written(tmp_path):
    with pytest.raises(ValueError, match="Object arrays cannot be saved when allow_pickle=False"):
        write_npz_atomic(tmp_path / "o.npz", {"W": np.array([{}], dtype=object)}, meta={})
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_npz_atomic(tmp_path / "j.npz", {"W": np.ones(1)}, meta={"f": object()})
    with pytest.raises(ValueError, match=f"expected array names other than '{META_KEY}'"):
        write_npz_atomic(tmp_path / "n.npz", {META_KEY: np.ones(1)}, meta={})
    assert not list(tmp_path.iterdir())

