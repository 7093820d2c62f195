"""Forward mode (``jvp``, every op's ``Op.jvp``) and Hessian-vector products (``hvp``,
``hessian``).

Every op of the spec table (tests/ops/specs.py) is checked against central finite differences
of its forward along random directions, and against reverse mode (<u, J v> = <J^T u, v>).
Hessians are checked against ones computed independently of them: X^T X / n for linear least
squares, and torch.autograd.functional.hessian for a small tanh network.
"""

import inspect

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops
from glassnet.autodiff import Op, graph, hessian, hessian_from_gradient, hvp, jvp
from glassnet.errors import ShapeError
from tests.conftest import require
from tests.ops.specs import SPECS

# Op classes (and the functional ops that use them) whose jvp is not written yet. The marks are
# strict xfails: once the jvp exists, the tests pass, pytest reports XPASS as a failure, and the
# entry has to go.
PENDING = {}  # Op class name -> reason, for an op whose jvp is still missing (strict xfail)
PENDING_FNS = {}  # op function name -> reason, likewise


def _param(spec, backward=False):
    param = spec.param(backward=backward)
    reason = PENDING_FNS.get(spec.fn.__name__)
    if reason is None:
        return param
    return pytest.param(spec, id=spec.name, marks=(pytest.mark.xfail(strict=True, reason=reason),))


JVP_CASES = [_param(spec) for spec in SPECS]
JVP_AND_BACKWARD_CASES = [_param(spec, backward=True) for spec in SPECS]


def _f(spec):
    return lambda *xs: spec.call(spec.fn, xs)


def _directions(rng, inputs, dtype=np.float64):
    return tuple(rng.standard_normal(x.shape).astype(dtype) for x in inputs)


def _value(f, arrays):
    with gn.no_grad():
        return np.asarray(f(*[gn.tensor(np.asarray(x)) for x in arrays]).data)  # 0-d stays float64


@pytest.mark.parametrize("spec", JVP_CASES)
def test_jvp_matches_finite_differences(spec, rng):
    f, inputs = _f(spec), spec.sample(rng)
    v = _directions(rng, inputs)
    value, tangent = jvp(f, tuple(inputs), v)

    h = 1e-6  # central differences along v: (f(x + h v) - f(x - h v)) / (2 h)
    plus = _value(f, [x + h * d for x, d in zip(inputs, v)])
    minus = _value(f, [x - h * d for x, d in zip(inputs, v)])
    numeric = (plus - minus) / (2 * h)
    np.testing.assert_allclose(value, _value(f, inputs), rtol=1e-12, atol=0)
    assert tangent.shape == value.shape and tangent.dtype == value.dtype
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-8)
    if not spec.differentiable:  # step: zero by definition
        assert not tangent.any()


@pytest.mark.parametrize("spec", [c for c in JVP_CASES if len(c.values[0].shapes) > 1])
def test_jvp_with_the_other_inputs_constant(spec, rng):
    """One input moves, the others are constants (their tangent is None inside the op)."""
    inputs = spec.sample(rng)
    for i, x in enumerate(inputs):
        constants = [gn.tensor(c) for c in inputs]

        def f(xi, i=i, constants=constants):
            return spec.call(spec.fn, constants[:i] + [xi] + constants[i + 1 :])

        v = rng.standard_normal(x.shape)
        value, tangent = jvp(f, x, v)
        h = 1e-6
        numeric = (_value(f, [x + h * v]) - _value(f, [x - h * v])) / (2 * h)
        assert tangent.shape == value.shape
        np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-8, err_msg=f"input {i}")


@pytest.mark.parametrize("spec", JVP_AND_BACKWARD_CASES)
def test_jvp_agrees_with_reverse_mode(spec, rng):
    """The dot-product test: <u, J v> from forward mode equals <J^T u, v> from backward."""
    f, inputs = _f(spec), spec.sample(rng)
    v = _directions(rng, inputs)
    _, tangent = jvp(f, tuple(inputs), v)
    leaves = [gn.tensor(x, requires_grad=True) for x in inputs]
    out = f(*leaves)
    u = rng.standard_normal(out.shape)
    out.backward(u)
    forward = float((u * tangent).sum())
    reverse = sum(float((x.grad * d).sum()) for x, d in zip(leaves, v))
    assert forward == pytest.approx(reverse, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("spec", JVP_CASES)
def test_jvp_keeps_float32(spec, rng):
    inputs = spec.sample(rng, dtype=np.float32)
    value, tangent = jvp(_f(spec), tuple(inputs), _directions(rng, inputs, np.float32))
    assert tangent.dtype == np.float32, f"{spec.name}: tangent up-cast to {tangent.dtype}"
    assert tangent.shape == value.shape


def _op_classes():
    classes = {}
    for family in ops.FAMILIES:
        for name, cls in inspect.getmembers(family, inspect.isclass):
            if issubclass(cls, Op) and cls is not Op and cls.__module__ == family.__name__:
                classes[name] = cls
    return classes


OP_CLASSES = _op_classes()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n, marks=(pytest.mark.xfail(strict=True, reason=PENDING[n]),) if n in PENDING else ()
        )
        for n in sorted(OP_CLASSES)
    ],
)
def test_every_op_class_defines_jvp(name):
    assert OP_CLASSES[name].jvp is not Op.jvp, f"{name} has no jvp"


def test_op_classes_are_found():
    assert {"Add", "MatMul", "Linear", "Tanh", "SoftmaxCrossEntropy", "Dropout"} <= set(OP_CLASSES)


# ---- the lectures' dual numbers ---------------------------------------------------------------


def test_dual_number_example_from_deck_004():
    # f(x) = x^2 + 3x at x = 2 + 1 epsilon: (2 + e)^2 + 3 (2 + e) = 10 + 7 e (e^2 = 0)
    value, tangent = jvp(lambda x: x * x + 3.0 * x, np.array(2.0), np.array(1.0))
    assert (float(value), float(tangent)) == (10.0, 7.0)
    # f(a + b epsilon) = a^2 + 2ab epsilon for f(x) = x^2, here a = 3, b = 2
    value, tangent = jvp(lambda x: x**2, np.array(3.0), np.array(2.0))
    assert (float(value), float(tangent)) == (9.0, 12.0)


def test_jvp_at_ties_splits_like_backward():
    """At a tie the derivative is one-sided; jvp takes the mean over the tied elements, the
    transpose of backward's even split (so <u, J v> = <J^T u, v> still holds)."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    v = np.array([[5.0, 1.0, 2.0], [4.0, -2.0, 7.0]])
    np.testing.assert_array_equal(jvp(lambda a: ops.max(a, axis=1), x, v)[1], [1.5, 1.0])
    np.testing.assert_array_equal(jvp(lambda a: ops.min(a, axis=1), x, v)[1], [5.0, 7.0])
    np.testing.assert_array_equal(jvp(ops.max, x, v)[1], 1.5)
    _, d = jvp(ops.maximum, (x, np.full((2, 3), 2.0)), (v, np.ones((2, 3))))
    np.testing.assert_array_equal(d, [[1.0, 1.0, 2.0], [2.5, -0.5, 1.0]])
    _, d = jvp(ops.minimum, (x, np.full((2, 3), 2.0)), (v, np.ones((2, 3))))
    np.testing.assert_array_equal(d, [[5.0, 1.0, 1.0], [2.5, -0.5, 7.0]])


def test_jvp_of_several_inputs_and_outputs(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    da, db = rng.standard_normal((3, 4)), rng.standard_normal(4)
    const = gn.tensor(rng.standard_normal(4))

    def f(x, y):
        return (x * y).sum(axis=1), ops.tanh(x) + const, const * 2.0

    (prod, th, _), (dprod, dth, dc) = jvp(f, (a, b), (da, db))
    np.testing.assert_allclose(prod, (a * b).sum(axis=1))
    np.testing.assert_allclose(dprod, (da * b + a * db).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(dth, (1 - np.tanh(a) ** 2) * da, rtol=1e-12)
    np.testing.assert_array_equal(dc, np.zeros(4))  # independent of the inputs
    assert th.shape == dth.shape == (3, 4)


def test_jvp_through_a_model_with_constant_parameters(rng):
    model = nn.Sequential(
        nn.Dense(3, 5, "tanh", seed=0, dtype=np.float64), nn.Dense(5, 2, seed=1, dtype=np.float64)
    )
    x, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, tangent = jvp(model, x, v)
    h = 1e-6
    numeric = (_value(model, [x + h * v]) - _value(model, [x - h * v])) / (2 * h)
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-9)
    assert all(p.grad is None for p in model.parameters())  # no graph, no gradients


def test_jvp_builds_no_graph_and_removes_its_hook(rng):
    jvp(lambda x: ops.exp(x).sum(), rng.standard_normal(3), np.ones(3))
    assert graph._tangent_hook is None
    with pytest.raises(ZeroDivisionError):
        jvp(lambda x: 1 / 0, np.ones(2), np.ones(2))
    assert graph._tangent_hook is None
    y = gn.tensor(np.ones(2), requires_grad=True) * 2.0  # the reverse mode still records
    assert y.requires_grad and not y.is_leaf


def test_jvp_tangents_die_with_their_tensors(rng):
    seen = {}

    def f(x):
        for _ in range(50):
            x = ops.tanh(x)
        seen["table"] = graph._tangent_hook.__self__.table
        return x

    jvp(f, rng.standard_normal(3), np.ones(3))
    assert len(seen["table"]) <= 3  # not 51: the intermediates are gone, and their tangents


def test_jvp_names_the_mistake():
    with pytest.raises(
        ShapeError, match=r"jvp: expected v\[1\] of shape \(3,\) \(input 1's\), got \(4,\)"
    ):
        jvp(lambda a, b: a + b, (np.ones(3), np.ones(3)), (np.ones(3), np.ones(4)))
    with pytest.raises(
        ValueError, match=r"jvp: expected 2 tangent\(s\) in v, one per input, got 1"
    ):
        jvp(lambda a, b: a + b, (np.ones(3), np.ones(3)), np.ones(3))
    with pytest.raises(
        TypeError, match=r"jvp: expected f to return a Tensor or a tuple of Tensors, got float"
    ):
        jvp(lambda a: 1.0, np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match=r"jvp: expected floating inputs, got dtype int64"):
        jvp(lambda a: a, np.ones(3, dtype=np.int64), np.ones(3))


# ---- Hessian-vector products ------------------------------------------------------------------


def _relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def test_hvp_of_least_squares_is_XtX_over_n(rng):
    n, d = 50, 6
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    H = X.T @ X / n  # the exact Hessian of 1/(2n) ||Xw - y||^2, for every w

    def loss(w):
        r = ops.matmul(X, w) - y
        return (r * r).sum() / (2.0 * n)

    w = rng.standard_normal(d) * 3.0
    for _ in range(3):
        v = rng.standard_normal(d)
        assert _relative_error(hvp(loss, w, v), H @ v) < 1e-6
    assert _relative_error(hessian(loss, w), H) < 1e-6


def _tiny_network(X):
    """A 2-3-1 tanh network and f(theta): its loss with all 13 parameters taken from theta."""
    model = nn.Sequential(
        nn.Dense(2, 3, "tanh", seed=0, dtype=np.float64), nn.Dense(3, 1, seed=1, dtype=np.float64)
    )
    slots = [(layer, name) for layer in model for name in ("W", "b")]
    shapes = [getattr(layer, name).shape for layer, name in slots]
    theta0 = np.concatenate([getattr(layer, name).data.ravel() for layer, name in slots])
    y = np.sin(X.sum(axis=1, keepdims=True))

    def f(theta):
        start = 0
        for (layer, name), shape in zip(slots, shapes):  # write theta into the model
            size = int(np.prod(shape))
            setattr(layer, name, theta[start : start + size].reshape(shape))
            start += size
        return ops.mse(model(X), y)

    return f, theta0, shapes, y


def _torch_hessian(torch, X, y, theta0, shapes):
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)

    def f(theta):
        parts, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            parts.append(theta[start : start + size].reshape(shape))
            start += size
        W1, b1, W2, b2 = parts
        out = torch.tanh(Xt @ W1.T + b1) @ W2.T + b2
        return ((out - yt) ** 2).mean()

    return torch.autograd.functional.hessian(f, torch.as_tensor(theta0)).numpy()


def test_hessian_of_a_tiny_network_matches_torch(rng):
    torch = require("torch")
    X = rng.uniform(-1.5, 1.5, (8, 2))
    f, theta0, shapes, y = _tiny_network(X)
    theta0 = theta0 + 0.5 * rng.standard_normal(theta0.shape)  # away from the tiny init
    expected = _torch_hessian(torch, X, y, theta0, shapes)
    H = hessian(f, theta0)
    assert H.shape == (13, 13)
    assert _relative_error(H, expected) < 1e-6
    assert np.abs(H - expected).max() < 1e-6 * np.abs(expected).max()
    v = rng.standard_normal(13)
    assert _relative_error(hvp(f, theta0, v), expected @ v) < 1e-6


def test_hvp_names_the_mistake():
    with pytest.raises(ShapeError, match=r"hvp: expected v\[0\] of shape \(3,\)"):
        hvp(lambda w: (w * w).sum(), np.ones(3), np.ones(2))
    with pytest.raises(
        ValueError, match=r"hvp: expected f to return a one-element Tensor, got \(3,\)"
    ):
        hvp(lambda w: w * w, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"hvp: expected eps > 0, got 0.0"):
        hvp(lambda w: (w * w).sum(), np.ones(3), np.ones(3), eps=0.0)
    np.testing.assert_array_equal(
        hvp(lambda w: (w * w).sum(), np.ones(3), np.zeros(3)), np.zeros(3)
    )


def test_hessian_from_gradient_of_a_quadratic_is_its_matrix():
    # grad of 1/2 x^T A x - b^T x is A x - b, so H = A (up to rounding); seed 0
    rng = np.random.default_rng(0)
    M = rng.normal(size=(5, 5))
    A, b = M @ M.T + np.eye(5), rng.normal(size=5)
    H = hessian_from_gradient(lambda x: A @ x - b, rng.normal(size=5))
    np.testing.assert_allclose(H, A, rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match=r"hessian_from_gradient: expected eps > 0, got 0"):
        hessian_from_gradient(lambda x: A @ x - b, np.zeros(5), eps=0)
