import math
import re
from collections import Counter

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.data import CharText, load_shakespeare
from glassnet.data.sequences import SHAKESPEARE_PATH
from glassnet.errors import ShapeError

VOCAB = "abcd"
DATA = CharText("abcdabcdabcdbbad", seq_len=5)  # vocab ['a', 'b', 'c', 'd']


def cycle_model(scale=10.0):
    """An Embedding whose row i is scale * one-hot(i + 1 mod V): the logits at each position
    point to the next character of the cycle a -> b -> c -> d -> a."""
    model = nn.Sequential(nn.Embedding(4, 4, seed=0))
    model[0].W.data[...] = scale * np.roll(np.eye(4, dtype=np.float32), 1, axis=1)
    return model


class FixedLogits(nn.Module):
    """Logits z at every position, whatever the input: the next character ~ softmax(z / tau)."""

    def __init__(self, z):
        super().__init__()
        self.z = np.asarray(z, dtype=np.float32)

    def forward(self, x):
        return gn.tensor(np.broadcast_to(self.z, (*x.shape, len(self.z))).copy())


class Recorder(nn.Module):
    """Records each context it is fed, its mode and grad mode; predicts the cycle."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        codes = np.asarray(x.data).astype(np.int64)
        self.calls.append((codes.copy(), self.training, gn.autodiff.is_grad_enabled()))
        return gn.tensor(10.0 * np.eye(4, dtype=np.float32)[(codes + 1) % 4])


class Output(nn.Module):
    """Returns whatever ``make(x)`` builds (to test bad outputs)."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def forward(self, x):
        return gn.tensor(self.make(np.asarray(x.data)))


def _softmax(z):
    e = np.exp(np.asarray(z, dtype=np.float64) - np.max(z))
    return e / e.sum()


# ---- greedy decoding ----------------------------------------------------------------------------


def test_temperature_zero_is_greedy_and_follows_the_cycle():
    assert DATA.sample(cycle_model(), "a", 9, temperature=0) == "bcdabcdab"
    assert DATA.sample(cycle_model(), "dd", 3, temperature=0.0) == "abc"  # from the last char


def test_greedy_takes_the_argmax_of_the_last_position_and_the_first_on_ties():
    z = [0.5, 2.0, 2.0, -1.0]  # b and c tie: argmax is the first, b
    assert DATA.sample(FixedLogits(z), "a", 4, temperature=0) == "bbbb"


def test_greedy_ignores_the_seed_and_a_low_temperature_agrees_with_it():
    for seed in (0, 1, 2):
        assert DATA.sample(cycle_model(), "c", 8, temperature=0, seed=seed) == "dabcdabc"
        # logit gap 10 / 0.05 = 200: any other character has probability < e^-200
        assert DATA.sample(cycle_model(), "c", 8, temperature=0.05, seed=seed) == "dabcdabc"


def test_n_zero_gives_the_empty_string_without_calling_the_model():
    model = Recorder()
    assert DATA.sample(model, "ab", 0) == "" and model.calls == []


# ---- the context fed to the model ---------------------------------------------------------------


def test_the_context_is_the_last_seq_len_characters_of_prompt_and_output():
    model = Recorder()
    out = DATA.sample(model, "dab", 6, temperature=0)  # seq_len 5
    assert out == "cdabcd"
    full = DATA.encode("dab" + out)
    contexts = [codes for codes, _, _ in model.calls]
    assert [c.shape for c in contexts] == [(1, 3), (1, 4), (1, 5), (1, 5), (1, 5), (1, 5)]
    for k, codes in enumerate(contexts):  # step k sees the 3 + k characters before it, <= 5
        stop = 3 + k
        np.testing.assert_array_equal(codes[0], full[max(0, stop - 5) : stop])


def test_a_long_prompt_is_cut_to_seq_len():
    model = Recorder()
    DATA.sample(model, "abcdabcdab", 1, temperature=0)
    np.testing.assert_array_equal(model.calls[0][0][0], DATA.encode("dabcdab"[-5:]))


@pytest.mark.parametrize("mode", [True, False])
def test_runs_in_eval_mode_without_a_graph_and_restores_the_mode(mode):
    model = Recorder().train(mode)
    DATA.sample(model, "a", 3, seed=0)
    assert all(training is False and grad is False for _, training, grad in model.calls)
    assert model.training is mode
    assert gn.autodiff.is_grad_enabled()


def _fail(x):
    raise RuntimeError("the model broke")


def test_mode_is_restored_when_the_model_fails():
    model = Output(_fail).train()
    with pytest.raises(RuntimeError, match="the model broke"):
        DATA.sample(model, "a", 2)
    assert model.training is True and gn.autodiff.is_grad_enabled()


# ---- seeds and the sampling distribution --------------------------------------------------------


def test_the_same_seed_gives_the_same_text_and_other_seeds_differ():
    model = FixedLogits([0.0, 0.0, 0.0, 0.0])
    first = DATA.sample(model, "ab", 60, seed=3)
    assert DATA.sample(model, "ab", 60, seed=3) == first
    assert DATA.sample(model, "ab", 60, seed=np.random.default_rng(3)) == first
    assert DATA.sample(model, "ab", 60, seed=4) != first  # equal with probability 4^-60
    assert len(first) == 60 and set(first) <= set(VOCAB)


def test_a_generator_seed_advances_across_calls():
    rng = np.random.default_rng(7)
    model = FixedLogits([0.0, 0.0, 0.0, 0.0])
    assert DATA.sample(model, "a", 40, seed=rng) != DATA.sample(model, "a", 40, seed=rng)


def _check_frequencies(text, p):
    """Each character's count within 4.5 standard deviations of its binomial mean n p."""
    n = len(text)
    counts = Counter(text)
    for char, pk in zip(VOCAB, p, strict=True):
        sd = math.sqrt(n * pk * (1 - pk))
        assert abs(counts[char] - n * pk) <= 4.5 * sd + 1e-9, (char, counts[char], n * pk)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_frequencies_follow_the_softmax_of_the_scaled_logits(temperature):
    z = [2.0, 1.0, 0.0, -1.0]
    text = DATA.sample(FixedLogits(z), "a", 2000, temperature=temperature, seed=0)
    p = _softmax(np.asarray(z) / temperature)
    _check_frequencies(text, p)
    # a wrong temperature (tau applied the other way, or not at all) is far outside the band
    wrong = _softmax(np.asarray(z) * temperature) if temperature != 1.0 else _softmax([0] * 4)
    with pytest.raises(AssertionError):
        _check_frequencies(text, wrong)


def test_a_very_high_temperature_is_nearly_uniform_and_a_low_one_is_nearly_greedy():
    z = [3.0, 0.0, -2.0, 1.0]
    hot = DATA.sample(FixedLogits(z), "a", 2000, temperature=1e4, seed=1)
    _check_frequencies(hot, np.full(4, 0.25))
    cold = Counter(DATA.sample(FixedLogits(z), "a", 500, temperature=0.1, seed=1))
    assert cold["a"] == 500  # the next best is e^-20 as likely


def test_a_softmax_with_a_zero_probability_never_draws_it():
    z = [0.0, -1e4, 0.0, -1e4]  # exp underflows to 0 for b and d
    text = DATA.sample(FixedLogits(z), "a", 2000, seed=2)
    assert set(text) == {"a", "c"}


# ---- real models --------------------------------------------------------------------------------


class _LSTMLM(nn.Module):
    def __init__(self, vocab_size, hidden=8):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden, seed=0)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, seed=1)
        self.head = nn.Dense(hidden, vocab_size, seed=2)

    def forward(self, x):
        return self.head(self.lstm(self.embed(x))[0])


class _TransformerLM(nn.Module):
    def __init__(self, vocab_size, d_model=8):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model, seed=0)
        self.layer = nn.TransformerEncoderLayer(d_model, 2, 16, batch_first=True, seed=1)
        self.head = nn.Dense(d_model, vocab_size, seed=2)

    def forward(self, x):
        return self.head(self.layer(self.embed(x), is_causal=True))


@pytest.mark.parametrize("make", [_LSTMLM, _TransformerLM])
def test_an_untrained_lstm_and_transformer_give_text_of_the_vocabulary(make):
    data = CharText("to be, or not to be: that is the question", seq_len=8)
    model = make(data.vocab_size)  # training mode: the transformer's dropout must be off
    out = data.sample(model, "to be", 30, temperature=1.0, seed=0)
    assert isinstance(out, str) and len(out) == 30 and set(out) <= set(data.vocab)
    assert data.sample(model, "to be", 30, temperature=1.0, seed=0) == out
    assert model.training is True


# ---- bad inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "kwargs", "error", "message"), [
    ((lambda x: x, "a", 3), {}, TypeError,
     "expected model a glassnet Module (with predict), got function"),
    ((None, "a", 3), {}, TypeError,
     "expected model a glassnet Module (with predict), got NoneType"),
    (("cycle", b"a", 3), {}, TypeError, "expected text a str, got bytes"),
    (("cycle", "", 3), {}, ValueError, "expected a non-empty prompt text, got ''"),
    (("cycle", "abz", 3), {}, ValueError,
     "expected characters of the vocabulary, got 'z' at index 2 (unknown: 'z')"),
    (("cycle", "a", -1), {}, ValueError, "expected n >= 0, got -1"),
    (("cycle", "a", 2.0), {}, TypeError, "expected n a non-negative int, got 2.0"),
    (("cycle", "a", True), {}, TypeError, "expected n a non-negative int, got True"),
    (("cycle", "a", 3), {"temperature": -0.5}, ValueError,
     "expected temperature a finite number >= 0, got -0.5"),
    (("cycle", "a", 3), {"temperature": float("nan")}, ValueError,
     "expected temperature a finite number >= 0, got nan"),
    (("cycle", "a", 3), {"temperature": float("inf")}, ValueError,
     "expected temperature a finite number >= 0, got inf"),
    (("cycle", "a", 3), {"temperature": "1"}, TypeError,
     "expected temperature a real number, got '1'"),
    (("cycle", "a", 3), {"temperature": True}, TypeError,
     "expected temperature a real number, got True"),
    (("cycle", "a", 3), {"seed": "x"}, TypeError, ""),
])  # fmt: skip
def test_bad_arguments(args, kwargs, error, message):
    args = (cycle_model(), *args[1:]) if args[0] == "cycle" else args
    with pytest.raises(error, match=re.escape(message) if message else None) as info:
        DATA.sample(*args, **kwargs)
    if message:
        assert str(info.value) == f"CharText.sample: {message}"


@pytest.mark.parametrize(("make", "shape"), [
    (lambda x: np.zeros((*x.shape, 5), np.float32), "(1, 2, 5)"),  # a wrong vocabulary
    (lambda x: np.zeros((x.shape[0], 4), np.float32), "(1, 4)"),  # the last step only
    (lambda x: np.zeros((*x.shape[::-1], 4), np.float32), "(2, 1, 4)"),  # time-major
])  # fmt: skip
def test_a_model_output_of_the_wrong_shape_raises_shape_error(make, shape):
    message = (
        f"CharText.sample: expected the model's logits of shape (1, T, vocab_size) = "
        f"(1, 2, 4), got {shape}"
    )
    with pytest.raises(ShapeError, match=f"^{re.escape(message)}$"):
        DATA.sample(Output(make), "ab", 3)


def test_non_finite_logits_raise():
    model = Output(lambda x: np.full((*x.shape, 4), np.nan, np.float32))
    with pytest.raises(
        ValueError,
        match=r"^CharText\.sample: expected finite logits, got "
        r"\[nan nan nan\] after 0 generated characters$",
    ):
        DATA.sample(model, "ab", 3)


# ---- the shipped play ---------------------------------------------------------------------------


def test_load_shakespeare_gives_hamlet():
    text = load_shakespeare()
    assert isinstance(text, str) and len(text) == 173_943
    lines = text.splitlines()
    assert lines[0] == "HAMLET, PRINCE OF DENMARK" and len(lines) == 6769
    assert lines[-1] == "ordnance is shot off.]" and text.endswith("off.]\n")
    assert text.isascii() and "\r" not in text and "MACBETH" not in text
    data = CharText(text, seq_len=100)
    assert data.vocab_size == 65 and data.decode(data.codes) == text
    counts = np.array(list(Counter(text).values()))
    p = counts / counts.sum()
    assert -(p * np.log2(p)).sum() == pytest.approx(4.657, abs=1e-3)  # the docstring's 4.66


def test_the_shipped_play_is_small_stated_and_packaged():
    assert SHAKESPEARE_PATH.stat().st_size <= 1_000_000
    root = SHAKESPEARE_PATH.parents[3]
    pyproject = (root / "pyproject.toml").read_text()
    assert '"data/*.txt"' in pyproject
    licence = (SHAKESPEARE_PATH.parent / "DATA_LICENSE.md").read_text()
    assert "`shakespeare_hamlet.txt`" in licence and "Public domain" in licence
