"""Bad constructor arguments and direct calls outside fit, as a new user makes them: each gets
an error that names the class or function, the argument, what was expected and what came
(instead of a raw TypeError from a comparison, or a silent wrong result)."""

import numpy as np
import pytest

from glassnet import data, nn, optim
from glassnet.errors import ShapeError
from glassnet.nn.diagnostics import Recorder
from glassnet.train import schedules, stopping
from glassnet.train.regularization import WeightNoise, WeightPenalty


def _net():
    return nn.Sequential(nn.Dense(3, 2, seed=0))


@pytest.mark.parametrize("build, match", [
    (lambda: nn.Sigmoid("x"), r"Sigmoid: expected beta to be a finite number, got 'x'"),
    (lambda: nn.LeakyReLU(None), r"LeakyReLU: expected negative_slope to be a finite number"),
    (lambda: nn.ELU(float("nan")), r"ELU: expected alpha to be a finite number, got nan"),
    (lambda: nn.Maxout(0), r"Maxout: expected pieces to be an integer >= 1, got 0"),
    (lambda: nn.Softmax(1.0), r"Softmax: expected axis to be an integer, got 1.0"),
    (lambda: Recorder(_net(), every=0), r"Recorder: expected every to be a positive integer"),
    (lambda: schedules.ExponentialDecay("x"), r"ExponentialDecay: expected gamma in \(0, 1\]"),
    (lambda: schedules.CosineWithWarmup(5, min_lr="x"), r"CosineWithWarmup: expected min_lr >= 0"),
    (lambda: schedules.ReduceOnPlateau(min_delta="x"), r"ReduceOnPlateau: expected min_delta"),
    (lambda: WeightPenalty("mse", _net(), l2="x"), r"WeightPenalty: expected l2 >= 0, got 'x'"),
    (lambda: WeightNoise("x"), r"WeightNoise: expected std >= 0, got 'x'"),
    (lambda: data.Mixup("x"), r"Mixup: expected alpha > 0, got 'x'"),
    (lambda: data.Mixup(0.2, 0), r"Mixup: expected n_classes to be a positive integer or None"),
    (lambda: data.MinMaxScaler(("0", "1")), r"MinMaxScaler: expected feature_range \(a, b\)"),
    (lambda: optim.clip_grad_norm(_net().parameters(), "x"), r"clip_grad_norm: expected max_norm"),
])  # fmt: skip
def test_a_bad_number_is_a_value_error_that_names_it(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("build, match", [
    (lambda: WeightPenalty("mse", 0.1), r"WeightPenalty: expected the model whose weights are "
                                        r"penalised \(a Module\) as the second argument, got 0.1"),
    (lambda: Recorder(None), r"Recorder: expected the model to watch \(a Module\), got None"),
    (lambda: schedules.ReduceOnPlateau(monitor=None), r"ReduceOnPlateau: expected monitor to be "
                                                      r"the name of a logged value"),
    (lambda: stopping.ErrorBelow(0.1, monitor=3), r"ErrorBelow: expected monitor to be the name"),
    (lambda: nn.Dense(3, 2, dtype=np.int64), r"Dense: expected a floating dtype for W and b, got "
                                             r"int64"),
])  # fmt: skip
def test_a_wrong_kind_of_argument_is_a_type_error_that_names_it(build, match):
    with pytest.raises(TypeError, match=match):
        build()


def test_additive_noise_refuses_an_integer_batch_instead_of_rounding_the_noise_away():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"AdditiveNoise: expected a floating X batch, got dtype "
                       r"int64"):  # fmt: skip
        data.AdditiveNoise(0.1)(np.ones((2, 2), np.int64), None, rng)


def test_mixup_names_labels_outside_its_classes():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"Mixup: expected labels in 0..1 for n_classes=2, got "
                       r"labels from 0 to 2"):  # fmt: skip
        data.Mixup(0.2, 2)(np.ones((3, 2)), np.array([0, 1, 2]), rng)


def test_activation_arguments_are_kept_as_python_numbers():
    assert type(nn.Sigmoid(np.float32(2.0)).beta) is float
    assert type(nn.Maxout(np.int64(2)).pieces) is int
    assert nn.Dense(np.int64(3), np.int32(2)).config()["in_features"] == 3


def test_shortcut_mlp_takes_its_hidden_widths_as_an_array():
    from glassnet.models import ShortcutMLP

    net = ShortcutMLP(np.int64(3), np.array([4, 2]), np.int64(1), seed=0)
    assert net.hidden == [4, 2] and all(type(n) is int for n in net.hidden)
    with pytest.raises(ShapeError, match=r"ShortcutMLP.predict: ShortcutMLP\(3 -> \[4, 2\]"):
        net.predict(np.ones((2, 1, 3)))
