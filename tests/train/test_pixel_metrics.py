"""Per-position metrics: pixel accuracy and (mean) intersection over union, by hand, through
evaluate and fit, and their errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.errors import ShapeError
from glassnet.nn import Conv2d, Sequential
from glassnet.train import metrics

# One 2x3 image: predicted classes P and target classes T.
P = np.array([[[0, 1, 1], [2, 2, 0]]])
T = np.array([[[0, 1, 2], [2, 0, 0]]])
# right at (0,0), (0,1), (1,0), (1,2): 4 of 6.
# class 0: P {(0,0), (1,2)}, T {(0,0), (1,1), (1,2)}: 2 / 3
# class 1: P {(0,1), (0,2)}, T {(0,1)}: 1 / 2
# class 2: P {(1,0), (1,1)}, T {(0,2), (1,0)}: 1 / 3          mean 1.5 / 3 = 0.5


def scores_for(predicted, n_classes=3):
    """(n, C, H, W) scores whose argmax over axis 1 is ``predicted`` (n, H, W)."""
    one_hot = np.eye(n_classes)[predicted]  # (n, H, W, C)
    return np.moveaxis(one_hot, -1, 1) * 0.8 + 0.1


def test_pixel_accuracy_counts_positions():
    scores = scores_for(P)
    assert scores.shape == (1, 3, 2, 3)
    assert metrics.accuracy(scores, T) == pytest.approx(4 / 6)
    assert metrics.zero_one(scores, T) == pytest.approx(2 / 6)
    np.testing.assert_array_equal(metrics.predicted_classes(scores), P)


def test_pixel_accuracy_against_one_hot_targets_per_position():
    one_hot = np.moveaxis(np.eye(3)[T], -1, 1)  # (1, 3, 2, 3)
    assert metrics.accuracy(scores_for(P), one_hot) == pytest.approx(4 / 6)


def test_pixel_accuracy_pools_the_positions_of_all_samples():
    # a second image, all predicted and all labelled 0: 6 more right, (4 + 6) / 12
    predicted = np.concatenate([P, np.zeros_like(P)])
    target = np.concatenate([T, np.zeros_like(T)])
    assert metrics.accuracy(scores_for(predicted), target) == pytest.approx(10 / 12)


def test_single_channel_per_position_uses_the_threshold():
    output = np.array([[[[0.2, 0.7], [0.6, 0.4]]]])  # (1, 1, 2, 2): > 0.5 is [[0, 1], [1, 0]]
    target = np.array([[[0, 1], [0, 0]]])
    assert metrics.accuracy(output, target) == pytest.approx(3 / 4)
    assert metrics.accuracy(output, target[:, None]) == pytest.approx(3 / 4)  # (1, 1, 2, 2)
    assert metrics.accuracy(output, target, threshold=0.65) == 1.0
    # two classes: 0: P {(0,0), (1,1)}, T {(0,0), (1,0), (1,1)}: 2/3;
    #              1: P {(0,1), (1,0)}, T {(0,1)}: 1/2
    np.testing.assert_allclose(metrics.class_iou(output, target), [2 / 3, 1 / 2])
    assert metrics.mean_iou(output, target) == pytest.approx(7 / 12)


def test_one_and_three_spatial_axes():
    # (n, C, L): predicted [1, 0, 0, 1] against [1, 1, 0, 0]
    scores = np.array([[[0.1, 0.9, 0.8, 0.3], [0.9, 0.1, 0.2, 0.7]]])
    labels = np.array([[1, 1, 0, 0]])
    assert metrics.accuracy(scores, labels) == 0.5
    # 0: P {1, 2}, T {2, 3}: 1/3; 1: P {0, 3}, T {0, 1}: 1/3
    np.testing.assert_allclose(metrics.class_iou(scores, labels), [1 / 3, 1 / 3])
    # (n, C, D, H, W): the image above as one slice of depth 1
    volume = scores_for(P)[:, :, None]
    assert metrics.accuracy(volume, T[:, None]) == pytest.approx(4 / 6)
    assert metrics.mean_iou(volume, T[:, None]) == pytest.approx(0.5)


def test_class_iou_and_mean_iou_by_hand():
    np.testing.assert_allclose(metrics.class_iou(scores_for(P), T), [2 / 3, 1 / 2, 1 / 3])
    assert metrics.mean_iou(scores_for(P), T) == pytest.approx(0.5)


def test_a_class_absent_from_prediction_and_target_is_left_out_of_the_mean():
    # four output channels, class 3 neither predicted nor in the target: NaN, not 0 or 1
    iou = metrics.class_iou(scores_for(P, 4), T)
    np.testing.assert_allclose(iou[:3], [2 / 3, 1 / 2, 1 / 3])
    assert np.isnan(iou[3])
    assert metrics.mean_iou(scores_for(P, 4), T) == pytest.approx(0.5)  # 0.375 if counted as 0


def test_a_class_in_only_one_of_prediction_and_target_counts_as_zero():
    # T's pixel (1, 1) relabelled 3 (never predicted): class 0 now 2 / 2, class 3 0 / 1
    target = T.copy()
    target[0, 1, 1] = 3
    np.testing.assert_allclose(metrics.class_iou(scores_for(P, 4), target), [1, 1 / 2, 1 / 3, 0])
    assert metrics.mean_iou(scores_for(P, 4), target) == pytest.approx((1 + 1 / 2 + 1 / 3) / 4)


def test_iou_is_counted_over_all_samples_not_averaged_per_image():
    predicted = np.concatenate([P, np.zeros_like(P)])
    target = np.concatenate([T, np.zeros_like(T)])
    # class 0: 2 + 6 of 3 + 6; classes 1 and 2 as before. Per image it would be (0.5 + 1) / 2.
    np.testing.assert_allclose(metrics.class_iou(scores_for(predicted), target),
                               [8 / 9, 1 / 2, 1 / 3])  # fmt: skip
    assert metrics.mean_iou(scores_for(predicted), target) == pytest.approx(31 / 54)


def test_mean_iou_of_a_classifier_per_sample():
    output = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = np.array([1, 0, 1, 2])  # predicted [1, 0, 2, 1]
    # 0: P {1}, T {1}: 1; 1: P {0, 3}, T {0, 2}: 1/3; 2: P {2}, T {3}: 0
    np.testing.assert_allclose(metrics.class_iou(output, labels), [1, 1 / 3, 0])
    assert metrics.mean_iou(output, labels) == pytest.approx(4 / 9)
    assert metrics.mean_iou(output, np.eye(3)[labels]) == pytest.approx(4 / 9)


@pytest.mark.parametrize("metric", ["accuracy", "mean_iou", "zero_one"])
def test_targets_of_the_wrong_shape_are_refused(metric):
    fn = metrics.NAMES[metric]
    who = "accuracy" if metric == "zero_one" else metric
    message = (rf"{who}: expected labels of shape \(1, 2, 3\) or targets of shape \(1, 3, 2, 3\) "
               rf"for output of shape \(1, 3, 2, 3\) \(classes on axis 1\), got ")  # fmt: skip
    for target in (np.zeros((1, 2, 4)), np.zeros((2, 2, 3)), np.zeros((1, 6)),
                   np.zeros((1, 3, 3, 2))):  # fmt: skip
        with pytest.raises(ShapeError, match=message + rf"\({', '.join(map(str, target.shape))}"):
            fn(scores_for(P), target.astype(np.int64))


def test_per_sample_outputs_for_other_samples_are_refused():
    with pytest.raises(ShapeError, match=r"mean_iou: expected output and target for the same "
                       r"samples, got output \(4, 3\) and target \(5,\)"):  # fmt: skip
        metrics.mean_iou(np.zeros((4, 3)), np.zeros(5, np.int64))


@pytest.mark.parametrize(
    "label, shown", [(3, "3"), (-1, "-1"), (0.5, "0.5")], ids=["too large", "negative", "fraction"]
)
def test_iou_refuses_labels_outside_the_classes(label, shown):
    target = T.astype(np.float64)
    target[0, 1, 0] = label  # flat index 3
    with pytest.raises(ValueError, match=rf"mean_iou: expected target labels in 0..2 for 3 "
                       rf"classes, got {shown} at flat index 3"):  # fmt: skip
        metrics.mean_iou(scores_for(P), target)
    with pytest.raises(ValueError, match=r"class_iou: expected target labels in 0..2"):
        metrics.class_iou(scores_for(P), target)


def test_iou_of_no_samples_is_an_error():
    with pytest.raises(ValueError, match="mean_iou: expected at least one sample, got none"):
        metrics.mean_iou(np.zeros((0, 3, 2, 2)), np.zeros((0, 2, 2), np.int64))


def test_mean_iou_is_a_registered_metric():
    assert metrics.get("mean_iou") == ("mean_iou", metrics.mean_iou)
    with pytest.raises(ValueError, match=r"metric 'iou' is unknown; choose one of: .*mean_iou"):
        metrics.get("iou")


def pixel_classifier():
    """A 1x1 convolution that predicts class 0 for input 0, class 1 for 1, class 2 for -1:
    scores (0.5, x, -x)."""
    model = Sequential(Conv2d(1, 3, 1, seed=0))
    model.layers[0].W.data[...] = np.array([0.0, 1.0, -1.0]).reshape(3, 1, 1, 1)
    model.layers[0].b.data[...] = [0.5, 0.0, 0.0]
    return model


def images_for(predicted):
    """Inputs (n, 1, H, W) that pixel_classifier maps to the classes ``predicted``."""
    return np.array([0.0, 1.0, -1.0], np.float32)[predicted][:, None]


def test_evaluate_scores_pixel_accuracy_and_mean_iou_on_the_whole_set():
    X = images_for(np.concatenate([P, np.zeros_like(P)]))
    y = np.concatenate([T, np.zeros_like(T)])
    for batch_size in (1, 1024):  # one image per forward pass, or all: the same figures
        scores = gn.evaluate(pixel_classifier(), X, y, loss="cross_entropy",
                             metrics=["accuracy", "mean_iou"], batch_size=batch_size)  # fmt: skip
        assert scores["accuracy"] == pytest.approx(10 / 12)
        assert scores["mean_iou"] == pytest.approx(31 / 54)


def test_fit_logs_pixel_metrics_for_training_and_validation():
    rng = np.random.default_rng(0)
    predicted = rng.integers(0, 3, (8, 4, 4))
    X, y = images_for(predicted), predicted  # the classifier is right everywhere at the start
    model = pixel_classifier()
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer="sgd", lr=1e-9, epochs=1,
                     batch_size=4, metrics=["accuracy", "mean_iou"], validation_data=(X, y),
                     verbose=0)  # fmt: skip
    for key in ("accuracy", "mean_iou", "val_accuracy", "val_mean_iou"):
        assert history.history[key] == [1.0]
    y_wrong = (predicted + 1) % 3  # every pixel wrong: accuracy 0, every class IoU 0
    scores = gn.evaluate(model, X, y_wrong, loss="cross_entropy", metrics=["accuracy", "mean_iou"])
    assert scores["accuracy"] == 0.0 and scores["mean_iou"] == 0.0
