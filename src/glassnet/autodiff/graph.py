"""The graph: the ``Op`` base class, grad mode and the reverse walk that runs backward passes.

An op is the unit of differentiation. ``Op.apply`` runs ``forward`` on raw arrays and, when a
gradient is wanted, remembers the op on its output tensor. ``backward`` (the function here,
called by ``Tensor.backward``) sorts the recorded graph topologically with an explicit stack
(no recursion limit) and walks it in reverse, handing each op the gradient of its output
(``grad_out``) and routing the gradients it returns to its inputs.
"""

import itertools

from ..backend import xp
from .tensor import Tensor

__all__ = ["Op", "no_grad", "enable_grad", "is_grad_enabled", "backward"]

_grad_enabled = True
_tangent_hook = None  # forward mode (autodiff/forward.py): called as hook(op, inputs, out)
_counter = itertools.count()  # numbers ops in the order they run (for the backward sweep)


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
        jvp(self, *tangents) -> array               forward mode: the tangent of the output
                                                    from one tangent (or None: a constant) per
                                                    input, using what forward saved.
    ``self.needs`` is a tuple of booleans, one per input, telling whether that input wants a
    gradient; backward may skip the work for the others (return None there).
    """

    needs = ()

    def forward(self, *arrays, **attrs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward (abstract)")

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define backward (abstract)")

    def jvp(self, *tangents):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define jvp (forward mode; abstract)")

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Run the op on Tensors and record it when any input requires a gradient."""
        op = cls()
        op.order = next(_counter)
        needs = tuple([t.requires_grad for t in inputs])
        record = _grad_enabled and True in needs
        op.needs = needs
        data = op.forward(*[t.data for t in inputs], **attrs)
        if type(data) is not xp.ndarray:  # full reductions give NumPy scalars
            data = xp.asarray(data)
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._hooks, out._logits = data, None, None, None
        if record:
            out.requires_grad, out._op = True, op
            op.parents = inputs
        else:
            out.requires_grad, out._op = False, None
        if _tangent_hook is not None:  # inside autodiff.forward.jvp: push tangents through op
            _tangent_hook(op, inputs, out)
        return out


def _set_tangent_hook(hook):
    """Install ``hook(op, inputs, out)``, run after every op (forward mode); returns the old one."""
    global _tangent_hook
    before, _tangent_hook = _tangent_hook, hook
    return before


class _FreedOp:
    """Stands in for an op whose saved arrays were released after a backward pass."""

    def backward(self, grad_out):
        raise RuntimeError(
            "backward: expected a graph that still holds its saved arrays, got one freed by an "
            "earlier backward(); pass retain_graph=True to the first backward() to keep it"
        )


_FREED = _FreedOp()


def _reachable(root):
    """The op-made tensors reachable from ``root`` (latest first) and the leaves that need a
    gradient. Ops are numbered as they run, so every op comes after the ops that made its
    inputs; sorting by that number, newest first, is a valid reverse topological order."""
    nodes, leaves, seen, stack = [], [], {id(root)}, [root]
    while stack:
        tensor = stack.pop()
        op = tensor._op
        if op is None:
            leaves.append(tensor)
            continue
        if op is _FREED:
            _FREED.backward(None)
        nodes.append(tensor)
        for parent in op.parents:
            if parent.requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    nodes.sort(key=_order_key, reverse=True)
    return nodes, leaves


def _order_key(tensor):
    return tensor._op.order


def _run_hooks(tensor, g):
    for hook in tensor._hooks.values():
        replaced = hook(g)
        if replaced is not None:
            g = replaced
    return g


def backward(root, grad, retain_graph=False):
    """Reverse-mode sweep: accumulate d root / d leaf into every leaf's ``.grad``.

    Gradients are never modified in place (a backward may return its ``grad_out`` itself),
    so sums build new arrays; leaf gradients accumulate across calls as in PyTorch. Hooks
    see the complete gradient of their tensor, once per sweep.
    """
    nodes, leaves = _reachable(root)
    grads = {id(root): grad}
    for tensor in nodes:
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if tensor._hooks:
            g = _run_hooks(tensor, g)
        op = tensor._op
        for parent, g_in in zip(op.parents, op.backward(g)):
            if g_in is not None and parent.requires_grad:
                key = id(parent)
                before = grads.get(key)
                grads[key] = g_in if before is None else before + g_in
        if not retain_graph:
            tensor._op = _FREED
    given = {id(grad)}  # arrays a leaf may not own: the caller's grad and those given out
    for tensor in leaves:
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if tensor._hooks:
            g = _run_hooks(tensor, g)
        if tensor.grad is not None:
            tensor.grad = tensor.grad + g
            continue
        if id(g) in given or not g.flags.owndata:  # shared or a view: each leaf owns its grad
            g = g.copy()
        given.add(id(g))
        tensor.grad = g
