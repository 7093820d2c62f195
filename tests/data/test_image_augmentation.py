"""Image augmentation on (n, C, H, W) batches: each transform does what its formula says, draws
per sample, keeps dtype and y, leaves the caller's batch alone, and names bad arguments."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.data import (
    AdditiveNoise,
    BrightnessJitter,
    Compose,
    ContrastJitter,
    Mixup,
    RandomAffine,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomShift,
)
from glassnet.errors import ShapeError


def _images(n=4, C=2, H=7, W=9, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, C, H, W)).astype(dtype)


def _dot(n, H, W, i, j):
    X = np.zeros((n, 1, H, W))
    X[:, :, i, j] = 1.0
    return X


def _rng(seed=0):
    return np.random.default_rng(seed)


def _centroid(image):
    """(row, column) of an (H, W) image's mass."""
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    return (image * rows).sum() / image.sum(), (image * cols).sum() / image.sum()


def _shifted(image, dy, dx, fill):
    """image (C, H, W) moved dy rows down and dx columns right, the rest ``fill``: the oracle."""
    H, W = image.shape[1:]
    out = np.full_like(image, fill)
    out[:, max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = image[
        :, max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)
    ]
    return out


# ---- shifts, flips, crops ----


def test_a_shift_by_k_moves_a_bright_pixel_by_exactly_k():
    X = _dot(300, 9, 11, 4, 5)
    out, _ = RandomShift(3)(X, None, _rng())
    samples, _, rows, cols = np.nonzero(out)
    assert (samples == np.arange(300)).all()  # one pixel per sample: none lost, none smeared
    assert (out[samples, 0, rows, cols] == 1).all()
    assert set(rows - 4) == set(cols - 5) == set(range(-3, 4))  # every shift in [-3, 3], no other
    replay = _rng()  # the draws, as the transform makes them: dy for every sample, then dx
    dy, dx = replay.integers(-3, 4, 300), replay.integers(-3, 4, 300)
    assert (rows == 4 + dy).all() and (cols == 5 + dx).all()  # dy rows down, dx columns right


def test_a_shift_moves_the_whole_image_and_fills_what_comes_in():
    X = _images(n=200, C=2, H=9, W=9) + 1.0  # content >= 1, told apart from the fill
    X[:, 1] = 0.0
    X[:, 1, 4, 4] = 5.0  # a marker in channel 1 tells the shift drawn for each sample
    out, _ = RandomShift((2, 4), fill=-1.0)(X, None, _rng(1))
    dys, dxs = [], []
    for k in range(len(X)):  # the oracle, one sample at a time
        row, col = np.argwhere(out[k, 1] == 5.0)[0]
        dy, dx = int(row) - 4, int(col) - 4
        np.testing.assert_array_equal(out[k], _shifted(X[k], dy, dx, -1.0))
        dys.append(dy)
        dxs.append(dx)
    assert set(dys) == set(range(-2, 3)) and set(dxs) == set(range(-4, 5))


def test_a_flip_mirrors_each_sample_or_leaves_it_as_it_was():
    X = _images(n=200)
    np.testing.assert_array_equal(RandomFlip(p=1.0)(X, None, _rng())[0], X[..., ::-1])
    vertical = RandomFlip(horizontal=False, vertical=True, p=1.0)
    np.testing.assert_array_equal(vertical(X, None, _rng())[0], X[..., ::-1, :])
    np.testing.assert_array_equal(RandomFlip(p=0.0)(X, None, _rng())[0], X)
    out, _ = RandomFlip(horizontal=True, vertical=True, p=0.5)(X, None, _rng(2))
    variants = [X, X[..., ::-1], X[..., ::-1, :], X[..., ::-1, ::-1]]
    which = [[np.array_equal(out[k], v[k]) for v in variants] for k in range(len(X))]
    assert all(sum(row) == 1 for row in which)  # each sample is exactly one of the four
    counts = np.sum(which, axis=0)
    assert (counts > 25).all() and (counts < 75).all(), counts  # about 50 of 200 each


def test_a_crop_keeps_its_size_and_is_a_window_of_the_padded_image():
    X = _images(n=60, C=2, H=6, W=7) + 1.0
    out, _ = RandomCrop((5, 4), padding=2, fill=-2.0)(X, None, _rng())
    assert out.shape == (60, 2, 5, 4)
    padded = np.pad(X, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-2.0)
    offsets = []
    for k in range(len(X)):
        hits = [(t, left) for t in range(6) for left in range(8)
                if np.array_equal(out[k], padded[k, :, t : t + 5, left : left + 4])]  # fmt: skip
        assert len(hits) == 1
        offsets += hits
    assert len(set(offsets)) > 25  # of the 6 x 8 windows
    replay = _rng()  # top for every sample, then left, each counted in the padded image
    assert offsets == list(zip(replay.integers(0, 6, 60), replay.integers(0, 8, 60)))


def test_a_crop_of_the_full_size_after_padding_is_a_shift_and_without_padding_identity():
    X = _images(n=50, C=1, H=6, W=6)
    np.testing.assert_array_equal(RandomCrop(6)(X, None, _rng())[0], X)
    out, _ = RandomCrop(6, padding=(0, 3))(X, None, _rng())  # columns padded, rows not
    assert out.shape == X.shape
    padded = np.pad(X, ((0, 0), (0, 0), (0, 0), (3, 3)))
    lefts = []
    for k in range(len(X)):
        hits = [j for j in range(7) if np.array_equal(out[k], padded[k, ..., j : j + 6])]
        assert len(hits) == 1
        lefts += hits
    assert set(lefts) == set(range(7))


# ---- affine maps and rotations ----


@pytest.mark.parametrize("size", [6, 7])
@pytest.mark.parametrize("degrees, k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_a_rotation_by_a_multiple_of_90_degrees_is_rot90(degrees, k, size):
    X = _images(n=3, C=2, H=size, W=size)
    out, _ = RandomRotation((degrees, degrees))(X, None, _rng())
    np.testing.assert_array_equal(out, np.rot90(X, k, axes=(2, 3)))


def test_positive_angles_turn_anticlockwise_about_the_centre():
    X = _dot(1, 15, 15, 7, 10)  # 3 pixels right of the centre (7, 7)
    up, _ = RandomRotation((90, 90))(X, None, _rng())
    assert np.argwhere(up[0, 0]).tolist() == [[4, 7]]  # now 3 pixels above it
    out, _ = RandomRotation((30, 30))(X, None, _rng())
    row, col = _centroid(out[0, 0])  # (x, y) = (3, 0) -> (3 cos 30, -3 sin 30)
    assert abs(row - (7 - 3 * math.sin(math.pi / 6))) < 0.05
    assert abs(col - (7 + 3 * math.cos(math.pi / 6))) < 0.05


def test_a_small_rotation_keeps_the_centre_pixel_and_a_centred_blob():
    out, _ = RandomRotation(15)(_dot(50, 15, 15, 7, 7), None, _rng())
    assert (out[:, 0, 7, 7] == 1).all()  # the centre is the fixed point: read exactly
    rows, cols = np.mgrid[:15, :15]
    blob = np.exp(-((rows - 7) ** 2 + (cols - 7) ** 2) / 8.0)[None, None].repeat(20, axis=0)
    out, _ = RandomRotation(20)(blob, None, _rng(1))
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), blob.sum(axis=(1, 2, 3)), rtol=5e-3)
    np.testing.assert_allclose(out, blob, atol=0.05)  # round: turning it changes little


def test_the_identity_affine_map_is_the_identity():
    X = _images(n=5, C=3, H=8, W=5)
    np.testing.assert_array_equal(RandomAffine()(X, None, _rng())[0], X)
    identity = RandomAffine(degrees=(0, 0), translate=(0, 0), scale=(1, 1), shear=(0, 0, 0, 0))
    np.testing.assert_array_equal(identity(X, None, _rng())[0], X)


def test_affine_translation_moves_the_mass_by_t_within_its_fraction_of_the_size():
    X = _dot(100, 10, 20, 5, 9)
    out, _ = RandomAffine(translate=(0.2, 0.3))(X, None, _rng())
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), 1.0)  # bilinear weights of a shift
    t = np.array([_centroid(image) for image in out[:, 0]]) - (5, 9)
    assert (np.abs(t[:, 0]) <= 0.3 * 10).all() and (np.abs(t[:, 1]) <= 0.2 * 20).all()
    assert t[:, 0].std() > 1 and t[:, 1].std() > 1.5  # real translations, drawn per sample


def test_affine_scale_and_shear_move_points_as_the_matrix_says():
    grown, _ = RandomAffine(scale=(2, 2))(_dot(1, 9, 11, 4, 7), None, _rng())  # 2 right of (4, 5)
    expected = np.zeros((9, 11))
    tent = np.array([0.5, 1.0, 0.5])  # now 4 right; one pixel off it reads the input half-way
    expected[3:6, 8:] = np.outer(tent, tent)
    np.testing.assert_array_equal(grown[0, 0], expected)
    sheared_x, _ = RandomAffine(shear=(45, 45))(_dot(1, 9, 9, 6, 4), None, _rng())  # 2 below
    assert np.argwhere(sheared_x[0, 0] > 0.5).tolist() == [[6, 6]]  # x' = x + tan(45) y
    sheared_y, _ = RandomAffine(shear=(0, 0, 45, 45))(_dot(1, 9, 9, 4, 6), None, _rng())
    assert np.argwhere(sheared_y[0, 0] > 0.5).tolist() == [[6, 6]]  # y' = y + tan(45) x


def test_what_comes_from_outside_the_image_is_fill():
    out, _ = RandomRotation((45, 45), fill=7.0)(np.zeros((1, 1, 9, 9)), None, _rng())
    assert out[0, 0, 0, 0] == 7.0 and out[0, 0, 4, 4] == 0.0  # a corner and the centre


# ---- brightness and contrast ----


def test_brightness_adds_one_offset_per_sample_and_keeps_the_spread():
    X = _images(n=500, C=3, H=4, W=4, dtype=np.float64)
    out, _ = BrightnessJitter(0.3)(X, None, _rng())
    offset = out - X
    assert np.ptp(offset, axis=(1, 2, 3)).max() < 1e-12  # the same b for every pixel of a sample
    b = offset[:, 0, 0, 0]
    assert np.abs(b).max() <= 0.3 and abs(b.std() - 0.3 / math.sqrt(3)) < 0.02  # U(-0.3, 0.3)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), X.mean(axis=(1, 2, 3)) + b)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), X.std(axis=(1, 2, 3)))
    clipped, _ = BrightnessJitter(0.3, clip=(0.1, 0.9))(X, None, _rng())  # the same draws
    np.testing.assert_array_equal(clipped, np.clip(out, 0.1, 0.9))
    assert clipped.min() == 0.1 and clipped.max() == 0.9


def test_contrast_scales_the_spread_about_each_samples_mean():
    X = _images(n=300, C=3, H=4, W=4, dtype=np.float64)
    out, _ = ContrastJitter(0.5, 1.5)(X, None, _rng())
    mean = X.mean(axis=(1, 2, 3))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), mean)
    c = out.std(axis=(1, 2, 3)) / X.std(axis=(1, 2, 3))
    assert c.min() >= 0.5 and c.max() <= 1.5 and np.ptp(c) > 0.9  # one factor per sample
    np.testing.assert_allclose(out, (X - mean[:, None, None, None]) * c[:, None, None, None]
                               + mean[:, None, None, None])  # fmt: skip
    doubled, _ = ContrastJitter(2, 2)(X, None, _rng())
    np.testing.assert_allclose(doubled.std(axis=(1, 2, 3)), 2 * X.std(axis=(1, 2, 3)))
    clipped, _ = ContrastJitter(2, 2, clip=(0, 1))(X, None, _rng())
    np.testing.assert_array_equal(clipped, np.clip(doubled, 0, 1))


def test_additive_noise_works_on_image_batches_too():
    X = np.zeros((200, 3, 8, 8), np.float32)
    out, y = AdditiveNoise(0.2)(X, np.arange(200), _rng())
    assert out.shape == X.shape and out.dtype == np.float32 and (y == np.arange(200)).all()
    assert abs(out.std() - 0.2) < 0.01 and (X == 0).all()


# ---- what every transform promises ----

TRANSFORMS = [
    RandomFlip(),
    RandomFlip(horizontal=False, vertical=True, p=0.7),
    RandomShift(2),
    RandomShift((0, 3), fill=1.0),
    RandomCrop(5, padding=1),
    RandomCrop((6, 8)),
    RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5)),
    RandomRotation(30, fill=0.5),
    BrightnessJitter(0.2),
    BrightnessJitter(0.2, clip=(0.0, 1.0)),
    ContrastJitter(0.5, 1.5),
    ContrastJitter(0.5, 1.5, clip=(0.0, 1.0)),
    Compose(RandomCrop(7, padding=2), RandomRotation(10), AdditiveNoise(0.05)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
def test_same_seed_same_result_dtype_kept_y_passed_on_batch_untouched(transform, dtype):
    X = _images(n=16, dtype=dtype)
    before, y = X.copy(), np.arange(16)
    out, y_out = transform(X, y, _rng(3))
    again, _ = transform(X, y, _rng(3))
    other, _ = transform(X, y, _rng(4))
    np.testing.assert_array_equal(out, again)
    assert not np.array_equal(out, other)
    assert out.dtype == dtype and out.ndim == 4 and y_out is y
    np.testing.assert_array_equal(X, before)
    assert not np.shares_memory(out, X)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
def test_each_sample_gets_its_own_draw(transform):
    X = np.repeat(_images(n=1), 16, axis=0)  # 16 copies of one image
    out, _ = transform(X, None, _rng(5))
    assert len({image.tobytes() for image in out}) > 1


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
def test_an_empty_batch_stays_empty(transform):
    out, _ = transform(np.zeros((0, 2, 7, 9), np.float32), None, _rng())
    assert len(out) == 0 and out.dtype == np.float32


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
def test_the_repr_builds_the_same_transform(transform):
    namespace = {name: globals()[name] for name in ("AdditiveNoise", "BrightnessJitter", "Compose",
                 "ContrastJitter", "RandomAffine", "RandomCrop", "RandomFlip", "RandomRotation",
                 "RandomShift")}  # fmt: skip
    rebuilt = eval(repr(transform), namespace)
    assert repr(rebuilt) == repr(transform)
    X = _images()
    np.testing.assert_array_equal(rebuilt(X, None, _rng(6))[0], transform(X, None, _rng(6))[0])


def test_reprs_read_like_the_calls():
    assert repr(RandomShift(2)) == "RandomShift(max_shift=2, fill=0.0)"
    assert repr(RandomCrop(32, padding=4)) == "RandomCrop(size=32, padding=4, fill=0.0)"
    assert repr(RandomRotation(10)) == "RandomRotation(degrees=(-10.0, 10.0), fill=0.0)"
    assert repr(Compose(RandomFlip(), BrightnessJitter(0.1))) == (
        "Compose(RandomFlip(horizontal=True, vertical=False, p=0.5), "
        "BrightnessJitter(delta=0.1, clip=None))"
    )


def test_compose_applies_its_transforms_in_order_and_threads_y():
    steps = (RandomShift(2), RandomRotation(20), ContrastJitter(0.5, 1.5))
    X = _images()
    out, _ = Compose(*steps)(X, None, _rng(7))
    rng, expected = _rng(7), X
    for step in steps:
        expected, _ = step(expected, None, rng)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(Compose(list(steps))(X, None, _rng(7))[0], out)
    reversed_out, _ = Compose(*steps[::-1])(X, None, _rng(7))
    assert not np.allclose(reversed_out, out)
    _, y = Compose(RandomFlip(), Mixup(0.2, n_classes=3))(X, np.array([0, 1, 2, 0]), _rng())
    assert y.shape == (4, 3)  # Mixup's soft targets come through


# ---- bad arguments and bad batches ----


@pytest.mark.parametrize("make, error, match", [
    (lambda: RandomFlip(p=1.5), ValueError, r"RandomFlip: expected p in \[0, 1\], got 1.5"),
    (lambda: RandomFlip(p=-0.1), ValueError, "expected p in"),
    (lambda: RandomFlip(p="0.5"), ValueError, "expected p in"),
    (lambda: RandomFlip(p=float("nan")), ValueError, "expected p in"),
    (lambda: RandomFlip(horizontal=1), TypeError, "expected horizontal to be True or False"),
    (lambda: RandomFlip(horizontal=False), ValueError, "horizontal or vertical to be True"),
    (lambda: RandomShift(-1), ValueError, "RandomShift: expected max_shift to be an int >= 0"),
    (lambda: RandomShift(1.5), ValueError, "expected max_shift to be an int >= 0"),
    (lambda: RandomShift(True), ValueError, "expected max_shift to be an int >= 0"),
    (lambda: RandomShift((1,)), ValueError, "or a pair of them, got \\(1,\\)"),
    (lambda: RandomShift((1, 2, 3)), ValueError, "expected max_shift"),
    (lambda: RandomShift(2, fill=float("nan")), ValueError, "expected fill to be a finite"),
    (lambda: RandomShift(2, fill="0"), ValueError, "expected fill to be a finite"),
    (lambda: RandomCrop(0), ValueError, "RandomCrop: expected size to be an int >= 1"),
    (lambda: RandomCrop((3, 0)), ValueError, "expected size to be an int >= 1"),
    (lambda: RandomCrop(3.0), ValueError, "expected size"),
    (lambda: RandomCrop(3, padding=-1), ValueError, "expected padding to be an int >= 0"),
    (lambda: RandomCrop(3, padding=(1,)), ValueError, "expected padding"),
    (lambda: RandomCrop(3, fill=None), ValueError, "expected fill"),
    (lambda: RandomAffine(-5), ValueError, "RandomAffine: expected degrees as a number >= 0"),
    (lambda: RandomAffine((10, 5)), ValueError, "expected degrees as .* got \\(10, 5\\)"),
    (lambda: RandomAffine((0, math.inf)), ValueError, "expected degrees"),
    (lambda: RandomAffine("10"), ValueError, "expected degrees"),
    (lambda: RandomAffine(translate=(0.1,)), ValueError, "expected translate to be None or a"),
    (lambda: RandomAffine(translate=(1.5, 0)), ValueError, "fractions in \\[0, 1\\]"),
    (lambda: RandomAffine(translate=(-0.1, 0)), ValueError, "expected translate"),
    (lambda: RandomAffine(translate=0.1), ValueError, "expected translate"),
    (lambda: RandomAffine(scale=(0, 1)), ValueError, "expected scale as None or a pair"),
    (lambda: RandomAffine(scale=(1.2, 0.8)), ValueError, "expected scale"),
    (lambda: RandomAffine(scale=1.1), ValueError, "expected scale"),
    (lambda: RandomAffine(shear=90), ValueError, "expected shear as .* got 90"),
    (lambda: RandomAffine(shear=(-90, 10)), ValueError, "expected shear"),
    (lambda: RandomAffine(shear=(0, 0, 0, 95)), ValueError, r"got \(0, 0, 0, 95\)"),
    (lambda: RandomAffine(shear=(1, 2, 3)), ValueError, "expected shear"),
    (lambda: RandomAffine(fill=math.inf), ValueError, "RandomAffine: expected fill"),
    (lambda: RandomRotation(None), ValueError, "RandomRotation: expected degrees"),
    (lambda: RandomRotation(-1), ValueError, "RandomRotation: expected degrees"),
    (lambda: BrightnessJitter(-0.1), ValueError, "BrightnessJitter: expected delta to be a"),
    (lambda: BrightnessJitter(math.inf), ValueError, "expected delta"),
    (lambda: BrightnessJitter("1"), ValueError, "expected delta"),
    (lambda: BrightnessJitter(0.1, clip=(1, 0)), ValueError, "expected clip to be None or a"),
    (lambda: BrightnessJitter(0.1, clip=(0, math.inf)), ValueError, "expected clip"),
    (lambda: BrightnessJitter(0.1, clip=0.5), ValueError, "expected clip"),
    (lambda: ContrastJitter(1.5, 0.5), ValueError, "ContrastJitter: expected 0 <= low <= high"),
    (lambda: ContrastJitter(-0.1, 1), ValueError, "expected 0 <= low"),
    (lambda: ContrastJitter(0.5, math.inf), ValueError, "expected 0 <= low"),
    (lambda: ContrastJitter(0.5, 1.5, clip=(0, 0)), ValueError, "expected clip"),
    (lambda: Compose(), ValueError, "Compose: expected at least one transform"),
    (lambda: Compose(1), TypeError, "Compose: expected callables .* got 1 at position 0"),
    (lambda: Compose(RandomFlip(), "flip"), TypeError, "got 'flip' at position 1"),
])  # fmt: skip
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("X, rng, error, match", [
    (np.zeros((64, 784), np.float32), _rng(), ShapeError,
     r"expected a 4-D \(n, C, H, W\) floating batch, got shape \(64, 784\)"),
    (np.zeros((4, 28, 28)), _rng(), ShapeError, r"got shape \(4, 28, 28\)"),
    (np.zeros((4, 1, 1, 28, 28)), _rng(), ShapeError, r"got shape \(4, 1, 1, 28, 28\)"),
    (np.zeros((4, 1, 0, 28)), _rng(), ShapeError, r"with C, H, W >= 1, got shape \(4, 1, 0, 28\)"),
    (np.zeros((4, 1, 8, 8), np.int64), _rng(), TypeError, "floating batch, got dtype int64"),
    (np.zeros((4, 1, 8, 8), bool), _rng(), TypeError, "got dtype bool"),
    ([[[[0.0]]]], _rng(), TypeError, "floating batch, got list"),
    (np.zeros((4, 1, 8, 8)), 0, TypeError, "expected rng to be a numpy.random.Generator, got int"),
    (np.zeros((4, 1, 8, 8)), np.random.RandomState(0), TypeError, "got RandomState"),
])  # fmt: skip
@pytest.mark.parametrize("transform", [t for t in TRANSFORMS if not isinstance(t, Compose)],
                         ids=repr)  # fmt: skip
def test_bad_batches_are_named(transform, X, rng, error, match):
    with pytest.raises(error, match=f"{type(transform).__name__}: .*{match}"):
        transform(X, None, rng)


def test_a_crop_larger_than_the_padded_image_is_named():
    message = (r"RandomCrop\(size=10, padding=0, fill=0.0\): expected images of at least 10 x 10 "
               r"after padding, got 8 x 8 \(8 x 8 padded\)")  # fmt: skip
    X = np.zeros((2, 1, 8, 8))
    with pytest.raises(ShapeError, match=message):
        RandomCrop(10)(X, None, _rng())
    assert RandomCrop(10, padding=1)(X, None, _rng())[0].shape == (2, 1, 10, 10)  # fits padded


# ---- in training ----


def test_fit_trains_a_conv_net_on_augmented_training_batches_only():
    rng = _rng(8)
    X = rng.random((40, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :, :4].mean(axis=(1, 2)) > X[:, 0, :, 4:].mean(axis=(1, 2))).astype(np.int64)
    augment = Compose(RandomShift(1), RandomRotation(10), BrightnessJitter(0.1, clip=(0, 1)),
                      AdditiveNoise(0.01))  # fmt: skip
    seen = []

    def spy(X_batch, y_batch, rng):
        out, y_out = augment(X_batch, y_batch, rng)
        seen.append((X_batch.shape, out.dtype, np.array_equal(out, X_batch), y_out is y_batch))
        return out, y_out

    model = gn.nn.Sequential(gn.nn.Conv2d(1, 4, 3, seed=0), gn.nn.ReLU(), gn.nn.Flatten(),
                             gn.nn.Dense(4 * 6 * 6, 2, seed=1))  # fmt: skip
    history = gn.fit(model, X, y, loss="cross_entropy", epochs=2, batch_size=10,
                     validation_split=0.25, augment=spy, seed=0, verbose=0)  # fmt: skip
    # 30 training samples: 3 batches per epoch; the 10 validation samples are never augmented
    assert [shape for shape, *_ in seen] == [(10, 1, 8, 8)] * 6
    assert all(dtype == np.float32 and not same and kept for _, dtype, same, kept in seen)
    assert len(history.history["loss"]) == len(history.history["val_loss"]) == 2
    assert np.isfinite(history.history["loss"] + history.history["val_loss"]).all()
