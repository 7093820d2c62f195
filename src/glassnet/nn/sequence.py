"""Layers over sequences: ``TimeDistributed``, one layer applied to every time step."""

from .. import ops
from ..autodiff import Tensor
from ..backend import xp
from ..errors import ShapeError
from .module import Module, register

__all__ = ["TimeDistributed"]


@register
class TimeDistributed(Module):
    """Apply ``layer`` to every time step at once (Keras's TimeDistributed), with the same
    weights at each step, by folding time into the batch axis:

        (T, N, *f) -> (T N, *f) -> layer -> (T N, *g) -> (T, N, *g)     y[t, n] = layer(x[t, n])

    One call of ``layer`` on T N rows, so e.g. a Dense on top of an ``nn.RNN`` output is one
    matrix product, and its gradient sums over the steps as weight sharing requires.

    Args:
        layer: the Module applied per step (a Dense, a Sequential, a Conv1d, ...).
        batch_first: the input is (N, T, *f) instead of (T, N, *f), as ``nn.RNN``'s flag. The
            fold is a reshape either way, so only the layout named in errors and the saved
            config change; the output keeps the input's layout.
    Input shape: (T, N, *f) ((N, T, *f) with batch_first), *f what ``layer`` takes per sample.
    Output shape: (T, N, *g) ((N, T, *g)), *g what ``layer`` gives per sample.
    Example:
        >>> head = nn.TimeDistributed(nn.Dense(16, 3))
        >>> out, h_n = rnn(x)          # (T, N, 16)
        >>> y = head(out)              # (T, N, 3)
    """

    module_arguments = ("layer",)

    def __init__(self, layer, batch_first=False):
        super().__init__()
        if not isinstance(layer, Module):
            raise TypeError(
                f"TimeDistributed: expected layer to be a glassnet Module, got "
                f"{type(layer).__name__}"
            )
        if not isinstance(batch_first, bool):
            raise TypeError(
                f"TimeDistributed: expected batch_first to be a bool, got {batch_first!r}"
            )
        self.layer, self.batch_first = layer, batch_first

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(xp.asarray(x).astype(self.dtype, copy=False))
        if x.ndim < 3:
            layout = "(N, T, *features)" if self.batch_first else "(T, N, *features)"
            raise ShapeError(f"{self!r}: expected input {layout} with at least one feature "
                             f"axis, got shape {x.shape}")  # fmt: skip
        outer = x.shape[:2]
        y = self.layer(ops.reshape(x, (outer[0] * outer[1], *x.shape[2:])))
        if y.ndim < 1 or y.shape[0] != outer[0] * outer[1]:
            raise ShapeError(f"{self!r}: the layer turned {outer[0] * outer[1]} folded rows "
                             f"into shape {y.shape}; expected one output row per row")
        return ops.reshape(y, (*outer, *y.shape[1:]))

    def config(self):
        return {"batch_first": self.batch_first}

    def extra_repr(self):
        return repr(self.layer) + (", batch_first=True" if self.batch_first else "")
