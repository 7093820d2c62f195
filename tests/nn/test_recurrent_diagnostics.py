"""nn.Recorder on recurrent layers: one entry per layer and direction, the states' statistics
and the gate activations checked against NumPy on the recorded arrays, the per-step delta
norms against the op's own observer, the order of the reverse direction, padding, ``every``,
eval mode and detach; and viz.plot_time_deltas drawing exactly those norms."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, ops, viz
from tests.conftest import require


class _LastOutput(nn.Module):
    """A recurrent layer (batch_first) whose last output goes through a Dense to one number."""

    def __init__(self, layer, features):
        super().__init__()
        self.rnn, self.head = layer, nn.Dense(features, 1, seed=9, dtype=np.float64)

    def forward(self, x, lengths=None):
        y, _ = self.rnn(x, lengths=lengths)
        last = y[:, -1] if lengths is None else ops.last_valid(y, lengths, batch_first=True)
        return self.head(last)


def _step(model, x, lengths=None):
    out = model(x, lengths) if lengths is not None else model(x)
    ops.mean((out - 1.0) ** 2).backward()


def _x(rng, n=4, steps=9, features=3):
    return rng.normal(size=(n, steps, features))


def test_one_entry_per_layer_and_direction_with_gates(rng):
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, seed=0,
                   dtype=np.float64)  # fmt: skip
    model = _LastOutput(lstm, 10)
    rec = nn.Recorder(model)
    assert sorted(rec.layers) == ["head", "rnn.l0", "rnn.l0_reverse", "rnn.l1", "rnn.l1_reverse"]
    _step(model, _x(rng))
    for name in ("rnn.l0", "rnn.l0_reverse", "rnn.l1", "rnn.l1_reverse"):
        stats = rec.layers[name]
        assert len(stats["mean"]) == len(stats["time_delta_norm"]) == 1
        assert stats["saturated"] == [None]
        assert sorted(stats["gates"]) == ["f", "g", "i", "o"]
        norms = stats["time_delta_norm"][0]
        assert norms.shape == (9,) and np.isfinite(norms).all()
        assert stats["delta_norm"][0] == pytest.approx(np.sqrt((norms**2).sum()), rel=1e-12)
    # the loss reads output[:, -1] only: the last layer's reverse cell sees the last input step
    # first (its t = 0), and nothing after it, so it gets a gradient at t = 0 alone
    reverse = rec.layers["rnn.l1_reverse"]["time_delta_norm"][0]
    assert reverse[0] > 0 and not reverse[1:].any()
    assert (rec.layers["rnn.l1"]["time_delta_norm"][0] > 0).all()
    assert "rnn.l0" in rec.summary() and "  f " in rec.summary()


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_statistics_and_norms_are_those_the_op_computes(kind, rng):
    layer = getattr(nn, kind)(3, 6, batch_first=True, seed=1, dtype=np.float64)
    model = _LastOutput(layer, 6)
    seen = []

    def factory(module, cell):
        def observe(event, values):
            if event == "forward":
                gates = {g: a.copy() for g, a in values["gates"].items()}
                seen.append({"h": values["h"].copy(), "gates": gates})
            else:
                seen.append(values["delta_norm"].copy())

        return observe

    handle = layer.register_cell_observer(factory)
    rec = nn.Recorder(model)
    _step(model, _x(rng))
    handle.remove()
    forward, norms = seen
    stats = rec.layers["rnn.l0"]
    assert stats["mean"][0] == pytest.approx(forward["h"].mean(), rel=1e-12)
    assert stats["std"][0] == pytest.approx(forward["h"].std(), rel=1e-12)
    np.testing.assert_array_equal(stats["time_delta_norm"][0], norms)
    if kind == "RNN":
        assert stats["saturated"][0] == pytest.approx((np.abs(forward["h"]) > 0.99).mean())
        assert stats["gates"] == {}
    for g, a in forward["gates"].items():
        assert stats["gates"][g]["mean"][0] == pytest.approx(a.mean(), rel=1e-12)
        rule = (np.abs(a) > 0.99) if g in "gn" else ((a < 0.01) | (a > 0.99))
        assert stats["gates"][g]["saturated"][0] == pytest.approx(rule.mean())


def test_the_vanishing_gradient_shows_for_an_rnn_and_not_an_lstm(rng):
    """Seeds 0, 1; T = 60: the plain RNN's ||dE/dh_1|| is many orders below ||dE/dh_T||."""
    x = rng.normal(size=(8, 60, 1))
    ratios = {}
    for kind in ("RNN", "LSTM"):
        model = _LastOutput(getattr(nn, kind)(1, 16, batch_first=True, seed=0,
                                              dtype=np.float64), 16)  # fmt: skip
        lstm = model.rnn
        if kind == "LSTM":  # the forget gate open, as Gers et al. 2000 start it
            lstm.b_ih_l0.data[16:32] = 3.0
        rec = nn.Recorder(model)
        _step(model, x)
        norms = rec.layers["rnn.l0"]["time_delta_norm"][0]
        ratios[kind] = norms[0] / norms[-1]
    assert ratios["RNN"] < 1e-8 < 1e-2 < ratios["LSTM"]


def test_padding_is_left_out_and_has_no_gradient(rng):
    gru = nn.GRU(3, 4, batch_first=True, seed=2, dtype=np.float64)
    model = _LastOutput(gru, 4)
    rec = nn.Recorder(model)
    lengths = np.array([9, 5, 3, 7])
    x = _x(rng)
    _step(model, x, lengths)
    stats = rec.layers["rnn.l0"]
    norms = stats["time_delta_norm"][0]
    assert not norms[lengths.max() :].any() and (norms[:9] > 0).all()
    # the mean of the states over the real steps only: run each sequence alone
    alone = [gru(x[k : k + 1, : lengths[k]])[0].data[0] for k in range(4)]
    expected = np.concatenate(alone)
    assert stats["mean"][0] == pytest.approx(expected.mean(), rel=1e-12)
    assert stats["std"][0] == pytest.approx(expected.std(), rel=1e-12)


def test_every_eval_mode_and_detach(rng):
    model = _LastOutput(nn.RNN(3, 4, batch_first=True, seed=3, dtype=np.float64), 4)
    rec = nn.Recorder(model, every=2)
    x = _x(rng)
    for _ in range(5):
        _step(model, x)
    assert len(rec.layers["rnn.l0"]["time_delta_norm"]) == 3  # steps 1, 3 and 5
    model.eval()
    model(x)
    model.train()
    assert len(rec.layers["rnn.l0"]["mean"]) == 3
    rec.detach()
    _step(model, x)
    assert len(rec.layers["rnn.l0"]["mean"]) == 3
    assert model.rnn._cell_observers == {}


def test_forward_without_backward_leaves_nans_and_a_bad_factory(rng):
    model = _LastOutput(nn.LSTM(3, 4, batch_first=True, seed=4, dtype=np.float64), 4)
    rec = nn.Recorder(model)
    model(_x(rng))
    stats = rec.layers["rnn.l0"]
    assert np.isnan(stats["time_delta_norm"][0]).all() and np.isnan(stats["delta_norm"][0])
    with pytest.raises(TypeError, match="expected a callable factory"):
        model.rnn.register_cell_observer("no")


def test_as_a_fit_callback_with_an_embedding_model():
    """Seed 5: fit runs the recorder on every batch of a small sequence classifier."""

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(6, 4, seed=5)
            self.rnn = nn.GRU(4, 8, batch_first=True, seed=6)
            self.head = nn.Dense(8, 2, seed=7)

        def forward(self, x):
            y, _ = self.rnn(self.embed(x))
            return self.head(y[:, -1])

    rng = np.random.default_rng(5)
    X = rng.integers(0, 6, size=(64, 12))
    y = (X[:, 0] > 2).astype(np.int64)
    model = Classifier()
    rec = nn.Recorder(model)
    gn.fit(model, X, y, loss="cross_entropy", epochs=2, batch_size=16, verbose=0,
           callbacks=[rec], seed=0)  # fmt: skip
    stats = rec.layers["rnn.l0"]
    assert len(stats["time_delta_norm"]) == 8  # 2 epochs of 4 batches
    assert all(np.isfinite(n).all() and n.shape == (12,) for n in stats["time_delta_norm"])
    assert sorted(stats["gates"]) == ["n", "r", "z"]


def test_plot_time_deltas_draws_the_recorded_norms(rng, tmp_path):
    require("matplotlib")
    model = _LastOutput(nn.RNN(3, 4, batch_first=True, bidirectional=True, seed=8,
                               dtype=np.float64), 8)  # fmt: skip
    rec = nn.Recorder(model)
    x = _x(rng)
    for _ in range(6):
        _step(model, x)
    fig = viz.plot_time_deltas(rec, tmp_path / "deltas.png", steps=3)
    assert (tmp_path / "deltas.png").stat().st_size > 0
    assert [ax.get_title() for ax in fig.axes] == ["rnn.l0", "rnn.l0_reverse"]
    forward = fig.axes[0]
    assert [line.get_label() for line in forward.get_lines()] == [
        "training step 1", "training step 3", "training step 6"]  # fmt: skip
    np.testing.assert_array_equal(forward.get_lines()[2].get_ydata(),
                                  rec.layers["rnn.l0"]["time_delta_norm"][5])  # fmt: skip
    assert forward.get_yscale() == "log"
    reverse = fig.axes[1].get_lines()[0].get_ydata()  # zeros become gaps on the log axis
    assert reverse[0] > 0 and np.isnan(reverse[1:]).all()
    one = viz.plot_time_deltas(rec, layers=["rnn.l0_reverse"], steps=1)
    assert len(one.axes) == 1 and len(one.axes[0].get_lines()) == 1
    other = _LastOutput(nn.LSTM(3, 4, batch_first=True, seed=8, dtype=np.float64), 4)
    rec_lstm = nn.Recorder(other)
    _step(other, x)
    both = viz.plot_time_deltas({"RNN": rec, "LSTM": rec_lstm}, layers=None, steps=2)
    assert [ax.get_title() for ax in both.axes] == ["RNN: rnn.l0", "RNN: rnn.l0_reverse",
                                                    "LSTM: rnn.l0"]  # fmt: skip
    np.testing.assert_array_equal(both.axes[2].get_lines()[0].get_ydata(),
                                  rec_lstm.layers["rnn.l0"]["time_delta_norm"][0])  # fmt: skip


def test_plot_time_deltas_bad_inputs(rng):
    require("matplotlib")
    dense_only = nn.Recorder(nn.Sequential(nn.Dense(2, 2, seed=0)))
    with pytest.raises(ValueError, match="expected a Recorder watching an RNN, LSTM or GRU"):
        viz.plot_time_deltas(dense_only)
    with pytest.raises(ValueError, match="got str watching nothing"):
        viz.plot_time_deltas({"a": "not a recorder"})
    model = _LastOutput(nn.RNN(3, 4, batch_first=True, seed=8, dtype=np.float64), 4)
    rec = nn.Recorder(model)
    with pytest.raises(ValueError, match="'rnn.l0' to have recorded a backward pass, got 0"):
        viz.plot_time_deltas(rec)
    _step(model, _x(rng))
    with pytest.raises(ValueError, match=r"expected cell names among \['rnn.l0'\], got \['x'\]"):
        viz.plot_time_deltas(rec, layers=["x"])
    for steps in (0, 1.5, True):
        with pytest.raises(ValueError, match="expected steps a positive int"):
            viz.plot_time_deltas(rec, steps=steps)
