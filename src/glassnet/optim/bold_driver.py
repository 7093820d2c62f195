"""The bold driver: gradient descent whose learning rate adapts to the error."""

from .optimizer import Optimizer

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
    Reference: Vogl et al., "Accelerating the convergence of the back-propagation method",
    Biological Cybernetics 59 (1988); Battiti, "Accelerated backpropagation learning: two
    optimization methods", Complex Systems 3 (1989).
    """

    needs_closure = True
    full_batch = True

    def __init__(self, params, lr=0.01, increase=1.1, decrease=0.5, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if not increase > 1:
            raise ValueError(f"BoldDriver: expected increase > 1, got {increase!r}")
        if not 0 < decrease < 1:
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
                for p, state in zip(self.params, self.state):
                    if "dw" in state:
                        p.data -= state["dw"]
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
        dw = state["dw"] = -self.lr * g
        w += dw
