"""glassnet's own threads (``backend.threads``) against OpenBLAS's, on bench_cnn.py's networks:
2 threads, float32, one process, the variants in interleaved rounds, medians.

(block)  ms per training step of the 3x3 block network (batch 64, Adam) with
         - OpenBLAS's threads: the whole step inside ``backend.threads(1)``, so nothing is
           split and each product runs on OpenBLAS's two threads (what glassnet did before);
         - glassnet's threads: the 32 -> 32 layers' sweeps split by output rows, OpenBLAS at
           one thread per product (the default).
(lenet)  the same for LeNet-5, whose sweeps are below ``conv._SPLIT_ITEMS``: the default (the
         Trainer gives it OpenBLAS's threads back after its first step) against the threshold
         at 0 (its kept strips are never split; its second layer's col2im is).
(spin)   ms of one 32 -> 32 3x3 conv2d forward at batch 64 split over two threads, after 0.3 s
         of quiet and right after a two-thread 512 x 512 product, whose OpenBLAS worker then
         spins for about 0.1 s: why the threads are held for a whole step, not for an op.
Each timed round follows 0.3 s of sleep, so that OpenBLAS's worker, woken by the round before,
has gone back to sleep (it would otherwise compete with the next variant's threads).

Run:  python benchmarks/bench_threads.py [--repeats 9]     (about a minute)
"""

import argparse
import contextlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cnn import _batch, glassnet_block, glassnet_lenet  # noqa: E402
from bench_peers import THREADS, blas_report, load_average, median  # noqa: E402

QUIET = 0.3  # seconds before each timed round: OpenBLAS's worker spins about 0.1 s


def _variants(gn, name):
    """{variant: (context factory, conv._SPLIT_ITEMS)} of one network."""
    from glassnet.ops import conv

    items = conv._SPLIT_ITEMS
    openblas = lambda: gn.backend.threads(1)  # noqa: E731 - an outer entry: nothing splits
    if name == "block":
        return {"OpenBLAS's threads": (openblas, items),
                "glassnet's threads (split convolutions)": (contextlib.nullcontext, items)}
    return {"default (OpenBLAS's threads after the first step)": (contextlib.nullcontext, items),
            "every sweep split": (contextlib.nullcontext, 0)}  # fmt: skip


def steps(name, n_steps, repeats):
    """Prints ms per step of each variant and their ratios to the first, per round."""
    import glassnet as gn
    from glassnet.ops import conv

    make = {"block": glassnet_block, "lenet": glassnet_lenet}[name]
    X, y = _batch()
    variants, trainers = _variants(gn, name), {}

    def settings(variant):
        context, conv._SPLIT_ITEMS = variants[variant]
        return context()

    for variant in variants:
        trainers[variant] = gn.Trainer(make(gn), "cross_entropy", "adam", lr=1e-3)
        with settings(variant):
            trainers[variant].step(X, y)  # the first step decides (see Trainer._step)
    times = {variant: [] for variant in variants}
    for _ in range(repeats):
        for variant, trainer in trainers.items():
            with settings(variant):
                time.sleep(QUIET)
                start = time.perf_counter()
                for _ in range(n_steps):
                    trainer.step(X, y)
                times[variant].append(1000 * (time.perf_counter() - start) / n_steps)
    first = np.asarray(next(iter(times.values())))
    print(f"\n({name}) ms per training step, batch 64, Adam, {n_steps} steps a round; median of "
          f"{repeats} rounds (min-max), and the median per-round ratio to the first line")
    for variant, ms in times.items():
        ms = np.asarray(ms)
        print(f"  {variant:<50} {median(ms):7.2f} ms ({ms.min():.2f}-{ms.max():.2f})  "
              f"{median(ms / first):.2f}x")  # fmt: skip


def spin(repeats):
    """The split conv forward after a quiet wait and right after a two-thread product."""
    import glassnet as gn

    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((64, 32, 28, 28)).astype(np.float32))
    w = gn.tensor(rng.standard_normal((32, 32, 3, 3)).astype(np.float32))
    a = rng.standard_normal((512, 512)).astype(np.float32)
    times = {"after 0.3 s of quiet": [], "right after a two-thread product": []}
    for _ in range(repeats):
        for case, ms in times.items():
            time.sleep(QUIET)
            if case.startswith("right"):
                a @ a  # OpenBLAS's two threads: its worker spins on after it
            with gn.backend.threads(THREADS):
                start = time.perf_counter()
                gn.ops.conv2d(x, w, padding=1)
                ms.append(1000 * (time.perf_counter() - start))
    print(f"\n(spin) a 32 -> 32 3x3 conv2d forward at batch 64, split over {THREADS} threads; "
          f"median of {repeats} (min-max)")  # fmt: skip
    for case, ms in times.items():
        print(f"  {case:<35} {median(ms):7.2f} ms ({min(ms):.2f}-{max(ms):.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(THREADS)
    print(f"glassnet's threads against OpenBLAS's, {THREADS} threads, float32; {load_average()}")
    blas_report()
    steps("block", 10, args.repeats)
    steps("lenet", 20, args.repeats)
    spin(args.repeats)
    print(f"\n({load_average(end=True)})")


if __name__ == "__main__":
    main()
