"""The bold driver: gradient descent whose learning rate adapts to the error."""

import numpy as np

from .optimizer import Optimizer, is_real

__all__ = ["BoldDriver"]


class BoldDriver(Optimizer):
    """Full-batch gradient descent with the "bold driver" learning-rate rule:

        after each step, if the error E fell:   eta := increase * eta   (grow while it works)
        if E rose:   undo the previous step,   eta := decrease * eta, then step again from
                     the restored weights with the smaller eta

    The rule needs the error itself and may evaluate it twice per step, so it takes a closure
    (``needs_closure``); it is defined on the whole training set (``full_batch``).

    Args:
        params: the parameters. lr: the initial eta. increase: factor > 1 (default 1.1).
        decrease: factor in (0, 1) (default 0.5). weight_decay: as torch (added to g).
        flatten: keep the parameters in flat buffers (see ``Optimizer``); False: one by one.
    State: the per-weight last step dw, and ``previous_loss`` and ``undone`` (steps taken back).
    Reference: Vogl et al., "Accelerating the convergence of the back-propagation method",
    Biological Cybernetics 59 (1988); Battiti, "Accelerated backpropagation learning: two
    optimization methods", Complex Systems 3 (1989).
    """

    needs_closure = True
    full_batch = True
    elementwise = True
    state_attributes = (("previous_loss", None), ("undone", 0))

    def __init__(self, params, lr=0.01, increase=1.1, decrease=0.5, weight_decay=0.0, *,
                 flatten=True):  # fmt: skip
        super().__init__(params, lr, weight_decay, flatten=flatten)
        if not (is_real(increase) and 1 < increase < np.inf):
            raise ValueError(f"BoldDriver: expected increase > 1, got {increase!r}")
        if not (is_real(decrease) and 0 < decrease < 1):
            raise ValueError(f"BoldDriver: expected decrease in (0, 1), got {decrease!r}")
        self.increase, self.decrease = float(increase), float(decrease)
        self.previous_loss, self.undone = None, 0

    def step(self, closure=None):
        if closure is None:
            raise ValueError("BoldDriver.step: expected a closure that returns the loss, got None")
        loss = closure()
        value = float(loss.data)
        if self.previous_loss is not None:
            if value > self.previous_loss:  # the last step went too far: take it back
                for w, _, state in self._slots():
                    if "dw" in state:
                        w -= state["dw"]
                self.lr *= self.decrease
                self.undone += 1
                loss = closure()  # the gradient at the restored weights
                value = float(loss.data)
            else:
                self.lr *= self.increase
        self.previous_loss = value
        super().step()
        return loss

    def update(self, w, g, state):
        dw = state.get("dw")
        if dw is None:
            dw = state["dw"] = np.empty_like(w)
        np.multiply(g, -self.lr, out=dw)  # = -eta g, into the array the state already holds
        w += dw
