"""Newton's method with Levenberg damping on the flattened weight vector (small networks)."""

import numpy as np

from ..autodiff import hessian_from_gradient
from .lbfgs import _check, _evaluate, _require_closure
from .optimizer import Optimizer

__all__ = ["Newton"]


class Newton(Optimizer):
    """Damped Newton's method: solve (H + mu I) dw = -g with the full Hessian H, step w += lr dw.

    H comes column by column from central differences of exact (closure) gradients,
    ``glassnet.autodiff.hessian_from_gradient`` (the formula and step of ``hvp``):
    H e_k ~ (g(w + eps e_k) - g(w - eps e_k)) / (2 eps), eps = u^(1/3) (1 + ||w||), then
    symmetrised; 2 n extra evaluations per step, so small networks only.

    The damping rule (Levenberg, with N&W Algorithm 3.3 for indefinite H):
        1. mu starts at ``damping``. If H + mu I is not positive definite (its Cholesky fails),
           tau is added: tau_0 = beta = 1e-3 max(1, ||H||_F), doubled until Cholesky succeeds.
        2. The step is tried; if the loss does not rise it is kept and mu := max(mu / 10,
           damping); if it rises, mu := max(10 mu, beta) and the step is solved again, up to
           ``max_tries`` times, after which the weights are left unchanged. As mu grows, dw
           tends to -g / mu: the method falls back to short gradient-descent steps.

    Reference: Nocedal & Wright, Numerical Optimization, 2nd ed., section 3.4 (Algorithm 3.3);
    Levenberg, Quart. Appl. Math. 2 (1944).

    Args:
        params: the parameters. lr: the step fraction (default 1).
        damping: the initial and smallest mu >= 0 (default 0: pure Newton where H is positive
            definite and the loss falls). max_tries: solves per step (default 10).
        weight_decay: adds wd/2 ||w||^2 to the loss.
        flatten: keep the parameters in a flat buffer (see ``Optimizer``); False: one by one.
    State: ``mu``, the damping the next step starts from (saved by ``state_dict``).
    """

    needs_closure = True
    full_batch = True
    state_attributes = (("mu", None),)  # None: start from damping

    def __init__(self, params, lr=1.0, damping=0.0, max_tries=10, weight_decay=0.0, *,
                 flatten=True):  # fmt: skip
        super().__init__(params, lr, weight_decay, flatten=flatten)
        _check("Newton", "damping >= 0", damping, lambda v: v >= 0 and np.isfinite(v))
        _check("Newton", "max_tries >= 1 (an int)", max_tries, lambda v: v == int(v) and v >= 1)
        self.damping, self.max_tries, self.mu = float(damping), int(max_tries), float(damping)

    def update(self, w, g, state):
        raise TypeError("Newton updates the whole weight vector: call step(closure)")

    def hessian(self, closure, w):
        """The symmetrised finite-difference Hessian of the closure's loss at w."""

        def gradient(z):
            self._set_vector(z)
            return _evaluate(self, closure)[2]

        H = hessian_from_gradient(gradient, w)
        self._set_vector(w)
        return 0.5 * (H + H.T)

    def step(self, closure=None):
        """One damped Newton step; returns the loss at the weights it leaves."""
        _require_closure(self, closure)
        if self.mu is None:  # a state_dict without mu
            self.mu = self.damping
        w = self._vector()
        loss, E, g = _evaluate(self, closure)
        H = self.hessian(closure, w)
        beta = 1e-3 * max(1.0, float(np.linalg.norm(H)))
        self.t += 1
        for _ in range(self.max_tries):
            tau = 0.0
            while True:
                try:
                    L = np.linalg.cholesky(H + (self.mu + tau) * np.eye(w.size))
                    break
                except np.linalg.LinAlgError:
                    tau = beta if tau == 0.0 else 2 * tau
            dw = -np.linalg.solve(L.T, np.linalg.solve(L, g))
            self._set_vector(w + self.lr * dw)
            new_loss, E_new, _ = _evaluate(self, closure)
            if E_new <= E:
                self.mu = max(self.mu / 10, self.damping)
                return new_loss
            self.mu = max(10 * self.mu, beta)
        self._set_vector(w)
        closure()  # loss and gradients of the weights kept
        return loss

    def __repr__(self):
        return f"Newton(lr={self.lr}, damping={self.damping}, weight_decay={self.weight_decay})"
