"""Batch normalisation as one fused op: gradients in training and eval mode, torch's
BatchNorm1d over several steps (running statistics included), the composition of small ops it
replaces, dtypes, and the errors it raises."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops
from glassnet.autodiff import gradcheck
from glassnet.errors import ShapeError
from tests.conftest import require


def _leaves(*arrays):
    return [gn.tensor(a, requires_grad=True) for a in arrays]


def _inputs(rng, n=6, features=4, dtype=np.float64):
    x = rng.normal(1.0, 2.0, (n, features))
    gamma, beta = rng.uniform(0.5, 1.5, features), rng.uniform(-1, 1, features)
    return [a.astype(dtype) for a in (x, gamma, beta)]


def _composed(x, gamma, beta, running_mean=None, running_var=None, training=True, eps=1e-5):
    """The same normalisation from small ops (the graph the fused op replaces)."""
    if training:
        mu = ops.mean(x, axis=0)
        centred = ops.sub(x, mu)
        var = ops.mean(ops.mul(centred, centred), axis=0)
    else:
        centred = ops.sub(x, gn.tensor(running_mean))
        var = gn.tensor(running_var)
    x_hat = ops.div(centred, ops.sqrt(ops.add(var, eps)))
    return ops.add(ops.mul(gamma, x_hat), beta)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_float64(rng, training):
    x, gamma, beta = _inputs(rng)
    running_mean, running_var = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    assert gradcheck(
        lambda x, g, b: ops.batch_norm(x, g, b, running_mean, running_var, training=training),
        [x, gamma, beta],
    )


def test_gradcheck_with_constant_gamma_and_beta(rng):
    x, gamma, beta = _inputs(rng)
    assert gradcheck(lambda x: ops.batch_norm(x, gn.tensor(gamma), gn.tensor(beta)), [x])


@pytest.mark.parametrize("training", [True, False])
def test_fused_op_equals_the_composition(rng, training):
    x, gamma, beta = _inputs(rng)
    running_mean, running_var = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    upstream = rng.uniform(-1, 1, x.shape)
    fused_in, composed_in = _leaves(x, gamma, beta), _leaves(x, gamma, beta)
    fused = ops.batch_norm(*fused_in, running_mean.copy(), running_var.copy(), training=training)
    composed = _composed(*composed_in, running_mean, running_var, training=training)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12, atol=1e-12)
    fused.backward(upstream)
    composed.backward(upstream)
    for name, a, b in zip(("x", "gamma", "beta"), fused_in, composed_in):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12, err_msg=f"grad_{name}")


def test_training_output_has_zero_mean_and_unit_variance_per_feature(rng):
    x, _, _ = _inputs(rng, n=50)
    y = ops.batch_norm(gn.tensor(x), gn.tensor(np.ones(4)), gn.tensor(np.zeros(4)), eps=1e-12).data
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-9)


def test_gradient_closed_forms(rng):
    # training: the rows of grad_x sum to zero and are orthogonal to x_hat (the mean and the
    # scale of a feature cannot change y); eval: grad_x = gamma / sqrt(running_var + eps) * g
    x, gamma, beta = _inputs(rng)
    g = rng.uniform(-1, 1, x.shape)
    xs = _leaves(x, gamma, beta)
    ops.batch_norm(*xs).backward(g)
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(xs[0].grad.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose((xs[0].grad * x_hat).sum(axis=0), 0.0, atol=1e-4)  # eps = 1e-5
    np.testing.assert_allclose(xs[1].grad, (g * x_hat).sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(xs[2].grad, g.sum(axis=0), rtol=1e-12)
    running_mean, running_var = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    xs = _leaves(x, gamma, beta)
    ops.batch_norm(*xs, running_mean, running_var, training=False).backward(g)
    np.testing.assert_allclose(xs[0].grad, gamma / np.sqrt(running_var + 1e-5) * g, rtol=1e-12)


def test_running_statistics_update_in_place_with_the_unbiased_variance(rng):
    x, gamma, beta = _inputs(rng, n=8)
    running_mean, running_var = np.full(4, 0.5), np.full(4, 2.0)
    mean_id, var_id = id(running_mean), id(running_var)
    ops.batch_norm(*_leaves(x, gamma, beta), running_mean, running_var, momentum=0.25)
    np.testing.assert_allclose(running_mean, 0.75 * 0.5 + 0.25 * x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(running_var, 0.75 * 2.0 + 0.25 * x.var(0, ddof=1), rtol=1e-14)
    assert (id(running_mean), id(running_var)) == (mean_id, var_id)
    before = running_mean.copy(), running_var.copy()
    ops.batch_norm(*_leaves(x, gamma, beta), running_mean, running_var, training=False)
    np.testing.assert_array_equal(running_mean, before[0])  # eval mode only reads them
    np.testing.assert_array_equal(running_var, before[1])
    with gn.no_grad():  # the statistics are state, not gradient bookkeeping: updated as in torch
        ops.batch_norm(*_leaves(x, gamma, beta), running_mean, running_var)
    assert not np.array_equal(running_mean, before[0])


def _compare_a_step_with_torch(torch, reference, x, g, gamma, beta, running, **kwargs):
    """One forward and backward (upstream gradient g) through ops.batch_norm and through the
    torch module: the outputs and the gradients of x, gamma and beta agree."""
    xs = _leaves(x, gamma, beta)
    y = ops.batch_norm(*xs, *running, **kwargs)
    y.backward(g)
    for p in reference.parameters():
        p.grad = None
    t_x = torch.tensor(x, requires_grad=True)
    t_y = reference(t_x)
    t_y.backward(torch.as_tensor(g))
    np.testing.assert_allclose(y.data, t_y.detach().numpy(), rtol=1e-10, atol=1e-10)
    for ours, theirs in ((xs[0].grad, t_x.grad), (xs[1].grad, reference.weight.grad),
                         (xs[2].grad, reference.bias.grad)):  # fmt: skip
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)


def test_matches_torch_batchnorm1d_over_training_steps_then_eval(rng):
    torch = require("torch")
    features, momentum = 4, 0.3
    reference = torch.nn.BatchNorm1d(features, momentum=momentum, dtype=torch.float64)
    gamma, beta = rng.uniform(0.5, 1.5, features), rng.uniform(-1, 1, features)
    with torch.no_grad():
        reference.weight.copy_(torch.as_tensor(gamma))
        reference.bias.copy_(torch.as_tensor(beta))
    running = np.zeros(features), np.ones(features)
    for step in range(4):
        x = rng.normal(step, 1.0 + step, (7, features))
        g = rng.uniform(-1, 1, x.shape)
        _compare_a_step_with_torch(torch, reference, x, g, gamma, beta, running, momentum=momentum)
        for ours, theirs in zip(running, (reference.running_mean, reference.running_var)):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)
    reference.eval()
    x, g = rng.normal(size=(3, features)), rng.uniform(-1, 1, (3, features))
    _compare_a_step_with_torch(torch, reference, x, g, gamma, beta, running, training=False)


@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32_with_float64_running_statistics(rng, training):
    x, gamma, beta = _inputs(rng, dtype=np.float32)
    running_mean, running_var = np.zeros(4), np.ones(4)  # float64 buffers do not up-cast y
    xs = _leaves(x, gamma, beta)
    y = ops.batch_norm(*xs, running_mean, running_var, training=training)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, np.float32))
    assert [t.grad.dtype for t in xs] == [np.float32] * 3
    assert running_mean.dtype == np.float64


def test_plain_array_input_is_a_constant(rng):
    x, gamma, beta = _inputs(rng)
    y = ops.batch_norm(x, *_leaves(gamma, beta))
    np.testing.assert_allclose(y.data, ops.batch_norm(*_leaves(x, gamma, beta)).data)


def _args(n=4, features=3):
    return (
        gn.tensor(np.ones((n, features))),
        gn.tensor(np.ones(features)),
        gn.tensor(np.zeros(features)),
    )


@pytest.mark.parametrize(
    "x_shape, gamma_shape, beta_shape, match",
    [
        ((4,), (4,), (4,), r"batch_norm: expected x of shape \(batch, features\) or \(batch, "
                           r"channels, \*spatial\), got \(4,\)"),
        ((2, 3, 4), (4,), (4,), r"batch_norm: expected gamma of shape \(3,\), got \(4,\)"),
        ((2, 3, 4, 4), (3,), (4,), r"batch_norm: expected beta of shape \(3,\), got \(4,\)"),
        ((4, 3), (4,), (3,), r"batch_norm: expected gamma of shape \(3,\), got \(4,\)"),
        ((4, 3), (3,), (1, 3), r"batch_norm: expected beta of shape \(3,\), got \(1, 3\)"),
    ],
)
def test_wrong_shapes_name_expected_and_actual(x_shape, gamma_shape, beta_shape, match):
    x, gamma, beta = (gn.tensor(np.ones(s)) for s in (x_shape, gamma_shape, beta_shape))
    with pytest.raises(ShapeError, match=match):
        ops.batch_norm(x, gamma, beta)


def test_running_statistics_of_the_wrong_shape_or_kind():
    x, gamma, beta = _args()
    with pytest.raises(
        ShapeError, match=r"batch_norm: expected running_var of shape \(3,\), got \(4,\)"
    ):
        ops.batch_norm(x, gamma, beta, np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="expected both running_mean and running_var or neither"):
        ops.batch_norm(x, gamma, beta, np.zeros(3))
    with pytest.raises(
        TypeError, match="expected running_mean as a floating NumPy array .* got list"
    ):
        ops.batch_norm(x, gamma, beta, [0.0, 0.0, 0.0], np.ones(3))


def test_a_batch_of_one_in_training_is_an_error_and_fine_in_eval():
    x, gamma, beta = _args(n=1)
    message = (r"batch_norm: expected more than one value per feature in training, got input of "
               r"shape \(1, 3\); the variance of a single value is undefined \(use eval mode\)")
    with pytest.raises(ValueError, match=message):
        ops.batch_norm(x, gamma, beta, np.zeros(3), np.ones(3))
    y = ops.batch_norm(x, gamma, beta, np.zeros(3), np.ones(3), training=False)
    np.testing.assert_allclose(y.data, 1 / np.sqrt(1 + 1e-5))


def test_torch_also_rejects_a_batch_of_one():
    torch = require("torch")
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        torch.nn.functional.batch_norm(torch.ones(1, 3), None, None, training=True)


def test_eval_mode_needs_running_statistics_and_settings_are_checked():
    x, gamma, beta = _args()
    with pytest.raises(
        ValueError, match=r"expected running_mean and running_var in eval mode .* got None"
    ):
        ops.batch_norm(x, gamma, beta, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected momentum in \[0, 1\], got 1.5"):
        ops.batch_norm(x, gamma, beta, momentum=1.5)
    with pytest.raises(ValueError, match="batch_norm: expected eps > 0, got 0"):
        ops.batch_norm(x, gamma, beta, eps=0)


# ---- per channel of (N, C, H, W) and (N, C, L) input ------------------------------------------


def _channels_last(a):
    """(N, C, *spatial) -> (N * prod(spatial), C): one row per value of each channel."""
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


@pytest.mark.parametrize("shape", [(3, 4, 2, 5), (2, 4, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_channels_are_the_features_of_the_2d_op(rng, shape, training):
    # NCHW batch norm is the 2-D op on the (N H W, C) matrix of the same values: outputs,
    # gradients and running statistics alike
    x = rng.normal(1.0, 2.0, shape)
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.uniform(-1, 1, 4)
    g = rng.uniform(-1, 1, shape)
    running = [rng.normal(size=4), rng.uniform(0.5, 2, 4)]
    running_2d = [r.copy() for r in running]
    ours = _leaves(x, gamma, beta)
    y = ops.batch_norm(*ours, *running, training=training, momentum=0.3)
    y.backward(g)
    flat = _leaves(_channels_last(x), gamma, beta)
    y_2d = ops.batch_norm(*flat, *running_2d, training=training, momentum=0.3)
    y_2d.backward(_channels_last(g))
    np.testing.assert_allclose(_channels_last(y.data), y_2d.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_channels_last(ours[0].grad), flat[0].grad, rtol=1e-10, atol=1e-12)
    pairs = [(ours[1].grad, flat[1].grad), (ours[2].grad, flat[2].grad), *zip(running, running_2d)]
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_batch_last_input_as_convolutions_make_it_equals_nchw(rng, training):
    """A convolution's output is an NCHW view of a batch-last (C, H, W, N) array; there the
    per-channel sums are products with channel rows. Same outputs and gradients as for the
    same values in C order (float64, 1e-12), and float32 within 1e-5 of float64."""
    from glassnet.ops import normalization

    x = rng.normal(3.0, 2.0, (5, 4, 6, 7))
    g = rng.uniform(-1, 1, x.shape)
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.uniform(-1, 1, 4)
    results = []
    cases = ((np.float64, "C"), (np.float64, "batch-last"), (np.float32, "batch-last"))
    for dtype, layout in cases:
        a, up = x.astype(dtype), g.astype(dtype)
        if layout == "batch-last":
            a = np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
            up = np.ascontiguousarray(up.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
        leaves = _leaves(a, gamma.astype(dtype), beta.astype(dtype))
        assert (normalization._channel_rows(leaves[0].data) is None) == (layout == "C")
        running = [np.zeros(4), np.ones(4)]
        y = ops.batch_norm(*leaves, *running, training=training, momentum=0.5)
        y.backward(up)
        results.append([y.data, *(leaf.grad for leaf in leaves), *running])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(results[2], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_running_variance_counts_every_value_of_a_channel(rng):
    # unbiased over n = N H W values per channel, as torch's BatchNorm2d
    x = rng.normal(size=(2, 3, 2, 2))
    running_mean, running_var = np.zeros(3), np.ones(3)
    ops.batch_norm(*_leaves(x, np.ones(3), np.zeros(3)), running_mean, running_var, momentum=1.0)
    np.testing.assert_allclose(running_mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(running_var, x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)


def test_matches_torch_batchnorm2d_over_training_steps_then_eval(rng):
    torch = require("torch")
    channels, momentum = 3, 0.2
    reference = torch.nn.BatchNorm2d(channels, momentum=momentum, dtype=torch.float64)
    gamma, beta = rng.uniform(0.5, 1.5, channels), rng.uniform(-1, 1, channels)
    with torch.no_grad():
        reference.weight.copy_(torch.as_tensor(gamma))
        reference.bias.copy_(torch.as_tensor(beta))
    running = np.zeros(channels), np.ones(channels)
    for step in range(3):
        x = rng.normal(step, 1.0 + step, (2, channels, 3, 2))
        g = rng.uniform(-1, 1, x.shape)
        _compare_a_step_with_torch(torch, reference, x, g, gamma, beta, running, momentum=momentum)
        for ours, theirs in zip(running, (reference.running_mean, reference.running_var)):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)
    reference.eval()
    x, g = rng.normal(size=(1, channels, 2, 2)), rng.uniform(-1, 1, (1, channels, 2, 2))
    _compare_a_step_with_torch(torch, reference, x, g, gamma, beta, running, training=False)


def test_nchw_float32_stays_float32(rng):
    x = rng.normal(size=(2, 3, 2, 2)).astype(np.float32)
    xs = _leaves(x, np.ones(3, np.float32), np.zeros(3, np.float32))
    y = ops.batch_norm(*xs, np.zeros(3), np.ones(3))
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == np.float32 and [t.grad.dtype for t in xs] == [np.float32] * 3


def test_one_sample_with_spatial_axes_trains_one_value_per_channel_does_not():
    gamma, beta = gn.tensor(np.ones(3)), gn.tensor(np.zeros(3))
    x = gn.tensor(np.arange(12.0).reshape(1, 3, 2, 2))
    assert ops.batch_norm(x, gamma, beta).shape == (1, 3, 2, 2)  # n = H W = 4 values
    with pytest.raises(ValueError, match=r"more than one value per feature .* \(1, 3, 1, 1\)"):
        ops.batch_norm(gn.tensor(np.ones((1, 3, 1, 1))), gamma, beta)
