"""A character-level language model of Shakespeare's *Hamlet*: an LSTM and a small transformer
encoder with a causal mask, trained for the same number of steps on the same batches.

The text is ``gn.data.load_shakespeare()`` (173,943 characters, 65 distinct), split in order
with ``CharText.split``: the first 90% for training, the last 10% (the end of act V) for
validation. Each model reads a chunk of ``--seq-len`` characters and predicts, at every
position t, the next character from characters 1..t (teacher forcing, Karpathy's char-rnn):

- LSTM: indices (N, T) -> Embedding(V, H) -> LSTM(H, H, batch_first) -> Dense(H, V);
- transformer: Embedding(V, H) + the sinusoidal positional encoding -> ``--layers``
  TransformerEncoderLayer(H, ``--heads``, 4H, pre-norm, causal mask: position t attends to
  positions <= t only) -> LayerNorm -> Dense(H, V).

Both minimise the mean cross-entropy E = -1/(N T) sum_{n,t} ln p(x_{n,t+1} | x_{n,1..t}) with
Adam and gradients clipped to norm 1; every pass over the training text starts its chunks at
a random offset, so that the chunk borders move. Printed: the validation bits per character,
bpc = E / ln 2 over every chunk of the validation part (each chunk read from a fresh state),
against the unigram entropy of the text (the bpc of a model that ignores the context), and
~200 generated characters from each model (``CharText.sample``).

Run:  python examples/char_lm.py [--steps 1500] [--hidden 128] [--seq-len 64]
      [--batch-size 32] [--lr 0.003] [--layers 2] [--heads 4] [--sample-length 200]
      [--temperature 0.8] [--models lstm,transformer] [--seed 0]

Measured with ``python examples/char_lm.py`` (seed 0: hidden 128, 1,500 steps of 32 chunks of
64 characters, Adam 3e-3; 2 cores, partly busy; 218 s in all): unigram entropy 4.657 bits;
validation LSTM 2.349 bits per character (training 60 s), transformer (2 layers) 2.387 (156
s). For comparison, the bigram model (counts on the training part, add-one smoothed) gives
3.542 on the validation part. The LSTM's sample at temperature 0.8:

    HAMLET.

    Ham.
    Nonge think foogergeving have now of inone. This bound beard what houldst the king sur
    cus your such was an insir,
    My father's marris'd there;

``python benchmarks/bench_char_lm.py`` trains this LSTM with these hyper-parameters in glassnet
and in PyTorch from the same (torch's) initial weights on the same batches: validation 2.3386
and 2.3393 bits per character after 1,500 steps (with hidden 256 and chunks of 100 characters:
2.26 after 1,000 steps, overfitting after that, 2.34 at 1,500).
"""

import argparse
import math
import time

import numpy as np

import glassnet as gn
from glassnet import nn, ops


class LSTMLM(nn.Module):
    """Indices (N, T) -> Embedding -> LSTM (batch_first) -> Dense -> logits (N, T, V)."""

    def __init__(self, vocab_size, hidden, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(vocab_size, hidden, seed=rng)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, seed=rng)
        self.head = nn.Dense(hidden, vocab_size, init="torch_default", seed=rng)

    def forward(self, x):
        output, _ = self.lstm(self.embed(x))
        return self.head(output)


class TransformerLM(nn.Module):
    """Indices (N, T) -> Embedding + positional encoding -> causal encoder layers -> LayerNorm
    -> Dense -> logits (N, T, V); at most ``max_len`` positions."""

    def __init__(self, vocab_size, d_model, nhead=4, layers=2, max_len=512, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(vocab_size, d_model, seed=rng)
        self.layers = [nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=0.0,
                                                  batch_first=True, norm_first=True, seed=rng)
                       for _ in range(layers)]  # fmt: skip
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Dense(d_model, vocab_size, init="torch_default", seed=rng)
        self._positions = ops.positional_encoding(max_len, d_model, dtype=self.embed.W.dtype)

    def forward(self, x):
        h = self.embed(x) + self._positions[: x.shape[1]]
        for layer in self.layers:
            h = layer(h, is_causal=True)
        return self.head(self.norm(h))


def cross_entropy(logits, y):
    """Mean cross-entropy in nats of logits (N, T, V) against the next characters y (N, T)."""
    return ops.softmax_cross_entropy(logits.reshape(-1, logits.shape[-1]), np.reshape(y, -1))


def bits_per_character(predict, data, batch_size=64):
    """Mean cross-entropy / ln 2 of the logits ``predict(X)`` (N, T, V) over every chunk of
    ``data`` (a CharText), each chunk read from a fresh state."""
    nats, count = 0.0, 0
    for X, y in data.batches(batch_size, seed=0, drop_last=False):  # the order is moot
        z = np.asarray(predict(X), dtype=np.float64)
        z -= z.max(axis=-1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        nats -= np.take_along_axis(log_p, y[..., None], axis=-1).sum()
        count += y.size
    return nats / count / math.log(2)


def unigram_entropy(text):
    """-sum_c p(c) log2 p(c) over the character frequencies of ``text``, in bits."""
    _, counts = np.unique(np.frombuffer(text.encode("utf-32-le"), "<u4"), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def training_batches(train, batch_size, seed):
    """Endless (X, y) batches of ``train`` (a CharText): each pass over the text starts its
    chunks at a random offset in 0..seq_len - 1, in a random order."""
    rng = np.random.default_rng(seed)
    while True:
        yield from train.batches(batch_size, rng, offset=int(rng.integers(train.seq_len)))


def make_model(kind, vocab_size, args):
    if kind == "lstm":
        return LSTMLM(vocab_size, args.hidden, seed=args.seed)
    return TransformerLM(vocab_size, args.hidden, args.heads, args.layers,
                         max_len=args.seq_len, seed=args.seed)  # fmt: skip


def train(kind, train_data, val_data, args):
    """Train one model; returns (model, validation bpc, seconds)."""
    model = make_model(kind, train_data.vocab_size, args)
    optimizer = gn.optim.Adam(model.parameters(), lr=args.lr)
    optimizer.clip_norm = 1.0
    batches = training_batches(train_data, args.batch_size, [args.seed, 1])  # same for both
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        X, y = next(batches)
        loss = cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if args.log_every and (step % args.log_every == 0 or step == args.steps):
            print(f"{kind}: step {step} training loss {float(loss.data) / math.log(2):.3f} bpc "
                  f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    seconds = time.perf_counter() - start
    bpc = bits_per_character(lambda X: model.predict(X, batch_size=None), val_data)
    return model, bpc, seconds


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps per model")
    parser.add_argument("--hidden", type=int, default=128, help="H: embedding, state, d_model")
    parser.add_argument("--seq-len", type=int, default=64, help="characters per chunk")
    parser.add_argument("--batch-size", type=int, default=32, help="chunks per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    parser.add_argument("--layers", type=int, default=2, help="transformer encoder layers")
    parser.add_argument("--heads", type=int, default=4, help="attention heads")
    parser.add_argument("--sample-length", type=int, default=200, help="characters to sample")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    parser.add_argument("--prompt", default="HAMLET.\n", help="text the samples start from")
    parser.add_argument("--models", default="lstm,transformer", help="lstm, transformer")
    parser.add_argument("--log-every", type=int, default=250, help="steps between logs; 0: none")
    parser.add_argument("--seed", type=int, default=0, help="weights, batches, samples")
    args = parser.parse_args(argv)
    args.kinds = [name.strip().lower() for name in args.models.split(",")]
    if not args.kinds or not set(args.kinds) <= {"lstm", "transformer"}:
        parser.error(f"--models: expected lstm, transformer or both, got {args.models!r}")
    return args


def main(argv=None):
    """Train the models; return {"unigram": bits, "bpc": {kind: validation bpc}, "samples":
    {kind: str}, "seconds": {kind: training seconds}, "vocab": list of characters,
    "total_seconds"}."""
    args = parse(argv)
    start = time.perf_counter()
    text = gn.data.load_shakespeare()
    train_data, val_data = gn.data.CharText(text, args.seq_len).split(0.1)
    unigram = unigram_entropy(text)
    print(
        f"Hamlet: {len(train_data.text)} training and {len(val_data.text)} validation "
        f"characters, vocabulary {train_data.vocab_size}; unigram entropy {unigram:.3f} bits; "
        f"{args.steps} steps of {args.batch_size} x {args.seq_len}, hidden {args.hidden}"
    )
    result = {"unigram": unigram, "bpc": {}, "samples": {}, "seconds": {},
              "vocab": train_data.vocab}  # fmt: skip
    for kind in args.kinds:
        model, bpc, seconds = train(kind, train_data, val_data, args)
        sample = train_data.sample(model, args.prompt, args.sample_length,
                                   temperature=args.temperature, seed=args.seed)  # fmt: skip
        result["bpc"][kind], result["samples"][kind] = bpc, sample
        result["seconds"][kind] = seconds
        print(f"{kind}: validation {bpc:.3f} bits per character ({seconds:.0f} s); a sample "
              f"(temperature {args.temperature}):\n{args.prompt}{sample}\n")  # fmt: skip
    result["total_seconds"] = time.perf_counter() - start
    print(f"validation bits per character (unigram {unigram:.3f}): "
          + ", ".join(f"{kind} {bpc:.3f}" for kind, bpc in result["bpc"].items())
          + f" ({result['total_seconds']:.0f} s in all)")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
