"""glassnet against its peers on the CPU, in one run, same threads (2) and dtype (float32).

Every comparison times its sides in interleaved rounds (A, B, C, A, B, C, ...), so that the
machine's noise hits all sides alike, and reports each side's median with its min-max spread;
a ratio is the ratio of the medians (the min-max of the per-round ratios is shown next to it).

(small) a 2-16-16-1 tanh network on two moons, batch 32, SGD momentum 0.9, sigmoid BCE on the
        logits: steps per second of a hand-written loop (zero_grad / forward / backward / step)
        in glassnet and in PyTorch;
(fit)   the same network trained by glassnet.fit and by scikit-learn's MLPClassifier.fit
        (its own loop): steps per second;
(mnist) one epoch of the MNIST parity MLP 784-256-128-10 (ReLU, Adam 1e-3, batch 128,
        shuffled, cross-entropy) on the first 50,000 training images: glassnet.fit, the plain
        NumPy loop of benchmarks/numpy_mlp.py (the floor), a plain PyTorch loop, and
        scikit-learn's MLPClassifier (max_iter=1, for information);
(chain) forward and backward of 50 chained tanh ops on a 32x16 array: autodiff bookkeeping.

Ends with a table of the targets of issue 15: measured, target, pass or fail. The load
average is printed at the start and the end: with other work on the 2 cores, the 2-thread
PyTorch and OpenBLAS runs slow down far more than single-threaded Python does (their threads
wait for each other), so ratios taken under a load above 2 are not measurements. The end
line also gives the share of the CPU time the hypervisor took from this virtual machine
during the run ("steal"), which the load average does not show.
Run:  python benchmarks/bench_peers.py            (about 2 minutes on 2 quiet cores)
      python benchmarks/bench_peers.py --only chain --repeats 31
      python benchmarks/bench_peers.py --only mnist --threads 1 --repeats 8   (one thread on
      every side: the rounds spread less; the targets are set for 2)
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
PARTS = ("small", "fit", "mnist", "chain")
REPEATS = {"small": 15, "fit": 15, "mnist": 7, "chain": 21}  # rounds per part, by default
HERE = Path(__file__).resolve().parent
MNIST = HERE.parents[1] / "shared" / "data" / "mnist.npz"


def blas_report():
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        print(f"  {pool.get('internal_api')} {pool.get('version')} kernel={pool.get('architecture')} "
              f"threads={pool.get('num_threads')} ({Path(pool.get('filepath', '')).name})")  # fmt: skip
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")


def load_average(end=False):
    """The load average now; with ``end``, "... at the end" and the share of the CPU time the
    hypervisor took during the run (``stolen``)."""
    text = "load average (1, 5, 15 min) " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{text} at the end{stolen()}" if end else text


def cpu_times():
    """(all, stolen): the CPU time of all CPUs so far, and the part of it the hypervisor gave
    to other machines ("steal", /proc/stat, in clock ticks); None where there is no
    /proc/stat (not Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()  # cpu user nice system idle iowait irq softirq steal
    except OSError:
        return None
    ticks = [int(v) for v in fields[1:9]]
    return sum(ticks), ticks[7]


_START_TIMES = cpu_times()  # when the benchmark's module was imported: the run's start


def stolen():
    """"; the hypervisor took x% of the CPU time during the run": the time stolen from this
    virtual machine slows every side of a comparison, but not by the same factor (a side whose
    two threads wait for each other loses the most); "" where it cannot be told."""
    now = cpu_times()
    if now is None or _START_TIMES is None or now[0] <= _START_TIMES[0]:
        return ""
    share = (now[1] - _START_TIMES[1]) / (now[0] - _START_TIMES[0])
    return f"; the hypervisor took {100 * share:.1f}% of the CPU time during the run"


def interleaved(cases, repeats, warmup=True):
    """Seconds of each case over ``repeats`` interleaved rounds: {name: [seconds, ...]}.

    ``cases`` maps a name to make(), which prepares a run untimed (builds a model, say) and
    returns the callable that is timed. One untimed round comes first when ``warmup``.
    """
    times = {name: [] for name in cases}
    for round_ in range(repeats + warmup):
        for name, make in cases.items():
            run = make()
            start = time.perf_counter()
            run()
            seconds = time.perf_counter() - start
            if round_ >= warmup:
                times[name].append(seconds)
    return times


def median(values):
    return float(np.median(values))


def time_line(name, seconds, scale=1.0, unit="s"):
    """'name  median (min-max)' of seconds * scale."""
    values = np.asarray(seconds) * scale
    return f"  {name:<18} {median(values):9.3f} {unit}   ({values.min():.3f}-{values.max():.3f})"


def rate_line(name, seconds, steps):
    """'name  median steps/s (min-max)'; the rate of the median time."""
    rates = steps / np.asarray(seconds)
    return f"  {name:<18} {steps / median(seconds):9,.0f} steps/s   ({rates.min():,.0f}-{rates.max():,.0f})"


def ratio(numerator, denominator):
    """(ratio of the medians, min of the per-round ratios, max of them)."""
    per_round = np.asarray(numerator) / np.asarray(denominator)
    return median(numerator) / median(denominator), per_round.min(), per_round.max()


def ratio_line(text, r, target):
    value, low, high = r
    return f"  {text:<44} = {value:5.2f}   (per round {low:.2f}-{high:.2f}; target {target})"


def small_data():
    from glassnet.data import two_moons

    X, y = two_moons(n=1024, noise=0.1, seed=0)
    return X.astype(np.float32), y


def small_net(steps, repeats):
    """(glassnet loop steps/s) / (PyTorch loop steps/s), with its spread."""
    import torch

    import glassnet as gn

    X, y = small_data()
    xb, yb = X[:32], y[:32].astype(np.float32)

    model = gn.nn.Sequential(gn.nn.Dense(2, 16, "tanh", seed=0), gn.nn.Dense(16, 16, "tanh", seed=1),
                             gn.nn.Dense(16, 1, seed=2))  # fmt: skip
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

    times = interleaved(
        {"glassnet loop": lambda: glassnet_loop, "PyTorch loop": lambda: torch_loop}, repeats
    )
    print(f"\n(small) 2-16-16-1 tanh, batch 32, SGD momentum 0.9, BCE on logits: hand-written loop, "
          f"{steps} steps; median of {repeats} interleaved rounds (min-max)")  # fmt: skip
    for name, seconds in times.items():
        print(rate_line(name, seconds, steps))
    r = ratio(times["PyTorch loop"], times["glassnet loop"])  # steps/s ratio = inverse time ratio
    print(ratio_line("glassnet loop / PyTorch loop steps/s", r, ">= 5"))
    return r


def fit_loop(steps, repeats):
    """(glassnet.fit steps/s) / (scikit-learn MLPClassifier.fit steps/s), with its spread."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import glassnet as gn

    X, y = small_data()
    epochs = max(1, steps // 32)  # 1024 samples: 32 batches of 32 per epoch
    n_steps = epochs * 32

    def glassnet_fit():
        model = gn.nn.Sequential(gn.nn.Dense(2, 16, "tanh", seed=0), gn.nn.Dense(16, 16, "tanh", seed=1),
                                 gn.nn.Dense(16, 1, "sigmoid", seed=2))  # fmt: skip
        return lambda: gn.fit(model, X, y, loss="binary_cross_entropy", optimizer="momentum", lr=0.01,
                              epochs=epochs, batch_size=32, verbose=0, seed=0)  # fmt: skip

    def sklearn_fit():
        clf = MLPClassifier(hidden_layer_sizes=(16, 16), activation="tanh", solver="sgd", momentum=0.9,
                            nesterovs_momentum=False, learning_rate_init=0.01, batch_size=32, max_iter=epochs,
                            tol=0.0, n_iter_no_change=10**9, random_state=0, shuffle=True)  # fmt: skip

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, y)

        return run

    times = interleaved({"glassnet.fit": glassnet_fit, "scikit-learn fit": sklearn_fit}, repeats)
    print(f"\n(fit) the same net trained by fit: {epochs} epochs of 32 batches = {n_steps} steps; "
          f"median of {repeats} interleaved rounds (min-max)")  # fmt: skip
    for name, seconds in times.items():
        print(rate_line(name, seconds, n_steps))
    r = ratio(times["scikit-learn fit"], times["glassnet.fit"])
    print(ratio_line("glassnet.fit / scikit-learn fit steps/s", r, ">= 2.0, aiming at 2.5"))
    return r


def mnist_cases(X, y):
    """{name: make()} of the four peers, each timed for one epoch on (X, y)."""
    import torch
    from mnist_recipe import build_parity
    from numpy_mlp import NumpyMLP
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import glassnet as gn

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def glassnet_epoch():
        model = build_parity(0)
        return lambda: gn.fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=1,
                              batch_size=128, verbose=0, seed=0)  # fmt: skip

    def numpy_epoch():
        mlp = NumpyMLP((784, 256, 128, 10), batch_size=128, lr=1e-3, seed=0)
        return lambda: mlp.epoch(X, y)

    def torch_epoch():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                    torch.nn.ReLU(), torch.nn.Linear(128, 10))  # fmt: skip
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()

        def run():
            order = torch.randperm(len(Xt))
            for start in range(0, len(Xt), 128):
                index = order[start : start + 128]
                opt.zero_grad()
                loss_fn(model(Xt[index]), yt[index]).backward()
                opt.step()

        return run

    def sklearn_epoch():
        clf = MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam", batch_size=128, max_iter=1,
                            learning_rate_init=1e-3, random_state=0)  # fmt: skip

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, y)

        return run

    return {"glassnet.fit": glassnet_epoch, "NumPy loop": numpy_epoch, "PyTorch loop": torch_epoch,
            "scikit-learn fit": sklearn_epoch}  # fmt: skip


def mnist_epoch(repeats):
    """(glassnet / NumPy time, glassnet / PyTorch time) of one MNIST epoch, with their spreads."""
    with np.load(MNIST, allow_pickle=False) as f:
        X = (f["x_train"][:50000].reshape(-1, 784) / 255.0).astype(np.float32)
        y = f["y_train"][:50000].astype(np.int64)
    interleaved(
        mnist_cases(X[:5000], y[:5000]), 1, warmup=False
    )  # a tenth of an epoch warms all up
    times = interleaved(mnist_cases(X, y), repeats, warmup=False)
    print(f"\n(mnist) one epoch, 50,000 images, 784-256-128-10 ReLU, Adam 1e-3, batch 128; "
          f"median of {repeats} interleaved rounds (min-max)")  # fmt: skip
    for name, seconds in times.items():
        print(time_line(name, seconds))
    numpy_ratio = ratio(times["glassnet.fit"], times["NumPy loop"])
    torch_ratio = ratio(times["glassnet.fit"], times["PyTorch loop"])
    print(ratio_line("glassnet.fit / NumPy loop time", numpy_ratio, "<= 1.05"))
    print(ratio_line("glassnet.fit / PyTorch loop time", torch_ratio, "<= 0.7"))
    print(ratio_line("scikit-learn fit / glassnet.fit time", ratio(times["scikit-learn fit"], times["glassnet.fit"]),
                     "none, for information"))  # fmt: skip
    return numpy_ratio, torch_ratio


def tanh_chain(iterations, repeats, length=50):
    """(torch autograd time) / (glassnet time) of forward + backward through 50 tanh ops."""
    import torch

    import glassnet as gn

    a = np.random.default_rng(0).standard_normal((32, 16)).astype(np.float32)
    x = gn.tensor(a, requires_grad=True)
    tx = torch.from_numpy(a.copy()).requires_grad_(True)

    def glassnet_chain():
        for _ in range(iterations):
            x.grad = None
            y = x
            for _ in range(length):
                y = gn.ops.tanh(y)
            y.sum().backward()

    def torch_chain():
        for _ in range(iterations):
            tx.grad = None
            y = tx
            for _ in range(length):
                y = torch.tanh(y)
            y.sum().backward()

    times = interleaved(
        {"glassnet": lambda: glassnet_chain, "torch autograd": lambda: torch_chain}, repeats
    )
    print(f"\n(chain) x (32, 16) float32; y = x; {length} times y = tanh(y); y.sum().backward(): "
          f"per forward + backward, {iterations} per round; median of {repeats} interleaved rounds (min-max)")  # fmt: skip
    for name, seconds in times.items():
        print(time_line(name, seconds, scale=1e6 / iterations, unit="us"))
    r = ratio(times["torch autograd"], times["glassnet"])
    print(ratio_line("torch autograd time / glassnet time", r, ">= 2, aiming at 3"))
    return r


TARGETS = [  # key, what, target text, passes(measured)
    ("small", "small net loop: glassnet / PyTorch steps/s", ">= 5", lambda v: v >= 5),
    ("fit", "fit loop: glassnet / scikit-learn steps/s", ">= 2.0 (2.5)", lambda v: v >= 2.0),
    ("mnist_numpy", "MNIST epoch: glassnet / NumPy time", "<= 1.05", lambda v: v <= 1.05),
    ("mnist_torch", "MNIST epoch: glassnet / PyTorch time", "<= 0.7", lambda v: v <= 0.7),
    ("chain", "tanh chain: torch / glassnet time", ">= 2 (3)", lambda v: v >= 2),
]


def summary(results, threads=THREADS):
    print("\nsummary (medians of interleaved rounds; the machine's load moves them)")
    if threads != THREADS:
        print(f"  (with {threads} thread{'s' * (threads > 1)}: the targets are set for {THREADS})")
    print(f"  {'':<44} {'measured':>8}  {'target':<13} result")
    for key, what, target, passes in TARGETS:
        if key in results:
            value = results[key][0]
            print(f"  {what:<44} {value:8.2f}  {target:<13} {'pass' if passes(value) else 'FAIL'}")
        else:
            print(f"  {what:<44} {'-':>8}  {target:<13} not run")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=PARTS, help="run one part only")
    parser.add_argument("--repeats", type=int, default=None,
                        help="interleaved rounds per part (default: " +
                        ", ".join(f"{k} {v}" for k, v in REPEATS.items()) + ")")  # fmt: skip
    parser.add_argument(
        "--steps", type=int, default=2000, help="steps per round of the small-net loop and fit"
    )
    parser.add_argument(
        "--iterations", type=int, default=200, help="chain forward+backwards per round"
    )
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"BLAS and torch threads (default {THREADS}, the targets' setting; "
                             "1 takes the threads' noise out of a comparison)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"expected --threads of at least 1, got {args.threads}")

    import sklearn
    import threadpoolctl
    import torch
    from threadpoolctl import threadpool_limits

    import glassnet

    sys.path.insert(0, str(HERE))  # numpy_mlp and mnist_recipe, when imported from elsewhere
    torch.set_num_threads(args.threads)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
          f"scikit-learn {sklearn.__version__}, threadpoolctl {threadpoolctl.__version__}, "
          f"glassnet {glassnet.__version__}; threads {args.threads} (BLAS and torch), float32")  # fmt: skip
    parts = PARTS if args.only is None else (args.only,)
    repeats = {part: args.repeats or REPEATS[part] for part in parts}
    print(f"{load_average()} at the start (2 cores: above 2, other work competes for them)")
    results = {}
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        print("BLAS in use:")
        blas_report()
        if "small" in parts:
            results["small"] = small_net(args.steps, repeats["small"])
        if "fit" in parts:
            results["fit"] = fit_loop(args.steps, repeats["fit"])
        if "mnist" in parts:
            results["mnist_numpy"], results["mnist_torch"] = mnist_epoch(repeats["mnist"])
        if "chain" in parts:
            results["chain"] = tanh_chain(args.iterations, repeats["chain"])
    summary(results, args.threads)
    print(f"\n({time.perf_counter() - start:.0f} s; {load_average(end=True)})")


if __name__ == "__main__":
    main()
