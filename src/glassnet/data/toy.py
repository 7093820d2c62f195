"""Toy data sets for first experiments: logic gates, moons, circles, blobs, two spirals, a sine.

Classification sets return ``(X, y)`` with X float32 (n, d) and y int64 labels (n,);
regression sets return y float32 (n,). Random sets take ``seed`` (int or Generator).
"""

import math

import numpy as np

from ..backend import as_rng

__all__ = ["xor", "and_gate", "or_gate", "two_moons", "circles", "blobs", "two_spirals", "noisy_sine"]

_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)


def _check_n(who, n, minimum=1):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{who}: expected n to be an integer >= {minimum}, got {n!r}")


def xor():
    """The four XOR patterns: y = x1 xor x2 (not linearly separable; Minsky & Papert 1969)."""
    return _CORNERS.copy(), np.array([0, 1, 1, 0], dtype=np.int64)


def and_gate():
    """The four AND patterns: y = x1 and x2 (linearly separable)."""
    return _CORNERS.copy(), np.array([0, 0, 0, 1], dtype=np.int64)


def or_gate():
    """The four OR patterns: y = x1 or x2 (linearly separable)."""
    return _CORNERS.copy(), np.array([0, 1, 1, 1], dtype=np.int64)


def two_moons(n=1000, noise=0.1, seed=None):
    """Two interleaving half circles (as scikit-learn's make_moons), Gaussian noise of std
    ``noise``; class 0 is the upper moon. Samples are shuffled."""
    _check_n("two_moons", n, 2)
    rng = as_rng(seed)
    n_upper = n // 2 + n % 2
    t_upper, t_lower = np.linspace(0, math.pi, n_upper), np.linspace(0, math.pi, n // 2)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.vstack([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    y = np.r_[np.zeros(n_upper), np.ones(n // 2)]
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order].astype(np.int64)


def circles(n=1000, noise=0.05, factor=0.5, seed=None):
    """A small circle (class 1, radius ``factor``) inside a large one (class 0, radius 1)."""
    _check_n("circles", n, 2)
    if not 0 < factor < 1:
        raise ValueError(f"circles: expected factor in (0, 1), got {factor!r}")
    rng = as_rng(seed)
    n_outer = n // 2 + n % 2
    t_outer = np.linspace(0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0, 2 * math.pi, n // 2, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.vstack([outer, inner]) + rng.normal(0.0, noise, (n, 2))
    y = np.r_[np.zeros(n_outer), np.ones(n // 2)]
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order].astype(np.int64)


def blobs(n=300, centers=3, n_features=2, std=1.0, seed=None):
    """Isotropic Gaussian blobs around ``centers`` random centres in [-10, 10]^d."""
    _check_n("blobs", n)
    _check_n("blobs (centers)", centers)
    rng = as_rng(seed)
    means = rng.uniform(-10, 10, (centers, n_features))
    y = np.arange(n) % centers
    X = means[y] + rng.normal(0.0, std, (n, n_features))
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order].astype(np.int64)


def two_spirals(seed=None):
    """The two-spirals benchmark (Lang & Witbrock 1988): 194 points, 97 per spiral.

    Point i of spiral 0 (i = 0..96): angle = i pi / 16, radius = 6.5 (104 - i) / 104,
    (x, y) = (radius sin(angle), radius cos(angle)); spiral 1 is its negation. With a
    ``seed`` the rows are shuffled; without, they come in the classic order (alternating).
    """
    i = np.arange(97)
    angle, radius = i * math.pi / 16, 6.5 * (104 - i) / 104
    spiral = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    X = np.empty((194, 2))
    X[0::2], X[1::2] = spiral, -spiral
    y = np.tile([0, 1], 97)
    if seed is not None:
        order = as_rng(seed).permutation(194)
        X, y = X[order], y[order]
    return X.astype(np.float32), y.astype(np.int64)


def noisy_sine(n=200, noise=0.1, seed=None):
    """Regression: x evenly spaced on [-pi, pi] (as a column), y = sin(x) + N(0, noise^2)."""
    _check_n("noisy_sine", n)
    x = np.linspace(-math.pi, math.pi, n)
    y = np.sin(x) + as_rng(seed).normal(0.0, noise, n)
    return x[:, None].astype(np.float32), y.astype(np.float32)
