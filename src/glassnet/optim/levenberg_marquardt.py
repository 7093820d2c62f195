"""Levenberg-Marquardt: a damped Gauss-Newton method for sums of squared residuals."""

import numpy as np

from ..autodiff import Tensor, no_grad, walk
from ..errors import ShapeError
from ..ops.linalg import Linear
from .optimizer import Optimizer, is_real

__all__ = ["LevenbergMarquardt", "residual_jacobian"]


class LevenbergMarquardt(Optimizer):
    """Levenberg-Marquardt as in Hagan & Menhaj (1994), for E(w) = sum_p e_p(w)^2:

        J = d e / d w                     one row per residual e_p (sample, output), (P, n)
        dw = -(J^T J + mu I)^-1 J^T e     (their eq. 13 with the sign of e = a - y)
        if E(w + dw) < E(w):  w := w + dw,  mu := mu * mu_decrease     (towards Gauss-Newton)
        else:                 mu := mu * mu_increase, solve again from the same w
                              (towards gradient descent with step 1/mu)

    Small mu gives Gauss-Newton (exact for residuals linear in w), large mu a short gradient
    step, so every accepted step lowers E. One ``step`` computes J once and tries mu, mu *
    mu_increase, ... up to ``mu_max``: at most 1 + ceil(log(mu_max / mu) / log(mu_increase))
    solves of the n x n system. If even mu_max fails (a minimum, to rounding), the weights
    are left unchanged, mu stays at mu_max and ``stalled`` becomes True (fit goes on: every
    later epoch then tries mu_max once). mu never falls below ``mu_min`` (the damping that
    keeps J^T J + mu I invertible). J^T J and the solve use float64 whatever the model's dtype.

    ``step(closure)`` takes a closure that returns the residuals e = output - target, a Tensor
    (samples, outputs) with its graph; ``fit`` builds it for the losses 'sse' and 'mse'
    (``needs_residuals``), and refuses mini-batches (``full_batch``). J is built by
    ``residual_jacobian``, which needs every parameter to enter through ``ops.linear`` (the W
    and b of ``Dense`` layers). J has samples * outputs * n_params entries, so LM is a method
    for small networks (hundreds to a few thousand weights), as in the paper.

    Args:
        params: the parameters (``model.parameters()``).
        mu: the initial damping (> 0). mu_increase: factor > 1 after a failed trial (10).
        mu_decrease: factor in (0, 1) after a success (0.1). mu_max: the largest mu tried
            (1e10). mu_min: the smallest mu (1e-20).
        flatten: keep the parameters in a flat buffer (see ``Optimizer``); False: one by one.
    ``lr`` is another name for ``mu`` (so ``fit(..., optimizer="lm", lr=...)`` sets the
    initial mu, and ``state_dict`` saves the current one, with ``stalled`` and ``trials``).
    Reference: M. T. Hagan and M. B. Menhaj, "Training feedforward networks with the Marquardt
    algorithm", IEEE Transactions on Neural Networks 5(6), 989-993 (1994), eqs. 11-13 and the
    algorithm of sec. III.
    """

    needs_closure = True
    needs_residuals = True  # fit hands over residuals (output - target), not a scalar loss
    full_batch = True
    state_attributes = (("stalled", False), ("trials", 0))  # mu is saved as lr

    def __init__(self, params, mu=1e-3, mu_increase=10.0, mu_decrease=0.1, mu_max=1e10,
                 mu_min=1e-20, *, flatten=True):  # fmt: skip
        real = is_real(mu)
        checks = (("mu", mu, mu > 0 if real else False),
                  ("mu_increase", mu_increase, mu_increase > 1 if is_real(mu_increase) else False),
                  ("mu_decrease", mu_decrease,
                   0 < mu_decrease < 1 if is_real(mu_decrease) else False),
                  ("mu_max", mu_max, mu_max >= mu if is_real(mu_max) and real else False),
                  ("mu_min", mu_min,
                   0 < mu_min <= mu if is_real(mu_min) and real else False))  # fmt: skip
        expected = {"mu": "> 0", "mu_increase": "> 1", "mu_decrease": "in (0, 1)",
                    "mu_max": ">= mu", "mu_min": "in (0, mu]"}  # fmt: skip
        for name, value, ok in checks:
            if not (ok and np.isfinite(value)):
                raise ValueError(
                    f"LevenbergMarquardt: expected {name} {expected[name]}, got {value!r}"
                )
        super().__init__(params, lr=mu, flatten=flatten)
        self.mu_increase, self.mu_decrease = float(mu_increase), float(mu_decrease)
        self.mu_max, self.mu_min = float(mu_max), float(mu_min)
        self.stalled, self.trials = False, 0  # trials: solves in the last step

    lr = property(lambda self: self.mu, lambda self, value: setattr(self, "mu", float(value)),
                  doc="The damping mu (LM has no learning rate).")  # fmt: skip

    def step(self, closure=None):
        """One LM iteration; returns the residuals at the weights it started from."""
        if closure is None:
            raise ValueError("LevenbergMarquardt.step: expected a closure that returns the "
                             "residuals e (samples, outputs), got None")  # fmt: skip
        e = closure()
        J = residual_jacobian(e, self.params)
        r = e.data.astype(np.float64).ravel()
        error = r @ r
        JtJ, Jte = J.T @ J, J.T @ r
        eye = np.eye(len(JtJ))
        start = self._vector()  # float64: every dtype's values convert back exactly
        self.t += 1
        self.trials = 0
        while True:
            self.trials += 1
            if self._try(JtJ + self.mu * eye, -Jte, start, closure, error):
                self.mu, self.stalled = max(self.mu * self.mu_decrease, self.mu_min), False
                return e
            self._set_vector(start)
            if self.mu >= self.mu_max:
                self.stalled = True
                return e
            self.mu = min(self.mu * self.mu_increase, self.mu_max)

    def _try(self, A, rhs, start, closure, error):
        """Set w = start + dw with A dw = rhs; True if the sum of squared residuals fell."""
        try:
            dw = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:  # singular to rounding: a larger mu will do
            return False
        if not np.isfinite(dw).all():
            return False
        self._set_vector(start + dw)
        # a trial far out may overflow; that is a failed trial (E = inf), not an error
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            r = closure().data.astype(np.float64).ravel()
            trial = r @ r
        return bool(trial < error)

    def update(self, w, g, state):
        raise TypeError("LevenbergMarquardt updates the whole weight vector from the residuals' "
                        "Jacobian: call step(closure)")  # fmt: skip

    def __repr__(self):
        return (f"LevenbergMarquardt(mu={self.mu:g}, mu_increase={self.mu_increase:g}, "
                f"mu_decrease={self.mu_decrease:g}, mu_max={self.mu_max:g})")  # fmt: skip


def residual_jacobian(e, params):
    """The Jacobian J = d e / d w of residuals e (samples, outputs) with respect to ``params``,
    as a float64 array (samples * outputs, n_params): row s * outputs + k is e[s, k], columns
    follow ``params`` in order, each parameter flattened in C order.

    One backward pass per output unit k (not per sample), seeded with the one-hot gradient
    d e[:, k]; hooks on each Dense layer's net input catch delta = d e[s, k] / d net[s] for
    all samples at once, and with that layer's input a_prev (Hagan & Menhaj, eqs. 14-17):

        d e[s, k] / d W[i, j] = delta[s, i] * a_prev[s, j]      d e[s, k] / d b[i] = delta[s, i]

    Every parameter must enter the residuals as the W or b of ``ops.linear`` (Dense layers),
    and sample s of e must depend on sample s of the input only (no batch statistics);
    anything else raises ValueError. The parameters' ``grad`` is left None.
    """
    who = "residual_jacobian"
    if not isinstance(e, Tensor) or e.ndim != 2:
        raise ShapeError(f"{who}: expected residuals as a Tensor (samples, outputs), got "
                         f"{getattr(e, 'shape', type(e).__name__)}")  # fmt: skip
    if not e.requires_grad:
        raise ValueError(f"{who}: expected residuals that require grad (computed from the "
                         "parameters, outside no_grad()), got a constant")  # fmt: skip
    n, outputs = e.shape
    sizes = [p.data.size for p in params]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    layers = _dense_nodes(who, e, params, n)
    deltas = {}
    handles = [net.register_hook(_catcher(deltas, id(net))) for net, *_ in layers]
    J = np.zeros((n, outputs, offsets[-1]))
    try:
        for k in range(outputs):
            deltas.clear()
            seed = np.zeros(e.shape, e.dtype)
            seed[:, k] = 1
            e.backward(seed, retain_graph=k < outputs - 1)
            for net, a_prev, iw, ib in layers:
                delta = deltas.get(id(net))
                if delta is None:  # this layer does not reach output k
                    continue
                if iw is not None:
                    J[:, k, offsets[iw] : offsets[iw + 1]] += (
                        delta[:, :, None] * a_prev[:, None, :]
                    ).reshape(n, -1)
                if ib is not None:
                    J[:, k, offsets[ib] : offsets[ib + 1]] += delta
    finally:
        for handle in handles:
            handle.remove()
        for p in params:
            p.grad = None
    return J.reshape(n * outputs, -1)


def _catcher(deltas, key):
    """A tensor hook that stores the gradient it sees in ``deltas[key]``."""

    def hook(g):
        deltas[key] = g

    return hook


def _dense_nodes(who, e, params, n):
    """(net tensor, a_prev array, index of W in params or None, index of b or None) for every
    ``Linear`` op in the graph of ``e`` that uses one of ``params``; raises for a parameter
    used by any other op. Reads the graph through its public walk (``tensor.op.inputs``)."""
    index = {id(p): i for i, p in enumerate(params)}
    layers = []
    for tensor in walk(e):
        op = tensor.op
        if op is None:
            continue
        inputs = op.inputs
        if isinstance(op, Linear):
            iw = index.get(id(inputs[1]))
            ib = index.get(id(inputs[2])) if len(inputs) > 2 else None
            loose = inputs[:1]  # the input: a parameter there is not a Dense W or b
            if iw is not None or ib is not None:
                a_prev = inputs[0].data
                if a_prev.ndim != 2 or len(a_prev) != n:
                    raise ShapeError(f"{who}: expected Dense inputs of shape ({n}, features) "
                                     f"(one row per sample), got {a_prev.shape}")  # fmt: skip
                layers.append((tensor, a_prev, iw, ib))
        else:
            loose = inputs
        for parent in loose:
            if id(parent) in index:
                raise ValueError(f"{who}: expected every parameter to enter the residuals as the "
                                 f"W or b of a Dense layer (ops.linear), got one of shape "
                                 f"{parent.shape} used by {type(op).__name__}; "
                                 "Levenberg-Marquardt builds its Jacobian for Dense networks "
                                 "only")  # fmt: skip
    return layers
