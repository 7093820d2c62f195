"""The embedding layer: a learned table of vectors, one row per token."""

import numbers

from .. import ops
from ..backend import as_rng, default_dtype, xp
from . import init as initializers
from .module import Module, Parameter, register

__all__ = ["Embedding"]


def _is_count(n):
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1


@register
class Embedding(Module):
    """A lookup table (torch's nn.Embedding): y[..., :] = W[indices[...], :].

    Each integer index (a token, a category) picks a row of W; the rows are learned. Where
    several positions pick one row, their gradients add up. The row ``padding_idx``, if given,
    starts at zero and gets no gradient, so it stays zero in training (for padded sequences).

    Args:
        num_embeddings: rows of the table (the vocabulary size), an int >= 1.
        embedding_dim: width of each row, an int >= 1.
        padding_idx: None, or a row in [-num_embeddings, num_embeddings) (negative counts
            from the end) kept at zero.
        dtype: dtype of W (default: glassnet's default dtype).
        seed: int or numpy.random.Generator for the initial weights.
    Parameters: W (num_embeddings, embedding_dim) ~ N(0, 1), as torch (torch's ``weight``;
        ``load_torch_state_dict`` maps it).
    Shapes: integer indices (*S), values in [0, num_embeddings) -> (*S, embedding_dim).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, dtype=None,
                 seed=None):  # fmt: skip
        super().__init__()
        for what, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not _is_count(n):
                raise ValueError(f"Embedding: expected {what} to be a positive int, got {n!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            n = self.num_embeddings
            valid = isinstance(padding_idx, numbers.Integral) and not isinstance(padding_idx, bool)
            if not valid or not -n <= padding_idx < n:
                raise ValueError(f"Embedding: expected padding_idx to be None or an int in "
                                 f"[{-n}, {n}), got {padding_idx!r}")  # fmt: skip
            padding_idx = int(padding_idx) % n
        self.padding_idx = padding_idx
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Embedding: expected a floating dtype for W, got {dtype}")
        shape = (self.num_embeddings, self.embedding_dim)
        weight = initializers.Normal(1.0)(shape, as_rng(seed), dtype)
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.W = Parameter(weight)

    def forward(self, indices):
        return ops.embedding(indices, self.W, self.padding_idx)

    def config(self):
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "padding_idx": self.padding_idx, "dtype": str(self.W.dtype)}  # fmt: skip

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
