"""LeNet-5 on MNIST: the classic convolutional network, written as in PyTorch.

conv 5x5x6 (padding 2), ReLU, max-pool 2, conv 5x5x16, ReLU, max-pool 2, flatten, 120, 84, 10
(ReLU; the last layer gives logits, trained with softmax cross-entropy), torch's default
initialisation, Adam 1e-3, batch 64 (LeCun et al. 1998, with ReLU and max-pooling in place of
the scaled tanh and subsampling). It prints the model summary (each layer's output shape and
parameter count: 61,706 parameters in all), the loss and accuracy of each epoch, and the test
accuracy.

Run:  python examples/lenet5_mnist.py [--epochs 5] [--seed 0] [--data path/to/mnist.npz]
      [--limit N] [--batch-size 64]

Measured with ``python examples/lenet5_mnist.py`` (seed 0; the embedded subset: 20,000
training and 5,000 test images; 2 cores): training accuracy 0.835, 0.952, 0.965, 0.973, 0.978
in epochs 1-5, test accuracy 0.9736 (test loss 0.0782); 12 s of training on a quiet machine,
49 s while another job kept both cores busy. With ``--data ../shared/data/mnist.npz`` (the
full 60,000 / 10,000 images): test accuracy 0.9877 after 5 epochs (26 s).
"""

import sys
from pathlib import Path

import numpy as np

from glassnet import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _mnist import options, train_and_test  # noqa: E402




def lenet5(seed=0):
    """LeNet-5 for 28x28 inputs, torch's initialisation; outputs 10 logits."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, seed=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, seed=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dense(400, 120, init="torch_default", seed=rng), nn.ReLU(),
        nn.Dense(120, 84, init="torch_default", seed=rng), nn.ReLU(),
        nn.Dense(84, 10, init="torch_default", seed=rng),
    )  # fmt: skip


def main(argv=None):
    """Train LeNet-5 and return {"test_accuracy", "test_loss", "history", "seconds"}."""
    args = options(__doc__, epochs=5).parse_args(argv)
    model = lenet5(args.seed)
    model.summary((1, 28, 28))
    return train_and_test(model, args)


if __name__ == "__main__":
    main()
