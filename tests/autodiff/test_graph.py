"""The recorded graph as upper floors see it (``tensor.op``, ``op.inputs``, ``walk``), the
guard against in-place changes of saved arrays, copying and sharing constructors, repeated
backward passes, in-place accumulation of leaf gradients, and O(T) slicing."""

import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import IndexedGrad, walk
from glassnet.ops.activation import Tanh
from glassnet.ops.linalg import Linear

# ---- the public graph -------------------------------------------------------------------------


def test_a_tensor_names_its_op_and_the_op_its_inputs(rng):
    x = gn.tensor(rng.normal(size=(4, 3)))
    W = gn.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    net = ops.linear(x, W)
    a = ops.tanh(net)
    assert isinstance(a.op, Tanh) and a.op.inputs == (net,)
    assert isinstance(net.op, Linear) and net.op.inputs[0] is x and net.op.inputs[1] is W
    assert net.op.needs == (False, True)
    assert W.op is None and x.op is None


def test_walk_lists_newest_ops_first_then_the_leaves(rng):
    W = gn.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    b = gn.tensor(np.zeros(2), requires_grad=True)
    net = ops.linear(gn.tensor(rng.normal(size=(4, 3))), W, b)
    loss = ops.tanh(net).sum()
    order = walk(loss)
    assert order[0] is loss and order[2] is net
    assert {id(t) for t in order[3:]} == {id(W), id(b)}  # leaves that need a gradient
    assert all(t.op is None for t in order[3:])
    for i, t in enumerate(order):  # every tensor comes before the tensors it was made from
        for parent in (t.op.inputs if t.op is not None else ()):
            if parent.requires_grad:
                assert order.index(parent) > i


def test_no_graph_is_recorded_without_a_gradient_or_under_no_grad(rng):
    x = gn.tensor(rng.normal(size=3))
    assert ops.tanh(x).op is None
    with gn.no_grad():
        assert ops.tanh(gn.tensor(x.data, requires_grad=True)).op is None


def test_tensors_carry_no_loss_concerns():
    assert "_logits" not in gn.Tensor.__slots__
    a = ops.softmax(gn.tensor(np.zeros((2, 3)), requires_grad=True))
    assert not hasattr(a, "_logits")


# ---- in-place changes between forward and backward --------------------------------------------


def _forward(rng):
    W = gn.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    x = gn.tensor(rng.normal(size=(4, 3)))
    return W, x, ops.tanh(ops.linear(x, W)).sum()


def test_changing_a_saved_weight_in_place_before_backward_raises(rng):
    W, x, loss = _forward(rng)
    with pytest.raises(ValueError, match="read-only"):
        W.data[...] = 0.0  # would make the gradient wrong: linear saved W for grad_x
    with pytest.raises(ValueError, match="read-only"):
        x.data += 1.0  # the input was saved for grad_W
    loss.backward()
    W.data[...] = 0.0  # after backward the graph is released and the arrays writable again
    x.data += 1.0


def test_the_guard_is_lifted_when_the_graph_is_dropped_without_backward(rng):
    W, x, loss = _forward(rng)
    del loss
    W.data *= 2.0


def test_the_gradient_after_the_guard_is_the_true_one(rng):
    W, x, loss = _forward(rng)
    loss.backward()
    expected = ((1 - np.tanh(x.data @ W.data.T) ** 2).T @ x.data)
    np.testing.assert_allclose(W.grad, expected, rtol=1e-12)


def test_arrays_read_only_before_stay_read_only(rng):
    data = rng.normal(size=(2, 3))
    data.flags.writeable = False
    W = gn.from_numpy(data, requires_grad=True)
    loss = ops.tanh(ops.linear(gn.tensor(rng.normal(size=(4, 3))), W)).sum()
    loss.backward()
    assert not data.flags.writeable  # the guard only lifts what it set


def test_tensor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0, 3.0])
    copied, shared = gn.tensor(a), gn.from_numpy(a)
    a[0] = 10.0
    assert copied.data[0] == 1.0 and shared.data[0] == 10.0
    assert shared.data is a and shared.dtype == np.float64
    assert gn.from_numpy(np.arange(3)).dtype == np.arange(3).dtype  # keeps its dtype
    with pytest.raises(TypeError, match=r"from_numpy: expected a NumPy array, got list"):
        gn.from_numpy([1.0, 2.0])


# ---- repeated backward passes and accumulation ------------------------------------------------


def test_backward_twice_over_a_graph_that_saved_nothing_accumulates():
    x = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x + x).sum()
    y.backward()
    y.backward()  # as torch: nothing was saved, so nothing was freed
    np.testing.assert_array_equal(x.grad, [4.0, 4.0, 4.0])


def test_backward_twice_over_a_graph_that_saved_arrays_raises():
    x = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_a_leaf_gradient_accumulates_into_the_same_array():
    x = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    assert x.grad is first  # in place: an optimizer's gradient buffer stays one array
    np.testing.assert_array_equal(first, 3.0 + 2 * x.data)


def test_a_gradient_shared_by_two_leaves_is_not_aliased():
    a = gn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = gn.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    (a * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_gradients_come_back_in_each_inputs_dtype(rng):
    x = gn.tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    s = gn.tensor(np.array(2.0), requires_grad=True)  # a 0-d float64 tensor
    y = x * s
    assert y.dtype == np.float32  # the 0-d tensor does not promote the dimensioned one
    y.sum().backward()
    assert x.grad.dtype == np.float32 and s.grad.dtype == np.float64
    np.testing.assert_allclose(s.grad, x.data.sum(), rtol=1e-6)


# ---- slicing a sequence -----------------------------------------------------------------------


def test_slice_gradients_add_up_including_repeated_indices(rng):
    x = gn.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    index = np.array([0, 2, 2, 4])
    (x[:, 1].sum() * 2.0 + x[1].sum() + x[:, index].sum()).backward()
    expected = np.zeros((3, 5))
    expected[:, 1] += 2.0
    expected[1] += 1.0
    np.add.at(expected, (slice(None), index), 1.0)
    np.testing.assert_array_equal(x.grad, expected)


def test_a_slice_gradient_is_indexed_until_it_meets_another():
    piece = IndexedGrad((2, 3), np.float64, (slice(None), 1), np.ones(2), True)
    np.testing.assert_array_equal(piece.dense(), [[0, 1, 0], [0, 1, 0]])
    assert piece.astype(np.float32).dense().dtype == np.float32


def _backward_allocations(T, rng):
    """Bytes the backward of an RNN-like loop over x[:, t] allocates, summed over the steps:
    tracemalloc's peak within each step (between the hooks on consecutive slices) above the
    memory held when the step began."""
    x = gn.tensor(rng.normal(size=(4, T, 8)), requires_grad=True)
    h, slices = None, []
    for t in range(T):
        x_t = x[:, t]
        slices.append(x_t)
        h = ops.tanh(x_t if h is None else x_t + h)
    loss = h.sum()
    steps = []

    def mark(grad):
        current, peak = tracemalloc.get_traced_memory()
        steps.append((current, peak))
        tracemalloc.reset_peak()

    for x_t in slices:
        x_t.register_hook(mark)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        loss.backward()
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    steps.append((end, peak))
    total, before = 0, start
    for current, peak in steps:
        total += max(peak - before, 0)
        before = current
    return total, x.grad


def test_the_backward_of_step_by_step_slicing_allocates_memory_linear_in_T(rng):
    totals = {}
    for T in (200, 400, 800):
        totals[T], grad = _backward_allocations(T, rng)
        assert grad.shape == (4, T, 8)
    full_size = 4 * 800 * 8 * 8  # bytes of one float64 array of x's shape at T = 800
    # a full-size array of zeros per slice (the O(T^2) backward) allocated 1,600 of them here
    # (328 MB); now one, plus a few KB per step for the step's own small gradients
    assert totals[800] < 20 * full_size, totals
    assert totals[800] / totals[200] < 4 * 1.5, totals  # linear: 4x the steps, ~4x the bytes
