"""Base classes that state a derivative once and derive both backward and jvp from it.

An elementwise op, a binary elementwise op and a loss each have one derivative rule; the
reverse and the forward mode only differ in what it multiplies: the gradient arriving from
above (backward) or the tangent arriving from below (jvp). A subclass writes ``forward`` (which
saves what the derivative needs) and the derivative; the base class writes the rest.
"""

from ..autodiff import Op
from ..backend import xp
from ._util import add_tangents, sum_to_shape


def times(g, derivative):
    """g * f': the product as an operator, so that it follows the active backend."""
    return g * derivative


def select(g, mask):
    """g where ``mask`` holds, else 0: a selection, so an infinite g outside the mask gives 0,
    not inf * 0 = NaN (torch's relu and clamp backward do the same).

    Computed as the product g * mask, which equals the selection where g is finite (up to the
    sign of a zero): g is checked first, and only a non-finite g falls back to ``where``.
    ``where`` branches on every element, and a mask such as relu's, true for about half of
    them at random, defeats the branch predictor: 1.7 ms against 0.15 ms (product and check)
    for 64 x 6 x 28 x 28 values, one thread.
    """
    return g * mask if xp.isfinite(g).all() else xp.where(mask, g, 0)


class Elementwise(Op):
    """a = f(net) elementwise; ``derivative()`` returns f'(net) from what forward saved.

    backward: delta = grad_out * f'(net)
    jvp:      da = dnet * f'(net)
    The Jacobian is diagonal, so jvp is backward's product applied to the tangent. An op whose
    product with f' takes fewer array operations written out (tanh: v - (v a) a) overrides
    ``backward`` with it instead of stating ``derivative``.
    """

    def derivative(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define derivative (abstract)")

    def backward(self, grad_out):
        return (grad_out * self.derivative(),)

    def jvp(self, dnet):
        return self.backward(dnet)[0]


class Masked(Elementwise):
    """An elementwise op whose f' is 1 on a set and 0 elsewhere: ``derivative()`` returns that
    set as a boolean mask, and delta = grad_out where the mask holds, else 0."""

    def backward(self, grad_out):
        return (select(grad_out, self.derivative()),)


class Binary(Op):
    """c = f(a, b) elementwise with broadcasting. forward saves what the partials need;
    ``partials(need_a, need_b)`` returns dc/da and dc/db (each only when asked for: it may
    return None for the other).

    backward: grad_a = grad_out * dc/da,  grad_b = grad_out * dc/db   (sum_to_shape each)
    jvp:      dc = da * dc/da + db * dc/db                          (None tangents skipped)
    """

    _chain = staticmethod(times)

    def partials(self, need_a, need_b):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define partials (abstract)")

    def backward(self, grad_out):
        need_a, need_b = self.needs
        partial_a, partial_b = self.partials(need_a, need_b)
        a, b = self.inputs  # a recorded op has them: their shapes cost forward nothing
        return (
            sum_to_shape(self._chain(grad_out, partial_a), a.data.shape) if need_a else None,
            sum_to_shape(self._chain(grad_out, partial_b), b.data.shape) if need_b else None,
        )

    def jvp(self, da, db):
        partial_a, partial_b = self.partials(da is not None, db is not None)
        return add_tangents(
            None if da is None else self._chain(da, partial_a),
            None if db is None else self._chain(db, partial_b),
        )


class Loss(Op):
    """A scalar loss E(a, y) of an output a and a constant target y. ``derivative(scale)``
    returns scale * dE/da, so that a scalar factor is applied before the array one.

    backward: delta = grad_out * dE/da
    jvp:      dE = sum(dE/da * da)
    """

    def derivative(self, scale):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define derivative (abstract)")

    def backward(self, grad_out):
        return (self.derivative(grad_out),)

    def jvp(self, da):
        return (self.derivative(1.0) * da).sum()
