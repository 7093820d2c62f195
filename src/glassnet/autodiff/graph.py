"""The graph: the ``Op`` base class, grad mode and the reverse walk that runs backward passes.

An op is the unit of differentiation. ``Op.apply`` runs ``forward`` on raw arrays and, when a
gradient is wanted, remembers the op on its output tensor (``tensor.op``, with the input
Tensors in ``op.inputs``). ``backward`` (the function here, called by ``Tensor.backward``)
walks the recorded graph in reverse topological order without recursion (a heap of the
waiting tensors, keyed by their ops' numbers), handing each op the gradient of its output
(``grad_out``) and routing the gradients it returns to its inputs. ``walk`` gives the same
order to code above this floor that needs to read the graph.
"""

import heapq
import itertools
import threading
import weakref

from ..backend import xp
from . import tensor as _tensor_module
from .tensor import Tensor

__all__ = ["Op", "IndexedGrad", "no_grad", "enable_grad", "is_grad_enabled", "backward", "walk"]

_grad_enabled = True
_tangent_hook = None  # forward mode (autodiff/forward.py): called as hook(op, inputs, out)
_counter = itertools.count(0, -1)  # numbers ops as they run, counting down: newest lowest


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
    ``writes_into = True`` declares that backward can compute the gradient of input i straight
    into the array ``self.into[i]`` (``out=``) when the sweep offers one (not None): the
    ``grad_buffer`` of a leaf that has no gradient yet, stored or waiting in the sweep (a
    gradient that reaches it later in the sweep is added to what the op wrote).
    ``saved_inputs`` narrows the guard to the inputs whose arrays forward keeps (``linear``
    keeps a_prev and W, not b). While a recorded op that saves arrays is alive, those arrays,
    where they belong to leaf inputs (parameters, user inputs), are read-only: changing one in
    place before backward would make the gradient wrong, so NumPy refuses the write
    ("assignment destination is read-only"), the way torch's version counter refuses the
    backward. The guard is lifted when the op is released (after backward, or when its graph is
    dropped).
    """

    needs = ()
    inputs = ()
    saves_arrays = True
    saved_inputs = None  # indices of the inputs whose arrays forward saves (None: all)
    writes_into = False  # True: backward may write a leaf's gradient into ``self.into[i]``
    into = ()

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
        numbering, no needs, no inputs kept. Ops with one, two or three inputs (nearly all)
        take paths without the list building of the general case: this is the per-op overhead
        that dominates small networks.
        """
        op = cls()
        n = len(inputs)
        if n == 1:
            x = inputs[0]
            data = op.forward(x.data, **attrs) if attrs else op.forward(x.data)
            record = x.requires_grad and _grad_enabled
            needs = _ONE_NEEDS
        else:
            if n == 2:
                a, b = inputs
                data = op.forward(a.data, b.data, **attrs)
                needs = (a.requires_grad, b.requires_grad)
            elif n == 3:
                a, b, c = inputs
                data = op.forward(a.data, b.data, c.data, **attrs)
                needs = (a.requires_grad, b.requires_grad, c.requires_grad)
            else:
                data = op.forward(*[t.data for t in inputs], **attrs)
                needs = tuple([t.requires_grad for t in inputs])
            record = _grad_enabled and True in needs
        if type(data) is not xp.ndarray:  # full reductions give NumPy scalars
            data = xp.asarray(data)
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = out.grad_buffer = out._hooks = out._grad_in = None
        if record:
            op.needs, op.inputs, op.order = needs, inputs, next(_counter)
            out.requires_grad, out._op = True, op
            if cls.saves_arrays:
                saved = cls.saved_inputs
                if saved is None:
                    _guard(op, inputs)
                elif saved:  # () : forward keeps only arrays it made itself
                    _guard(op, inputs, saved)
        else:
            out.requires_grad, out._op = False, None
        if _tangent_hook is not None:  # inside autodiff.forward.jvp: push tangents through op
            _tangent_hook(op, inputs, out)
        return out


_ONE_NEEDS = (True,)


class _Guard(list):
    """The leaf arrays an op made read-only, writable again when the op is released (after
    backward, or when its graph is dropped): the op holds this list, and its end is the
    release."""

    __slots__ = ()
    waiting = []  # views whose base was still guarded when they were released: retried later

    def __del__(self):
        waiting = _Guard.waiting
        for array in self:
            try:
                array.setflags(True)  # write=True, positional: a third of the keyword's cost
            except ValueError:  # a view (tied weights) of a base another op still guards
                waiting.append(array)
        if waiting and self[0] is not waiting[-1]:
            for array in waiting[:]:
                try:
                    array.setflags(True)
                    waiting.remove(array)
                except ValueError:
                    pass


def _guard(op, inputs, saved=None):
    """Make the writable arrays of the op's leaf inputs (those at the indices ``saved``, or
    all) read-only until the op is released."""
    guard = None
    for i in range(len(inputs)) if saved is None else saved:
        if i >= len(inputs):
            continue
        t = inputs[i]
        if t._op is None:
            array = t.data
            try:
                if not array.flags.writeable:
                    continue  # read-only already (guarded by an earlier op, or by its owner)
            except AttributeError:  # an array type without the flag (CuPy): nothing to guard
                return
            array.setflags(False)  # write=False
            if guard is None:
                guard = op._guard = _Guard()
            guard.append(array)


def _set_tangent_hook(hook):
    """Install ``hook(op, inputs, out)``, run after every op (forward mode); returns the old one."""
    global _tangent_hook
    before, _tangent_hook = _tangent_hook, hook
    return before


class _FreedOp:
    """Stands in for an op whose saved arrays were released after a backward pass."""

    inputs = ()
    saves_arrays = True

    @property
    def order(self):
        """A sweep that reaches a freed op asks for its number first: that is the error."""
        return self.backward(None)

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
        self.shape, self.dtype, self.index = shape, dtype, index
        self.values, self.basic = values, basic

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
    keyed, leaves, stack, seen = [], [], [root], {id(root)}
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
    keyed.sort(key=_first)  # newest first: ops are numbered counting down
    return [tensor for _, tensor in keyed] + leaves


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


_running = threading.local()  # .sweeps: (heap, leaves) of this thread's sweeps running now


def backward(root, grad, retain_graph=False):
    """Reverse-mode sweep: accumulate d root / d leaf into every leaf's ``.grad``.

    The gradient waiting for a tensor is kept on the tensor itself (``_grad_in``) while the
    sweep runs; op-made tensors wait in a heap keyed by their op's number, newest first, so a
    tensor is taken only once every op that consumed it has sent its gradient (the numbers
    order the graph: an op runs after the ops that made its inputs). A gradient an op returns
    is never modified in place (it may be its ``grad_out`` itself, shared by several inputs);
    where a tensor collects several, the first sum makes a new array and later ones add into
    it. Each gradient is cast to the dtype of the tensor it reaches. Leaf gradients, handled
    last, accumulate across calls as in PyTorch: into the existing ``.grad`` array, in place
    (an optimizer's flat gradient buffer stays the same array). Hooks see the complete
    gradient of their tensor, once per sweep.
    """
    if root._op is _FREED:
        _FREED.backward(None)
    heap, leaves = [], []
    sweeps = getattr(_running, "sweeps", None)
    if sweeps is None:
        sweeps = _running.sweeps = []
    parked = _park(sweeps) if sweeps else None  # a backward run by a hook of another backward
    sweeps.append((heap, leaves))
    try:
        root._grad_in = grad
        if root._op is None:
            leaves.append(root)
        else:
            heap.append((0, root))
        _sweep(heap, leaves, retain_graph)
        _leaf_gradients(leaves, grad)
    except BaseException:  # (a hook raised, or a freed op was reached): forget what was waiting
        for _, tensor in heap:
            tensor._grad_in = None
        for tensor in leaves:
            tensor._grad_in = None
        raise
    finally:
        sweeps.pop()
        if parked is not None:
            for tensor, g in parked:
                tensor._grad_in = g


_tensor_module._sweep = backward  # what Tensor.backward calls


def _park(sweeps):
    """Take the waiting gradients of the running ``sweeps`` off their tensors (a hook runs a
    backward of its own); returns (tensor, gradient) pairs to put back afterwards."""
    parked = []
    for heap, leaves in sweeps:
        for tensor in [t for _, t in heap] + leaves:
            if tensor._grad_in is not None:
                parked.append((tensor, tensor._grad_in))
                tensor._grad_in = None
    return parked


def _sweep(heap, leaves, retain_graph):
    """Run the ops' backward, newest first, until only leaves are waiting."""
    owned = set()  # ids of the arrays this sweep made and still holds: safe to add into
    pop, push, indexed = heapq.heappop, heapq.heappush, IndexedGrad
    freed, free = _FREED, not retain_graph
    while heap:
        tensor = pop(heap)[1]
        g = tensor._grad_in
        tensor._grad_in = None
        if owned:
            owned.discard(id(g))
        if type(g) is indexed:
            g = g.dense()
        if tensor._hooks:
            g = _run_hooks(tensor, g)
            if g.dtype != tensor.data.dtype:  # a replacement goes on in the tensor's dtype
                g = g.astype(tensor.data.dtype)
        op = tensor._op
        if op.writes_into:
            op.into = _destinations(op)
        inputs, grads = op.inputs, op.backward(g)
        for parent, g_in in zip(inputs, grads) if len(inputs) > 1 else ((inputs[0], grads[0]),):
            if g_in is None or not parent.requires_grad:
                continue
            dtype = parent.data.dtype
            if g_in.dtype is not dtype and g_in.dtype != dtype:
                g_in = g_in.astype(dtype)
            before = parent._grad_in
            if before is None:
                parent._grad_in = g_in
                if parent._op is None:
                    leaves.append(parent)
                else:  # (a freed op raises here: its ``order`` is the error)
                    push(heap, (parent._op.order, parent))
            else:
                parent._grad_in = _accumulate(before, g_in, owned)
        if free and op.saves_arrays:
            tensor._op = freed


def _leaf_gradients(leaves, grad):
    """Store the gradients waiting at the leaves in ``.grad`` (see ``backward``)."""
    given = {id(grad)}  # arrays a leaf may not own: the caller's grad and those given out
    for tensor in leaves:
        g, tensor._grad_in = tensor._grad_in, None
        existing, home = tensor.grad, tensor.grad_buffer
        if existing is None and home is not None:
            if g is home:  # an op wrote it there (see _destinations)
                tensor.grad = home
                continue
            if not tensor._hooks and _fits(home, tensor):
                if type(g) is IndexedGrad:
                    home.fill(0)
                    g.add_into(home)
                else:
                    home[...] = g
                tensor.grad = home
                continue
        if type(g) is IndexedGrad:
            if existing is not None and not tensor._hooks and _addable(existing, g):
                g.add_into(existing)
                continue
            g = g.dense()
        if tensor._hooks:
            g = _run_hooks(tensor, g)
        if existing is not None:
            if _addable(existing, g):
                existing += g
            else:
                tensor.grad = existing + g
            continue
        if id(g) in given or not g.flags.owndata:
            g = g.copy()  # shared or a view: each leaf owns its grad
        given.add(id(g))
        tensor.grad = g


def _destinations(op):
    """What an op that ``writes_into`` may write each input's gradient into: the
    ``grad_buffer`` of a leaf it needs a gradient for that has none yet (none stored, none
    waiting in this sweep) and no hooks; None elsewhere (and for a second use of one leaf by
    the op). A gradient that reaches the leaf later in the sweep is added to what the op wrote."""
    into = []
    for t, need in zip(op.inputs, op.needs):
        home = t.grad_buffer if need else None  # (None for a tensor an op made)
        if home is not None:
            if t.grad is not None or t._grad_in is not None or t._hooks or not _still_fits(home, t):
                home = None
            else:
                for other in into:  # (by identity: ``in`` would compare the values)
                    if other is home:
                        home = None
                        break
        into.append(home)
    return into


def _still_fits(buffer, tensor):
    """``_fits``, remembered for the pair (buffer, data) of a leaf (the data weakly, so that an
    array replaced by another is not kept alive): parameters keep both across steps, so the
    check runs once, not on every backward."""
    try:
        fitted = tensor._fitted
    except AttributeError:  # a tensor an op made (outside a graph) that became a leaf
        fitted = None
    if fitted is not None and fitted[0] is buffer and fitted[1]() is tensor.data:
        return True
    tensor._fitted = (buffer, weakref.ref(tensor.data)) if _fits(buffer, tensor) else None
    return tensor._fitted is not None


def _fits(buffer, tensor):
    """True when ``buffer`` can hold the gradient of ``tensor`` (same shape and dtype, and
    contiguous: ops write into it with ``out=``)."""
    data = tensor.data
    return buffer.shape == data.shape and buffer.dtype == data.dtype and buffer.flags.c_contiguous


def _addable(existing, g):
    """True when ``g`` can be added into the array ``existing`` in place."""
    return (
        type(existing) is xp.ndarray
        and existing.shape == g.shape
        and existing.dtype == g.dtype
        and getattr(existing.flags, "writeable", True)
    )
