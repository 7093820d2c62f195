"""The character-level LSTM language model of examples/char_lm.py, trained by glassnet and by
PyTorch from the same initial weights on the same batches: validation bits per character and
ms per training step of each (issue 18: the two bpc within 0.05 of each other).

Model: Embedding(V, H) -> LSTM(H, H, batch_first) -> Linear(H, V), V = 65 characters of
*Hamlet* (``gn.data.load_shakespeare()``, the last 10% for validation). torch builds its model
under ``torch.manual_seed(seed)`` and glassnet copies those initial weights with
``gn.nn.load_torch_state_dict``. The batches come from ``char_lm.training_batches`` (random
offsets and orders from ``seed``), one stream of them fed to both. Each step: mean
cross-entropy over all N T positions, backward, gradients clipped to global norm 1, Adam
(beta 0.9, 0.999, eps 1e-8). float32, 2 threads each (threadpoolctl for glassnet's BLAS,
``torch.set_num_threads``). The two frameworks alternate step by step in one loop, so that the
load of a shared machine falls on both alike; each step is timed alone. Validation bpc =
mean cross-entropy / ln 2 over every validation chunk (``char_lm.bits_per_character``, the
same NumPy code on both models' logits), printed every ``--eval-every`` steps.

The defaults are the LSTM and the hyper-parameters of ``python examples/char_lm.py``.

Run:  python benchmarks/bench_char_lm.py [--steps 1500] [--hidden 128] [--seq-len 64]
      [--batch-size 32] [--lr 0.003] [--eval-every 250] [--seed 0]

Measured with ``python benchmarks/bench_char_lm.py`` (seed 0; torch 2.13.0; 2 cores, quiet;
110 s in all): validation bpc glassnet / torch 6.0164 / 6.0164 at step 0 (the same weights),
2.7045 / 2.7045 at 250, 2.5151 / 2.5151 at 500, 2.3824 / 2.3827 at 1,000, 2.3386 / 2.3393 at
1,500: difference -0.0007. ms per training step, medians: glassnet 31.4, torch 30.0, ratio
1.05x (training 47 s and 61 s in all: torch's steps vary more). With ``--hidden 256
--seq-len 100`` (2 cores, partly busy; 572 s): 2.2606 / 2.2639 at 1,000 steps, 2.3445 /
2.3414 at 1,500 (difference +0.0032; both overfit alike after 1,000 steps, the 156,549
training characters read 30 times), 142.2 and 124.1 ms per step, 1.15x.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import char_lm

THREADS = 2


def torch_model(torch, vocab_size, hidden):
    class LSTMLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(vocab_size, hidden)
            self.lstm = torch.nn.LSTM(hidden, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, vocab_size)

        def forward(self, x):
            return self.head(self.lstm(self.embed(x))[0])

    return LSTMLM()


def main(argv=None):
    """Train both; return {"bpc": {"glassnet", "torch"}, "ms": {...}, "curves": {...}}."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps")
    parser.add_argument("--hidden", type=int, default=128, help="H: embedding and state width")
    parser.add_argument("--seq-len", type=int, default=64, help="characters per chunk")
    parser.add_argument("--batch-size", type=int, default=32, help="chunks per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    parser.add_argument("--eval-every", type=int, default=250, help="steps between val bpc")
    parser.add_argument("--seed", type=int, default=0, help="torch's initial weights, batches")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    threadpool_limits(THREADS)
    import torch

    import glassnet as gn

    torch.set_num_threads(THREADS)
    torch.manual_seed(args.seed)
    text = gn.data.load_shakespeare()
    train, val = gn.data.CharText(text, args.seq_len).split(0.1)
    V = train.vocab_size
    t_model = torch_model(torch, V, args.hidden)
    g_model = char_lm.LSTMLM(V, args.hidden)
    gn.nn.load_torch_state_dict(g_model, {k: v.detach().numpy().copy()
                                          for k, v in t_model.state_dict().items()})  # fmt: skip
    g_opt = gn.optim.Adam(g_model.parameters(), lr=args.lr)
    g_opt.clip_norm = 1.0
    t_opt = torch.optim.Adam(t_model.parameters(), lr=args.lr)

    def g_step(X, y):
        loss = char_lm.cross_entropy(g_model(X), y)
        g_opt.zero_grad()
        loss.backward()
        g_opt.step()
        return float(loss.data)

    def t_step(X, y):
        X, y = torch.from_numpy(X), torch.from_numpy(y)
        loss = torch.nn.functional.cross_entropy(t_model(X).reshape(-1, V), y.reshape(-1))
        t_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(t_model.parameters(), 1.0)
        t_opt.step()
        return loss.item()

    def t_predict(X):
        t_model.eval()
        with torch.no_grad():
            out = t_model(torch.from_numpy(X)).numpy()
        t_model.train()
        return out

    evaluators = {"glassnet": lambda X: g_model.predict(X, batch_size=None),
                  "torch": t_predict}  # fmt: skip
    steps = {"glassnet": g_step, "torch": t_step}
    seconds = {"glassnet": [], "torch": []}
    curves = {"glassnet": [], "torch": []}
    print(f"char LSTM LM on Hamlet, glassnet vs PyTorch {torch.__version__}: {THREADS} threads, "
          f"float32; hidden {args.hidden}, {args.steps} steps of {args.batch_size} x "
          f"{args.seq_len}, Adam lr {args.lr}, clip 1.0; V = {V}, {len(train.text)} training "
          f"/ {len(val.text)} validation characters; unigram "
          f"{char_lm.unigram_entropy(text):.3f} bits")  # fmt: skip

    def evaluate(step):
        bpc = {k: char_lm.bits_per_character(f, val) for k, f in evaluators.items()}
        for k, v in bpc.items():
            curves[k].append((step, v))
        ms = {k: 1000 * np.median(s) if s else float("nan") for k, s in seconds.items()}
        print(f"step {step:>5}: validation bpc glassnet {bpc['glassnet']:.4f}  torch "
              f"{bpc['torch']:.4f}  (diff {bpc['glassnet'] - bpc['torch']:+.4f}); median ms "
              f"per step so far glassnet {ms['glassnet']:.1f}  torch {ms['torch']:.1f}",
              flush=True)  # fmt: skip
        return bpc

    batches = char_lm.training_batches(train, args.batch_size, [args.seed, 1])
    start = time.perf_counter()
    evaluate(0)
    for step in range(1, args.steps + 1):
        X, y = next(batches)
        order = ("glassnet", "torch") if step % 2 else ("torch", "glassnet")
        for side in order:
            tic = time.perf_counter()
            steps[side](X, y)
            seconds[side].append(time.perf_counter() - tic)
        if step % args.eval_every == 0 or step == args.steps:
            bpc = evaluate(step)
    ms = {k: 1000 * float(np.median(s)) for k, s in seconds.items()}
    total = {k: float(np.sum(s)) for k, s in seconds.items()}
    diff = bpc["glassnet"] - bpc["torch"]
    verdict = "meets" if abs(diff) <= 0.05 else "MISSES"
    print(f"\nvalidation bits per character after {args.steps} steps: glassnet "
          f"{bpc['glassnet']:.4f}, torch {bpc['torch']:.4f}, difference {diff:+.4f} "
          f"({verdict} issue 18's |diff| <= 0.05)")  # fmt: skip
    print(f"ms per training step (median): glassnet {ms['glassnet']:.1f}, torch "
          f"{ms['torch']:.1f}, ratio {ms['glassnet'] / ms['torch']:.2f}x; training seconds "
          f"glassnet {total['glassnet']:.0f}, torch {total['torch']:.0f} "
          f"({time.perf_counter() - start:.0f} s in all)")  # fmt: skip
    return {"bpc": bpc, "diff": diff, "ms": ms, "curves": curves}


if __name__ == "__main__":
    main()
