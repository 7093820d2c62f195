"""The optimizer base class: parameters in one flat buffer per dtype (or one by one), state,
and an in-place ``step``.

The flat path: at construction the parameters are copied into one contiguous buffer per
dtype, and each ``p.data`` becomes a view into it (each ``p.grad`` a view into a twin buffer of
gradients). An elementwise update then runs once per buffer, a handful of array calls instead
of a Python loop with ~10 NumPy calls per parameter; ``zero_grad`` fills the gradient buffer
with zeros, the backward sweep adds into the views in place, and the whole-vector methods
(BFGS, L-BFGS, SCG, Newton, LM) read and write the buffer instead of concatenating and
scattering. Parameters that cannot share a buffer (tied weights, one parameter listed twice,
arrays that are not plain floating ndarrays) keep the per-parameter path, as does
``flatten=False``.
"""

import numbers
import weakref
from abc import ABC, abstractmethod

import numpy as np

from ..autodiff import Tensor
from ..backend import xp
from .clip import _clip_arrays, clip_grad_norm, clip_grad_value

__all__ = ["Optimizer", "is_real"]


def is_real(value):
    """True for a real number (Python or NumPy), False for bools and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


# ---------------------------------------------------------------- flat buffers

# id(values buffer) -> _Layout, for every buffer made here: how a later optimizer recognises a
# parameter whose data is a view of one (not a tied weight) and reuses the buffer. An entry
# lives as long as its value buffer, i.e. as long as any parameter still views it.
_LAYOUTS = {}


class _Layout:
    """What a value buffer was cut into: its gradient twin and the views handed out (weakly,
    so that the registry keeps neither the views nor, through them, the buffer alive)."""

    __slots__ = ("data_refs", "grad_refs", "grads", "values")

    def __init__(self, values, grads, data_views, grad_views):
        key = id(values)
        self.values = weakref.ref(values, lambda _: _forget_layout(key))
        self.grads = grads
        self.data_refs = [weakref.ref(v) for v in data_views]
        self.grad_refs = [weakref.ref(g) for g in grad_views]


def _forget_layout(key):
    layout = _LAYOUTS.get(key)
    if layout is not None and layout.values() is None:
        del _LAYOUTS[key]


def _layout_of(array):
    """The _Layout of a value buffer made here, or None for any other array."""
    layout = _LAYOUTS.get(id(array))
    return layout if layout is not None and layout.values() is array else None


def _flattenable(params):
    """True when every parameter can move into a shared buffer without breaking a tie."""
    seen = set()
    for p in params:
        data = p.data
        if id(p) in seen or id(data) in seen:  # listed twice, or two parameters on one array
            return False
        if type(data) is not xp.ndarray or data.dtype.kind != "f":
            return False
        if data.base is not None and _layout_of(data.base) is None:  # a view of a foreign array
            return False
        seen.update((id(p), id(data)))
    return True


class _Group:
    """The parameters of one dtype in one buffer: ``values`` and ``grads`` (1-D), the views
    ``data_views[k]`` / ``grad_views[k]`` that ``params[k]`` holds, and the flat state of an
    elementwise update."""

    __slots__ = ("data_views", "grad_views", "grads", "index", "params", "spans", "spare",
                 "spare_views", "state", "values")  # fmt: skip

    def __init__(self, params, index):
        self.index, self.params = index, [params[i] for i in index]
        self.spare = self.spare_views = None  # a second value buffer, made by the first swap
        sizes = [p.data.size for p in self.params]
        stops = np.cumsum(sizes).tolist() if sizes else []
        self.spans = list(zip([0, *stops[:-1]], stops))
        self.state = {}
        data = [p.data for p in self.params]
        layout = _layout_of(data[0].base) if data[0].base is not None else None
        if layout is not None and len(layout.data_refs) == len(data) and all(
            ref() is d for ref, d in zip(layout.data_refs, data)
        ):  # flattened in exactly this order before: share that buffer and its views
            self.values, self.grads, self.data_views = data[0].base, layout.grads, data
            self.grad_views = [ref() for ref in layout.grad_refs]
            for k, g in enumerate(self.grad_views):
                if g is None:  # the old view died with its parameter's grad: cut a new one
                    self.grad_views[k] = self._cut(self.grads, k)
            layout.grad_refs = [weakref.ref(g) for g in self.grad_views]
        else:
            dtype = data[0].dtype
            self.values, self.grads = xp.empty(stops[-1], dtype), xp.zeros(stops[-1], dtype)
            self.data_views = [self._cut(self.values, k) for k in range(len(data))]
            self.grad_views = [self._cut(self.grads, k) for k in range(len(data))]
            for view, d in zip(self.data_views, data):
                view[...] = d
            layout = _Layout(self.values, self.grads, self.data_views, self.grad_views)
            _LAYOUTS[id(self.values)] = layout
        for p, w, g in zip(self.params, self.data_views, self.grad_views):
            if p.grad is None:
                g.fill(0)
            elif p.grad is not g:
                g[...] = p.grad
            p.data, p.grad, p.grad_buffer = w, g, g

    def _cut(self, buffer, k):
        start, stop = self.spans[k]
        return buffer[start:stop].reshape(self.params[k].data.shape)

    def out_buffer(self):
        """The buffer an out-of-place update writes the new weights into (made once)."""
        if self.spare is None:
            self.spare = xp.empty_like(self.values)
            self.spare_views = [self._cut(self.spare, k) for k in range(len(self.params))]
            # registered as the values are: a later optimizer over parameters that view it
            # recognises them (flat path, buffer shared) instead of taking them for ties
            _LAYOUTS[id(self.spare)] = _Layout(self.spare, self.grads, self.spare_views,
                                               self.grad_views)  # fmt: skip
        return self.spare

    def swap(self):
        """Make the out buffer the values (every parameter now views it); the old values,
        untouched by the update, become the next out buffer."""
        self.values, self.spare = self.spare, self.values
        self.data_views, self.spare_views = self.spare_views, self.data_views
        for p, w in zip(self.params, self.data_views):
            p.data = w

    def sync(self, owner):
        """Make every parameter point at its views again, copying in what was assigned
        (``p.grad = array``, ``p.data = array``); False when an assigned array no longer fits
        its slot (another shape or dtype), so the buffers must be rebuilt. ``owner``: the
        optimizer (named in the error)."""
        for p, w, g in zip(self.params, self.data_views, self.grad_views):
            if p.data is not w:
                data = p.data
                if type(data) is not xp.ndarray or data.shape != w.shape or data.dtype != w.dtype:
                    return False
                w[...] = data
                p.data = w
            elif not w.flags.writeable:  # the update writes through the buffer, past this flag
                raise ValueError(f"{type(owner).__name__}.step: expected weights that no live "
                                 f"graph has saved, got one of shape {w.shape}, read-only while "
                                 "a recorded op keeps it; run backward (or drop the graph) "
                                 "first")  # fmt: skip
            if p.grad is not g:
                if p.grad is None:  # a backward that reached nothing here, or a reset
                    g.fill(0)
                else:
                    g[...] = p.grad
                p.grad = g
        return True

    def split(self, flat):
        """Per-parameter views of a flat state value (one that is not an array of the buffer's
        length is copied to every parameter as it is)."""
        if not (isinstance(flat, xp.ndarray) and flat.shape == self.values.shape):
            return [flat] * len(self.params)
        return [flat[a:b].reshape(p.data.shape) for (a, b), p in zip(self.spans, self.params)]

    def merge(self, states):
        """The flat state from one dict per member parameter. A key some members lack gets
        zeros in their slots (the per-parameter path would initialise it at their first
        gradient; for momentum and the moment estimates zeros are that start). A value that
        is not an array of its parameter's size (a scalar) is taken from the first member."""
        merged = {}
        for key in dict.fromkeys(k for state in states for k in state):
            pieces = [state.get(key) for state in states]
            given = [(v, p) for v, p in zip(pieces, self.params) if v is not None]
            if not all(isinstance(v, xp.ndarray) and v.size == p.data.size for v, p in given):
                merged[key] = given[0][0]
                continue
            flat = xp.zeros(self.values.shape, given[0][0].dtype)
            for (a, b), value in zip(self.spans, pieces):
                if value is not None:
                    flat[a:b] = value.reshape(-1)
            merged[key] = flat
        self.state = merged


def _groups(params):
    """One _Group per dtype (in order of first appearance), or None when the parameters
    cannot share buffers."""
    if not _flattenable(params):
        return None
    by_dtype = {}
    for i, p in enumerate(params):
        by_dtype.setdefault(p.data.dtype, []).append(i)
    return [_Group(params, index) for index in by_dtype.values()]


# ---------------------------------------------------------------- the base class


def _check_params(name, params):
    """The parameters as a list, refusing a Module, a lone Tensor and plain arrays."""
    if hasattr(params, "named_parameters"):
        raise TypeError(f"{name}: expected the model's parameters, got the {type(params).__name__} "
                        f"itself; pass model.parameters()")  # fmt: skip
    if isinstance(params, (Tensor, xp.ndarray)):
        raise TypeError(f"{name}: expected a list of Parameters, got a single "
                        f"{type(params).__name__}; wrap it in a list")  # fmt: skip
    params = list(params)
    if not params:
        raise ValueError(f"{name}: expected parameters to optimize, got none")
    for i, p in enumerate(params):
        if not (isinstance(p, Tensor) and p.requires_grad):
            got = "a Tensor with requires_grad=False" if isinstance(p, Tensor) else type(p).__name__
            raise TypeError(f"{name}: expected Parameters (Tensors that require grad), got {got} "
                            f"at position {i}")  # fmt: skip
    return params


class Optimizer(ABC):
    """Holds parameters and their state; ``step()`` updates ``param.data`` in place from
    ``param.grad``.

    ``weight_decay`` follows torch: g := g + weight_decay * w before the update, for every
    parameter the optimizer holds (biases included). Hyperparameters are plain attributes, so
    schedules and callbacks may change ``opt.lr`` between steps.

    Flat buffers (``flatten=True``, the default): the parameters move into one buffer per
    dtype, ``p.data`` and ``p.grad`` becoming views into it (parameters already flattened in
    this order by an earlier optimizer keep their buffer). ``step`` first checks by identity
    that every parameter still holds its views; an array assigned to ``p.data`` or ``p.grad``
    is copied into the buffer (a grad of None counts as zeros) and the view put back, and one
    of another shape or dtype (``Module.astype``) rebuilds the buffers. A subclass whose
    ``update`` is elementwise sets ``elementwise = True`` and is called once per buffer, with
    one state dict per buffer; otherwise ``update`` is called per parameter, on the views. On
    this path a parameter that the backward did not reach has gradient zero and is updated
    as such (momentum keeps moving it), as torch's ``zero_grad(set_to_none=False)``.
    ``flatten=False``, or parameters that cannot share a buffer (a view of an array that is
    not such a buffer, e.g. tied weights; a parameter listed twice; a non-floating array),
    give the per-parameter path: ``zero_grad`` sets ``grad`` to None and ``step`` skips
    parameters without one. When every parameter has a gradient the two paths compute the
    same numbers (``tests/optim/test_flat.py``). A subclass whose elementwise ``update`` can
    write the new weights into another buffer (``update(w, g, state, out=buffer)``, w left
    as it was) sets ``writes_out = True`` (SGD, Adam, RMSprop, Adagrad, Adadelta); then
    ``step(keep_previous=True)`` alternates between two value buffers and the weights a step
    started from stay readable (``previous_weights()``) without a copy: what the Trainer
    restores on divergence.

    An optimizer that needs the loss itself or several evaluations per step sets
    ``needs_closure = True`` and overrides ``step``; ``fit`` then passes a closure that runs
    zero_grad, forward and backward and returns the loss, and runs none of them itself. A
    method defined on the whole training set sets ``full_batch = True``; ``fit`` then refuses
    mini-batches with an error that tells the user to pass ``batch_size=None``. Setting
    ``clip_norm`` or ``clip_value`` on an optimizer clips the gradients before every step
    (``glassnet.optim.clip_grad_norm`` / ``clip_grad_value``; on the flat path the joint norm
    is that of the gradient buffers).

    Raises:
        TypeError: ``params`` is a Module (pass ``model.parameters()``), a single Tensor, or
            holds something other than Tensors that require grad.
        ValueError: no parameters, lr <= 0 or weight_decay < 0.
    """

    needs_closure = False
    full_batch = False  # True for methods defined on the whole training set (Rprop, L-BFGS, ...)
    elementwise = False  # True: update() may be given a whole flat buffer at once
    writes_out = False  # True: update(w, g, state, out=buffer) writes the new w there instead
    clip_norm = None  # set to a number: gradients are clipped to this joint norm before a step
    clip_value = None  # set to a number: gradient elements are clipped to [-value, value]
    state_attributes = ()  # (name, value when absent) of attributes that are state too

    def __init__(self, params, lr, weight_decay=0.0, *, flatten=True):
        name = type(self).__name__
        self.params = _check_params(name, params)
        if not (is_real(lr) and lr > 0 and np.isfinite(lr)):
            raise ValueError(f"{name}: expected lr > 0, got {lr!r}")
        if not (is_real(weight_decay) and weight_decay >= 0 and np.isfinite(weight_decay)):
            raise ValueError(f"{name}: expected weight_decay >= 0, got {weight_decay!r}")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.t, self._state = 0, [{} for _ in self.params]
        self._groups = _groups(self.params) if flatten else None
        self._previous = None  # the value views of the last step(keep_previous=True)

    @property
    def flat(self):
        """True when the parameters live in flat buffers (one per dtype)."""
        return self._groups is not None

    @property
    def buffers(self):
        """The (values, grads) 1-D buffers, one pair per dtype; empty on the per-parameter path."""
        return [(group.values, group.grads) for group in self._groups or ()]

    @property
    def state(self):
        """One dict per parameter (for a whole-vector method, ``state[0]`` holds the vectors).
        For an elementwise method on the flat path the dicts are rebuilt on each access from
        the flat state, with arrays that are views into it: change them in place."""
        if self._groups is None or not self.elementwise:
            return self._state
        out = [None] * len(self.params)
        for group in self._groups:
            pieces = {key: group.split(value) for key, value in group.state.items()}
            for k, i in enumerate(group.index):
                out[i] = {key: values[k] for key, values in pieces.items()}
        return out

    def zero_grad(self):
        """Forget the gradients: ``grad`` is set to None on both paths (torch's default,
        ``set_to_none=True``). On the flat path the next backward writes each gradient straight
        into the parameter's slot of the gradient buffer (``p.grad_buffer``), so no pass of
        zeros is needed; ``step`` counts a slot that no gradient reached as zeros."""
        if self._groups is None:
            for p in self.params:
                p.grad = None
            return
        for p in self.params:  # the buffers keep stale values nobody sees: the next backward
            p.grad = None  # writes each gradient into p.grad_buffer (step zeroes a slot it missed)

    @property
    def keeps_previous(self):
        """True when ``step(keep_previous=True)`` can leave the weights it starts from intact:
        an elementwise method that writes out of place, on the flat path."""
        return self.writes_out and self.elementwise and self._groups is not None

    def step(self, closure=None, *, keep_previous=False):
        """Update every parameter that has a gradient; returns the closure's loss if given.

        ``keep_previous`` (where ``keeps_previous``): each flat buffer's update writes the new
        weights into a second buffer, which the parameters then view, so that the weights the
        step started from stay intact, without a copy, until the next such step
        (``previous_weights``: how the Trainer gets back to them on divergence)."""
        loss = closure() if closure is not None else None
        slots = self._slots(clip=True)
        self.t += 1
        decay = self.weight_decay
        out_of_place = keep_previous and self.keeps_previous
        self._previous = [group.data_views for group in self._groups] if out_of_place else None
        for k, (w, g, state) in enumerate(slots):
            if g is None:
                continue
            g = g + decay * w if decay else g
            if out_of_place:
                group = self._groups[k]
                self.update(w, g, state, out=group.out_buffer())
                group.swap()
            else:
                self.update(w, g, state)
        return loss

    def previous_weights(self):
        """After ``step(keep_previous=True)`` on a method that ``keeps_previous``: one array per
        parameter (in order) holding its weights from before that step, valid until the next
        step; else None."""
        groups = self._previous
        if groups is None or self._groups is None:
            return None
        out = [None] * len(self.params)
        for group, views in zip(self._groups, groups):
            for i, view in zip(group.index, views):
                out[i] = view
        return out

    @abstractmethod
    def update(self, w, g, state):
        """Change the array ``w`` in place from its gradient ``g``; ``state`` is its own dict.
        (With ``elementwise = True``, w may be a flat buffer holding several parameters.)"""

    # -- the two paths -----------------------------------------------------------------------
    def _sync(self):
        """Point every parameter at its views again (see the class docstring); rebuilds the
        buffers when an assigned array no longer fits them."""
        for group in self._groups:
            if not group.sync(self):
                self._rebuild()
                return

    def _rebuild(self):
        """Flatten again (after a parameter's shape or dtype changed), keeping the state."""
        def copy(value):
            return xp.array(value, copy=True) if isinstance(value, xp.ndarray) else value

        states = [{key: copy(value) for key, value in s.items()} for s in self.state]
        self._groups = _groups(self.params)
        if self.elementwise:
            self._set_states(states)

    def _set_states(self, states):
        """Install one state dict per parameter, on either path."""
        if self._groups is None or not self.elementwise:
            self._state = states
            return
        for group in self._groups:
            group.merge([states[i] for i in group.index])

    def _slots(self, clip=False):
        """(w, g, state) per flat buffer (elementwise methods on the flat path), else per
        parameter (g may be None there); clips the gradients first if ``clip``."""
        groups = self._groups
        if groups is not None:
            self._sync()
            groups = self._groups  # a rebuild may have fallen back to the per-parameter path
        if groups is not None:
            if clip and (self.clip_norm is not None or self.clip_value is not None):
                _clip_arrays([group.grads for group in groups], self.clip_norm, self.clip_value)
            if self.elementwise:
                return [(group.values, group.grads, group.state) for group in groups]
        elif clip:
            if self.clip_norm is not None:
                clip_grad_norm(self.params, self.clip_norm)
            if self.clip_value is not None:
                clip_grad_value(self.params, self.clip_value)
        return [(p.data, p.grad, state) for p, state in zip(self.params, self._state)]

    # -- the whole weight vector (BFGS, L-BFGS, SCG, Newton, LM) -----------------------------
    def _one_buffer(self):
        """The single flat group after a sync, or None (per-parameter path, several dtypes)."""
        if self._groups is None:
            return None
        self._sync()
        return self._groups[0] if self._groups is not None and len(self._groups) == 1 else None

    def _vector(self):
        """All weights as one new float64 vector (parameters in order, each in C order)."""
        group = self._one_buffer()
        if group is not None:
            return group.values.astype(np.float64)
        return np.concatenate([p.data.reshape(-1) for p in self.params]).astype(np.float64)

    def _set_vector(self, x):
        """Write the vector x into the weights (in place, each in its own dtype)."""
        group = self._groups[0] if self._groups is not None and len(self._groups) == 1 else None
        if group is not None:
            group.values[...] = x
            return
        start = 0
        for p in self.params:
            stop = start + p.data.size
            p.data[...] = x[start:stop].reshape(p.data.shape)
            start = stop

    def _gradient_vector(self):
        """All gradients as one new float64 vector; a parameter without one counts as zero."""
        group = self._one_buffer()
        if group is not None:
            return group.grads.astype(np.float64)
        return np.concatenate(
            [np.zeros(p.data.size) if p.grad is None else np.asarray(p.grad, np.float64).reshape(-1)
             for p in self.params]
        )  # fmt: skip

    # -- saving --------------------------------------------------------------------------
    def state_dict(self):
        """Step count, hyperparameters and state arrays (copies), JSON/npz friendly: the
        arrays under ``state.<i>.<name>`` per parameter index i on either path (so that a
        state saved from one path loads into the other), plus the ``state_attributes`` that
        are not None."""
        out = {"t": self.t, "lr": self.lr}
        for name, _ in self.state_attributes:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"state.{i}.{key}"] = np.array(value, copy=True)
        return out

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned (from either path). On the flat path a state
        entry saved for only some parameters starts at zeros for the others."""
        self.t, self.lr = int(state["t"]), float(state["lr"])
        for name, default in self.state_attributes:
            setattr(self, name, np.asarray(state[name]).item() if name in state else default)
        states = [dict(s) for s in self.state]
        for key, value in state.items():
            if key.startswith("state."):
                _, i, name = key.split(".", 2)
                states[int(i)][name] = xp.array(value, copy=True)
        self._set_states(states)

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr}, weight_decay={self.weight_decay})"
