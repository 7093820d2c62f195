"""Adversarial examples: the input gradient against central differences, FGSM's exact eps
step and clipping, and the issue's MNIST check (a 97% network falls below 50% at eps = 0.1)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor, nn
from glassnet.nn import loss as losses
from glassnet.train import fgsm, input_gradient


def _tiny_model(seed=0, batch_norm=False):
    rng = np.random.default_rng(seed)
    middle = [nn.BatchNorm(5, dtype=np.float64), nn.Tanh()] if batch_norm else [nn.Tanh()]
    return nn.Sequential(nn.Dense(4, 5, seed=rng, dtype=np.float64), *middle,
                         nn.Dropout(0.5, seed=rng),
                         nn.Dense(5, 3, "softmax", seed=rng, dtype=np.float64))  # fmt: skip


def _central_differences(model, X, y, loss_fn, eps=1e-6):
    """dL/dX by central differences, L the mean loss in eval mode."""
    model.eval()
    grad = np.zeros_like(X)
    with gn.no_grad():
        for k in np.ndindex(*X.shape):
            plus, minus = X.copy(), X.copy()
            plus[k] += eps
            minus[k] -= eps
            value = [
                float(loss_fn.function(model(Tensor(Z)), y, "mean").data) for Z in (plus, minus)
            ]
            grad[k] = (value[0] - value[1]) / (2 * eps)
    model.train()
    return grad


@pytest.mark.parametrize("loss, batch_norm", [("cross_entropy", False), ("cross_entropy", True),
                                              ("sse", False)])  # fmt: skip
def test_input_gradient_matches_central_differences(rng, loss, batch_norm):
    model = _tiny_model(batch_norm=batch_norm)
    X = rng.uniform(0, 1, (6, 4))
    y = np.array([0, 2, 1, 1, 0, 2]) if loss == "cross_entropy" else rng.uniform(0, 1, (6, 3))
    if batch_norm:  # running statistics away from their initial values
        with gn.no_grad():
            model(Tensor(rng.normal(0.5, 2.0, (20, 4))))
    grad = input_gradient(model, X, y, loss=loss)
    assert grad.shape == X.shape and grad.dtype == np.float64
    expected = _central_differences(model, X, y, losses.get(loss))
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


def test_input_gradient_leaves_the_model_as_it_was(rng):
    model = _tiny_model(batch_norm=True)
    X, y = rng.uniform(0, 1, (5, 4)), np.array([0, 1, 2, 0, 1])
    state = model.state_dict()
    first = input_gradient(model, X, y, loss="cross_entropy")
    assert model.training and all(m.training for _, m in model.named_modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    for name, value in model.state_dict().items():  # eval mode: running statistics untouched
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    np.testing.assert_array_equal(
        input_gradient(model, X, y, loss="cross_entropy"), first
    )  # no dropout


def test_input_gradient_accepts_a_callable_loss(rng):
    model = _tiny_model()
    X, y = rng.uniform(0, 1, (5, 4)), rng.uniform(0, 1, (5, 3))
    grad = input_gradient(model, X, y, loss=lambda a, t: gn.ops.mse(a, t))
    np.testing.assert_allclose(grad, input_gradient(model, X, y, loss="mse"), rtol=1e-12)
    summed = input_gradient(model, X, y, loss=lambda a, t: gn.ops.sse(a, t, "sum"))
    np.testing.assert_allclose(
        input_gradient(model, X, y, loss="sse"), summed / 5, rtol=1e-12
    )  # mean


def test_input_gradient_checks_its_input():
    with pytest.raises(
        gn.errors.ShapeError, match="input_gradient: .* expects 4 features, got X with 3"
    ):
        input_gradient(_tiny_model(), np.ones((2, 3)), np.array([0, 1]), loss="cross_entropy")


def test_fgsm_moves_every_pixel_by_eps_in_the_sign_of_the_gradient(rng):
    model = _tiny_model()
    X, y = rng.uniform(0.2, 0.8, (8, 4)), rng.integers(0, 3, 8)
    grad = input_gradient(model, X, y, loss="cross_entropy")
    assert np.all(grad != 0)
    x_adv = fgsm(model, X, y, loss="cross_entropy", eps=0.1)
    np.testing.assert_allclose(x_adv - X, 0.1 * np.sign(grad), rtol=0, atol=1e-15)
    cross_entropy = losses.get("cross_entropy")
    clean, attacked = (float(cross_entropy(Tensor(model.predict(Z)), y).data) for Z in (X, x_adv))
    assert attacked > clean
    np.testing.assert_array_equal(fgsm(model, X, y, loss="cross_entropy", eps=0), X)


def test_fgsm_clips_to_the_pixel_range_and_keeps_zero_gradients(rng):
    model = _tiny_model()
    model[0].W.data[:, 3] = 0.0  # feature 3 does not affect the loss: its gradient is zero
    X, y = rng.choice([0.0, 0.05, 0.95, 1.0], (8, 4)), rng.integers(0, 3, 8)
    grad = input_gradient(model, X, y, loss="cross_entropy")
    x_adv = fgsm(model, X, y, loss="cross_entropy", eps=0.3)
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    np.testing.assert_array_equal(x_adv, np.clip(X + 0.3 * np.sign(grad), 0, 1))
    np.testing.assert_array_equal(x_adv[:, 3], X[:, 3])


def test_fgsm_keeps_float32():
    model = nn.Sequential(nn.Dense(4, 3, "softmax", seed=0))
    x_adv = fgsm(model, np.full((2, 4), 0.5), np.array([0, 1]), loss="cross_entropy", eps=0.1)
    assert x_adv.dtype == np.float32
    np.testing.assert_allclose(np.abs(x_adv - 0.5), 0.1, rtol=1e-6)


@pytest.mark.parametrize("eps", [-0.1, float("nan"), float("inf"), "0.1", True, None])
def test_fgsm_rejects_a_bad_eps(eps):
    with pytest.raises(ValueError, match=r"fgsm: expected eps >= 0, got"):
        fgsm(_tiny_model(), np.ones((2, 4)), np.array([0, 1]), loss="cross_entropy", eps=eps)


@pytest.mark.slow
def test_fgsm_breaks_an_mnist_network_with_97_percent_accuracy():
    # 784-256-128-10 ReLU with dropout 0.2, softmax outputs + cross-entropy, Adam 1e-3, batch
    # 128, 15 epochs, seed 0 on the embedded subset (20,000 / 5,000): 97.4% on the clean test
    # set (seeds 0-4: 97.2-97.4%; without dropout this recipe gives 96.7-97.1%, not reliably 97%)
    (X, y), (X_test, y_test) = gn.data.load_mnist()
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Dense(784, 256, "relu", seed=rng), nn.Dropout(0.2, seed=rng),
        nn.Dense(256, 128, "relu", seed=rng), nn.Dropout(0.2, seed=rng),
        nn.Dense(128, 10, "softmax", seed=rng),
    )  # fmt: skip
    gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=15, batch_size=128,
           verbose=0, seed=0)  # fmt: skip
    clean = gn.evaluate(model, X_test, y_test, loss="cross_entropy", metrics=["accuracy"])[
        "accuracy"
    ]
    X_adv = fgsm(model, X_test, y_test, loss="cross_entropy", eps=0.1)
    adversarial = gn.evaluate(model, X_adv, y_test, loss="cross_entropy", metrics=["accuracy"])[
        "accuracy"
    ]
    assert np.abs(X_adv - X_test).max() <= 0.1 + 1e-6
    assert clean >= 0.97, f"clean test accuracy {clean}"
    assert adversarial < 0.5, f"FGSM (eps = 0.1) test accuracy {adversarial}, clean {clean}"
