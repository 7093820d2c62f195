"""Forward mode (dual numbers) and Hessian-vector products.

Forward mode follows the lectures' dual numbers (deck 004): every value a travels with a
tangent b, a + b epsilon with epsilon^2 = 0, so that f(a + b epsilon) = f(a) + f'(a) b epsilon.
``jvp`` runs ``f`` once on Tensors while a side table holds the tangent of each tensor; as each
op runs, ``Op.apply`` hands it to the table (through ``graph._tangent_hook``), which computes
the op's output tangent at once from its inputs' tangents with ``op.jvp``. Nothing is recorded
for a later sweep, so one pass gives J v for one direction v (reverse mode gives v^T J).

``hvp`` gets Hessian-vector products H v of a scalar function by central differences of exact
reverse-mode gradients; ``hessian`` stacks them into the full matrix for small problems.
"""

import weakref

import numpy as np

from ..backend import xp
from ..errors import ShapeError
from . import graph
from .graph import enable_grad, no_grad
from .tensor import Tensor

__all__ = ["jvp", "hvp", "hessian", "hessian_from_gradient"]


class _Tangents:
    """The side table of one ``jvp`` call: tensor -> its tangent, filled as the ops run.

    Entries are keyed by ``id`` and hold only a weak reference to their tensor: when a tensor
    dies its entry goes too (so memory stays that of the forward pass, and a new tensor that
    reuses the id never sees a stale tangent).
    """

    def __init__(self):
        self.table = {}  # id(tensor) -> (weak reference to the tensor, tangent)

    def set(self, tensor, tangent):
        key, table = id(tensor), self.table
        table[key] = (weakref.ref(tensor, lambda _, key=key: table.pop(key, None)), tangent)

    def get(self, tensor):
        entry = self.table.get(id(tensor))
        return None if entry is None else entry[1]

    def push(self, op, inputs, out):
        """The hook ``Op.apply`` calls: out's tangent from the inputs' tangents (None: none)."""
        tangents = [self.get(t) for t in inputs]
        if all(d is None for d in tangents):
            return  # out does not depend on the inputs of jvp
        tangent = op.jvp(*tangents)
        shape = out.data.shape
        if type(tangent) is not xp.ndarray or tangent.shape != shape:
            # full reductions give NumPy scalars; a constant's missing term leaves a broadcast
            tangent = xp.array(xp.broadcast_to(tangent, shape))
        self.set(out, tangent)


def _as_tuple(who, x, v):
    """x and v as tuples of arrays of matching shapes; v takes x's dtype."""
    several = isinstance(x, (tuple, list))
    xs = tuple(x) if several else (x,)
    vs = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(vs) != len(xs):
        raise ValueError(f"{who}: expected {len(xs)} tangent(s) in v, one per input, got {len(vs)}")
    xs = tuple(a.data if isinstance(a, Tensor) else xp.asarray(a) for a in xs)
    for i, a in enumerate(xs):
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{who}: expected floating inputs, got dtype {a.dtype} for input {i}")
    vs = tuple(
        xp.array(d.data if isinstance(d, Tensor) else d, dtype=a.dtype) for a, d in zip(xs, vs)
    )
    for i, (a, d) in enumerate(zip(xs, vs)):
        if d.shape != a.shape:
            raise ShapeError(
                f"{who}: expected v[{i}] of shape {a.shape} (input {i}'s), got {d.shape}"
            )
    return xs, vs, several


def jvp(f, x, v):
    """Value and Jacobian-vector product of ``f`` at ``x`` along ``v``, by forward mode.

        f(x + v epsilon) = f(x) + (J v) epsilon,   epsilon^2 = 0     (dual numbers, deck 004)

    ``f`` runs once, on Tensors, under ``no_grad`` (no graph is built): each op's output tangent
    is computed from its inputs' tangents as soon as the op runs (``Op.jvp``). Tensors that
    ``f`` makes from raw arrays, and parameters it closes over, are constants (tangent 0).
    Nested ``jvp`` calls do not compose: inside the inner call only its own tangents move.

    Args:
        f: callable taking Tensors (one per array in ``x``) and returning a Tensor or a tuple
            of Tensors.
        x: an array, or a tuple of arrays (then ``f(*x)``); floating dtypes.
        v: the direction: an array, or a tuple of arrays, of the shapes of ``x``.
    Returns:
        (f(x), J v): arrays, or tuples of arrays when ``f`` returns a tuple; an output that
        does not depend on ``x`` gets a zero tangent.
    Raises:
        ShapeError: v's shapes differ from x's.  ValueError: v has the wrong number of arrays.
        TypeError: a non-floating input, or ``f`` returned something other than Tensors.

    Example:
        >>> value, tangent = jvp(lambda x: x * x + 3.0 * x, np.array(2.0), np.array(1.0))
        >>> float(value), float(tangent)
        (10.0, 7.0)
    """
    xs, vs, several = _as_tuple("jvp", x, v)
    tangents = _Tangents()
    inputs = [Tensor(a) for a in xs]
    for t, d in zip(inputs, vs):
        tangents.set(t, d)
    before = graph._set_tangent_hook(tangents.push)
    try:
        with no_grad():
            out = f(*inputs) if several else f(inputs[0])
    finally:
        graph._set_tangent_hook(before)
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(
                f"jvp: expected f to return a Tensor or a tuple of Tensors, got {type(o).__name__}"
            )
    pairs = [(o.data, _tangent_or_zero(tangents, o)) for o in outs]
    if isinstance(out, tuple):
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return pairs[0]


def _tangent_or_zero(tangents, tensor):
    d = tangents.get(tensor)
    return xp.zeros_like(tensor.data) if d is None else d


def _grad(f, x):
    """Exact gradient of the scalar f at the array x, by reverse mode."""
    leaf = Tensor(x, requires_grad=True)
    with enable_grad():
        out = f(leaf)
    if not isinstance(out, Tensor) or out.data.size != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"hvp: expected f to return a one-element Tensor, got {shape}")
    if out.requires_grad:
        out.backward()
    return leaf.grad if leaf.grad is not None else xp.zeros_like(x)


def hvp(f, x, v, eps=None):
    """Hessian-vector product H v of a scalar function, by central differences of exact
    (reverse-mode) gradients:

        H v ~ (grad f(x + eps v) - grad f(x - eps v)) / (2 eps)

    The error is O(eps^2 ||v||^2) from the third derivatives plus O(u / eps) from rounding
    (u: the dtype's machine epsilon); the default step balances them, eps ||v|| =
    u^(1/3) (1 + ||x||), about 6e-6 (1 + ||x||) in float64, for errors near u^(2/3) ~ 4e-11
    relative. Exact for quadratics up to rounding. f must be twice differentiable near x
    (no kinks such as relu's within eps ||v||).

    Args:
        f: callable taking one Tensor (x's shape) and returning a one-element Tensor; to
            differentiate with respect to a model's parameters, let f write slices of its
            argument into the model (see tests/autodiff/test_forward.py).
        x: the point, a floating array; v: the direction, an array of x's shape.
        eps: the step along v; None: the default above.
    Returns:
        H v, an array of x's shape and dtype.
    Raises:
        ShapeError: v's shape differs from x's.  ValueError: eps <= 0, or f is not scalar.
    """
    (x,), (v,), _ = _as_tuple("hvp", x, v)
    return _central_difference("hvp", lambda z: _grad(f, z), x, v, eps)


def _central_difference(who, grad, x, v, eps):
    """(grad(x + eps v) - grad(x - eps v)) / (2 eps), with hvp's default eps for None."""
    norm_v = float(np.linalg.norm(v))
    if norm_v == 0.0:
        return xp.zeros_like(x)
    if eps is None:
        u = float(np.finfo(x.dtype).eps)
        eps = u ** (1 / 3) * (1.0 + float(np.linalg.norm(x))) / norm_v
    elif not eps > 0:
        raise ValueError(f"{who}: expected eps > 0, got {eps!r}")
    step = x.dtype.type(eps) * v
    plus, minus = grad(x + step), grad(x - step)
    return (plus - minus) / x.dtype.type(2 * eps)


def hessian(f, x, eps=None):
    """The full Hessian of a scalar function, column by column from ``hvp`` (n gradient pairs
    for n = x.size: meant for small problems).

        H[:, k] = hvp(f, x, e_k)       (x flattened in C order)

    Args:
        f, x, eps: as for ``hvp``.
    Returns:
        H, an (x.size, x.size) array of x's dtype; symmetric up to the finite-difference error.
    """
    x = x.data if isinstance(x, Tensor) else xp.asarray(x)
    return _columns("hessian", lambda z: _grad(f, z), x, eps)


def hessian_from_gradient(grad, x, eps=None):
    """The full Hessian from a gradient function, by the central differences of ``hvp``:

        H[:, k] = (grad(x + eps e_k) - grad(x - eps e_k)) / (2 eps)

    For a gradient that is not a function of one Tensor, e.g. a closure that sets a model's
    parameters from the flat vector x and backpropagates (Newton's method does this).

    Args:
        grad: callable taking an array of x's shape and returning the gradient there (same
            shape). x: the point, a floating array. eps: as for ``hvp``.
    Returns:
        H, an (x.size, x.size) array of x's dtype; symmetric up to the finite-difference error.
    """
    return _columns("hessian_from_gradient", grad, xp.asarray(x), eps)


def _columns(who, grad, x, eps):
    columns = []
    for k in range(x.size):
        e_k = xp.zeros(x.size, x.dtype)
        e_k[k] = 1.0
        columns.append(_central_difference(who, grad, x, e_k.reshape(x.shape), eps).reshape(-1))
    return xp.stack(columns, axis=1)
