"""Metrics on hand-made arrays, and evaluate's dict keyed like the History."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Dense, Sequential
from glassnet.train import metrics

OUTPUT = np.array(
    [
        [0.1, 0.7, 0.2],  # class 1
        [0.5, 0.3, 0.2],  # class 0
        [0.2, 0.2, 0.6],  # class 2
        [0.3, 0.4, 0.3],
    ]
)  # class 1
LABELS = np.array([1, 0, 1, 2])  # right, right, wrong, wrong


def test_accuracy_of_several_outputs_is_argmax_against_labels():
    assert metrics.accuracy(OUTPUT, LABELS) == 0.5
    assert metrics.zero_one(OUTPUT, LABELS) == 0.5
    assert metrics.accuracy(OUTPUT, np.array([1, 0, 2, 1])) == 1.0
    assert metrics.zero_one(OUTPUT, np.array([0, 1, 0, 0])) == 1.0


def test_accuracy_against_one_hot_targets():
    one_hot = np.eye(3)[LABELS]
    assert metrics.accuracy(OUTPUT, one_hot) == 0.5
    assert metrics.accuracy(OUTPUT, np.eye(3)[[1, 0, 2, 0]]) == 0.75


def test_single_output_uses_the_threshold():
    output = np.array([[0.2], [0.6], [0.51], [0.9], [0.4]])
    target = np.array([0, 1, 0, 1, 1])
    # > 0.5: [0, 1, 1, 1, 0] -> 3 of 5 right
    assert metrics.accuracy(output, target) == pytest.approx(0.6)
    assert metrics.accuracy(output, target.reshape(-1, 1)) == pytest.approx(0.6)
    assert metrics.zero_one(output, target) == pytest.approx(0.4)
    # logits: threshold 0
    logits = np.array([-1.0, 0.5, -0.1, 2.0, 0.0])
    # > 0: [0, 1, 0, 1, 0] against [0, 1, 0, 1, 1] -> 4 of 5 right
    assert metrics.accuracy(logits, target, threshold=0.0) == pytest.approx(0.8)
    np.testing.assert_array_equal(metrics.predicted_classes(logits, 0.0), [0, 1, 0, 1, 0])


def test_mse_and_mae_by_hand():
    output = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[1.5, 2.0], [1.0, 5.0]])
    # differences -0.5, 0, 2, -1: squares 0.25 + 0 + 4 + 1 = 5.25 -> 1.3125; |.| 3.5 -> 0.875
    assert metrics.mse(output, target) == pytest.approx(1.3125, rel=1e-15)
    assert metrics.mae(output, target) == pytest.approx(0.875, rel=1e-15)
    # a single output against targets of shape (n,)
    assert metrics.mse(np.array([[1.0], [2.0]]), np.array([0.0, 4.0])) == pytest.approx(2.5)
    assert metrics.mae(np.array([[1.0], [2.0]]), np.array([0.0, 4.0])) == pytest.approx(1.5)


@pytest.mark.parametrize("metric", [metrics.mse, metrics.mae])
def test_mse_and_mae_refuse_targets_that_would_broadcast(metric):
    # (4, 1) - (5,) broadcasts to (4, 5): twenty differences of unrelated pairs, no error
    with pytest.raises(gn.errors.ShapeError, match=rf"{metric.__name__}: expected a target of "
                       r"the output's shape \(4, 1\), got \(5,\)"):  # fmt: skip
        metric(np.zeros((4, 1)), np.zeros(5))


def test_accuracy_refuses_a_target_for_other_samples():
    with pytest.raises(gn.errors.ShapeError, match=r"accuracy: expected output and target for "
                       r"the same samples, got output \(4, 3\) and target \(5,\)"):  # fmt: skip
        metrics.accuracy(OUTPUT[:4], np.zeros(5))


def test_get_by_name_and_callable():
    assert metrics.get("accuracy") == ("accuracy", metrics.accuracy)

    def hits(output, target):
        return float((output.argmax(axis=1) == target).sum())

    name, fn = metrics.get(hits)
    assert name == "hits" and fn(OUTPUT, LABELS) == 2.0


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match=r"metric 'precision' is unknown; choose one of: ") as info:
        metrics.get("precision")
    for name in ("accuracy", "zero_one", "mse", "mae"):
        assert name in str(info.value)
    net = Sequential(Dense(2, 2, seed=0))
    with pytest.raises(ValueError, match=r"metric 'acc' is unknown"):
        gn.fit(
            net,
            np.ones((4, 2)),
            np.array([0, 1, 0, 1]),
            loss="cross_entropy",
            metrics=["acc"],
            verbose=0,
        )


def test_evaluate_returns_a_dict_keyed_like_the_history():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(25, 2)), rng.integers(0, 3, 25)
    net = Sequential(
        Dense(2, 5, "tanh", seed=0, dtype=np.float64), Dense(5, 3, seed=1, dtype=np.float64)
    )
    history = gn.fit(
        net,
        X,
        y,
        loss="cross_entropy",
        metrics=["accuracy", "zero_one"],
        epochs=2,
        validation_data=(X, y),
        verbose=0,
        seed=0,
    )
    scores = gn.evaluate(net, X, y, loss="cross_entropy", metrics=["accuracy", "zero_one"])
    assert list(scores) == ["loss", "accuracy", "zero_one"]
    assert all(f"val_{key}" in history.history for key in scores)
    assert scores["loss"] == history.history["val_loss"][-1]
    logits = net.predict(X)
    assert scores["accuracy"] == pytest.approx((logits.argmax(axis=1) == y).mean(), abs=1e-15)
    assert scores["zero_one"] == pytest.approx(1.0 - scores["accuracy"], abs=1e-15)


def test_evaluate_loss_is_independent_of_batch_size():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(23, 2)), rng.normal(size=(23, 1))
    net = Sequential(
        Dense(2, 4, "tanh", seed=0, dtype=np.float64), Dense(4, 1, seed=1, dtype=np.float64)
    )
    reference = gn.evaluate(net, X, y, loss="mse", metrics=["mae"])
    expected = np.mean((net.predict(X) - y) ** 2)
    assert reference["loss"] == pytest.approx(expected, rel=1e-12)
    assert reference["mae"] == pytest.approx(np.mean(np.abs(net.predict(X) - y)), rel=1e-12)
    for batch_size in (1, 5, 22):
        scores = gn.evaluate(net, X, y, loss="mse", metrics=["mae"], batch_size=batch_size)
        assert scores["loss"] == pytest.approx(reference["loss"], rel=1e-12)
    # 'sse' is a sum over samples, so batches add up to the total
    total = 0.5 * np.sum((net.predict(X) - y) ** 2)
    assert gn.evaluate(net, X, y, loss="sse", batch_size=5)["loss"] == pytest.approx(
        total, rel=1e-12
    )


def test_evaluate_restores_training_mode():
    net = Sequential(Dense(2, 2, seed=0))
    net.train()
    gn.evaluate(net, np.ones((3, 2)), np.array([0, 1, 1]), loss="cross_entropy")
    assert net.training and net[0].training
