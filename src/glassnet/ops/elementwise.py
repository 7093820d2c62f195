"""Elementwise arithmetic and math functions, with NumPy broadcasting and torch's dtype promotion.

Each op states its derivative once (``derivative`` or ``partials``, see ops/_base.py), and the
base class derives backward (reduced to each input's shape by ``sum_to_shape``) and jvp from
it. Add and Sub only route the gradient (linear maps), so they keep their own two lines.
Operands of different dtypes meet in the dtype torch would give (``_util.operands``).
"""

import math
import numbers

from ..autodiff import Op, Tensor
from ..backend import xp
from ._base import Binary, Elementwise, Masked, select
from ._util import add_tangents, floating, operands, sum_to_shape

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs",
    "clip", "maximum", "minimum", "where",
]  # fmt: skip


class Add(Op):
    """c = a + b.   grad_a = grad_out, grad_b = grad_out (summed over broadcast axes)."""

    saves_arrays = False

    def forward(self, a, b):
        return a + b

    def backward(self, grad_out):
        a, b = self.inputs
        return sum_to_shape(grad_out, a.data.shape), sum_to_shape(grad_out, b.data.shape)

    def jvp(self, da, db):
        # dc = da + db
        return add_tangents(da, db)


class Sub(Op):
    """c = a - b.   grad_a = grad_out, grad_b = -grad_out."""

    saves_arrays = False

    def forward(self, a, b):
        return a - b

    def backward(self, grad_out):
        a, b = self.inputs
        grad_b = sum_to_shape(-grad_out, b.data.shape) if self.needs[1] else None
        return sum_to_shape(grad_out, a.data.shape), grad_b

    def jvp(self, da, db):
        # dc = da - db
        return add_tangents(da, None if db is None else -db)


class Mul(Binary):
    """c = a * b.   dc/da = b, dc/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def partials(self, need_a, need_b):
        return self.b, self.a


class Div(Binary):
    """c = a / b.   dc/da = 1 / b, dc/db = -a / b^2 = -c / b."""

    saved_inputs = (1,)  # b; forward makes c = a / b itself

    def forward(self, a, b):
        self.b, self.c = b, a / b
        return self.c

    def partials(self, need_a, need_b):
        b = self.b
        return (1.0 / b if need_a else None), (-self.c / b if need_b else None)


class Neg(Elementwise):
    """c = -a.   f' = -1."""

    saves_arrays = False

    def forward(self, a):
        return -a

    def derivative(self):
        return -1.0


class Pow(Elementwise):
    """c = a^p for a constant exponent p.   f' = p a^(p - 1), and 0 for p = 0 (torch's
    choice: a^0 = 1 is flat, also at a = 0, where the formula gives 0 * inf)."""

    def forward(self, a, exponent):
        self.a, self.p = a, exponent
        return a**exponent

    def derivative(self):
        p = self.p
        return 0.0 if p == 0 else p * self.a ** (p - 1)


class RPow(Elementwise):
    """c = base^a for a constant number base (``2 ** t``).   f' = c ln(base); for base 0 (as
    torch): 0 where a >= 0, -inf where a < 0; NaN for a negative base."""

    def forward(self, a, base):
        self.a, self.base = a, base
        self.c = xp.power(base, a)
        return self.c

    def derivative(self):
        if self.base == 0:
            scalar = self.c.dtype.type
            return xp.where(self.a >= 0, scalar(0), scalar(-math.inf))
        return self.c * (math.log(self.base) if self.base > 0 else math.nan)


class Exp(Elementwise):
    """c = exp(a).   f' = c."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, a):
        self.c = xp.exp(a)
        return self.c

    def derivative(self):
        return self.c


class Log(Elementwise):
    """c = ln(a).   f' = 1 / a."""

    def forward(self, a):
        self.a = a
        return xp.log(a)

    def derivative(self):
        return 1.0 / self.a


class Sqrt(Elementwise):
    """c = sqrt(a).   f' = 1 / (2 c)."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, a):
        self.c = xp.sqrt(a)
        return self.c

    def derivative(self):
        return 0.5 / self.c


class Abs(Elementwise):
    """c = |a|.   f' = sign(a) (0 at a = 0, as in PyTorch)."""

    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def derivative(self):
        return xp.sign(self.a)


class Clip(Masked):
    """c = min(max(a, low), high).   f' = 1 where low <= a <= high, else 0."""

    saved_inputs = ()  # forward keeps only arrays it made

    def forward(self, a, low, high):
        self.inside = (a >= low) & (a <= high)
        return xp.clip(a, low, high)

    def derivative(self):
        return self.inside


class Extremum(Binary):
    """c = max(a, b) (``largest``) or min(a, b) elementwise.   dc/da = 1 where a wins, 0 where
    b wins, 1/2 on ties (the gradient is split evenly, as torch does); dc/db = 1 - dc/da."""

    def forward(self, a, b, largest):
        self.a, self.b, self.largest = a, b, largest
        return xp.maximum(a, b) if largest else xp.minimum(a, b)

    def partials(self, need_a, need_b):
        a, b = self.a, self.b
        share_a = xp.where(a == b, a.dtype.type(0.5), a > b if self.largest else a < b)
        return share_a, (1 - share_a if need_b else None)


class Where(Binary):
    """c = a where condition else b.   dc/da = condition, dc/db = not condition (selections)."""

    saved_inputs = ()  # forward keeps only arrays it made

    _chain = staticmethod(select)

    def forward(self, a, b, condition):
        self.condition = condition
        return xp.where(condition, a, b)

    def partials(self, need_a, need_b):
        return self.condition, (~self.condition if need_b else None)


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(*operands(a, b))


def sub(a, b):
    """a - b with broadcasting."""
    return Sub.apply(*operands(a, b))


def mul(a, b):
    """a * b with broadcasting."""
    return Mul.apply(*operands(a, b))


def div(a, b):
    """a / b with broadcasting; true division, so integers give the default float dtype."""
    a, b = operands(a, b)
    if a.data.dtype.kind not in "fc":
        a, b = floating(a), floating(b)
    return Div.apply(a, b)


def neg(a):
    """-a."""
    return Neg.apply(a)


def pow(a, exponent):
    """a ** exponent for a Tensor ``a`` and a constant number exponent, or for a constant number
    ``a`` and a Tensor exponent (``2 ** t``). A float with integers gives the default float
    dtype; integers with integers stay integers (as torch)."""
    if isinstance(exponent, Tensor):
        if isinstance(a, Tensor):
            raise TypeError("pow: expected a constant number as exponent, got a Tensor")
        if not isinstance(a, numbers.Real):
            raise TypeError(f"pow: expected a number as base, got a {type(a).__name__}")
        base = int(a) if isinstance(a, numbers.Integral) else float(a)
        return RPow.apply(exponent if type(base) is int else floating(exponent), base=base)
    p = int(exponent) if isinstance(exponent, numbers.Integral) else float(exponent)
    return Pow.apply(a if type(p) is int else floating(a), exponent=p)


def exp(a):
    """e ** a."""
    return Exp.apply(a if a.requires_grad else floating(a))


def log(a):
    """Natural logarithm."""
    return Log.apply(a if a.requires_grad else floating(a))


def sqrt(a):
    """Square root."""
    return Sqrt.apply(a if a.requires_grad else floating(a))


def abs(a):
    """|a|."""
    return Abs.apply(a)


def clip(a, low, high):
    """a clipped to [low, high] (either bound may be None); a float bound makes an integer
    tensor float, as torch does."""
    if isinstance(low, float) or isinstance(high, float):
        a = floating(a)
    dtype = a.data.dtype
    limits = xp.iinfo(dtype) if dtype.kind in "iu" else None
    if low is None:
        low = -math.inf if limits is None else limits.min
    if high is None:
        high = math.inf if limits is None else limits.max
    return Clip.apply(a, low=dtype.type(low), high=dtype.type(high))


def maximum(a, b):
    """Elementwise maximum of two tensors (or a tensor and a number)."""
    return Extremum.apply(*operands(a, b), largest=True)


def minimum(a, b):
    """Elementwise minimum of two tensors (or a tensor and a number)."""
    return Extremum.apply(*operands(a, b), largest=False)


def where(condition, a, b):
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (condition is not
    differentiated)."""
    condition = condition.data if isinstance(condition, Tensor) else xp.asarray(condition)
    return Where.apply(*operands(a, b), condition=condition.astype(bool))
