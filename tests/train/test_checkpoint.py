"""Checkpoints and exact resume: for every optimizer, with dropout, a noise layer, weight
noise, augmentation, a schedule, early stopping and shuffling on, a run interrupted after
epoch k and resumed from its checkpoint ends with the very weights and history of the run
that was not interrupted."""

import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim
from glassnet.data import AdditiveNoise
from glassnet.errors import CheckpointError, FileFormatError
from glassnet.nn import Dense, Dropout, GaussianNoise, Sequential
from glassnet.train import (
    EarlyStopping,
    ModelCheckpoint,
    SelectiveDelta,
    StepDecay,
    Trainer,
    WeightNoise,
    save_checkpoint,
)


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    y = np.tanh(X @ np.array([[1.0], [-0.5], [0.25]])) + 0.05 * rng.normal(size=(n, 1))
    return X, y


def _net(seed):
    """3-8-1 tanh net with input noise and dropout, each with its own Generator."""
    return Sequential(
        GaussianNoise(0.05, seed=seed + 100),
        Dense(3, 8, "tanh", seed=seed),
        Dropout(0.2, seed=seed + 200),
        Dense(8, 1, seed=seed + 1),
    )


FULL_BATCH = sorted(optim.FULL_BATCH)
MINI_BATCH = sorted(set(optim.NAMES) - optim.FULL_BATCH)


def _callbacks(path, full_batch):
    callbacks = [StepDecay(2, 0.8), EarlyStopping("loss", patience=50, restore_best=False)]
    if not full_batch:  # weight noise changes the loss between a closure's evaluations
        callbacks.append(WeightNoise(0.01, seed=7))
    return callbacks + [ModelCheckpoint(path)]


def _run(name, tmp_path, epochs, resume_from=None, model_seed=0, tag="run"):
    full_batch = name in optim.FULL_BATCH
    X, y = _data()
    model = _net(model_seed)
    path = str(tmp_path / f"{tag}-{{epoch}}.npz")
    lr = {"lm": 1e-2, "newton": 0.5, "bfgs": 0.5, "lbfgs": 0.5}.get(name, 0.01)
    history = gn.fit(
        model,
        X,
        y,
        loss="mse",
        optimizer=name,
        lr=None if name == "scg" else lr,
        epochs=epochs,
        batch_size=None if full_batch else 8,
        callbacks=_callbacks(path, full_batch),
        verbose=0,
        seed=3,
        augment=AdditiveNoise(0.02),
        resume_from=resume_from,
    )
    return model, history


@pytest.mark.parametrize("name", MINI_BATCH + FULL_BATCH)
def test_a_resumed_run_is_bit_identical_to_the_uninterrupted_one(name, tmp_path):
    # seeds: model 0 (the resumed one starts from seed 5 to show the weights come from the file),
    # shuffling and augmentation 3, weight noise 7; interrupted after epoch 3 of 6
    straight, history = _run(name, tmp_path, 6, tag="straight")
    _run(name, tmp_path, 3, tag="first")
    resumed, resumed_history = _run(
        name, tmp_path, 6, resume_from=tmp_path / "first-3.npz", model_seed=5, tag="second"
    )
    for (key, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert np.array_equal(a, b), f"{name}: {key} differs after resuming"
    assert history.history == resumed_history.history and history.epoch == resumed_history.epoch
    assert len(history.epoch) == 6
    # and the checkpoint of epoch 6 of the resumed run equals that of the straight run
    a = np.load(tmp_path / "straight-6.npz", allow_pickle=False)
    b = np.load(tmp_path / "second-6.npz", allow_pickle=False)
    assert sorted(a.files) == sorted(b.files)
    for key in a.files:
        if key != "__glassnet__":
            assert np.array_equal(a[key], b[key]), key


def test_selective_delta_and_its_subset_survive_a_resume(tmp_path):
    X, y = _data(64)

    def run(epochs, resume_from=None, tag="a"):
        model = Sequential(Dense(3, 6, "tanh", seed=1), Dense(6, 1, seed=2))
        callbacks = [
            SelectiveDelta(0.05, epochs=2),
            ModelCheckpoint(str(tmp_path / f"{tag}-{{epoch}}.npz")),
        ]
        history = gn.fit(
            model,
            X,
            y,
            loss="mse",
            optimizer="adam",
            lr=0.01,
            epochs=epochs,
            batch_size=16,
            callbacks=callbacks,
            verbose=0,
            seed=4,
            resume_from=resume_from,
        )
        return model, history, callbacks[0]

    straight, history, selective = run(8)
    assert any(0 < count < 64 for count in selective.marked_counts)  # a subset was trained on
    run(2, tag="b")  # after epoch 2 the subset of the first marking is active
    resumed, resumed_history, resumed_selective = run(8, resume_from=tmp_path / "b-2.npz", tag="c")
    assert all(
        np.array_equal(a, b)
        for a, b in zip(straight.state_dict().values(), resumed.state_dict().values())
    )
    assert history.history == resumed_history.history
    assert selective.marked_counts == resumed_selective.marked_counts


def test_a_trainer_driven_by_run_epoch_resumes_exactly(tmp_path):
    X, y = _data()

    def trainer(seed):
        return Trainer(
            _net(seed), "mse", "adam", lr=0.01, callbacks=[WeightNoise(0.01, seed=9)], seed=11
        )

    straight = trainer(0)
    for _ in range(4):
        straight.run_epoch(X, y, batch_size=8)
    first = trainer(0)
    for _ in range(2):
        first.run_epoch(X, y, batch_size=8)
    save_checkpoint(first, tmp_path / "t.npz")
    second = trainer(1).load_checkpoint(tmp_path / "t.npz")
    assert (second.epoch, second.global_step) == (2, 12)
    for _ in range(2):
        second.run_epoch(X, y, batch_size=8)
    assert second.global_step == straight.global_step == 24
    assert all(
        np.array_equal(a, b)
        for a, b in zip(straight.model.state_dict().values(), second.model.state_dict().values())
    )
    assert straight.history.history == second.history.history


def test_fit_resumes_to_the_total_number_of_epochs(tmp_path):
    X, y = _data()
    model = _net(0)
    gn.fit(
        model,
        X,
        y,
        loss="mse",
        epochs=2,
        callbacks=[ModelCheckpoint(str(tmp_path / "c.npz"))],
        verbose=0,
    )
    history = gn.fit(_net(0), X, y, loss="mse", epochs=5, verbose=0, resume_from=tmp_path / "c.npz")
    assert history.epoch == [0, 1, 2, 3, 4]
    history = gn.fit(_net(0), X, y, loss="mse", epochs=2, verbose=0, resume_from=tmp_path / "c.npz")
    assert history.epoch == [0, 1]  # nothing left to do


def test_the_checkpoint_holds_every_optimizer_state_and_no_pickle(tmp_path):
    X, y = _data()
    trainer = Trainer(_net(0), "mse", "irprop+", seed=0)
    trainer.run_epoch(X, y, batch_size=None)
    trainer.run_epoch(X, y, batch_size=None)
    save_checkpoint(trainer, tmp_path / "r.npz")
    with np.load(tmp_path / "r.npz", allow_pickle=False) as archive:
        meta = json.loads(archive["__glassnet__"].tobytes())
        assert meta["format"] == "glassnet-checkpoint" and meta["version"] == 1
        assert meta["optimizer"]["class"] == "IRpropPlus"
        assert meta["optimizer"]["state"]["previous_error"] == trainer.optimizer.previous_error
        assert meta["trainer"]["epoch"] == 2 and meta["trainer"]["global_step"] == 2
        assert set(meta["generators"]["modules"]) == {"layers.0.rng", "layers.2.rng"}
        assert any(k.startswith("optimizer.state.") for k in archive.files)


@pytest.mark.parametrize(
    "change, match",
    [
        (
            lambda: Trainer(Sequential(Dense(3, 9, "tanh"), Dense(9, 1)), "mse", "adam"),
            "another architecture",
        ),
        (lambda: Trainer(_net(0), "mse", "sgd"), "Adam optimizer, this trainer has a SGD"),
        (lambda: Trainer(_net(0), "mse", "adam", callbacks=[EarlyStopping("loss")]), "callbacks"),
    ],
)
def test_a_checkpoint_that_does_not_fit_names_the_mismatch(change, match, tmp_path):
    X, y = _data()
    trainer = Trainer(_net(0), "mse", "adam", seed=0)
    trainer.run_epoch(X, y)
    save_checkpoint(trainer, tmp_path / "a.npz")
    other = change()
    before = [p.data.copy() for p in other.model.parameters()]
    with pytest.raises(CheckpointError, match=match):
        other.load_checkpoint(tmp_path / "a.npz")
    assert all(np.array_equal(b, p.data) for b, p in zip(before, other.model.parameters()))


def test_a_model_file_is_not_a_checkpoint_and_the_message_says_so(tmp_path):
    model = _net(0)
    gn.save(model, tmp_path / "m.npz")
    with pytest.raises(FileFormatError, match="model file: load it with glassnet.load"):
        Trainer(model, "mse").load_checkpoint(tmp_path / "m.npz")


def test_model_checkpoint_every_and_save_best_only(tmp_path):
    X, y = _data()
    X_val, y_val = _data(16, seed=1)
    every = ModelCheckpoint(str(tmp_path / "e-{epoch}.npz"), every=2)
    best = ModelCheckpoint(str(tmp_path / "best.npz"), monitor="val_loss", save_best_only=True)
    history = gn.fit(
        _net(0),
        X,
        y,
        loss="mse",
        optimizer="sgd",
        lr=0.05,
        epochs=6,
        verbose=0,
        validation_data=(X_val, y_val),
        callbacks=[every, best],
    )
    assert every.written == [str(tmp_path / f"e-{k}.npz") for k in (2, 4, 6)]
    val = history.history["val_loss"]
    improved = [k for k in range(6) if val[k] == min(val[: k + 1])]
    assert len(best.written) == len(improved)
    meta = json.loads(np.load(tmp_path / "best.npz")["__glassnet__"].tobytes())
    assert meta["trainer"]["epoch"] == improved[-1] + 1


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"path": 3}, TypeError, "expected a file path"),
        ({"path": "a.npz", "every": 0}, ValueError, "every to be a positive integer"),
        ({"path": "a.npz", "every": 1.5}, ValueError, "every to be a positive integer"),
        ({"path": "a.npz", "save_best_only": "yes"}, TypeError, "save_best_only True or False"),
        ({"path": "a.npz", "mode": "up"}, ValueError, "mode 'auto', 'min' or 'max'"),
        ({"path": "a.npz", "monitor": 3}, TypeError, "monitor as a log key"),
    ],
)
def test_model_checkpoint_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ModelCheckpoint(**kwargs)


def test_model_checkpoint_names_a_missing_monitor_and_a_bad_path_field(tmp_path):
    X, y = _data()
    with pytest.raises(KeyError, match="expected 'val_loss' in the logs"):
        gn.fit(
            _net(0),
            X,
            y,
            loss="mse",
            epochs=1,
            verbose=0,
            callbacks=[ModelCheckpoint(str(tmp_path / "a.npz"), save_best_only=True)],
        )
    with pytest.raises(ValueError, match="cannot fill in the path"):
        gn.fit(
            _net(0),
            X,
            y,
            loss="mse",
            epochs=1,
            verbose=0,
            callbacks=[ModelCheckpoint(str(tmp_path / "{accuracy}.npz"))],
        )


def test_save_checkpoint_refuses_what_is_not_a_trainer(tmp_path):
    with pytest.raises(TypeError, match="expected a glassnet.train.Trainer"):
        save_checkpoint(_net(0), tmp_path / "x.npz")


def test_a_truncated_checkpoint_is_a_file_format_error(tmp_path):
    X, y = _data()
    trainer = Trainer(_net(0), "mse", seed=0)
    trainer.run_epoch(X, y)
    save_checkpoint(trainer, tmp_path / "c.npz")
    data = (tmp_path / "c.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError):
        Trainer(_net(0), "mse").load_checkpoint(tmp_path / "t.npz")


def test_bad_paths_get_clear_errors(tmp_path):
    trainer = Trainer(_net(0), "mse", seed=0)
    with pytest.raises(IsADirectoryError,
                       match="save_checkpoint: expected a file to write, got the folder"):
        save_checkpoint(trainer, tmp_path)
    with pytest.raises(FileNotFoundError,
                       match="save_checkpoint: expected a file in an existing folder"):
        save_checkpoint(trainer, tmp_path / "missing" / "c.npz")
    with pytest.raises(
        FileNotFoundError, match="ModelCheckpoint: expected a path in an existing folder"
    ):
        ModelCheckpoint(str(tmp_path / "missing" / "{epoch}.npz"))
    with pytest.raises(
        TypeError, match="load_checkpoint: expected the path of a checkpoint file, got None"
    ):
        trainer.load_checkpoint(None)
    with pytest.raises(FileNotFoundError, match="load_checkpoint: no such file"):
        trainer.load_checkpoint(tmp_path / "none.npz")
    assert list(tmp_path.iterdir()) == []
