"""``Module``, ``Parameter`` and ``Sequential``: how layers own weights and compose.

A module finds its parameters and sub-modules by walking its attributes in assignment order,
lists, tuples and dicts included; there is no registration ceremony. ``named_parameters()``
yields dotted paths (``layers.0.W``) which are also the ``state_dict`` and file keys.
"""

import contextlib
import numbers
import weakref

import numpy as np

from ..autodiff import Tensor, no_grad
from ..autodiff.tensor import HookHandle
from ..backend import default_dtype, threads, to_device, to_host, xp
from ..errors import ShapeError

__all__ = ["Parameter", "Module", "Sequential", "register", "remember", "recall", "REGISTRY"]

REGISTRY = {}


def register(cls):
    """Class decorator: make ``cls`` loadable from files by its name (see ``glassnet.io``)."""
    REGISTRY[cls.__name__] = cls
    return cls


class Parameter(Tensor):
    """A leaf Tensor that a Module owns and an optimizer updates (requires_grad=True)."""

    __slots__ = ()

    def __init__(self, data):
        super().__init__(data, requires_grad=True)


def _children(value, prefix):
    """(dotted name, value) for the modules, parameters and buffers inside an attribute."""
    if isinstance(value, (Module, Parameter)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _children(item, f"{prefix}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _children(item, f"{prefix}.{key}")


class Module:
    """Base class of layers and networks.

    A subclass sets parameters and sub-modules as attributes in ``__init__`` (after calling
    ``super().__init__()``), computes in ``forward``, and returns its constructor arguments
    from ``config()`` so that it can be saved and rebuilt. Buffers (state that is not trained,
    e.g. running statistics) are listed by name in ``self._buffer_names``.
    """

    # True for a layer whose ops split their own work over threads (the convolutions): the
    # Trainer and predict run a network holding one inside ``backend.threads`` (see there)
    splits_work = False

    def __init__(self):
        self.training = True
        self._forward_hooks = {}
        self._buffer_names = ()

    def uses_threads(self):
        """Whether this module or one inside it ``splits_work``."""
        return any(m.splits_work for _, m in self.named_modules())

    def work_threads(self):
        """``backend.threads()`` where the module ``uses_threads()``, else a context that
        changes nothing: what ``predict`` and ``evaluate`` run the module in."""
        return threads() if self.uses_threads() else contextlib.nullcontext()

    def forward(self, *inputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward (abstract)")

    def __call__(self, *inputs):
        out = self.forward(*inputs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                replaced = hook(self, inputs, out)
                if replaced is not None:
                    out = replaced
        return out

    def register_forward_hook(self, fn):
        """Call ``fn(module, inputs, output)`` after every forward; a non-None result replaces
        the output. Returns a handle with ``remove()``."""
        return HookHandle(self._forward_hooks, fn)

    # -- traversal -------------------------------------------------------------------------
    def _named_members(self):
        for name, value in vars(self).items():
            if not name.startswith("_"):
                yield from _children(value, name)

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every module inside it, depth first."""
        yield prefix, self
        for name, value in self._named_members():
            if isinstance(value, Module):
                yield from value.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) for every parameter, in assignment order."""
        for name, value in self._named_members():
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(value, Parameter):
                yield full, value
            else:
                yield from value.named_parameters(full)

    def parameters(self):
        """All parameters, in assignment order."""
        return [p for _, p in self.named_parameters()]

    def own_weights(self):
        """This module's own weights, not those of the modules inside it: what a weight
        penalty acts on (``train.WeightPenalty``, the estimators' ``alpha``). A weight is a
        parameter the input is multiplied by: by default each parameter of two or more axes
        (the W of Dense, the convolutions and Embedding, the recurrent layers' W_ih, W_hh and
        peepholes, attention's in_W, and those of a Module subclass of the user's own). The
        normalisations override it: their gamma and beta are no weights."""
        return [v for _, v in self._named_members() if isinstance(v, Parameter) and v.ndim >= 2]

    def own_biases(self):
        """This module's own biases: by default each parameter of fewer than two axes (see
        ``own_weights``)."""
        return [v for _, v in self._named_members() if isinstance(v, Parameter) and v.ndim < 2]

    def named_buffers(self, prefix=""):
        """(dotted name, array) for every buffer."""
        for name, module in self.named_modules(prefix):
            for buffer in module._buffer_names:
                yield (f"{name}.{buffer}" if name else buffer), getattr(module, buffer)

    # -- modes and state -------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout active, batch statistics); returns self."""
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self):
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    @property
    def dtype(self):
        """dtype of the parameters (the default dtype for a module without any)."""
        first = next(self.named_parameters(), None)  # (the first suffices: no full walk)
        return first[1].dtype if first is not None else default_dtype()

    def astype(self, dtype):
        """Convert every parameter and buffer to ``dtype`` in place; returns self."""
        for p in self.parameters():
            p.data, p.grad, p.grad_buffer = p.data.astype(dtype), None, None
        for name, module in self.named_modules():
            for buffer in module._buffer_names:
                setattr(module, buffer, getattr(module, buffer).astype(dtype))
        return self

    def state_dict(self):
        """Copies of all parameters and buffers, keyed by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, b.copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state):
        """Copy arrays from ``state`` into the parameters and buffers (names and shapes must
        match exactly; values keep the module's dtype)."""
        own = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        expected = set(own) | set(buffers)
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: expected keys {sorted(expected)}, "
                f"got missing {missing} and unexpected {unexpected}"
            )
        pairs = []
        for name, value in state.items():  # check everything first: all or nothing is loaded
            target = own[name].data if name in own else buffers[name]
            value = xp.asarray(value)
            if value.shape != target.shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: expected {name} of shape "
                    f"{target.shape}, got {value.shape}"
                )
            pairs.append((target, value))
        for target, value in pairs:
            target[...] = value

    module_arguments = ()  # names of constructor arguments that are modules (saved as such)

    def config(self):
        """Constructor arguments as JSON-able values (for saving); layers override this. The
        arguments named in ``module_arguments`` are left out: saving describes them itself."""
        return {}

    @classmethod
    def from_config(cls, config, modules):
        """The module rebuilt from ``config()`` and its rebuilt ``module_arguments``."""
        return cls(**config, **modules)

    def __getstate__(self):
        # pickling and copy.deepcopy: what a layer remembers of its latest forward stays behind
        return {k: (None if type(v) is weakref.ref else v) for k, v in vars(self).items()}

    def output_layer(self):
        """The sub-module whose output is this module's output (None: not known, or a layer
        itself). The named cross-entropies use it to find the logits (see ``nn.loss``)."""
        return None

    def predict(self, X, batch_size=1024):
        """Outputs for ``X`` as a NumPy array: batched, in eval mode, without a graph.

        The mode the module was in is restored afterwards.

        Args:
            X: array-like or Tensor of real numbers, (samples, in_features) for a network whose
                first layer is a Dense. An empty X gives an empty result, (0, outputs).
            batch_size: samples per forward pass (only memory depends on it); None: all at once.
        Returns:
            the outputs, (samples, ...) in the module's dtype.
        Raises:
            ValueError: a batch_size that is not a positive integer or None; ragged X.
            TypeError: X that is not real numbers. ShapeError: X of the wrong rank or width.
        """
        who = f"{type(self).__name__}.predict"
        if batch_size is not None and not _is_count(batch_size):
            raise ValueError(f"{who}: expected batch_size to be a positive integer or None, got "
                             f"{batch_size!r}")  # fmt: skip
        X = _as_input(who, X, input_dtype(self, X))
        _check_first_layer(who, self, X)
        if X.ndim == 0:
            raise ShapeError(f"{who}: expected X of shape (samples, ...), got a scalar")
        size = max(len(X), 1) if batch_size is None else int(batch_size)
        was_training = self.training
        self.eval()
        try:
            with no_grad(), self.work_threads():
                starts = range(0, len(X), size) or [0]  # an empty X runs once, for the shape
                outs = [self(Tensor(X[i : i + size])).data for i in starts]
        finally:
            self.train(was_training)
        return to_host(xp.concatenate(outs))  # the public boundary

    def summary(self, input_shape, *, print_fn=print):
        """Print, and return, each layer's output shape and parameter count for inputs of
        ``input_shape`` (without the batch axis), as Keras's ``model.summary()``.

        One sample of zeros runs through the model in eval mode without a graph; every layer
        that holds no other module reports its output. A shape that cannot work fails here with
        the layer's name, what it expected and what came.

        Returns:
            [{"name", "layer", "output_shape", "params"}, ...] in call order, output shapes
            with None for the batch axis; the last line printed is the total of parameters.
        """
        if isinstance(input_shape, numbers.Integral) and not isinstance(input_shape, bool):
            input_shape = (input_shape,)
        if not isinstance(input_shape, (tuple, list)) or not all(_is_count(n) for n in input_shape):
            raise ValueError(f"summary: expected input_shape as a tuple of positive ints without "
                             f"the "
                             f"batch axis, e.g. (1, 28, 28), got {input_shape!r}")  # fmt: skip
        rows, handles, layers = [], [], []
        for name, module in self.named_modules():  # a layer: holds parameters itself, or no modules
            if "" in layers:
                break  # the model itself is one layer
            if any(name.startswith(f"{outer}.") for outer in layers):
                continue  # inside a layer (a Dense's activation)
            members = [v for _, v in module._named_members()]
            holds = any(isinstance(v, Parameter) for v in members)
            if holds or not any(isinstance(v, Module) for v in members):
                layers.append(name)

                def record(module, inputs, output, name=name):
                    params = sum(p.size for _, p in module.named_parameters())
                    rows.append({"name": name or type(module).__name__, "layer": repr(module),
                                 "output_shape": (None, *output.shape[1:]),
                                 "params": params})  # fmt: skip

                handles.append(module.register_forward_hook(record))
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                self(Tensor(xp.zeros((1, *input_shape), self.dtype)))
        except ShapeError:
            raise
        except (ValueError, IndexError) as error:
            last = rows[-1] if rows else None
            after = "at the first layer"
            if last:
                after = f"after {last['layer']} (output {last['output_shape']})"
            raise ShapeError(f"summary: the input shape {tuple(input_shape)} fails {after}: "
                             f"{error}") from None  # fmt: skip
        finally:
            self.train(was_training)
            for handle in handles:
                handle.remove()
        total = sum(p.size for p in self.parameters())
        labels = [f"{r['name']} ({r['layer'].split('(')[0]})" for r in rows]
        width = max([len(label) for label in labels] + [12]) + 2
        print_fn(f"{'Layer (type)':<{width}}{'Output shape':<22}{'Params':>10}")
        for label, r in zip(labels, rows):
            print_fn(f"{label:<{width}}{str(r['output_shape']):<22}{r['params']:>10,}")
        print_fn(f"Total parameters: {total:,}")
        return rows

    def extra_repr(self):
        """Text inside the parentheses of ``repr``."""
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def remember(tensor):
    """What a layer keeps of a tensor of its latest forward (see ``recall``): the tensor itself
    when it carries no graph, else a weak reference, so that a layer never keeps a graph (and
    the arrays it guards) alive after the forward's output is gone."""
    return weakref.ref(tensor) if tensor.requires_grad else tensor


def recall(kept):
    """The tensor ``remember`` kept, or None (nothing kept, or its graph is gone)."""
    return kept() if type(kept) is weakref.ref else kept


def _is_count(value):
    """True for a positive integer, Python or NumPy (not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _as_input(who, X, dtype):
    """X as an array of ``dtype`` on the device, with a first axis of samples."""
    if isinstance(X, Tensor):
        X = X.data
    if not isinstance(X, xp.ndarray):
        try:
            X = np.asarray(X)
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"{who}: expected X as a rectangular numeric array, got ragged "
                             f"data ({error})") from None  # fmt: skip
    if X.dtype.kind == "c":
        raise TypeError(f"{who}: expected real numbers in X, got complex dtype {X.dtype}; pass "
                        "X.real if the imaginary part can go")  # fmt: skip
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected numeric X, got dtype {X.dtype}")
    X = to_device(X)
    return X if X.dtype == dtype else X.astype(dtype)


def input_dtype(model, X):
    """The dtype X is converted to for ``model``: its parameters' dtype, except integer X for
    a model whose first layer is an Embedding (its indices stay int64)."""
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind in ("i", "u", "b"):
        for _, module in model.named_modules():
            if hasattr(module, "num_embeddings"):
                return np.dtype(np.int64)
            if any(hasattr(module, name) for name in _INPUT_CONTRACTS):
                break
    return model.dtype


_INPUT_CONTRACTS = ("in_features", "in_channels", "input_size", "embed_dim", "d_model")


def _check_first_layer(who, model, X):
    """Check X against the first layer of ``model`` that declares what it takes: a
    convolution's ``in_channels`` (X of shape (samples, in_channels, *spatial)), or
    ``in_features`` (a Dense, a ShortcutMLP: X of shape (samples, in_features)). A model
    without such a layer (a custom Module) takes X of any rank. Sequence layers (a recurrent
    layer's ``input_size``, attention's ``embed_dim``, a transformer's ``d_model``) take X of
    shape (samples, steps, features) and must be ``batch_first``: fit batches along axis 0,
    which would otherwise cut the sequences in time. An Embedding takes indices of any shape.
    """
    for _, module in model.named_modules():
        if hasattr(module, "num_embeddings"):
            return
        width = next((getattr(module, name) for name in ("input_size", "embed_dim", "d_model")
                      if hasattr(module, name)), None)  # fmt: skip
        if width is not None:
            if not getattr(module, "batch_first", True):
                raise ShapeError(f"{who}: {module!r} (the first layer) takes time-major input, "
                                 "but X's first axis is the samples; build it with "
                                 "batch_first=True")  # fmt: skip
            if X.ndim != 3 or X.shape[-1] != width:
                raise ShapeError(f"{who}: {module!r} (the first layer) expects X of shape "
                                 f"(samples, steps, {width}), got shape {X.shape}")  # fmt: skip
            return
        channels = getattr(module, "in_channels", None)
        if channels is not None:
            rank = getattr(module, "n", 2) + 2
            if X.ndim != rank or X.shape[1] != channels:
                axes = "(samples, channels, " + ("length)" if rank == 3 else "height, width)")
                raise ShapeError(f"{who}: {module!r} (the first layer) expects X of shape {axes} "
                                 f"with "
                                 f"{channels} channels, got shape {X.shape}")  # fmt: skip
            return
        expected = getattr(module, "in_features", None)
        if expected is None:
            continue
        if X.ndim != 2:
            hint = "; pass one sample as X.reshape(1, -1)" if X.ndim == 1 else ""
            raise ShapeError(
                f"{who}: {module!r} (the first layer) expects X of shape (samples, {expected}), "
                f"got a {X.ndim}-D array of shape {X.shape}{hint}"
            )
        if X.shape[-1] != expected:
            raise ShapeError(
                f"{who}: {module!r} (the first layer) expects {expected} features, got X with "
                f"{X.shape[-1]} (shape {X.shape})"
            )
        return


@register
class Sequential(Module):
    """Layers applied one after another: ``Sequential(Dense(2, 8, "tanh"), Dense(8, 1))``."""

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: expected Module layers, got {type(layer).__name__} "
                                f"at position {i}")  # fmt: skip
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def output_layer(self):
        """The last layer."""
        return self.layers[-1] if self.layers else None

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"
