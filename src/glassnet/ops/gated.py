"""The gated recurrent cells, each a single fused node over a whole sequence: ``lstm``
(torch's nn.LSTM cell, optional peepholes) and ``gru`` (torch's nn.GRU cell). Layout, masks,
the observer and the argument checks are those of ``ops.elman`` (ops/recurrent.py): x is
time-major (T, N, input), the input projections of all steps are one matrix product, the
recurrent one a product per step, and backpropagation through time one pass over t.
"""

from ..autodiff import Op
from ..backend import xp
from ..errors import ShapeError
from ._util import add_tangents, as_tensor
from .recurrent import (
    _check_observer,
    _common_float,
    _gated_inputs,
    _norm,
    _norms,
    _report,
    _report_forward,
)

__all__ = ["gru", "lstm"]


def _sigmoid(a):
    """The logistic function in place, as (1 + tanh(a / 2)) / 2 (no overflow): returns a."""
    a *= 0.5
    xp.tanh(a, out=a)
    a += 1
    a *= 0.5
    return a


def _step_masks(mask, t):
    """(m_t, 1 - m_t) as (N, 1) columns, or (None, None) without a mask."""
    if mask is None:
        return None, None
    m = mask[t][:, None]
    return m, 1 - m


def _input_terms(x, w_ih, dx, dw_ih, db):
    """The tangent of x W_ih^T + b over all steps, (T, N, G) (zeros when all are constant)."""
    steps, n = x.shape[0], x.shape[1]
    terms = []
    if dx is not None:
        terms.append(dx.reshape(steps * n, -1) @ w_ih.T)
    if dw_ih is not None:
        terms.append(x.reshape(steps * n, -1) @ dw_ih.T)
    da = add_tangents(*terms)
    da = xp.zeros((steps, n, w_ih.shape[0]), x.dtype) if da is None else da.reshape(steps, n, -1)
    return add_tangents(da, *db)


def _weight_grads(grads, needs, x, w_ih, delta_x, hidden_in, delta_h, w_at, b_at):
    """Fill the gradients of x (input 0), W_ih and W_hh (inputs w_at, w_at + 1) and, unless
    b_at is None, b_ih and b_hh (b_at, b_at + 1) from the deltas of all steps: delta_x
    (T, N, G) of the input products, delta_h of the recurrent ones (the same array for LSTM),
    hidden_in = h_0 .. h_{T-1}."""
    steps, n = x.shape[0], x.shape[1]
    rows = delta_x.reshape(steps * n, -1)
    rows_h = delta_h.reshape(steps * n, -1)
    if needs[0]:
        grads[0] = (rows @ w_ih).reshape(x.shape)
    if needs[w_at]:
        grads[w_at] = rows.T @ x.reshape(steps * n, -1)
    if needs[w_at + 1]:
        grads[w_at + 1] = rows_h.T @ hidden_in.reshape(steps * n, -1)
    if b_at is not None:
        if needs[b_at]:
            grads[b_at] = rows.sum(axis=0)
        if needs[b_at + 1]:
            grads[b_at + 1] = rows_h.sum(axis=0)


class LSTM(Op):
    """The LSTM over a sequence (torch's gate order i, f, g, o; optional peepholes p (3, H)
    with rows w_ci, w_cf, w_co), with an optional 0/1 mask m (T, N) for padded steps:

        forward:  a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh = [a_i, a_f, a_g, a_o]
                  i = s(a_i + w_ci c_{t-1}),  f = s(a_f + w_cf c_{t-1}),  g = tanh(a_g)
                  c'_t = f c_{t-1} + i g,   o = s(a_o + w_co c'_t),   h'_t = o tanh(c'_t)
                  h_t = m h'_t + (1 - m) h_{t-1},  c_t = m c'_t + (1 - m) c_{t-1},  y_t = m h'_t
        output:   [y_t, c_t] concatenated on the last axis, (T, N, 2H)
        backward: with g_t, k_t the gradients of y_t, c_t and r, q those arriving at h_t, c_t
                  from later steps (0 after the last): G = m (g_t + r), C = m (k_t + q)
                  d_o = G tanh(c'_t) o (1 - o),  C += G o (1 - tanh^2 c'_t) + w_co d_o
                  d_i = C g i (1 - i),  d_f = C c_{t-1} f (1 - f),  d_g = C i (1 - g^2)
                  delta_t = [d_i, d_f, d_g, d_o],   r <- delta_t W_hh + (1 - m) r
                  q <- C f + w_ci d_i + w_cf d_f + (1 - m)(k_t + q)
                  then the weight gradients are one product each over all steps, as Elman's
                  (grad_w_ci = sum d_i c_{t-1}, grad_w_cf = sum d_f c_{t-1}, grad_w_co =
                  sum d_o c'_t)
        jvp:      the same recurrences differentiated forward through time.
    s is the logistic sigmoid. forward saves x, W_ih, W_hh, p, the states h_0 .. h_T and
    c_0 .. c_T, the gate values i, f, g, o (T, N, 4H) and tanh(c'_t).
    """

    # x, W_ih, W_hh and the peepholes: the inputs are x, h0, c0, W_ih, W_hh[, p][, b_ih, b_hh]
    # (without peepholes, index 5 is b_ih, then kept read-only until backward too: harmless)
    saved_inputs = (0, 3, 4, 5)

    def forward(self, x, h0, c0, w_ih, w_hh, *rest, bias, peepholes, mask, observe=None):
        steps, n, _ = x.shape
        hidden = w_hh.shape[1]
        self.observe = observe
        b_ih, b_hh = rest[-2:] if bias else (None, None)
        peep = self.peep = rest[0] if peepholes else None
        self.x, self.w_ih, self.w_hh, self.mask, self.bias = x, w_ih, w_hh, mask, bias
        gates = self.gates = (x.reshape(steps * n, -1) @ w_ih.T).reshape(steps, n, -1)
        for b in (b_ih, b_hh):
            if b is not None:
                gates += b
        states = self.states = xp.empty((steps + 1, n, hidden), x.dtype)
        cells = self.cells = xp.empty((steps + 1, n, hidden), x.dtype)
        states[0], cells[0] = h0, c0
        tanh_c = self.tanh_c = xp.empty((steps, n, hidden), x.dtype)
        out = xp.empty((steps, n, 2 * hidden), x.dtype)
        for t in range(steps):
            a, c_prev = gates[t], cells[t]
            a += states[t] @ w_hh.T
            if peep is not None:
                a[:, :hidden] += peep[0] * c_prev
                a[:, hidden : 2 * hidden] += peep[1] * c_prev
            _sigmoid(a[:, : 2 * hidden])
            i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            xp.tanh(g, out=g)
            c = f * c_prev
            c += i * g
            if peep is not None:
                o += peep[2] * c
            _sigmoid(o)
            h = xp.multiply(o, xp.tanh(c, out=tanh_c[t]), out=out[t, :, :hidden])
            m, keep = _step_masks(mask, t)
            if m is None:
                states[t + 1], cells[t + 1] = h, c
            else:
                states[t + 1] = m * h + keep * states[t]
                cells[t + 1] = m * c + keep * c_prev
                h *= m
            out[t, :, hidden:] = cells[t + 1]
        _report_forward(observe, states, self.gates, "ifgo", mask)
        return out

    def _split(self, t):
        hidden = self.states.shape[2]
        return [self.gates[t][:, k * hidden : (k + 1) * hidden] for k in range(4)]

    def backward(self, grad_out):
        w_hh, mask, peep, needs = self.w_hh, self.mask, self.peep, self.needs
        steps, n, hidden = self.tanh_c.shape
        grad_y, grad_c = grad_out[:, :, :hidden], grad_out[:, :, hidden:]
        delta = xp.empty_like(self.gates)
        r = xp.zeros((n, hidden), grad_out.dtype)
        q = xp.zeros_like(r)
        norms = _norms(self.observe, steps)
        for t in range(steps - 1, -1, -1):
            i, f, g, o = self._split(t)
            tc, c_prev = self.tanh_c[t], self.cells[t]
            m, keep = _step_masks(mask, t)
            big_g, big_c = grad_y[t] + r, grad_c[t] + q
            if m is not None:
                carried_c = keep * big_c
                big_g, big_c = m * big_g, m * big_c
            if norms is not None:
                norms[t] = _norm(big_g)
            d = delta[t]
            d_i, d_f, d_g, d_o = (d[:, k * hidden : (k + 1) * hidden] for k in range(4))
            xp.multiply(big_g * tc, o * (1 - o), out=d_o)
            big_c += big_g * o * (1 - tc * tc)
            if peep is not None:
                big_c += peep[2] * d_o
            xp.multiply(big_c * g, i * (1 - i), out=d_i)
            xp.multiply(big_c * c_prev, f * (1 - f), out=d_f)
            xp.multiply(big_c * i, 1 - g * g, out=d_g)
            carried_h = d @ w_hh
            q = big_c * f
            if peep is not None:
                q += peep[0] * d_i + peep[1] * d_f
            if m is not None:
                carried_h += keep * r
                q += carried_c
            r = carried_h
        grads = [None] * len(needs)
        grads[1], grads[2] = (r if needs[1] else None), (q if needs[2] else None)
        b_at = (5 if peep is None else 6) if self.bias else None
        _weight_grads(grads, needs, self.x, self.w_ih, delta, self.states[:-1], delta, 3, b_at)
        if peep is not None and needs[5]:
            d_i, d_f, d_o = (delta[:, :, k * hidden : (k + 1) * hidden] for k in (0, 1, 3))
            c_prev, c_new = self.cells[:-1], self.cells[1:]
            grads[5] = xp.stack([(d_i * c_prev).sum(axis=(0, 1)),
                                  (d_f * c_prev).sum(axis=(0, 1)),
                                  (d_o * c_new).sum(axis=(0, 1))])  # fmt: skip
        _report(self.observe, norms)
        return tuple(grads)

    def jvp(self, dx, dh0, dc0, dw_ih, dw_hh, *rest):
        mask, peep, w_hh = self.mask, self.peep, self.w_hh
        steps, n, hidden = self.tanh_c.shape
        db = rest[-2:] if self.bias else ()
        dpeep = rest[0] if peep is not None else None
        da = _input_terms(self.x, self.w_ih, dx, dw_ih, db)
        if dw_hh is not None:
            da = da + (self.states[:-1].reshape(steps * n, hidden) @ dw_hh.T).reshape(da.shape)
        dh = xp.zeros((n, hidden), self.x.dtype) if dh0 is None else dh0
        dc = xp.zeros_like(dh) if dc0 is None else dc0
        out = xp.empty((steps, n, 2 * hidden), self.x.dtype)
        for t in range(steps):
            i, f, g, o = self._split(t)
            tc, c_prev, c_new = self.tanh_c[t], self.cells[t], self.cells[t + 1]
            a = da[t] + dh @ w_hh.T
            a_i, a_f, a_g, a_o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            if peep is not None:
                a_i += peep[0] * dc
                a_f += peep[1] * dc
                if dpeep is not None:
                    a_i += dpeep[0] * c_prev
                    a_f += dpeep[1] * c_prev
                    a_o += dpeep[2] * c_new
            di, df, dg = i * (1 - i) * a_i, f * (1 - f) * a_f, (1 - g * g) * a_g
            dc_new = df * c_prev + f * dc + di * g + i * dg
            if peep is not None:
                a_o += peep[2] * dc_new
            dh_new = o * (1 - o) * a_o * tc + o * (1 - tc * tc) * dc_new
            m, keep = _step_masks(mask, t)
            if m is None:
                dh, dc = dh_new, dc_new
                out[t, :, :hidden] = dh
            else:
                out[t, :, :hidden] = m * dh_new
                dh = out[t, :, :hidden] + keep * dh
                dc = m * dc_new + keep * dc
            out[t, :, hidden:] = dc
        return out


class GRU(Op):
    """The GRU over a sequence (torch's formulation and gate order r, z, n), with an optional
    0/1 mask m (T, N) for padded steps:

        forward:  [u_r, u_z, u_n] = x_t W_ih^T + b_ih,   [v_r, v_z, v_n] = h_{t-1} W_hh^T + b_hh
                  r = s(u_r + v_r),  z = s(u_z + v_z),  n = tanh(u_n + r v_n)
                  h'_t = (1 - z) n + z h_{t-1}
                  h_t = m h'_t + (1 - m) h_{t-1},   y_t = m h'_t
        backward: with g_t = dE/dy_t and r_T = 0 (the gradient arriving at h_t from later steps)
                  G = m (g_t + r_t),  d_z = G (h_{t-1} - n) z (1 - z),  d_n = G (1 - z)(1 - n^2)
                  d_r = d_n v_n r (1 - r)
                  delta_t = [d_r, d_z, d_n] (input side),  eps_t = [d_r, d_z, r d_n] (recurrent)
                  r_{t-1} = G z + eps_t W_hh + (1 - m) r_t,   grad_h0 = r_0
                  grad_x_t = delta_t W_ih, grad_W_ih = sum_t delta_t^T x_t, grad_b_ih = sum
                  delta_t, grad_W_hh = sum_t eps_t^T h_{t-1}, grad_b_hh = sum eps_t
        jvp:      the same recurrence differentiated forward through time.
    s is the logistic sigmoid. forward saves x, W_ih, W_hh, the states h_0 .. h_T, the gate
    values r, z, n (T, N, 3H) and v_n (T, N, H).
    """

    saved_inputs = (0, 2, 3)  # x, W_ih, W_hh

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, mask, observe=None):
        steps, n, _ = x.shape
        hidden = w_hh.shape[1]
        self.x, self.w_ih, self.w_hh, self.mask = x, w_ih, w_hh, mask
        self.observe = observe
        self.bias = b_ih is not None
        gates = self.gates = (x.reshape(steps * n, -1) @ w_ih.T).reshape(steps, n, -1)
        if b_ih is not None:
            gates += b_ih
        states = self.states = xp.empty((steps + 1, n, hidden), x.dtype)
        states[0] = h0
        v_n = self.v_n = xp.empty((steps, n, hidden), x.dtype)
        out = xp.empty((steps, n, hidden), x.dtype)
        for t in range(steps):
            u, h_prev = gates[t], states[t]
            v = h_prev @ w_hh.T
            if b_hh is not None:
                v += b_hh
            u[:, : 2 * hidden] += v[:, : 2 * hidden]
            r, z = _sigmoid(u[:, :hidden]), _sigmoid(u[:, hidden : 2 * hidden])
            new = u[:, 2 * hidden :]
            v_n[t] = v[:, 2 * hidden :]
            new += r * v_n[t]
            xp.tanh(new, out=new)
            h = xp.subtract(h_prev, new, out=out[t])
            h *= z
            h += new
            m, keep = _step_masks(mask, t)
            if m is None:
                states[t + 1] = h
            else:
                states[t + 1] = m * h + keep * h_prev
                h *= m
        _report_forward(observe, states, self.gates, "rzn", mask)
        return out

    def _split(self, t):
        hidden = self.states.shape[2]
        return [self.gates[t][:, k * hidden : (k + 1) * hidden] for k in range(3)]

    def backward(self, grad_y):
        w_hh, mask, needs = self.w_hh, self.mask, self.needs
        steps, n, hidden = grad_y.shape
        delta, eps = xp.empty_like(self.gates), xp.empty_like(self.gates)
        r_h = xp.zeros((n, hidden), grad_y.dtype)
        norms = _norms(self.observe, steps)
        for t in range(steps - 1, -1, -1):
            r, z, new = self._split(t)
            h_prev = self.states[t]
            m, keep = _step_masks(mask, t)
            big_g = grad_y[t] + r_h
            if m is not None:
                big_g *= m
            if norms is not None:
                norms[t] = _norm(big_g)
            d, e = delta[t], eps[t]
            xp.multiply(big_g * (h_prev - new), z * (1 - z), out=d[:, hidden : 2 * hidden])
            d_n = xp.multiply(big_g * (1 - z), 1 - new * new, out=d[:, 2 * hidden :])
            xp.multiply(d_n * self.v_n[t], r * (1 - r), out=d[:, :hidden])
            e[:, : 2 * hidden] = d[:, : 2 * hidden]
            xp.multiply(r, d_n, out=e[:, 2 * hidden :])
            carried = e @ w_hh
            carried += big_g * z
            if m is not None:
                carried += keep * r_h
            r_h = carried
        grads = [None] * len(needs)
        grads[1] = r_h if needs[1] else None
        b_at = 4 if self.bias else None
        _weight_grads(grads, needs, self.x, self.w_ih, delta, self.states[:-1], eps, 2, b_at)
        _report(self.observe, norms)
        return tuple(grads)

    def jvp(self, dx, dh0, dw_ih, dw_hh, db_ih=None, db_hh=None):
        mask, w_hh, states = self.mask, self.w_hh, self.states
        steps, n, hidden = self.v_n.shape
        du = _input_terms(self.x, self.w_ih, dx, dw_ih, (db_ih,))
        dv_fixed = None
        if dw_hh is not None:
            dv_fixed = (states[:-1].reshape(steps * n, hidden) @ dw_hh.T).reshape(du.shape)
        dv_fixed = add_tangents(dv_fixed, db_hh)
        dh = xp.zeros((n, hidden), self.x.dtype) if dh0 is None else dh0
        out = xp.empty((steps, n, hidden), self.x.dtype)
        for t in range(steps):
            r, z, new = self._split(t)
            h_prev = states[t]
            dv = dh @ w_hh.T
            if dv_fixed is not None:
                dv = dv + dv_fixed[t] if dv_fixed.ndim == 3 else dv + dv_fixed
            d_in = du[t]
            dr = r * (1 - r) * (d_in[:, :hidden] + dv[:, :hidden])
            dz = z * (1 - z) * (d_in[:, hidden : 2 * hidden] + dv[:, hidden : 2 * hidden])
            dn = (1 - new * new) * (d_in[:, 2 * hidden :] + dr * self.v_n[t]
                                    + r * dv[:, 2 * hidden :])  # fmt: skip
            dh_new = dz * (h_prev - new) + (1 - z) * dn + z * dh
            m, keep = _step_masks(mask, t)
            if m is None:
                dh = out[t] = dh_new
            else:
                out[t] = m * dh_new
                dh = out[t] + keep * dh
        return out


def lstm(x, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None, mask=None, peepholes=None,
         all_cells=False, *, observe=None):  # fmt: skip
    """The LSTM run over a whole sequence, as one node (torch's LSTM layer, one direction;
    Hochreiter & Schmidhuber 1997 with forget gates, Gers et al. 2000):

        [i, f, g, o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  (then s, s, tanh, s)
        c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

    with optional peephole connections (Gers & Schmidhuber 2000): diagonal weights from the
    cell into the gates, i = s(.. + w_ci c_{t-1}), f = s(.. + w_cf c_{t-1}), o = s(.. + w_co c_t).

    Args:
        x: the sequence, time-major (T, N, input).
        h0, c0: the initial state and cell (N, H), or None for zeros.
        W_ih: (4H, input), W_hh: (4H, H), rows in torch's gate order i, f, g, o;
            b_ih, b_hh: (4H,) or None (no bias).
        mask: None, or a 0/1 array (T, N) (not differentiated): a step where it is 0 is
            padding: h and c are carried unchanged and the output is 0 (as ``elman``).
        peepholes: None, or one (3, H) Tensor whose rows are w_ci, w_cf, w_co.
        all_cells: return the cells c_1 .. c_T (T, N, H) instead of c_T alone.
        observe: None or a callable, as ``elman``'s; its "forward" values also hold the gates
            i, f, g, o.
    Returns:
        (outputs h_1 .. h_T (T, N, H), 0 at masked steps; c_T (N, H), the cell after the last
        step (a masked step carries it), or all cells with ``all_cells``).
    Example:
        >>> y, c_T = lstm(x, None, None, W_ih, W_hh, b_ih, b_hh)   # x (T, N, in) -> (T, N, H)
    """
    inputs, like, mask = _gated_inputs("lstm", 4, x, (("h0", h0), ("c0", c0)), W_ih, W_hh,
                                       b_ih, b_hh, mask)  # fmt: skip
    hidden = inputs[1].shape[1]
    if peepholes is not None:
        peepholes = as_tensor(peepholes, like)
        if peepholes.shape != (3, hidden):
            raise ShapeError(f"lstm: expected peepholes of shape (3, {hidden}) (w_ci, w_cf, "
                             f"w_co), got {peepholes.shape}")  # fmt: skip
        inputs.insert(5, peepholes)  # the op's inputs: x, h0, c0, W_ih, W_hh[, p][, b_ih, b_hh]
    inputs, mask = _common_float("lstm", inputs, mask)
    _check_observer("lstm", observe)
    out = LSTM.apply(*inputs, bias=b_ih is not None, peepholes=peepholes is not None, mask=mask,
                     observe=observe)  # fmt: skip
    cells = (slice(None), slice(None), slice(hidden, None))
    return out[:, :, :hidden], out[cells] if all_cells else out[-1, :, hidden:]


def gru(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, mask=None, *, observe=None):
    """The GRU run over a whole sequence, as one node (torch's GRU layer, one direction):

        r = s(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr),  z = s(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn)),   h_t = (1 - z) n + z h_{t-1}

    Args:
        x: the sequence, time-major (T, N, input).
        h0: the initial state (N, H), or None for zeros.
        W_ih: (3H, input), W_hh: (3H, H), rows in torch's gate order r, z, n;
            b_ih, b_hh: (3H,) or None (no bias).
        mask: None, or a 0/1 array (T, N) (not differentiated): a step where it is 0 is
            padding: the state is carried unchanged and the output is 0 (as ``elman``).
        observe: None or a callable, as ``elman``'s; its "forward" values also hold the gates
            r, z, n.
    Returns:
        the outputs h_1 .. h_T as a Tensor (T, N, H) (0 at masked steps).
    Example:
        >>> h = gru(x, None, W_ih, W_hh, b_ih, b_hh)   # x (T, N, in) -> h (T, N, H)
    """
    inputs, _, mask = _gated_inputs("gru", 3, x, (("h0", h0),), W_ih, W_hh, b_ih, b_hh, mask)
    inputs, mask = _common_float("gru", inputs, mask)
    _check_observer("gru", observe)
    return GRU.apply(*inputs, mask=mask, observe=observe)
