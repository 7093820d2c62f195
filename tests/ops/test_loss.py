"""Behaviour of the loss ops: stability at logits of +-1000, the fused ops against the
compositions they replace, what "mean" divides by, and the boundary checks with their messages."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.errors import ShapeError

LOGITS_1000 = np.array(
    [
        [1000.0, -1000.0, 0.0],
        [-1000.0, 1000.0, 1000.0],
        [-1000.0, -1000.0, 1000.0],
        [0.0, 0.0, -1000.0],
    ]
)
LABELS = np.array([1, 2, 2, 0])  # rows 0 and 3 put the label on a hopeless logit


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# ---- stability at +-1000 ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_is_finite_at_1000_and_its_delta_is_a_minus_y(dtype, reduction):
    x = gn.tensor(LOGITS_1000.astype(dtype), requires_grad=True)
    loss = ops.softmax_cross_entropy(x, LABELS, reduction=reduction)
    loss.backward()
    n = len(LABELS) if reduction == "mean" else 1
    expected_loss = -_log_softmax(LOGITS_1000)[np.arange(4), LABELS].sum() / n
    assert np.isfinite(loss.item()) and np.isfinite(x.grad).all()
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-6)
    one_hot = np.eye(3)[LABELS]
    delta = (_softmax(LOGITS_1000) - one_hot) / n  # a - y, divided by the number of samples
    np.testing.assert_allclose(x.grad, delta, rtol=1e-6, atol=1e-7)
    assert x.grad.dtype == dtype


def test_softmax_cross_entropy_with_soft_targets_is_finite_at_1000():
    soft = np.array([[0.2, 0.3, 0.5]] * 4)
    x = gn.tensor(LOGITS_1000, requires_grad=True)
    loss = ops.softmax_cross_entropy(x, soft)
    loss.backward()
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), -(soft * _log_softmax(LOGITS_1000)).sum() / 4)
    np.testing.assert_allclose(x.grad, (_softmax(LOGITS_1000) - soft) / 4, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_sigmoid_binary_cross_entropy_is_finite_at_1000_and_its_delta_is_a_minus_y(
    dtype, reduction
):
    logits = np.array([[1000.0, -1000.0], [1000.0, -1000.0], [0.0, 3.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.5]])
    x = gn.tensor(logits.astype(dtype), requires_grad=True)
    loss = ops.sigmoid_binary_cross_entropy(x, y, reduction=reduction)
    loss.backward()
    n = y.size if reduction == "mean" else 1  # binary: the number of elements
    # hopeless: 1000 each; certain and right: 0; at 0: ln 2; at 3 with y = 0.5: 3/2 + ln(1 + e^-3)
    expected = (1000 + 1000 + 0 + 0 + np.log(2) + 1.5 + np.log1p(np.exp(-3.0))) / n
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    a = 1 / (1 + np.exp(-np.clip(logits, -500, 500)))
    np.testing.assert_allclose(x.grad, (a - y) / n, rtol=1e-6, atol=1e-7)
    assert np.isfinite(x.grad).all() and x.grad.dtype == dtype


# ---- fused ops against the compositions they replace ----------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_equals_log_softmax_then_pick(rng, reduction):
    logits, labels = rng.normal(0, 3, (6, 5)), rng.integers(0, 5, 6)
    fused_x = gn.tensor(logits, requires_grad=True)
    composed_x = gn.tensor(logits, requires_grad=True)
    fused = ops.softmax_cross_entropy(fused_x, labels, reduction=reduction)
    picked = ops.getitem(ops.log_softmax(composed_x), (np.arange(6), labels))
    composed = -(ops.mean(picked) if reduction == "mean" else ops.sum(picked))
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=1e-12)
    np.testing.assert_allclose(fused_x.grad, composed_x.grad, rtol=1e-10, atol=1e-14)


def test_softmax_cross_entropy_equals_cross_entropy_of_softmax(rng):
    logits, soft = rng.normal(0, 3, (6, 5)), _softmax(rng.normal(size=(6, 5)))
    fused_x = gn.tensor(logits, requires_grad=True)
    composed_x = gn.tensor(logits, requires_grad=True)
    fused = ops.softmax_cross_entropy(fused_x, soft)
    composed = ops.cross_entropy(ops.softmax(composed_x), soft)
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=1e-12)
    np.testing.assert_allclose(fused_x.grad, composed_x.grad, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_sigmoid_binary_cross_entropy_equals_sigmoid_then_binary_cross_entropy(rng, reduction):
    logits, y = rng.normal(0, 3, (6, 3)), rng.random((6, 3))
    fused_x = gn.tensor(logits, requires_grad=True)
    composed_x = gn.tensor(logits, requires_grad=True)
    fused = ops.sigmoid_binary_cross_entropy(fused_x, y, reduction=reduction)
    composed = ops.binary_cross_entropy(ops.sigmoid(composed_x), y, reduction=reduction)
    fused.backward()
    composed.backward()
    np.testing.assert_allclose(fused.item(), composed.item(), rtol=1e-10)
    np.testing.assert_allclose(fused_x.grad, composed_x.grad, rtol=1e-8, atol=1e-14)


# ---- what the reductions divide by (worked by hand) ------------------------------------------


def test_sse_mean_divides_by_samples_and_mse_by_elements():
    a = gn.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    zeros = np.zeros((2, 2))
    # 1/2 (1 + 4 + 9 + 16) = 15; over 2 samples: 7.5.  MSE: 30 over 4 elements: 7.5 as well,
    # so a third shape tells them apart: 1/2 (1 + 4 + 9) = 7 over 1 sample; MSE 14 over 3.
    assert ops.sse(a, zeros).item() == 15.0
    assert ops.sse(a, zeros, reduction="mean").item() == 7.5
    assert ops.mse(a, zeros).item() == 7.5
    assert ops.mse(a, zeros, reduction="sum").item() == 30.0
    row = gn.tensor(np.array([[1.0, 2.0, 3.0]]))
    assert ops.sse(row, np.zeros((1, 3)), reduction="mean").item() == 7.0
    np.testing.assert_allclose(ops.mse(row, np.zeros((1, 3))).item(), 14.0 / 3)
    assert ops.l1(row, np.zeros((1, 3))).item() == 2.0
    loss = ops.sse(a, zeros, reduction="mean")
    loss.backward()
    np.testing.assert_array_equal(a.grad, a.data / 2)  # delta = (a - y) / n samples


def test_binary_cross_entropy_clamps_log_at_minus_100_so_hopeless_predictions_stay_finite():
    p = gn.tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = ops.binary_cross_entropy(p, y, reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(200.0)  # two hopeless predictions at 100 each
    assert np.isfinite(p.grad).all()


def test_cross_entropy_of_a_zero_probability_is_finite():
    p = gn.tensor(np.array([[0.0, 1.0], [0.5, 0.5]]), requires_grad=True)
    loss = ops.cross_entropy(p, np.array([0, 1]), reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(100.0 + np.log(2.0))
    assert np.isfinite(p.grad).all()


def test_target_tensor_is_a_constant():
    a = gn.tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    y = gn.tensor(np.array([[0.0, 0.0]]), requires_grad=True)
    ops.mse(a, y).backward()
    assert a.grad is not None and y.grad is None


# ---- boundary checks ---------------------------------------------------------------------------

CLASS_LOSSES = [ops.softmax_cross_entropy, ops.cross_entropy]


@pytest.mark.parametrize("loss", CLASS_LOSSES)
def test_label_out_of_range_names_label_and_index(loss):
    labels = np.array([0, 9, 3, 10, 2])
    outputs = gn.tensor(np.full((5, 10), 0.1))
    with pytest.raises(
        ValueError,
        match=rf"{loss.__name__}: labels must be in 0\.\.9 for 10 classes, got 10 at index 3",
    ):
        loss(outputs, labels)


@pytest.mark.parametrize("loss", CLASS_LOSSES)
def test_negative_label_is_rejected(loss):
    with pytest.raises(
        ValueError, match=r"labels must be in 0\.\.3 for 4 classes, got -1 at index 1"
    ):
        loss(gn.tensor(np.full((3, 4), 0.25)), np.array([0, -1, 2]))


@pytest.mark.parametrize("loss", CLASS_LOSSES)
def test_float_labels_are_rejected(loss):
    with pytest.raises(TypeError, match=r"integer class labels, got dtype float64"):
        loss(gn.tensor(np.full((3, 4), 0.25)), np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("loss", CLASS_LOSSES)
def test_soft_target_of_wrong_shape_names_both_shapes(loss):
    with pytest.raises(
        ShapeError, match=rf"{loss.__name__}: expected target of shape \(5, 4\).*got \(5, 3\)"
    ):
        loss(gn.tensor(np.full((5, 4), 0.25)), np.full((5, 3), 1 / 3))


ELEMENTWISE_LOSSES = [
    ops.sse, ops.mse, ops.l1, ops.binary_cross_entropy, ops.sigmoid_binary_cross_entropy,
]  # fmt: skip


@pytest.mark.parametrize("loss", ELEMENTWISE_LOSSES)
def test_shape_mismatch_raises_shape_error_naming_both_shapes(loss):
    with pytest.raises(
        ShapeError, match=rf"{loss.__name__}: expected target of shape \(3, 4\).*got \(3, 5\)"
    ):
        loss(gn.tensor(np.full((3, 4), 0.5)), np.full((3, 5), 0.5))


@pytest.mark.parametrize("loss", ELEMENTWISE_LOSSES)
def test_column_output_accepts_flat_target(loss, rng):
    output = rng.uniform(0.1, 0.9, (5, 1))
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    flat_x, column_x = gn.tensor(output, requires_grad=True), gn.tensor(output, requires_grad=True)
    flat, column = loss(flat_x, y), loss(column_x, y.reshape(5, 1))
    flat.backward()
    column.backward()
    assert flat.item() == column.item()
    np.testing.assert_array_equal(flat_x.grad, column_x.grad)


@pytest.mark.parametrize("loss", ELEMENTWISE_LOSSES + CLASS_LOSSES)
def test_unknown_reduction_raises(loss):
    x = gn.tensor(np.full((2, 3), 0.5))
    with pytest.raises(
        ValueError, match=rf"{loss.__name__}: expected reduction 'mean' or 'sum', got 'none'"
    ):
        loss(
            x, np.array([0, 1]) if loss in CLASS_LOSSES else np.full((2, 3), 0.5), reduction="none"
        )


def test_ignore_index_drops_padded_steps_as_if_they_were_not_there(rng):
    """Tagging logits (N, C, T) with padded steps labelled -1: the loss and the gradient are
    those of the real steps alone; an all-ignored batch gives 0 and no gradient."""
    logits = rng.normal(size=(2, 3, 4))
    labels = np.array([[0, 2, -1, -1], [1, 1, 2, -1]])
    x = gn.tensor(logits, requires_grad=True)
    loss = ops.softmax_cross_entropy(x, labels, ignore_index=-1)
    loss.backward()
    real = labels != -1
    rows = gn.tensor(np.moveaxis(logits, 1, -1)[real], requires_grad=True)
    alone = ops.softmax_cross_entropy(rows, labels[real])
    alone.backward()
    assert loss.item() == pytest.approx(alone.item(), rel=1e-12)
    grad = np.moveaxis(x.grad, 1, -1)
    np.testing.assert_allclose(grad[real], rows.grad, rtol=1e-12)
    assert not grad[~real].any()
    x = gn.tensor(logits, requires_grad=True)
    nothing = ops.softmax_cross_entropy(x, np.full((2, 4), 7), ignore_index=7)
    nothing.backward()
    assert nothing.item() == 0.0 and not x.grad.any()


def test_ignore_index_bad_arguments():
    x = gn.tensor(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="expected ignore_index None or an int label, got 1.5"):
        ops.softmax_cross_entropy(x, np.array([0, 1, 1]), ignore_index=1.5)
    with pytest.raises(TypeError, match=r"ignore_index needs integer labels .* got float64"):
        ops.softmax_cross_entropy(x, np.eye(2)[[0, 1, 1]], ignore_index=0)
    with pytest.raises(ValueError, match="labels must be in 0..1 for 2 classes, got 5 at index 1"):
        ops.softmax_cross_entropy(x, np.array([0, 5, -100]), ignore_index=-100)
