"""The primitive differentiable operations, grouped by family.

Every name in ``__all__`` is a functional op on Tensors; each has a gradient check and a
PyTorch comparison in tests/ops (the spec table fails the suite for an op without one).
``positional_encoding`` (ops/embedding.py) is importable from here too but is not in
``__all__``: it makes a plain array and has no gradient, so it is no op on Tensors.
``last_valid`` (ops/sequence.py) is not in ``__all__`` either: it is a composition of
``getitem``, no primitive, and tests/ops/test_sequence.py checks it.
"""

from . import activation as _activation
from . import attention as _attention
from . import conv as _conv
from . import dropout as _dropout
from . import elementwise as _elementwise
from . import embedding as _embedding
from . import gated as _gated
from . import layernorm as _layernorm
from . import linalg as _linalg
from . import loss as _loss
from . import normalization as _normalization
from . import pool as _pool
from . import recurrent as _recurrent
from . import reduce as _reduce
from . import shape as _shape
from ._tensor_methods import attach as _attach
from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .elementwise import *
from .embedding import *
from .embedding import positional_encoding as positional_encoding  # not an op: no __all__
from .gated import *
from .layernorm import *
from .linalg import *
from .loss import *
from .normalization import *
from .pool import *
from .recurrent import *
from .reduce import *
from .sequence import last_valid as last_valid  # composed from getitem: no __all__, no spec
from .shape import *

FAMILIES = (_elementwise, _reduce, _shape, _linalg, _activation, _loss, _dropout, _normalization)
FAMILIES += (_conv,)  # convolutions (ops/conv.py)
FAMILIES += (_pool,)  # pooling, padding, resizing (ops/pool.py)
FAMILIES += (_recurrent, _gated)  # recurrent networks over whole sequences (ops/recurrent.py,
# the LSTM and GRU in ops/gated.py)
FAMILIES += (_layernorm, _embedding)  # layer norm, embedding (ops/layernorm.py, embedding.py)
FAMILIES += (_attention,)  # scaled dot-product attention (ops/attention.py)
__all__ = [name for family in FAMILIES for name in family.__all__]

_attach()
