"""The backend switch (``glassnet.backend.use``) and the CuPy contract of the ops.

The contract test runs the op spec table (tests/ops/specs.py: forward, backward and jvp of every
spec) with ``xp`` holding only the functions CuPy provides (``CUPY_FUNCTIONS``), so an op that
reaches for a NumPy function CuPy lacks fails on the CPU, in CI, without a GPU.
"""

import ast
import gc
import importlib
import importlib.util
import os
import platform
import re
import signal
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import backend, nn, ops
from glassnet.autodiff import jvp
from glassnet.backend import xp
from tests.ops.specs import SPECS

SRC = Path(__file__).resolve().parents[1] / "src" / "glassnet"

# Functions CuPy provides: the public names of CuPy's top-level namespace that NumPy also has,
# read from cupy/__init__.py (CuPy 14 / 15.0.0a1; put_along_axis and cumulative_sum need 14).
# Where cupy imports, test_the_list_is_what_numpy_and_cupy_provide checks it against CuPy.
CUPY_FUNCTIONS = frozenset("""
    abs absolute acos acosh add all allclose amax amin angle any append apply_along_axis
    apply_over_axes arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin
    argpartition argsort argwhere around array array2string array_equal array_equiv array_repr
    array_split array_str asanyarray asarray asarray_chkfinite ascontiguousarray asfortranarray
    asin asinh astype atan atanh atleast_1d atleast_2d atleast_3d average bartlett base_repr
    binary_repr bincount bitwise_and bitwise_count bitwise_invert bitwise_left_shift bitwise_not
    bitwise_or bitwise_right_shift bitwise_xor blackman bool bool_ broadcast broadcast_arrays
    broadcast_to byte c_ can_cast cbrt cdouble ceil choose clip column_stack common_type
    complex128 complex64 complexfloating compress concat concatenate conj conjugate convolve
    copy copysign copyto corrcoef correlate cos cosh count_nonzero cov cross csingle cumprod
    cumsum cumulative_prod cumulative_sum deg2rad degrees delete diag diag_indices
    diag_indices_from diagflat diagonal diff digitize divide divmod dot double dsplit dstack
    dtype e ediff1d einsum empty empty_like equal euler_gamma exp exp2 expand_dims expm1 extract
    eye fabs fill_diagonal finfo fix flatiter flatnonzero flip fliplr flipud float16 float32
    float64 float_power floating floor floor_divide fmax fmin fmod format_float_positional
    format_float_scientific frexp from_dlpack frombuffer fromfile fromfunction fromiter
    fromstring full full_like gcd generic genfromtxt get_printoptions gradient greater
    greater_equal half hamming hanning heaviside histogram histogram2d histogramdd hsplit hstack
    hypot i0 identity iinfo imag index_exp indices inexact inf inner int16 int32 int64 int8 int_
    intc integer interp intersect1d intp invert isclose iscomplex iscomplexobj isdtype isfinite
    isfortran isin isinf isnan isneginf isposinf isreal isrealobj isscalar issubdtype iterable
    ix_ kaiser kron lcm ldexp left_shift less less_equal lexsort linspace load loadtxt log log10
    log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logspace
    longlong mask_indices matmul matrix_transpose max maximum may_share_memory mean median
    meshgrid mgrid min min_scalar_type minimum mintypecode mod modf moveaxis multiply nan
    nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin nanprod
    nanstd nansum nanvar ndarray ndim ndindex negative newaxis nextafter nonzero not_equal
    number ogrid ones ones_like outer packbits pad partition percentile permute_dims pi
    piecewise place poly poly1d polyadd polyfit polymul polysub polyval positive pow power
    printoptions prod promote_types ptp put put_along_axis putmask quantile r_ rad2deg radians
    ravel ravel_multi_index real real_if_close reciprocal remainder repeat require reshape
    resize result_type right_shift rint roll rollaxis roots rot90 round row_stack s_ save
    savetxt savez savez_compressed searchsorted select set_printoptions setdiff1d setxor1d shape
    shares_memory short show_config sign signbit signedinteger sin sinc single sinh size sort
    sort_complex split sqrt square squeeze stack std subtract sum swapaxes take take_along_axis
    tan tanh tensordot tile trace transpose trapezoid tri tril tril_indices tril_indices_from
    trim_zeros triu triu_indices triu_indices_from true_divide trunc typename ubyte ufunc uint
    uint16 uint32 uint64 uint8 uintc uintp ulonglong union1d unique unique_all unique_counts
    unique_inverse unique_values unpackbits unravel_index unsignedinteger unwrap ushort vander
    var vdot vectorize vsplit vstack where zeros zeros_like
""".split())  # fmt: skip  # noqa: SIM905 (413 names read better as text)

# The ufunc methods CuPy implements (cupy/_core/_kernel.pyx: ``at`` only where the ufunc has a
# scatter op, ``reduce`` / ``accumulate`` only for add and multiply). Any other method fails.
CUPY_UFUNC_METHODS = frozenset({
    "add.at", "subtract.at", "add.reduce", "multiply.reduce", "add.accumulate",
    "multiply.accumulate", "add.reduceat",
})  # fmt: skip
_UFUNC_METHODS = ("at", "reduce", "accumulate", "reduceat", "outer")
_UFUNC_KEYWORDS = {"out", "dtype", "casting"}  # all that cupy.ufunc.__call__ accepts

# CuPy's functions take cupy.ndarray operands, not Python lists (cupy.cumsum([1, 2]) is a
# TypeError); these take a list first (sequences of arrays, shapes, creation from data).
_LIST_FIRST_OK = {
    "array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "concatenate",
    "concat", "stack", "hstack", "vstack", "dstack", "column_stack", "row_stack", "zeros", "ones",
    "empty", "full", "broadcast_arrays", "meshgrid", "ix_", "select", "result_type", "can_cast",
}  # fmt: skip

# Ops that still break the contract: (op function name -> where, why), strict xfails, so a fix
# makes them fail loudly and the line is removed. The ops owner changes the op.
PENDING = {}


class _CupyLike:
    """A NumPy function or ufunc as CuPy offers it: only CuPy's ufunc methods and keywords, and
    no Python list where CuPy wants an array."""

    def __init__(self, name, function):
        self._name, self._function = name, function
        self._is_ufunc = isinstance(function, np.ufunc)

    def __call__(self, *args, **kwargs):
        if self._is_ufunc:
            extra = set(kwargs) - _UFUNC_KEYWORDS
            if extra:
                raise TypeError(f"xp.{self._name}: expected only the keywords CuPy's ufuncs take "
                                f"{sorted(_UFUNC_KEYWORDS)}, got {sorted(extra)}")  # fmt: skip
            lists = [i for i, a in enumerate(args) if isinstance(a, list)]
        else:
            first_is_list = args and isinstance(args[0], list)
            lists = [0] if first_is_list and self._name not in _LIST_FIRST_OK else []
        if lists:
            raise TypeError(f"xp.{self._name}: expected arrays (CuPy takes no Python lists), got a "
                            f"list as argument {lists[0]}")  # fmt: skip
        return self._function(*args, **kwargs)

    def __getattr__(self, attr):
        method = f"{self._name}.{attr}"
        if self._is_ufunc and attr in _UFUNC_METHODS and method not in CUPY_UFUNC_METHODS:
            raise AttributeError(f"xp.{self._name}: expected a ufunc method CuPy provides "
                                 f"{sorted(CUPY_UFUNC_METHODS)}, got {attr!r}")  # fmt: skip
        return getattr(self._function, attr)


def _cupy_like_namespace():
    """NumPy restricted to CUPY_FUNCTIONS, with its functions wrapped in _CupyLike."""
    namespace = types.SimpleNamespace()
    for name in CUPY_FUNCTIONS:
        value = getattr(np, name)
        wrap = callable(value) and not isinstance(value, type)  # functions, not dtypes/classes
        setattr(namespace, name, _CupyLike(name, value) if wrap else value)
    return namespace


@pytest.fixture
def cupy_like():
    """``xp`` holds only what CuPy provides for the test; NumPy is back afterwards."""
    backend._install(_cupy_like_namespace(), "CuPy-like (tests/test_backend.py)")
    try:
        yield
    finally:
        backend._install(np, "numpy")


def _contract_case(spec):
    reason = PENDING.get(spec.fn.__name__)
    marks = (pytest.mark.xfail(strict=True, reason=reason),) if reason else ()
    return pytest.param(spec, id=spec.name, marks=marks)


@pytest.mark.parametrize("spec", [_contract_case(spec) for spec in SPECS])
def test_every_spec_runs_on_what_cupy_provides(spec, rng, cupy_like):
    inputs = spec.sample(rng)
    leaves = [gn.tensor(x, requires_grad=True) for x in inputs]
    out = spec.call(spec.fn, leaves)
    np.testing.assert_allclose(out.data, spec.call(spec.ref, inputs), rtol=1e-10, atol=1e-12)
    if spec.backward_bug is None:
        out.backward(rng.uniform(0.5, 1.5, out.shape))
        assert all(x.grad is not None and x.grad.shape == x.shape for x in leaves), spec.name
    directions = tuple(rng.standard_normal(x.shape) for x in inputs)
    value, tangent = jvp(lambda *xs: spec.call(spec.fn, xs), tuple(inputs), directions)
    assert tangent.shape == value.shape


def test_the_contract_namespace_refuses_what_cupy_lacks(cupy_like):
    with pytest.raises(AttributeError, match="'busday_count'"):
        xp.busday_count  # noqa: B018 (NumPy has it, CuPy does not)
    with pytest.raises(AttributeError, match="'at'"):
        xp.maximum.at  # noqa: B018 (CuPy has no maximum.at scatter op)
    with pytest.raises(TypeError, match="where"):
        xp.add(np.ones(2), 1.0, where=np.ones(2, bool))
    with pytest.raises(TypeError, match="list"):
        xp.cumsum([1, 2])
    xp.add.at(np.zeros(3), [0, 0], 1.0)  # what CuPy has passes


def _xp_attributes(path):
    """(line, "name" or "name.method") for every ``xp.<name>`` in a source file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id == "xp":
            yield node.lineno, node.attr
        elif isinstance(node.value, ast.Attribute):
            inner = node.value
            if isinstance(inner.value, ast.Name) and inner.value.id == "xp" and isinstance(
                getattr(np, inner.attr, None), np.ufunc
            ):
                yield node.lineno, f"{inner.attr}.{node.attr}"


def test_no_module_names_a_function_cupy_lacks():
    """Also the branches the spec table does not reach: every ``xp.<name>`` in the package."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "backend.py":
            continue
        for line, name in _xp_attributes(path):
            dotted = "." in name
            if (name not in CUPY_UFUNC_METHODS) if dotted else (name not in CUPY_FUNCTIONS):
                bad.append(f"{path.relative_to(SRC)}:{line} xp.{name}")
    assert not bad, "functions CuPy does not provide:\n" + "\n".join(bad)


def test_ops_reach_arrays_only_through_xp():
    importers = [
        path.name
        for path in sorted((SRC / "ops").glob("*.py"))
        if re.search(r"^\s*(import numpy|from numpy)", path.read_text(), re.MULTILINE)
    ]
    assert not importers, f"ops importing NumPy directly (bypassing backend.xp): {importers}"


def _import_cupy():
    if importlib.util.find_spec("cupy") is None:
        return None
    import cupy

    return cupy


def test_the_list_is_what_numpy_and_cupy_provide():
    """Every listed name exists in NumPy (the contract namespace is made from it) and, where
    cupy imports, in CuPy too, ufunc methods included."""
    assert not sorted(n for n in CUPY_FUNCTIONS if not hasattr(np, n))
    cupy = _import_cupy()
    if cupy is None:
        return  # checked where cupy is installed (the GPU machine); CI has none
    assert not sorted(n for n in CUPY_FUNCTIONS if not hasattr(cupy, n))
    for method in sorted(CUPY_UFUNC_METHODS):
        ufunc, attr = method.split(".")
        assert hasattr(getattr(cupy, ufunc), attr), method


def test_xp_is_filled_from_numpy():
    assert backend.name() == "numpy"
    assert isinstance(xp, types.ModuleType)
    assert xp.tanh is np.tanh and xp.ndarray is np.ndarray
    assert ops.elementwise.xp is xp  # every module holds the one namespace that use() refills
    assert xp.testing.assert_array_equal is np.testing.assert_array_equal  # lazy names forward
    with pytest.raises(AttributeError, match="numpy backend"):
        xp.no_such_function  # noqa: B018


def test_use_and_name_round_trip():
    assert backend.use("numpy") == "numpy"
    assert backend.name() == "numpy"


def test_use_an_unknown_backend():
    with pytest.raises(ValueError, match=r"expected one of 'numpy', 'cupy', got 'jax'"):
        backend.use("jax")
    assert backend.name() == "numpy"


def test_use_cupy_without_cupy_names_the_pip_package():
    if _import_cupy() is not None:
        pytest.skip("cupy is installed")
    with pytest.raises(ImportError, match=r"pip install cupy-cuda12x"):
        backend.use("cupy")
    assert backend.name() == "numpy" and xp.ndarray is np.ndarray


def _fake_backend(ndarray):
    """A module that looks like an array library: NumPy's functions, its own ``ndarray`` and an
    ``asnumpy`` that records what it converted."""
    fake = types.ModuleType("fake_array_module")
    fake.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("_")})
    fake.ndarray, fake.converted = ndarray, []
    fake.asnumpy = lambda a: fake.converted.append(a) or np.asarray(a)
    return fake


def test_use_refills_xp_in_place_and_back(monkeypatch):
    fake = _fake_backend(np.ndarray)  # numpy tensors count as its own: the switch is allowed
    monkeypatch.setitem(backend._LOADERS, "fake", lambda: (fake, None))
    try:
        assert backend.use("fake") == "numpy"
        assert backend.name() == "fake" and ops.elementwise.xp.asnumpy is fake.asnumpy
        assert backend.to_host(np.ones(2)).tolist() == [1.0, 1.0] and len(fake.converted) == 1
    finally:
        assert backend.use("numpy") == "fake"
    assert "asnumpy" not in vars(xp) and backend.name() == "numpy"


def test_use_with_live_tensors_of_another_backend_raises(monkeypatch):
    class DeviceArray:  # the other backend's ndarray: no NumPy array is one
        pass

    monkeypatch.setitem(backend._LOADERS, "fake", lambda: (_fake_backend(DeviceArray), None))
    before = backend._foreign_tensors(DeviceArray)  # what other tests left alive
    alive = [gn.tensor(np.ones(3)), nn.Dense(2, 3, seed=0).W]
    expected = before + 2
    with pytest.raises(RuntimeError, match=rf"got {expected}; delete them .* before building"):
        backend.use("fake")
    assert backend.name() == "numpy" and xp.ndarray is np.ndarray
    del alive
    gc.collect()
    assert backend._foreign_tensors(DeviceArray) == before


def test_to_host_and_to_device_on_numpy():
    a = np.arange(3.0)
    assert backend.to_host(a) is a
    assert backend.to_device([1, 2], dtype=np.float32).dtype == np.float32


def test_default_dtype_policy_unchanged():
    assert backend.default_dtype() == np.float32
    backend.set_default_dtype("float64")
    try:
        assert gn.tensor([1.0]).dtype == np.float64
    finally:
        backend.set_default_dtype(np.float32)
    with pytest.raises(ValueError, match="expected float32 or float64, got int32"):
        backend.set_default_dtype(np.int32)


# ---- randomness through the backend -----------------------------------------------------------


def test_seeded_dropout_gives_the_mask_it_gave_before():
    x = gn.tensor(np.ones((50, 40), np.float32))
    out = ops.dropout(x, 0.3, seed=7)
    keep = np.random.default_rng(7).random((50, 40), dtype=np.float32) >= 0.3  # the old draw
    np.testing.assert_array_equal(out.data, keep * np.float32(1 / 0.7))


def test_uniform_and_normal_on_numpy_are_the_generators_own_draws():
    a = backend.uniform(np.random.default_rng(3), (4, 5), np.float64)
    np.testing.assert_array_equal(a, np.random.default_rng(3).random((4, 5)))
    b = backend.normal(np.random.default_rng(3), (4, 5), np.float32, 0.5)
    expected = np.random.default_rng(3).normal(0.0, 0.5, (4, 5)).astype(np.float32)
    np.testing.assert_array_equal(b, expected)


_DRAWS = []  # (kind, shape, dtype) of each draw _DeviceGenerator was asked for


class _DeviceGenerator:
    """Stands in for cupy.random.RandomState: records the draws it was asked for."""

    def __init__(self, rng):
        self.seed = int(rng.integers(2**63))

    def random_sample(self, shape, dtype):
        _DRAWS.append(("uniform", shape, dtype))
        return np.full(shape, 0.99, dtype)  # >= p: every unit kept

    def normal(self, loc, scale, shape, dtype):
        _DRAWS.append(("normal", shape, dtype))
        return np.full(shape, scale, dtype)


def test_dropout_and_noise_layers_draw_through_the_backend(monkeypatch):
    monkeypatch.setattr(backend, "_device_rng", _DeviceGenerator)
    _DRAWS.clear()
    x = gn.tensor(np.ones((2, 3), np.float32))
    out = nn.Dropout(0.5, seed=0)(x)
    np.testing.assert_array_equal(out.data, np.full((2, 3), 2.0, np.float32))
    noisy = nn.GaussianNoise(0.25, seed=0)(x)
    np.testing.assert_array_equal(noisy.data, np.full((2, 3), 1.25, np.float32))
    assert _DRAWS == [("uniform", (2, 3), np.float32), ("normal", (2, 3), np.float32)]


def test_a_seed_fixes_the_device_draws_too(monkeypatch):
    seeds = []
    monkeypatch.setattr(backend, "_device_rng", lambda rng: seeds.append(int(rng.integers(2**63))))
    for _ in range(2):
        with pytest.raises(AttributeError):  # the stand-in returns None; only the seed matters
            backend.uniform(np.random.default_rng(5), (2,), np.float32)
    assert seeds[0] == seeds[1]


# ---- host arrays at the public boundaries ------------------------------------------------------


def test_predict_save_and_metrics_convert_through_to_host(monkeypatch, tmp_path):
    converted = []
    host = backend.to_host
    monkeypatch.setattr(backend, "to_host", lambda a: converted.append(type(a)) or host(a))
    # the modules imported the function by name: patch their references to count the calls
    metrics = importlib.import_module("glassnet.train.metrics")
    for name in ("glassnet.io.save", "glassnet.nn.module", "glassnet.train.metrics"):
        monkeypatch.setattr(importlib.import_module(name), "to_host", backend.to_host)
    model = nn.Sequential(nn.Dense(2, 3, "tanh", seed=0), nn.Dense(3, 1, seed=1))
    out = model.predict(np.ones((4, 2)))
    assert isinstance(out, np.ndarray) and out.shape == (4, 1) and converted
    converted.clear()
    gn.save(model, tmp_path / "m.npz")
    assert len(converted) == len(model.state_dict())
    converted.clear()
    assert metrics.accuracy(np.array([[0.2, 0.8]]), np.array([1])) == 1.0
    assert len(converted) >= 2  # output and target (to_host of a host array is free)
    converted.clear()
    assert metrics.get(lambda out, y: float(out.sum() + y.sum()))[1](np.ones(2), np.ones(2)) == 4.0
    assert len(converted) == 2  # a user's metric gets both as host arrays


# ---- the host allocator ------------------------------------------------------------------------

_FAULTS = """
import resource, sys
import numpy as np
import glassnet.backend as backend
if sys.argv[1] == "retain":
    assert backend.retain_freed_memory() is True
def step():  # a training step's pattern: arrays of a few MiB, allocated and freed each time
    arrays = [np.ones(n) for n in (200_000, 1_000_000, 600_000, 1_500_000, 300_000)]
    del arrays
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(mode):
    import subprocess

    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")  # fmt: skip
def test_retain_freed_memory_stops_the_page_faults_of_repeated_allocations():
    # glibc's default gives the freed arrays back and faults their pages in again each step
    # (about 2,000 faults here: 8 MiB zeroed by the kernel); retained, they are reused
    assert _faults_per_step("default") > 500
    assert _faults_per_step("retain") < 50


def test_retain_freed_memory_checks_its_argument_and_the_trainer_respects_a_choice(monkeypatch):
    for bad in (-1, 1.5, "256M", True, None):
        with pytest.raises(ValueError, match="retain_freed_memory: expected a non-negative int"):
            backend.retain_freed_memory(bad)
    calls = []
    monkeypatch.setattr(backend, "retain_freed_memory", lambda n=256 << 20: calls.append(n))
    monkeypatch.setattr(backend, "_retained", None)
    model = gn.nn.Sequential(gn.nn.Dense(2, 1, seed=0))
    gn.Trainer(model, "mse", "sgd", lr=0.1)
    assert calls == [256 << 20]  # the default, once, when nobody chose
    monkeypatch.setattr(backend, "_retained", 0)  # the user chose glibc's own behaviour
    gn.Trainer(model, "mse", "sgd", lr=0.1)
    assert calls == [256 << 20]


# ---- threads ------------------------------------------------------------------------------------


def _numpy_uses_openblas():
    config = np.show_config(mode="dicts")
    return "openblas" in str(config["Build Dependencies"]["blas"].get("name", "")).lower()


def test_threads_hold_the_blas_at_one_and_give_its_threads_to_the_ops():
    if _numpy_uses_openblas():  # NumPy's wheels (CI): the BLAS must be found and controlled
        assert backend.blas_threads() is not None
    before = backend.blas_threads()
    assert backend.workers() == 1
    with backend.threads(2):
        assert backend.workers() == 2
        assert backend.blas_threads() in (None, 1)
        with backend.threads(3):  # an inner entry keeps the outer choice
            assert backend.workers() == 2
        seen = backend.split(lambda p: backend.workers(), 2)
        assert seen == [2, 1]  # another thread splits nothing of its own
    assert backend.workers() == 1 and backend.blas_threads() == before
    with backend.threads(1):  # one thread: the BLAS keeps its own
        assert backend.workers() == 1 and backend.blas_threads() == before
        with backend.threads(2):
            assert backend.workers() == 1
    if before is not None:
        with backend.threads():  # None: as many as the BLAS had, at most the CPUs
            assert backend.workers() == max(1, min(before, backend._cpus()))
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="threads: expected a positive int or None, got"):
            with backend.threads(bad):
                pass


def test_threads_change_nothing_on_a_device_backend(monkeypatch):
    before = backend.blas_threads()
    monkeypatch.setattr(backend, "_name", "cupy")  # the kernels are the device's, not ours
    with backend.threads(2) as inside:
        assert inside is None and backend.workers() == 1 and backend.blas_threads() == before


def test_threads_give_the_blas_back_after_an_error():
    before = backend.blas_threads()
    with pytest.raises(KeyError):
        with backend.threads(2):
            raise KeyError("inside")
    assert backend.workers() == 1 and backend.blas_threads() == before


def test_split_returns_the_parts_in_order_and_raises_a_parts_error_after_all_finish():
    import threading
    import time

    names = backend.split(lambda p: (p, threading.current_thread().name), 3)
    assert [p for p, _ in names] == [0, 1, 2]
    assert names[0][1] == threading.main_thread().name
    assert all(name.startswith("glassnet") for _, name in names[1:])
    finished = []

    def work(p):
        if p == 1:
            raise ValueError("part 1 failed")
        time.sleep(0.05)
        finished.append(p)

    with pytest.raises(ValueError, match="part 1 failed"):
        backend.split(work, 3)
    assert sorted(finished) == [0, 2]  # the others ran to their end first


def test_steps_keep_the_threads_only_where_their_ops_split_work(monkeypatch):
    """After a conv network's first step of a batch shape, later steps of that shape run in
    backend.threads only if that step split some work; else on the BLAS's own threads."""
    from glassnet.ops import conv as conv_ops

    if max(1, min(backend.blas_threads() or 1, backend._cpus())) < 2:
        pytest.skip("one thread: nothing is ever split")  # never in CI (2 cores)
    seen, splits = [], []
    rng = np.random.default_rng(0)
    X, y = rng.random((6, 1, 8, 8)), np.array([0, 1] * 3)
    for split_items, want in ((1 << 40, [1, 2, 1, 1]), (0, [1, 2, 2, 2])):  # 1: the probe
        monkeypatch.setattr(conv_ops, "_SPLIT_ITEMS", split_items)
        monkeypatch.setattr(conv_ops, "_KEEP_ITEMS", 0)  # kept strips are never split
        model = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), nn.Flatten(), nn.Dense(72, 2, seed=1))
        model.layers[0].register_forward_hook(lambda *_: seen.append(backend.workers()))
        trainer = gn.Trainer(model, "cross_entropy", "sgd", lr=0.1)
        seen.clear()
        for _ in range(3):
            trainer.step(X, y)
        assert seen == want, (split_items, seen)
        trainer.step(X[:4], y[:4])  # a new shape is tried in the threads again
        assert seen[-1] == 2
        splits.append(trainer._threaded)
    assert splits == [{(6, 1, 8, 8): False, (4, 1, 8, 8): False},
                      {(6, 1, 8, 8): True, (4, 1, 8, 8): True}]  # fmt: skip


def test_conv_networks_train_and_predict_inside_threads_and_others_do_not():
    seen = []

    def spy(module, inputs, out):
        seen.append(backend.workers())

    rng = np.random.default_rng(0)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), nn.Flatten(), nn.Dense(8, 2, seed=1))
    mlp = nn.Sequential(nn.Dense(4, 2, seed=0))
    cases = ((conv, rng.random((6, 1, 4, 4)), True), (mlp, rng.random((6, 4)), False))
    for model, X, splits in cases:
        model.layers[0].register_forward_hook(spy)
        seen.clear()
        trainer = gn.Trainer(model, "cross_entropy", "sgd", lr=0.1)
        y = np.array([0, 1] * 3)
        with backend.threads(1):  # the outer choice wins: nothing is split
            trainer.step(X, y)
        assert set(seen) == {1}
        want = max(1, min(backend.blas_threads() or 1, backend._cpus())) if splits else 1
        for call in (lambda: trainer.step(X, y), lambda: trainer.evaluate(X, y),
                     lambda: model.predict(X)):  # fmt: skip
            seen.clear()
            call()
            assert seen == [want], (type(model.layers[0]).__name__, seen)
        seen.clear()
        gn.evaluate(model, X, y, loss="cross_entropy")
        assert seen[-1] == want  # after the two-sample probe forward of its checks
        assert backend.workers() == 1


def test_split_checks_its_parts_and_a_forked_child_gets_a_pool_of_its_own():
    for bad in (0, -2, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="split: expected parts as a positive int, got"):
            backend.split(lambda p: p, bad)
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    assert backend.split(lambda p: p, 2) == [0, 1]  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # the child: its parts must run, not wait on threads that stayed behind
        signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
        signal.alarm(20)  # a child stuck waiting fails the test instead of hanging it
        try:
            os._exit(0 if backend.split(lambda p: p * 10, 2) == [0, 10] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
