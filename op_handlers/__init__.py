"""Per-operator cost handlers and their registry.

Importing this package imports every family module, which registers its handlers
into :data:`REGISTRY`.
"""

from .base import (  # noqa: F401
    DTYPE_BITS,
    Cost,
    NodeContext,
    ShapeUnknown,
    TensorInfo,
    WeightUse,
    dtype_name,
    nbytes,
    prod,
)
from .registry import REGISTRY, Entry, Registry, norm_domain  # noqa: F401

from . import (  # noqa: F401,E402
    attention,
    contrib,
    conv,
    data_movement,
    elementwise,
    linear,
    misc,
    ml,
    normalization,
    pooling,
    preview,
    quantized,
    recurrent,
    reduction,
)

__all__ = [
    "REGISTRY", "Registry", "Entry", "Cost", "NodeContext", "TensorInfo", "WeightUse",
    "ShapeUnknown", "dtype_name", "nbytes", "prod", "DTYPE_BITS", "norm_domain",
]
