"""The character-level language model (examples/char_lm.py) runs end to end and learns: an
LSTM and a one-layer transformer, tiny settings, 150 steps on *Hamlet*.

The bounds come from the text itself, computed here: the unigram entropy (the bits per
character of a model that ignores the context) and the validation bits per character of the
bigram model estimated on the training part (the best a model that sees only the current
character does, near enough). The LSTM must beat the bigram model, so it must use more than
the last character; the transformer must beat the unigram entropy by half a bit. Neither may
get below 1 bit: a causal mask that leaks the next character gives nearly 0.
"""

import numpy as np
import pytest

import glassnet as gn
from tests.e2e._examples import load_example

ARGV = ["--steps", "150", "--hidden", "64", "--seq-len", "32", "--batch-size", "16",
        "--lr", "0.01", "--layers", "1", "--heads", "4", "--sample-length", "50",
        "--log-every", "0", "--seed", "0"]  # fmt: skip


def _baselines():
    text = gn.data.load_shakespeare()
    train, val = gn.data.CharText(text, 32).split(0.1)
    p = np.bincount(np.frombuffer(text.encode("ascii"), np.uint8))
    p = p[p > 0] / len(text)
    unigram = float(-(p * np.log2(p)).sum())
    pairs = np.ones((train.vocab_size, train.vocab_size))  # add-one smoothing
    np.add.at(pairs, (train.codes[:-1], train.codes[1:]), 1)
    pairs /= pairs.sum(axis=1, keepdims=True)
    bigram = float(-np.log2(pairs[val.codes[:-1], val.codes[1:]]).mean())
    return unigram, bigram


def test_lstm_and_transformer_learn_hamlet(capsys):
    unigram, bigram = _baselines()
    assert 4.6 < unigram < 4.7 and 3.4 < bigram < 3.7  # 4.657 and 3.542
    result = load_example("char_lm").main(ARGV)
    bpc = result["bpc"]
    # measured with seed 0 (2 cores): LSTM 3.036, transformer 3.352 (about 2 s); bigram 3.542
    assert result["unigram"] == pytest.approx(unigram, abs=1e-9)
    assert 1.0 < bpc["lstm"] < bigram - 0.2
    assert 1.0 < bpc["transformer"] < unigram - 0.5
    vocab = set(result["vocab"])
    for kind in ("lstm", "transformer"):
        sample = result["samples"][kind]
        assert isinstance(sample, str) and len(sample) == 50 and set(sample) <= vocab
    out = capsys.readouterr().out
    assert f"lstm {bpc['lstm']:.3f}, transformer {bpc['transformer']:.3f} (" in out
    assert "HAMLET.\n" + result["samples"]["lstm"] in out


def test_one_model_and_a_bad_choice(capsys):
    char_lm = load_example("char_lm")
    result = char_lm.main(["--steps", "5", "--hidden", "16", "--seq-len", "16", "--models",
                           "lstm", "--sample-length", "10", "--log-every", "0"])  # fmt: skip
    assert set(result["bpc"]) == {"lstm"} and len(result["samples"]["lstm"]) == 10
    with pytest.raises(SystemExit) as stop:
        char_lm.main(["--models", "gru"])
    assert stop.value.code == 2
    assert "--models: expected lstm, transformer or both, got 'gru'" in capsys.readouterr().err
