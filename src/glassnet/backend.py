"""The array module and the dtype policy: the one place that chooses NumPy (or, later, CuPy).

Every op reaches arrays through ``xp`` and uses only functions that CuPy also provides, so a
GPU backend is a change to this file, not to the ops.
"""

import numpy as np

__all__ = ["xp", "default_dtype", "set_default_dtype", "as_rng", "is_floating"]

xp = np
_default_dtype = np.dtype(np.float32)


def default_dtype():
    """The dtype that new parameters and converted inputs get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the dtype of new parameters and converted inputs: float32 or float64."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _default_dtype = dtype


def is_floating(array):
    """True when ``array`` holds floating-point numbers."""
    return np.issubdtype(array.dtype, np.floating)


def as_rng(seed):
    """A ``numpy.random.Generator`` from an int, a Generator or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise TypeError(f"as_rng: expected an int, a numpy.random.Generator or None, got {seed!r}")
