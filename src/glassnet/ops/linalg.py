"""Matrix products: ``matmul`` and the fused dense-layer op ``linear``."""

from ..autodiff import Op, Tensor
from ..backend import xp
from ._util import add_tangents, as_tensor, cast, ones, operands, sum_to_shape

__all__ = ["matmul", "linear"]


class MatMul(Op):
    """c = a @ b (NumPy's matmul rules, batch axes broadcast).

        grad_a = grad_out @ b^T,   grad_b = a^T @ grad_out   (vectors promoted to matrices)
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad_out):
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # inner product: grad_out is a scalar
            return ((grad_out * b if self.needs[0] else None),
                    (grad_out * a if self.needs[1] else None))
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad_out
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        grad_a = grad_b = None
        if self.needs[0]:
            grad_a = sum_to_shape(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs[1]:
            grad_b = sum_to_shape(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return grad_a, grad_b

    def jvp(self, da, db):
        # dc = da @ b + a @ db
        term_a = None if da is None else da @ self.b
        term_b = None if db is None else self.a @ db
        return add_tangents(term_a, term_b)


def _dot(a, matrix):
    """a @ matrix over a's last axis, as one BLAS product: ``dot`` of a 3-D array and a matrix
    is NumPy's generic loop (9x slower for (32, 64, 128) by (128, 2048)), so the leading axes
    are folded into one first."""
    if a.ndim <= 2:
        return xp.dot(a, matrix)
    return xp.dot(a.reshape(-1, a.shape[-1]), matrix).reshape(*a.shape[:-1], matrix.shape[-1])


class Linear(Op):
    """The affine map of a dense layer, one node: net = a_prev @ W^T + b.

        delta = grad_out = dE/dnet            (batch, out)
        grad_W = delta^T @ a_prev             (out, in)
        grad_b = sum of delta over the batch  (out,)
        grad_a_prev = delta @ W               (batch, in)
    Leading axes beyond the last are treated as batch axes. The products are ``dot`` (for a
    2-D W the same as ``@``, with less overhead per call) and the batch sum is a product with
    a vector of ones, a third of the time of ``sum(axis=0)`` on small batches.
    """

    saved_inputs = (0, 1)  # a_prev and W; b is not needed for the backward
    writes_into = True  # grad_W and grad_b straight into an optimizer's flat buffer

    def forward(self, a_prev, W, b=None):
        self.a_prev, self.W = a_prev, W
        net = _dot(a_prev, W.T)
        if b is not None:
            net += b
        return net

    def backward(self, delta):
        a_prev, needs = self.a_prev, self.needs
        grad_a_prev = _dot(delta, self.W) if needs[0] else None
        grad_W = grad_b = None
        if delta.ndim != 2:  # one sample (in,), or extra batch axes: make it (batch, features)
            delta = delta.reshape(-1, delta.shape[-1])
            a_prev = a_prev.reshape(-1, a_prev.shape[-1])
        into = self.into or _NOWHERE
        if needs[1]:
            grad_W = xp.dot(delta.T, a_prev, out=into[1])
        if len(needs) > 2 and needs[2]:
            grad_b = xp.dot(ones(delta.shape[0], delta.dtype), delta, out=into[2])
        return grad_a_prev, grad_W, grad_b

    def jvp(self, da_prev, dW, db=None):
        # dnet = da_prev @ W^T + a_prev @ dW^T + db
        return add_tangents(
            None if da_prev is None else da_prev @ self.W.T,
            None if dW is None else self.a_prev @ dW.T,
            db,
        )


_NOWHERE = (None, None, None)
def matmul(a, b):
    """Matrix product a @ b; operands of different dtypes meet in torch's common dtype (a plain
    array of the same kind takes the Tensor's dtype, see ``_util.operands``)."""
    return MatMul.apply(*operands(a, b))


def linear(x, W, b=None):
    """net = x @ W^T + b, the fused affine map of a dense layer (W has shape (out, in)); a
    plain array ``x`` is taken as a constant of W's dtype, a Tensor ``x`` of another dtype
    meets W in their common dtype."""
    if not isinstance(x, Tensor):
        x = as_tensor(x, W)
    elif x.data.dtype is not W.data.dtype:
        x, W = operands(x, W)
        b = None if b is None else cast(b, W.data.dtype)
    return Linear.apply(x, W) if b is None else Linear.apply(x, W, b)
