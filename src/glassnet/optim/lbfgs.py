"""Quasi-Newton methods on the flattened weight vector: BFGS, L-BFGS and the strong-Wolfe
line search they share (full batch, through ``step(closure)``). The vector is the optimizer's
flat buffer when the parameters share one (see ``Optimizer``), in float64."""

import numpy as np

from .optimizer import Optimizer, is_real

__all__ = ["BFGS", "LBFGS", "strong_wolfe"]


# ---------------------------------------------------------------- shared helpers


def _evaluate(opt, closure):
    """Run the closure; returns (loss Tensor, E, grad E) with the optimizer's weight decay
    added as a penalty (E + wd/2 ||w||^2, g + wd w), so the line search sees what it steps on."""
    loss = closure()
    f, g = float(loss.data), opt._gradient_vector()
    if opt.weight_decay:
        x = opt._vector()
        f += 0.5 * opt.weight_decay * float(x @ x)
        g += opt.weight_decay * x
    return loss, f, g


def _require_closure(opt, closure):
    if closure is None:
        name = type(opt).__name__
        raise ValueError(f"{name}.step: expected a closure that returns the loss, got None")


def _check(name, what, value, ok):
    """Raise 'name: expected what, got value' unless value is a real number and ok(value)."""
    if not (is_real(value) and ok(value)):
        raise ValueError(f"{name}: expected {what}, got {value!r}")


# ---------------------------------------------------------------- the strong-Wolfe line search


def _cubic_min(a, fa, da, b, fb, db, lo, hi):
    """The minimiser of the cubic through (a, fa, da) and (b, fb, db), clamped to [lo, hi];
    the middle of [lo, hi] when the cubic has no minimum (N&W eq. 3.59)."""
    d1 = da + db - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc >= 0 and np.isfinite(disc):
        d2 = np.sign(b - a) * np.sqrt(disc)
        denom = db - da + 2 * d2
        if denom != 0:
            t = b - (b - a) * (db + d2 - d1) / denom
            if np.isfinite(t):
                return min(max(t, lo), hi)
    return 0.5 * (lo + hi)


def strong_wolfe(phi, f0, d0, alpha1, c1=1e-4, c2=0.9, max_evals=25):
    """A step length alpha satisfying the strong Wolfe conditions along a descent direction:

        phi(alpha) <= phi(0) + c1 alpha phi'(0)          (sufficient decrease)
        |phi'(alpha)| <= c2 |phi'(0)|                   (curvature)

    Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 3.5 (bracketing) and
    Algorithm 3.6 (zoom), with 0 < c1 < c2 < 1. New trial steps are minimisers of the cubic
    through the last two points (eq. 3.59), safeguarded: when extrapolating, within
    [alpha + 0.01 (alpha - alpha_prev), 10 alpha] (as minFunc and torch); when zooming, within
    the middle 80% of the bracket, else bisection.

    Args:
        phi: alpha -> (phi(alpha), phi'(alpha)); it may move the weights (the caller restores).
        f0, d0: phi(0) and phi'(0) < 0.  alpha1: the first trial step.
        max_evals: evaluations of phi before giving up.
    Returns:
        (alpha, phi(alpha), phi'(alpha), evals, found): ``found`` is False when no Wolfe point
        was found in ``max_evals``; alpha is then the lowest point seen, or 0 if none was lower
        than phi(0).
    """
    best = (0.0, f0, d0)
    a_prev, f_prev, d_prev = 0.0, f0, d0
    a, evals = alpha1, 0
    bracket = None
    while evals < max_evals:  # Algorithm 3.5
        f, d = phi(a)
        evals += 1
        if f < best[1]:
            best = (a, f, d)
        if f > f0 + c1 * a * d0 or (evals > 1 and f >= f_prev):
            bracket = (a_prev, f_prev, d_prev, a, f, d)
            break
        if abs(d) <= -c2 * d0:
            return a, f, d, evals, True
        if d >= 0:
            bracket = (a, f, d, a_prev, f_prev, d_prev)
            break
        lo, hi = a + 0.01 * (a - a_prev), 10 * a
        a_prev, f_prev, d_prev, a = a, f, d, _cubic_min(a_prev, f_prev, d_prev, a, f, d, lo, hi)
    if bracket is not None:
        a_lo, f_lo, d_lo, a_hi, f_hi, d_hi = bracket
        while evals < max_evals:  # Algorithm 3.6 (zoom); a_lo has the lower phi
            width = a_hi - a_lo
            if abs(width) * max(1.0, abs(d_lo)) < 1e-16 * max(1.0, abs(a_lo)):
                break  # the bracket has shrunk to nothing
            lo, hi = sorted((a_lo + 0.1 * width, a_hi - 0.1 * width))
            a = _cubic_min(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi, lo, hi)
            f, d = phi(a)
            evals += 1
            if f < best[1]:
                best = (a, f, d)
            if f > f0 + c1 * a * d0 or f >= f_lo:
                a_hi, f_hi, d_hi = a, f, d
            else:
                if abs(d) <= -c2 * d0:
                    return a, f, d, evals, True
                if d * (a_hi - a_lo) >= 0:
                    a_hi, f_hi, d_hi = a_lo, f_lo, d_lo
                a_lo, f_lo, d_lo = a, f, d
    return (*best, evals, False)


# ---------------------------------------------------------------- BFGS and L-BFGS


class _QuasiNewton(Optimizer):
    """One iteration per ``step``: direction p = -H g, strong-Wolfe line search along p, then
    the inverse-Hessian approximation H learns from s = x_new - x and y = g_new - g.

    The first trial step is alpha = min(1, 1 / ||g||_1) * lr on the first iteration (H = I;
    as minFunc and torch.optim.LBFGS) and alpha = lr afterwards (N&W: 1 for quasi-Newton).
    A pair with y^T s <= 1e-10 is not learnt (cannot happen after a strong-Wolfe step with
    exact arithmetic). If p is not a descent direction or the line search fails, the memory
    is cleared and the next step starts again from steepest descent. The step does nothing
    (but one evaluation) when ||g||_inf <= tolerance_grad.

    After a step, ``last_search`` holds the accepted search: alpha, f0 = phi(0), d0 = phi'(0),
    f = phi(alpha), d = phi'(alpha), evals, wolfe (both conditions met), for inspection.
    ``clip_norm`` / ``clip_value`` are not applied (they would break the line search).
    """

    needs_closure = True
    full_batch = True

    def __init__(self, params, lr, c1, c2, max_evals, tolerance_grad, weight_decay, flatten):
        super().__init__(params, lr, weight_decay, flatten=flatten)
        name = type(self).__name__
        _check(name, "c1 in (0, 1)", c1, lambda v: 0 < v < 1)
        _check(name, f"c2 in (c1, 1) = ({c1}, 1)", c2, lambda v: c1 < v < 1)
        _check(name, "max_evals >= 1 (an int)", max_evals, lambda v: v == int(v) and v >= 1)
        _check(name, "tolerance_grad >= 0", tolerance_grad, lambda v: v >= 0)
        self.c1, self.c2, self.max_evals = float(c1), float(c2), int(max_evals)
        self.tolerance_grad = float(tolerance_grad)
        self.last_search = None

    def update(self, w, g, state):
        raise TypeError(f"{type(self).__name__} updates the whole weight vector: call "
                        "step(closure)")  # fmt: skip

    def step(self, closure=None):
        """One quasi-Newton iteration (one line search); returns the loss at the start."""
        _require_closure(self, closure)
        loss, f, g = _evaluate(self, closure)
        if np.max(np.abs(g)) <= self.tolerance_grad:
            return loss
        state = self.state[0]
        first = "x" not in state
        if not first:
            self._learn(self._vector() - state["x"], g - state["g"])
        p = self._direction(g)
        d0 = float(g @ p)
        if not d0 < 0:  # not a descent direction: forget and use steepest descent
            self._forget()
            p, d0 = -g, -float(g @ g)
            first = True
        x = self._vector()
        alpha1 = min(1.0, 1.0 / float(np.abs(g).sum())) * self.lr if first else self.lr

        def phi(alpha):
            self._set_vector(x + alpha * p)
            _, fa, ga = _evaluate(self, closure)
            return fa, float(ga @ p)

        alpha, fa, da, evals, found = strong_wolfe(
            phi, f, d0, alpha1, self.c1, self.c2, self.max_evals
        )
        self.t += 1
        self.last_search = {
            "alpha": alpha, "f0": f, "d0": d0, "f": fa, "d": da, "evals": evals, "wolfe": found,
        }
        self._set_vector(x + alpha * p)
        if not found:  # keep the best point seen (maybe x itself) and restart the memory
            self._forget()
            closure()  # leave loss and gradients of the weights we keep
            return loss
        state["x"], state["g"] = x, g
        return loss

    def _forget(self):
        self.state[0].clear()


class BFGS(_QuasiNewton):
    """BFGS with a dense inverse-Hessian approximation H (n x n: small networks only).

        p = -H g,  x_new = x + alpha p  (alpha: strong-Wolfe line search, N&W Algs. 3.5/3.6)
        s = x_new - x,  y = g_new - g,  rho = 1 / (y^T s)
        H0 = (y^T s / y^T y) I  before the first update          (N&W eq. 6.20)
        H := (I - rho s y^T) H (I - rho y s^T) + rho s s^T       (N&W eq. 6.17)

    Reference: Nocedal & Wright, Numerical Optimization, 2nd ed. (2006), Algorithm 6.1.

    Args:
        params: the parameters. lr: the trial step alpha (default 1).
        c1, c2: the Wolfe constants (1e-4, 0.9). max_evals: evaluations per line search (25).
        tolerance_grad: no step when ||g||_inf is at most this (1e-10).
        weight_decay: adds wd/2 ||w||^2 to the loss.
        flatten: keep the parameters in a flat buffer (see ``Optimizer``); False: one by one.
    State (``state[0]``): x, g of the last iterate and H.
    """

    def __init__(self, params, lr=1.0, c1=1e-4, c2=0.9, max_evals=25, tolerance_grad=1e-10,
                 weight_decay=0.0, *, flatten=True):  # fmt: skip
        super().__init__(params, lr, c1, c2, max_evals, tolerance_grad, weight_decay, flatten)

    def _direction(self, g):
        H = self.state[0].get("H")
        return -g if H is None else -(H @ g)

    def _learn(self, s, y):
        ys = float(y @ s)
        if ys <= 1e-10:
            return
        state, rho = self.state[0], 1.0 / ys
        if "H" not in state:
            state["H"] = np.eye(s.size) * (ys / float(y @ y))
        H = state["H"]
        Hy = H @ y
        # (I - rho s y^T) H (I - rho y s^T) + rho s s^T, expanded (H symmetric):
        state["H"] = (H - rho * (np.outer(s, Hy) + np.outer(Hy, s))
                      + (rho * rho * float(y @ Hy) + rho) * np.outer(s, s))


class LBFGS(_QuasiNewton):
    """Limited-memory BFGS: H g from the last m pairs (s, y) by the two-loop recursion.

        q = g;  for i = k-1 ... k-m:  a_i = rho_i s_i^T q,  q -= a_i y_i
        r = gamma q,  gamma = s_{k-1}^T y_{k-1} / y_{k-1}^T y_{k-1}        (N&W eq. 7.20)
        for i = k-m ... k-1:  b = rho_i y_i^T r,  r += s_i (a_i - b)
        p = -r,  x_new = x + alpha p  (alpha: strong-Wolfe line search, N&W Algs. 3.5/3.6)

    Reference: Nocedal & Wright, Numerical Optimization, 2nd ed. (2006), Algorithms 7.4 and
    7.5; Liu & Nocedal, Math. Programming 45 (1989). One ``step`` is one iteration.

    Args:
        params: the parameters. lr: the trial step alpha (default 1).
        history_size: m, the pairs kept (10).
        c1, c2, max_evals, tolerance_grad, weight_decay, flatten: as for ``BFGS``.
    State (``state[0]``): x, g of the last iterate; S and Y, the pairs as rows.
    """

    def __init__(self, params, lr=1.0, history_size=10, c1=1e-4, c2=0.9, max_evals=25,
                 tolerance_grad=1e-10, weight_decay=0.0, *, flatten=True):  # fmt: skip
        super().__init__(params, lr, c1, c2, max_evals, tolerance_grad, weight_decay, flatten)
        _check("LBFGS", "history_size >= 1 (an int)", history_size,
               lambda v: v == int(v) and v >= 1)  # fmt: skip
        self.history_size = int(history_size)

    def _direction(self, g):
        state = self.state[0]
        if "S" not in state:
            return -g
        S, Y = state["S"], state["Y"]
        rho = 1.0 / np.einsum("ij,ij->i", Y, S)
        q, a = g.copy(), np.empty(len(S))
        for i in range(len(S) - 1, -1, -1):
            a[i] = rho[i] * float(S[i] @ q)
            q -= a[i] * Y[i]
        r = q * (float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1]))
        for i in range(len(S)):
            b = rho[i] * float(Y[i] @ r)
            r += S[i] * (a[i] - b)
        return -r

    def _learn(self, s, y):
        if float(y @ s) <= 1e-10:
            return
        state, m = self.state[0], self.history_size
        if "S" in state:
            state["S"] = np.vstack([state["S"], s])[-m:]
            state["Y"] = np.vstack([state["Y"], y])[-m:]
        else:
            state["S"], state["Y"] = s[None, :], y[None, :]

    def __repr__(self):
        return (f"LBFGS(lr={self.lr}, history_size={self.history_size}, "
                f"weight_decay={self.weight_decay})")  # fmt: skip
