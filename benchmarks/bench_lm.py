"""Levenberg-Marquardt against full-batch Adam on y = sin(x) (1-10-1 tanh, float64, 200 points
on [-pi, pi], noise-free): epochs and wall time to MSE < 1e-4, per seed. Adam tries lr in
{1e-3, 3e-3, 1e-2, 3e-2} with up to 20,000 epochs each; the best (fewest epochs) is shown.

    python benchmarks/bench_lm.py
"""

import time

import numpy as np

import glassnet as gn
from glassnet.optim.levenberg_marquardt import LevenbergMarquardt
from glassnet.train.stopping import ErrorBelow

X = np.linspace(-np.pi, np.pi, 200)[:, None]
Y = np.sin(X)


def run(seed, make_optimizer, max_epochs):
    """(epochs to MSE < 1e-4 or None, wall seconds) for one model built from ``seed``."""
    model = gn.nn.Sequential(gn.nn.Dense(1, 10, "tanh", seed=10 * seed, dtype=np.float64),
                             gn.nn.Dense(10, 1, seed=10 * seed + 1, dtype=np.float64))  # fmt: skip
    start = time.perf_counter()
    history = gn.fit(model, X, Y, loss="mse", optimizer=make_optimizer(model.parameters()), batch_size=None,
                     epochs=max_epochs, shuffle=False, verbose=0, callbacks=[ErrorBelow(1e-4)])  # fmt: skip
    wall = time.perf_counter() - start
    losses = history.history["loss"]
    return (len(losses) if losses[-1] < 1e-4 else None), wall


def main():
    print(
        f"{'seed':>4}  {'LM epochs':>9}  {'LM s':>6}  {'Adam lr':>7}  {'Adam epochs':>11}  {'Adam s':>6}"
    )
    for seed in range(3):
        lm_epochs, lm_wall = run(seed, LevenbergMarquardt, 1000)
        best = None
        for lr in (1e-3, 3e-3, 1e-2, 3e-2):
            epochs, wall = run(seed, lambda params, lr=lr: gn.optim.Adam(params, lr=lr), 20_000)
            if epochs is not None and (best is None or epochs < best[1]):
                best = (lr, epochs, wall)
        adam = (
            f"{best[0]:>7g}  {best[1]:>11d}  {best[2]:>6.2f}"
            if best
            else f"{'-':>7}  {'> 20000':>11}  {'-':>6}"
        )
        print(f"{seed:>4}  {lm_epochs if lm_epochs else '> 1000':>9}  {lm_wall:>6.2f}  {adam}")


if __name__ == "__main__":
    main()
