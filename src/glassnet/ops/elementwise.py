"""Elementwise arithmetic and math functions, with NumPy broadcasting.

Each backward reduces its gradient back to the input's shape (``sum_to_shape``).
"""

from ..autodiff import Op, Tensor
from ..backend import xp
from ._util import add_tangents, as_tensor, sum_to_shape

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs",
    "clip", "maximum", "minimum", "where",
]  # fmt: skip


class Add(Op):
    """c = a + b.   grad_a = grad_out, grad_b = grad_out (summed over broadcast axes)."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad_out):
        sa, sb = self.shapes
        return sum_to_shape(grad_out, sa), sum_to_shape(grad_out, sb)

    def jvp(self, da, db):
        # dc = da + db
        return add_tangents(da, db)


class Sub(Op):
    """c = a - b.   grad_a = grad_out, grad_b = -grad_out."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad_out):
        sa, sb = self.shapes
        grad_b = sum_to_shape(-grad_out, sb) if self.needs[1] else None
        return sum_to_shape(grad_out, sa), grad_b

    def jvp(self, da, db):
        # dc = da - db
        return add_tangents(da, None if db is None else -db)


class Mul(Op):
    """c = a * b.   grad_a = grad_out * b, grad_b = grad_out * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad_out):
        a, b = self.a, self.b
        grad_a = sum_to_shape(grad_out * b, a.shape) if self.needs[0] else None
        grad_b = sum_to_shape(grad_out * a, b.shape) if self.needs[1] else None
        return grad_a, grad_b

    def jvp(self, da, db):
        # dc = da * b + a * db
        term_a = None if da is None else da * self.b
        term_b = None if db is None else self.a * db
        return add_tangents(term_a, term_b)


class Div(Op):
    """c = a / b.   grad_a = grad_out / b, grad_b = -grad_out * a / b^2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad_out):
        a, b = self.a, self.b
        grad_a = sum_to_shape(grad_out / b, a.shape) if self.needs[0] else None
        grad_b = sum_to_shape(-grad_out * a / (b * b), b.shape) if self.needs[1] else None
        return grad_a, grad_b

    def jvp(self, da, db):
        # dc = da / b - a * db / b^2
        a, b = self.a, self.b
        term_a = None if da is None else da / b
        term_b = None if db is None else -db * a / (b * b)
        return add_tangents(term_a, term_b)


class Neg(Op):
    """c = -a.   grad_a = -grad_out."""

    def forward(self, a):
        return -a

    def backward(self, grad_out):
        return (-grad_out,)

    def jvp(self, da):
        # dc = -da
        return -da


class Pow(Op):
    """c = a^p for a constant exponent p.   grad_a = grad_out * p * a^(p - 1)."""

    def forward(self, a, exponent):
        self.a, self.p = a, exponent
        return a**exponent

    def backward(self, grad_out):
        p = self.p
        return (grad_out * (p * self.a ** (p - 1)),)

    def jvp(self, da):
        # dc = p * a^(p - 1) * da
        p = self.p
        return da * (p * self.a ** (p - 1))


class Exp(Op):
    """c = exp(a).   grad_a = grad_out * c."""

    def forward(self, a):
        self.out = xp.exp(a)
        return self.out

    def backward(self, grad_out):
        return (grad_out * self.out,)

    def jvp(self, da):
        # dc = c * da
        return da * self.out


class Log(Op):
    """c = ln(a).   grad_a = grad_out / a."""

    def forward(self, a):
        self.a = a
        return xp.log(a)

    def backward(self, grad_out):
        return (grad_out / self.a,)

    def jvp(self, da):
        # dc = da / a
        return da / self.a


class Sqrt(Op):
    """c = sqrt(a).   grad_a = grad_out / (2 c)."""

    def forward(self, a):
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, grad_out):
        return (grad_out / (2 * self.out),)

    def jvp(self, da):
        # dc = da / (2 c)
        return da / (2 * self.out)


class Abs(Op):
    """c = |a|.   grad_a = grad_out * sign(a) (0 at a = 0, as in PyTorch)."""

    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def backward(self, grad_out):
        return (grad_out * xp.sign(self.a),)

    def jvp(self, da):
        # dc = sign(a) * da
        return da * xp.sign(self.a)


class Clip(Op):
    """c = min(max(a, low), high).   grad_a = grad_out where low <= a <= high, else 0."""

    def forward(self, a, low, high):
        self.inside = (a >= low) & (a <= high)
        return xp.clip(a, low, high)

    def backward(self, grad_out):
        return (grad_out * self.inside,)

    def jvp(self, da):
        # dc = da where low <= a <= high, else 0
        return da * self.inside


class Maximum(Op):
    """c = max(a, b) elementwise.   The gradient goes to the larger input; ties split it evenly."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, grad_out):
        a, b = self.a, self.b
        share_a = xp.where(a == b, 0.5, a > b).astype(grad_out.dtype)
        grad_a = sum_to_shape(grad_out * share_a, a.shape) if self.needs[0] else None
        grad_b = sum_to_shape(grad_out * (1 - share_a), b.shape) if self.needs[1] else None
        return grad_a, grad_b

    def jvp(self, da, db):
        # dc = da where a > b, db where a < b, (da + db) / 2 on ties (as backward splits them)
        a, b = self.a, self.b
        dtype = (da if da is not None else db).dtype
        share_a = xp.where(a == b, 0.5, a > b).astype(dtype)
        term_a = None if da is None else da * share_a
        term_b = None if db is None else db * (1 - share_a)
        return add_tangents(term_a, term_b)


class Minimum(Op):
    """c = min(a, b) elementwise.   The gradient goes to the smaller input; ties split it evenly."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, grad_out):
        a, b = self.a, self.b
        share_a = xp.where(a == b, 0.5, a < b).astype(grad_out.dtype)
        grad_a = sum_to_shape(grad_out * share_a, a.shape) if self.needs[0] else None
        grad_b = sum_to_shape(grad_out * (1 - share_a), b.shape) if self.needs[1] else None
        return grad_a, grad_b

    def jvp(self, da, db):
        # dc = da where a < b, db where a > b, (da + db) / 2 on ties (as backward splits them)
        a, b = self.a, self.b
        dtype = (da if da is not None else db).dtype
        share_a = xp.where(a == b, 0.5, a < b).astype(dtype)
        term_a = None if da is None else da * share_a
        term_b = None if db is None else db * (1 - share_a)
        return add_tangents(term_a, term_b)


class Where(Op):
    """c = a where condition else b.   grad_a = grad_out * condition, grad_b = the rest."""

    def forward(self, a, b, condition):
        self.condition, self.shapes = condition, (a.shape, b.shape)
        return xp.where(condition, a, b)

    def backward(self, grad_out):
        zero = xp.zeros((), grad_out.dtype)
        grad_a = xp.where(self.condition, grad_out, zero)
        grad_b = xp.where(self.condition, zero, grad_out)
        return sum_to_shape(grad_a, self.shapes[0]), sum_to_shape(grad_b, self.shapes[1])

    def jvp(self, da, db):
        # dc = da where condition else db (a missing tangent is 0)
        return xp.where(self.condition, 0 if da is None else da, 0 if db is None else db)


def _operands(a, b):
    """Both operands as Tensors; a plain number or array takes the other operand's dtype."""
    return (a, as_tensor(b, a)) if isinstance(a, Tensor) else (as_tensor(a, b), b)


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(*_operands(a, b))


def sub(a, b):
    """a - b with broadcasting."""
    return Sub.apply(*_operands(a, b))


def mul(a, b):
    """a * b with broadcasting."""
    return Mul.apply(*_operands(a, b))


def div(a, b):
    """a / b with broadcasting."""
    return Div.apply(*_operands(a, b))


def neg(a):
    """-a."""
    return Neg.apply(a)


def pow(a, exponent):
    """a ** exponent for a constant (Python number) exponent."""
    if isinstance(exponent, Tensor):
        raise TypeError(f"pow: expected a constant number as exponent, got a {type(exponent).__name__}")
    return Pow.apply(a, exponent=float(exponent))


def exp(a):
    """e ** a."""
    return Exp.apply(a)


def log(a):
    """Natural logarithm."""
    return Log.apply(a)


def sqrt(a):
    """Square root."""
    return Sqrt.apply(a)


def abs(a):
    """|a|."""
    return Abs.apply(a)


def clip(a, low, high):
    """a clipped to [low, high] (either bound may be None)."""
    low = -float("inf") if low is None else low
    high = float("inf") if high is None else high
    return Clip.apply(a, low=a.dtype.type(low), high=a.dtype.type(high))


def maximum(a, b):
    """Elementwise maximum of two tensors (or a tensor and a number)."""
    return Maximum.apply(a, as_tensor(b, a))


def minimum(a, b):
    """Elementwise minimum of two tensors (or a tensor and a number)."""
    return Minimum.apply(a, as_tensor(b, a))


def where(condition, a, b):
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (condition is not differentiated)."""
    condition = condition.data if isinstance(condition, Tensor) else xp.asarray(condition)
    return Where.apply(*_operands(a, b), condition=condition.astype(bool))
