"""Callbacks: early stopping with restored weights, stopping from a callback, the order of
the hooks, and the progress display for each verbose level."""

import io

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Dense, Sequential
from glassnet.train import Callback, EarlyStopping, ProgressBar


def _overfitting_setup():
    """12 noisy training points, a 1-64-1 tanh net and Adam: the validation loss soon rises."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 1))
    y = X + 0.3 * rng.normal(size=(40, 1))
    net = Sequential(
        Dense(1, 64, "tanh", seed=0, dtype=np.float64), Dense(64, 1, seed=1, dtype=np.float64)
    )
    return net, (X[:12], y[:12]), (X[12:], y[12:])


def _fit(net, train, val, callbacks, epochs=300, **kwargs):
    return gn.fit(
        net,
        *train,
        validation_data=val,
        loss="mse",
        optimizer="adam",
        lr=0.03,
        epochs=epochs,
        batch_size=None,
        callbacks=callbacks,
        verbose=0,
        seed=0,
        **kwargs,
    )


def test_early_stopping_stops_and_restores_the_best_weights():
    net, train, val = _overfitting_setup()
    stopper = EarlyStopping(monitor="val_loss", patience=5, restore_best=True)
    history = _fit(net, train, val, [stopper])
    val_losses = history.history["val_loss"]
    best = int(np.argmin(val_losses))
    assert len(val_losses) < 300  # stopped early
    assert len(val_losses) == best + 1 + 5  # exactly `patience` epochs after the best one
    assert val_losses[-1] > val_losses[best]
    assert history.stop_reason.startswith("early stopping")
    assert "val_loss" in history.stop_reason and f"best at epoch {best + 1}" in history.stop_reason
    # the restored weights reproduce the best recorded val_loss exactly
    assert gn.evaluate(net, *val, loss="mse")["loss"] == val_losses[best]


def test_early_stopping_without_restore_keeps_the_last_weights():
    net, train, val = _overfitting_setup()
    history = _fit(net, train, val, [EarlyStopping(patience=5, restore_best=False)])
    assert gn.evaluate(net, *val, loss="mse")["loss"] == history.history["val_loss"][-1]
    assert history.history["val_loss"][-1] > min(history.history["val_loss"])


def test_min_delta_turns_small_improvements_into_a_plateau():
    net, train, val = _overfitting_setup()
    # nothing improves by 1e9: epoch 0 is the best, training stops after 1 + patience epochs
    history = _fit(net, train, val, [EarlyStopping(patience=3, min_delta=1e9)])
    assert len(history.epoch) == 4
    assert "best at epoch 1" in history.stop_reason
    assert gn.evaluate(net, *val, loss="mse")["loss"] == history.history["val_loss"][0]


def test_early_stopping_in_max_mode_on_accuracy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    net = Sequential(
        Dense(2, 4, "tanh", seed=0, dtype=np.float64), Dense(4, 2, seed=1, dtype=np.float64)
    )
    stopper = EarlyStopping(monitor="val_accuracy", patience=2)
    assert stopper.sign == -1.0  # "auto" maximises accuracy
    history = gn.fit(
        net,
        X[:30],
        y[:30],
        validation_data=(X[30:], y[30:]),
        loss="cross_entropy",
        metrics=["accuracy"],
        optimizer="sgd",
        lr=1e-9,
        epochs=50,
        callbacks=[stopper],
        verbose=0,
        seed=0,
    )
    assert len(history.epoch) == 3  # a lr of 1e-9 never changes the accuracy


def test_early_stopping_on_a_missing_key_says_what_to_pass():
    net, train, _ = _overfitting_setup()
    with pytest.raises(KeyError, match=r"EarlyStopping: expected 'val_loss' in the logs"):
        gn.fit(net, *train, loss="mse", epochs=2, callbacks=[EarlyStopping()], verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mode": "up"}, r"expected mode 'auto', 'min' or 'max', got 'up'"),
        ({"patience": -1}, r"expected patience >= 0, got -1"),
    ],
)
def test_early_stopping_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=rf"EarlyStopping: {message}"):
        EarlyStopping(**kwargs)


class StopAfter(Callback):
    def __init__(self, epoch, reason=None):
        self.epoch, self.reason = epoch, reason

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.state.stop_training = True
            if self.reason:
                self.state.stop_reason = self.reason


def test_a_callback_setting_stop_training_stops_after_that_epoch():
    net, train, val = _overfitting_setup()
    history = _fit(net, train, val, [StopAfter(2, reason="enough")], epochs=10)
    assert history.epoch == [0, 1, 2]
    assert history.stop_reason == "enough"


def test_stop_reason_is_set_when_a_callback_stops_without_a_reason():
    net, train, val = _overfitting_setup()
    history = _fit(net, train, val, [StopAfter(1)], epochs=10)
    assert history.epoch == [0, 1]
    assert history.stop_reason is not None


def test_hooks_run_in_order_with_the_training_state():
    net, train, val = _overfitting_setup()
    events = []

    class Spy(Callback):
        def on_train_begin(self, logs=None):
            events.append(("train_begin", self.state.epochs, self.state.n_batches))

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs=None):
            events.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append(("train_end",))

    gn.fit(
        net,
        *train,
        validation_data=val,
        loss="mse",
        epochs=2,
        batch_size=5,
        callbacks=[Spy()],
        verbose=0,
    )
    batch = lambda b: ("batch_end", b, ["loss"])
    epoch_end = lambda e: ("epoch_end", e, ["loss", "val_loss"])
    assert events == [
        ("train_begin", 2, 3),
        ("epoch_begin", 0),
        batch(0),
        batch(1),
        batch(2),
        epoch_end(0),
        ("epoch_begin", 1),
        batch(0),
        batch(1),
        batch(2),
        epoch_end(1),
        ("train_end",),
    ]


# -- progress display ----------------------------------------------------------------------


def _quick_fit(verbose, epochs=3, **kwargs):
    net, train, _ = _overfitting_setup()
    return gn.fit(
        net, *train, loss="mse", epochs=epochs, batch_size=4, verbose=verbose, seed=0, **kwargs
    )


def test_verbose_0_prints_nothing(capsys):
    _quick_fit(0)
    assert capsys.readouterr() == ("", "")


def test_verbose_1_prints_nothing_when_stdout_is_not_a_terminal(capsys):
    _quick_fit(1)
    assert capsys.readouterr() == ("", "")


def test_verbose_2_prints_one_line_per_epoch(capsys):
    history = _quick_fit(2, epochs=4)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == "" and len(lines) == 4
    for k, line in enumerate(lines):
        assert line.startswith(f"Epoch {k + 1}/4 - loss ")
        assert f"loss {history.history['loss'][k]:.4f}" in line


def test_progress_bar_draws_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    _quick_fit(0, epochs=2, callbacks=[ProgressBar(stream)])
    text = stream.getvalue()
    assert "\rEpoch 1/2 [" in text and "\rEpoch 2/2 [" in text
    assert text.count("\n") == 2  # one finished line per epoch
    assert "=" * ProgressBar.width in text  # the bar reaches the end


def test_early_stopping_with_checkpoints_every_k_epochs_reverts_to_the_best_checkpoint():
    import glassnet as gn
    from glassnet.train import EarlyStopping

    # a made-up validation curve: best at epoch 5, but 4 and 6 are checkpoints
    class Feed(gn.train.Callback):
        curve = [5.0, 4.0, 3.0, 2.0, 1.0, 1.5, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]

        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = self.curve[epoch]
            self.state.model[0].b.data[...] = epoch  # tag the weights with the epoch

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))
    model = gn.nn.Sequential(gn.nn.Dense(2, 1, seed=0, dtype=np.float64))
    stopper = EarlyStopping(monitor="val_loss", patience=2, checkpoint_every=2)
    history = gn.fit(model, X, y, loss="mse", optimizer="sgd", lr=1e-9, epochs=12, batch_size=None,
                     callbacks=[Feed(), stopper], verbose=0)  # fmt: skip
    # checkpoints at epochs 2, 4, 6, 8 (1-based): values 4, 2, 1.5, 3 -> the best is epoch 6 (1.5);
    # epochs 8 and 10 do not improve on it -> stop after epoch 10
    assert len(history.history["loss"]) == 10
    assert (
        "did not improve for 2 checkpoints (every 2 epochs) (best at epoch 6)"
        in history.stop_reason
    )
    assert model[0].b.data[0] == 5.0  # the weights tagged at epoch index 5 (epoch 6)
    with pytest.raises(ValueError, match="expected checkpoint_every >= 1, got 0"):
        EarlyStopping(checkpoint_every=0)
