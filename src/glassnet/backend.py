"""The array module and the dtype policy: the one place that chooses NumPy or CuPy.

Every op reaches arrays through ``xp`` and uses only functions that CuPy also provides, so the
GPU is a call to ``use("cupy")``, not a change to the ops (``tests/test_backend.py`` runs the
op spec table through a namespace that holds only such functions).

``xp`` is one namespace object that every module imports once (``from ..backend import xp``).
``use(name)`` refills that same object in place with the public attributes of the chosen array
module, so every importer sees the switch, and ``xp.tanh`` costs one module-dict lookup, as
``np.tanh`` does. Switch before building models: ``use`` refuses while tensors whose arrays
belong to another backend are alive, since mixing host and device arrays fails later, far from
the cause. Tensors are found by a scan of the garbage collector's objects at ``use`` time, so
tensors pay nothing for the check.

What a backend must provide:
    - the NumPy functions the ops use (the list in ``tests/test_backend.py``), ``ndarray`` and
      the NumPy scalar types (``float32``, ``floating``, ...), and ``add.at`` for scatters;
    - ``asarray`` (host to device) and, for a device backend, ``asnumpy`` (device to host);
    - a generator on the device for per-batch noise (``random.RandomState`` for CuPy).

Randomness: seeds stay ``int | numpy.random.Generator | None`` and ``as_rng`` returns a NumPy
Generator. Weights are drawn on the host from it, so a seed gives the same network on every
backend; per-batch noise (dropout masks, Gaussian noise) is drawn on the device by ``uniform``
and ``normal``, which on NumPy are exactly the Generator's own draws.

Host arrays appear only at the public boundaries: ``Module.predict`` returns NumPy arrays,
``io.save`` writes them, metrics compute on them (``to_host``); ``to_device`` goes the other way.
CuPy 14 or newer is needed (``put_along_axis``).

The host's resources: ``retain_freed_memory`` (the C allocator keeps freed arrays for reuse)
and ``threads`` (OpenBLAS held at one thread while ops such as the convolutions split their
own work over threads, each on memory of its own; ``split`` runs the parts).
"""

import concurrent.futures
import contextlib
import ctypes
import gc
import glob
import os
import platform
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "xp", "use", "name", "to_host", "to_device", "uniform", "normal",
    "default_dtype", "set_default_dtype", "as_rng", "is_floating", "retain_freed_memory",
    "blas_threads", "threads", "Threads", "workers", "split",
]  # fmt: skip

xp = types.ModuleType("glassnet.backend.xp", "The active array module (see glassnet.backend).")
_KEEP = ("__name__", "__doc__")  # xp's own identity survives a refill
_name = None
_device_rng = None  # host Generator -> device generator; None: draw on the host (NumPy)
_default_dtype = np.dtype(np.float32)


def _load_numpy():
    return np, None


def _load_cupy():
    try:
        import cupy
    except ImportError as error:
        raise ImportError(
            f"backend.use: expected the cupy package for use('cupy'), got an ImportError "
            f"({error}); install it with `pip install cupy-cuda12x` (for CUDA 12; "
            "cupy-cuda11x for CUDA 11)"
        ) from error
    if not cupy.is_available():
        raise RuntimeError("backend.use: expected a CUDA device for use('cupy'), got none")
    # One fresh device generator per draw, seeded from the host Generator: deterministic for a
    # seed, and no state to keep per Generator (NumPy Generators take no weak references).
    # Philox seeds without a set-up kernel, so a generator per batch is cheap.
    method = getattr(cupy.cuda.curand, "CURAND_RNG_PSEUDO_PHILOX4_32_10", 100)  # 100: default

    def device_rng(rng):
        return cupy.random.RandomState(int(rng.integers(2**63)), method=method)

    return cupy, device_rng


# name -> loader returning (array module, device_rng or None); tests add fakes here
_LOADERS = {"numpy": _load_numpy, "cupy": _load_cupy}


def _install(namespace, label, device_rng=None):
    """Refill ``xp`` in place from the public attributes of ``namespace`` (any module-like
    object); names it resolves lazily (``numpy.testing``) are forwarded on first access."""
    global _name, _device_rng
    kept = {key: xp.__dict__[key] for key in _KEEP}
    public = {key: value for key, value in vars(namespace).items() if not key.startswith("_")}

    def __getattr__(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)  # import machinery and inspect probe dunders; never forward
        try:
            return getattr(namespace, attr)
        except AttributeError:
            raise AttributeError(f"xp: expected a function of the {label} backend, got {attr!r}, "
                                 "which it does not provide") from None  # fmt: skip

    xp.__dict__.clear()
    xp.__dict__.update(kept, **public)
    xp.__getattr__ = __getattr__  # PEP 562: consulted only when the dict has no such name
    _name, _device_rng = label, device_rng


def _foreign_tensors(ndarray):
    """How many live Tensors hold data that is not an instance of ``ndarray``."""
    tensor_module = sys.modules.get("glassnet.autodiff.tensor")  # not imported: no tensors yet
    if tensor_module is None:
        return 0
    gc.collect()  # tensors kept only by garbage cycles are not alive
    tensor_class = tensor_module.Tensor
    # type(), not isinstance(): isinstance also reads obj.__class__, which some proxies
    # (deprecated torch names) answer with a warning
    live = (obj for obj in gc.get_objects() if issubclass(type(obj), tensor_class))
    return sum(1 for tensor in live if not isinstance(tensor.data, ndarray))


def use(backend):
    """Switch the array module of every glassnet module to ``backend``: "numpy" or "cupy".

    Call it before building models: the arrays of existing tensors are not moved.

    Args:
        backend: "numpy" or "cupy".
    Returns:
        The name of the backend that was active before.
    Raises:
        ValueError: an unknown name.
        ImportError: "cupy" without CuPy installed (it names the pip package).
        RuntimeError: tensors with arrays of another backend are alive, or CuPy sees no GPU.
    """
    if backend not in _LOADERS:
        choices = ", ".join(map(repr, _LOADERS))
        raise ValueError(f"backend.use: expected one of {choices}, got {backend!r}")
    previous = _name
    if backend == previous:
        return previous
    module, device_rng = _LOADERS[backend]()
    count = _foreign_tensors(module.ndarray)
    if count:
        raise RuntimeError(
            f"backend.use: expected no live tensors of another backend when switching from "
            f"{previous!r} to {backend!r}, got {count}; delete them (models, optimizers, tensors) "
            f"or call use({backend!r}) before building models"
        )
    _install(module, backend, device_rng)
    return previous


def name():
    """The name of the active backend: "numpy" or "cupy"."""
    return _name


def to_host(array):
    """``array`` as a NumPy array in host memory (no copy when it already is one)."""
    asnumpy = xp.__dict__.get("asnumpy")  # device backends only
    return np.asarray(array) if asnumpy is None else asnumpy(array)


def to_device(array, dtype=None):
    """``array`` (any array-like) as an array of the active backend, optionally of ``dtype``."""
    return xp.asarray(array, dtype=dtype)


def uniform(rng, shape, dtype):
    """Uniform draws in [0, 1) of ``shape`` and floating ``dtype``, on the active device.

    On NumPy this is ``rng.random(shape, dtype=dtype)`` exactly; on CuPy a device generator
    seeded from ``rng`` draws them, so a seed still fixes the result.

    Args:
        rng: a ``numpy.random.Generator`` (see ``as_rng``). shape: tuple of ints.
        dtype: float32 or float64.
    """
    if _device_rng is None:
        return rng.random(shape, dtype=dtype)
    return _device_rng(rng).random_sample(shape, dtype=dtype)


def normal(rng, shape, dtype, scale=1.0):
    """Draws from N(0, scale^2) of ``shape`` and ``dtype``, on the active device.

    On NumPy this is ``rng.normal(0.0, scale, shape).astype(dtype)`` exactly (float64 draws,
    then cast); on CuPy a device generator seeded from ``rng`` draws them in ``dtype``.
    """
    if _device_rng is None:
        return rng.normal(0.0, scale, shape).astype(dtype)
    return _device_rng(rng).normal(0.0, scale, shape, dtype=dtype)


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


# ---- the host allocator -----------------------------------------------------------------------

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc refuses larger (HEAP_MAX_SIZE / 2 on 64-bit)
_GLIBC_DEFAULT = 128 << 10
_retained = None  # bytes set by retain_freed_memory; None: never called


def retain_freed_memory(nbytes=256 << 20):
    """Let the C allocator keep up to ``nbytes`` of freed memory for reuse (glibc only).

    Every training step allocates and frees the same large arrays (activations, im2col
    columns, deltas). By default glibc gives memory at the top of its heap back to the system
    once more than a few MiB are free, and serves arrays larger than its (adaptive) threshold
    by a fresh ``mmap``; either way the next step touches new pages, and the kernel zeroes
    each 4 KiB page on its first touch. For LeNet-5 at batch 64 that is about 2,300 page
    faults, 9 MiB zeroed, per step: 40-60% of the step's time. This call raises glibc's trim
    threshold to ``nbytes`` and its mmap threshold to min(nbytes, 32 MiB) (``mallopt``), so
    freed arrays are reused in place: the process keeps up to ``nbytes`` of freed memory
    instead of returning it to the system at once (what jemalloc or tcmalloc, which PyTorch
    users preload for the same reason, also do). ``Trainer`` calls it once with the default
    unless it was called before, so ``retain_freed_memory(0)`` before training keeps glibc's
    own behaviour (its static 128 KiB thresholds).

    Args:
        nbytes: a non-negative int; 0 restores glibc's default thresholds.
    Returns:
        True when the thresholds were set; False where the C library is not glibc (macOS,
        Windows, musl), which have their own allocators, and nothing was changed.
    """
    global _retained
    if not isinstance(nbytes, (int, np.integer)) or isinstance(nbytes, bool) or nbytes < 0:
        raise ValueError(f"retain_freed_memory: expected a non-negative int of bytes, got "
                         f"{nbytes!r}")  # fmt: skip
    nbytes = int(nbytes)
    _retained = nbytes
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    trim = nbytes if nbytes else _GLIBC_DEFAULT
    mmap = min(nbytes, _MMAP_THRESHOLD_MAX) if nbytes else _GLIBC_DEFAULT
    return bool(mallopt(_M_TRIM_THRESHOLD, min(trim, 2**31 - 1)) and
                mallopt(_M_MMAP_THRESHOLD, mmap))  # fmt: skip


def _retain_for_training():
    """``retain_freed_memory()`` once, unless the user has chosen (see there)."""
    if _retained is None:
        retain_freed_memory()


# ---- threads: the BLAS's, and the ops' own ----------------------------------------------------

# OpenBLAS's thread count, through the names its builds export: NumPy's wheels bundle
# scipy-openblas (symbols with a suffix), distributions link a plain libopenblas.
_BLAS_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
               ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
               ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
               ("openblas_get_num_threads", "openblas_set_num_threads"))  # fmt: skip
_blas = None  # (get, set) of the loaded OpenBLAS; False where none was found
_inside = None  # the Threads of the ``threads`` being run (its n: the ops' threads), or None
_owner = None  # the thread that entered it: the only one whose ops split their work
_pool = None  # the ThreadPoolExecutor of the threads beyond the calling one
_pool_size = 0  # its number of threads
_pool_lock = threading.Lock()


def _loaded_libraries():
    """Paths of the shared libraries this process has loaded whose name says OpenBLAS (from
    /proc/self/maps on Linux; elsewhere NumPy's bundled copy)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        root = os.path.dirname(os.path.dirname(np.__file__))
        paths = set(glob.glob(os.path.join(root, "numpy.libs", "*openblas*")) +
                    glob.glob(os.path.join(root, "numpy", ".dylibs", "*openblas*")))  # fmt: skip
    return sorted(p for p in paths if os.path.isfile(p))


def _blas_functions():
    """(get, set) of the OpenBLAS NumPy uses, or False where there is none to control."""
    global _blas
    if _blas is None:
        _blas = False
        for path in _loaded_libraries():
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            for get, put in _BLAS_NAMES:
                if hasattr(library, get) and hasattr(library, put):
                    get, put = getattr(library, get), getattr(library, put)
                    get.restype, get.argtypes = ctypes.c_int, ()
                    put.restype, put.argtypes = None, (ctypes.c_int,)
                    _blas = (get, put)
                    return _blas
    return _blas


def blas_threads():
    """The number of threads OpenBLAS runs a matrix product on now, or None where NumPy's
    BLAS is not an OpenBLAS this module can find (see ``threads``)."""
    functions = _blas_functions()
    return functions[0]() if functions else None


def workers():
    """The threads an op may split its own work over now: 1, except inside ``threads`` (on
    the thread that entered it)."""
    return _inside.n if _inside is not None and _owner == threading.get_ident() else 1


class Threads:
    """What ``with threads() as t`` gives: ``t.n`` threads, and ``t.splits``, the number of
    times an op split its work over them so far (0: the BLAS's own threads would have served
    as well, see ``Trainer``)."""

    __slots__ = ("n", "splits")

    def __init__(self, n):
        self.n, self.splits = n, 0


@contextlib.contextmanager
def threads(n=None):
    """Within it, the ops that split their own work run it on ``n`` threads, and the BLAS
    runs each product on one.

    Why: on a machine whose cores share no cache, every array that the main thread writes
    while OpenBLAS's other threads have just read it waits on those cores (this project's
    2-core machines take that placement from time to time; a convolution's strips then took
    several times as long to fill). A convolution split by output rows, each thread filling
    and multiplying its own strips with a one-thread BLAS, touches no memory another thread
    touches (the static partition oneDNN uses for PyTorch's convolutions). ``Trainer``,
    ``Module.predict`` and ``evaluate`` enter it for models with convolution layers
    (``Module.uses_threads``); other models keep the BLAS's own threads, which are faster for
    one large product. ``benchmarks/bench_threads.py`` compares the two.

    Args:
        n: the number of threads; None: as many as the BLAS uses now, at most the CPUs this
            process may run on (1 where the BLAS cannot be controlled: nothing changes).
    Yields:
        a ``Threads`` (None inside an outer entry, whose choice is kept, on a thread other
        than the main one, and on a device backend: there nothing changes).
    Results are deterministic for a given n; a weight gradient is summed over the threads'
    parts in a fixed order, so its last bits depend on n.
    """
    global _owner, _inside
    if n is not None and (not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1):
        raise ValueError(f"threads: expected a positive int or None, got {n!r}")
    if (_owner is not None or threading.current_thread() is not threading.main_thread()
            or _name != "numpy"):  # fmt: skip
        # inside an outer one, on a thread of the user's own, or on a device (whose kernels
        # are not the host's to split): things stay as they are
        yield None
        return
    functions = _blas_functions()
    before = functions[0]() if functions else None
    if n is None:
        n = 1 if before is None else max(1, min(before, _cpus()))
    if n > 1 and functions:
        functions[1](1)
    _owner, _inside = threading.get_ident(), Threads(int(n))
    try:
        yield _inside
    finally:
        _owner, _inside = None, None
        if n > 1 and functions:
            functions[1](before)


def _forget_pool():
    """In a forked child: the pool's threads stayed in the parent, so a new pool is made."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def split(work, parts):
    """[work(0), ..., work(parts - 1)], each part on a thread of its own: part 0 on the
    calling thread, the others on a pool kept for the process. An exception in a part is
    raised here once all parts have finished."""
    global _pool, _pool_size
    if not isinstance(parts, (int, np.integer)) or isinstance(parts, bool) or parts < 1:
        raise ValueError(f"split: expected parts as a positive int, got {parts!r}")
    if parts == 1:
        return [work(0)]
    if _inside is not None and _owner == threading.get_ident():
        _inside.splits += 1
    with _pool_lock:
        if _pool is None or _pool_size < parts - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(parts - 1, thread_name_prefix="glassnet")
            _pool_size = parts - 1
    futures = [_pool.submit(work, p) for p in range(1, parts)]
    try:
        first = work(0)
    finally:
        concurrent.futures.wait(futures)
    return [first, *(f.result() for f in futures)]


_install(np, "numpy")
