"""fit: the History, batch sizes through one code path, a hand-written loop, validation,
seeds, dtypes, closures, output layers and losses, and divergence."""

import math
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, ops
from glassnet.errors import ShapeError
from glassnet.nn import Dense, Sequential
from glassnet.nn import loss as losses
from glassnet.optim import SGD, Optimizer


def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.sin(2.0 * X[:, :1]) + 0.5 * X[:, 1:]
    return X, y


def _blobs(n=90, classes=3, seed=0):
    """Three well separated Gaussian blobs in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-2.0, 2.0], [-2.0, -2.0]])[:classes]
    y = np.arange(n) % classes
    X = centres[y] + 0.5 * rng.normal(size=(n, 2))
    return X, y


def _mlp(out=1, activation=None, seed=0, dtype=np.float64, hidden=8):
    return Sequential(
        Dense(2, hidden, "tanh", seed=seed, dtype=dtype),
        Dense(hidden, out, activation, seed=seed + 1, dtype=dtype),
    )


# -- History -----------------------------------------------------------------------------


def test_history_keys_lengths_and_stop_reason():
    X, y = _blobs()
    net = _mlp(out=3)
    history = gn.fit(
        net,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=4,
        metrics=["accuracy"],
        validation_split=0.2,
        verbose=0,
        seed=0,
    )
    assert isinstance(history, gn.History)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert history.stop_reason is None
    assert all(
        isinstance(v, float) and math.isfinite(v) for vs in history.history.values() for v in vs
    )
    assert all(
        0.0 <= v <= 1.0 for v in history.history["accuracy"] + history.history["val_accuracy"]
    )


def test_zero_epochs_trains_nothing():
    X, y = _regression()
    net = _mlp()
    before = net.state_dict()
    history = gn.fit(net, X, y, loss="mse", epochs=0, verbose=0)
    assert history.history == {} and history.epoch == [] and history.stop_reason is None
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# -- batch sizes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "batch_size, steps_per_epoch", [(1, 64), (32, 2), (None, 1), (100, 1), (20, 4)]
)
def test_online_mini_batch_and_full_batch_all_train(batch_size, steps_per_epoch):
    X, y = _regression()
    net = _mlp()
    opt = SGD(net.parameters(), lr=0.2 if batch_size is None or batch_size >= 32 else 0.02)
    history = gn.fit(
        net, X, y, loss="mse", optimizer=opt, epochs=30, batch_size=batch_size, verbose=0, seed=0
    )
    losses_ = history.history["loss"]
    assert len(losses_) == 30
    assert losses_[-1] < 0.5 * losses_[0]
    assert opt.t == 30 * steps_per_epoch  # one optimizer step per batch


def test_full_batch_sgd_equals_a_hand_written_loop():
    X, y = _regression(n=40)
    net, twin = _mlp(seed=3), _mlp(seed=3)
    gn.fit(
        net, X, y, loss="mse", optimizer="sgd", lr=0.3, epochs=3, batch_size=None, verbose=0, seed=0
    )
    # by hand: w := w - eta dE/dw on the whole training set, three times
    params = twin.parameters()
    for _ in range(3):
        for p in params:
            p.grad = None
        ops.mse(twin(Tensor(X)), y).backward()
        for p in params:
            p.data -= 0.3 * p.grad
    for (name, a), b in zip(net.named_parameters(), params):
        assert not np.allclose(a.data, _mlp(seed=3).state_dict()[name])  # it did train
        # shuffling permutes the rows of the one batch: only the summation order differs
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14, err_msg=name)


def test_mini_batches_without_shuffle_follow_the_data_order():
    X, y = _regression(n=12)
    net, twin = _mlp(seed=1), _mlp(seed=1)
    gn.fit(
        net,
        X,
        y,
        loss="mse",
        optimizer="sgd",
        lr=0.1,
        epochs=2,
        batch_size=5,
        shuffle=False,
        verbose=0,
    )
    params = twin.parameters()
    for _ in range(2):
        for start in (0, 5, 10):  # batches 0..4, 5..9, 10..11
            for p in params:
                p.grad = None
            ops.mse(twin(Tensor(X[start : start + 5])), y[start : start + 5]).backward()
            for p in params:
                p.data -= 0.1 * p.grad
    for a, b in zip(net.parameters(), params):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-13, atol=1e-15)


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    X, y = _regression(n=10)
    net = _mlp(seed=2)
    batch_losses = []

    class Spy(gn.train.Callback):
        def on_batch_end(self, batch, logs=None):
            batch_losses.append(logs["loss"])

    history = gn.fit(
        net,
        X,
        y,
        loss="mse",
        optimizer="sgd",
        lr=0.01,
        epochs=1,
        batch_size=4,
        shuffle=False,
        callbacks=[Spy()],
        verbose=0,
    )
    assert len(batch_losses) == 3  # 4 + 4 + 2 samples
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / 10
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


# -- validation, seeds, dtypes -----------------------------------------------------------


def test_validation_split_holds_out_the_last_fraction():
    X, y = _blobs(n=40)
    a, b = _mlp(out=3, seed=4), _mlp(out=3, seed=4)
    common = {
        "loss": "cross_entropy",
        "optimizer": "sgd",
        "lr": 0.1,
        "epochs": 3,
        "batch_size": 8,
        "metrics": ["accuracy"],
        "verbose": 0,
        "seed": 7,
    }
    split = gn.fit(a, X, y, validation_split=0.25, **common)
    explicit = gn.fit(b, X[:30], y[:30], validation_data=(X[30:], y[30:]), **common)
    assert split.history == explicit.history
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    # and the held-out part is really the last 10 samples: the final val_loss is theirs
    final = gn.evaluate(a, X[30:], y[30:], loss="cross_entropy")["loss"]
    assert split.history["val_loss"][-1] == pytest.approx(final, rel=1e-12)


def test_same_seed_same_weights_different_seed_different_weights():
    X, y = _regression()

    def run(seed):
        net = _mlp(seed=5)
        gn.fit(
            net,
            X,
            y,
            loss="mse",
            optimizer="adam",
            lr=0.01,
            epochs=3,
            batch_size=8,
            verbose=0,
            seed=seed,
        )
        return net.state_dict()

    first, again, other = run(11), run(11), run(12)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert any(not np.array_equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize(
    "model_dtype, data_dtype", [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_X_is_converted_to_the_model_dtype(model_dtype, data_dtype):
    X, y = _regression(n=16)
    net = _mlp(dtype=model_dtype)
    seen = []
    net.register_forward_hook(lambda m, inputs, out: seen.append((inputs[0].dtype, out.dtype)))
    gn.fit(
        net,
        X.astype(data_dtype),
        y.astype(data_dtype),
        loss="mse",
        epochs=1,
        batch_size=8,
        verbose=0,
    )
    assert seen and all(d == (np.dtype(model_dtype), np.dtype(model_dtype)) for d in seen)
    assert all(p.dtype == model_dtype for p in net.parameters())


# -- optimizers that need a closure --------------------------------------------------------


class ClosureSGD(Optimizer):
    """Plain gradient descent that insists on computing the gradient itself."""

    needs_closure = True

    def __init__(self, params, lr):
        super().__init__(params, lr)
        self.closure_calls = 0

    def step(self, closure=None):
        assert closure is not None, "fit must pass a closure"
        self.closure_calls += 1
        loss = closure()
        self.t += 1
        for p in self.params:
            p.data -= self.lr * p.grad
        return loss

    def update(self, w, g, state):  # pragma: no cover - step is overridden
        raise AssertionError("not used")


def test_needs_closure_gets_a_closure_and_the_batch_is_computed_once():
    X, y = _regression(n=20)
    net, twin = _mlp(seed=6), _mlp(seed=6)
    forwards = []
    net.register_forward_hook(lambda m, i, o: forwards.append(m.training))
    opt = ClosureSGD(net.parameters(), lr=0.1)
    history = gn.fit(
        net, X, y, loss="mse", optimizer=opt, epochs=2, batch_size=5, shuffle=False, verbose=0
    )
    assert opt.closure_calls == 8  # 4 batches x 2 epochs
    assert forwards.count(True) == 8  # one training forward per batch, none by fit itself
    # and it is plain gradient descent: the same weights as SGD
    gn.fit(
        twin,
        X,
        y,
        loss="mse",
        optimizer="sgd",
        lr=0.1,
        epochs=2,
        batch_size=5,
        shuffle=False,
        verbose=0,
    )
    for p, q in zip(net.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13, atol=1e-15)
    assert np.isfinite(history.history["loss"]).all()


# -- output layers and losses --------------------------------------------------------------


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_softmax_output_with_cross_entropy_uses_the_logits():
    X, y = _blobs(n=30)
    net = _mlp(out=3, activation="softmax", seed=8)
    out = net(Tensor(X))
    W1, b1, W2, b2 = (p.data for p in net.parameters())
    logits = np.tanh(X @ W1.T + b1) @ W2.T + b2
    expected = -_log_softmax(logits)[np.arange(30), y].mean()
    assert float(losses.get("cross_entropy")(out, y).data) == pytest.approx(expected, rel=1e-12)
    assert gn.evaluate(net, X, y, loss="cross_entropy")["loss"] == pytest.approx(
        expected, rel=1e-12
    )
    # the gradient is the fused one: delta = (softmax - onehot) / n at the logits
    loss = losses.get("cross_entropy")(out, y)
    loss.backward()
    a1 = np.tanh(X @ W1.T + b1)
    delta = (np.exp(_log_softmax(logits)) - np.eye(3)[y]) / 30
    np.testing.assert_allclose(net[1].W.grad, delta.T @ a1, rtol=1e-10, atol=1e-14)

    history = gn.fit(
        net,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        epochs=30,
        metrics=["accuracy"],
        verbose=0,
        seed=0,
    )
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert history.history["accuracy"][-1] >= 0.95
    probabilities = net.predict(X)
    assert probabilities.shape == (30, 3) and (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)


def test_a_linear_output_with_cross_entropy_is_trained_as_logits():
    X, y = _blobs(n=60)
    net = _mlp(out=3, seed=9)
    history = gn.fit(
        net,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        epochs=30,
        metrics=["accuracy"],
        verbose=0,
        seed=0,
    )
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert history.history["accuracy"][-1] >= 0.95
    logits = net.predict(X)
    assert not np.allclose(logits.sum(axis=1), 1.0)  # raw logits, as in torch
    assert (logits.argmax(axis=1) == y).mean() >= 0.95


def test_one_hot_targets_give_the_same_loss_as_labels():
    X, y = _blobs(n=30)
    net = _mlp(out=3, activation="softmax", seed=8)
    labels = gn.evaluate(net, X, y, loss="cross_entropy")["loss"]
    one_hot = gn.evaluate(net, X, np.eye(3)[y], loss="cross_entropy")["loss"]
    assert one_hot == pytest.approx(labels, rel=1e-12)


def test_huge_logits_keep_the_softmax_cross_entropy_finite():
    X, y = _blobs(n=30)
    net = _mlp(out=3, activation="softmax", seed=8)
    net[1].W.data *= 1000.0 / np.abs(net[1].W.data).max()  # logits of order +-1000
    W1, b1, W2, b2 = (p.data for p in net.parameters())
    logits = np.tanh(X @ W1.T + b1) @ W2.T + b2
    assert np.abs(logits).max() > 500
    expected = -_log_softmax(logits)[np.arange(30), y].mean()
    value = gn.evaluate(net, X, y, loss="cross_entropy")["loss"]
    assert math.isfinite(value) and value == pytest.approx(expected, rel=1e-12)
    assert value > 10  # really wrong for some samples, and still finite
    history = gn.fit(
        net, X, y, loss="cross_entropy", optimizer="sgd", lr=1e-3, epochs=2, verbose=0, seed=0
    )
    assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(p.data).all() for p in net.parameters())


def test_huge_logits_keep_the_sigmoid_binary_cross_entropy_finite():
    X, labels = _blobs(n=40, classes=2)
    y = labels.astype(float)
    net = _mlp(out=1, activation="sigmoid", seed=10)
    net[1].W.data *= 1000.0 / np.abs(net[1].W.data).max()
    W1, b1, W2, b2 = (p.data for p in net.parameters())
    z = (np.tanh(X @ W1.T + b1) @ W2.T + b2)[:, 0]
    assert np.abs(z).max() > 500
    expected = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    value = gn.evaluate(net, X, y, loss="binary_cross_entropy")["loss"]
    assert math.isfinite(value) and value == pytest.approx(expected, rel=1e-12)
    history = gn.fit(
        net,
        X,
        y,
        loss="binary_cross_entropy",
        optimizer="sgd",
        lr=1e-3,
        epochs=2,
        verbose=0,
        seed=0,
    )
    assert np.isfinite(history.history["loss"]).all()


def test_sigmoid_output_with_binary_cross_entropy_trains_and_predicts_probabilities():
    X, labels = _blobs(n=40, classes=2)
    net = _mlp(out=1, activation="sigmoid", seed=10)
    history = gn.fit(
        net,
        X,
        labels.astype(float),
        loss="binary_cross_entropy",
        optimizer="adam",
        lr=0.05,
        epochs=30,
        metrics=["accuracy"],
        verbose=0,
        seed=0,
    )
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    assert history.history["accuracy"][-1] >= 0.95
    p = net.predict(X)
    assert ((p > 0) & (p < 1)).all() and ((p[:, 0] > 0.5) == labels).mean() >= 0.95


def test_softmax_output_with_binary_cross_entropy_is_refused():
    X, y = _blobs(n=30)
    net = _mlp(out=3, activation="softmax")
    with pytest.raises(
        ValueError, match=r"binary_cross_entropy: expected a network ending in a sigmoid"
    ):
        gn.fit(net, X, np.eye(3)[y], loss="binary_cross_entropy", epochs=1, verbose=0)


def test_single_output_accepts_y_of_shape_n_and_n_1():
    X, y = _regression(n=24)
    a, b = _mlp(seed=12), _mlp(seed=12)
    h1 = gn.fit(
        a,
        X,
        y[:, 0],
        loss="mse",
        optimizer="sgd",
        lr=0.1,
        epochs=3,
        batch_size=8,
        verbose=0,
        seed=0,
    )
    h2 = gn.fit(
        b, X, y, loss="mse", optimizer="sgd", lr=0.1, epochs=3, batch_size=8, verbose=0, seed=0
    )
    assert h1.history == h2.history
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_output_target_mismatch_is_a_shape_error_naming_both_shapes():
    X, _ = _regression(n=20)
    net = _mlp(out=3)
    with pytest.raises(
        ShapeError, match=r"mse: expected target of shape \(\d+, 3\).*got \(\d+, 2\)"
    ):
        gn.fit(net, X, np.zeros((20, 2)), loss="mse", epochs=1, verbose=0)
    with pytest.raises(ShapeError, match=r"expected target of shape \(\d+, 3\).*got \(\d+,\)"):
        gn.fit(net, X, np.zeros(20), loss="mse", epochs=1, verbose=0)
    with pytest.raises(ShapeError, match=r"expected target of shape \(\d+, 1\).*got \(\d+, 2\)"):
        gn.fit(_mlp(out=1), X, np.zeros((20, 2)), loss="sse", epochs=1, verbose=0)


def test_output_target_mismatch_quotes_the_users_shapes():
    X, _ = _regression(n=20)
    with pytest.raises(ShapeError, match=r"\(20, 2\)"):
        gn.fit(_mlp(out=3), X, np.zeros((20, 2)), loss="mse", epochs=1, verbose=0)


# -- divergence ----------------------------------------------------------------------------


# a diverging run, its warning and the weights it keeps: tests/train/test_trainer.py


def test_divergence_in_the_last_step_still_leaves_finite_weights():
    X, y = _regression(n=16)
    net = _mlp(seed=14, dtype=np.float32)
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        # one full-batch step with a finite but absurd learning rate: the loss before the step
        # is finite, the weights after it overflow float32
        history = gn.fit(
            net,
            X,
            1e3 * y,
            loss="mse",
            optimizer="sgd",
            lr=1e38,
            epochs=1,
            batch_size=None,
            verbose=0,
        )
        finite = all(np.isfinite(p.data).all() for p in net.parameters())
    assert finite and history.stop_reason is not None


class _FullBatchSGD(SGD):
    full_batch = True


def test_a_full_batch_method_refuses_mini_batches():
    X, y = _regression(n=20)
    net = _mlp()
    before = net.state_dict()
    with pytest.raises(ValueError, match=r"_FullBatchSGD is a full-batch method.*"
                       r"batch_size=4 for 20 samples; pass batch_size=None"):
        gn.fit(net, X, y, loss="mse", optimizer=_FullBatchSGD(net.parameters(), lr=0.1),
               batch_size=4, verbose=0)
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    history = gn.fit(net, X, y, loss="mse", optimizer=_FullBatchSGD(net.parameters(), lr=0.1),
                     batch_size=None, epochs=3, verbose=0)  # fmt: skip
    assert len(history.history["loss"]) == 3


def test_batch_hooks_are_called_around_every_step():
    X, y = _regression(n=20)
    calls = []

    class Spy(gn.train.Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch))

    gn.fit(_mlp(), X, y, loss="mse", batch_size=8, epochs=2, callbacks=[Spy()], verbose=0)
    assert calls == [(kind, b) for _ in range(2) for b in range(3) for kind in ("begin", "end")]
