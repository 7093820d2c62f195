"""conv2d forward + backward, glassnet against torch.nn.functional.conv2d, float32, 2 threads.

Cases (batch 64): LeNet-5's two conv layers, 1 -> 6 channels 5x5 with padding 2 on 28x28 (its
input is the data: no gradient for it) and 6 -> 16 5x5 on 14x14 (input gradient needed), and
a 32 -> 32 3x3 'same' convolution on 28x28 (the block network of issue 17). One step is
net = conv2d(x, W, b), then backward with an upstream gradient of ones, the gradients of W, b
(and x) reset to None before each step, in both libraries. x is a plain NCHW array, the
public layout (glassnet copies it to its batch-last layout inside; in a network one conv's
output reaches the next already batch-last, so this is the dearer case). Each library gets
its upstream gradient in the memory layout of its own output, as an elementwise op's
backward (relu, batch norm) hands it over in a network. Printed per case: the median and the
min over interleaved rounds of each library's time per step, glassnet / torch of both, and
the floating-point operations of a step per second of each (the products' arithmetic only:
what a library spends on copies lowers its figure).
The machine has 2 cores: with a load average above 2, other work competes for them and
2-thread BLAS suffers most (the mins are then the better guide).

    python benchmarks/bench_conv_ops.py                 7 rounds of 20 steps
    python benchmarks/bench_conv_ops.py --rounds 15 --steps 30 --threads 1

(needs torch; threadpoolctl to name the BLAS and limit its threads.)
"""

import argparse
import os
import sys
import time

import numpy as np

THREADS = 2
BATCH = 64
CASES = [  # name, input shape, weight shape, padding, does the input need a gradient
    ("lenet conv1  1->6  5x5 pad 2, 28x28", (BATCH, 1, 28, 28), (6, 1, 5, 5), 2, False),
    ("lenet conv2  6->16 5x5,       14x14", (BATCH, 6, 14, 14), (16, 6, 5, 5), 0, True),
    ("block       32->32 3x3 same,  28x28", (BATCH, 32, 28, 28), (32, 32, 3, 3), "same", True),
]


def glassnet_step(gn, x, w, b, padding, upstream):
    for t in (x, w, b):
        t.grad = None
    net = gn.ops.conv2d(x, w, b, padding=padding)
    net.backward(upstream)


def torch_step(torch, x, w, b, padding, upstream):
    for t in (x, w, b):
        t.grad = None
    net = torch.nn.functional.conv2d(x, w, b, padding=padding)
    net.backward(upstream)


def make(gn, torch, case, rng):
    """The glassnet and the torch step of a case, on the same float32 arrays."""
    _, x_shape, w_shape, padding, x_grad = case
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = np.zeros(w_shape[0], np.float32)
    # each library's upstream gradient in the memory layout of its output, as an elementwise
    # op's backward (relu, batch norm) hands it over inside a network
    upstream = np.ones_like(gn.ops.conv2d(gn.tensor(x), gn.tensor(w), padding=padding).data)
    g = [gn.tensor(x, requires_grad=x_grad), gn.tensor(w, requires_grad=True),
         gn.tensor(b, requires_grad=True)]  # fmt: skip
    t = [torch.tensor(x, requires_grad=x_grad), torch.tensor(w, requires_grad=True),
         torch.tensor(b, requires_grad=True)]  # fmt: skip
    t_upstream = torch.ones(upstream.shape)
    return (
        lambda: glassnet_step(gn, *g, padding, upstream),
        lambda: torch_step(torch, *t, padding, t_upstream),
    )


def per_step(step, steps):
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def run(case, gn, torch, rounds, steps):
    glassnet, torch_ = make(gn, torch, case, np.random.default_rng(0))
    steps_by_name = {"glassnet": glassnet, "torch": torch_}
    times = {name: [] for name in steps_by_name}
    for step in steps_by_name.values():  # warm up: first allocations, BLAS threads
        per_step(step, 3)
    for _ in range(rounds):  # interleaved, so drifts in the machine's load hit both
        for name, step in steps_by_name.items():
            times[name].append(per_step(step, steps))
    ms = {name: np.array(t) * 1e3 for name, t in times.items()}
    med = {name: float(np.median(t)) for name, t in ms.items()}
    low = {name: float(t.min()) for name, t in ms.items()}
    gflop = flops(case) / 1e9
    print(f"  {case[0]}   glassnet {med['glassnet']:7.2f} ms (min {low['glassnet']:7.2f})"
          f"   torch {med['torch']:7.2f} ms (min {low['torch']:7.2f})"
          f"   ratio {med['glassnet'] / med['torch']:.2f} (of mins "
          f"{low['glassnet'] / low['torch']:.2f})\n"
          f"  {'':36}   {gflop:.2f} GFLOP per step: glassnet {gflop / med['glassnet'] * 1e3:5.0f}"
          f" GFLOP/s, torch {gflop / med['torch'] * 1e3:5.0f} GFLOP/s (at the medians)")  # fmt: skip


def flops(case):
    """Floating-point operations of a step: 2 per multiply-add of each product, the forward
    W A, grad_W = delta A^T and, where the input needs one, its gradient (as many each)."""
    _, (n, c, h, w), (out, _, kh, kw), padding, x_grad = case
    if padding == "same":
        ho, wo = h, w
    else:
        ho, wo = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    return 2 * n * ho * wo * out * c * kh * kw * (3 if x_grad else 2)


def blas():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown (threadpoolctl not installed)"
    pools = [f"{p['internal_api']} {p.get('version')} ({p.get('architecture')})"
             for p in threadpool_info() if p["user_api"] == "blas"]  # fmt: skip
    return "BLAS: " + ", ".join(pools)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per case")
    parser.add_argument("--steps", type=int, default=20, help="steps timed per round")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads of each library")
    args = parser.parse_args(argv)
    threads = args.threads

    import torch

    import glassnet as gn

    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=threads)
    except ImportError:
        limits = None
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}; "
          f"threads {threads}, float32, batch {BATCH}; {blas()}")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores: above 2, other work competes)")
    print("conv2d forward + backward per step, median of rounds:")
    for case in CASES:
        run(case, gn, torch, args.rounds, args.steps)
    if limits is not None:
        limits.restore_original_limits()


if __name__ == "__main__":
    main()
