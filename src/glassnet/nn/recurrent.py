"""Recurrent layers, with PyTorch's names, argument orders and layouts: ``RNN``, the Elman
network (torch.nn.RNN), ``LSTM`` (torch.nn.LSTM, optionally with peepholes) and ``GRU``
(torch.nn.GRU).

Each layer and direction is one ``ops.elman`` / ``ops.lstm`` / ``ops.gru`` node over the whole
sequence, so a backward pass through time is one sweep over t per layer and direction, whatever
the sequence length. The three share ``_Recurrent``: arguments, parameters, stacking,
directions, padding and dropout; each says only what its cell is.

A layer's insides stay visible: ``register_cell_observer`` hands the states, the gate
activations and the per-time-step norms of the gradient arriving at the state to an observer
(``nn.Recorder`` is one), from inside the fused ops, without adding graph nodes.
"""

import math
import numbers

from .. import ops
from ..autodiff import Tensor
from ..autodiff.tensor import HookHandle
from ..backend import as_rng, default_dtype, xp
from ..errors import ShapeError
from ..ops.recurrent import NONLINEARITIES
from . import init as initializers
from .module import Module, Parameter, register

__all__ = ["GRU", "LSTM", "RNN"]


def _positive(owner, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: expected {name} to be a positive int, got {value!r}")
    return int(value)


class _Recurrent(Module):
    """What RNN, LSTM and GRU share. A subclass sets ``gates`` (the blocks of H rows in W_ih
    and W_hh), may add per-direction parameter kinds in ``_extra_kinds``, and writes ``_cell``
    (one layer and direction as one op) and ``_final`` (the returned states)."""

    gates = 1

    def __init__(self, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                 bidirectional, dtype, seed):  # fmt: skip
        super().__init__()
        owner = type(self).__name__
        self.input_size = _positive(owner, "input_size", input_size)
        self.hidden_size = _positive(owner, "hidden_size", hidden_size)
        self.num_layers = _positive(owner, "num_layers", num_layers)
        if isinstance(dropout, bool) or not (isinstance(dropout, numbers.Real)
                                             and 0.0 <= dropout < 1.0):  # fmt: skip
            raise ValueError(f"{owner}: expected dropout in [0, 1), got {dropout!r}")
        for name, flag in (("bias", bias), ("batch_first", batch_first),
                           ("bidirectional", bidirectional)):  # fmt: skip
            if not isinstance(flag, bool):
                raise TypeError(f"{owner}: expected {name} to be a bool, got {flag!r}")
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{owner}: expected a floating dtype for the parameters, got {dtype}")
        self.rng = as_rng(seed)
        self._cell_observers = {}
        uniform = initializers.Uniform(1.0 / math.sqrt(self.hidden_size))
        h, rows = self.hidden_size, self.gates * self.hidden_size
        for layer in range(self.num_layers):
            features = self.input_size if layer == 0 else self.directions * h
            for suffix in self._suffixes:
                names = self.parameter_names(layer, suffix)
                shapes = [(rows, features), (rows, h)] + ([(rows,), (rows,)] if bias else [])
                shapes += [shape for _, shape in self._extra_kinds()]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(uniform(shape, self.rng, dtype)))

    def _extra_kinds(self):
        """[(kind, shape)] of the parameters a cell adds per layer and direction."""
        return []

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
        kinds = ["W_ih", "W_hh"] + (["b_ih", "b_hh"] if self.bias else [])
        kinds += [kind for kind, _ in self._extra_kinds()]
        return [f"{kind}_l{layer}{suffix}" for kind in kinds]

    def __call__(self, x, hx=None, *, lengths=None):
        return super().__call__(x, hx, lengths)

    def register_cell_observer(self, factory):
        """Watch the inside of every layer and direction ("cell") of this module.

        At every forward, for each cell (layer l, direction d: 0 forward, 1 reverse) the layer
        calls ``factory(module, (l, d))``; a callable it returns is passed to that cell's op as
        ``observe`` (see ``glassnet.ops.recurrent``) and is called with ("forward", {"h",
        "gates", "mask"}) at the end of the forward and with ("backward", {"delta_norm": (T,)})
        when the backward passes through the cell; None skips the cell this time. Time index t
        is the cell's own: for the reverse direction t = 0 is the last input step (of each
        sequence's own length). Returns a handle whose ``remove()`` ends the watch.
        """
        if not callable(factory):
            raise TypeError(f"{self!r}: expected a callable factory(module, (layer, direction)), "
                            f"got {type(factory).__name__}")  # fmt: skip
        return HookHandle(self._cell_observers, factory)

    def _observer(self, cell):
        """The ``observe`` callable for one cell's op this forward, or None."""
        if not self._cell_observers:
            return None
        made = [f(self, cell) for f in list(self._cell_observers.values())]
        made = [m for m in made if m is not None]
        if not made:
            return None
        if len(made) == 1:
            return made[0]

        def observe(event, values):
            for m in made:
                m(event, values)

        return observe

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
                k = layer * self.directions + d
                start = [None if s is None else s[k] for s in states]
                seq = inputs if not suffix else ops.getitem(inputs, reverse)
                y, extra = self._cell(seq, start, params, mask, self._observer((layer, d)))
                finals.append([ops.getitem(y, (last, columns)), *extra])
                outputs.append(y if not suffix else ops.getitem(y, reverse))
            inputs = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=2)
        finals = [ops.stack(list(kind), axis=0) for kind in zip(*finals)]
        if not batched:
            inputs = ops.reshape(inputs, (steps, -1))
            finals = [ops.reshape(f, (f.shape[0], -1)) for f in finals]
        elif self.batch_first:
            inputs = ops.transpose(inputs, (1, 0, 2))
        return inputs, self._final(finals)

    def _state_names(self):
        return ("hx",)

    def _initial_states(self, hx, n, batched):
        """hx as a list of Tensors (num_layers * D, N, H) (None for zeros), checked: one per
        state (h; or h and c for LSTM, given as a pair)."""
        names = self._state_names()
        if hx is None:
            return [None] * len(names)
        if len(names) > 1:
            if not isinstance(hx, (tuple, list)) or len(hx) != len(names):
                raise TypeError(f"{self!r}: expected hx as a pair (h_0, c_0), got "
                                f"{type(hx).__name__}")  # fmt: skip
        else:
            hx = (hx,)
        dtype = self.W_ih_l0.data.dtype
        expected = (self.num_layers * self.directions, n, self.hidden_size)
        if not batched:
            expected = expected[:1] + expected[2:]
        out = []
        for name, s in zip(names, hx):
            s = s if isinstance(s, Tensor) else Tensor(xp.asarray(s, dtype))
            if s.shape != expected:
                raise ShapeError(f"{self!r}: expected {name} of shape {expected} (num_layers * "
                                 f"D, N, H), got {s.shape}")  # fmt: skip
            out.append(s if batched else ops.reshape(s, (expected[0], 1, self.hidden_size)))
        return out

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
                "num_layers": self.num_layers, "bias": self.bias,
                "batch_first": self.batch_first, "dropout": self.dropout,
                "bidirectional": self.bidirectional, "dtype": str(self.W_ih_l0.dtype)}  # fmt: skip

    def _extra_repr_options(self):
        return ""

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        text += self._extra_repr_options()
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


@register
class RNN(_Recurrent):
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
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, seed)  # fmt: skip
        self.nonlinearity = nonlinearity

    def _cell(self, seq, start, params, mask, observe):
        return ops.elman(seq, start[0], *params, nonlinearity=self.nonlinearity, mask=mask,
                         observe=observe), ()  # fmt: skip

    def _final(self, finals):
        return finals[0]

    def config(self):
        return super().config() | {"nonlinearity": self.nonlinearity}

    def _extra_repr_options(self):
        return f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else ""


@register
class LSTM(_Recurrent):
    """Long short-term memory, stacked and optionally bidirectional, as torch.nn.LSTM
    (Hochreiter & Schmidhuber 1997, with forget gates: Gers et al. 2000):

        [i, f, g, o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh   (then s, s, tanh, s)
        c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

    optionally with peephole connections (Gers & Schmidhuber 2000, not in torch): diagonal
    weights w_ci, w_cf from c_{t-1} into i and f, w_co from c_t into o. Stacking, directions,
    dropout and ``lengths`` are those of ``RNN``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype,
            seed: as ``RNN``.
        peepholes: add the peephole weights W_peep_l{l} (3, H), rows w_ci, w_cf, w_co.
    Parameters, per layer l and direction ("" or "_reverse"), as torch's weight_ih_l0, ...:
        W_ih_l{l} (4H, input_size for l = 0, else D * H), W_hh_l{l} (4H, H), b_ih_l{l} (4H,),
        b_hh_l{l} (4H,), rows in torch's gate order i, f, g, o; with peepholes W_peep_l{l}
        (3, H). All start uniform in (-1/sqrt(H), 1/sqrt(H)), torch's default (the peepholes
        too). ``load_torch_state_dict`` copies a torch LSTM's weights onto them; torch has no
        peepholes, so a model with peepholes cannot take a torch state (it names the missing
        W_peep_l0).
    Call: ``lstm(x, hx=None, *, lengths=None)`` -> (output, (h_n, c_n))
        x: (T, N, input_size) ((N, T, input_size) with batch_first; (T, input_size) unbatched).
        hx: None (zeros) or the pair (h_0, c_0), each (num_layers * D, N, H).
        lengths: as ``RNN``: h_n and c_n hold each sequence's state after its last real step.
        output: (T, N, D * H) (batch_first: (N, T, D * H)), the last layer's states;
        h_n, c_n: (num_layers * D, N, H), the final state and cell of every layer and direction.
    """

    gates = 4

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, peepholes=False, dtype=None,
                 seed=None):  # fmt: skip
        if not isinstance(peepholes, bool):
            raise TypeError(f"LSTM: expected peepholes to be a bool, got {peepholes!r}")
        self.peepholes = peepholes
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, seed)  # fmt: skip

    def _extra_kinds(self):
        return [("W_peep", (3, self.hidden_size))] if self.peepholes else []

    def _state_names(self):
        return ("h_0", "c_0")

    def _cell(self, seq, start, params, mask, observe):
        biases = params[2:4] if self.bias else (None, None)
        peepholes = params[-1] if self.peepholes else None
        y, c = ops.lstm(seq, start[0], start[1], params[0], params[1], *biases, mask=mask,
                        peepholes=peepholes, observe=observe)  # fmt: skip
        return y, (c,)

    def _final(self, finals):
        return finals[0], finals[1]

    def config(self):
        return super().config() | {"peepholes": self.peepholes}

    def _extra_repr_options(self):
        return ", peepholes=True" if self.peepholes else ""


@register
class GRU(_Recurrent):
    """Gated recurrent unit, stacked and optionally bidirectional, as torch.nn.GRU:

        r = s(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr),  z = s(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn)),   h_t = (1 - z) n + z h_{t-1}

    Stacking, directions, dropout and ``lengths`` are those of ``RNN``.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype,
            seed: as ``RNN``.
    Parameters, per layer l and direction ("" or "_reverse"), as torch's weight_ih_l0, ...:
        W_ih_l{l} (3H, input_size for l = 0, else D * H), W_hh_l{l} (3H, H), b_ih_l{l} (3H,),
        b_hh_l{l} (3H,), rows in torch's gate order r, z, n; all start uniform in
        (-1/sqrt(H), 1/sqrt(H)), torch's default; ``load_torch_state_dict`` copies a torch
        GRU's weights onto them.
    Call: ``gru(x, hx=None, *, lengths=None)`` -> (output, h_n), as ``RNN``.
    """

    gates = 3

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, dtype=None, seed=None):  # fmt: skip
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, seed)  # fmt: skip

    def _cell(self, seq, start, params, mask, observe):
        return ops.gru(seq, start[0], *params, mask=mask, observe=observe), ()

    def _final(self, finals):
        return finals[0]
