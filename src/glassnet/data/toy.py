"""Small synthetic data sets: logic gates, moons, circles, blobs, the two spirals, a noisy sine.

Classification sets return ``(X, y)`` with ``X`` float32 of shape (n, d) and ``y`` int64 of
shape (n,); the regression set returns ``y`` float32 of shape (n,). Every random set takes
``seed: int | Generator | None``; the same seed gives the same points.
"""

import math

import numpy as np

from ..backend import as_rng

__all__ = [
    "and_gate",
    "blobs",
    "circles",
    "noisy_sine",
    "or_gate",
    "two_moons",
    "two_spirals",
    "xor",
]

_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


def _gate(outputs):
    return _CORNERS.copy(), np.array(outputs, dtype=np.int64)


def xor():
    """The four patterns of exclusive or, y = x1 xor x2, which no single-layer perceptron learns.

    Returns:
        ``(X, y)``: X float32 (4, 2) with rows 00, 01, 10, 11; y int64 (4,) = [0, 1, 1, 0].

    Reference:
        M. Minsky, S. Papert, Perceptrons (MIT Press, 1969); D. E. Rumelhart, G. E. Hinton,
        R. J. Williams, Learning representations by back-propagating errors, Nature 323 (1986).

    Examples:
        >>> X, y = xor()
        >>> X.shape, y.tolist()
        ((4, 2), [0, 1, 1, 0])
    """
    return _gate([0, 1, 1, 0])


def and_gate():
    """The four patterns of logical and, y = x1 and x2 (linearly separable).

    Returns:
        ``(X, y)``: X float32 (4, 2) with rows 00, 01, 10, 11; y int64 (4,) = [0, 0, 0, 1].
    """
    return _gate([0, 0, 0, 1])


def or_gate():
    """The four patterns of logical or, y = x1 or x2 (linearly separable).

    Returns:
        ``(X, y)``: X float32 (4, 2) with rows 00, 01, 10, 11; y int64 (4,) = [0, 1, 1, 1].
    """
    return _gate([0, 1, 1, 1])


def _check_count(who, name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: expected {name} to be an integer >= {minimum}, got {value!r}")


def _check_noise(who, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value >= 0:
        raise ValueError(f"{who}: expected {name} to be a number >= 0, got {value!r}")


def _shuffled(rng, X, y):
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def two_moons(n=1000, noise=0.1, seed=None):
    """Two interleaving half circles, as scikit-learn's ``make_moons``.

    The upper moon (class 0) is (cos t, sin t) and the lower one (class 1) is
    (1 - cos t, 0.5 - sin t), t evenly spaced in [0, pi]; Gaussian noise of standard deviation
    ``noise`` is added to both coordinates, and the rows are shuffled.

    Args:
        n: number of points, at least 2; the upper moon gets ``ceil(n / 2)``.
        noise: standard deviation of the Gaussian noise (0 for exact curves).
        seed: int, ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(X, y)``: X float32 (n, 2), y int64 (n,) in {0, 1}.

    Raises:
        ValueError: ``n`` is not an integer >= 2 or ``noise`` is negative.

    Reference:
        F. Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12 (2011),
        ``sklearn.datasets.make_moons``.
    """
    _check_count("two_moons", "n", n, 2)
    _check_noise("two_moons", "noise", noise)
    rng = as_rng(seed)
    n_upper = n - n // 2
    t_upper, t_lower = np.linspace(0.0, math.pi, n_upper), np.linspace(0.0, math.pi, n // 2)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.vstack([upper, lower]) + rng.normal(0.0, float(noise), (n, 2))
    y = np.r_[np.zeros(n_upper), np.ones(n // 2)]
    return _shuffled(rng, X, y)


def circles(n=1000, noise=0.05, factor=0.5, seed=None):
    """A small circle (class 1) inside a large one (class 0), as scikit-learn's ``make_circles``.

    The outer circle has radius 1 and the inner one radius ``factor``; the angles are evenly
    spaced in [0, 2 pi), Gaussian noise of standard deviation ``noise`` is added, and the rows
    are shuffled.

    Args:
        n: number of points, at least 2; the outer circle gets ``ceil(n / 2)``.
        noise: standard deviation of the Gaussian noise.
        factor: radius of the inner circle relative to the outer one, in (0, 1).
        seed: int, ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(X, y)``: X float32 (n, 2), y int64 (n,) in {0, 1}.

    Raises:
        ValueError: ``n`` is not an integer >= 2, ``noise`` is negative or ``factor`` is
            outside (0, 1).

    Reference:
        F. Pedregosa et al., JMLR 12 (2011), ``sklearn.datasets.make_circles``.
    """
    _check_count("circles", "n", n, 2)
    _check_noise("circles", "noise", noise)
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float, np.number))
        or not 0 < factor < 1
    ):
        raise ValueError(f"circles: expected factor in (0, 1), got {factor!r}")
    rng = as_rng(seed)
    n_outer = n - n // 2
    t_outer = np.linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * math.pi, n // 2, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = float(factor) * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.vstack([outer, inner]) + rng.normal(0.0, float(noise), (n, 2))
    y = np.r_[np.zeros(n_outer), np.ones(n // 2)]
    return _shuffled(rng, X, y)


def blobs(n=300, centers=3, n_features=2, std=1.0, seed=None):
    """Isotropic Gaussian clusters, as scikit-learn's ``make_blobs``.

    The cluster centres are drawn uniformly from [-10, 10] in every feature; point i belongs
    to cluster ``i % centers`` (so the sizes differ by at most one) and is drawn from
    N(centre, std^2 I); the rows are shuffled.

    Args:
        n: number of points.
        centers: number of clusters (= classes).
        n_features: dimension of the points.
        std: standard deviation of every cluster.
        seed: int, ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(X, y)``: X float32 (n, n_features), y int64 (n,) in 0..centers-1.

    Raises:
        ValueError: ``n``, ``centers`` or ``n_features`` is not a positive integer, or ``std``
            is negative.

    Reference:
        F. Pedregosa et al., JMLR 12 (2011), ``sklearn.datasets.make_blobs``.
    """
    for name, value in (("n", n), ("centers", centers), ("n_features", n_features)):
        _check_count("blobs", name, value)
    _check_noise("blobs", "std", std)
    rng = as_rng(seed)
    means = rng.uniform(-10.0, 10.0, (centers, n_features))
    y = np.arange(n) % centers
    X = means[y] + rng.normal(0.0, float(std), (n, n_features))
    return _shuffled(rng, X, y)


def two_spirals(seed=None):
    """The two-spirals benchmark of Lang and Witbrock: 194 points on two interlocked spirals.

    Point i of spiral 0, for i = 0..96 (the benchmark's generating program)::

        angle = i * pi / 16,  radius = 6.5 * (104 - i) / 104
        (x, y) = (radius * sin(angle), radius * cos(angle))

    and spiral 1 is its negation (-x, -y). Without a seed the rows keep the classic order:
    row 2i is point i of spiral 0 and row 2i + 1 its negation. No noise is added.

    Args:
        seed: None for the classic order, or an int / ``numpy.random.Generator`` to permute
            the rows with it (the points themselves never change).

    Returns:
        ``(X, y)``: X float32 (194, 2) with coordinates in [-6.5, 6.5], y int64 (194,) with
        97 points of each class.

    Reference:
        K. J. Lang, M. J. Witbrock, Learning to tell two spirals apart, Proceedings of the
        1988 Connectionist Models Summer School (Morgan Kaufmann), 52-59; the CMU neural
        network benchmark collection (S. E. Fahlman).
    """
    i = np.arange(97)
    angle, radius = i * math.pi / 16, 6.5 * (104 - i) / 104
    spiral = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    X = np.empty((194, 2))
    X[0::2], X[1::2] = spiral, -spiral
    y = np.tile([0, 1], 97)
    if seed is None:
        return X.astype(np.float32), y.astype(np.int64)
    return _shuffled(as_rng(seed), X, y)


def noisy_sine(n=200, noise=0.1, seed=None):
    """A one-dimensional regression task: y = sin(x) + N(0, noise^2), x evenly spaced on [-pi, pi].

    Args:
        n: number of points, at least 2 (the ends -pi and pi are included).
        noise: standard deviation of the Gaussian noise added to sin(x).
        seed: int, ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(X, y)``: X float32 (n, 1), y float32 (n,).

    Raises:
        ValueError: ``n`` is not an integer >= 2 or ``noise`` is negative.

    Reference:
        C. M. Bishop, Pattern Recognition and Machine Learning (Springer, 2006), section 1.1
        (curve fitting to a noisy sinusoid).
    """
    _check_count("noisy_sine", "n", n, 2)
    _check_noise("noisy_sine", "noise", noise)
    x = np.linspace(-math.pi, math.pi, n)
    y = np.sin(x) + as_rng(seed).normal(0.0, float(noise), n)
    return x[:, None].astype(np.float32), y.astype(np.float32)
