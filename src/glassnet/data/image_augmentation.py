"""Data augmentation for image batches (n, C, H, W): flips, shifts, crops, affine maps and
rotations, brightness and contrast jitter, and their composition.

Each transform is a callable ``augment(X, y, rng) -> (X, y)`` on one batch, like the vector
augmenters of ``augmentation.py`` (whose ``AdditiveNoise`` adds pixel noise to images too):
``glassnet.fit(..., augment=...)`` applies it to every training batch, never to validation
data, with the trainer's Generator ``rng``. Every transform draws its parameters per sample
(one image, one shift), works on the whole batch at once (gathers with index arrays, no loop
over samples or pixels), keeps X's dtype, returns a new array and passes y on unchanged.

Coordinates: row i grows downward and column j rightward; the geometric transforms read the
input at integer (shifts, crops) or real (affine maps, by bilinear interpolation) positions,
and a position off the image reads ``fill``.
"""

import math

import numpy as np

from ..errors import ShapeError
from .augmentation import _is_integer, _is_real, _module_of

__all__ = ["BrightnessJitter", "Compose", "ContrastJitter", "RandomAffine", "RandomCrop",
           "RandomFlip", "RandomRotation", "RandomShift"]  # fmt: skip

_SNAP = 1e-6  # a sampling position this close to a pixel reads that pixel exactly (90 degrees)


# ---- checks of the arguments and of the batch ----


def _check_batch(who, X, rng):
    """Raise unless X is a 4-D (n, C, H, W) floating array of non-empty images and rng a
    numpy Generator (the trainer's)."""
    expected = "expected a 4-D (n, C, H, W) floating batch"
    if not all(hasattr(X, name) for name in ("shape", "dtype", "ndim")):
        raise TypeError(f"{who}: {expected}, got {type(X).__name__}")
    if X.ndim != 4:
        raise ShapeError(f"{who}: {expected}, got shape {tuple(X.shape)}")
    if 0 in X.shape[1:]:
        raise ShapeError(f"{who}: {expected} with C, H, W >= 1, got shape {tuple(X.shape)}")
    if X.dtype.kind != "f":
        raise TypeError(f"{who}: {expected}, got dtype {X.dtype}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: expected rng to be a numpy.random.Generator, got "
                        f"{type(rng).__name__}")  # fmt: skip


def _is_pair(value, length=2):
    return isinstance(value, (tuple, list)) and len(value) == length


def _int_pair(who, name, value, minimum):
    """An int >= minimum as (value, value), or a pair of such ints, as a tuple of ints."""
    pair = (value, value) if _is_integer(value) else value
    if not (_is_pair(pair) and all(_is_integer(v) and v >= minimum for v in pair)):
        raise ValueError(f"{who}: expected {name} to be an int >= {minimum} or a pair of them, "
                         f"got {value!r}")  # fmt: skip
    return int(pair[0]), int(pair[1])


def _interval(who, name, value, expected, low=-math.inf, high=math.inf, symmetric=True, shown=None):
    """(lo, hi) with low < lo <= hi < high from a pair, or (-d, d) from a number d >= 0 when
    ``symmetric``; finite floats. The message shows ``shown`` (the whole argument) if given."""
    pair = (-value, value) if symmetric and _is_real(value) and value >= 0 else value
    if _is_pair(pair) and all(_is_real(v) for v in pair):
        lo, hi = float(pair[0]), float(pair[1])
        if low < lo <= hi < high:
            return lo, hi
    raise ValueError(f"{who}: expected {name} as {expected}, got "
                     f"{value if shown is None else shown!r}")  # fmt: skip


def _fill(who, fill):
    if not (_is_real(fill) and math.isfinite(fill)):
        raise ValueError(f"{who}: expected fill to be a finite number, got {fill!r}")
    return float(fill)


def _clip(who, clip):
    if clip is None:
        return None
    if _is_pair(clip) and all(_is_real(v) and math.isfinite(v) for v in clip) and clip[0] < clip[1]:
        return float(clip[0]), float(clip[1])
    raise ValueError(f"{who}: expected clip to be None or a pair (lo, hi) of finite numbers with "
                     f"lo < hi, got {clip!r}")  # fmt: skip


def _plain(pair):
    """A pair as one number where both are equal, for the reprs."""
    return pair[0] if pair[0] == pair[1] else pair


def _per_sample(xp, values, dtype):
    """One host value per sample as an (n, 1, 1, 1) array of ``dtype`` where the batch lives."""
    return xp.asarray(values.astype(dtype)).reshape(-1, 1, 1, 1)


# ---- the gathers that every geometric transform is made of ----


def _gather(X, rows, cols, fill):
    """out[n, c, i, j] = X[n, c, rows[n, i, j], cols[n, i, j]], or ``fill`` where that position
    is off the image; rows and cols are integer arrays that broadcast to (n, h, w)."""
    xp = _module_of(X)
    n, C, H, W = X.shape
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)  # (n, h, w)
    flat = xp.clip(rows, 0, H - 1) * W + xp.clip(cols, 0, W - 1)
    h, w = flat.shape[1:]
    picked = X.reshape(n, C, H * W)[
        xp.arange(n)[:, None, None], xp.arange(C)[None, :, None], flat.reshape(n, 1, h * w)
    ]
    return xp.where(inside[:, None], picked.reshape(n, C, h, w), xp.asarray(fill, X.dtype))


def _window(X, top, left, size, fill):
    """out[n, c, i, j] = X[n, c, top[n] + i, left[n] + j] for a window of ``size`` (h, w)."""
    xp = _module_of(X)
    rows = xp.asarray(top)[:, None, None] + xp.arange(size[0])[None, :, None]
    cols = xp.asarray(left)[:, None, None] + xp.arange(size[1])[None, None, :]
    return _gather(X, rows, cols, fill)


def _bilinear(X, x, y, fill):
    """X read at the real positions (x, y) = (column, row), arrays (n, H, W), by bilinear
    interpolation of the four pixels around each; off the image a pixel is ``fill``."""
    xp = _module_of(X)
    x = xp.where(xp.abs(x - xp.rint(x)) < _SNAP, xp.rint(x), x)
    y = xp.where(xp.abs(y - xp.rint(y)) < _SNAP, xp.rint(y), y)
    x0, y0 = xp.floor(x), xp.floor(y)
    b, a = (x - x0).astype(X.dtype)[:, None], (y - y0).astype(X.dtype)[:, None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    upper = _gather(X, y0, x0, fill) * (1 - b) + _gather(X, y0, x0 + 1, fill) * b
    lower = _gather(X, y0 + 1, x0, fill) * (1 - b) + _gather(X, y0 + 1, x0 + 1, fill) * b
    return upper * (1 - a) + lower * a


# ---- the transforms ----


class RandomFlip:
    """Mirror each image with probability p, left-right and/or upside down:

        horizontal: x'[n, c, i, j] = x[n, c, i, W - 1 - j]   with probability p per sample
        vertical:   x'[n, c, i, j] = x[n, c, H - 1 - i, j]   with probability p per sample

    (with both, each axis is drawn on its own). Mirrors suit photographs of objects; they
    change the class of digits and letters.

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet classification with deep
    convolutional neural networks", NeurIPS 2012 (random crops and horizontal reflections).
    """

    def __init__(self, horizontal=True, vertical=False, p=0.5):
        for name, value in (("horizontal", horizontal), ("vertical", vertical)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"RandomFlip: expected {name} to be True or False, got {value!r}")
        if not (horizontal or vertical):
            raise ValueError("RandomFlip: expected horizontal or vertical to be True, got both "
                             "False")  # fmt: skip
        if not (_is_real(p) and 0 <= p <= 1):
            raise ValueError(f"RandomFlip: expected p in [0, 1], got {p!r}")
        self.horizontal, self.vertical, self.p = bool(horizontal), bool(vertical), float(p)

    def __call__(self, X, y, rng):
        _check_batch("RandomFlip", X, rng)
        xp = _module_of(X)
        out = X
        for axis, wanted in ((3, self.horizontal), (2, self.vertical)):
            if wanted:
                flip = xp.asarray(rng.random(len(X)) < self.p).reshape(-1, 1, 1, 1)
                out = xp.where(flip, xp.flip(out, axis=axis), out)
        return out, y

    def __repr__(self):
        return f"RandomFlip(horizontal={self.horizontal}, vertical={self.vertical}, p={self.p})"


class RandomShift:
    """Move each image by whole pixels, dy rows down and dx columns right, drawn per sample:

        x'[n, c, i, j] = x[n, c, i - dy_n, j - dx_n]   (fill where that is off the image)
        dy_n ~ U{-max_dy, ..., max_dy},  dx_n ~ U{-max_dx, ..., max_dx}

    (rng draws dy for the whole batch, then dx). Nothing wraps around: the pixels pushed over
    an edge are lost and ``fill`` comes in at the other one.

    Args:
        max_shift: the largest shift in pixels, an int >= 0 for both axes or a pair
            (max_dy, max_dx).
        fill: the value of the pixels that come in.
    Reference: Simard, Steinkraus & Platt, "Best practices for convolutional neural networks
    applied to visual document analysis", ICDAR 2003 (translations among the affine
    distortions of digits).
    """

    def __init__(self, max_shift, fill=0.0):
        self.max_shift = _int_pair("RandomShift", "max_shift", max_shift, minimum=0)
        self.fill = _fill("RandomShift", fill)

    def __call__(self, X, y, rng):
        _check_batch("RandomShift", X, rng)
        (mh, mw), n = self.max_shift, len(X)
        dy, dx = rng.integers(-mh, mh + 1, n), rng.integers(-mw, mw + 1, n)
        return _window(X, -dy, -dx, X.shape[2:], self.fill), y

    def __repr__(self):
        return f"RandomShift(max_shift={_plain(self.max_shift)}, fill={self.fill})"


class RandomCrop:
    """Pad each image with ``padding`` pixels of ``fill`` on every side, then cut out a window
    of ``size`` at a position drawn per sample (torchvision's RandomCrop):

        x'[n, c, i, j] = x_pad[n, c, top_n + i, left_n + j],   0 <= i < h,  0 <= j < w,
        top_n ~ U{0, ..., H + 2 p_h - h},  left_n ~ U{0, ..., W + 2 p_w - w}

    (rng draws top for the whole batch, then left). The batch becomes (n, C, h, w).
    ``RandomCrop(32, padding=4)`` on 32 x 32 images is the CIFAR-10 recipe (a shift by up to 4
    pixels); a smaller size without padding is the random crop of Krizhevsky et al. (224 x 224
    from 256 x 256; test on the centre crop then).

    Args:
        size: the window, an int for a square or a pair (h, w).
        padding: pixels added on each side, an int >= 0 or a pair (p_h, p_w): p_h rows above
            and below, p_w columns left and right (torchvision's pair is the other way round).
        fill: the value of the padding.
    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet classification with deep
    convolutional neural networks", NeurIPS 2012.
    """

    def __init__(self, size, padding=0, fill=0.0):
        self.size = _int_pair("RandomCrop", "size", size, minimum=1)
        self.padding = _int_pair("RandomCrop", "padding", padding, minimum=0)
        self.fill = _fill("RandomCrop", fill)

    def __call__(self, X, y, rng):
        _check_batch("RandomCrop", X, rng)
        (h, w), (ph, pw), n = self.size, self.padding, len(X)
        H, W = X.shape[2] + 2 * ph, X.shape[3] + 2 * pw
        if h > H or w > W:
            raise ShapeError(f"{self!r}: expected images of at least {h} x {w} after padding, got "
                             f"{X.shape[2]} x {X.shape[3]} ({H} x {W} padded)")  # fmt: skip
        top, left = rng.integers(0, H - h + 1, n) - ph, rng.integers(0, W - w + 1, n) - pw
        return _window(X, top, left, (h, w), self.fill), y

    def __repr__(self):
        return (f"RandomCrop(size={_plain(self.size)}, padding={_plain(self.padding)}, "
                f"fill={self.fill})")  # fmt: skip


class RandomAffine:
    """A random affine map about the image centre per sample (rotation, translation, scaling,
    shear), sampled by bilinear interpolation.

    In pixel coordinates p = (x, y) = (j, i), x rightward and y downward, with the centre
    c = ((W - 1) / 2, (H - 1) / 2), the input point p goes to

        p' = A (p - c) + c + t,    A = s R(theta) S,
        R(theta) = [[cos theta, sin theta], [-sin theta, cos theta]]   (anticlockwise on screen)
        S = [[1, tan phi_x], [0, 1]] [[1, 0], [tan phi_y, 1]]           (shear along x, along y)

    with theta, t = (t_x, t_y), s, phi_x and phi_y drawn per sample. Each output pixel p' reads
    the input at the inverse image p = A^-1 (p' - c - t) + c, between pixels in general, by
    bilinear interpolation of the four around it:

        x'[n, c, i', j'] = (1 - a)(1 - b) x[y0, x0] + (1 - a) b x[y0, x0 + 1]
                           + a (1 - b) x[y0 + 1, x0] + a b x[y0 + 1, x0 + 1],
        x0 = floor(x), b = x - x0, y0 = floor(y), a = y - y0,

    a pixel off the image reading ``fill``. Whole-pixel translations and rotations of square
    images by multiples of 90 degrees read the pixels exactly.

    Args:
        degrees: theta ~ U(-degrees, degrees) for a number, U(min, max) for a pair (degrees,
            positive anticlockwise as displayed, as in torchvision and np.rot90).
        translate: None, or a pair (a, b) of fractions in [0, 1]: t_x ~ U(-a W, a W) and
            t_y ~ U(-b H, b H) pixels (torchvision rounds them to whole pixels; here they stay
            real).
        scale: None (s = 1) or a pair (min, max), 0 < min <= max: s ~ U(min, max).
        shear: phi_x ~ U(-shear, shear) for a number, U(min, max) for a pair, and a 4-tuple
            (x_min, x_max, y_min, y_max) draws phi_y too; degrees in (-90, 90).
        fill: the value read off the image.
    Reference: Simard, Steinkraus & Platt, "Best practices for convolutional neural networks
    applied to visual document analysis", ICDAR 2003 (affine distortions computed by inverse
    mapping with bilinear interpolation).
    """

    def __init__(self, degrees=0, translate=None, scale=None, shear=0, fill=0.0):
        who = type(self).__name__
        self.degrees = _interval(who, "degrees", degrees, "a number >= 0 or a pair (min, max) "
                                 "of finite numbers with min <= max")  # fmt: skip
        if translate is not None and not (
            _is_pair(translate) and all(_is_real(v) and 0 <= v <= 1 for v in translate)
        ):
            raise ValueError(f"{who}: expected translate to be None or a pair (a, b) of fractions "
                             f"in [0, 1], got {translate!r}")  # fmt: skip
        self.translate = None if translate is None else tuple(float(v) for v in translate)
        self.scale = None if scale is None else _interval(
            who, "scale", scale, "None or a pair (min, max) with 0 < min <= max", low=0.0,
            symmetric=False,
        )  # fmt: skip
        expected = ("a number in [0, 90), a pair (min, max) or a 4-tuple (x_min, x_max, y_min, "
                    "y_max) of degrees in (-90, 90)")  # fmt: skip
        parts = (shear[:2], shear[2:]) if _is_pair(shear, 4) else (shear, (0.0, 0.0))
        shear_x, shear_y = (
            _interval(who, "shear", v, expected, -90, 90, shown=shear) for v in parts
        )
        self.shear = shear_x + shear_y
        self.fill = _fill(who, fill)

    def _inverse_maps(self, rng, n, H, W):
        """Per sample, A^-1 as four arrays (n,) and t = (t_x, t_y), drawn in a fixed order."""
        theta = np.deg2rad(rng.uniform(*self.degrees, n))
        a, b = (0.0, 0.0) if self.translate is None else self.translate
        t_x, t_y = rng.uniform(-a * W, a * W, n), rng.uniform(-b * H, b * H, n)
        s = rng.uniform(*((1.0, 1.0) if self.scale is None else self.scale), n)
        tan_x = np.tan(np.deg2rad(rng.uniform(*self.shear[:2], n)))
        tan_y = np.tan(np.deg2rad(rng.uniform(*self.shear[2:], n)))
        cos, sin = np.cos(theta), np.sin(theta)
        # A = s R S with S = [[1 + tan_x tan_y, tan_x], [tan_y, 1]]; det A = s^2 (det R = det S = 1)
        a00, a01 = s * (cos * (1 + tan_x * tan_y) + sin * tan_y), s * (cos * tan_x + sin)
        a10, a11 = s * (-sin * (1 + tan_x * tan_y) + cos * tan_y), s * (-sin * tan_x + cos)
        det = a00 * a11 - a01 * a10
        return (a11 / det, -a01 / det, -a10 / det, a00 / det), (t_x, t_y)

    def __call__(self, X, y, rng):
        _check_batch(type(self).__name__, X, rng)
        xp = _module_of(X)
        n, _, H, W = X.shape
        inverse, (t_x, t_y) = self._inverse_maps(rng, n, H, W)
        m00, m01, m10, m11 = (xp.asarray(m)[:, None, None] for m in inverse)
        cx, cy = (W - 1) / 2, (H - 1) / 2
        u = xp.arange(W, dtype=np.float64)[None, None, :] - cx - xp.asarray(t_x)[:, None, None]
        v = xp.arange(H, dtype=np.float64)[None, :, None] - cy - xp.asarray(t_y)[:, None, None]
        return _bilinear(X, m00 * u + m01 * v + cx, m10 * u + m11 * v + cy, self.fill), y

    def __repr__(self):
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear}, fill={self.fill})")  # fmt: skip


class RandomRotation(RandomAffine):
    """A random rotation about the image centre per sample, RandomAffine's rotation alone:

        p' = R(theta) (p - c) + c,   theta ~ U(-degrees, degrees)  (or U(min, max) for a pair)

    in degrees, positive anticlockwise as displayed (see RandomAffine for R, the centre c and
    the bilinear interpolation). ``RandomRotation((90, 90))`` of square images is np.rot90.

    Reference: Simard, Steinkraus & Platt, "Best practices for convolutional neural networks
    applied to visual document analysis", ICDAR 2003.
    """

    def __init__(self, degrees, fill=0.0):
        super().__init__(degrees, fill=fill)

    def __repr__(self):
        return f"RandomRotation(degrees={self.degrees}, fill={self.fill})"


class BrightnessJitter:
    """Shift each image's brightness by an offset drawn per sample,

        x'[n] = x[n] + b_n,   b_n ~ U(-delta, delta)

    the same b_n for every channel and pixel of sample n, then clip to [lo, hi] if ``clip``
    is given (the mean moves by b_n, the standard deviation stays, before clipping).

    Reference: Howard, "Some improvements on deep convolutional neural network based image
    classification", arXiv:1312.5402, 2013 (random brightness, contrast and colour).
    """

    def __init__(self, delta, clip=None):
        if not (_is_real(delta) and 0 <= delta < math.inf):
            raise ValueError(f"BrightnessJitter: expected delta to be a finite number >= 0, got "
                             f"{delta!r}")  # fmt: skip
        self.delta, self.clip = float(delta), _clip("BrightnessJitter", clip)

    def __call__(self, X, y, rng):
        _check_batch("BrightnessJitter", X, rng)
        xp = _module_of(X)
        out = X + _per_sample(xp, rng.uniform(-self.delta, self.delta, len(X)), X.dtype)
        return (out if self.clip is None else xp.clip(out, *self.clip, out=out)), y

    def __repr__(self):
        return f"BrightnessJitter(delta={self.delta}, clip={self.clip})"


class ContrastJitter:
    """Scale each image's deviations from its own mean by a factor drawn per sample,

        x'[n] = (x[n] - m_n) c_n + m_n,   c_n ~ U(low, high)

    with m_n the mean of sample n over its channels and pixels: the mean stays, the standard
    deviation is multiplied by c_n (before clipping to ``clip``, if given). torchvision's
    ColorJitter takes the mean of the greyscale image instead (the same for one channel).

    Reference: Howard, "Some improvements on deep convolutional neural network based image
    classification", arXiv:1312.5402, 2013.
    """

    def __init__(self, low, high, clip=None):
        if not (_is_real(low) and _is_real(high) and 0 <= low <= high < math.inf):
            raise ValueError(f"ContrastJitter: expected 0 <= low <= high < inf, got low={low!r}, "
                             f"high={high!r}")  # fmt: skip
        self.low, self.high = float(low), float(high)
        self.clip = _clip("ContrastJitter", clip)

    def __call__(self, X, y, rng):
        _check_batch("ContrastJitter", X, rng)
        xp = _module_of(X)
        c = _per_sample(xp, rng.uniform(self.low, self.high, len(X)), X.dtype)
        mean = X.mean(axis=(1, 2, 3), keepdims=True)
        out = (X - mean) * c + mean
        return (out if self.clip is None else xp.clip(out, *self.clip, out=out)), y

    def __repr__(self):
        return f"ContrastJitter(low={self.low}, high={self.high}, clip={self.clip})"


class Compose:
    """Transforms applied in order, all drawing from the trainer's rng:

        (X, y) := t_k(... t_2(t_1(X, y, rng), rng) ..., rng)

    ``Compose(RandomCrop(28, padding=2), RandomRotation(10), AdditiveNoise(0.05))``; a single
    list or tuple of transforms is taken as well. Any callable augment(X, y, rng) -> (X, y) can
    be a step (Mixup too, best last).
    """

    def __init__(self, *transforms):
        if len(transforms) == 1 and isinstance(transforms[0], (list, tuple)):
            transforms = tuple(transforms[0])
        if not transforms:
            raise ValueError("Compose: expected at least one transform, got none")
        for k, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(f"Compose: expected callables augment(X, y, rng) -> (X, y), got "
                                f"{transform!r} at position {k}")  # fmt: skip
        self.transforms = tuple(transforms)

    def __call__(self, X, y, rng):
        for transform in self.transforms:
            X, y = transform(X, y, rng)
        return X, y

    def __repr__(self):
        return f"Compose({', '.join(map(repr, self.transforms))})"
