"""Rprop, resilient backpropagation, in its four variants: Rprop+, Rprop-, iRprop+, iRprop-."""

import numpy as np

from .optimizer import Optimizer, is_real

__all__ = ["IRpropMinus", "IRpropPlus", "Rprop", "RpropMinus", "RpropPlus"]


class Rprop(Optimizer):
    """Rprop: each weight has its own step size delta, adapted from the signs of its gradient;
    the step is sign(g) * delta, whatever the size of g. The base of the four variants.

    For each weight, with g = dE/dw now and g_old the gradient remembered from the last step:

        g_old * g > 0 (same sign):   delta = min(eta_plus * delta, delta_max)
                                     dw = -sign(g) * delta,  w = w + dw
        g_old * g < 0 (sign change): delta = max(eta_minus * delta, delta_min)
                                     then what the variant does (below)
        g_old * g = 0 (first step, or after a change that reset g):
                                     dw = -sign(g) * delta,  w = w + dw
        g_old := g (the variant may set it to 0 on a sign change)

    On a sign change (the last step jumped over a minimum along this weight):
        RpropPlus (Rprop+):   undo the last step, w = w - dw_old; g := 0
        RpropMinus (Rprop-):  step with the smaller delta: w = w - sign(g) * delta; keep g
        IRpropPlus (iRprop+): undo the last step only if the error rose, E(t) > E(t-1); g := 0
        IRpropMinus (iRprop-): no step; g := 0  (torch.optim.Rprop)
    Setting g := 0 means the next step neither grows nor shrinks delta for that weight.

    All four are defined on the whole training set (``full_batch``): ``fit`` needs
    ``batch_size=None``. ``lr`` is the initial step size delta_0 of every weight; after the
    first step only the adapted deltas matter, so changing ``opt.lr`` (a schedule) does
    nothing. Every delta is kept in [delta_min, delta_max], delta_0 included (as torch does).

    Args:
        params: the parameters to update.
        lr: the initial step size delta_0 (default 0.1, as in the papers; torch uses 0.01).
        eta_plus: factor > 1 on delta while the sign stays (default 1.2).
        eta_minus: factor in (0, 1) on delta after a sign change (default 0.5).
        delta_min, delta_max: bounds of delta, 0 < delta_min <= delta_max (default 1e-6, 50).
        weight_decay: g := g + weight_decay * w before the update (torch's convention).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    Raises:
        ValueError: lr <= 0, eta_plus <= 1, eta_minus outside (0, 1), delta_min <= 0,
            delta_min > delta_max or weight_decay < 0.
        TypeError: ``Rprop`` itself is constructed (choose a variant).
    Reference: M. Riedmiller, H. Braun, "A Direct Adaptive Method for Faster Backpropagation
    Learning: The RPROP Algorithm", IEEE ICNN 1993, eqs. (4)-(7) and the algorithm's pseudo-code
    (Rprop+); C. Igel, M. Hüsken, "Improving the Rprop Learning Algorithm", Proc. 2nd ICSC
    Symposium on Neural Computation (NC 2000), pp. 115-121, the pseudo-code of Rprop-, iRprop-
    and iRprop+.
    """

    full_batch = True
    elementwise = True
    zero_grad_on_sign_change = True  # False only for Rprop-, which keeps g and steps

    def __init__(self, params, lr=0.1, eta_plus=1.2, eta_minus=0.5, delta_min=1e-6,
                 delta_max=50.0, weight_decay=0.0, *, flatten=True):  # fmt: skip
        name = type(self).__name__
        if type(self) is Rprop:
            raise TypeError("Rprop: expected one of its variants RpropPlus, RpropMinus, "
                            "IRpropPlus, IRpropMinus, got the base class")  # fmt: skip
        super().__init__(params, lr, weight_decay, flatten=flatten)
        if not (is_real(eta_plus) and eta_plus > 1 and np.isfinite(eta_plus)):
            raise ValueError(f"{name}: expected eta_plus > 1, got {eta_plus!r}")
        if not (is_real(eta_minus) and 0 < eta_minus < 1):
            raise ValueError(f"{name}: expected eta_minus in (0, 1), got {eta_minus!r}")
        if not (is_real(delta_min) and is_real(delta_max) and 0 < delta_min <= delta_max < np.inf):
            raise ValueError(f"{name}: expected 0 < delta_min <= delta_max (finite), "
                             f"got delta_min={delta_min!r}, delta_max={delta_max!r}")  # fmt: skip
        self.eta_plus, self.eta_minus = float(eta_plus), float(eta_minus)
        self.delta_min, self.delta_max = float(delta_min), float(delta_max)

    def backtracks(self):
        """Whether this step undoes the last step of the weights whose gradient changed sign."""
        return False

    def update(self, w, g, state):
        if not state:
            state["delta"] = np.full_like(w, self.lr)
            state["grad"] = np.zeros_like(w)  # g_old: nothing to compare the first g with
            state["dw"] = np.zeros_like(w)  # the last change of w
        delta, g_old, dw = state["delta"], state["grad"], state["dw"]
        direction = np.sign(g)
        agreement = direction * np.sign(g_old)  # the sign of g_old * g, which cannot overflow
        changed = agreement < 0
        delta *= np.where(agreement > 0, self.eta_plus, np.where(changed, self.eta_minus, 1.0))
        np.clip(delta, self.delta_min, self.delta_max, out=delta)
        if self.zero_grad_on_sign_change:
            g = np.where(changed, 0, g)
            direction = np.where(changed, 0, direction)  # so no step for those weights
        step = -direction * delta
        if self.backtracks():
            step -= np.where(changed, dw, 0)  # w(t+1) = w(t) - dw(t-1) where the sign changed
        w += step
        dw[...] = step
        g_old[...] = g

    def __repr__(self):
        return (f"{type(self).__name__}(lr={self.lr}, eta_plus={self.eta_plus}, "
                f"eta_minus={self.eta_minus}, delta_min={self.delta_min}, "
                f"delta_max={self.delta_max}, weight_decay={self.weight_decay})")  # fmt: skip


class RpropPlus(Rprop):
    """Rprop+ (Riedmiller & Braun 1993), Rprop with weight backtracking: on a sign change the
    last step of that weight is undone, w = w - dw_old, and its gradient is remembered as 0.
    See ``Rprop`` for the shared rule and the arguments."""

    def backtracks(self):
        return True


class RpropMinus(Rprop):
    """Rprop- (Igel & Hüsken 2000), Rprop without backtracking: on a sign change delta shrinks
    and the weight still steps, w = w - sign(g) * delta; the gradient is remembered as is.
    See ``Rprop`` for the shared rule and the arguments."""

    zero_grad_on_sign_change = False


class IRpropMinus(Rprop):
    """iRprop- (Igel & Hüsken 2000): on a sign change delta shrinks, the weight does not move
    and its gradient is remembered as 0. The form torch.optim.Rprop implements (with
    etas=(eta_minus, eta_plus), step_sizes=(delta_min, delta_max), lr=delta_0).
    See ``Rprop`` for the shared rule and the arguments."""


class IRpropPlus(Rprop):
    """iRprop+ (Igel & Hüsken 2000): as iRprop-, but a weight whose gradient changed sign also
    undoes its last step, w = w - dw_old, if the error rose: E(t) > E(t-1).

    It needs the error, so ``step(closure)`` takes a closure that runs zero_grad, forward and
    backward and returns the loss (``needs_closure``; ``fit`` passes one). With weight decay
    the error compared is E + weight_decay / 2 * sum w^2, the function whose gradient is used.
    See ``Rprop`` for the shared rule and the arguments.
    """

    needs_closure = True
    state_attributes = (("previous_error", None),)  # E(t-1), None before the first step
    previous_error = None
    error_rose = False  # E(t) > E(t-1) at the current step

    def step(self, closure=None):
        """Evaluate the loss and gradients with ``closure``, then update; returns the loss."""
        if closure is None:
            raise ValueError("IRpropPlus.step: expected a closure that returns the loss, got None")
        loss = closure()
        error = float(loss.data)
        if self.weight_decay:
            squares = sum(float((w * w).sum()) for w, _, _ in self._slots())
            error += 0.5 * self.weight_decay * squares
        self.error_rose = self.previous_error is not None and error > self.previous_error
        self.previous_error = error
        super().step()
        return loss

    def backtracks(self):
        return self.error_rose
