import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from glassnet.data import load_image_folder
from glassnet.errors import FileFormatError


def _save(path, pixels, format=None, **options):
    """Write uint8 pixels ((h, w) grey or (h, w, 3) RGB) as an image file; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, format, **options)
    return path


def _expected(pixels):
    """What the loader must return for exact (lossless) pixels: NCHW-ordered pixel / 255."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    chw = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return chw.astype(np.float32) / np.float32(255)


@pytest.fixture
def rgb_folder(tmp_path, rng):
    """Three classes of 5x7 RGB PNGs, written out of order; returns (root, {file: pixels})."""
    images = {}
    for name, count in (("dog", 2), ("cat", 3), ("bird", 1)):
        for k in reversed(range(count)):
            pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
            images[_save(tmp_path / name / f"img{k}.png", pixels)] = pixels
    return tmp_path, images


def test_png_folder_loads_exactly_with_sorted_classes_and_files(rgb_folder):
    root, images = rgb_folder
    X, y, class_names = load_image_folder(root)
    assert class_names == ["bird", "cat", "dog"]
    assert X.shape == (6, 3, 5, 7) and X.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1, 1, 2, 2]
    order = [root / "bird/img0.png", root / "cat/img0.png", root / "cat/img1.png",
             root / "cat/img2.png", root / "dog/img0.png", root / "dog/img1.png"]  # fmt: skip
    for i, file in enumerate(order):
        np.testing.assert_array_equal(X[i], _expected(images[file]))
    assert 0.0 <= X.min() and X.max() <= 1.0
    X2, y2, names2 = load_image_folder(str(root))  # the same again, from a str path
    np.testing.assert_array_equal(X2, X)
    assert y2.tolist() == y.tolist() and names2 == class_names


def test_classes_sort_as_strings_and_nested_folders_belong_to_their_class(tmp_path):
    for name in ("c2", "c10", "B", "a"):
        _save(tmp_path / name / "x.png", np.full((2, 2), len(name), np.uint8))
    _save(tmp_path / "a" / "deeper" / "y.png", np.full((2, 2), 200, np.uint8))
    _save(tmp_path / "a" / "deeper" / "x.png", np.full((2, 2), 100, np.uint8))
    X, y, class_names = load_image_folder(tmp_path)
    assert class_names == ["B", "a", "c10", "c2"]  # Python's sort, like torchvision
    assert y.tolist() == [0, 1, 1, 1, 2, 3]
    assert X.shape == (6, 1, 2, 2)
    # torchvision's order: a/x.png, then the folder a/deeper (its files sorted)
    np.testing.assert_array_equal(X[1:4, 0, 0, 0] * 255, [1, 100, 200])


def test_hidden_and_non_image_files_are_ignored(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(3, 4), dtype=np.uint8)
    _save(tmp_path / "one" / "kept.PNG", pixels)  # the extension's case does not matter
    (tmp_path / "one" / ".hidden.png").write_bytes(b"not an image")
    (tmp_path / "one" / "notes.txt").write_text("not an image")
    (tmp_path / "one" / "raw.npy").write_bytes(b"\x93NUMPY")
    _save(tmp_path / "one" / ".cache" / "thumb.png", np.zeros((9, 9), np.uint8))
    _save(tmp_path / ".trash" / "old.png", np.zeros((9, 9), np.uint8))
    _save(tmp_path / "loose.png", np.zeros((9, 9), np.uint8))  # not in a class folder
    X, y, class_names = load_image_folder(tmp_path)
    assert class_names == ["one"] and y.tolist() == [0]
    np.testing.assert_array_equal(X[0], _expected(pixels))


def test_jpeg_bmp_and_gif_load(tmp_path, rng):
    smooth = np.add.outer(np.arange(16), np.arange(16)).astype(np.uint8) * 8  # JPEG-friendly
    colour = np.stack([smooth, 255 - smooth, np.full_like(smooth, 128)], axis=-1)
    _save(tmp_path / "jpeg" / "a.jpg", colour, quality=95, subsampling=0)  # 4:4:4 chroma
    _save(tmp_path / "jpeg" / "b.JPEG", smooth, quality=95)
    bmp = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    _save(tmp_path / "other" / "c.bmp", bmp)
    _save(tmp_path / "other" / "d.gif", smooth)
    X, y, class_names = load_image_folder(tmp_path)
    assert class_names == ["jpeg", "other"] and y.tolist() == [0, 0, 1, 1]
    assert X.shape == (4, 3, 16, 16)
    np.testing.assert_allclose(X[0], _expected(colour), atol=3 / 255)  # JPEG is lossy
    for channel in range(3):  # a grey image in an RGB result: the grey in every channel
        np.testing.assert_allclose(X[1, channel], smooth / 255, atol=2 / 255)
    np.testing.assert_array_equal(X[2], _expected(bmp))  # BMP is lossless
    np.testing.assert_array_equal(X[3, 0], _expected(smooth)[0])  # a grey GIF keeps its greys


def test_grey_files_give_one_channel_and_any_colour_file_gives_three(tmp_path, rng):
    grey = rng.integers(0, 256, size=(4, 6), dtype=np.uint8)
    _save(tmp_path / "g" / "a.png", grey)
    _save(tmp_path / "g" / "b.jpg", grey)
    X, _, _ = load_image_folder(tmp_path)
    assert X.shape == (2, 1, 4, 6)
    np.testing.assert_array_equal(X[0], _expected(grey))
    colour = rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    _save(tmp_path / "h" / "c.png", colour)
    X, _, _ = load_image_folder(tmp_path)
    assert X.shape == (3, 3, 4, 6)
    np.testing.assert_array_equal(X[0], np.repeat(_expected(grey), 3, axis=0))
    np.testing.assert_array_equal(X[2], _expected(colour))
    X, _, _ = load_image_folder(tmp_path, mode="RGB")
    assert X.shape == (3, 3, 4, 6)
    X, _, _ = load_image_folder(tmp_path, mode="L")
    assert X.shape == (3, 1, 4, 6)
    np.testing.assert_array_equal(X[0], _expected(grey))


def test_mode_l_turns_colour_into_luma(tmp_path):
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    _save(tmp_path / "c" / "rgb.png", pixels)
    X, _, _ = load_image_folder(tmp_path, mode="L")
    assert X.shape == (1, 1, 1, 4)
    # L = 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2), rounded: 76.2, 149.7, 29.1, 255
    np.testing.assert_array_equal(X[0, 0, 0] * 255, np.array([76, 150, 29, 255], np.float32))


def test_alpha_is_dropped(tmp_path, rng):
    rgba = rng.integers(0, 256, size=(3, 3, 4), dtype=np.uint8)
    _save(tmp_path / "c" / "rgba.png", rgba)
    X, _, _ = load_image_folder(tmp_path)
    np.testing.assert_array_equal(X[0], _expected(rgba[..., :3]))


def test_resizing_is_bilinear_and_takes_height_then_width(tmp_path):
    _save(tmp_path / "c" / "ramp.png", np.array([[0, 255]], np.uint8))  # 1 high, 2 wide
    _save(tmp_path / "c" / "flat.png", np.full((7, 3), 51, np.uint8))
    X, _, _ = load_image_folder(tmp_path, size=(1, 4))
    assert X.shape == (2, 1, 1, 4)
    np.testing.assert_array_equal(X[0, 0, 0] * 255, [51, 51, 51, 51])  # flat stays flat
    np.testing.assert_array_equal(X[1, 0, 0] * 255, [0, 64, 191, 255])  # nearest: 0 0 255 255
    X, _, _ = load_image_folder(tmp_path, size=(3, 5))
    assert X.shape == (2, 1, 3, 5)
    X, _, _ = load_image_folder(tmp_path, size=6)
    assert X.shape == (2, 1, 6, 6)
    np.testing.assert_array_equal(X[0], np.full((1, 6, 6), np.float32(51) / np.float32(255)))


def test_an_image_already_of_the_size_is_not_changed(rgb_folder):
    root, images = rgb_folder
    X, _, _ = load_image_folder(root, size=(5, 7))
    np.testing.assert_array_equal(X[0], _expected(images[root / "bird" / "img0.png"]))


# -- errors ---------------------------------------------------------------------------------------


def test_a_missing_path_or_a_file_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=rf"load_image_folder: .*no such .*{missing}$"):
        load_image_folder(missing)
    file = _save(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(NotADirectoryError, match=rf"load_image_folder: .*a file: {file}$"):
        load_image_folder(file)


def test_an_empty_folder_says_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match=rf"expected one sub-folder per class in {tmp_path}, "
                       r"got none$"):  # fmt: skip
        load_image_folder(tmp_path)
    _save(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"got none \(1 image files lie directly in it: put "
                       r"them in one folder per class\)"):  # fmt: skip
        load_image_folder(tmp_path)


def test_class_folders_without_images_are_named(tmp_path):
    _save(tmp_path / "full" / "a.png", np.zeros((2, 2), np.uint8))
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"expected image files \(\.bmp \.gif \.jpeg \.jpg "
                       rf"\.png\) in every class folder of {tmp_path}, got none in: empty, "
                       r"texts$"):  # fmt: skip
        load_image_folder(tmp_path)


def test_mixed_sizes_name_the_first_file_that_differs_and_both_sizes(tmp_path):
    first = _save(tmp_path / "a" / "1.png", np.zeros((4, 6), np.uint8))
    _save(tmp_path / "a" / "2.png", np.zeros((4, 6), np.uint8))
    odd = _save(tmp_path / "b" / "1.png", np.zeros((6, 4), np.uint8))
    _save(tmp_path / "b" / "2.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=rf"expected every image to be 4 x 6 \(height x width\) "
                       rf"like {first}, got 6 x 4 in {odd}; pass size=\(height, width\) to "
                       r"resize them$"):  # fmt: skip
        load_image_folder(tmp_path)
    X, _, _ = load_image_folder(tmp_path, size=(4, 6))
    assert X.shape == (4, 1, 4, 6)


def _png_bytes(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg_bytes(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


_PIXELS = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
_PNG = _png_bytes(_PIXELS)
CORRUPT = {
    "not an image": ("png", b"hello, world"),
    "empty file": ("jpg", b""),
    "png cut short": ("png", _PNG[:300]),
    "png data scrambled": ("png", _PNG[:100] + bytes(200) + _PNG[300:]),
    "jpeg cut short": ("jpg", _jpeg_bytes(_PIXELS)[:400]),
    "png header only": ("png", _PNG[:33]),
}


@pytest.mark.parametrize("extension, data", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_file_is_a_file_format_error_that_names_it(tmp_path, extension, data):
    _save(tmp_path / "a" / "good.png", _PIXELS)
    bad = tmp_path / "b" / f"bad.{extension}"
    bad.parent.mkdir()
    bad.write_bytes(data)
    message = r"^load_image_folder: expected a readable image file, got an unreadable, corrupt "
    with pytest.raises(FileFormatError, match=message + "or truncated file ") as caught:
        load_image_folder(tmp_path)
    assert str(bad) in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_16_bit_png_is_refused_not_clipped(tmp_path):
    deep = tmp_path / "a" / "deep.png"
    deep.parent.mkdir()
    Image.fromarray(np.array([[0, 1000], [30000, 65535]], np.uint16)).save(deep)
    with pytest.raises(FileFormatError, match=r"expected an image with 8 bits per channel, got "
                       rf"Pillow mode 'I;?16' in {deep}"):  # fmt: skip
        load_image_folder(tmp_path)


@pytest.mark.parametrize("shape", [(11, 10), (30, 30)], ids=["warning", "error"])
def test_an_image_over_pillows_pixel_limit_is_refused_and_named(tmp_path, monkeypatch, shape):
    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that: both are refused
    _save(tmp_path / "a" / "small.png", np.zeros((5, 5), np.uint8))
    big = _save(tmp_path / "b" / "big.png", np.zeros(shape, np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(FileFormatError, match=rf"expected images of at most 100 pixels "
                       rf"\(PIL.Image.MAX_IMAGE_PIXELS\), got a larger one in {big} "):  # fmt: skip
        load_image_folder(tmp_path, size=5)
    with pytest.raises(ValueError, match=r"expected size of at most 100 pixels"):
        load_image_folder(tmp_path, size=(10, 11))


@pytest.mark.parametrize("size", [1.5, "28", (28,), (28, 28, 3), (28.0, 28), True, [2, None]])
def test_a_bad_size_type_is_a_type_error(tmp_path, size):
    _save(tmp_path / "a" / "x.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError, match=r"expected size None, an int or a \(height, width\) "
                       r"pair of ints, got "):  # fmt: skip
        load_image_folder(tmp_path, size=size)


@pytest.mark.parametrize("size", [0, -3, (0, 5), (5, -1)])
def test_a_size_below_one_is_a_value_error(tmp_path, size):
    _save(tmp_path / "a" / "x.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"expected a positive size, got "):
        load_image_folder(tmp_path, size=size)


@pytest.mark.parametrize("mode", ["rgb", "RGBA", "grey", 1])
def test_an_unknown_mode_is_a_value_error(tmp_path, mode):
    _save(tmp_path / "a" / "x.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=rf"expected mode None, 'L' or 'RGB', got {mode!r}"):
        load_image_folder(tmp_path, mode=mode)


# -- Pillow is optional ---------------------------------------------------------------------------


def test_importing_glassnet_data_does_not_import_pillow():
    code = "import sys, glassnet, glassnet.data; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loading_without_pillow_says_how_to_install_it(tmp_path, monkeypatch):
    _save(tmp_path / "a" / "x.png", np.zeros((2, 2), np.uint8))
    for name in ("PIL", "PIL.Image"):
        monkeypatch.setitem(sys.modules, name, None)  # `from PIL import Image` now fails
    with pytest.raises(ImportError, match=r"^load_image_folder: expected Pillow, which is not "
                       r"installed; pip install glassnet\[images\]$"):  # fmt: skip
        load_image_folder(tmp_path)
