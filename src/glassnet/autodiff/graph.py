"""The graph: the ``Op`` base class, grad mode and the reverse walk that runs backward passes.

An op is the unit of differentiation. ``Op.apply`` runs ``forward`` on raw arrays and, when a
gradient is wanted, remembers the op on its output tensor. ``backward`` (the function here,
called by ``Tensor.backward``) sorts the recorded graph topologically with an explicit stack
(no recursion limit) and walks it in reverse, handing each op the gradient of its output
(``grad_out``) and routing the gradients it returns to its inputs.
"""

from .tensor import Tensor

__all__ = ["Op", "no_grad", "enable_grad", "is_grad_enabled", "backward"]

_grad_enabled = True


def is_grad_enabled():
    """True unless inside ``no_grad()``."""
    return _grad_enabled


class no_grad:
    """Context manager (and decorator-free switch): ops inside record no graph.

    Example:
        with glassnet.no_grad():
            y = model(x)          # y.requires_grad is False, nothing is kept for backward
    """

    _enabled_inside = False

    def __enter__(self):
        global _grad_enabled
        self._before, _grad_enabled = _grad_enabled, self._enabled_inside
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._before
        return False


class enable_grad(no_grad):
    """Context manager that turns graph recording back on inside a ``no_grad`` block."""

    _enabled_inside = True


class Op:
    """One differentiable operation: ``forward`` and ``backward`` on raw arrays, side by side.

    A subclass writes:
        forward(self, *arrays, **attrs) -> array   saves on ``self`` only what backward needs;
        backward(self, grad_out) -> tuple           one gradient (or None) per input, already
                                                    reduced to that input's shape.
    ``self.needs`` is a tuple of booleans, one per input, telling whether that input wants a
    gradient; backward may skip the work for the others (return None there).
    """

    needs = ()

    def forward(self, *arrays, **attrs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward (abstract)")

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define backward (abstract)")

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Run the op on Tensors and record it when any input requires a gradient."""
        op = cls()
        needs = tuple([t.requires_grad for t in inputs])
        record = _grad_enabled and True in needs
        op.needs = needs
        data = op.forward(*[t.data for t in inputs], **attrs)
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._hooks, out._logits = data, None, None, None
        if record:
            out.requires_grad, out._op = True, op
            op.parents = inputs
        else:
            out.requires_grad, out._op = False, None
        return out


class _FreedOp:
    """Stands in for an op whose saved arrays were released after a backward pass."""

    def backward(self, grad_out):
        raise RuntimeError(
            "backward: expected a graph that still holds its saved arrays, got one freed by an "
            "earlier backward(); pass retain_graph=True to the first backward() to keep it"
        )


_FREED = _FreedOp()


def _topological_order(root):
    """Tensors reachable from ``root`` through recorded ops, inputs before outputs."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        op = tensor._op
        if op is not None and op is not _FREED:
            for parent in op.parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
        elif op is _FREED:
            _FREED.backward(None)
    return order


def backward(root, grad, retain_graph=False):
    """Reverse-mode sweep: accumulate d root / d leaf into every leaf's ``.grad``.

    Gradients are never modified in place (a backward may return its ``grad_out`` itself),
    so sums build new arrays; leaf gradients accumulate across calls as in PyTorch.
    """
    grads = {id(root): grad}
    for tensor in reversed(_topological_order(root)):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if tensor._hooks:
            for hook in tensor._hooks.values():
                replaced = hook(g)
                if replaced is not None:
                    g = replaced
        op = tensor._op
        if op is None:
            if tensor.grad is None:
                tensor.grad = g if g.flags.writeable else g.copy()  # not a broadcast view
            else:
                tensor.grad = tensor.grad + g
            continue
        for parent, g_in in zip(op.parents, op.backward(g)):
            if g_in is None or not parent.requires_grad:
                continue
            key = id(parent)
            before = grads.get(key)
            grads[key] = g_in if before is None else before + g_in
        if not retain_graph:
            tensor._op = _FREED
