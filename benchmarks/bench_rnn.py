"""Recurrent and attention layers, glassnet against PyTorch eager on the CPU: same run, 2
threads, float32, interleaved rounds (see bench_peers.py), ratios of medians.

(lstm)        ms per training step (forward + backward + Adam) of a one-layer LSTM, input 32,
              hidden 128, T = 100, batch 64 (batch_first), its last output -> Dense(128, 1) ->
              MSE; issue 18's target: at most 1.0x torch's time, and at most 1.5x.
(gru)         the same with a GRU.
(transformer) one TransformerEncoderLayer (d_model 128, 4 heads, feed-forward 2048, dropout
              0.1, batch_first), sequence 64, batch 32, MSE against a random target; at most
              1.5x.
(in T)        forward + backward of the LSTM alone (sum of its outputs) for T = 50, 100, 200
              and 400: the time per step must stay flat (backpropagation through time is O(T)).

Run:  python benchmarks/bench_rnn.py [--repeats 7]      (about two minutes)
The inputs are random: the speed of a step does not depend on the values.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_peers import THREADS, blas_report, interleaved, load_average, median, ratio, ratio_line  # noqa: E402

BATCH, T, FEATURES, HIDDEN = 64, 100, 32, 128


def glassnet_recurrent(gn, kind):
    """A Module: the recurrent layer, its last output, a Dense to one value."""
    nn = gn.nn

    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.LSTM if kind == "lstm" else nn.GRU
            self.rnn = layer(FEATURES, HIDDEN, batch_first=True, seed=0)
            self.head = nn.Dense(HIDDEN, 1, init="torch_default", seed=1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    return LastStep()


def torch_recurrent(torch, kind):
    class LastStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layer = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            self.rnn = layer(FEATURES, HIDDEN, batch_first=True)
            self.head = torch.nn.Linear(HIDDEN, 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    return LastStep()


def glassnet_transformer(gn):
    return gn.nn.TransformerEncoderLayer(128, 4, batch_first=True, seed=0)


def torch_transformer(torch):
    return torch.nn.TransformerEncoderLayer(128, 4, batch_first=True)


def _data(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "transformer":
        x = rng.normal(size=(32, 64, 128)).astype(np.float32)
        return x, rng.normal(size=x.shape).astype(np.float32)
    return (rng.normal(size=(BATCH, T, FEATURES)).astype(np.float32),
            rng.normal(size=(BATCH, 1)).astype(np.float32))  # fmt: skip


def glassnet_steps(kind, steps):
    import glassnet as gn

    X, y = _data(kind)
    model = glassnet_transformer(gn) if kind == "transformer" else glassnet_recurrent(gn, kind)
    trainer = gn.Trainer(model, "mse", "adam", lr=1e-3)
    trainer.step(X, y)  # the first step probes the batch's shapes

    def run():
        for _ in range(steps):
            trainer.step(X, y)

    return run


def torch_steps(kind, steps):
    import torch

    X, y = (torch.from_numpy(a) for a in _data(kind))
    model = torch_transformer(torch) if kind == "transformer" else torch_recurrent(torch, kind)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss(model(X), y).backward()
        opt.step()

    step()

    def run():
        for _ in range(steps):
            step()

    return run


def timed(kind, steps, repeats, target):
    times = interleaved({"glassnet": lambda: glassnet_steps(kind, steps),
                         "PyTorch": lambda: torch_steps(kind, steps)}, repeats)  # fmt: skip
    print(f"\n({kind}) {steps} training steps per round; ms per step, median of {repeats} rounds")
    for side, seconds in times.items():
        per_step = 1000 * np.asarray(seconds) / steps
        spread = f"{per_step.min():.2f}-{per_step.max():.2f}"
        print(f"  {side:<10} {median(per_step):8.2f} ms   ({spread})")
    r = ratio(times["glassnet"], times["PyTorch"])
    print(ratio_line(f"{kind}: glassnet / PyTorch time per step", r, target))
    return r


def growth_in_T(repeats, lengths=(50, 100, 200, 400)):
    """ms of the LSTM's forward + backward per time step, for each T, both frameworks."""
    import torch

    import glassnet as gn

    lstm = gn.nn.LSTM(FEATURES, HIDDEN, batch_first=True, seed=0)
    tlstm = torch.nn.LSTM(FEATURES, HIDDEN, batch_first=True)
    print(f"\n(in T) LSTM forward + backward, batch {BATCH}: microseconds per time step")
    rows = []
    for length in lengths:
        x = np.random.default_rng(0).normal(size=(BATCH, length, FEATURES)).astype(np.float32)
        tx = torch.from_numpy(x)

        def g_run():
            out = lstm(gn.tensor(x))[0]
            out.sum().backward()

        def t_run():
            tlstm(tx)[0].sum().backward()

        times = interleaved({"glassnet": lambda: g_run, "PyTorch": lambda: t_run}, repeats)
        g, t = (1e6 * median(times[k]) / length for k in ("glassnet", "PyTorch"))
        rows.append((length, g, t))
        print(f"  T = {length:<4} glassnet {g:8.1f} us   PyTorch {t:8.1f} us   ratio {g / t:5.2f}")
    first, last = rows[0][1], rows[-1][1]
    print(f"  glassnet's time per step at T = {lengths[-1]} / at T = {lengths[0]}: "
          f"{last / first:.2f} (flat: O(T))")  # fmt: skip
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(THREADS)
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    print(f"glassnet vs PyTorch {torch.__version__}, {THREADS} threads, float32; {load_average()}")
    blas_report()
    results = {kind: timed(kind, args.steps, args.repeats, target)
               for kind, target in (("lstm", "<= 1.0 (must: <= 1.5)"),
                                    ("gru", "<= 1.0 (must: <= 1.5)"),
                                    ("transformer", "<= 1.5"))}  # fmt: skip
    growth_in_T(max(3, args.repeats // 2))
    print("\nsummary: " + ", ".join(f"{k} {v[0]:.2f}x" for k, v in results.items())
          + f" torch's time ({load_average(end=True)})")


if __name__ == "__main__":
    main()
