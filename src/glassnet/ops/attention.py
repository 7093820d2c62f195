"""Scaled dot-product attention (Vaswani et al. 2017) as one fused op: the scores, a stable
softmax over the keys and the weighted sum of the values in one node, the backward in closed
form. Masks are constants: boolean (True = the key takes part, as torch's
F.scaled_dot_product_attention) or float (added to the scores; -inf shuts a key out).

A query whose keys are all masked out (a fully masked row) has no softmax; here its weights
and its output are zeros, and so are its gradients, as torch's F.scaled_dot_product_attention
gives (torch's nn.MultiheadAttention gives NaN there; glassnet's gives zeros too).

Reference: A. Vaswani et al., "Attention is all you need", NeurIPS 2017, eq. (1).
"""

import math
import numbers

from ..autodiff import Op, Tensor
from ..backend import xp
from ..errors import ShapeError
from ._util import add_tangents, as_tensor

__all__ = ["scaled_dot_product_attention"]


def _t(a):
    """a with its last two axes swapped (K^T for a batch of K)."""
    return xp.swapaxes(a, -1, -2)


class ScaledDotProductAttention(Op):
    """out = A V with A = softmax(S) over the keys, S = scale Q K^T + M (M: the additive mask,
    0 or -inf for a boolean one; scale = 1 / sqrt(E) by default).

        dV = A^T g,   dA = g V^T,   dS = A * (dA - sum_keys(dA * A))        (g = grad_out)
        dQ = scale dS K,   dK = scale dS^T Q
    The jvp: dS = scale (dQ K^T + Q dK^T), dA = A * (dS - sum_keys(dS * A)), dout = dA V + A dV.
    Rows whose keys are all masked have A = 0 (see the module docstring), so nothing flows.
    """

    def forward(self, q, k, v, mask, scale):
        scores = (q @ _t(k)) * xp.asarray(scale, q.dtype)
        if mask is not None:
            scores = scores + mask
        top = scores.max(axis=-1, keepdims=True)
        dead = top == -xp.inf  # every key masked out
        e = xp.exp(scores - xp.where(dead, 0, top))  # exp(-inf) = 0: a dead row sums to 0
        total = e.sum(axis=-1, keepdims=True)
        self.a = e / xp.where(dead, 1, total)
        self.q, self.k, self.v, self.scale = q, k, v, xp.asarray(scale, q.dtype)
        return self.a @ v

    def _softmax_times(self, d):
        """The softmax's Jacobian (symmetric) times d: A * (d - sum_keys(d * A))."""
        a = self.a
        return a * (d - (d * a).sum(axis=-1, keepdims=True))

    def backward(self, grad_out):
        g, a = grad_out, self.a
        need_q, need_k, need_v = self.needs
        grad_v = _t(a) @ g if need_v else None
        grad_q = grad_k = None
        if need_q or need_k:
            ds = self._softmax_times(g @ _t(self.v)) * self.scale
            grad_q = ds @ self.k if need_q else None
            grad_k = _t(ds) @ self.q if need_k else None
        return grad_q, grad_k, grad_v

    def jvp(self, dq, dk, dv):
        # dS = scale (dQ K^T + Q dK^T), dA = A * (dS - sum(dS * A)), dout = dA V + A dV
        terms = []
        if dq is not None or dk is not None:
            ds = add_tangents(None if dq is None else dq @ _t(self.k),
                              None if dk is None else self.q @ _t(dk))  # fmt: skip
            terms.append(self._softmax_times(ds * self.scale) @ self.v)
        if dv is not None:
            terms.append(self.a @ dv)
        if not terms:
            return xp.zeros(self.a.shape[:-1] + self.v.shape[-1:], self.a.dtype)
        return add_tangents(*terms)


def _additive_mask(attn_mask, is_causal, shape, dtype, who):
    """The mask as an array to add to the scores of ``shape`` (..., L, S): 0 or -inf for
    booleans, as it is for floats; None without one."""
    L, S = shape[-2:]
    if is_causal:
        return xp.where(xp.tril(xp.ones((L, S), bool)), 0, -xp.inf).astype(dtype)
    if attn_mask is None:
        return None
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
    try:  # broadcast_to (a view) fails unless the mask broadcasts to the scores' shape
        fits = xp.broadcast_to(mask, tuple(shape)).shape == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{who}: expected attn_mask broadcastable to (..., L, S) = {shape}, "
                         f"got shape {mask.shape}")  # fmt: skip
    if mask.dtype == bool:
        return xp.where(mask, 0, -xp.inf).astype(dtype)
    if mask.dtype.kind != "f":
        raise TypeError(f"{who}: expected a boolean or float attn_mask, got dtype {mask.dtype}")
    return mask.astype(dtype, copy=False)


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, *, scale=None):
    """Attention of the queries q over the keys k and values v, one fused op, as torch's
    F.scaled_dot_product_attention (without dropout):

        out = softmax(q k^T / sqrt(E) + M) v          (softmax over the S keys)

    M comes from ``attn_mask`` (boolean: 0 where True, the key takes part, -inf where False;
    float: added as it is) or from ``is_causal`` (query i sees keys 0..i: the lower triangle
    of an (L, S) matrix, aligned at the top left as torch). A query whose keys are all masked
    gets zeros (output and gradients), as torch's F.scaled_dot_product_attention. The mask is
    a constant: no gradient flows to it. See ``ScaledDotProductAttention`` for the backward.

    Args:
        q: Tensor (..., L, E), the queries; k: (..., S, E), the keys; v: (..., S, Ev), the
            values, all of one floating dtype and the same leading (batch, head) axes. Plain
            arrays are constants (of q's dtype when q is a Tensor).
        attn_mask: None, or a boolean or float array (or Tensor, taken as a constant)
            broadcastable to (..., L, S).
        is_causal: apply the causal mask (then attn_mask must be None).
        scale: the factor of the scores (default 1 / sqrt(E)).
    Shapes: (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev).
    Raises:
        ShapeError: inputs of fewer than two axes, other leading axes, k's E not q's, v's S
            not k's, a mask that does not broadcast to (..., L, S).
        ValueError: both attn_mask and is_causal; scale not a positive number.
        TypeError: inputs not floating or of different dtypes; a mask neither bool nor float.
    Reference: Vaswani et al., "Attention is all you need", NeurIPS 2017, eq. (1).
    """
    who = "scaled_dot_product_attention"
    like = next((t for t in (q, k, v) if isinstance(t, Tensor)), None)
    if like is None:
        q = Tensor(xp.asarray(q))
        like = q
    q, k, v = (as_tensor(t, like) for t in (q, k, v))
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.data.dtype.kind != "f":
            raise TypeError(f"{who}: expected floating {name}, got dtype {t.data.dtype}")
        if t.ndim < 2:
            raise ShapeError(f"{who}: expected {name} with at least 2 axes (..., seq, features), "
                             f"got shape {t.shape}")  # fmt: skip
    if not q.data.dtype == k.data.dtype == v.data.dtype:
        raise TypeError(f"{who}: expected q, k and v of one dtype, got {q.data.dtype}, "
                        f"{k.data.dtype} and {v.data.dtype}")  # fmt: skip
    if not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ShapeError(f"{who}: expected q, k and v with the same leading axes, got shapes "
                         f"{q.shape}, {k.shape} and {v.shape}")  # fmt: skip
    if k.shape[-1] != q.shape[-1]:
        raise ShapeError(f"{who}: expected k (..., S, {q.shape[-1]}) (E of q {q.shape}), got "
                         f"{k.shape}")  # fmt: skip
    if v.shape[-2] != k.shape[-2]:
        raise ShapeError(f"{who}: expected v (..., {k.shape[-2]}, Ev) (S of k {k.shape}), got "
                         f"{v.shape}")  # fmt: skip
    if not isinstance(is_causal, bool):
        raise TypeError(f"{who}: expected is_causal to be True or False, got {is_causal!r}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{who}: expected attn_mask=None with is_causal=True (the causal "
                         f"mask is the mask), got both")  # fmt: skip
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    elif isinstance(scale, bool) or not (isinstance(scale, numbers.Real) and scale > 0):
        raise ValueError(f"{who}: expected scale > 0 or None, got {scale!r}")
    shape = (*q.shape[:-2], q.shape[-2], k.shape[-2])
    mask = _additive_mask(attn_mask, is_causal, shape, q.data.dtype, who)
    return ScaledDotProductAttention.apply(q, k, v, mask=mask, scale=float(scale))
