"""The engine: Tensor, the backward walk (accumulation, hooks, freeing, depth), grad mode,
the dtype rules of ``tensor()`` and the operators, and gradcheck's own failure reports."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet.autodiff import Op, gradcheck, numerical_grad
from glassnet.errors import GradcheckError

# ---- gradients through broadcasting, reuse and accumulation -----------------------------------


def test_broadcast_gradients_are_reduced_to_each_input_shape():
    a = gn.tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    b = gn.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    c = gn.tensor(np.array(2.0), requires_grad=True)
    ((a + b) * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and c.grad.shape == ()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4 * 2.0))  # 4 columns, times c
    np.testing.assert_array_equal(b.grad, np.full(4, 3 * 2.0))  # 3 rows, times c
    assert c.grad == (a.data + b.data).sum()


def test_a_tensor_used_twice_sums_both_paths():
    x = gn.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 1)


def test_gradients_accumulate_over_backward_calls():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 3.0 + 2 * x.data)


def test_only_leaves_keep_a_gradient_and_constants_get_none():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    constant = gn.tensor(np.array([5.0, 6.0]))
    hidden = x * constant
    assert x.is_leaf and not hidden.is_leaf and hidden.requires_grad
    hidden.sum().backward()
    assert hidden.grad is None and constant.grad is None
    np.testing.assert_array_equal(x.grad, constant.data)


def test_leaf_gradient_is_a_writable_array_of_the_leaf_shape():
    x = gn.tensor(np.ones((2, 3)), requires_grad=True)
    x.sum().backward()  # sum's backward is a read-only broadcast view
    assert x.grad.flags.writeable and x.grad.shape == (2, 3)
    x.grad[0, 0] = 7.0


# ---- grad mode and detach --------------------------------------------------------------------


def test_no_grad_records_nothing():
    x = gn.tensor(np.ones(3), requires_grad=True)
    with gn.no_grad():
        y = (x * 2.0).exp().sum()
        assert not gn.autodiff.is_grad_enabled()
    assert gn.autodiff.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        y.backward()


def test_enable_grad_inside_no_grad_and_restore_after_an_exception():
    x = gn.tensor(np.ones(3), requires_grad=True)
    with gn.no_grad():
        with gn.autodiff.enable_grad():
            assert (x * 2.0).requires_grad
        assert not (x * 2.0).requires_grad
    with pytest.raises(KeyError), gn.no_grad():
        raise KeyError("inside no_grad")
    assert gn.autodiff.is_grad_enabled()


def test_detach_shares_data_and_cuts_the_graph():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.is_leaf
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, d.data)  # no path through d back to x


# ---- hooks -----------------------------------------------------------------------------------


def test_hook_sees_the_gradient_and_can_replace_it():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.copy()))
    x.register_hook(lambda g: 2 * g)
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * x.data)
    np.testing.assert_array_equal(x.grad, 4 * x.data)  # doubled by the second hook


def test_removed_hook_is_not_called():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1) or 10 * g)
    handle.remove()
    handle.remove()  # removing twice is harmless
    (x * 1.0).sum().backward()
    assert calls == []
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_hook_on_an_intermediate_sees_the_complete_gradient_and_changes_upstream():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    hidden = x * 3.0
    seen = []

    def halve(g):
        seen.append(g.copy())
        return g / 2

    hidden.register_hook(halve)
    (hidden * hidden + hidden).sum().backward()  # two paths meet at hidden
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], 2 * hidden.data + 1)
    np.testing.assert_array_equal(x.grad, 3.0 * (2 * hidden.data + 1) / 2)
    assert hidden.grad is None


def test_hook_needs_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="register_hook"):
        gn.tensor(np.ones(2)).register_hook(lambda g: None)


# ---- freeing the graph -------------------------------------------------------------------------

# (a second backward over the same freed root raises: tests/autodiff/test_graph.py)


def test_freed_intermediate_is_detected_from_a_new_root():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    hidden = x.exp()
    hidden.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (hidden * 2.0).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * (2 * x.data))


def test_a_chain_of_20000_ops_backpropagates_without_recursion():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(2, 1.0001**20_000), rtol=1e-10)


# ---- backward's arguments ----------------------------------------------------------------------


def test_backward_of_a_non_scalar_needs_grad():
    y = gn.tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"one-element tensor.*got shape \(3,\)"):
        y.backward()


def test_backward_grad_of_the_wrong_shape_is_rejected():
    y = gn.tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"expected grad of shape \(3,\), got \(2,\)"):
        y.backward(np.ones(2))


def test_backward_with_an_explicit_grad_weights_the_outputs():
    x = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (x * x).backward(gn.tensor(np.array([1.0, 0.0, -1.0])))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])


# ---- dtypes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array, dtype",
    [
        (np.array([1.0, 2.0]), np.float64),
        (np.array([1.0, 2.0], np.float32), np.float32),
        ([1.0, 2.0], np.float32),
        (np.array([1, 2]), np.float32),
        ([True, False], np.float32),
        (3.0, np.float32),
    ],
    ids=["float64 array", "float32 array", "list", "int array", "bools", "number"],
)
def test_tensor_dtype_rules(array, dtype):
    assert gn.tensor(array).dtype == dtype


def test_tensor_explicit_dtype_wins_and_requires_grad_needs_floats():
    assert gn.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert gn.tensor(gn.tensor(np.ones(2))).dtype == np.float64
    with pytest.raises(TypeError, match="floating dtype"):
        gn.Tensor(np.array([1, 2]), requires_grad=True)


@pytest.mark.parametrize(
    "expression, expected, grad",
    [
        (lambda t: 2 - t, [1.0, 0.0, -2.0], [-1.0, -1.0, -1.0]),
        (lambda t: 2.0 / t, [2.0, 1.0, 0.5], [-2.0, -0.5, -0.125]),
        (lambda t: np.array([1.0, 2.0, 3.0]) * t, [1.0, 4.0, 12.0], [1.0, 2.0, 3.0]),
        (lambda t: np.array([1.0, 2.0, 3.0]) + t, [2.0, 4.0, 7.0], [1.0, 1.0, 1.0]),
        (lambda t: np.float64(3.0) * t, [3.0, 6.0, 12.0], [3.0, 3.0, 3.0]),
        (lambda t: t * np.sqrt(2.0) / np.sqrt(2.0), [1.0, 2.0, 4.0], [1.0, 1.0, 1.0]),
        (lambda t: t**2 - t, [0.0, 2.0, 12.0], [1.0, 3.0, 7.0]),
        (lambda t: -t + 1, [0.0, -1.0, -3.0], [-1.0, -1.0, -1.0]),
        (lambda t: np.eye(3) @ t, [1.0, 2.0, 4.0], [1.0, 1.0, 1.0]),
    ],
)
def test_reflected_operators_keep_float32_and_are_correct(expression, expected, grad):
    t = gn.tensor(np.array([1.0, 2.0, 4.0], np.float32), requires_grad=True)
    out = expression(t)
    assert isinstance(out, gn.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    out.backward(np.ones(3, np.float32))
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad, grad, rtol=1e-6)


def test_matmul_with_a_plain_array_on_the_right():
    t = gn.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    out = t @ np.eye(2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [1.0, 2.0])


# ---- gradcheck -------------------------------------------------------------------------------


class _Square(Op):
    """c = a^2, with a backward that is right (factor 2) or deliberately wrong (factor 1)."""

    factor = 2.0

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad_out):
        return (self.factor * grad_out * self.a,)


class _WrongSquare(_Square):
    factor = 1.0


def test_gradcheck_passes_a_correct_custom_op(rng):
    assert gradcheck(lambda x: _Square.apply(x), [rng.normal(size=(3, 4))])


def test_gradcheck_names_input_and_element_of_a_wrong_backward():
    a = np.ones((2, 2))
    b = np.array([[0.0, 0.0], [0.0, 1.5]])  # at 0 the wrong factor goes unnoticed
    with pytest.raises(GradcheckError, match=r"gradcheck: input 1, element \(1, 1\): analytic"):
        gradcheck(lambda a, b: a * 2.0 + _WrongSquare.apply(b), [a, b])


def test_gradcheck_uses_random_directions_for_large_inputs(rng):
    x = rng.uniform(0.5, 1.5, (25, 20))  # 500 elements: more than the element-wise limit
    assert gradcheck(lambda a: _Square.apply(a), [x])
    with pytest.raises(GradcheckError, match=r"input 0, random direction 0: analytic directional"):
        gradcheck(lambda a: _WrongSquare.apply(a), [x])


def test_gradcheck_passes_integer_inputs_through_unchecked(rng):
    labels = np.array([0, 2, 1])
    assert gradcheck(gn.ops.softmax_cross_entropy, [rng.normal(size=(3, 3)), labels])


def test_numerical_grad_is_central_differences():
    x = gn.tensor(np.array([1.0, -2.0]))
    grad = numerical_grad(lambda t: t * t * t, [x], 0)
    np.testing.assert_allclose(grad, 3 * x.data**2, rtol=1e-8)
    np.testing.assert_array_equal(x.data, [1.0, -2.0])  # restored after each probe


def test_gradcheck_error_message_reports_both_values():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: _WrongSquare.apply(a), [np.array([2.0])])
    message = str(info.value)
    analytic, numeric = map(float, re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", message))
    assert numeric == pytest.approx(2 * analytic, rel=1e-6)  # the wrong backward lacks the 2




def test_each_leaf_owns_its_gradient_array():
    a, b = gn.tensor(np.ones(3), requires_grad=True), gn.tensor(np.ones(3), requires_grad=True)
    upstream = np.ones(3)
    (a + b).backward(upstream)
    assert a.grad is not b.grad and a.grad is not upstream


def test_tensor_of_a_float64_scalar_result_stays_float64():
    x = gn.tensor(np.ones(3), requires_grad=True)
    assert gn.tensor(x.sum()).dtype == np.float64
