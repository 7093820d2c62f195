"""The primitive differentiable operations, grouped by family.

Every name in ``__all__`` is a functional op on Tensors; each has a gradient check and a
PyTorch comparison in tests/ops (the spec table fails the suite for an op without one).
"""

from . import activation as _activation
from . import conv as _conv
from . import dropout as _dropout
from . import elementwise as _elementwise
from . import linalg as _linalg
from . import loss as _loss
from . import normalization as _normalization
from . import pool as _pool
from . import reduce as _reduce
from . import shape as _shape
from ._tensor_methods import attach as _attach
from .activation import *
from .conv import *
from .dropout import *
from .elementwise import *
from .linalg import *
from .loss import *
from .normalization import *
from .pool import *
from .reduce import *
from .shape import *

FAMILIES = (_elementwise, _reduce, _shape, _linalg, _activation, _loss, _dropout, _normalization)
FAMILIES += (_conv,)  # convolutions (ops/conv.py)
FAMILIES += (_pool,)  # pooling, padding, resizing (ops/pool.py)
__all__ = [name for family in FAMILIES for name in family.__all__]

_attach()
