"""The graph: the ``Op`` base class, grad mode and the reverse walk that runs backward passes.

An op is the unit of differentiation. ``Op.apply`` runs ``forward`` on raw arrays and, when a
gradient is wanted, remembers the op on its output tensor (``tensor.op``, with the input
Tensors in ``op.inputs``). ``backward`` (the function here, called by ``Tensor.backward``)
orders the recorded graph topologically without recursion and walks it in reverse, handing
each op the gradient of its output (``grad_out``) and routing the gradients it returns to its
inputs. ``walk`` gives the same order to code above this floor that needs to read the graph.
"""

import itertools

from ..backend import xp
from .tensor import Tensor

__all__ = ["Op", "IndexedGrad", "no_grad", "enable_grad", "is_grad_enabled", "backward", "walk"]

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
                                                    reduced to that input's shape;
        jvp(self, *tangents) -> array               forward mode: the tangent of the output
                                                    from one tangent (or None: a constant) per
                                                    input, using what forward saved.
    A recorded op (one whose output requires a gradient) has the public attributes
    ``inputs`` (the input Tensors, in order) and ``needs`` (one boolean per input: does it
    want a gradient; backward may return None for the others).

    ``saves_arrays = False`` declares that backward and jvp use no array saved by forward
    (add, sum, reshape, ...): such a node survives a backward, so a second backward through a
    graph of them accumulates again (as in torch), and its inputs are not guarded.
    ``saved_inputs`` narrows the guard to the inputs whose arrays forward keeps (``linear``
    keeps a_prev and W, not b). While a recorded op that saves arrays is alive, those arrays,
    where they belong to leaf inputs (parameters, user inputs), are read-only: changing one in place before backward would make the gradient
    wrong, so NumPy refuses the write ("assignment destination is read-only"), the way torch's
    version counter refuses the backward. The guard is lifted when the op is released (after
    backward, or when its graph is dropped).
    """

    needs = ()
    inputs = ()
    saves_arrays = True
    saved_inputs = None  # indices of the inputs whose arrays forward saves (None: all)

    def forward(self, *arrays, **attrs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward (abstract)")

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define backward (abstract)")

    def jvp(self, *tangents):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define jvp (forward mode; abstract)")

    @classmethod
    def apply(cls, *inputs, **attrs):
        """Run the op on Tensors and record it when any input requires a gradient.

        Without a gradient to record, this is forward plus a Tensor around its result: no
        numbering, no needs, no inputs kept (most ops of small networks have one input, which
        gets a path of its own: this is the per-op overhead that dominates them).
        """
        op = cls()
        if len(inputs) == 1:
            x = inputs[0]
            data = op.forward(x.data, **attrs)
            record = _grad_enabled and x.requires_grad
            needs = _ONE_NEEDS
        else:
            data = op.forward(*[t.data for t in inputs], **attrs)
            record = False
            if _grad_enabled:
                needs = tuple([t.requires_grad for t in inputs])
                record = True in needs
        if type(data) is not xp.ndarray:  # full reductions give NumPy scalars
            data = xp.asarray(data)
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._hooks = data, None, None
        if record:
            op.needs, op.inputs, op.order = needs, inputs, next(_counter)
            out.requires_grad, out._op = True, op
            if cls.saves_arrays:
                saved = cls.saved_inputs
                if saved is None:
                    _guard(op, inputs)
                elif saved:  # () : forward keeps only arrays it made itself
                    _guard(op, [inputs[i] for i in saved if i < len(inputs)])
        else:
            out.requires_grad, out._op = False, None
        if _tangent_hook is not None:  # inside autodiff.forward.jvp: push tangents through op
            _tangent_hook(op, inputs, out)
        return out


_ONE_NEEDS = (True,)


class _Guard:
    """Keeps leaf arrays read-only for as long as the op that saved them lives."""

    __slots__ = ("arrays",)
    waiting = []  # views whose base was still guarded when they were released: retried later

    def __init__(self, arrays):
        self.arrays = arrays

    def __del__(self):
        waiting = _Guard.waiting
        for array in self.arrays:
            try:
                array.setflags(write=True)
            except ValueError:  # a view (tied weights) of a base another op still guards
                waiting.append(array)
        if waiting and self.arrays[0] is not waiting[-1]:
            for array in waiting[:]:
                try:
                    array.setflags(write=True)
                    waiting.remove(array)
                except ValueError:
                    pass


def _guard(op, inputs):
    """Make the writable arrays of the op's leaf inputs read-only until the op is released."""
    arrays = None
    for t in inputs:
        if t._op is None:
            array = t.data
            try:
                if not array.flags.writeable:
                    continue  # read-only already (guarded by an earlier op, or by its owner)
                array.setflags(write=False)
            except AttributeError:  # an array type without the flag (CuPy): nothing to guard
                return
            if arrays is None:
                arrays = [array]
            else:
                arrays.append(array)
    if arrays is not None:
        op._guard = _Guard(arrays)


def _set_tangent_hook(hook):
    """Install ``hook(op, inputs, out)``, run after every op (forward mode); returns the old one."""
    global _tangent_hook
    before, _tangent_hook = _tangent_hook, hook
    return before


class _FreedOp:
    """Stands in for an op whose saved arrays were released after a backward pass."""

    inputs = ()
    saves_arrays = True

    def backward(self, grad_out):
        raise RuntimeError(
            "backward: expected a graph that still holds its saved arrays, got one freed by an "
            "earlier backward(); pass retain_graph=True to the first backward() to keep it"
        )

    def __repr__(self):
        return "<freed op>"


_FREED = _FreedOp()


class IndexedGrad:
    """A gradient that is zero except at ``index``, where it is ``values``: what ``a[index]``
    sends back to ``a``.

    The sweep adds such pieces into one array of a's shape (allocated once) instead of
    allocating a full-size array of zeros per slice, so stepping through a sequence slice by
    slice costs O(T) memory and time, not O(T^2).
    """

    __slots__ = ("shape", "dtype", "index", "values", "basic")

    def __init__(self, shape, dtype, index, values, basic):
        self.shape, self.dtype, self.index, self.values, self.basic = shape, dtype, index, values, basic

    def add_into(self, array):
        """array[index] += values (repeated indices add up)."""
        if self.basic:
            array[self.index] += self.values
        else:
            xp.add.at(array, self.index, self.values)
        return array

    def dense(self):
        """The gradient as a full array."""
        return self.add_into(xp.zeros(self.shape, self.dtype))

    def astype(self, dtype):
        """The same piece in another dtype."""
        return IndexedGrad(self.shape, dtype, self.index, self.values.astype(dtype), self.basic)


def walk(root):
    """The tensors of the graph recorded behind ``root``, newest op first: a reverse
    topological order (every tensor comes before the tensors it was computed from), then the
    leaves that require a gradient. Each yields once; ``tensor.op`` is None for a leaf."""
    nodes, leaves = _reachable(root)
    return nodes + leaves


def _reachable(root):
    """The op-made tensors reachable from ``root`` (latest first) and the leaves that need a
    gradient. Ops are numbered as they run, so every op comes after the ops that made its
    inputs; sorting by that number, newest first, is a valid reverse topological order."""
    keyed, leaves, seen, stack = [], [], {id(root)}, [root]
    while stack:
        tensor = stack.pop()
        op = tensor._op
        if op is None:
            leaves.append(tensor)
            continue
        if op is _FREED:
            _FREED.backward(None)
        keyed.append((op.order, tensor))
        for parent in op.inputs:
            if parent.requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    keyed.sort(key=_first, reverse=True)
    return [tensor for _, tensor in keyed], leaves


def _first(pair):
    return pair[0]


def _run_hooks(tensor, g):
    for hook in tensor._hooks.values():
        replaced = hook(g)
        if replaced is not None:
            g = replaced
    return g


def _accumulate(before, g, owned):
    """before + g, where each is an array or an IndexedGrad; adds in place into ``before``
    when this sweep made it (its id is in ``owned``), else makes one new array (then owned)."""
    if type(before) is IndexedGrad:
        if type(g) is IndexedGrad:
            total = before.dense()
            owned.add(id(total))
            return g.add_into(total)
        before, g = g, before
    if id(before) in owned:
        if type(g) is IndexedGrad:
            return g.add_into(before)
        before += g
        return before
    total = g.add_into(before.copy()) if type(g) is IndexedGrad else before + g
    owned.add(id(total))
    return total


def backward(root, grad, retain_graph=False):
    """Reverse-mode sweep: accumulate d root / d leaf into every leaf's ``.grad``.

    A gradient an op returns is never modified in place (it may be its ``grad_out`` itself,
    shared by several inputs); where a tensor collects several, the first sum makes a new
    array and later ones add into it. Each gradient is cast to the dtype of the tensor it
    reaches. Leaf gradients accumulate across calls as in PyTorch: into the existing
    ``.grad`` array, in place (an optimizer's flat gradient buffer stays the same array).
    Hooks see the complete gradient of their tensor, once per sweep.
    """
    nodes, leaves = _reachable(root)
    grads = {id(root): grad}
    owned = set()  # ids of the arrays this sweep made and still holds: safe to add into
    for tensor in nodes:
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if owned:
            owned.discard(id(g))
        if type(g) is IndexedGrad:
            g = g.dense()
        if tensor._hooks:
            g = _run_hooks(tensor, g)
        op = tensor._op
        for parent, g_in in zip(op.inputs, op.backward(g)):
            if g_in is None or not parent.requires_grad:
                continue
            dtype = parent.data.dtype
            if g_in.dtype is not dtype and g_in.dtype != dtype:
                g_in = g_in.astype(dtype)
            key = id(parent)
            before = grads.get(key)
            grads[key] = g_in if before is None else _accumulate(before, g_in, owned)
        if not retain_graph and op.saves_arrays:
            tensor._op = _FREED
    given = {id(grad)}  # arrays a leaf may not own: the caller's grad and those given out
    for tensor in leaves:
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        made_here = id(g) in owned
        existing = tensor.grad
        if type(g) is IndexedGrad:
            if existing is not None and not tensor._hooks and _addable(existing, g):
                g.add_into(existing)
                continue
            g, made_here = g.dense(), True
        if tensor._hooks:
            g = _run_hooks(tensor, g)
            made_here = False
        if existing is not None:
            if _addable(existing, g):
                existing += g
            else:
                tensor.grad = existing + g
            continue
        if not made_here and (id(g) in given or not g.flags.owndata):
            g = g.copy()  # shared or a view: each leaf owns its grad
        given.add(id(g))
        tensor.grad = g


def _addable(existing, g):
    """True when ``g`` can be added into the array ``existing`` in place."""
    return (
        type(existing) is xp.ndarray
        and existing.shape == g.shape
        and existing.dtype == g.dtype
        and getattr(existing.flags, "writeable", True)
    )
