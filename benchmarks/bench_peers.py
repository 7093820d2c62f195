"""glassnet against its peers on the CPU, in one run, same threads (2) and dtype (float32).

(a) one epoch of the MNIST parity MLP 784-256-128-10 (ReLU, Adam 1e-3, batch 128) on the first
    50,000 training images: glassnet.fit vs a plain PyTorch loop vs scikit-learn's
    MLPClassifier (max_iter=1);
(b) a 2-16-16-1 tanh network on two moons, batch 32, SGD with momentum 0.9: optimizer steps
    per second of a hand-written loop (zero_grad / forward / backward / step) in glassnet and
    in PyTorch, and of glassnet.fit against scikit-learn's own fit loop.

Prints times and the ratios the README quotes. Run:  python benchmarks/bench_peers.py
(needs torch==2.13.0, scikit-learn and threadpoolctl; reads ../shared/data/mnist.npz).
It never changes OPENBLAS_* settings.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

THREADS = 2
MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"


def blas_report():
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        print(f"  {pool.get('internal_api')} {pool.get('version')} kernel={pool.get('architecture')} "
              f"threads={pool.get('num_threads')} ({Path(pool.get('filepath', '')).name})")  # fmt: skip
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def mnist_epoch(repeats):
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import glassnet as gn

    with np.load(MNIST, allow_pickle=False) as f:
        X = (f["x_train"][:50000].reshape(-1, 784) / 255.0).astype(np.float32)
        y = f["y_train"][:50000].astype(np.int64)

    def glassnet_epoch():
        model = gn.nn.Sequential(gn.nn.Dense(784, 256, "relu", seed=0), gn.nn.Dense(256, 128, "relu", seed=1),
                                 gn.nn.Dense(128, 10, seed=2))  # fmt: skip
        gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=1, batch_size=128, verbose=0, seed=0)

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def torch_epoch():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                    torch.nn.ReLU(), torch.nn.Linear(128, 10))  # fmt: skip
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), 128):
            index = order[start : start + 128]
            opt.zero_grad()
            loss_fn(model(Xt[index]), yt[index]).backward()
            opt.step()

    def sklearn_epoch():
        clf = MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam", batch_size=128, max_iter=1,
                            learning_rate_init=1e-3, random_state=0)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    t_gn = best_of(glassnet_epoch, repeats)
    t_torch = best_of(torch_epoch, repeats)
    t_sk = best_of(sklearn_epoch, repeats)
    print(f"\n(a) one MNIST epoch, 50,000 images, 784-256-128-10 ReLU, Adam, batch 128 (best of {repeats})")
    print(f"  glassnet.fit      {t_gn:.3f} s")
    print(f"  PyTorch loop      {t_torch:.3f} s")
    print(f"  scikit-learn fit  {t_sk:.3f} s")
    print(f"  glassnet / PyTorch time      = {t_gn / t_torch:.2f}   (target <= 1.0)")
    print(f"  scikit-learn / glassnet time = {t_sk / t_gn:.2f}   (target >= 1.2)")
    return t_gn / t_torch, t_sk / t_gn


def small_net(steps):
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import glassnet as gn
    from glassnet.data import two_moons

    X, y = two_moons(n=1024, noise=0.1, seed=0)
    yf = y.astype(np.float32)
    xb, yb = X[:32], yf[:32]

    model = gn.nn.Sequential(gn.nn.Dense(2, 16, "tanh", seed=0), gn.nn.Dense(16, 16, "tanh", seed=1), gn.nn.Dense(16, 1, seed=2))
    opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x_tensor = gn.tensor(xb)

    def glassnet_loop():
        for _ in range(steps):
            opt.zero_grad()
            loss = gn.ops.sigmoid_binary_cross_entropy(model(x_tensor), yb)
            loss.backward()
            opt.step()

    tmodel = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 1))  # fmt: skip
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    txb, tyb = torch.from_numpy(xb), torch.from_numpy(yb[:, None])
    tloss = torch.nn.BCEWithLogitsLoss()

    def torch_loop():
        for _ in range(steps):
            topt.zero_grad()
            tloss(tmodel(txb), tyb).backward()
            topt.step()

    epochs = max(1, steps // 32)

    def glassnet_fit():
        fit_model = gn.nn.Sequential(gn.nn.Dense(2, 16, "tanh", seed=0), gn.nn.Dense(16, 16, "tanh", seed=1),
                                     gn.nn.Dense(16, 1, "sigmoid", seed=2))  # fmt: skip
        gn.fit(fit_model, X, y, loss="binary_cross_entropy", optimizer="momentum", lr=0.01, epochs=epochs,
               batch_size=32, verbose=0, seed=0)  # fmt: skip

    def sklearn_fit():
        clf = MLPClassifier(hidden_layer_sizes=(16, 16), activation="tanh", solver="sgd", momentum=0.9,
                            nesterovs_momentum=False, learning_rate_init=0.01, batch_size=32, max_iter=epochs,
                            tol=0.0, n_iter_no_change=10**9, random_state=0, shuffle=True)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    glassnet_loop(), torch_loop()  # warm up
    n_fit_steps = epochs * 32
    rate = {
        "glassnet loop": steps / best_of(glassnet_loop, 3),
        "PyTorch loop": steps / best_of(torch_loop, 3),
        "glassnet.fit": n_fit_steps / best_of(glassnet_fit, 3),
        "scikit-learn fit": n_fit_steps / best_of(sklearn_fit, 3),
    }
    print(f"\n(b) 2-16-16-1 tanh, batch 32, SGD momentum 0.9 ({steps} loop steps, {n_fit_steps} fit steps; best of 3)")
    for name, r in rate.items():
        print(f"  {name:<17} {r:9,.0f} steps/s")
    loop_ratio = rate["glassnet loop"] / rate["PyTorch loop"]
    fit_ratio = rate["glassnet.fit"] / rate["scikit-learn fit"]
    print(f"  glassnet loop / PyTorch loop steps/s     = {loop_ratio:.2f}   (target >= 2.5)")
    print(f"  glassnet.fit / scikit-learn fit steps/s  = {fit_ratio:.2f}   (target >= 1.5)")
    return loop_ratio, fit_ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["mnist", "small"], help="run one part only")
    parser.add_argument("--repeats", type=int, default=2, help="MNIST epochs timed per peer (best is kept)")
    parser.add_argument("--steps", type=int, default=4000, help="small-net loop steps")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(THREADS)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, threads {THREADS}")
    with threadpool_limits(limits=THREADS):
        print("BLAS in use:")
        blas_report()
        if args.only in (None, "mnist"):
            mnist_epoch(args.repeats)
        if args.only in (None, "small"):
            small_net(args.steps)


if __name__ == "__main__":
    main()
