"""Levenberg-Marquardt: Jacobian against finite differences, one step by hand, the mu rule,
fit integration, and the must-show comparison with Adam on sin(x)."""

import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet.nn import Parameter
from glassnet.optim.levenberg_marquardt import LevenbergMarquardt, residual_jacobian
from glassnet.train.stopping import ErrorBelow


def _net(sizes, seed):
    last = len(sizes) - 2
    layers = [gn.nn.Dense(a, b, "tanh" if i < last else None, seed=seed + i, dtype=np.float64)
              for i, (a, b) in enumerate(itertools.pairwise(sizes))]  # fmt: skip
    return gn.nn.Sequential(*layers)


@pytest.mark.parametrize("sizes", [(2, 3, 2), (1, 10, 1)])
def test_jacobian_matches_central_differences(sizes, rng):
    model = _net(sizes, seed=3)
    X, Y = rng.normal(size=(7, sizes[0])), rng.normal(size=(7, sizes[-1]))
    params = model.parameters()
    J = residual_jacobian(model(gn.Tensor(X)) - Y, params)
    columns, h = [], 1e-6
    for p in params:
        for i in range(p.data.size):
            old = p.data.flat[i]
            p.data.flat[i] = old + h
            plus = model.predict(X) - Y
            p.data.flat[i] = old - h
            minus = model.predict(X) - Y
            p.data.flat[i] = old
            columns.append(((plus - minus) / (2 * h)).ravel())
    assert J.shape == (7 * sizes[-1], sum(p.data.size for p in params))
    np.testing.assert_allclose(J, np.stack(columns, axis=1), rtol=1e-6, atol=1e-8)
    assert all(p.grad is None for p in params)


def test_one_step_on_a_linear_model_is_the_least_squares_solution(rng):
    # e = X W^T + b - y is linear in w, J = [X, 1]; dw = -(J^T J + mu I)^-1 J^T e from w = 0 is
    # the ridge solution, i.e. least squares for mu = 1e-12.
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    layer = gn.nn.Dense(3, 1, init="zeros", dtype=np.float64)
    opt = LevenbergMarquardt(layer.parameters(), mu=1e-12, mu_min=1e-12)
    opt.step(lambda: layer(gn.Tensor(X)) - y)
    J = np.hstack([X, np.ones((20, 1))])
    w = np.linalg.lstsq(J, y, rcond=None)[0].ravel()
    np.testing.assert_allclose(np.r_[layer.W.data.ravel(), layer.b.data], w, rtol=1e-8, atol=1e-10)
    assert opt.mu == 1e-12 and opt.trials == 1  # success: mu * 0.1, floored at mu_min


def test_one_step_by_hand_with_a_known_jacobian():
    # e(w) = w - 3 for one weight w0 = 1 (J = 1, e = -2), mu = 1:
    # dw = -(1 + 1)^-1 * 1 * (-2) = 1 -> w = 2, E falls from 4 to 1 -> mu = 0.1
    layer = gn.nn.Dense(1, 1, bias=False, init="zeros", dtype=np.float64)
    layer.W.data[...] = 1.0
    opt = LevenbergMarquardt(layer.parameters(), mu=1.0)
    e = opt.step(lambda: layer(gn.Tensor(np.ones((1, 1)))) - 3.0)
    assert layer.W.data[0, 0] == pytest.approx(2.0) and opt.mu == pytest.approx(0.1)
    assert float(e.data[0, 0]) == pytest.approx(-2.0)  # the residuals the step started from


def test_mu_increases_on_failure_and_decreases_on_success():
    # e = [tanh(w) - 0.9, tanh(w) + 0.9] from w0 = 0: J^T e = 0, so dw = 0, E cannot fall and
    # every trial fails (mu 1, 10, 100, 1000 = mu_max). Targets [0.5, 0.5] instead: E falls at once.
    layer = gn.nn.Dense(1, 1, "tanh", bias=False, init="zeros", dtype=np.float64)
    x, y = np.ones((2, 1)), np.array([[0.9], [-0.9]])
    opt = LevenbergMarquardt(layer.parameters(), mu=1.0, mu_max=1e3)
    opt.step(lambda: layer(gn.Tensor(x)) - y)
    assert opt.trials == 4 and opt.mu == 1e3 and opt.stalled  # 1, 10, 100, 1000 all failed
    assert layer.W.data[0, 0] == 0.0  # weights unchanged
    opt = LevenbergMarquardt(layer.parameters(), mu=1.0)
    opt.step(lambda: layer(gn.Tensor(x)) - np.array([[0.5], [0.5]]))
    assert opt.trials == 1 and opt.mu == pytest.approx(0.1) and not opt.stalled


def test_in_fit_it_is_full_batch_and_squared_error_only(rng):
    X = rng.uniform(-1, 1, (30, 2))
    y = np.sin(2 * X[:, :1]) + X[:, 1:]
    model = _net((2, 5, 1), seed=0)
    opt = LevenbergMarquardt(model.parameters())
    with pytest.raises(
        ValueError, match="LevenbergMarquardt is a full-batch method.*pass batch_size=None"
    ):
        gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=10, verbose=0)
    with pytest.raises(ValueError, match=r"optimizer 'lm'.*expected loss 'sse' or 'mse', got 'l1'"):
        gn.fit(model, X, y, loss="l1", optimizer=opt, batch_size=None, verbose=0)
    history = gn.fit(
        model, X, y[:, 0], loss="sse", optimizer=opt, batch_size=None, epochs=20, verbose=0
    )
    losses = history.history["loss"]
    assert all(b <= a for a, b in itertools.pairwise(losses)) and losses[-1] < 0.01 * losses[0]
    assert losses[-1] == pytest.approx(gn.evaluate(model, X, y, loss="sse")["loss"], rel=0.5)


def test_a_parameter_outside_dense_layers_is_refused():
    w = Parameter(np.array([[1.0]]))
    with pytest.raises(ValueError, match="W or b of a Dense layer"):
        LevenbergMarquardt([w]).step(lambda: w * 2.0 - 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lm_fits_sin_in_fewer_epochs_than_the_best_adam(seed):
    X = np.linspace(-np.pi, np.pi, 200)[:, None]
    y = np.sin(X)

    def epochs_to_target(optimizer, lr, max_epochs):
        model = _net((1, 10, 1), seed=10 * seed)
        opt = (
            LevenbergMarquardt(model.parameters())
            if optimizer == "lm"
            else gn.optim.Adam(model.parameters(), lr=lr)
        )
        history = gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=None, epochs=max_epochs,
                         shuffle=False, verbose=0, callbacks=[ErrorBelow(1e-4)])  # fmt: skip
        losses = history.history["loss"]
        return len(losses) if losses[-1] < 1e-4 else None

    lm = epochs_to_target("lm", None, 1000)
    assert lm is not None
    # LM wins unless Adam gets there in <= lm epochs, so Adam runs at most lm epochs per lr:
    # the same verdict as running it to 20,000 (benchmarks/bench_lm.py does that for the numbers).
    for lr in (1e-3, 3e-3, 1e-2, 3e-2):
        assert epochs_to_target("adam", lr, lm) is None, (
            f"Adam lr={lr} reached MSE < 1e-4 within {lm} epochs"
        )
