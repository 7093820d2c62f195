"""Recurrent layers, with PyTorch's names, argument orders and layouts: ``RNN``, the Elman
network (torch.nn.RNN).

Each layer and direction is one ``ops.elman`` node over the whole sequence, so a backward pass
through time is one sweep over t per layer and direction, whatever the sequence length.
"""

import math
import numbers

from .. import ops
from ..autodiff import Tensor
from ..backend import as_rng, default_dtype, xp
from ..errors import ShapeError
from ..ops.recurrent import NONLINEARITIES
from . import init as initializers
from .module import Module, Parameter, register

__all__ = ["RNN"]


def _positive(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"RNN: expected {name} to be a positive int, got {value!r}")
    return int(value)


@register
class RNN(Module):
    """Elman RNN, stacked and optionally bidirectional, as torch.nn.RNN:

        h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   f = tanh or relu

    layer l > 0 reads the outputs of layer l - 1 (both directions, concatenated), with dropout
    between layers in training mode. The reverse direction runs over each sequence reversed
    (within its length, when ``lengths`` is given).

    Args:
        input_size: features of x_t; hidden_size: H, the size of the state h_t.
        num_layers: stacked layers. nonlinearity: "tanh" or "relu". bias: learn b_ih and b_hh.
        batch_first: input and output are (N, T, features) instead of (T, N, features).
        dropout: probability of dropping each output of every layer but the last (training).
        bidirectional: add a reverse direction (D = 2).
        dtype: of the parameters (default: glassnet's default dtype).
        seed: int or numpy.random.Generator, for the initial weights and the dropout masks.
    Parameters, per layer l and direction ("" or "_reverse"), as torch's weight_ih_l0, ...:
        W_ih_l{l} (H, input_size for l = 0, else D * H), W_hh_l{l} (H, H), b_ih_l{l} (H,),
        b_hh_l{l} (H,); W_ih_l0_reverse, ... for the reverse direction. All start uniform in
        (-1/sqrt(H), 1/sqrt(H)), torch's default, and ``load_torch_state_dict`` copies
        torch's weight_ih_l0 / weight_hh_l0 / bias_ih_l0 / bias_hh_l0 (and _reverse) onto them.
    Call: ``rnn(x, hx=None, *, lengths=None)`` -> (output, h_n)
        x: (T, N, input_size) ((N, T, input_size) with batch_first; (T, input_size) unbatched).
        hx: initial states (num_layers * D, N, H), or None for zeros.
        lengths: ints (N,) in 1 .. T: sequence n occupies its first lengths[n] steps, the rest
            is padding (torch's pack_padded_sequence): its outputs are 0 and h_n holds each
            sequence's state after its last real step.
        output: (T, N, D * H) (batch_first: (N, T, D * H)), the last layer's states;
        h_n: (num_layers * D, N, H), the final state of every layer and direction.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *, dtype=None,
                 seed=None):  # fmt: skip
        super().__init__()
        self.input_size = _positive("input_size", input_size)
        self.hidden_size = _positive("hidden_size", hidden_size)
        self.num_layers = _positive("num_layers", num_layers)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        if isinstance(dropout, bool) or not (isinstance(dropout, numbers.Real)
                                             and 0.0 <= dropout < 1.0):  # fmt: skip
            raise ValueError(f"RNN: expected dropout in [0, 1), got {dropout!r}")
        for name, flag in (("bias", bias), ("batch_first", batch_first),
                           ("bidirectional", bidirectional)):  # fmt: skip
            if not isinstance(flag, bool):
                raise TypeError(f"RNN: expected {name} to be a bool, got {flag!r}")
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"RNN: expected a floating dtype for the parameters, got {dtype}")
        self.rng = as_rng(seed)
        uniform = initializers.Uniform(1.0 / math.sqrt(self.hidden_size))
        h = self.hidden_size
        for layer in range(self.num_layers):
            features = self.input_size if layer == 0 else self.directions * h
            for suffix in self._suffixes:
                names = self.parameter_names(layer, suffix)
                shapes = [(h, features), (h, h)] + ([(h,), (h,)] if bias else [])
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(uniform(shape, self.rng, dtype)))

    @property
    def directions(self):
        """D: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def parameter_names(self, layer, suffix=""):
        """The names of layer ``layer``'s parameters in one direction ("" or "_reverse"):
        W_ih, W_hh (and b_ih, b_hh with bias), e.g. ["W_ih_l0", "W_hh_l0", "b_ih_l0", ...]."""
        kinds = ("W_ih", "W_hh", "b_ih", "b_hh") if self.bias else ("W_ih", "W_hh")
        return [f"{kind}_l{layer}{suffix}" for kind in kinds]

    def __call__(self, x, hx=None, *, lengths=None):
        return super().__call__(x, hx, lengths)

    def forward(self, x, hx=None, lengths=None):
        dtype = self.W_ih_l0.data.dtype
        x = x if isinstance(x, Tensor) else Tensor(xp.asarray(x).astype(dtype, copy=False))
        batched = x.ndim == 3
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ShapeError(f"{self!r}: expected input {layout} or (T, input_size) with "
                             f"input_size={self.input_size}, got shape {x.shape}")  # fmt: skip
        if not batched:
            x = ops.reshape(x, (x.shape[0], 1, x.shape[1]))
        elif self.batch_first:
            x = ops.transpose(x, (1, 0, 2))
        steps, n = x.shape[0], x.shape[1]
        states = self._initial_states(hx, n, batched)
        mask, last, reverse = self._padding(lengths, steps, n)
        columns = xp.arange(n)
        finals, inputs = [], x
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                inputs = ops.dropout(inputs, self.dropout, self.rng)
            outputs = []
            for d, suffix in enumerate(self._suffixes):
                params = [getattr(self, name) for name in self.parameter_names(layer, suffix)]
                h0 = None if states is None else states[layer * self.directions + d]
                seq = inputs if not suffix else ops.getitem(inputs, reverse)
                y = ops.elman(seq, h0, *params, nonlinearity=self.nonlinearity, mask=mask)
                finals.append(ops.getitem(y, (last, columns)))
                outputs.append(y if not suffix else ops.getitem(y, reverse))
            inputs = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=2)
        h_n = ops.stack(finals, axis=0)
        if not batched:
            return ops.reshape(inputs, (steps, -1)), ops.reshape(h_n, (h_n.shape[0], -1))
        if self.batch_first:
            inputs = ops.transpose(inputs, (1, 0, 2))
        return inputs, h_n

    def _initial_states(self, hx, n, batched):
        """hx as a Tensor (num_layers * D, N, H) (or None), checked."""
        if hx is None:
            return None
        hx = hx if isinstance(hx, Tensor) else Tensor(xp.asarray(hx, self.W_ih_l0.data.dtype))
        expected = (self.num_layers * self.directions, n, self.hidden_size)
        if not batched:
            expected = expected[:1] + expected[2:]
        if hx.shape != expected:
            raise ShapeError(f"{self!r}: expected hx of shape {expected} (num_layers * D, N, H), "
                             f"got {hx.shape}")  # fmt: skip
        return hx if batched else ops.reshape(hx, (expected[0], 1, self.hidden_size))

    def _padding(self, lengths, steps, n):
        """(mask (T, N) or None, index of each sequence's last step (N,), the index of x that
        reverses each sequence within its length and leaves its padding in place)."""
        t = xp.arange(steps)[:, None]
        if lengths is None:
            return None, xp.full(n, steps - 1), slice(None, None, -1)
        raw = lengths.data if isinstance(lengths, Tensor) else lengths
        array = xp.asarray(raw)
        if array.shape != (n,) or array.dtype.kind not in "iu":
            raise ShapeError(f"{self!r}: expected lengths as {n} ints (N,), got "
                             f"{array.dtype} array of shape {array.shape}")  # fmt: skip
        if n and (array.min() < 1 or array.max() > steps):
            raise ValueError(f"{self!r}: expected lengths in 1 .. {steps} (T), got "
                             f"{array.tolist()}")  # fmt: skip
        inside = t < array[None, :]
        reverse = xp.where(inside, array[None, :] - 1 - t, t)
        return inside, array - 1, (reverse, xp.arange(n)[None, :])

    def config(self):
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "nonlinearity": self.nonlinearity,
                "bias": self.bias, "batch_first": self.batch_first, "dropout": self.dropout,
                "bidirectional": self.bidirectional, "dtype": str(self.W_ih_l0.dtype)}  # fmt: skip

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text
