"""Non-sequential networks: residual blocks and parallel branches.

Any other graph is a Module subclass with its own ``forward`` (see ``Module``): the layers
are attributes, ``forward`` combines their outputs with ops, and backpropagation follows.
"""

import numbers

from .. import ops
from ..errors import ShapeError
from .module import Module, register

__all__ = ["Residual", "Concat"]


def _check_module(who, name, value, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, Module):
        raise TypeError(
            f"{who}: expected {name} to be a glassnet Module, got {type(value).__name__}"
        )


@register
class Residual(Module):
    """A residual block (He et al., "Deep residual learning for image recognition", 2016):

        y = F(x) + x              (projection None: the identity shortcut)
        y = F(x) + P(x)           (P: e.g. a 1x1 Conv2d with the block's stride)

    The delta at y reaches x along both paths: delta_x = F'(x)^T delta_y + delta_y, which is
    why deep stacks of these blocks still train.

    Args:
        block: the Module F. projection: the Module P, or None.
    Shapes: F(x) and P(x) (or x) must have the same shape.
    """

    module_arguments = ("block", "projection")

    def __init__(self, block, projection=None):
        super().__init__()
        _check_module("Residual", "block", block)
        _check_module("Residual", "projection", projection, allow_none=True)
        self.block, self.projection = block, projection

    def forward(self, x):
        fx = self.block(x)
        shortcut = x if self.projection is None else self.projection(x)
        if fx.shape != shortcut.shape:
            raise ShapeError(
                f"Residual: the block gives {fx.shape} but the shortcut "
                f"{shortcut.shape}{self._hint(x, fx)}"
            )
        return fx + shortcut

    def _hint(self, x, fx):
        if self.projection is not None:
            return "; make the projection give the block's shape"
        if x.ndim == 4 and fx.ndim == 4:
            stride = max(1, x.shape[2] // max(1, fx.shape[2]))
            return (
                f"; pass projection=Conv2d({x.shape[1]}, {fx.shape[1]}, 1, stride={stride}) "
                "to map the input to the block's shape"
            )
        if x.ndim == 2 and fx.ndim == 2:
            return (f"; pass projection=Dense({x.shape[1]}, {fx.shape[1]}) to map the input "
                    "to the block's shape")
        return ""

    def extra_repr(self):
        return "identity shortcut" if self.projection is None else "projection shortcut"


@register
class Concat(Module):
    """Parallel branches on the same input, their outputs joined along ``axis`` (1: the
    channels of NCHW): the inception module (Szegedy et al., "Going deeper with
    convolutions", 2015) is Concat of 1x1, 1x1-3x3, 1x1-5x5 and pool-1x1 branches.

    Args:
        *branches: Modules. axis: the axis to join along (default 1).
    Shapes: the branch outputs agree on every axis but ``axis``.
    """

    module_arguments = ("branches",)

    def __init__(self, *branches, axis=1):
        super().__init__()
        if not branches:
            raise ValueError("Concat: expected at least one branch, got none")
        for i, branch in enumerate(branches):
            _check_module("Concat", f"branch {i}", branch)
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise ValueError(f"Concat: expected axis to be an int, got {axis!r}")
        self.branches, self.axis = list(branches), int(axis)

    @classmethod
    def from_config(cls, config, modules):
        return cls(*modules["branches"], **config)

    def forward(self, x):
        outputs = [branch(x) for branch in self.branches]
        first = outputs[0].shape
        axis = self.axis % len(first)
        for i, out in enumerate(outputs[1:], 1):
            if len(out.shape) != len(first) or any(
                a != b for k, (a, b) in enumerate(zip(out.shape, first)) if k != axis
            ):
                raise ShapeError(
                    f"Concat: branch {i} gives {out.shape}, branch 0 gives {first}; "
                    f"expected the same shape on every axis but {self.axis}"
                )
        return ops.concatenate(outputs, self.axis)

    def config(self):
        return {"axis": self.axis}

    def extra_repr(self):
        return f"{len(self.branches)} branches, axis={self.axis}"
