"""End to end on MNIST: the embedded subset (fast) and the full data (slow, still run in CI)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

# one definition: benchmarks/mnist_recipe.py --parity runs the same network
from benchmarks.mnist_recipe import build_parity as parity_mlp
from tests.conftest import shared_data


def test_mlp_on_the_embedded_subset_passes_an_accuracy_floor():
    # seed 0; 784-64-10 written as in the lectures (softmax outputs + cross-entropy), 3 epochs
    (X, y), (X_test, y_test) = gn.data.load_mnist()
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Dense(784, 64, "relu", seed=rng), nn.Dense(64, 10, "softmax", seed=rng)
    )
    history = gn.fit(model, X, y, loss="cross_entropy", lr=2e-3, epochs=3, batch_size=128,
                     verbose=0, seed=0, metrics=["accuracy"])  # fmt: skip
    scores = gn.evaluate(model, X_test, y_test, loss="cross_entropy", metrics=["accuracy"])
    assert scores["accuracy"] >= 0.94  # a broken backward pass stays near 0.1
    assert history.history["loss"][-1] < history.history["loss"][0]
    probabilities = model.predict(X_test[:10])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


# Test accuracy after 3 epochs of the parity recipe, seeds 0-4, measured on the full data:
#   torch 2.13 (nn.Linear's own init, torch.optim.Adam): 0.9695 0.9714 0.9736 0.9715 0.9707,
#   mean 0.9713 (after 10 epochs: mean 0.9781);
#   glassnet: 0.9735 0.9712 0.9713 0.9747 0.9747, mean 0.9731 (after 10 epochs: mean 0.9777).
# The floor sits 0.0023 under torch's mean, as 97.6% sat 0.0021 under it after 10 epochs; the
# per-seed spread is about 0.0015, so a mean of three seeds is about 0.0009 wide.
PARITY_EPOCHS, PARITY_FLOOR = 3, 0.969


@pytest.mark.slow
def test_parity_with_the_reference_recipe_on_full_mnist():
    """784-256-128-10 ReLU initialised as torch's nn.Linear, Adam 1e-3, batch 128, 3 epochs on
    all 60,000 training images: the mean test accuracy over seeds 0-2 reaches what torch
    reaches with the same recipe (the floor above). Three epochs, where the curve is still
    steep, take a third of the time of the ten that reach its plateau."""
    (X, y), (X_test, y_test) = gn.data.load_mnist(shared_data("mnist.npz"))
    accuracies = []
    for seed in range(3):
        model = parity_mlp(seed)
        gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=PARITY_EPOCHS,
               batch_size=128, verbose=0, seed=seed)  # fmt: skip
        scores = gn.evaluate(model, X_test, y_test, loss="cross_entropy", metrics=["accuracy"])
        accuracies.append(scores["accuracy"])
    assert np.mean(accuracies) >= PARITY_FLOOR, f"test accuracies {accuracies}"


@pytest.mark.slow
def test_lenet5_reaches_97_5_percent_after_two_epochs_on_full_mnist():
    # benchmarks/lenet_mnist.py's recipe (LeNet-5, torch's init, Adam 1e-3, batch 64), seed 0,
    # 2 epochs on the 60,000 training images; torch after 2 epochs: 97.96-98.32% (issue 17),
    # a broken convolution or pooling backward stays far below
    from benchmarks.lenet_mnist import data, glassnet_run

    X, y, X_test, y_test = data(shared_data("mnist.npz"))
    accuracies = glassnet_run(0, 2, X, y, X_test, y_test)
    assert accuracies[-1] >= 0.975, accuracies
