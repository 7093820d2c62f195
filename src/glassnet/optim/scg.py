"""Scaled conjugate gradient (Moller 1993) on the flattened weight vector, full batch."""

import numpy as np

from .lbfgs import _check, _evaluate, _require_closure
from .optimizer import Optimizer

__all__ = ["SCG"]


class SCG(Optimizer):
    """Scaled conjugate gradient: conjugate directions without a line search; the step size
    comes from a finite-difference estimate of the curvature along p, kept positive by a
    Levenberg-Marquardt scale lambda. One ``step`` is one iteration (steps 2-9):

        2. if success: sigma_k = sigma / |p|,  s = (E'(w + sigma_k p) - E'(w)) / sigma_k,
           delta = p^T s
        3. s += (lambda - lambda_bar) p,  delta += (lambda - lambda_bar) |p|^2
        4. if delta <= 0:  s += (lambda - 2 delta / |p|^2) p,
           lambda_bar = 2 (lambda - delta / |p|^2),
           delta = -delta + lambda |p|^2,  lambda = lambda_bar
        5. mu = p^T r,  alpha = mu / delta                       (r = -E'(w))
        6. Delta = 2 delta (E(w) - E(w + alpha p)) / mu^2
        7. if Delta >= 0: w += alpha p, r_new = -E'(w), lambda_bar = 0, success;
              p = r_new every N steps (N = number of weights), else
              p = r_new + beta p,  beta = (|r_new|^2 - r_new^T r) / mu;
              if Delta >= 0.75: lambda /= 4
           else: lambda_bar = lambda, success = False (w unchanged)
        8. if Delta < 0.25: lambda += delta (1 - Delta) / |p|^2
        9. stop when r = 0 (here: ||r||_inf <= tolerance_grad; the step then does nothing)

    Reference: M. F. Moller, "A scaled conjugate gradient algorithm for fast supervised
    learning", Neural Networks 6 (1993) 525-533, the algorithm SCG, steps 1-9.
    The state restarts (step 1) when the weights were changed outside ``step``.

    Args:
        params: the parameters. sigma: 0 < sigma <= 1e-4 in the paper (default 5e-5).
        lambda_: 0 < lambda_1 <= 1e-6 (default 5e-7). tolerance_grad: see step 9 (1e-10).
        weight_decay: adds wd/2 ||w||^2 to the loss.
        flatten: keep the parameters in a flat buffer (see ``Optimizer``); False: one by one.
    """

    needs_closure = True
    full_batch = True

    def __init__(self, params, sigma=5e-5, lambda_=5e-7, tolerance_grad=1e-10, weight_decay=0.0,
                 *, flatten=True):  # fmt: skip
        super().__init__(params, 1.0, weight_decay, flatten=flatten)
        _check("SCG", "sigma > 0", sigma, lambda v: v > 0)
        _check("SCG", "lambda_ > 0", lambda_, lambda v: v > 0)
        _check("SCG", "tolerance_grad >= 0", tolerance_grad, lambda v: v >= 0)
        self.sigma, self.lambda_ = float(sigma), float(lambda_)
        self.tolerance_grad = float(tolerance_grad)

    def update(self, w, g, state):
        raise TypeError("SCG updates the whole weight vector: call step(closure)")

    def step(self, closure=None):
        """One SCG iteration; returns the loss at the weights it leaves."""
        _require_closure(self, closure)
        st, w = self.state[0], self._vector()
        if "w" not in st or not np.array_equal(st["w"], w):  # step 1
            loss, E, g = _evaluate(self, closure)
            st.update(w=w, E=E, r=-g, p=-g, lam=self.lambda_, lam_bar=0.0, success=True, k=0)
        else:
            loss = None
        r, p, lam, lam_bar = st["r"], st["p"], st["lam"], st["lam_bar"]
        if np.max(np.abs(r)) <= self.tolerance_grad:
            return loss if loss is not None else _evaluate(self, closure)[0]
        p2 = float(p @ p)
        if st["success"]:  # step 2
            sigma_k = self.sigma / np.sqrt(p2)
            self._set_vector(w + sigma_k * p)
            _, _, g_sigma = _evaluate(self, closure)
            st["s"] = (g_sigma + r) / sigma_k
            st["delta"] = float(p @ st["s"])
        s, delta = st["s"] + (lam - lam_bar) * p, st["delta"] + (lam - lam_bar) * p2  # step 3
        if delta <= 0:  # step 4
            s = s + (lam - 2 * delta / p2) * p
            lam_bar = 2 * (lam - delta / p2)
            delta = -delta + lam * p2
            lam = lam_bar
        mu = float(p @ r)  # step 5
        alpha = mu / delta
        w_new = w + alpha * p
        self._set_vector(w_new)
        loss_new, E_new, g_new = _evaluate(self, closure)
        Delta = 2 * delta * (st["E"] - E_new) / (mu * mu)  # step 6
        self.t += 1
        if Delta >= 0:  # step 7
            r_new = -g_new
            st["k"] += 1
            if st["k"] % w.size == 0:
                p = r_new
            else:
                p = r_new + (float(r_new @ r_new) - float(r_new @ r)) / mu * p
            st.update(w=w_new, E=E_new, r=r_new, p=p, success=True)
            lam_bar = 0.0
            if Delta >= 0.75:
                lam = lam / 4
            loss = loss_new
        else:
            lam_bar, st["success"] = lam, False
            self._set_vector(w)
            loss = closure()  # loss and gradients of the weights kept
        if Delta < 0.25:  # step 8
            lam = lam + delta * (1 - Delta) / p2
        st["s"], st["delta"], st["lam"], st["lam_bar"] = s, delta, lam, lam_bar
        return loss

    def __repr__(self):
        return f"SCG(sigma={self.sigma}, lambda_={self.lambda_}, weight_decay={self.weight_decay})"
