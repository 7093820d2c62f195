"""``Tensor``: an array that remembers how it was made, so gradients can flow back through it.

Arithmetic operators and methods (``a + b``, ``a @ b``, ``a.sum()``) are attached by
``glassnet.ops._tensor_methods`` from one table, because this floor may not import ``ops``.
"""

import numpy as np

from ..backend import default_dtype, to_host, xp

__all__ = ["Tensor", "tensor", "from_numpy"]


_sweep = None  # graph.backward, installed by graph.py (which imports this module)


class Tensor:
    """An array with an optional gradient and the op that produced it.

    Attributes:
        data: the array (NumPy, or CuPy later).
        grad: d(loss)/d(this tensor) after ``backward()``, same shape and dtype; accumulates
            across backward calls until reset (``optimizer.zero_grad()`` sets it to None).
        requires_grad: whether gradients are computed for it.
        grad_buffer: for a leaf, None or an array of its shape and dtype where a backward
            writes the gradient when ``grad`` is None (``grad`` then becomes that array; an op
            writes into it directly only if it is C-contiguous, else it is copied in). An
            optimizer with flat buffers points it at the parameter's slot, so the gradient
            lands there without a copy (``linear`` computes grad_W straight into it).
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_buffer", "_op", "_hooks", "_grad_in",
                 "_fitted", "__weakref__")
    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        self.data = data if isinstance(data, xp.ndarray) else xp.asarray(data)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"Tensor: expected a floating dtype for requires_grad=True, got {self.data.dtype}"
            )
        self.grad = None
        self.grad_buffer = None
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._hooks = None
        self._grad_in = None  # the gradient waiting here while a backward sweep runs
        self._fitted = None  # (grad_buffer, weakref to data) the sweep last found to fit

    def __getstate__(self):
        # pickling and copy.deepcopy: the slots, less what a backward sweep remembered about
        # grad_buffer (a weak reference, which cannot be pickled)
        names = [name for name in Tensor.__slots__ if name != "__weakref__" and hasattr(self, name)]
        state = {name: getattr(self, name) for name in names}
        state["_fitted"] = None
        return None, state

    shape = property(lambda self: self.data.shape, doc="Shape of the data.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="dtype of the data.")

    @property
    def is_leaf(self):
        """True for tensors made by the user (parameters, inputs), not by an op."""
        return self._op is None

    @property
    def op(self):
        """The recorded op that computed this tensor (its ``inputs`` are the Tensors it used),
        or None for a leaf and for a tensor computed without a graph. After a backward that
        freed the graph it is a stand-in that holds nothing."""
        return self._op

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(to_host(self.data), precision=4)}{grad})"

    def numpy(self):
        """The data as a NumPy array (no copy on the NumPy backend)."""
        return to_host(self.data)

    def item(self):
        """The value of a one-element tensor as a Python float."""
        return self.data.item()

    def detach(self):
        """A new leaf tensor sharing this data, cut off from the graph."""
        return Tensor(self.data)

    def backward(self, grad=None, retain_graph=False):
        """Compute gradients of this tensor with respect to every leaf that requires them.

        Args:
            grad: d(final)/d(this); may be omitted for a one-element tensor (taken as 1).
            retain_graph: keep the saved arrays so that backward can run through the graph
                again; by default the graph is freed.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: expected a tensor that requires grad, got one with "
                "requires_grad=False (was it computed under no_grad(), or from constants?)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: expected a one-element tensor when no grad is given, got shape "
                    f"{self.shape}; pass grad= of that shape"
                )
            grad = xp.array(1, self.data.dtype)  # ones_like, at a fifth of its cost
            if self.data.ndim:
                grad = grad.reshape(self.data.shape)
        else:
            grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: expected grad of shape {self.shape}, got {grad.shape}")
        _sweep(self, grad, retain_graph)

    def register_hook(self, fn):
        """Call ``fn(grad)`` when the gradient flowing into this tensor is complete.

        ``fn`` may return a replacement gradient (same shape) or None to keep it. Returns a
        handle whose ``remove()`` takes the hook away.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook: expected a tensor that requires grad, got one that doesn't"
            )
        if self._hooks is None:
            self._hooks = {}
        return HookHandle(self._hooks, fn)


class HookHandle:
    """Adds ``fn`` to a dict of hooks under a fresh key; ``remove()`` takes it away again.

    What ``Tensor.register_hook`` and ``Module.register_forward_hook`` return. Hooks run in
    the order they were added (the keys only grow); removing one twice is harmless.
    """

    _next = 0

    def __init__(self, hooks, fn):
        self.hooks, self.key = hooks, HookHandle._next
        HookHandle._next += 1
        hooks[self.key] = fn

    def remove(self):
        """Detach the hook."""
        self.hooks.pop(self.key, None)


def tensor(array, requires_grad=False, dtype=None):
    """Make a leaf Tensor from a copy of an array-like (as ``torch.tensor`` copies).

    With ``dtype=None`` a NumPy floating array keeps its dtype (float64 stays float64); any
    other input (lists, ints, bools) becomes the default dtype, float32. Changing the array
    afterwards does not change the tensor; ``from_numpy`` shares it instead.
    """
    if isinstance(array, Tensor):
        array = array.data
    if dtype is None:
        is_float_array = isinstance(array, xp.ndarray) and np.issubdtype(array.dtype, np.floating)
        dtype = array.dtype if is_float_array else default_dtype()
    return Tensor(xp.array(array, dtype=dtype, copy=True), requires_grad=requires_grad)


def from_numpy(array, requires_grad=False):
    """A leaf Tensor that shares ``array``'s memory and keeps its dtype (as
    ``torch.from_numpy``): writing to one changes the other.

    Raises:
        TypeError: ``array`` is not an array of the active backend.
    """
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return Tensor(array, requires_grad=requires_grad)
