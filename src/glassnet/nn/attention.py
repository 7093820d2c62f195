"""Multi-head attention and the transformer encoder layer (Vaswani et al. 2017), with
torch's parameter layout, so that ``load_torch_state_dict`` ports torch's modules."""

import math
import numbers

from .. import ops
from ..autodiff import Tensor
from ..backend import as_rng, default_dtype, xp
from ..errors import ShapeError
from . import init as initializers
from .dense import Dense
from .dropout import Dropout
from .module import Module, Parameter, register
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer"]


def _is_count(n):
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1


def _check_p(who, p):
    if isinstance(p, bool) or not (isinstance(p, numbers.Real) and 0.0 <= p < 1.0):
        raise ValueError(f"{who}: expected dropout in [0, 1), got {p!r}")
    return float(p)


def _check_flags(who, **flags):
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise TypeError(f"{who}: expected {name} to be True or False, got {flag!r}")


def _additive(mask, who, name, dtype):
    """A boolean mask (True: masked out, torch's nn convention) as 0 / -inf, a float one as it
    is, in ``dtype``."""
    mask = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
    if mask.dtype == bool:
        return xp.where(mask, -xp.inf, 0).astype(dtype)
    if mask.dtype.kind != "f":
        raise TypeError(f"{who}: expected a boolean or float {name}, got dtype {mask.dtype}")
    return mask.astype(dtype, copy=False)


@register
class MultiheadAttention(Module):
    """Multi-head attention, as torch's nn.MultiheadAttention (same embed_dim for query, key
    and value):

        q, k, v = query W_q^T + b_q,  key W_k^T + b_k,  value W_v^T + b_v   (rows of in_W)
        head_h = softmax(q_h k_h^T / sqrt(E / H) + M) v_h          (h = 1..H, one fused op)
        out = concat(head_1..head_H) W_o^T + b_o                    (out_proj)

    The heads are a batch axis of ``ops.scaled_dot_product_attention`` (no loop over them).
    With ``need_weights`` (or dropout in training), the softmax is composed of primitives
    instead, so that the weights come out as a Tensor (and dropout acts on them), as torch.
    A query whose keys are all masked gets zero weights and a zero head (torch gives NaN).

    Args:
        embed_dim: E, features of query, key and value; num_heads: H, a divisor of E.
        dropout: drop probability of the attention weights in training, in [0, 1).
        bias: learn in_b and out_proj.b (default True).
        batch_first: inputs (N, L, E) instead of (L, N, E).
        dtype: dtype of the parameters (default: glassnet's default dtype).
        seed: int or numpy.random.Generator for the initial weights and the dropout masks.
    Parameters: in_W (3E, E), Glorot uniform, the rows of W_q, W_k, W_v stacked (torch's
        in_proj_weight); in_b (3E,), zeros (in_proj_bias); out_proj, a Dense(E, E)
        (out_proj.weight, out_proj.bias). ``load_torch_state_dict`` maps them.
    Shapes: query (L, N, E) (batch_first: (N, L, E)) or unbatched (L, E); key and value
        (S, N, E) likewise -> attn_output like query; attn_weights (N, L, S) averaged over the
        heads, (N, H, L, S) with average_attn_weights=False, without N unbatched.
    Not supported: kdim / vdim other than embed_dim, add_bias_kv, add_zero_attn.
    Reference: Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.2.2.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False, *,
                 dtype=None, seed=None):  # fmt: skip
        super().__init__()
        who = "MultiheadAttention"
        for name, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not _is_count(n):
                raise ValueError(f"{who}: expected {name} to be a positive int, got {n!r}")
        if embed_dim % num_heads:
            raise ValueError(f"{who}: expected embed_dim divisible by num_heads, got "
                             f"embed_dim={embed_dim}, num_heads={num_heads}")  # fmt: skip
        _check_flags(who, bias=bias, batch_first=batch_first)
        self.dropout = _check_p(who, dropout)
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{who}: expected a floating dtype for the weights, got {dtype}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.batch_first, self.bias = batch_first, bias
        self.rng = as_rng(seed)
        E = self.embed_dim
        self.in_W = Parameter(initializers.get("glorot_uniform")((3 * E, E), self.rng, dtype))
        self.in_b = None
        if bias:
            initializers.reserve((3 * E,))
            self.in_b = Parameter(xp.zeros(3 * E, dtype))
        self.out_proj = Dense(E, E, bias=bias, seed=self.rng, dtype=dtype)

    def __call__(self, query, key, value, key_padding_mask=None, need_weights=True,
                 attn_mask=None, average_attn_weights=True, is_causal=False):  # fmt: skip
        return super().__call__(query, key, value, key_padding_mask, need_weights, attn_mask,
                                average_attn_weights, is_causal)  # fmt: skip

    def _inputs(self, query, key, value):
        """query, key, value as Tensors (N, L, E); and whether they came batched."""
        dtype, E = self.in_W.dtype, self.embed_dim
        q, k, v = (t if isinstance(t, Tensor) else Tensor(xp.asarray(t).astype(dtype))
                   for t in (query, key, value))  # fmt: skip
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        for name, t in (("query", q), ("key", k), ("value", v)):
            if t.ndim not in (2, 3) or t.shape[-1] != E or t.ndim != q.ndim:
                raise ShapeError(f"{self!r}: expected {name} {layout} or unbatched (L, E) with "
                                 f"E={E}, as query, got shape {t.shape} (query "
                                 f"{q.shape})")  # fmt: skip
        if k.shape[:-1] != v.shape[:-1]:
            raise ShapeError(f"{self!r}: expected key and value of one length and batch, got "
                             f"{k.shape} and {v.shape}")  # fmt: skip
        batched = q.ndim == 3
        if not batched:
            q, k, v = (ops.reshape(t, (1, *t.shape)) for t in (q, k, v))
        elif not self.batch_first:
            q, k, v = (ops.transpose(t, (1, 0, 2)) for t in (q, k, v))
        if q.shape[0] != k.shape[0]:
            raise ShapeError(f"{self!r}: expected query and key of one batch size, got "
                             f"{query.shape} and {key.shape}")  # fmt: skip
        return q, k, v, batched

    def _mask(self, key_padding_mask, attn_mask, is_causal, N, L, S, batched):
        """The additive mask (N or 1, H or 1, L, S) from both masks (torch's rules), or None."""
        who, H, dtype = repr(self), self.num_heads, self.in_W.dtype
        mask = None
        if attn_mask is not None:
            m = _additive(attn_mask, who, "attn_mask", dtype)
            if m.shape == (L, S):
                mask = m
            elif m.shape == (N * H, L, S):
                mask = m.reshape(N, H, L, S)
            else:
                raise ShapeError(f"{who}: expected attn_mask ({L}, {S}) or (N * num_heads, L, S)"
                                 f" = ({N * H}, {L}, {S}), got {m.shape}")  # fmt: skip
        elif is_causal:
            mask = xp.where(xp.tril(xp.ones((L, S), bool)), 0, -xp.inf).astype(dtype)
        if key_padding_mask is not None:
            m = _additive(key_padding_mask, who, "key_padding_mask", dtype)
            expected = (N, S) if batched else (S,)
            if m.shape != expected:
                raise ShapeError(f"{who}: expected key_padding_mask {expected} (batch, keys), "
                                 f"got {m.shape}")  # fmt: skip
            m = m.reshape(N, 1, 1, S)
            mask = m if mask is None else mask + m
        return mask

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):  # fmt: skip
        _check_flags(repr(self), need_weights=need_weights, is_causal=is_causal,
                     average_attn_weights=average_attn_weights)  # fmt: skip
        q, k, v, batched = self._inputs(query, key, value)
        (N, L, E), S, H, D = q.shape, k.shape[1], self.num_heads, self.head_dim
        mask = self._mask(key_padding_mask, attn_mask, is_causal, N, L, S, batched)
        W, b = self.in_W, self.in_b
        heads = []
        for i, (t, n) in enumerate(((q, L), (k, S), (v, S))):
            rows = slice(i * E, (i + 1) * E)
            t = ops.linear(t, ops.getitem(W, rows), None if b is None else ops.getitem(b, rows))
            heads.append(ops.transpose(ops.reshape(t, (N, n, H, D)), (0, 2, 1, 3)))  # N H n D
        q, k, v = heads
        weights = None
        if need_weights or (self.training and self.dropout):
            weights = self._weights(q, k, mask)
            if self.training and self.dropout:
                weights = ops.dropout(weights, self.dropout, self.rng)
            out = ops.matmul(weights, v)
        else:
            out = ops.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (N, L, E))
        out = self.out_proj(out)
        if not batched:
            out = ops.reshape(out, (L, E))
        elif not self.batch_first:
            out = ops.transpose(out, (1, 0, 2))
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = ops.mean(weights, axis=1)
        if not batched:
            weights = ops.reshape(weights, weights.shape[1:])
        return out, weights

    def _weights(self, q, k, mask):
        """softmax(q k^T / sqrt(D) + mask) of primitives; fully masked rows give zeros."""
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        scores = scores * xp.asarray(1.0 / math.sqrt(self.head_dim), scores.dtype)
        if mask is None:
            return ops.softmax(scores, axis=-1)
        dead = xp.all(mask == -xp.inf, axis=-1, keepdims=True)  # every key masked out
        weights = ops.softmax(scores + xp.where(dead, 0, mask), axis=-1)
        return weights * (~dead).astype(scores.dtype) if dead.any() else weights

    def config(self):
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "dropout": self.dropout, "bias": self.bias, "batch_first": self.batch_first,
                "dtype": str(self.in_W.dtype)}  # fmt: skip

    def extra_repr(self):
        text = f"{self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if not self.bias:
            text += ", bias=False"
        return text + (", batch_first=True" if self.batch_first else "")


_ACTIVATIONS = {"relu": ops.relu, "gelu": ops.gelu}


@register
class TransformerEncoderLayer(Module):
    """One transformer encoder layer, as torch's nn.TransformerEncoderLayer: self-attention
    and a feed-forward block, each with dropout, a residual connection and layer norm:

        post-norm (default): x = norm1(x + sa(x)),        x = norm2(x + ff(x))
        norm_first:          x = x + sa(norm1(x)),        x = x + ff(norm2(x))
        sa(x) = dropout1(self_attn(x, x, x)),  ff(x) = dropout2(linear2(dropout(f(linear1(x)))))

    Args:
        d_model: features of the input; nhead: heads of the attention (a divisor of d_model).
        dim_feedforward: width of the feed-forward block.
        dropout: drop probability of every dropout in the layer, in [0, 1).
        activation: "relu", or "gelu": glassnet's GELU, the tanh approximation (torch's
            "gelu" is the exact erf form; to match torch, give it
            ``lambda x: F.gelu(x, approximate="tanh")``).
        batch_first: inputs (N, L, d_model) instead of (L, N, d_model).
        norm_first: layer norm before each block (pre-norm) instead of after the residual.
        layer_norm_eps: eps of both layer norms.
        dtype: dtype of the parameters; seed: int or Generator (weights, dropout masks).
    Sub-modules (torch's names): self_attn (MultiheadAttention), linear1, dropout, linear2,
        norm1, norm2, dropout1, dropout2; ``load_torch_state_dict`` maps torch's weights.
    Shapes: src (L, N, d_model) (batch_first: (N, L, d_model)) or (L, d_model) -> the same.
    Reference: Vaswani et al., "Attention is all you need", NeurIPS 2017, section 3.1;
    Xiong et al., "On layer normalization in the transformer architecture", ICML 2020 (pre-norm).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 batch_first=False, norm_first=False, *, layer_norm_eps=1e-5, dtype=None,
                 seed=None):  # fmt: skip
        super().__init__()
        who = "TransformerEncoderLayer"
        for name, n in (("d_model", d_model), ("nhead", nhead),
                        ("dim_feedforward", dim_feedforward)):  # fmt: skip
            if not _is_count(n):
                raise ValueError(f"{who}: expected {name} to be a positive int, got {n!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{who}: expected activation in {sorted(_ACTIVATIONS)}, "
                             f"got {activation!r}")  # fmt: skip
        _check_flags(who, batch_first=batch_first, norm_first=norm_first)
        p = _check_p(who, dropout)
        rng = as_rng(seed)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=p, batch_first=batch_first,
                                            dtype=dtype, seed=rng)  # fmt: skip
        self.linear1 = Dense(d_model, dim_feedforward, seed=rng, dtype=dtype)
        self.dropout = Dropout(p, seed=rng)
        self.linear2 = Dense(dim_feedforward, d_model, seed=rng, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(p, seed=rng), Dropout(p, seed=rng)
        self.d_model, self.nhead, self.dim_feedforward = int(d_model), int(nhead), dim_feedforward
        self.activation, self.batch_first, self.p = activation, batch_first, p

    def __call__(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        return super().__call__(src, src_mask, src_key_padding_mask, is_causal)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))

    def _sa(self, x, attn_mask, key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False,
                                attn_mask=attn_mask, is_causal=is_causal)  # fmt: skip
        return self.dropout1(out)

    def _ff(self, x):
        f = _ACTIVATIONS[self.activation]
        return self.dropout2(self.linear2(self.dropout(f(self.linear1(x)))))

    def config(self):
        return {"d_model": self.d_model, "nhead": self.nhead,
                "dim_feedforward": int(self.dim_feedforward), "dropout": self.p,
                "activation": self.activation, "batch_first": self.batch_first,
                "norm_first": self.norm_first, "layer_norm_eps": self.norm1.eps,
                "dtype": str(self.linear1.W.dtype)}  # fmt: skip

    def extra_repr(self):
        text = f"{self.d_model}, nhead={self.nhead}, dim_feedforward={self.dim_feedforward}"
        text += f", dropout={self.p}, activation={self.activation!r}"
        if self.batch_first:
            text += ", batch_first=True"
        return text + (", norm_first=True" if self.norm_first else "")
