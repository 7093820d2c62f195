import csv
import re

import numpy as np
import pytest

from glassnet.data import CharText, load_sunspots, pad_sequences, sliding_windows
from glassnet.data.sequences import SUNSPOTS_PATH
from glassnet.errors import ShapeError
from tests.conftest import require

# ---- sliding_windows ----------------------------------------------------------------------------


def test_windows_of_an_arange_series_are_exact():
    series = np.arange(7, dtype=np.float32)
    X, y = sliding_windows(series, window=3)
    assert X.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(X, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])
    np.testing.assert_array_equal(y, [[3], [4], [5], [6]])


@pytest.mark.parametrize(("T", "window", "horizon", "stride"),
                         [(7, 3, 1, 1), (10, 3, 2, 3), (10, 4, 3, 1), (9, 2, 2, 2), (5, 4, 1, 7),
                          (12, 1, 5, 4), (6, 3, 3, 1)])  # fmt: skip
def test_windows_follow_the_formula_for_stride_and_horizon(T, window, horizon, stride):
    series = np.arange(T, dtype=np.float64) * 10
    X, y = sliding_windows(series, window, horizon=horizon, stride=stride)
    n = (T - window - horizon) // stride + 1
    assert X.shape == (n, window) and y.shape == (n, horizon)
    for k in range(n):  # the definition, written out
        start = k * stride
        np.testing.assert_array_equal(X[k], series[start : start + window])
        np.testing.assert_array_equal(y[k], series[start + window : start + window + horizon])


def test_stride_and_horizon_by_hand():
    X, y = sliding_windows(np.arange(10), window=3, horizon=2, stride=3)
    assert X.dtype == y.dtype == np.arange(10).dtype  # integers stay integers
    np.testing.assert_array_equal(X, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(y, [[3, 4], [6, 7]])  # 8, 9 are left over


def test_two_dimensional_series_keeps_its_features():
    series = np.arange(20, dtype=np.float32).reshape(10, 2)  # row t is (2t, 2t + 1)
    X, y = sliding_windows(series, window=3, horizon=2, stride=2)
    assert X.shape == (3, 3, 2) and y.shape == (3, 2, 2) and X.dtype == np.float32
    np.testing.assert_array_equal(X[1], [[4, 5], [6, 7], [8, 9]])
    np.testing.assert_array_equal(y[1], [[10, 11], [12, 13]])
    np.testing.assert_array_equal(y[2], series[7:9])


def test_windows_are_copies_not_views():
    series = np.arange(8.0)
    X, y = sliding_windows(series, window=4, horizon=2)
    assert not np.shares_memory(X, series) and not np.shares_memory(y, series)
    assert X.flags.c_contiguous and y.flags.c_contiguous
    X[0, 0] = y[0, 0] = -1.0
    np.testing.assert_array_equal(series, np.arange(8.0))
    assert X[1, 0] == 1.0  # windows do not share memory with each other either


def test_a_list_and_the_shortest_series_work():
    X, y = sliding_windows([1.5, 2.5, 3.5], window=2)
    np.testing.assert_array_equal(X, [[1.5, 2.5]])
    np.testing.assert_array_equal(y, [[3.5]])


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"window": 0}, ValueError, "expected window >= 1, got 0"),
    ({"window": -2}, ValueError, "expected window >= 1, got -2"),
    ({"window": 2.0}, TypeError, "expected window a positive int, got 2.0"),
    ({"window": True}, TypeError, "expected window a positive int, got True"),
    ({"window": None}, TypeError, "expected window a positive int, got None"),
    ({"window": 2, "horizon": 0}, ValueError, "expected horizon >= 1, got 0"),
    ({"window": 2, "horizon": 1.5}, TypeError, "expected horizon a positive int, got 1.5"),
    ({"window": 2, "stride": 0}, ValueError, "expected stride >= 1, got 0"),
    ({"window": 2, "stride": "2"}, TypeError, "expected stride a positive int, got '2'"),
    ({"window": 9}, ValueError,
     "expected a series of at least window + horizon = 9 + 1 = 10 steps, got 6"),
    ({"window": 4, "horizon": 3}, ValueError,
     "expected a series of at least window + horizon = 4 + 3 = 7 steps, got 6"),
])  # fmt: skip
def test_sliding_windows_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=f"^sliding_windows: {re.escape(message)}$"):
        sliding_windows(np.arange(6.0), **kwargs)


@pytest.mark.parametrize(("series", "error", "message"), [
    (np.float64(3.0), ShapeError, "expected a series of shape (T,) or (T, f), got shape ()"),
    (np.zeros((4, 2, 2)), ShapeError,
     "expected a series of shape (T,) or (T, f), got shape (4, 2, 2)"),
    (np.array(["a", "b", "c", "d"]), TypeError, "expected a series of real numbers, got dtype <U1"),
    (np.array([True, False, True]), TypeError, "expected a series of real numbers, got dtype bool"),
    (np.array([1j, 2j, 3j]), TypeError,
     "expected a series of real numbers, got dtype complex128"),
    (np.array([1, "x", None], dtype=object), TypeError,
     "expected a series of real numbers, got dtype object"),
    (np.array([0.0, 1.0, np.nan, 3.0, np.nan]), ValueError,
     "expected finite values, got 2 NaN or infinite (first at index (2))"),
    (np.array([[0.0, 1.0], [2.0, np.inf], [4.0, 5.0]]), ValueError,
     "expected finite values, got 1 NaN or infinite (first at index (1, 1))"),
    (np.array([], dtype=np.float32), ValueError,
     "expected a series of at least window + horizon = 2 + 1 = 3 steps, got 0"),
])  # fmt: skip
def test_sliding_windows_bad_series(series, error, message):
    with pytest.raises(error, match=f"^sliding_windows: {re.escape(message)}$"):
        sliding_windows(series, window=2)


# ---- load_sunspots ------------------------------------------------------------------------------


def test_sunspots_values_and_dtypes():
    years, numbers = load_sunspots()
    assert years.dtype == np.int64 and numbers.dtype == np.float32
    assert years.shape == numbers.shape == (309,)
    np.testing.assert_array_equal(years, np.arange(1700, 2009))
    assert numbers[:4].tolist() == [5.0, 11.0, 16.0, 23.0]  # 1700..1703
    assert numbers[-3:].tolist() == np.float32([15.2, 7.5, 2.9]).tolist()  # 2006..2008
    assert int(years[np.argmax(numbers)]) == 1957 and numbers.max() == np.float32(190.2)
    assert numbers.min() == 0.0 and (numbers >= 0).all()


def test_sunspots_match_the_shipped_csv_row_by_row():
    with open(SUNSPOTS_PATH, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["YEAR", "SUNACTIVITY"] and len(rows) == 310
    years, numbers = load_sunspots()
    assert years.tolist() == [int(year) for year, _ in rows[1:]]
    assert numbers.tolist() == np.float32([float(n) for _, n in rows[1:]]).tolist()


def test_sunspots_are_new_arrays_each_call():
    years, numbers = load_sunspots()
    years[0], numbers[0] = 0, -1.0
    assert load_sunspots()[0][0] == 1700 and load_sunspots()[1][0] == 5.0


def test_sunspots_have_the_eleven_year_cycle():
    """The autocorrelation of the centred series peaks near a lag of 11 years (10..11)."""
    _, numbers = load_sunspots()
    centred = numbers.astype(np.float64) - numbers.mean()
    acf = [np.dot(centred[:-lag], centred[lag:]) for lag in range(1, 16)]
    assert int(np.argmax(acf[5:])) + 6 in (10, 11)


def test_sunspots_windows_for_forecasting():
    _, numbers = load_sunspots()
    X, y = sliding_windows(numbers, window=10)
    assert X.shape == (299, 10) and y.shape == (299, 1) and X.dtype == np.float32
    assert y[-1, 0] == numbers[-1] and X[0, 0] == numbers[0]


# ---- CharText -----------------------------------------------------------------------------------

TEXT = "the quick brown fox jumps over the lazy dog; " * 5  # 225 characters


def test_chartext_vocab_and_round_trip():
    data = CharText(TEXT, seq_len=8)
    assert data.vocab == sorted(set(TEXT)) and data.vocab_size == len(set(TEXT))
    codes = data.encode("lazy fox")
    assert codes.dtype == np.int64 and codes.shape == (8,)
    assert codes.tolist() == [data.vocab.index(c) for c in "lazy fox"]
    assert data.decode(codes) == "lazy fox"
    assert data.decode(data.codes) == TEXT and data.codes.dtype == np.int64
    assert data.decode([]) == "" and data.encode("").shape == (0,)
    assert data.decode(codes.tolist()) == "lazy fox"


def test_chartext_handles_any_unicode():
    text = "naïve café — 東京 🙂 ok\n\ud800"  # a lone surrogate too
    data = CharText(text, seq_len=3)
    assert data.vocab == sorted(set(text))
    assert data.decode(data.encode(text)) == text


def test_chartext_len_counts_full_chunks():
    assert len(CharText("abcdefghij", seq_len=3)) == 3  # (10 - 1) // 3
    assert len(CharText("abcdefghij", seq_len=9)) == 1
    assert len(CharText(TEXT, seq_len=8)) == (len(TEXT) - 1) // 8 == 28
    assert repr(CharText("abcabc", 2)) == ("CharText(6 characters, vocab_size=3, seq_len=2, "
                                           "2 chunks)")  # fmt: skip


def _start(codes, x, seq_len):
    """The chunk start k * seq_len at which x sits in codes; the chunk must be unique."""
    hits = [k * seq_len for k in range((len(codes) - 1) // seq_len)
            if np.array_equal(codes[k * seq_len : k * seq_len + seq_len], x)]  # fmt: skip
    assert len(hits) == 1, f"chunk {x} found at {hits}"
    return hits[0]


def test_batches_shift_by_one_and_cover_every_chunk_once():
    data = CharText(TEXT, seq_len=8)  # TEXT repeats every 45 characters: its 28 chunks differ
    batches = list(data.batches(5, seed=0))
    assert len(batches) == 28 // 5  # the last 3 chunks are dropped
    for X, y in batches:
        assert X.shape == y.shape == (5, 8) and X.dtype == y.dtype == np.int64
        np.testing.assert_array_equal(X[:, 1:], y[:, :-1])  # y is X shifted by one
    full = list(data.batches(5, seed=0, drop_last=False))
    assert len(full) == 6 and full[-1][0].shape == (3, 8)
    for (X, y), (X_full, y_full) in zip(batches, full):  # drop_last changes only the end
        np.testing.assert_array_equal(X, X_full)
        np.testing.assert_array_equal(y, y_full)
    X_all = np.concatenate([X for X, _ in full])
    y_all = np.concatenate([y for _, y in full])
    starts = [_start(data.codes, x, 8) for x in X_all]
    # distinct multiples of seq_len, every one once: the chunks never overlap and cover the text
    assert sorted(starts) == list(range(0, 28 * 8, 8))
    for y, start in zip(y_all, starts):  # y is the next character at every position
        np.testing.assert_array_equal(y, data.codes[start + 1 : start + 9])
    assert starts != sorted(starts)  # shuffled


def test_batches_of_a_text_without_repeats_recover_the_chunk_order():
    text = "".join(chr(0x4E00 + i) for i in range(61))  # 61 distinct characters
    data = CharText(text, seq_len=6)
    assert len(data) == 10
    X_all = np.concatenate([X for X, _ in data.batches(4, seed=3, drop_last=False)])
    starts = X_all[:, 0]  # character i has index i: the first index is the chunk start
    assert sorted(starts.tolist()) == list(range(0, 60, 6))
    np.testing.assert_array_equal(X_all, starts[:, None] + np.arange(6))


@pytest.mark.parametrize("offset", [0, 1, 5])
def test_batches_with_an_offset_move_the_chunk_borders(offset):
    text = "".join(chr(0x4E00 + i) for i in range(61))  # character i has index i
    data = CharText(text, seq_len=6)
    batches = list(data.batches(4, seed=3, drop_last=False, offset=offset))
    X_all = np.concatenate([X for X, _ in batches])
    y_all = np.concatenate([y for _, y in batches])
    chunks = (61 - 1 - offset) // 6  # 10, 9, 9
    assert sorted(X_all[:, 0].tolist()) == list(range(offset, offset + 6 * chunks, 6))
    np.testing.assert_array_equal(X_all, X_all[:, :1] + np.arange(6))
    np.testing.assert_array_equal(y_all, X_all + 1)
    dropped = list(data.batches(4, seed=3, offset=offset))  # drop_last: whole batches only
    assert len(dropped) == chunks // 4 and all(X.shape == (4, 6) for X, _ in dropped)


def test_bad_offsets_say_expected_and_got():
    data = CharText(TEXT, seq_len=4)
    cases = ((4, ValueError, r"expected offset in 0 \.\. 3 \(seq_len - 1\), got 4"),
             (-1, ValueError, "got -1"), (1.0, TypeError, "expected offset an int"),
             (True, TypeError, "got True"))  # fmt: skip
    for offset, error, match in cases:
        with pytest.raises(error, match=match):
            data.batches(2, seed=0, offset=offset)
    small = CharText("abcdefghij", seq_len=3)  # 3 chunks at offset 0, 2 at offset 2
    with pytest.raises(ValueError, match="expected batch_size <= the 2 chunks of 3 characters"):
        small.batches(3, seed=0, offset=2)


def test_batches_are_deterministic_for_a_seed_and_differ_across_seeds():
    data = CharText(TEXT, seq_len=4)
    first = [X for X, _ in data.batches(7, seed=42)]
    again = [X for X, _ in data.batches(7, seed=42)]
    other = [X for X, _ in data.batches(7, seed=43)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again)) and len(first) == 8
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    rng = np.random.default_rng(42)  # one Generator: a new order every epoch
    epoch1 = [X for X, _ in data.batches(7, seed=rng)]
    epoch2 = [X for X, _ in data.batches(7, seed=rng)]
    assert all(np.array_equal(a, b) for a, b in zip(first, epoch1))
    assert not all(np.array_equal(a, b) for a, b in zip(epoch1, epoch2))


def test_split_shares_the_vocabulary():
    text = "abcdefghij" * 9 + "zzzzzzzzzz"  # 'z' only in the validation part
    data = CharText(text, seq_len=5)
    train, val = data.split(0.2)
    assert train.text + val.text == text and len(val.text) == 20
    assert train.vocab == val.vocab == data.vocab and "z" in train.vocab
    assert "z" not in train.text
    np.testing.assert_array_equal(np.concatenate([train.codes, val.codes]), data.codes)
    assert train.seq_len == val.seq_len == 5 and len(val) == 3


@pytest.mark.parametrize(("args", "error", "message"), [
    ((b"bytes", 3), TypeError, "CharText: expected text a str, got bytes"),
    ((["a", "b"], 1), TypeError, "CharText: expected text a str, got list"),
    (("abcd", 0), ValueError, "CharText: expected seq_len >= 1, got 0"),
    (("abcd", 2.0), TypeError, "CharText: expected seq_len a positive int, got 2.0"),
    (("abcd", 4), ValueError,
     "CharText: expected a text of at least seq_len + 1 = 5 characters, got 4"),
    (("", 1), ValueError,
     "CharText: expected a text of at least seq_len + 1 = 2 characters, got 0"),
])  # fmt: skip
def test_chartext_bad_construction(args, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        CharText(*args)


@pytest.mark.parametrize(("vocab", "error", "message"), [
    (["b", "a", "c"], ValueError, "CharText: expected vocab sorted and without repeats, got 'bac'"),
    (["a", "a", "b", "c"], ValueError,
     "CharText: expected vocab sorted and without repeats, got 'aabc'"),
    (["a", "bc"], TypeError, "CharText: expected vocab a sequence of one-character strings"),
    ([1, 2], TypeError, "CharText: expected vocab a sequence of one-character strings"),
    (["a", "b"], ValueError,
     "CharText: expected characters of the vocabulary, got 'c' at index 2 (unknown: 'c')"),
])  # fmt: skip
def test_chartext_bad_vocab(vocab, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        CharText("abcab", 2, vocab=vocab)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda d: d.encode("abx"), ValueError,
     "CharText.encode: expected characters of the vocabulary, got 'x' at index 2 (unknown: 'x')"),
    (lambda d: d.encode("Zab~Z"), ValueError,
     ("CharText.encode: expected characters of the vocabulary, got 'Z' at index 0 "
     "(unknown: 'Z~')")),
    (lambda d: d.encode(["a"]), TypeError, "CharText.encode: expected a str, got list"),
    (lambda d: d.decode([0, 3]), ValueError,
     "CharText.decode: expected indices in 0..2, got 3 at position 1"),
    (lambda d: d.decode(np.array([-1])), ValueError,
     "CharText.decode: expected indices in 0..2, got -1 at position 0"),
    (lambda d: d.decode([0.0, 1.0]), TypeError,
     "CharText.decode: expected integer indices, got dtype float64"),
    (lambda d: d.decode(np.zeros((2, 2), dtype=int)), ShapeError,
     "CharText.decode: expected indices of shape (n,), got (2, 2)"),
    (lambda d: d.batches(0), ValueError, "CharText.batches: expected batch_size >= 1, got 0"),
    (lambda d: d.batches(2.0), TypeError,
     "CharText.batches: expected batch_size a positive int, got 2.0"),
    (lambda d: d.batches(5), ValueError,
     ("CharText.batches: expected batch_size <= the 4 chunks of 2 characters, got 5; lower "
     "batch_size or seq_len, or pass drop_last=False")),
    (lambda d: d.batches(2, seed=1.5), TypeError, "as_rng: expected an int"),
    (lambda d: d.batches(2, drop_last=1), TypeError,
     "CharText.batches: expected drop_last True or False, got 1"),
    (lambda d: d.split(0.0), ValueError, "CharText.split: expected fraction in (0, 1), got 0.0"),
    (lambda d: d.split(1), ValueError, "CharText.split: expected fraction in (0, 1), got 1"),
    (lambda d: d.split("0.5"), ValueError,
     "CharText.split: expected fraction in (0, 1), got '0.5'"),
    (lambda d: d.split(0.1), ValueError,
     ("CharText.split: expected both parts of at least seq_len + 1 = 3 characters, got 8 and 1 "
     "for fraction=0.1")),
])  # fmt: skip
def test_chartext_bad_calls(call, error, message):
    data = CharText("abcabcabc", seq_len=2)  # 4 chunks, vocab 'abc'
    with pytest.raises(error, match=f"^{re.escape(message)}"):
        call(data)


def test_batches_with_drop_last_false_allow_a_large_batch():
    data = CharText("abcabcabc", seq_len=2)
    ((X, y),) = data.batches(5, seed=0, drop_last=False)
    assert X.shape == y.shape == (4, 2)


# ---- pad_sequences ------------------------------------------------------------------------------


def test_pad_and_unpad_round_trip(rng):
    lengths_in = [5, 0, 3, 7, 1]
    sequences = [rng.normal(size=(n, 3)).astype(np.float32) for n in lengths_in]
    padded, lengths = pad_sequences(sequences, padding_value=-9.0)
    assert padded.shape == (7, 5, 3) and padded.dtype == np.float32
    assert lengths.dtype == np.int64 and lengths.tolist() == lengths_in
    for i, sequence in enumerate(sequences):
        np.testing.assert_array_equal(padded[: lengths[i], i], sequence)
        assert (padded[lengths[i] :, i] == -9.0).all()
    first, lengths_bf = pad_sequences(sequences, padding_value=-9.0, batch_first=True)
    assert first.shape == (5, 7, 3) and first.flags.c_contiguous and padded.flags.c_contiguous
    np.testing.assert_array_equal(first, padded.swapaxes(0, 1))
    np.testing.assert_array_equal(lengths_bf, lengths)
    for i, sequence in enumerate(sequences):
        np.testing.assert_array_equal(first[i, : lengths[i]], sequence)


def test_pad_integer_sequences_by_hand():
    padded, lengths = pad_sequences([np.array([1, 2, 3]), np.array([4]), np.array([5, 6])],
                                    padding_value=-1, batch_first=True)  # fmt: skip
    assert padded.dtype == np.array([1]).dtype
    assert padded.tolist() == [[1, 2, 3], [4, -1, -1], [5, 6, -1]] and lengths.tolist() == [3, 1, 2]
    padded, _ = pad_sequences([[1.0, 2.0], [3.0]])  # lists of numbers, time-major
    assert padded.tolist() == [[1.0, 3.0], [2.0, 0.0]]
    padded, _ = pad_sequences([np.array([1.0]), np.array([2.0, 3.0])], padding_value=np.nan)
    assert np.isnan(padded[1, 0]) and padded[1, 1] == 3.0
    padded, lengths = pad_sequences([np.zeros(0, np.float32), np.zeros(0, np.float32)])
    assert padded.shape == (0, 2) and lengths.tolist() == [0, 0]


def test_pad_sequences_copies_its_input():
    a = np.arange(3.0)
    padded, _ = pad_sequences([a])
    padded[0, 0] = 7.0
    assert a[0] == 0.0 and padded.shape == (3, 1)


def test_pad_sequences_matches_torch(rng):
    torch = require("torch")
    sequences = [rng.normal(size=(n, 2)) for n in (4, 1, 6)]
    for batch_first in (False, True):
        padded, _ = pad_sequences(sequences, padding_value=2.5, batch_first=batch_first)
        expected = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(s) for s in sequences],
                                                   batch_first=batch_first,
                                                   padding_value=2.5)  # fmt: skip
        np.testing.assert_array_equal(padded, expected.numpy())


@pytest.mark.parametrize(("sequences", "kwargs", "error", "message"), [
    ([], {}, ValueError, "expected at least one sequence, got an empty list"),
    (np.zeros((2, 3)), {}, TypeError, "expected a list of arrays, got ndarray"),
    ([np.zeros(2), np.zeros(2, np.float32)], {}, TypeError,
     "expected one dtype, got float64 for sequence 0 and float32 for sequence 1"),
    ([np.zeros(2, int), np.zeros(2)], {}, TypeError,
     "expected one dtype, got int64 for sequence 0 and float64 for sequence 1"),
    ([np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((1, 2))], {}, ShapeError,
     "expected one trailing shape, got (L, *(3,)) for sequence 0 and (1, 2) for sequence 2"),
    ([np.zeros((2, 3)), np.zeros(2)], {}, ShapeError,
     "expected one trailing shape, got (L, *(3,)) for sequence 0 and (2,) for sequence 1"),
    ([np.zeros(2), np.float64(1.0)], {}, ShapeError,
     "expected sequences of shape (L,) or (L, f), got a scalar for sequence 1"),
    ([np.array(["a", "b"])], {}, TypeError, "expected real numbers, got dtype <U1 for sequence 0"),
    ([np.array([True])], {}, TypeError, "expected real numbers, got dtype bool for sequence 0"),
    ([np.zeros(2, int)], {"padding_value": 0.5}, ValueError,
     "expected a padding_value that int64 can hold, got 0.5"),
    ([np.zeros(2, np.uint8)], {"padding_value": -1}, ValueError,
     "expected a padding_value that uint8 can hold, got -1"),
    ([np.zeros(2, np.int32)], {"padding_value": np.nan}, ValueError,
     "expected a padding_value that int32 can hold, got nan"),
    ([np.zeros(2)], {"padding_value": "0"}, TypeError,
     "expected padding_value a real number, got '0'"),
    ([np.zeros(2)], {"padding_value": None}, TypeError,
     "expected padding_value a real number, got None"),
    ([np.zeros(2)], {"batch_first": "yes"}, TypeError,
     "expected batch_first True or False, got 'yes'"),
])  # fmt: skip
def test_pad_sequences_bad_input(sequences, kwargs, error, message):
    with pytest.raises(error, match=f"^pad_sequences: {re.escape(message)}$"):
        pad_sequences(sequences, **kwargs)
