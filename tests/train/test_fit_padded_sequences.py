"""gn.fit on padded sequences of different lengths: the model reads the lengths off the
padding in its forward (as README says), so fit, evaluate and predict need nothing else."""

import numpy as np

import glassnet as gn
from glassnet import nn, ops


class FirstAboveLast(nn.Module):
    """Embedding (padding 0) -> GRU with the lengths of the padded batch -> last real output
    -> Dense -> 2 logits."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(6, 8, padding_idx=0, seed=0)
        self.rnn = nn.GRU(8, 16, batch_first=True, seed=1)
        self.head = nn.Dense(16, 2, seed=2)

    def forward(self, x):
        lengths = (x.data != 0).sum(axis=1)
        y, _ = self.rnn(self.embed(x), lengths=lengths)
        return self.head(ops.last_valid(y, lengths, batch_first=True))


def test_fit_learns_from_padded_sequences_with_lengths_from_the_padding():
    """Seed 0: 400 sequences of 3-11 symbols in 1..5, label first symbol > last symbol (which
    needs the last real step, not the padding after it); 15 epochs; measured 0.99 held out."""
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 6, rng.integers(3, 12)) for _ in range(400)]
    X, lengths = gn.data.pad_sequences(seqs, batch_first=True)
    y = np.array([int(s[0] > s[-1]) for s in seqs])
    model = FirstAboveLast()
    gn.fit(model, X[:300], y[:300], loss="cross_entropy", optimizer="adam", lr=0.01, epochs=15,
           batch_size=32, verbose=0, seed=0)  # fmt: skip
    scores = gn.evaluate(model, X[300:], y[300:], loss="cross_entropy", metrics=["accuracy"])
    assert scores["accuracy"] >= 0.9  # chance is about 0.4-0.6
    probabilities = model.predict(X[300:305])
    assert probabilities.shape == (5, 2)
    # the padding changes nothing: each sequence alone gives the same logits
    for k in range(300, 305):
        alone = model.predict(np.asarray(seqs[k])[None])
        np.testing.assert_allclose(model.predict(X[k : k + 1]), alone, rtol=1e-5, atol=1e-6)
