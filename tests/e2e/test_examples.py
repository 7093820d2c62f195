"""The CNN examples (examples/*.py) run end to end with tiny settings and learn something.

Each floor sits well above what a network that does not learn reaches (chance: 10% for the
digits; for the segmentation, the pixel accuracy of calling every pixel background) and below
what the same settings measured with seed 0 (the figures in the comments).
"""

import numpy as np
import pytest

from tests.e2e._examples import load_example


@pytest.mark.parametrize(
    "name, argv, floor, printed",
    [
        # measured test accuracy with seed 0: 0.459, 0.449, 0.495
        ("lenet5_mnist", ["--epochs", "1", "--limit", "1024"], 0.3, "Total parameters: 61,706"),
        ("resnet_mnist", ["--epochs", "1", "--limit", "512", "--batch-size", "32"], 0.22,
         "layers.8.projection.layers.0 (Conv2d)       (None, 64, 4, 4)"),
        ("inception_mnist", ["--epochs", "1", "--limit", "1024", "--batch-size", "16"], 0.3,
         "pool -> 1x1 8 = 60 out"),
    ],
    ids=["lenet5", "resnet", "inception"],
)  # fmt: skip
def test_mnist_examples_learn(name, argv, floor, printed, capsys):
    result = load_example(name).main(argv + ["--seed", "0"])
    assert result["test_accuracy"] > floor  # chance is 0.1
    assert set(result["history"]) == {"loss", "accuracy"}
    out = capsys.readouterr().out
    n = argv[argv.index("--limit") + 1]
    assert f"{n} training and {n} test images" in out and printed in out
    assert f"test accuracy {result['test_accuracy']:.4f}" in out


def test_fcn_example_beats_the_background_only_baseline(capsys):
    fcn = load_example("fcn_segmentation")
    result = fcn.main(["--epochs", "2", "--limit", "256", "--batch-size", "8", "--seed", "0"])
    # measured with seed 0: pixel accuracy 0.863 against 0.821 for all background; mean IoU
    # 0.329 against 0.821 / 4 = 0.205 for all background (classes 1-3 at IoU 0)
    baseline = result["background_only"]
    assert 0.7 < baseline < 0.9
    assert result["pixel_accuracy"] > baseline + 0.02
    assert result["mean_iou"] > baseline / 4 + 0.05
    assert np.nanmean(result["class_iou"]) == pytest.approx(result["mean_iou"])
    assert set(result["history"]) == {"loss", "accuracy", "mean_iou"}
    out = capsys.readouterr().out
    assert f"mean IoU {result['mean_iou']:.4f}" in out and "test IoU per class" in out


def test_fcn_shapes_are_seeded_and_labelled_where_they_are_drawn():
    shapes = load_example("fcn_segmentation").shapes
    X, y = shapes(64, seed=3)
    X2, y2 = shapes(64, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X.shape == (64, 1, 32, 32) and X.dtype == np.float32
    assert y.shape == (64, 32, 32) and set(np.unique(y)) == {0, 1, 2, 3}
    # shapes are 0.6 to 1.2 brighter than the noise around them
    assert X[:, 0][y > 0].mean() > X[:, 0][y == 0].mean() + 0.6
    assert not np.array_equal(shapes(64, seed=4)[1], y)


def test_filters_example_draws_the_kernels_before_and_after_training(tmp_path, capsys):
    result = load_example("cnn_filters").main(["--epochs", "1", "--limit", "512", "--seed", "0",
                                               "--out", str(tmp_path)])  # fmt: skip
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["filters-after.png", "filters-before.png", "maps-after.png",
                     "maps-before.png"]  # fmt: skip
    assert all(p.stat().st_size > 1000 for p in tmp_path.iterdir())  # pictures, not empty files
    assert result["rms"]["after"] != result["rms"]["before"]  # training moved the kernels
    assert result["accuracy"] > 0.2  # chance is 0.1
    assert "wrote " in capsys.readouterr().out
