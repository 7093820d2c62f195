"""Residual and Concat (gradients, shapes, saving) and model.summary."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.autodiff import gradcheck
from glassnet.errors import ShapeError


def _block(seed, width=4):
    return nn.Sequential(
        nn.Dense(width, width, "tanh", seed=seed, dtype=np.float64),
        nn.Dense(width, width, seed=seed + 1, dtype=np.float64),
    )


def test_residual_adds_the_input_and_its_gradient_follows_both_paths(rng):
    block = _block(0)
    residual = nn.Residual(block)
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(residual.predict(x), block.predict(x) + x, rtol=1e-12)
    assert gradcheck(lambda t: residual(t), [x])
    # delta_x = F'(x)^T delta_y + delta_y: the shortcut adds the delta itself
    t = gn.tensor(x, requires_grad=True)
    residual(t).sum().backward()
    u = gn.tensor(x, requires_grad=True)
    block(u).sum().backward()
    np.testing.assert_allclose(t.grad, u.grad + 1.0, rtol=1e-12)


def test_residual_with_a_projection_and_concat_gradients(rng):
    projection = nn.Dense(4, 3, seed=5, dtype=np.float64)
    residual = nn.Residual(nn.Dense(4, 3, "tanh", seed=6, dtype=np.float64), projection=projection)
    concat = nn.Concat(_block(7), nn.Dense(4, 2, "relu", seed=9, dtype=np.float64), axis=1)
    x = rng.normal(size=(3, 4))
    assert gradcheck(lambda t: residual(t), [x])
    assert gradcheck(lambda t: concat(t), [x])
    assert concat.predict(x).shape == (3, 6)
    params = [p for p in residual.parameters()] + [p for p in concat.parameters()]
    assert len(params) == 4 + 6


def test_a_residual_shape_mismatch_says_which_projection_to_use():
    x = gn.tensor(np.zeros((2, 4), np.float32))
    with pytest.raises(
        ShapeError,
        match=r"block gives \(2, 6\) but the shortcut \(2, 4\); "
        r"pass projection=Dense\(4, 6\)",
    ):
        nn.Residual(nn.Dense(4, 6))(x)

    class Halve(nn.Module):  # a stand-in for a strided conv block: (N, 3, 8, 8) -> (N, 5, 4, 4)
        def forward(self, x):
            return gn.ops.concatenate([x[:, :, ::2, ::2], x[:, :2, ::2, ::2]], axis=1)

    with pytest.raises(ShapeError, match=r"projection=Conv2d\(3, 5, 1, stride=2\)"):
        nn.Residual(Halve())(gn.tensor(np.zeros((1, 3, 8, 8), np.float32)))


def test_concat_names_the_branch_that_does_not_fit():
    concat = nn.Concat(nn.Dense(4, 2), nn.Sequential(nn.Dense(4, 2), nn.Dense(2, 2)), axis=0)
    with pytest.raises(
        ShapeError, match=r"branch 1 gives \(2, 3\), branch 0 gives \(2, 2\)"
    ) as info:
        nn.Concat(nn.Dense(4, 2), nn.Dense(4, 3), axis=0)(gn.tensor(np.zeros((2, 4), np.float32)))
    assert "every axis but 0" in str(info.value)
    assert concat.predict(np.zeros((2, 4))).shape == (4, 2)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: nn.Residual("block"),
            TypeError,
            "expected block to be a glassnet Module, got str",
        ),
        (lambda: nn.Residual(nn.Dense(2, 2), projection=3), TypeError, "expected projection"),
        (lambda: nn.Concat(), ValueError, "at least one branch"),
        (lambda: nn.Concat(nn.Dense(2, 2), None), TypeError, "expected branch 1"),
        (lambda: nn.Concat(nn.Dense(2, 2), axis=1.0), ValueError, "axis to be an int"),
    ],
)
def test_blocks_refuse_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_blocks_save_and_load_with_identical_outputs(tmp_path, rng):
    model = nn.Sequential(
        nn.Dense(4, 4, "relu", seed=0),
        nn.Residual(nn.Sequential(nn.Dense(4, 4, "tanh", seed=1), nn.Dense(4, 4, seed=2))),
        nn.Residual(nn.Dense(4, 3, seed=3), projection=nn.Dense(4, 3, seed=4)),
        nn.Concat(nn.Dense(3, 2, seed=5), nn.Dense(3, 1, seed=6)),
        nn.Dense(3, 2, "softmax", seed=7),
    )
    gn.save(model, tmp_path / "m.npz")
    loaded = gn.load(tmp_path / "m.npz")
    x = rng.normal(size=(5, 4))
    assert np.array_equal(model.predict(x), loaded.predict(x))
    assert [type(m).__name__ for _, m in loaded.named_modules()] == [
        type(m).__name__ for _, m in model.named_modules()
    ]


def test_a_description_without_the_sub_modules_is_a_file_format_error(tmp_path):
    from glassnet.errors import FileFormatError
    from glassnet.io.save import build

    with pytest.raises(
        FileFormatError, match=r"expected the sub-modules \['block', 'projection'\]"
    ):
        build({"class": "Residual", "config": {}, "modules": {"block": None}})


def test_residual_networks_train(rng):
    # seed 0 data and weights: a 2-8-(residual 8)-1 net fits sin(x0) + x1 to a small error
    X = rng.uniform(-1, 1, size=(64, 2))
    y = np.sin(3 * X[:, :1]) + X[:, 1:]
    model = nn.Sequential(
        nn.Dense(2, 8, "tanh", seed=0),
        nn.Residual(_block(1, 8).astype(np.float32)),
        nn.Dense(8, 1, seed=3),
    )
    history = gn.fit(
        model, X, y, loss="mse", optimizer="adam", lr=0.01, epochs=150, verbose=0, seed=0
    )
    assert history.history["loss"][-1] < 0.01 < history.history["loss"][0]


def test_summary_lists_layers_shapes_and_parameters():
    lines = []
    model = nn.Sequential(
        nn.Dense(4, 8, "relu"),
        nn.Dropout(0.5),
        nn.Residual(nn.Dense(8, 8)),
        nn.Dense(8, 3, "softmax"),
    )
    rows = model.summary((4,), print_fn=lines.append)
    assert [(r["name"], r["output_shape"], r["params"]) for r in rows] == [
        ("layers.0", (None, 8), 40),
        ("layers.1", (None, 8), 0),
        ("layers.2.block", (None, 8), 72),
        ("layers.3", (None, 3), 27),
    ]
    assert lines[-1] == "Total parameters: 139" and lines[0].startswith("Layer (type)")
    assert model.training  # the mode is restored


def test_summary_names_the_layer_a_shape_cannot_pass():
    model = nn.Sequential(nn.Dense(4, 8, "relu"), nn.Dense(6, 3))
    with pytest.raises(
        ShapeError, match=r"Dense\(6 -> 3, identity\): expected input \(batch, 6\), got \(1, 8\)"
    ):
        model.summary((4,), print_fn=lambda line: None)
    with pytest.raises(ValueError, match="input_shape as a tuple of positive ints"):
        model.summary((0, 4))


@pytest.mark.parametrize("second, message", [
    (nn.Conv2d(2, 3, 5), r"Conv2d\(2, 3, kernel_size=5, stride=1\): conv2d: expected a padded "
                         r"input at least as large as the dilated kernel \(5, 5\), got padded "
                         r"input size \(3, 3\)"),
    (nn.MaxPool2d(4), r"MaxPool2d\(kernel_size=4, stride=4\): max_pool2d: expected kernel_size "
                      r"\(4, 4\) no larger than the padded input \(3, 3\)"),
    (nn.ConvTranspose2d(2, 2, 3, padding=4), r"ConvTranspose2d\(2, 2, .*\): conv_transpose2d: "
                                              r"expected a positive output size"),
])  # fmt: skip
def test_an_image_too_small_for_a_later_layer_names_that_layer(second, message):
    # the op finds that its window does not fit; the layer adds its own name, so that summary,
    # predict and fit say which of the network's layers it was
    model = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), second)
    for run in (lambda: model.summary((1, 5, 5), print_fn=lambda line: None),
                lambda: model.predict(np.zeros((2, 1, 5, 5), np.float32))):  # fmt: skip
        with pytest.raises(ShapeError, match=message):
            run()
