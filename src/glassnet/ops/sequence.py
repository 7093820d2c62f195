"""Sequence helpers composed from the shape ops: ``last_valid``, the output of each sequence
at its last real step (many-to-one heads on a padded batch).

These are compositions, not new primitives: the gradient is that of ``getitem`` (scattered
back to the picked steps, zero elsewhere), so there is no Op class and no spec line here.
"""

from ..autodiff import Tensor
from ..backend import xp
from ..errors import ShapeError
from .shape import getitem

__all__ = ["last_valid"]


def last_valid(output, lengths, batch_first=False):
    """The output of every sequence at its last real step, lengths[n] - 1 (many-to-one):

        y[n] = output[lengths[n] - 1, n]      (batch_first: output[n, lengths[n] - 1])

    With ``nn.RNN(..., lengths=lengths)`` (one layer, one direction) this is h_n[-1]; it is
    what a classifier on padded sequences of different lengths reads. The gradient reaches
    output only at the picked steps (``getitem``'s scatter), zero at every other step.

    Args:
        output: Tensor (T, N, *features) ((N, T, *features) with ``batch_first``), e.g. the
            output of an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.
        lengths: ints (N,) in 1 .. T (a list, an integer array or an integer Tensor).
        batch_first: output is (N, T, *features) instead of (T, N, *features).
    Returns:
        Tensor (N, *features).
    Raises:
        ShapeError: output with fewer than 2 axes, or lengths not N ints of shape (N,).
        ValueError: a length outside 1 .. T.
    Example:
        >>> out, h_n = rnn(x, lengths=lengths)                # (T, N, H)
        >>> logits = head(ops.last_valid(out, lengths))      # (N, H) -> (N, classes)
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"last_valid: expected output to be a Tensor, got {type(output).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"last_valid: expected batch_first to be a bool, got {batch_first!r}")
    layout = "(N, T, *features)" if batch_first else "(T, N, *features)"
    if output.ndim < 2:
        raise ShapeError(f"last_valid: expected output {layout}, got shape {output.shape}")
    steps, n = output.shape[:2][::-1] if batch_first else output.shape[:2]
    raw = lengths.data if isinstance(lengths, Tensor) else lengths
    array = xp.asarray(raw)
    if array.shape != (n,) or (array.size and array.dtype.kind not in "iu"):
        raise ShapeError(f"last_valid: expected lengths as {n} ints (N,) for output {layout} of "
                         f"shape {output.shape}, got {array.dtype} array of shape "
                         f"{array.shape}")  # fmt: skip
    array = array.astype(xp.intp, copy=False)
    if n and (array.min() < 1 or array.max() > steps):
        raise ValueError(f"last_valid: expected lengths in 1 .. {steps} (T), got "
                         f"{array.tolist()}")  # fmt: skip
    columns = xp.arange(n)
    index = (columns, array - 1) if batch_first else (array - 1, columns)
    return getitem(output, index)
