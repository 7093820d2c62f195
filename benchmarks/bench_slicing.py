"""Backward through per-step slices x[:, t] of a sequence: is it O(T), as it should be?

For each sequence length T, x of shape (16, T, 32) float32 requires grad, and

    h = 0 (a (16, 32) array);   for t in 0..T-1:  h = tanh(x[:, t] + h);   loss = h.sum()

then loss.backward(), in glassnet (Tensor indexing x[:, t], glassnet.ops.tanh) and in torch
autograd, 2 threads each. Printed per T: the forward and the backward time (medians of
interleaved rounds, with min-max), each divided by T (flat when the cost is O(T)), and the
peak memory the backward allocates above what it starts with: tracemalloc for glassnet (NumPy
reports its arrays to it; Python objects count too), torch's profiler memory events for torch
(its CPU allocator, which tracemalloc does not see). The size of x is printed next to it: a
backward that scatters each slice into a full-size zero array touches T times that in all.

    python benchmarks/bench_slicing.py                    T = 200, 400, 800
    python benchmarks/bench_slicing.py --T 200 400 800 1600 --repeats 7
"""

import argparse
import contextlib
import os
import sys
import time
import tracemalloc

import numpy as np

THREADS = 2
BATCH, FEATURES = 16, 32


def glassnet_forward(gn, x, T):
    h = gn.tensor(np.zeros((BATCH, FEATURES), np.float32))
    for t in range(T):
        h = gn.ops.tanh(x[:, t] + h)
    return h.sum()


def torch_forward(torch, x, T):
    h = torch.zeros(BATCH, FEATURES)
    for t in range(T):
        h = torch.tanh(x[:, t] + h)
    return h.sum()


def timed(forward, make_x, T):
    """(forward seconds, backward seconds) of one run on a fresh x."""
    x = make_x()
    start = time.perf_counter()
    loss = forward(x, T)
    middle = time.perf_counter()
    loss.backward()
    return middle - start, time.perf_counter() - middle


def glassnet_backward_peak(gn, a, T):
    """Bytes the backward allocates at its peak, above what is allocated when it starts."""
    x = gn.tensor(a, requires_grad=True)
    loss = glassnet_forward(gn, x, T)
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    loss.backward()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - start


def torch_backward_peak(torch, a, T):
    """Bytes torch's CPU allocator holds at the backward's peak, above its start (profiler)."""
    from torch.profiler import ProfilerActivity, profile

    x = torch.from_numpy(a.copy()).requires_grad_(True)
    loss = torch_forward(torch, x, T)
    with (
        _stderr_silenced(),
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
    ):
        loss.backward()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    held = np.cumsum([e.nbytes() for e in sorted(events, key=lambda e: e.start_ns())])
    return int(max(held.max(initial=0), 0))


@contextlib.contextmanager
def _stderr_silenced():
    """File descriptor 2 sent to /dev/null: the profiler's C++ log lines are not for this report."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def mib(n_bytes):
    return f"{n_bytes / 2**20:8.2f} MiB"


def run(T, repeats, gn, torch):
    a = np.random.default_rng(T).standard_normal((BATCH, T, FEATURES)).astype(np.float32)
    sides = {
        "glassnet": (lambda x, T: glassnet_forward(gn, x, T), lambda: gn.tensor(a, requires_grad=True)),
        "torch": (lambda x, T: torch_forward(torch, x, T),
                  lambda: torch.from_numpy(a.copy()).requires_grad_(True)),
    }  # fmt: skip
    times = {name: [] for name in sides}
    for round_ in range(repeats + 1):  # the first round warms up
        for name, (forward, make_x) in sides.items():
            result = timed(forward, make_x, T)
            if round_:
                times[name].append(result)
    peaks = {
        "glassnet": glassnet_backward_peak(gn, a, T),
        "torch": torch_backward_peak(torch, a, T),
    }
    print(f"\nT = {T}: x {BATCH}x{T}x{FEATURES} float32 = {mib(a.nbytes).strip()}; "
          f"median of {repeats} interleaved rounds (min-max)")  # fmt: skip
    for name, pairs in times.items():
        forward, backward = np.array(pairs).T * 1e3
        print(f"  {name:<9} forward {np.median(forward):8.2f} ms ({forward.min():.2f}-{forward.max():.2f}), "
              f"{np.median(forward) * 1e3 / T:6.1f} us/step   "
              f"backward {np.median(backward):8.2f} ms ({backward.min():.2f}-{backward.max():.2f}), "
              f"{np.median(backward) * 1e3 / T:6.1f} us/step   backward peak {mib(peaks[name])}")  # fmt: skip
    return {name: np.median(np.array(pairs)[:, 1]) / T for name, pairs in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--T", type=int, nargs="+", default=[200, 400, 800], help="sequence lengths"
    )
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per T")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    import glassnet as gn

    torch.set_num_threads(THREADS)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
          f"glassnet {gn.__version__}; threads {THREADS}, float32")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores: above 2, other work competes for them)")
    per_step = {}
    with threadpool_limits(limits=THREADS):
        for T in args.T:
            per_step[T] = run(T, args.repeats, gn, torch)
    first = args.T[0]
    print(f"\nbackward time per step relative to T = {first} (1.0 everywhere when it is O(T)):")
    for name in ("glassnet", "torch"):
        growth = "  ".join(
            f"T={T}: {per_step[T][name] / per_step[first][name]:.2f}" for T in args.T
        )
        print(f"  {name:<9} {growth}")


if __name__ == "__main__":
    main()
