"""The sequence examples (examples/adding_problem.py, examples/sunspots_forecast.py) run end to
end and learn: quick runs with tiny settings, and a slow one in which an LSTM solves the
adding problem at T = 30.

Each bound sits well past what a model that does not learn reaches (the adding problem:
predicting 1.0 gives MSE 1/6 = 0.167; the sunspots: the naive last-value forecast) and short
of what the same settings measured with seed 0 (the figures in the comments).
"""

import numpy as np
import pytest

from tests.e2e._examples import load_example


def test_sunspots_models_beat_the_naive_forecast(capsys):
    result = load_example("sunspots_forecast").main(["--epochs", "30", "--seed", "0"])
    rmse = result["rmse"]
    # measured with seed 0: naive 33.28, AR 20.06, MLP 22.23, LSTM 19.72 (4 s)
    assert set(rmse) == {"naive", "AR", "MLP", "LSTM"} and result["test_size"] == 62
    assert 30 < rmse["naive"] < 37  # the test years 1947-2008 of the shipped series
    assert rmse["AR"] < 0.7 * rmse["naive"]
    assert rmse["MLP"] < 0.8 * rmse["naive"] and rmse["LSTM"] < 0.8 * rmse["naive"]
    out = capsys.readouterr().out
    assert "235 training windows, 62 test targets 1947-2008, window 12" in out
    assert f"  LSTM   {rmse['LSTM']:8.2f}" in out


def test_adding_problem_short_sequences_are_learned(capsys):
    adding = load_example("adding_problem")
    argv = ["--length", "10", "--hidden", "16", "--steps", "400", "--eval-every", "200",
            "--test-size", "500", "--lr", "0.01", "--seed", "0"]  # fmt: skip
    result = adding.main(argv)
    # measured with seed 0: baseline 0.1602; LSTM 0.0529 at step 200, 0.0017 at 400; RNN
    # 0.1516, 0.0302 (T = 10 is short enough for the RNN too; 3 s)
    assert 0.13 < result["baseline"] < 0.2
    assert [step for step, _ in result["curves"]["LSTM"]] == [0, 200, 400]
    assert [step for step, _ in result["curves"]["RNN"]] == [0, 200, 400]
    assert result["final"]["LSTM"] < 0.02
    assert result["final"]["RNN"] < 0.1
    out = capsys.readouterr().out
    assert f"LSTM {result['final']['LSTM']:.4f}, RNN {result['final']['RNN']:.4f}" in out


def test_adding_data_marks_one_position_in_each_half():
    X, y = load_example("adding_problem").adding_data(200, 30, np.random.default_rng(0))
    assert X.shape == (200, 30, 2) and y.shape == (200, 1)
    markers = X[..., 1]
    assert (markers[:, :15].sum(axis=1) == 1).all() and (markers[:, 15:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (X[..., 0] * markers).sum(axis=1), rtol=1e-6)


@pytest.mark.slow
def test_lstm_solves_the_adding_problem_at_length_30():
    adding = load_example("adding_problem")
    argv = ["--length", "30", "--steps", "1200", "--eval-every", "1200", "--lr", "0.003",
            "--test-size", "500", "--models", "lstm", "--seed", "0"]  # fmt: skip
    result = adding.main(argv)
    # measured with seed 0 (hidden 32): test MSE 0.1505 at step 800, 0.0140 at 1000, 0.0075
    # at 1200; 35 s with both cores busy
    assert 0.13 < result["baseline"] < 0.2
    assert result["final"]["LSTM"] < 0.05
