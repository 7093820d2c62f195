"""Data as plain NumPy arrays: toy sets, MNIST, preprocessing (no autodiff engine needed).

Toy sets: ``xor``, ``and_gate``, ``or_gate``, ``two_moons``, ``circles``, ``blobs``,
``two_spirals``, ``noisy_sine``. MNIST: ``load_mnist`` (the embedded 20,000/5,000 subset or
the user's own files; never downloads) and ``mnist_subset_info``. Image folders (one
sub-folder per class; needs Pillow): ``load_image_folder``. Preprocessing:
``Standardizer``, ``MinMaxScaler``, ``one_hot``, ``from_one_hot``, ``train_test_split``,
``train_val_test_split``. Augmentation (for ``fit(augment=...)``): ``AdditiveNoise``, ``Mixup``;
for (n, C, H, W) images ``RandomFlip``, ``RandomShift``, ``RandomCrop``, ``RandomAffine``,
``RandomRotation``, ``BrightnessJitter``, ``ContrastJitter`` and ``Compose``. Sequences:
``sliding_windows`` (forecasting pairs from a series), ``load_sunspots`` (the yearly sunspot
numbers 1700-2008, shipped), ``load_shakespeare`` (the text of *Hamlet*, shipped), ``CharText``
(character-level text, with ``sample`` from a language model) and ``pad_sequences``.
"""

from .augmentation import AdditiveNoise, Mixup
from .image_augmentation import (
    BrightnessJitter,
    Compose,
    ContrastJitter,
    RandomAffine,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomShift,
)
from .images import load_image_folder
from .mnist import load_mnist, mnist_subset_info
from .preprocessing import (
    MinMaxScaler,
    Standardizer,
    from_one_hot,
    one_hot,
    train_test_split,
    train_val_test_split,
)
from .sequences import CharText, load_shakespeare, load_sunspots, pad_sequences, sliding_windows
from .toy import and_gate, blobs, circles, noisy_sine, or_gate, two_moons, two_spirals, xor

__all__ = [
    "AdditiveNoise", "BrightnessJitter", "CharText", "Compose", "ContrastJitter", "MinMaxScaler",
    "Mixup", "RandomAffine", "RandomCrop", "RandomFlip", "RandomRotation", "RandomShift",
    "Standardizer", "and_gate", "blobs", "circles", "from_one_hot", "load_image_folder",
    "load_mnist", "load_shakespeare", "load_sunspots", "mnist_subset_info", "noisy_sine",
    "one_hot", "or_gate", "pad_sequences", "sliding_windows", "train_test_split",
    "train_val_test_split", "two_moons", "two_spirals", "xor",
]  # fmt: skip
