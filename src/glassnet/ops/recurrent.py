"""Recurrent networks, each a single fused node over a whole sequence: here ``elman``, the
Elman RNN (torch's nn.RNN cell, tanh or relu), and what the gated cells of ops/gated.py share
with it (argument checks, the observer); there ``lstm`` (torch's nn.LSTM cell, optional
peepholes) and ``gru`` (torch's nn.GRU cell).

Arrays are time-major inside, x (T, N, input): a time step x[t] is one contiguous (N, input)
block. The input projections of all steps are one matrix product; only the recurrent part
h_{t-1} W_hh^T is a product per step. Backpropagation through time is one backward pass over
t, after which the weight gradients are one product each over all steps: O(T) work and
memory, and no graph node per step. Operands of different float dtypes meet in their common
one, as ``linear``'s do (a float64 sequence through float32 weights runs in float64).

Looking inside (``observe``): each op takes an optional callable ``observe(event, values)``,
called at the end of its forward with event "forward" and values {"h": the states h_1 .. h_T
(T, N, H), "gates": {gate name: its activations (T, N, H)} (i, f, g, o for the LSTM; r, z, n
for the GRU; none for Elman), "mask": the mask (T, N) or None}, and at the end of its backward
with event "backward" and values {"delta_norm": (T,) array, ||dE/dh_t|| over the batch: the
norm of the whole gradient arriving at the state the step computes (from the output y_t and
from step t + 1), 0 at a masked step}.
The arrays are the op's own (read them, do not keep or change them); observing adds no graph
node, and without ``observe`` nothing is computed.
"""

import functools

from ..autodiff import Op, Tensor
from ..backend import xp
from ..errors import ShapeError
from ._util import add_tangents, as_tensor, cast

__all__ = ["elman"]

NONLINEARITIES = ("tanh", "relu")


class Elman(Op):
    """The Elman RNN over a sequence, with an optional 0/1 mask m (T, N) for padded steps:

        forward:  a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,   z_t = f(a_t)
                  h_t = m_t z_t + (1 - m_t) h_{t-1}   (a masked step carries the state)
                  y_t = m_t z_t                       (the output, 0 at a masked step)
        backward: with g_t = dE/dy_t and r_T = 0 (the gradient arriving at h_t from later steps)
                  delta_t = m_t (g_t + r_t) f'(a_t)
                  r_{t-1} = delta_t W_hh + (1 - m_t) r_t,    grad_h0 = r_0
                  grad_x_t = delta_t W_ih,   grad_W_ih = sum_t delta_t^T x_t,
                  grad_W_hh = sum_t delta_t^T h_{t-1},   grad_b_ih = grad_b_hh = sum_t,n delta_t
        jvp:      da_t = dx_t W_ih^T + x_t dW_ih^T + db_ih + db_hh + h_{t-1} dW_hh^T
                         + dh_{t-1} W_hh^T
                  dz_t = f'(a_t) da_t,  dh_t = m_t dz_t + (1 - m_t) dh_{t-1},  dy_t = m_t dz_t
    f is tanh (f' = 1 - z^2) or relu (f' = [z > 0]); without a mask m_t = 1 and h_t = y_t.
    forward saves x, W_ih, W_hh, the states h_0 .. h_T and, with a mask, z.
    """

    saved_inputs = (0, 2, 3)  # x, W_ih, W_hh; not h0 (copied into the states) nor the biases

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, nonlinearity, mask,
                observe=None):  # fmt: skip
        steps, n, _ = x.shape
        self.x, self.w_ih, self.w_hh, self.mask = x, w_ih, w_hh, mask
        self.observe = observe
        self.relu = nonlinearity == "relu"
        net = (x.reshape(steps * n, -1) @ w_ih.T).reshape(steps, n, -1)
        for b in (b_ih, b_hh):
            if b is not None:
                net += b
        states = self.states = xp.empty((steps + 1, n, w_hh.shape[0]), x.dtype)
        states[0] = h0
        z = net if mask is None else xp.empty_like(net)  # without a mask: z_t = h_t
        for t in range(steps):
            a = net[t]
            a += states[t] @ w_hh.T
            z_t = xp.maximum(a, 0, out=z[t]) if self.relu else xp.tanh(a, out=z[t])
            if mask is None:
                states[t + 1] = z_t
            else:
                m = mask[t][:, None]
                states[t + 1] = m * z_t + (1 - m) * states[t]
        self.z = states[1:] if mask is None else z
        _report_forward(observe, states, None, "", mask)
        if mask is None:
            return z  # the same values as the saved states, in an array of its own
        return z * mask[:, :, None]

    def _slope(self):
        """f'(a_t) for all t, from the saved z (T, N, H): backward's and jvp's one derivative."""
        z = self.z
        return (z > 0).astype(z.dtype) if self.relu else 1 - z * z

    def backward(self, grad_y):
        x, w_ih, w_hh, mask, needs = self.x, self.w_ih, self.w_hh, self.mask, self.needs
        steps, n, hidden = grad_y.shape
        slope = self._slope()
        if mask is not None:
            slope *= mask[:, :, None]
        delta = xp.empty_like(slope)
        r = xp.zeros((n, hidden), grad_y.dtype)
        norms = _norms(self.observe, steps)
        for t in range(steps - 1, -1, -1):
            arriving = grad_y[t] + r
            if norms is not None:
                norms[t] = _norm(arriving if mask is None else arriving * mask[t][:, None])
            d = xp.multiply(arriving, slope[t], out=delta[t])
            carried = d @ w_hh
            if mask is not None:
                carried += (1 - mask[t][:, None]) * r
            r = carried
        rows = delta.reshape(steps * n, hidden)
        grads = [None] * len(needs)
        if needs[0]:
            grads[0] = (rows @ w_ih).reshape(x.shape)
        if needs[1]:
            grads[1] = r
        if needs[2]:
            grads[2] = rows.T @ x.reshape(steps * n, -1)
        if needs[3]:
            grads[3] = rows.T @ self.states[:-1].reshape(steps * n, hidden)
        if len(needs) > 4 and (needs[4] or needs[5]):
            grad_b = rows.sum(axis=0)
            grads[4] = grad_b if needs[4] else None
            grads[5] = (grad_b.copy() if needs[4] else grad_b) if needs[5] else None
        _report(self.observe, norms)
        return tuple(grads)

    def jvp(self, dx, dh0, dw_ih, dw_hh, db_ih=None, db_hh=None):
        x, states, mask = self.x, self.states, self.mask
        steps, n, hidden = states.shape[0] - 1, states.shape[1], states.shape[2]
        terms = []
        if dx is not None:
            terms.append(dx.reshape(steps * n, -1) @ self.w_ih.T)
        if dw_ih is not None:
            terms.append(x.reshape(steps * n, -1) @ dw_ih.T)
        if dw_hh is not None:
            terms.append(states[:-1].reshape(steps * n, hidden) @ dw_hh.T)
        da = add_tangents(*terms)
        da = xp.zeros((steps, n, hidden), x.dtype) if da is None else da.reshape(steps, n, -1)
        da = add_tangents(da, db_ih, db_hh)
        slope = self._slope()
        dy = xp.empty_like(slope)
        dh = xp.zeros((n, hidden), x.dtype) if dh0 is None else dh0
        for t in range(steps):
            dz = slope[t] * (da[t] + dh @ self.w_hh.T)
            if mask is None:
                dh = dy[t] = dz
            else:
                m = mask[t][:, None]
                dy[t] = m * dz
                dh = dy[t] + (1 - m) * dh
        return dy


def elman(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh", mask=None, *,
          observe=None):  # fmt: skip
    """The Elman RNN run over a whole sequence, as one node (torch's RNN layer, one direction):

        h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   t = 1 .. T

    Args:
        x: the sequence, time-major (T, N, input).
        h0: the initial state (N, H), or None for zeros.
        W_ih: (H, input); W_hh: (H, H); b_ih, b_hh: (H,) or None (no bias).
        nonlinearity: "tanh" or "relu".
        mask: None, or a 0/1 array (T, N) (numbers or bools, not differentiated): where it is
            0 the step is padding, the state is carried unchanged (h_t = h_{t-1}) and the output
            is 0, as in torch's packed sequences; a sequence's final state is then its output
            at its last step with mask 1.
        observe: None, or a callable ``observe(event, values)`` that sees the states after the
            forward and the per-step norms of dE/dh_t after the backward (see the module's
            docstring); ``nn.Recorder`` passes one.
    Returns:
        the outputs h_1 .. h_T as a Tensor (T, N, H) (0 at masked steps).
    Example:
        >>> h = elman(x, None, W_ih, W_hh, b_ih, b_hh)   # x (T, N, in) -> h (T, N, H)
        >>> h_last = h[-1]
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"elman: expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    inputs, _, mask = _gated_inputs("elman", 1, x, (("h0", h0),), W_ih, W_hh, b_ih, b_hh,
                                    mask)  # fmt: skip
    inputs, mask = _common_float("elman", inputs, mask)
    _check_observer("elman", observe)
    return Elman.apply(*inputs, nonlinearity=nonlinearity, mask=mask, observe=observe)


def _norms(observe, steps):
    """The (T,) array backward fills with ||dE/dh_t|| when someone observes, else None."""
    return None if observe is None else xp.empty(steps)


def _norm(a):
    """The Frobenius norm of an (N, H) block, as a float."""
    flat = a.reshape(-1)
    return float(xp.sqrt(flat @ flat))


def _report_forward(observe, states, gates, names, mask):
    """Hand observe the states h_1 .. h_T and the gate activations (blocks of ``gates``)."""
    if observe is not None:
        hidden = states.shape[2]
        blocks = {k: gates[:, :, j * hidden : (j + 1) * hidden] for j, k in enumerate(names)}
        observe("forward", {"h": states[1:], "gates": blocks, "mask": mask})


def _report(observe, norms):
    if observe is not None:
        observe("backward", {"delta_norm": norms})


def _gated_inputs(name, gates, x, states, W_ih, W_hh, b_ih, b_hh, mask):
    """Check and convert the arguments of ``lstm`` (gates = 4), ``gru`` (3) or ``elman`` (1):
    returns (the input Tensors x, *states, W_ih, W_hh[, b_ih, b_hh], like, the mask as an array
    or None); a state given as None becomes zeros."""
    if not isinstance(W_ih, Tensor) and not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected x or W_ih to be a Tensor, got {type(x).__name__} "
                        f"and {type(W_ih).__name__}")  # fmt: skip
    like = W_ih if isinstance(W_ih, Tensor) else x
    x, W_ih, W_hh = (as_tensor(v, like) for v in (x, W_ih, W_hh))
    if x.ndim != 3:
        raise ShapeError(f"{name}: expected x of 3 dims (T, N, input), got shape {x.shape}")
    steps, n, features = x.shape
    if W_ih.ndim != 2 or W_ih.shape[1] != features or W_ih.shape[0] % gates:
        raise ShapeError(f"{name}: expected W_ih of shape ({gates if gates > 1 else ''}H, "
                         f"{features}) for input {x.shape}, got {W_ih.shape}")  # fmt: skip
    hidden = W_ih.shape[0] // gates
    if W_hh.shape != (gates * hidden, hidden):
        raise ShapeError(f"{name}: expected W_hh of shape ({gates * hidden}, {hidden}), got "
                         f"{W_hh.shape}")  # fmt: skip
    inputs = [x]
    for label, s in states:
        s = Tensor(xp.zeros((n, hidden), like.data.dtype)) if s is None else as_tensor(s, like)
        if s.shape != (n, hidden):
            raise ShapeError(f"{name}: expected {label} of shape ({n}, {hidden}), got {s.shape}")
        inputs.append(s)
    inputs += [W_ih, W_hh]
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"{name}: expected both biases b_ih and b_hh, or neither")
    if b_ih is not None:
        for label, b in (("b_ih", b_ih), ("b_hh", b_hh)):
            b = as_tensor(b, like)
            if b.shape != (gates * hidden,):
                raise ShapeError(f"{name}: expected {label} of shape ({gates * hidden},), got "
                                 f"{b.shape}")  # fmt: skip
            inputs.append(b)
    if mask is not None:
        mask = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
        if mask.shape != (steps, n):
            raise ShapeError(f"{name}: expected a mask of shape ({steps}, {n}) (T, N), got "
                             f"{mask.shape}")  # fmt: skip
        mask = mask.astype(x.data.dtype)
        if ((mask != 0) & (mask != 1)).any():
            raise ValueError(f"{name}: expected a mask of 0s and 1s")
    return inputs, like, mask


def _check_observer(name, observe):
    if observe is not None and not callable(observe):
        raise TypeError(f"{name}: expected observe None or a callable(event, values), got "
                        f"{type(observe).__name__}")  # fmt: skip


def _common_float(name, inputs, mask):
    """(inputs, mask) in the inputs' common dtype, by torch's rule as ``linear``'s operands:
    float32 meets float64 in float64, an integer sequence takes the weights' float dtype. Each
    input of another dtype is cast (its gradient flows back in its own dtype); the mask too."""
    floats = [t.data.dtype for t in inputs if t.data.dtype.kind == "f"]
    if not floats:
        raise TypeError(f"{name}: expected floating weights or inputs, got dtypes "
                        f"{[str(t.data.dtype) for t in inputs]}")  # fmt: skip
    dtype = functools.reduce(xp.promote_types, floats)
    inputs = [cast(t, dtype) for t in inputs]
    return inputs, None if mask is None else mask.astype(dtype, copy=False)
