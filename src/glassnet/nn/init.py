"""Weight initializers. Each is a small object called as ``init(shape, rng, dtype)``.

For a dense weight W of shape (out, in): fan_in = in, fan_out = out.
References: Glorot & Bengio (2010), eq. 16; He et al. (2015), eq. 10; LeCun et al.,
"Efficient BackProp" (1998), sec. 4.6; the lectures' classic uniform(-0.1, 0.1) (deck 000).

``allocation_budget`` bounds how many weights the initializers may draw inside a block:
``glassnet.load`` builds a model from a file's description inside one, so that a small file
cannot make glassnet allocate more than the arrays it holds (``reserve`` is the check).
"""

import contextvars
import math
from contextlib import contextmanager

from ..backend import as_rng, default_dtype

__all__ = [
    "Initializer", "Uniform", "Normal", "GlorotUniform", "GlorotNormal", "HeUniform",
    "HeNormal", "LecunUniform", "LecunNormal", "TorchDefault", "Zeros", "Constant", "get", "NAMES",
    "allocation_budget", "reserve",
]  # fmt: skip

_BUDGET = contextvars.ContextVar("allocation_budget", default=None)


class _Budget:
    __slots__ = ("error", "limit", "used")

    def __init__(self, limit, error):
        self.limit, self.used, self.error = limit, 0, error


@contextmanager
def allocation_budget(n_elements, error):
    """Within the block, the initializers (and ``reserve``) may create ``n_elements`` weights
    in all; the draw that would exceed it raises ``error(shape, declared, n_elements)`` (an
    exception built by the caller, with ``declared`` the total so far) before allocating.

    The budget is context-local (threads and async tasks each see their own) and an inner
    block replaces an outer one until it ends.
    """
    token = _BUDGET.set(_Budget(n_elements, error))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def reserve(shape):
    """Count an array of ``shape`` against the active ``allocation_budget`` (none: no-op).

    Every initializer calls it before it allocates; a layer that creates weights or buffers
    without an initializer calls it first, so that loading a file stays bounded.
    """
    budget = _BUDGET.get()
    if budget is None:
        return
    declared = budget.used + math.prod(shape)
    if declared > budget.limit:
        raise budget.error(tuple(shape), declared, budget.limit)
    budget.used = declared


def _fans(shape):
    if len(shape) < 2:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


class Initializer:
    """Base: ``__call__(shape, rng=None, dtype=None)`` returns a new array."""

    name = ""

    def __call__(self, shape, rng=None, dtype=None):
        dtype = default_dtype() if dtype is None else dtype
        shape = tuple(shape)
        reserve(shape)
        return self.sample(shape, as_rng(rng)).astype(dtype)

    def config(self):
        """The name and arguments, JSON-able."""
        return {"name": self.name, **vars(self)}

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Uniform(Initializer):
    """W ~ uniform(-r, r); r = 0.1 is the lectures' classic choice."""

    name = "uniform"

    def __init__(self, r=0.1):
        self.r = r

    def sample(self, shape, rng):
        return rng.uniform(-self.r, self.r, shape)


class Normal(Initializer):
    """W ~ normal(0, std^2)."""

    name = "normal"

    def __init__(self, std=0.01):
        self.std = std

    def sample(self, shape, rng):
        return rng.normal(0.0, self.std, shape)


def _scaled(name, doc, gain, fan, distribution):
    def sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        n = {"in": fan_in, "avg": (fan_in + fan_out) / 2}[fan]
        if distribution == "uniform":
            r = math.sqrt(3.0 * gain / n)  # variance r^2 / 3 = gain / n
            return rng.uniform(-r, r, shape)
        return rng.normal(0.0, math.sqrt(gain / n), shape)

    return type(name, (Initializer,), {"name": _snake(name), "__doc__": doc, "sample": sample})


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


GlorotUniform = _scaled(
    "GlorotUniform", "Glorot/Xavier: W ~ uniform(-r, r), r = sqrt(6 / (fan_in + fan_out)).",
    1.0, "avg", "uniform",
)
GlorotNormal = _scaled(
    "GlorotNormal", "Glorot/Xavier: W ~ normal(0, 2 / (fan_in + fan_out)).", 1.0, "avg", "normal"
)
HeUniform = _scaled(
    "HeUniform", "He/Kaiming: W ~ uniform(-r, r), r = sqrt(6 / fan_in).", 2.0, "in", "uniform"
)
HeNormal = _scaled("HeNormal", "He/Kaiming: W ~ normal(0, 2 / fan_in).", 2.0, "in", "normal")
LecunUniform = _scaled(
    "LecunUniform", "LeCun: W ~ uniform(-r, r), r = sqrt(3 / fan_in).", 1.0, "in", "uniform"
)
LecunNormal = _scaled("LecunNormal", "LeCun: W ~ normal(0, 1 / fan_in).", 1.0, "in", "normal")


class TorchDefault(Initializer):
    """PyTorch's default for Linear and Conv weights: W ~ uniform(-r, r), r = 1 / sqrt(fan_in)
    (its kaiming_uniform_ with a = sqrt(5); fan_in = shape[1] * kernel size, as torch counts
    it for transposed convolutions too)."""

    name = "torch_default"

    def sample(self, shape, rng):
        r = 1.0 / math.sqrt(_fans(shape)[0])
        return rng.uniform(-r, r, shape)


class Constant(Initializer):
    """Every weight equals ``value``."""

    name = "constant"

    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, rng):
        import numpy as np

        return np.full(shape, self.value, dtype=np.float64)


class Zeros(Constant):
    """Every weight is 0 (for biases; zero weights cannot break symmetry)."""

    name = "zeros"

    def __init__(self):
        super().__init__(0.0)

    def config(self):
        return {"name": self.name}


_CLASSES = [Uniform, Normal, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
            LecunUniform, LecunNormal, TorchDefault, Zeros, Constant]  # fmt: skip
NAMES = {cls.name: cls for cls in _CLASSES}


def get(init):
    """An Initializer from a name ("glorot_uniform"), a config dict, or an Initializer."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, dict):
        name = init.get("name")
        if name in NAMES:
            return NAMES[name](**{k: v for k, v in init.items() if k != "name"})
    if isinstance(init, str) and init in NAMES:
        return NAMES[init]()
    raise ValueError(f"initializer {init!r} is unknown; choose one of: {', '.join(sorted(NAMES))}")
