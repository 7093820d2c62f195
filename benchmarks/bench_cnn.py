"""Convolutional networks, glassnet against PyTorch eager on the CPU: same run, 2 threads,
float32, interleaved rounds (see bench_peers.py), ratios of medians.

(lenet)  ms per training step of LeNet-5 (conv 5x5x6 pad 2, ReLU, max-pool 2, conv 5x5x16,
         ReLU, max-pool 2, 120, 84, 10), Adam 1e-3, batch 64, softmax cross-entropy on the
         logits; issue 17's target: at most 1.0x torch's time, and at most 1.3x.
(block)  ms per training step of a 3x3-conv block network (two Conv2d 32->32 3x3 'same' +
         BatchNorm2d + ReLU on 28x28 maps from a 1->32 stem, global average pooling, 10
         classes), batch 64; target at most 1.5x.
(solo)   the same two step times with each framework alone in a fresh process (three
         processes each, alternating; the median of their medians): no other library's
         threads are left spinning from the round before. Both get the allocator setting of
         glassnet's Trainer (backend.retain_freed_memory), as they do in the shared process.
(memory) the growth of peak RSS over 20 LeNet-5 training steps, each framework in a fresh
         process (the peak is reset to the current RSS after the model is built, through
         /proc/self/clear_refs; Linux); target at most 1.5x torch's.

Run:  python benchmarks/bench_cnn.py [--steps 20] [--repeats 7]     (about two minutes)
The inputs are random: the speed of a step does not depend on the values.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_peers import THREADS, blas_report, interleaved, load_average, median, ratio, ratio_line  # noqa: E402


def _batch(seed=0, n=64, channels=1, size=28):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, channels, size, size)).astype(np.float32), rng.integers(0, 10, n)


def glassnet_lenet(gn):
    nn = gn.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, seed=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, seed=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dense(400, 120, "relu", init="torch_default", seed=2),
        nn.Dense(120, 84, "relu", init="torch_default", seed=3),
        nn.Dense(84, 10, init="torch_default", seed=4),
    )  # fmt: skip


def torch_lenet(torch):
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 6, 5, padding=2), T.ReLU(), T.MaxPool2d(2), T.Conv2d(6, 16, 5), T.ReLU(),
                        T.MaxPool2d(2), T.Flatten(), T.Linear(400, 120), T.ReLU(), T.Linear(120, 84), T.ReLU(),
                        T.Linear(84, 10))  # fmt: skip


def glassnet_block(gn):
    nn = gn.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding="same", seed=0), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding="same", seed=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding="same", seed=2), nn.BatchNorm2d(32), nn.ReLU(),
        nn.GlobalAvgPool2d(), nn.Dense(32, 10, init="torch_default", seed=3),
    )  # fmt: skip


def torch_block(torch):
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 32, 3, padding="same"), T.ReLU(),
                        T.Conv2d(32, 32, 3, padding="same"), T.BatchNorm2d(32), T.ReLU(),
                        T.Conv2d(32, 32, 3, padding="same"), T.BatchNorm2d(32), T.ReLU(),
                        T.AdaptiveAvgPool2d(1), T.Flatten(), T.Linear(32, 10))  # fmt: skip


def glassnet_steps(make, steps, warm=True):
    import glassnet as gn

    X, y = _batch()
    trainer = gn.Trainer(make(gn), "cross_entropy", "adam", lr=1e-3)
    if warm:
        trainer.step(X, y)  # the first step probes the batch's shapes

    def run():
        for _ in range(steps):
            trainer.step(X, y)

    return run


def torch_steps(make, steps, warm=True):
    import torch

    X, y = _batch()
    model = make(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss(model(tx), ty).backward()
        opt.step()

    if warm:
        step()

    def run():
        for _ in range(steps):
            step()

    return run


def timed(name, glassnet_make, torch_make, steps, repeats, target):
    times = interleaved({"glassnet": lambda: glassnet_steps(glassnet_make, steps),
                         "PyTorch": lambda: torch_steps(torch_make, steps)}, repeats)  # fmt: skip
    print(f"\n({name}) {steps} training steps per round, batch 64, Adam; ms per step, median of {repeats} rounds")
    for side, seconds in times.items():
        per_step = 1000 * np.asarray(seconds) / steps
        print(f"  {side:<10} {median(per_step):8.2f} ms   ({per_step.min():.2f}-{per_step.max():.2f})")
    r = ratio(times["glassnet"], times["PyTorch"])
    print(ratio_line(f"{name}: glassnet / PyTorch time per step", r, target))
    return r


def peak_growth(framework, steps):
    """KiB of peak-RSS growth over ``steps`` LeNet-5 steps, in this (fresh) process."""
    import torch  # both sides import torch, so that its import does not count for one only

    torch.set_num_threads(THREADS)
    make = glassnet_steps if framework == "glassnet" else torch_steps
    build = glassnet_lenet if framework == "glassnet" else torch_lenet
    run = make(build, steps, warm=False)  # model, optimizer and data before the baseline
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
        f.write("5")
    before = _kib("VmHWM")
    run()
    return _kib("VmHWM") - before


def _kib(field):
    """A field of /proc/self/status in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory(steps):
    growth = {}
    for framework in ("glassnet", "PyTorch"):
        out = subprocess.run([sys.executable, __file__, "--memory-child", framework, "--steps", str(steps)],
                             capture_output=True, text=True, check=True)  # fmt: skip
        growth[framework] = json.loads(out.stdout.strip().splitlines()[-1])["kib"]
    print(f"\n(memory) growth of peak RSS over {steps} LeNet-5 steps, each in a fresh process")
    for framework, kib in growth.items():
        print(f"  {framework:<10} {kib / 1024:8.1f} MiB")
    value = growth["glassnet"] / max(growth["PyTorch"], 1)
    print(f"  {'memory: glassnet / PyTorch peak growth':<44} = {value:5.2f}   (target <= 1.5)")
    return value


def solo_child(framework, name, steps, repeats):
    """The median ms per step of ``name`` for ``framework``, alone in this process, with the
    allocator setting glassnet's Trainer makes (so that torch gets it too, as in the same-process
    rounds: without it torch's block network step takes 1.5x as long here)."""
    import torch

    import glassnet as gn

    torch.set_num_threads(THREADS)
    gn.backend.retain_freed_memory()
    nets = {"lenet": (glassnet_lenet, torch_lenet), "block": (glassnet_block, torch_block)}
    make = glassnet_steps if framework == "glassnet" else torch_steps
    run = make(nets[name][0 if framework == "glassnet" else 1], steps)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - start) / steps)
    return median(times)


def solo(name, steps, repeats, processes=3):
    medians = {"glassnet": [], "PyTorch": []}
    for _ in range(processes):
        for framework in medians:
            out = subprocess.run([sys.executable, __file__, "--solo-child", framework, name,
                                  "--steps", str(steps), "--repeats", str(repeats)],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            medians[framework].append(json.loads(out.stdout.strip().splitlines()[-1])["ms"])
    g, t = median(medians["glassnet"]), median(medians["PyTorch"])
    print(f"  {name} alone, {processes} processes each: glassnet {g:.2f} ms, PyTorch {t:.2f} ms,"
          f" glassnet / PyTorch = {g / t:.2f}")  # fmt: skip
    return g / t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--memory-child", choices=["glassnet", "PyTorch"], help=argparse.SUPPRESS)
    parser.add_argument("--solo-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(THREADS)
    if args.memory_child:
        print(json.dumps({"kib": peak_growth(args.memory_child, args.steps)}))
        return
    if args.solo_child:
        print(json.dumps({"ms": solo_child(*args.solo_child, args.steps, args.repeats)}))
        return
    import torch

    torch.set_num_threads(THREADS)
    print(f"glassnet vs PyTorch {torch.__version__}, {THREADS} threads, float32; {load_average()}")
    blas_report()
    lenet = timed("lenet", glassnet_lenet, torch_lenet, args.steps, args.repeats, "<= 1.0 (must: <= 1.3)")
    block = timed("block", glassnet_block, torch_block, max(args.steps // 4, 3), args.repeats, "<= 1.5")
    print("\n(solo) each framework alone in a fresh process")
    lenet_solo = solo("lenet", args.steps, args.repeats)
    block_solo = solo("block", max(args.steps // 4, 3), args.repeats)
    mem = memory(args.steps)
    print(f"\nsummary: lenet {lenet[0]:.2f}x (alone {lenet_solo:.2f}x), block {block[0]:.2f}x "
          f"(alone {block_solo:.2f}x), memory {mem:.2f}x torch ({load_average(end=True)})")


if __name__ == "__main__":
    main()
