"""Image folders with one sub-folder per class (the layout of torchvision's ``ImageFolder``).

Pillow is optional (``pip install glassnet[images]``): it is imported inside
``load_image_folder``, so ``import glassnet.data`` needs NumPy only.
"""

import numbers
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

__all__ = ["load_image_folder"]

WHO = "load_image_folder"
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # compared in lower case
CHANNEL_MODES = (None, "L", "RGB")
_GRAY_MODES = frozenset({"1", "L", "LA", "La"})  # Pillow modes without colour
_COLOUR_MODES = frozenset({"P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"})
_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


def load_image_folder(path, size=None, *, mode=None):
    """Load a folder of images, one sub-folder per class, as NCHW float32 in [0, 1].

    The layout is that of torchvision's ``ImageFolder``: ``path/<class name>/<image file>``.
    The class names are the sub-folders' names in sorted order and label ``k`` is the k-th of
    them. Within a class, images are taken folder by folder (the class folder first, then
    its nested folders by sorted path) and in sorted name order within each folder, as
    torchvision does, so the result is the same on every run and machine.

    Files and folders whose names start with ``.`` are ignored, and so are files whose
    extension (in any case) is not one of ``.bmp .gif .jpeg .jpg .png``; files directly in
    ``path`` are not images of any class and are ignored too. Only the first frame of an
    animated GIF is read, EXIF orientation is not applied, and alpha is dropped (not
    composited). Images must have 8 bits per channel: a 16-bit PNG is refused rather than
    clipped.

    Args:
        path: the folder (str or path-like).
        size: None to require one common size for all images; an int ``s`` to resize each
            image to ``s`` x ``s``; or ``(height, width)``. Resizing is bilinear (Pillow's,
            which also smooths when it shrinks).
        mode: ``"L"`` (one grey channel; colour is turned into luma,
            L = 0.299 R + 0.587 G + 0.114 B), ``"RGB"`` (three channels; grey is repeated)
            or None: ``"RGB"`` if any file is stored in a colour mode (RGB, RGBA, a palette,
            CMYK, ...), else ``"L"``. The choice follows how the files are stored, not their
            pixels: a grey photo saved as an RGB JPEG counts as colour.

    Returns:
        ``(X, y, class_names)``: X float32 of shape (n, channels, height, width) holding
        pixel / 255; y int64 of shape (n,) in 0..k-1; class_names the k sub-folder names
        (a list of str, sorted), ``class_names[y[i]]`` being the class of image i.

    Raises:
        ImportError: Pillow is not installed (``pip install glassnet[images]``).
        FileNotFoundError, NotADirectoryError: ``path`` does not exist or is not a folder.
        ValueError: no class sub-folders, a class folder without images, images of different
            sizes with ``size=None`` (the message names the first file that differs and both
            sizes), or a bad ``size`` or ``mode`` (TypeError for a ``size`` of the wrong type).
        FileFormatError: a file is unreadable, corrupt or truncated, is not 8 bits per
            channel, or has more pixels than ``PIL.Image.MAX_IMAGE_PIXELS`` (Pillow's
            decompression-bomb limit, about 89 million by default); the message names the
            file. A ValueError.
    """
    Image = _pillow()
    wanted = _check_size(size, Image.MAX_IMAGE_PIXELS)
    if not (mode is None or (isinstance(mode, str) and mode in CHANNEL_MODES)):
        raise ValueError(f"{WHO}: expected mode None, 'L' or 'RGB', got {mode!r}")
    root = _check_folder(path)
    class_names, files, labels = _find_images(root)

    headers = [_read(Image, file) for file in files]  # (mode, (height, width)); no pixels yet
    for file, (file_mode, _) in zip(files, headers):
        if file_mode not in _GRAY_MODES and file_mode not in _COLOUR_MODES:
            raise FileFormatError(f"{WHO}: expected an image with 8 bits per channel, got "
                                  f"Pillow mode {file_mode!r} in {file}; convert it to 8-bit "
                                  "grey or RGB")  # fmt: skip
    if wanted is None:
        wanted = headers[0][1]
        for file, (_, shape) in zip(files, headers):
            if shape != wanted:
                raise ValueError(f"{WHO}: expected every image to be {wanted[0]} x {wanted[1]} "
                                 f"(height x width) like {files[0]}, got {shape[0]} x "
                                 f"{shape[1]} in {file}; pass size=(height, width) to resize "
                                 "them")  # fmt: skip
    if mode is None:
        mode = "L" if all(file_mode in _GRAY_MODES for file_mode, _ in headers) else "RGB"

    X = np.empty((len(files), 1 if mode == "L" else 3, *wanted), dtype=np.float32)
    for i, file in enumerate(files):
        pixels = _read(Image, file, mode, wanted)  # uint8 (h, w) or (h, w, 3)
        X[i] = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    X /= np.float32(255.0)
    return X, np.asarray(labels, dtype=np.int64), class_names


def _pillow():
    """PIL.Image, or an ImportError that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{WHO}: expected Pillow, which is not installed; "
                          "pip install glassnet[images]") from None  # fmt: skip
    return Image


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_size(size, max_pixels):
    """None, or size as a (height, width) tuple of positive ints within Pillow's pixel limit."""
    if size is None:
        return None
    pair = (size, size) if _is_int(size) else size
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(map(_is_int, pair))):
        raise TypeError(f"{WHO}: expected size None, an int or a (height, width) pair of ints, "
                        f"got {size!r}")  # fmt: skip
    height, width = int(pair[0]), int(pair[1])
    if height < 1 or width < 1:
        raise ValueError(f"{WHO}: expected a positive size, got {size!r}")
    if max_pixels is not None and height * width > max_pixels:
        raise ValueError(f"{WHO}: expected size of at most {max_pixels} pixels "
                         f"(PIL.Image.MAX_IMAGE_PIXELS), got {height} x {width}")  # fmt: skip
    return height, width


def _check_folder(path):
    root = Path(os.fspath(path))
    if not root.exists():
        raise FileNotFoundError(f"{WHO}: expected a folder with one sub-folder per class, got no "
                                f"such file or folder: {root}")  # fmt: skip
    if not root.is_dir():
        raise NotADirectoryError(f"{WHO}: expected a folder with one sub-folder per class, got "
                                 f"a file: {root}")  # fmt: skip
    return root


def _is_image_name(name):
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _find_images(root):
    """(class names, image paths, labels), sorted; ValueError when a class has no images."""
    with os.scandir(root) as entries:
        entries = list(entries)
    class_names = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    if not class_names:
        loose = sum(e.is_file() and _is_image_name(e.name) for e in entries)
        hint = (f" ({loose} image files lie directly in it: put them in one folder per class)"
                if loose else "")  # fmt: skip
        raise ValueError(f"{WHO}: expected one sub-folder per class in {root}, got "
                         f"none{hint}")  # fmt: skip
    files, labels, empty = [], [], []
    for label, name in enumerate(class_names):
        found = _image_files(root / name)
        if not found:
            empty.append(name)
        files += found
        labels += [label] * len(found)
    if empty:
        raise ValueError(f"{WHO}: expected image files ({' '.join(IMAGE_EXTENSIONS)}) in every "
                         f"class folder of {root}, got none in: {', '.join(empty)}")  # fmt: skip
    return class_names, files, labels


def _raise(error):
    raise error


def _image_files(folder):
    """The image files in folder and its non-hidden sub-folders: folders in sorted path order,
    then names sorted within each (torchvision's order)."""
    found = []
    for parent, folders, names in os.walk(folder, onerror=_raise):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [Path(parent, name) for name in names if _is_image_name(name)]
    return sorted(found, key=lambda file: (str(file.parent), file.name))


def _read(Image, file, mode=None, size=None):
    """Without mode: the file's (Pillow mode, (height, width)), from its header alone. With
    mode and size: its pixels converted to mode, resized to size (bilinear), as uint8."""
    try:
        with warnings.catch_warnings():  # Pillow warns above MAX_IMAGE_PIXELS, fails above 2x
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                if mode is None:
                    return image.mode, (image.height, image.width)
                image = image.convert(mode)  # decodes; alpha is dropped
                if (image.height, image.width) != size:
                    image = image.resize((size[1], size[0]), _bilinear(Image))
                return np.asarray(image, dtype=np.uint8)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise FileFormatError(f"{WHO}: expected images of at most {Image.MAX_IMAGE_PIXELS} "
                              f"pixels (PIL.Image.MAX_IMAGE_PIXELS), got a larger one in {file} "
                              f"({error})") from None  # fmt: skip
    except _UNREADABLE as error:
        raise FileFormatError(f"{WHO}: expected a readable image file, got an unreadable, "
                              f"corrupt or truncated file {file} ({error})") from None  # fmt: skip


def _bilinear(Image):
    return getattr(Image, "Resampling", Image).BILINEAR  # Image.Resampling since Pillow 9.1
