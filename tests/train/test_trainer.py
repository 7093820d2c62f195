"""The Trainer: step and run_epoch equal the hand-written loop and fit, its public state, the
optimizer it refuses, the arguments it checks, and keeping the last finite weights."""

import re
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Dense, Sequential
from glassnet.optim import SGD, Adam
from glassnet.train import Callback, EarlyStopping, Trainer


def _blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-2.0, 2.0], [-2.0, -2.0]])
    y = np.arange(n) % 3
    return centres[y] + 0.5 * rng.normal(size=(n, 2)), y


def _net(seed=0):
    return Sequential(Dense(2, 8, "tanh", seed=seed), Dense(8, 3, "softmax", seed=seed + 1))


def _weights(model):
    return [p.data.copy() for p in model.parameters()]


def test_step_is_the_hand_written_step_and_counts():
    X, y = _blobs()
    X = X.astype(np.float32)  # the models' default dtype, which the trainer converts X to
    trainer = Trainer(_net(), "cross_entropy", "sgd", lr=0.1)
    by_hand = _net()
    opt = SGD(by_hand.parameters(), lr=0.1)
    loss_fn = gn.nn.loss.bind(gn.nn.loss.get("cross_entropy"), by_hand)
    for start in range(0, 60, 20):
        loss = trainer.step(X[start : start + 20], y[start : start + 20])
        opt.zero_grad()
        value = loss_fn(by_hand(gn.Tensor(X[start : start + 20])), y[start : start + 20])
        value.backward()
        opt.step()
        assert isinstance(loss, float) and loss == float(value.data)
    assert trainer.global_step == 3 and trainer.epoch == 0
    assert all(np.array_equal(a, b) for a, b in zip(_weights(trainer.model), _weights(by_hand)))


def test_run_epoch_records_the_epoch_and_fit_is_run_epoch_in_a_loop():
    X, y = _blobs()
    trainer = Trainer(_net(), "cross_entropy", "adam", lr=0.01, metrics=["accuracy"], seed=4)
    logs = [trainer.run_epoch(X, y, batch_size=16) for _ in range(3)]
    assert trainer.epoch == 3 and trainer.global_step == 12
    assert trainer.history.history["loss"] == [entry["loss"] for entry in logs]
    assert set(logs[0]) == {"loss", "accuracy"}
    model = _net()
    history = gn.fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=3,
        batch_size=16,
        metrics=["accuracy"],
        verbose=0,
        seed=4,
    )
    assert history.history == trainer.history.history
    assert all(np.array_equal(a, b) for a, b in zip(_weights(trainer.model), _weights(model)))
    assert (
        trainer.evaluate(X, y)["loss"]
        == gn.evaluate(trainer.model, X, y, loss="cross_entropy")["loss"]
    )


def test_run_epoch_takes_validation_data_and_the_callbacks_see_the_trainer():
    X, y = _blobs()
    seen = []

    class Spy(Callback):
        def on_train_begin(self, logs=None):
            seen.append(("begin", self.state.epoch))

        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, self.state.epoch, sorted(logs)))

    trainer = Trainer(_net(), "cross_entropy", callbacks=[Spy()], seed=0)
    trainer.run_epoch(X, y, validation_data=(X[:10], y[:10]))
    trainer.run_epoch(X, y, validation_data=(X[:10], y[:10]))
    assert seen == [("begin", 0), (0, 1, ["loss", "val_loss"]), (1, 2, ["loss", "val_loss"])]


def test_fit_goes_on_to_the_total_number_of_epochs_and_a_callback_can_stop_it():
    X, y = _blobs()
    trainer = Trainer(_net(), "cross_entropy", "adam", seed=0)
    trainer.fit(X, y, epochs=2, verbose=0)
    history = trainer.fit(X, y, epochs=5, verbose=0)
    assert history.epoch == [0, 1, 2, 3, 4] and trainer.epoch == 5
    stopper = Trainer(
        _net(),
        "cross_entropy",
        "sgd",
        lr=1e-6,
        callbacks=[EarlyStopping("loss", patience=0, min_delta=1.0)],
    )
    history = stopper.fit(X, y, epochs=20, verbose=0)
    assert stopper.stop_training and history.stop_reason.startswith("early stopping")
    assert len(history.epoch) == 2


def test_an_optimizer_of_another_model_is_refused():
    # the usual case: an optimizer built for the model before it was saved and loaded again
    X, y = _blobs()
    old = _net()
    opt = Adam(old.parameters(), lr=0.01)
    new = _net(seed=3)
    before = _weights(new)
    for call in (
        lambda: Trainer(new, "cross_entropy", opt),
        lambda: gn.fit(new, X, y, loss="cross_entropy", optimizer=opt, epochs=1, verbose=0),
    ):
        with pytest.raises(
            ValueError, match=r"holds 4 of its 4 parameters that are not this model's"
        ):
            call()
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(new)))
    Trainer(new, "cross_entropy", Adam(new.parameters()[:2]))  # a subset (frozen layers) is fine


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"model": "net"}, TypeError, "expected a glassnet Module as the model, got str"),
        ({"lr": 0}, ValueError, "expected lr > 0, got 0"),
        ({"lr": "0.1"}, ValueError, "expected lr > 0, got '0.1'"),
        ({"lr": True}, ValueError, "expected lr > 0, got True"),
        ({"augment": 3}, TypeError, "augment to be a callable"),
        ({"metrics": "accuracy"}, TypeError, "metrics as a list"),
        ({"callbacks": EarlyStopping()}, TypeError, r"wrap it in a list: callbacks=\[...\]"),
        ({"callbacks": [print]}, TypeError, "every callback to be a glassnet.train.Callback"),
        ({"callbacks": None}, TypeError, "callbacks as a list of Callback objects"),
        ({"optimizer": "adamm"}, ValueError, "adam"),
        ({"loss": "cross_entropie"}, ValueError, "cross_entropy"),
    ],
)
def test_the_trainer_refuses_bad_arguments(kwargs, error, match):
    arguments = {"model": _net(), "loss": "cross_entropy", **kwargs}
    with pytest.raises(error, match=match):
        Trainer(arguments.pop("model"), arguments.pop("loss"), **arguments)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"verbose": 3}, ValueError, "expected verbose 0 .silent., 1 .progress bar. or 2"),
        ({"verbose": True}, ValueError, "expected verbose"),
        ({"verbose": "1"}, ValueError, "expected verbose"),
        ({"shuffle": "yes"}, TypeError, "expected shuffle to be True or False, got 'yes'"),
        ({"shuffle": 1}, TypeError, "expected shuffle to be True or False"),
        (
            {"validation_split": "0.2"},
            ValueError,
            r"expected validation_split in \[0, 1\), got '0.2'",
        ),
        ({"validation_split": True}, ValueError, "expected validation_split"),
        (
            {"validation_split": 0.2, "validation_data": "x"},
            ValueError,
            "expected validation_data or validation_split, got both",
        ),
        (
            {"validation_data": ([1, 2],)},
            TypeError,
            r"expected validation_data as a pair \(X_val, y_val\)",
        ),
        ({"epochs": 2.0}, ValueError, "expected epochs to be a non-negative integer"),
        ({"batch_size": 0}, ValueError, "expected batch_size to be a positive integer or None"),
        ({"callbacks": (EarlyStopping("loss"), "stop")}, TypeError, "expected every callback"),
    ],
)
def test_fit_validates_its_settings_before_training(kwargs, error, match):
    X, y = _blobs()
    model = _net()
    before = _weights(model)
    with pytest.raises(error, match="fit: " + match):
        gn.fit(model, X, y, loss="cross_entropy", **{"epochs": 2, "verbose": 0, **kwargs})
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(model)))


def test_numpy_scalars_are_accepted_as_settings():
    X, y = _blobs()
    history = gn.fit(
        _net(),
        X,
        y,
        loss="cross_entropy",
        lr=np.float32(0.01),
        epochs=np.int64(2),
        batch_size=np.int32(16),
        validation_split=np.float64(0.2),
        verbose=np.int64(0),
        shuffle=np.bool_(True),
    )
    assert len(history.epoch) == 2


class _Watch(Callback):
    """Weights at each batch's start and the loss at its end: the last finite step is known."""

    def on_train_begin(self, logs=None):
        self.starts, self.losses = [], []

    def on_batch_begin(self, batch, logs=None):
        self.starts.append(_weights(self.state.model))

    def on_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


def _diverging(callbacks=()):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(64, 2))
    y = np.sin(2.0 * X[:, :1]) + 0.5 * X[:, 1:]
    model = Sequential(Dense(2, 8, "tanh", seed=13), Dense(8, 1, seed=14))
    return model, X, y


def test_on_divergence_the_weights_of_the_last_finite_loss_are_kept():
    # lr 1e6 on a tanh net (seeds 13, 14, data seed 1): a few steps with a finite but growing
    # loss, then inf; the kept weights are those at the start of the last step whose loss was
    # finite (its predictions are large but finite, and so is its loss on all the data)
    model, X, y = _diverging()
    watch = _Watch()
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = gn.fit(
            model,
            X,
            y,
            loss="mse",
            optimizer="sgd",
            lr=1e6,
            epochs=50,
            batch_size=16,
            callbacks=[watch],
            verbose=0,
            seed=0,
        )
    assert history.diverged and "the loss became" in history.stop_reason
    assert len(watch.starts) == len(watch.losses) + 1  # the diverging step never ended
    last_finite = watch.starts[len(watch.losses) - 1]
    assert all(np.array_equal(a, b) for a, b in zip(last_finite, _weights(model)))
    with np.errstate(all="ignore"):
        assert np.isfinite(model.predict(X)).all()
        assert np.isfinite(gn.evaluate(model, X, y, loss="mse")["loss"])
    runtime = [w for w in caught
               if issubclass(w.category, RuntimeWarning) and "fit:" in str(w.message)]  # fmt: skip
    assert len(runtime) == 1 and runtime[0].filename == __file__  # at the caller's line
    message = str(runtime[0].message)
    match = re.search(r"the loss became (nan|inf) at epoch (\d+), batch (\d+)", message)
    epoch, batch = int(match.group(2)), int(match.group(3))
    assert 1 <= epoch < 50 and 1 <= batch <= 4
    assert f"epoch {epoch}, batch {batch}" in history.stop_reason
    assert len(history.history.get("loss", [])) == epoch - 1  # the diverging epoch: not recorded


def test_adam_divergence_brings_back_the_weights_kept_in_the_optimizer():
    """With Adam the Trainer keeps no copy: the optimizer writes each update into a second
    buffer and the weights the step started from stay intact in the first. Four steps at lr
    0.01, then lr 1e25 (seeds 13, 14, data seed 1, float32): the fifth step's update makes
    the next loss overflow; the weights left are those the fifth step started from, the last
    whose loss was finite."""
    model, X, y = _diverging()
    trainer = Trainer(model, "mse", "adam", lr=0.01)
    assert trainer.optimizer.keeps_previous
    starts, losses = [], []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(8):
            trainer.optimizer.lr = 0.01 if k < 4 else 1e25
            starts.append(_weights(model))
            losses.append(trainer.step(X, y))
            if trainer.diverged:
                break
    assert trainer.diverged and len(losses) == 6 and np.isfinite(losses[:5]).all()
    assert all(np.array_equal(a, b) for a, b in zip(starts[4], _weights(model)))
    assert not all(np.array_equal(a, b) for a, b in zip(starts[3], _weights(model)))


def test_no_op_callback_hooks_are_not_called_and_instance_hooks_are():
    from glassnet.train.callbacks import Callback

    class EpochsOnly(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.seen = epoch

    model, X, y = _diverging()
    quiet, loud = EpochsOnly(), EpochsOnly()
    batches = []
    loud.on_batch_end = lambda batch, logs=None: batches.append(batch)
    trainer = Trainer(model, "mse", "sgd", lr=0.01, callbacks=[quiet, loud])
    assert trainer._hook("on_batch_end") == [loud.on_batch_end]
    assert trainer._hook("on_batch_begin") == []
    trainer.run_epoch(X, y, batch_size=16)
    assert batches == [0, 1, 2, 3] and quiet.seen == loud.seen == 0


def test_a_diverging_step_returns_the_loss_and_restores_the_weights():
    model, X, y = _diverging()
    trainer = Trainer(model, "mse", "sgd", lr=1e6)
    losses, kept = [], None
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(30):
            weights = _weights(model)
            loss = trainer.step(X, y)
            losses.append(loss)
            if trainer.diverged:
                break
            kept = weights
    assert trainer.diverged and not np.isfinite(losses[-1]) and trainer.stop_training
    assert all(np.array_equal(a, b) for a, b in zip(kept, _weights(model)))
    assert any(
        "Trainer.step: training stopped" in str(w.message) and w.filename == __file__
        for w in caught
    )


def test_step_checks_each_batch_like_fit():
    trainer = Trainer(_net(), "cross_entropy")
    X, y = _blobs()
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        trainer.step(X[:4], np.array([0, 1, 2, 3]))
    with pytest.raises(gn.errors.ShapeError, match="expects 2 features"):
        trainer.step(X[:4, :1], y[:4])
    assert trainer.global_step == 0


def test_a_full_batch_method_refuses_mini_batches_in_run_epoch():
    X, y = _blobs()
    trainer = Trainer(_net(), "cross_entropy", "rprop-")
    with pytest.raises(ValueError, match="full-batch method"):
        trainer.run_epoch(X, y, batch_size=8)
    assert trainer.run_epoch(X, y, batch_size=None)["loss"] > 0


def test_a_later_batch_of_the_same_shapes_still_gets_its_values_checked():
    trainer = Trainer(_net(), "cross_entropy")
    X, y = _blobs()
    trainer.step(X[:4], y[:4])  # shapes probed once
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        trainer.step(X[4:8], np.array([0, 1, 7, 2]))
    binary = Trainer(
        Sequential(Dense(2, 4, "tanh"), Dense(4, 1, "sigmoid")), "binary_cross_entropy"
    )
    binary.step(X[:4], np.array([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"expected targets in \[0, 1\]"):
        binary.step(X[:4], np.array([0.0, 5.0, 1.0, 0.0]))
    assert trainer.global_step == binary.global_step == 1
