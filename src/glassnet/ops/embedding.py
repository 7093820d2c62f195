"""Inputs of sequence models: ``embedding``, a fused gather of rows of a weight matrix by
integer index whose backward scatter-adds, and ``positional_encoding``, the sinusoidal
position code of Vaswani et al. (2017), a plain array (it has no parameters to learn).

References: Y. Bengio et al., "A neural probabilistic language model", JMLR 2003 (a learned
table of word vectors); A. Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.5.
"""

import numbers

from ..autodiff import IndexedGrad, Op, Tensor
from ..backend import default_dtype, xp
from ..errors import ShapeError

__all__ = ["embedding"]


class Embedding(Op):
    """y[..., :] = W[indices[...], :]: each index picks a row of W (num_embeddings, dim).

    backward: grad_W[r] = sum of grad_out[p] over the positions p with indices[p] = r
              (a scatter-add: repeated indices add up), and 0 for the padding row;
    jvp:      dy[p] = dW[indices[p]], and 0 where indices[p] is the padding row (a constant).
    The indices are constants. The gradient goes back as an ``IndexedGrad`` (the rows and
    their values), which the sweep adds into one array with ``xp.add.at``.
    """

    saves_arrays = False  # the indices only, a constant

    def forward(self, weight, indices, padding_idx):
        self.shape, self.dtype, self.indices = weight.shape, weight.dtype, indices
        self.pad = None if padding_idx is None else (indices == padding_idx)[..., None]
        return xp.take(weight, indices, axis=0)

    def _unpadded(self, rows):
        return rows if self.pad is None else xp.where(self.pad, 0, rows)

    def backward(self, grad_out):
        return (IndexedGrad(self.shape, self.dtype, self.indices, self._unpadded(grad_out),
                            False),)  # fmt: skip

    def jvp(self, dweight):
        return self._unpadded(xp.take(dweight, self.indices, axis=0))


def _is_int(n):
    return isinstance(n, numbers.Integral) and not isinstance(n, bool)


def embedding(indices, weight, padding_idx=None):
    """Rows of ``weight`` picked by integer ``indices``, as torch's F.embedding:
    y[..., :] = weight[indices[...], :].

    The gradient with respect to weight adds up the upstream gradients of every position
    that picked a row (repeated indices accumulate); the row ``padding_idx``, if given, gets
    none (it is read like any other row, but stays as it is in training, as in torch).

    Args:
        indices: integer array (or Tensor) of any shape, values in [0, num_embeddings).
        weight: Tensor (num_embeddings, embedding_dim).
        padding_idx: None, or a row in [-num_embeddings, num_embeddings) (negative counts
            from the end) whose gradient is zero.
    Shapes: indices (*S) -> y (*S, embedding_dim).
    Raises:
        TypeError: indices not of an integer dtype; weight not a Tensor.
        ShapeError: weight not 2-D.
        IndexError: an index outside [0, num_embeddings) (the message names it).
        ValueError: padding_idx not an int in range.
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"embedding: expected weight as a Tensor (num_embeddings, "
                        f"embedding_dim), got {type(weight).__name__}")  # fmt: skip
    if weight.ndim != 2:
        raise ShapeError(f"embedding: expected weight of shape (num_embeddings, embedding_dim), "
                         f"got {weight.shape}")  # fmt: skip
    n = weight.shape[0]
    idx = xp.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected integer indices, got dtype {idx.dtype} (pass "
                        f"the integer array itself, or gn.tensor(indices, dtype=int))")  # fmt: skip
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= n:
            bad = low if low < 0 else high
            raise IndexError(f"embedding: expected indices in [0, {n}) (num_embeddings {n}), "
                             f"got {bad}")  # fmt: skip
    if padding_idx is not None:
        if not _is_int(padding_idx) or not -n <= padding_idx < n:
            raise ValueError(f"embedding: expected padding_idx to be an int in [{-n}, {n}), "
                             f"got {padding_idx!r}")  # fmt: skip
        padding_idx = int(padding_idx) % n
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx)


def positional_encoding(length, d_model, dtype=None):
    """The sinusoidal positional encoding of Vaswani et al. (2017), sec. 3.5, a plain array
    (length, d_model) to add to a (batch, length, d_model) input; it has no gradient.

        PE[pos, 2i]     = sin(pos / 10000^(2i / d_model))
        PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

    Column j has the frequency 10000^(-(j - j mod 2) / d_model): a sine at even j, a cosine
    at odd j. For an odd d_model the last column is a sine with no cosine partner (the
    exponents still divide by d_model itself), the convention of most implementations that
    accept odd widths.

    Args:
        length: number of positions (0, 1, ..., length - 1), an int >= 0.
        d_model: width of the code, an int >= 1.
        dtype: floating dtype of the result (default: glassnet's default dtype); computed in
            float64, then converted.
    Returns:
        array (length, d_model) of the active backend.
    Raises:
        ValueError: length or d_model not an int in range; TypeError: a non-floating dtype.
    Reference: Vaswani et al., "Attention is all you need", NeurIPS 2017, sec. 3.5.
    """
    if not _is_int(length) or length < 0:
        raise ValueError(f"positional_encoding: expected length to be an int >= 0, "
                         f"got {length!r}")  # fmt: skip
    if not _is_int(d_model) or d_model < 1:
        raise ValueError(f"positional_encoding: expected d_model to be an int >= 1, "
                         f"got {d_model!r}")  # fmt: skip
    dtype = default_dtype() if dtype is None else xp.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"positional_encoding: expected a floating dtype, got {dtype}")
    pos = xp.arange(length, dtype=xp.float64)[:, None]
    j = xp.arange(d_model)
    angle = pos * xp.power(10000.0, -(j - j % 2) / d_model)
    return xp.where(j % 2 == 0, xp.sin(angle), xp.cos(angle)).astype(dtype)
