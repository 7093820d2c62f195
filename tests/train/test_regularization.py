"""Weight penalties, training with noise, augmentation and selective delta propagation, each
against its formula."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.data import AdditiveNoise, Mixup
from glassnet.optim import SGD
from glassnet.train.regularization import WeightNoise, WeightPenalty, penalized_weights
from glassnet.train.selective import SelectiveDelta


def _net(seed=0, out=1, activation=None):
    return nn.Sequential(nn.Dense(3, 4, "tanh", seed=seed, dtype=np.float64),
                         nn.Dense(4, out, activation, seed=seed + 1, dtype=np.float64))  # fmt: skip


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.tanh(X[:, :1]) - X[:, 1:2]


def _grads(model, loss, X, y):
    for p in model.parameters():
        p.grad = None
    loss(model(gn.tensor(X)), y).backward()
    return [p.grad.copy() for p in model.parameters()]


def test_l2_and_l1_penalties_add_their_gradients_to_the_weights_only():
    X, y = _data()
    model = _net()
    base = _grads(model, gn.nn.loss.get("mse"), X, y)
    penalized = _grads(model, WeightPenalty("mse", model, l2=0.3, l1=0.05), X, y)
    for (name, p), g0, g in zip(model.named_parameters(), base, penalized):
        expected = g0 + 0.3 * p.data + 0.05 * np.sign(p.data) if name.endswith("W") else g0
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15)
    penalty = WeightPenalty("mse", model, l2=0.3, l1=0.05).penalty().item()
    weights = [model[0].W.data, model[1].W.data]
    expected = sum(0.15 * (W**2).sum() + 0.05 * np.abs(W).sum() for W in weights)
    assert penalty == pytest.approx(expected)


def test_the_l2_step_is_the_lectures_update():
    # W := W + dW - eta lambda W, with dW = -eta dE/dW (plain gradient descent)
    X, y = _data()
    model = _net()
    eta, lam = 0.1, 0.2
    W_before = model[0].W.data.copy()
    dE = _grads(model, gn.nn.loss.get("mse"), X, y)[0]
    gn.fit(model, X, y, loss=WeightPenalty("mse", model, l2=lam),
           optimizer=SGD(model.parameters(), lr=eta), epochs=1, batch_size=None, shuffle=False,
           verbose=0)  # fmt: skip
    expected = W_before - eta * dE - eta * lam * W_before
    np.testing.assert_allclose(model[0].W.data, expected, rtol=1e-12)


def test_l2_on_all_parameters_equals_sgd_weight_decay():
    X, y = _data()
    a, b = _net(seed=3), _net(seed=3)
    gn.fit(a, X, y, loss=WeightPenalty("mse", a, l2=0.1, include_biases=True),
           optimizer=SGD(a.parameters(), lr=0.05), epochs=5, batch_size=None,
           verbose=0)  # fmt: skip
    gn.fit(b, X, y, loss="mse", optimizer=SGD(b.parameters(), lr=0.05, weight_decay=0.1), epochs=5,
           batch_size=None, verbose=0)  # fmt: skip
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10)


def test_linear_output_weights_can_be_spared():
    model = _net()
    assert penalized_weights(model) == [model[0].W, model[1].W]
    assert penalized_weights(model, exclude_linear_output=True) == [model[0].W]
    assert penalized_weights(_net(activation="sigmoid"), exclude_linear_output=True)[-1] is not None
    assert len(penalized_weights(model, include_biases=True)) == 4


def test_gaussian_noise_layer_is_active_only_in_training():
    layer = nn.GaussianNoise(0.5, seed=0)
    x = gn.tensor(np.zeros((2000, 3)))
    noisy = layer(x).data
    assert abs(noisy.std() - 0.5) < 0.02 and abs(noisy.mean()) < 0.02
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match=r"GaussianNoise: expected std >= 0, got -1"):
        nn.GaussianNoise(-1)


def test_weight_noise_takes_the_gradient_at_noisy_weights_and_steps_from_clean_ones():
    X, y = _data()
    model, twin = _net(), _net()
    noise_source = np.random.default_rng(7)
    noise = [noise_source.normal(0.0, 0.1, W.shape) for W in (model[0].W, model[1].W)]
    for W, e in zip((twin[0].W, twin[1].W), noise):  # the gradient at w + noise, by hand
        W.data += e
    grads = _grads(twin, gn.nn.loss.get("mse"), X, y)
    per_parameter_noise = [noise[0], 0, noise[1], 0]  # W, b, W, b: the biases stay clean
    steps = zip(twin.named_parameters(), grads, per_parameter_noise)
    expected = [p.data - (e if name.endswith("W") else 0) - 0.1 * g for (name, p), g, e in steps]
    gn.fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), lr=0.1), epochs=1,
           batch_size=None, shuffle=False, callbacks=[WeightNoise(0.1, seed=7)],
           verbose=0)  # fmt: skip
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-10)


def test_additive_noise_and_mixup_augment_each_batch():
    rng = np.random.default_rng(0)
    X = np.zeros((1000, 2), np.float32)
    Xn, y = AdditiveNoise(0.3)(X, np.arange(1000), rng)
    assert Xn.dtype == np.float32 and abs(Xn.std() - 0.3) < 0.02 and (y == np.arange(1000)).all()
    X = np.arange(8, dtype=np.float64).reshape(4, 2)
    Xm, Ym = Mixup(alpha=0.4, n_classes=3)(X, np.array([0, 1, 2, 0]), np.random.default_rng(1))
    # every mixed sample lies on the segment between two samples, with the same weight for its
    # target
    replay = np.random.default_rng(1)
    partner, lam = replay.permutation(4), replay.beta(0.4, 0.4, size=4)
    np.testing.assert_allclose(Xm, lam[:, None] * X + (1 - lam[:, None]) * X[partner])
    onehot = np.eye(3)[[0, 1, 2, 0]]
    np.testing.assert_allclose(Ym, lam[:, None] * onehot + (1 - lam[:, None]) * onehot[partner])
    np.testing.assert_allclose(Ym.sum(axis=1), 1.0)


def test_fit_applies_the_augmentation_to_training_batches_only():
    seen = []

    def spy(X, y, rng):
        seen.append(len(X))
        return X, y

    X, y = _data(n=30)
    gn.fit(_net(), X, y, loss="mse", epochs=2, batch_size=8, validation_split=0.2, augment=spy,
           verbose=0)  # fmt: skip
    assert seen == [8, 8, 8] * 2  # 24 training samples per epoch; the 6 validation ones untouched
    with pytest.raises(TypeError, match="expected augment to be a callable"):
        gn.fit(_net(), X, y, loss="mse", augment=3, verbose=0)


def test_selective_delta_trains_only_on_marked_samples_for_the_given_epochs():
    X, y = _data(n=40)
    model = _net()
    sizes = []
    def record_training_batch_sizes(module, inputs, out):
        if module.training:
            sizes.append(len(inputs[0]))

    model.register_forward_hook(record_training_batch_sizes)
    selective = SelectiveDelta(threshold=0.3, epochs=2)
    gn.fit(model, X, y, loss="mse", optimizer="adam", lr=0.01, epochs=7, batch_size=None,
           callbacks=[selective], verbose=0)  # fmt: skip
    # epoch 1: all 40; epochs 2-3: the marked ones; epoch 4: all; epochs 5-6 marked; epoch 7 all
    first, second = selective.marked_counts[:2]
    assert sizes == [40, first, first, 40, second, second, 40]
    assert 0 < first < 40 and 0 < second < 40


def test_selective_delta_marks_by_the_output_error():
    X, y = _data(n=40)
    model = _net()
    selective = SelectiveDelta(threshold=0.3, epochs=1)
    gn.fit(model, X, y, loss="mse", epochs=1, batch_size=None, callbacks=[selective], verbose=0)
    errors = np.abs(model.predict(X) - y).max(axis=1)
    assert selective.marked_counts == [int((errors > 0.3).sum())]


class _Bilinear(gn.nn.Module):
    """A layer of a user's own: y = (x U) . x + c, with a weight U and a bias c."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.U = gn.nn.Parameter(rng.normal(size=(3, 3)))
        self.c = gn.nn.Parameter(np.zeros(1))

    def forward(self, x):
        return gn.ops.sum(gn.ops.matmul(x, self.U) * x, axis=1, keepdims=True) + self.c


def _names(model, chosen):
    by_id = {id(p): name.removeprefix("layers.") for name, p in model.named_parameters()}
    return [by_id[id(p)] for p in chosen]


@pytest.mark.parametrize("model, weights, biases", [
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, seed=0), nn.BatchNorm2d(2), nn.ReLU(),
                           nn.ConvTranspose2d(2, 2, 2, stride=2, seed=1), nn.Flatten(),
                           nn.Dense(72, 3, seed=2)),
     ["0.W", "3.W", "5.W"], ["0.b", "3.b", "5.b"]),
    (lambda: nn.LSTM(3, 4, num_layers=2, peepholes=True, seed=0),
     ["W_ih_l0", "W_hh_l0", "W_peep_l0", "W_ih_l1", "W_hh_l1", "W_peep_l1"],
     ["b_ih_l0", "b_hh_l0", "b_ih_l1", "b_hh_l1"]),
    (lambda: nn.TransformerEncoderLayer(8, 2, 16, seed=0),
     ["self_attn.in_W", "self_attn.out_proj.W", "linear1.W", "linear2.W"],
     ["self_attn.in_b", "self_attn.out_proj.b", "linear1.b", "linear2.b"]),  # not the norms'
    (lambda: nn.Sequential(nn.Embedding(5, 3, seed=0), nn.LayerNorm((2, 3)), nn.Conv1d(2, 2, 1)),
     ["0.W", "2.W"], ["2.b"]),  # a 2-D LayerNorm gamma is no weight
    (lambda: nn.Sequential(_Bilinear(), nn.Dense(1, 1, seed=0)), ["0.U", "1.W"], ["0.c", "1.b"]),
])  # fmt: skip
def test_every_layer_says_which_of_its_parameters_are_weights(model, weights, biases):
    model = model()
    assert _names(model, penalized_weights(model)) == weights
    assert _names(model, penalized_weights(model, include_biases=True)) == weights + biases


def test_a_tied_weight_is_penalised_once():
    first = nn.Dense(3, 3, seed=0, dtype=np.float64)
    model = nn.Sequential(first, first)
    assert penalized_weights(model) == [first.W]


def test_the_penalty_reaches_conv_kernels_and_spares_batch_norm():
    # float64, seed 0: the penalised gradient is the plain one plus l2 W + l1 sign(W) exactly
    # on the kernels and the Dense matrix, and the plain one on biases, gamma and beta
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 1, 5, 5)), rng.integers(0, 3, 6)
    f64 = np.float64
    model = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0, dtype=f64), nn.BatchNorm2d(2, dtype=f64),
                          nn.ReLU(), nn.Conv2d(2, 2, 1, seed=1, dtype=f64), nn.Flatten(),
                          nn.Dense(18, 3, seed=2, dtype=f64))  # fmt: skip
    base = _grads(model, gn.nn.loss.get("cross_entropy"), X, y)
    penalized = _grads(model, WeightPenalty("cross_entropy", model, l2=0.3, l1=0.05), X, y)
    weights = {"0.W", "3.W", "5.W"}
    for (name, p), g0, g in zip(model.named_parameters(), base, penalized):
        penalised = name.removeprefix("layers.") in weights
        expected = g0 + 0.3 * p.data + 0.05 * np.sign(p.data) if penalised else g0
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-15, err_msg=name)
