"""Convolutional and pooling layers, with PyTorch's names, argument orders and layouts.

Inputs are NCHW (NCL for the 1-D layers). The weight of every layer is ``W`` and its bias
``b``, as for Dense: Conv2d's W is (out_channels, in_channels / groups, kh, kw), ConvTranspose2d's
(in_channels, out_channels / groups, kh, kw), as torch stores them, so that
``load_torch_state_dict`` copies ``weight`` into W and ``bias`` into b. The default
initialisation is torch's: W and b ~ uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), with fan_in =
in_channels / groups * kh * kw.
"""

import math
import numbers

from .. import ops
from ..backend import as_rng, default_dtype, xp
from ..errors import ShapeError
from . import init as initializers
from .module import Module, Parameter, register

__all__ = [
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "Upsample",
    "Flatten",
]


def _applied(layer, op, *args):
    """op(*args) for ``layer``: a ShapeError the op raises (an input too small for the kernel,
    say) names the layer, so that fit, predict and summary say which one failed."""
    try:
        return op(*args)
    except ShapeError as error:
        raise ShapeError(f"{layer!r}: {error}") from None


def _positive(who, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{who}: expected {name} to be a positive int, got {value!r}")
    return int(value)


def _pair(who, name, value, n=2, minimum=1):
    """An int or a tuple of ``n`` ints >= minimum, as a tuple."""
    values = (
        (value,) * n
        if isinstance(value, numbers.Integral) and not isinstance(value, bool)
        else value
    )
    if (
        not isinstance(values, (tuple, list))
        or len(values) != n
        or any(
            not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < minimum
            for v in values
        )
    ):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{who}: expected {name} as a {kind} int or {n} of them, got {value!r}")
    return tuple(int(v) for v in values)


def _padding(who, value, n):
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise ValueError(
                f"{who}: expected padding 'same', 'valid', an int or {n} ints, got {value!r}"
            )
        return value
    return _pair(who, "padding", value, n, minimum=0)


def _plain(value):
    """A tuple of equal ints as one int (as torch prints and as the configs store it)."""
    return value[0] if isinstance(value, tuple) and len(set(value)) == 1 else value


class _ConvNd(Module):
    """The shared constructor of the convolution layers (``n`` spatial axes)."""

    n = 2
    transposed = False
    splits_work = True  # its sweeps split by output rows inside backend.threads

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, *, output_padding=0, init="torch_default", seed=None,
                 dtype=None):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        self.in_channels = _positive(who, "in_channels", in_channels)
        self.out_channels = _positive(who, "out_channels", out_channels)
        self.groups = _positive(who, "groups", groups)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"{who}: expected in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"to be divisible by groups ({groups})"
            )
        n = self.n
        self.kernel_size = _pair(who, "kernel_size", kernel_size, n)
        self.stride = _pair(who, "stride", stride, n)
        self.padding = _padding(who, padding, n)
        self.dilation = _pair(who, "dilation", dilation, n)
        self.output_padding = _pair(who, "output_padding", output_padding, n, minimum=0)
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(
                f"{who}: padding='same' needs stride 1 (as torch), got stride={stride}"
            )
        self.init = initializers.get(init)
        dtype = default_dtype() if dtype is None else xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{who}: expected a floating dtype for W and b, got {dtype}")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        rng = as_rng(seed)
        self.W = Parameter(self.init(shape, rng, dtype))
        fan_in = shape[1] * math.prod(self.kernel_size)
        self.b = (
            Parameter(
                initializers.Uniform(1.0 / math.sqrt(fan_in))((self.out_channels,), rng, dtype)
            )
            if bias
            else None
        )

    def _check(self, x):
        if x.ndim != self.n + 2 or x.shape[1] != self.in_channels:
            axes = (
                "(batch, channels, length)" if self.n == 1 else "(batch, channels, height, width)"
            )
            raise ShapeError(
                f"{self!r}: expected input {axes} with {self.in_channels} channels, "
                f"got shape {x.shape}"
            )

    def config(self):
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.b is not None,
            "init": self.init.config(),
            "dtype": str(self.W.dtype),
            **({"output_padding": list(self.output_padding)} if self.transposed else {}),
        }

    def extra_repr(self):
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={_plain(self.kernel_size)}, "
            f"stride={_plain(self.stride)}"
        )
        if self.padding != (0,) * self.n:
            text += f", padding={_plain(self.padding)!r}"
        if self.transposed and any(self.output_padding):
            text += f", output_padding={_plain(self.output_padding)}"
        if self.dilation != (1,) * self.n:
            text += f", dilation={_plain(self.dilation)}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.b is not None else ", bias=False")


@register
class Conv2d(_ConvNd):
    """2-D convolution (a cross-correlation, as in every framework):

        net[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] a_prev[n, gC/G + c, si + du, sj + dv]

    over the input channels c of o's group g, after zero padding.

    Args:
        in_channels, out_channels: channels of the input and the output.
        kernel_size, stride, padding, dilation: an int or a pair (padding also 'same' or
            'valid'). groups: channel groups (in_channels for a depthwise convolution).
        bias: learn b. init: W's initializer (default: torch's). seed: int or Generator.
        dtype: of W and b (default: glassnet's default dtype).
    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W'), H' = floor((H + 2 p - d (k - 1)
        - 1) / s) + 1; W (out, in / groups, kh, kw), b (out,).
    """

    def forward(self, x):
        self._check(x)
        return _applied(self, ops.conv2d, x, self.W, self.b, self.stride, self.padding,
                        self.dilation, self.groups)  # fmt: skip


@register
class Conv1d(_ConvNd):
    """1-D convolution over sequences (N, C, L), as Conv2d with one spatial axis.

    Shapes: (N, in_channels, L) -> (N, out_channels, L'); W (out, in / groups, k), b (out,).
    """

    n = 1

    def forward(self, x):
        self._check(x)
        return _applied(self, ops.conv1d, x, self.W, self.b, self.stride[0],
                        _plain1(self.padding), self.dilation[0], self.groups)  # fmt: skip


def _plain1(padding):
    return padding if isinstance(padding, str) else padding[0]


@register
class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of Conv2d with respect to its input, used to
    upsample in fully convolutional networks); torch's arguments, with output_padding.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W'), H' = (H - 1) s - 2 p +
        d (k - 1) + output_padding + 1; W (in, out / groups, kh, kw), b (out,).
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, *, init="torch_default",
                 seed=None, dtype=None):  # fmt: skip
        if isinstance(padding, str):
            raise ValueError(
                f"ConvTranspose2d: expected padding as an int or a pair, got {padding!r}"
            )
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, output_padding=output_padding, init=init, seed=seed,
                         dtype=dtype)  # fmt: skip
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(
                    f"ConvTranspose2d: expected output_padding smaller than stride or "
                    f"dilation, got output_padding={output_padding}"
                )

    def forward(self, x):
        self._check(x)
        return _applied(self, ops.conv_transpose2d, x, self.W, self.b, self.stride, self.padding,
                        self.output_padding, self.groups, self.dilation)  # fmt: skip


# -- pooling and reshaping ------------------------------------------------------------------------


class _Pool(Module):
    """Pooling over ``n`` spatial axes: kernel_size, stride (None: the kernel size), padding."""

    n = 2
    op = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        who = type(self).__name__
        self.kernel_size = _pair(who, "kernel_size", kernel_size, self.n)
        self.stride = self.kernel_size if stride is None else _pair(who, "stride", stride, self.n)
        self.padding = _pair(who, "padding", padding, self.n, minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(
                f"{who}: expected padding at most half the kernel size, got padding={padding} "
                f"for kernel_size={kernel_size}"
            )

    def _check(self, x):
        if x.ndim != self.n + 2:
            axes = (
                "(batch, channels, length)" if self.n == 1 else "(batch, channels, height, width)"
            )
            raise ShapeError(f"{self!r}: expected input {axes}, got shape {x.shape}")

    def forward(self, x):
        self._check(x)
        one = self.n == 1
        return _applied(self, self.op, x, self.kernel_size[0] if one else self.kernel_size,
                        self.stride[0] if one else self.stride,
                        self.padding[0] if one else self.padding)  # fmt: skip

    def config(self):
        return {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }

    def extra_repr(self):
        text = f"kernel_size={_plain(self.kernel_size)}, stride={_plain(self.stride)}"
        return text + (f", padding={_plain(self.padding)}" if any(self.padding) else "")


@register
class MaxPool2d(_Pool):
    """Max pooling: each output is the largest input of its window (-inf padding); the delta
    goes to that input alone. Shapes: (N, C, H, W) -> (N, C, H', W')."""

    op = staticmethod(ops.max_pool2d)


@register
class MaxPool1d(_Pool):
    """Max pooling over sequences (N, C, L) -> (N, C, L')."""

    n = 1
    op = staticmethod(ops.max_pool1d)


@register
class AvgPool2d(_Pool):
    """Average pooling (zero padding counted, as torch's default count_include_pad=True).
    Shapes: (N, C, H, W) -> (N, C, H', W')."""

    op = staticmethod(ops.avg_pool2d)


@register
class AvgPool1d(_Pool):
    """Average pooling over sequences (N, C, L) -> (N, C, L')."""

    n = 1
    op = staticmethod(ops.avg_pool1d)


@register
class GlobalAvgPool2d(Module):
    """The mean of each feature map: (N, C, H, W) -> (N, C), the head of a fully convolutional
    classifier (Lin et al., "Network in network", 2014)."""

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(
                f"GlobalAvgPool2d: expected input (batch, channels, height, width), got {x.shape}"
            )
        return ops.flatten(ops.adaptive_avg_pool2d(x, 1), 1)


@register
class Upsample(Module):
    """Nearest-neighbour upsampling by an integer ``scale_factor`` (an int or a pair):
    (N, C, H, W) -> (N, C, s H, s W)."""

    def __init__(self, scale_factor=2):
        super().__init__()
        self.scale_factor = _pair("Upsample", "scale_factor", scale_factor)

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(
                f"{self!r}: expected input (batch, channels, height, width), got {x.shape}"
            )
        return ops.upsample(x, scale_factor=self.scale_factor)

    def config(self):
        return {"scale_factor": list(self.scale_factor)}

    def extra_repr(self):
        return f"scale_factor={_plain(self.scale_factor)}"


@register
class Flatten(Module):
    """Axes start_dim..end_dim into one: (N, C, H, W) -> (N, C H W) with the defaults."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise ValueError(f"Flatten: expected {name} to be an int, got {value!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)

    def config(self):
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
