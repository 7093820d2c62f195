"""The npz files of glassnet (models, checkpoints): an atomic writer and a bounded reader.

A file is an npz archive: one ``NAME.npy`` member per array plus a JSON entry (``META_KEY``,
the JSON text as uint8). The writer stores the members uncompressed (as ``np.savez``) in a
temporary file in the target's folder, flushes it to disk and ``os.replace``s the target.
The reader trusts nothing the file declares: before it allocates anything it checks the
zip members' sizes against the file's size (with a compression ratio of at most
``MAX_COMPRESSION_RATIO``) and each npy header's shape and dtype against its member's size,
so a small file can never ask for much memory. It never unpickles (object arrays are
refused).
"""

import json
import math
import os
import re
import secrets
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

__all__ = ["META_KEY", "MAX_COMPRESSION_RATIO", "MAX_JSON_DEPTH", "NpzReader",
           "read_npz_bounded", "write_npz_atomic", "check_format"]  # fmt: skip

META_KEY = "__glassnet__"
MAX_COMPRESSION_RATIO = 1100  # deflate cannot exceed about 1032:1; np.savez stores (1:1)
MAX_JSON_DEPTH = 400  # a model description nests about 2 levels per module
_KIND = "glassnet model file"
_TEMP_NAME = "abcdefghijklmnopqrstuvwxyz0123456789_"  # the letters of tempfile's names
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}  # fmt: skip
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RecursionError)


# -- writing ---------------------------------------------------------------------------------


def write_npz_atomic(path, arrays, *, meta=None, meta_key=META_KEY, who="write_npz_atomic"):
    """Write ``arrays`` (and ``meta`` as JSON) to the npz file ``path``, atomically.

    Signature: ``write_npz_atomic(path, arrays: dict[str, ndarray], *, meta: dict | None = None,
    meta_key: str = "__glassnet__", who: str = "write_npz_atomic") -> None``; ``who`` (the
    public function that writes, e.g. "save") begins each error message.

    The members are stored uncompressed, one ``NAME.npy`` per array, plus ``meta_key`` (the
    JSON text of ``meta`` as uint8) unless ``meta`` is None; ``np.load`` reads the file too.
    The data goes to a temporary file ``.NAME.<random>.tmp`` next to ``path``, is flushed to
    disk, then replaces ``path`` (a reader sees the old file or the new one, never half of
    one). The new file gets the mode any new file gets under the umask (0o666 & ~umask), or
    keeps the mode of the file it replaces. Temporary files of ``path`` that an interrupted
    write left behind are removed first; the one of a write that fails is removed too.

    Raises:
        ValueError: an object array (never pickled), or an array named ``meta_key``.
        TypeError: ``meta`` is not JSON-able.
        OSError: the folder is not writable (the old file, if any, stays as it was).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{who}: expected a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{who}: expected a file to write, got the folder {path}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{who}: expected a file in an existing folder, got {path} "
                                f"(no folder {path.parent})")  # fmt: skip
    entries = {name: np.asarray(value) for name, value in arrays.items()}
    if meta_key in entries:
        raise ValueError(f"{who}: expected array names other than {meta_key!r}, "
                         f"which holds the JSON entry, got one named so for {path}")  # fmt: skip
    if meta is not None:
        text = json.dumps(meta).encode("utf-8")
        entries[meta_key] = np.frombuffer(text, dtype=np.uint8)
    folder = path.parent
    _remove_stale_temporaries(folder, path.name)
    mode = _mode_for(path)
    temporary, fd = _create_temporary(folder, path.name, who)
    try:
        with os.fdopen(fd, "wb") as file:
            with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, value in entries.items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, value, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _sync_folder(folder)


def _create_temporary(folder, name, who):
    """(path, fd) of a new file ``.NAME.<random>.tmp``, created with mode 0o666 & ~umask."""
    for _ in range(100):
        token = "".join(secrets.choice(_TEMP_NAME) for _ in range(8))
        temporary = folder / f".{name}.{token}.tmp"
        try:
            fd = os.open(temporary, _NEW_FILE, 0o666)
        except FileExistsError:
            continue
        return temporary, fd
    raise FileExistsError(f"{who}: expected a free temporary file name in {folder}, "
                          "got 100 names taken")  # fmt: skip


def _mode_for(path):
    """The mode to give the new file: that of the file it replaces; None (the umask's) if none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _remove_stale_temporaries(folder, name):
    """Remove ``.NAME.<random>.tmp`` files in ``folder``: left by a write that was killed."""
    pattern = re.compile(rf"\.{re.escape(name)}\.[{_TEMP_NAME}]{{8}}\.tmp")
    try:
        entries = list(os.scandir(folder if str(folder) else "."))
    except OSError:
        return  # the write itself will report the folder
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.remove(entry.path)
            except FileNotFoundError:
                pass


def _sync_folder(folder):
    """Flush the folder entry of the renamed file to disk (POSIX; elsewhere nothing to do)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading ---------------------------------------------------------------------------------


class NpzReader:
    """An npz file opened for bounded reading: what it declares is checked before it is read.

    Signature: ``NpzReader(path, who, *, kind="glassnet model file", meta_key="__glassnet__")``,
    a context manager. Opening it reads only the zip directory, each member's npy header and
    the JSON entry, and checks that

    - every member is a ``NAME.npy`` array, listed once, of a dtype without Python objects;
    - the members' compressed sizes add up to at most the file's size, and no member
      inflates more than ``MAX_COMPRESSION_RATIO`` times;
    - each header's shape and dtype account for its member's size exactly
      (header + prod(shape) * itemsize bytes);
    - the JSON entry is there, is a JSON object and is nested at most MAX_JSON_DEPTH deep.

    Attributes:
        meta: the JSON entry (a dict). headers: {name: (shape, dtype)} of the arrays, in the
        file's order, without the JSON entry. n_elements: the number of values they declare.

    ``read(name)`` then reads one array, ``read_all()`` all of them (in the order of
    ``headers``). Everything wrong with the file raises ``FileFormatError`` naming ``who``, the
    file and what was expected against what was found; a missing file ``FileNotFoundError``.
    """

    def __init__(self, path, who, *, kind=_KIND, meta_key=META_KEY):
        self.path, self.who, self.kind, self.meta_key = Path(path), who, kind, meta_key
        self._archive = _open_zip(self.path, who, kind)
        try:
            self._members = self._check_members()
            self.headers = {name: header for name, (header, _) in self._members.items()}
            self.meta = self._read_meta()
            del self.headers[meta_key]
        except BaseException:
            self._archive.close()
            raise
        self.n_elements = sum(math.prod(shape) for shape, _ in self.headers.values())

    def _error(self, what):
        return FileFormatError(f"{self.who}: {what}")

    def _unreadable(self, detail):
        return self._error(f"expected a {self.kind} (npz), got an unreadable or truncated file "
                           f"{self.path} ({detail})")  # fmt: skip

    def _check_members(self):
        """{array name: ((shape, dtype), ZipInfo)}, every size checked; nothing read but headers."""
        infos = self._archive.infolist()
        file_size = self.path.stat().st_size
        declared = sum(info.compress_size for info in infos)
        if declared > file_size:  # overlapping members (a zip bomb) or a truncated file
            raise self._unreadable(f"its members declare {declared} bytes, the file has "
                                   f"{file_size}")  # fmt: skip
        members = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise self._error(f"expected only .npy members, got {info.filename!r} in "
                                  f"{self.path}")  # fmt: skip
            name = info.filename[: -len(".npy")]
            if name in members:
                raise self._error(f"expected each entry once, got {name!r} twice in {self.path}")
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise self._error(f"expected a compression ratio of at most "
                                  f"{MAX_COMPRESSION_RATIO}:1 (deflate's own limit is about "
                                  f"1032:1), got {ratio:.0f}:1 for {name} in "
                                  f"{self.path}")  # fmt: skip
            members[name] = (self._check_header(name, info), info)
        return members

    def _check_header(self, name, info):
        """(shape, dtype) from the member's npy header, which must account for its size."""
        try:
            with self._archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version in _HEADER_READERS:
                    shape, _, dtype = _HEADER_READERS[version](member)
                    header_size = member.tell()
        except _UNREADABLE as error:
            raise self._unreadable(f"{name}: {error}") from None
        if version not in _HEADER_READERS:
            raise self._error(f"expected npy format version 1.0 or 2.0, got "
                              f"{version[0]}.{version[1]} for {name} in {self.path}")  # fmt: skip
        if any(n < 0 for n in shape):
            raise self._error(f"expected {name} of a shape of sizes >= 0, got {shape} in "
                              f"{self.path}")  # fmt: skip
        if dtype.hasobject:
            raise self._error(f"expected arrays of numbers, got dtype {dtype} for {name} in "
                              f"{self.path} (glassnet never unpickles)")  # fmt: skip
        expected = header_size + math.prod(shape) * dtype.itemsize
        if expected != info.file_size:
            raise self._error(f"expected {name} of shape {shape} {dtype} to take {expected} bytes, "
                              f"got a member of {info.file_size} bytes in {self.path}")  # fmt: skip
        return shape, dtype

    def _read_meta(self):
        if self.meta_key not in self._members:
            raise self._error(f"expected a {self.kind}, got {self.path} without a "
                              f"{self.meta_key!r} entry")  # fmt: skip
        (shape, dtype), _ = self._members[self.meta_key]
        if dtype != np.uint8 or len(shape) != 1:
            raise self._error(f"expected the {self.meta_key!r} entry as uint8 JSON text, got "
                              f"{dtype} of shape {shape} in {self.path}")  # fmt: skip
        raw = self.read(self.meta_key).tobytes()
        try:
            meta = json.loads(raw.decode("utf-8"))
            too_deep = _depth_exceeds(meta, MAX_JSON_DEPTH)
        except RecursionError:
            too_deep = True
        except (UnicodeDecodeError, ValueError) as error:
            raise self._error(f"expected a JSON text in the {self.meta_key!r} entry, got "
                              f"unreadable text in {self.path} ({error})") from None  # fmt: skip
        if too_deep:
            raise self._error(f"expected a JSON description nested at most {MAX_JSON_DEPTH} "
                              f"levels deep, got one nested deeper in {self.path}")  # fmt: skip
        if not isinstance(meta, dict):
            raise self._error(f"expected a JSON object in the {self.meta_key!r} entry, got "
                              f"{type(meta).__name__} in {self.path}")  # fmt: skip
        return meta

    def read(self, name):
        """The array ``name`` (its header was checked when the file was opened)."""
        _, info = self._members[name]
        try:
            with self._archive.open(info) as member:
                return np.lib.format.read_array(member, allow_pickle=False)
        except _UNREADABLE as error:
            raise self._unreadable(f"{name}: {error}") from None

    def read_all(self):
        """{name: array} of every array in the file (without the JSON entry)."""
        return {name: self.read(name) for name in self.headers}

    def close(self):
        self._archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def read_npz_bounded(path, who, *, kind=_KIND, meta_key=META_KEY):
    """The JSON entry and the arrays of an npz file, every declared size checked first.

    Signature: ``read_npz_bounded(path, who: str, *, kind: str = "glassnet model file",
    meta_key: str = "__glassnet__") -> tuple[dict, dict[str, ndarray]]``.

    Args:
        path: the file. who: the name the messages start with ("load", "load_checkpoint").
        kind: what the file should be, for the messages ("glassnet checkpoint").
        meta_key: the name of the JSON entry.

    Returns:
        (meta, arrays): the JSON entry as a dict and {name: array} of the other entries.

    Raises:
        FileNotFoundError: no such file.
        FileFormatError: anything wrong with the file (see ``NpzReader`` for the checks).
    """
    with NpzReader(path, who, kind=kind, meta_key=meta_key) as reader:
        return reader.meta, reader.read_all()


def check_format(meta, path, who, *, name="glassnet", version):
    """Check the ``format`` and ``version`` entries of a file's JSON entry.

    Signature: ``check_format(meta: dict, path, who: str, *, name: str = "glassnet",
    version: int) -> int``: the file's version, which must be a positive int (not a bool) no
    larger than ``version`` (the newest this glassnet reads); else ``FileFormatError``.
    """
    if meta.get("format") != name:
        raise FileFormatError(f"{who}: expected a file of format {name!r}, got format "
                              f"{meta.get('format')!r} in {path}")  # fmt: skip
    found = meta.get("version")
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise FileFormatError(f"{who}: expected the format version as a positive integer, got "
                              f"{found!r} in {path}")  # fmt: skip
    if found > version:
        raise FileFormatError(f"{who}: expected file format version <= {version}, got {found} in "
                              f"{path}; it was written by a newer glassnet, upgrade to "
                              "read it")  # fmt: skip
    return found


def _open_zip(path, who, kind):
    if not path.exists():
        raise FileNotFoundError(f"{who}: no such file: {path}")
    if path.is_dir():
        raise FileFormatError(f"{who}: expected a {kind}, got the folder {path}")
    try:
        with open(path, "rb") as file:
            start = file.read(6)
        if start == b"\x93NUMPY":
            raise FileFormatError(f"{who}: expected a {kind} (an npz archive), got a plain array "
                                  f"file {path}")  # fmt: skip
        return zipfile.ZipFile(path)
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise FileFormatError(f"{who}: expected a {kind} (npz), got an unreadable or truncated "
                              f"file {path} ({error})") from None  # fmt: skip


def _depth_exceeds(value, limit):
    """True if the JSON ``value`` nests lists and objects more than ``limit`` deep."""
    level = [value]
    for _ in range(limit + 1):
        level = [item for v in level if isinstance(v, (list, dict))
                 for item in (v.values() if isinstance(v, dict) else v)]  # fmt: skip
        if not level:
            return False
    return True
