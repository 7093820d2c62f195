"""Truncated backpropagation through time (Williams & Peng 1990): train a recurrent model on
long sequences in chunks of k steps, carrying the state across chunks but no gradient.

Reference: R. J. Williams and J. Peng, "An efficient gradient-based algorithm for on-line
training of recurrent network trajectories", Neural Computation 2(4), 490-501, 1990; this is
their BPTT(k, k) ("epochwise" within each chunk): one update every k steps, each through the
k steps of its own chunk.
"""

import numbers

from ..autodiff import Tensor
from ..backend import xp
from ..nn import loss as losses
from ..nn.module import Module
from ..optim import Optimizer

__all__ = ["detach_state", "truncated_bptt"]


def detach_state(state):
    """``state`` cut off from the graph: None, a Tensor (``Tensor.detach``), or a tuple or list
    of these (nested: LSTM's (h, c), a list of per-layer states), rebuilt with the same shape.

    Raises:
        TypeError: anything else, named.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected the state as None, a Tensor or a tuple of "
                    f"Tensors, got {type(state).__name__}")  # fmt: skip


def _split(model, out):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"truncated_bptt: expected model(x_chunk, state) to return "
                        f"(output, new_state), got {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                        + f" from {model!r}")  # fmt: skip
    return out


def truncated_bptt(model, X, y, *, loss, optimizer, k, state=None, batch_first=False):
    """One pass of truncated BPTT over the sequences X with targets y, in chunks of k steps.

    The T steps are cut into chunks [0, k), [k, 2k), ... (the last may be shorter). For chunk
    c with steps t_c .. t_c + k - 1 it runs, with the state s carried from the chunk before:

        output, s' = model(X[t_c : t_c + k], s)          s = detach(s') for the next chunk
        E_c = loss(output, y[t_c : t_c + k]);  zero_grad, dE_c/dW, optimizer.step()

    dE_c/dW flows back through the chunk's own k steps only: s enters as a constant
    (ds/dW := 0 at the border), so no gradient crosses a border, while the forward pass sees
    the whole history (the carried state is that of one long forward pass, when the weights
    do not change). Memory is that of k steps, whatever T; the cost is the missing gradient
    of dependencies longer than k steps (Williams & Peng's BPTT(k, k)).

    Gradient clipping goes through the optimizer, as everywhere in glassnet: set
    ``optimizer.clip_norm`` (or ``clip_value``) and every chunk's step is clipped
    (``glassnet.optim.clip_grad_norm``; Pascanu et al. 2013 for why recurrent nets need it).

    Args:
        model: called as ``model(x_chunk, state) -> (output, new_state)``, state None (zeros),
            a Tensor or a tuple of Tensors: ``nn.RNN`` and ``nn.GRU`` ((output, h_n)),
            ``nn.LSTM`` ((output, (h_n, c_n))), or a Module wrapping one with a head (e.g. a
            ``nn.TimeDistributed(nn.Dense(...))``), which then returns its own output.
        X: array or Tensor (T, N, *features) ((N, T, *features) with batch_first).
        y: targets aligned with X on the time axis, (T, N, ...) ((N, T, ...)); each chunk's
            loss compares the model's output on the chunk with y on the same steps.
        loss: a loss name ('mse', 'cross_entropy', ...) or a callable loss(output, target).
        optimizer: an Optimizer over the model's parameters, kept across calls (its state,
            e.g. Adam's moments, carries over). Optimizers that need a closure (L-BFGS,
            Rprop, ...) are refused: they are full-batch methods.
        k: the truncation length, steps per chunk (a positive int).
        state: the state to start from (None: zeros); pass the returned one to continue a
            stream of sequences across calls.
        batch_first: the time axis of X and y is 1 instead of 0.
    Returns:
        (chunk_losses, state): the loss of each chunk as floats (before its step) and the
        final state, detached.
    Example:
        >>> opt = optim.Adam(model.parameters(), lr=1e-2); opt.clip_norm = 1.0
        >>> for epoch in range(20):
        ...     chunk_losses, _ = train.truncated_bptt(model, X, y, loss="mse",
        ...                                            optimizer=opt, k=25)
    """
    who = "truncated_bptt"
    if not callable(model):
        raise TypeError(f"{who}: expected model to be callable as model(x, state), got "
                        f"{type(model).__name__}")  # fmt: skip
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{who}: expected optimizer to be a glassnet Optimizer over the model's "
                        f"parameters, got {type(optimizer).__name__}")  # fmt: skip
    if optimizer.needs_closure:
        raise ValueError(f"{who}: {type(optimizer).__name__} needs a closure over the whole "
                         f"training set; use a step-by-step optimizer (sgd, adam, ...)")
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{who}: expected k to be a positive int, got {k!r}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"{who}: expected batch_first to be a bool, got {batch_first!r}")
    loss_fn = losses.bind(loss, model) if isinstance(model, Module) else losses.get(loss)
    dtype = model.dtype if isinstance(model, Module) else None
    X = xp.asarray(X.data if isinstance(X, Tensor) else X)
    if X.dtype.kind == "f" and dtype is not None:  # token ids (ints) stay ints
        X = X.astype(dtype, copy=False)
    y = xp.asarray(y.data if isinstance(y, Tensor) else y)
    axis = 1 if batch_first else 0
    layout = "(N, T, ...)" if batch_first else "(T, N, ...)"
    if X.ndim < 2 or y.ndim < 2:
        raise ValueError(f"{who}: expected X and y as {layout}, got shapes {X.shape} and "
                         f"{y.shape}")  # fmt: skip
    if X.shape[:2] != y.shape[:2]:
        raise ValueError(f"{who}: expected y to match X on the time and batch axes {layout}, "
                         f"got X {X.shape} and y {y.shape}")  # fmt: skip
    if y.dtype.kind == "f":
        y = y.astype(X.dtype, copy=False)
    if isinstance(model, Module) and not model.training:
        model.train()
    state = detach_state(state)
    chunk_losses = []
    for start in range(0, X.shape[axis], int(k)):
        window = (slice(None),) * axis + (slice(start, start + int(k)),)
        optimizer.zero_grad()
        output, new_state = _split(model, model(Tensor(X[window]), state))
        value = loss_fn(output, y[window])
        value.backward()
        optimizer.step()
        chunk_losses.append(float(value.data))
        state = detach_state(new_state)  # the border: the state goes on, its gradient does not
    return chunk_losses, state
