"""Per-operator cost handlers and their registry.

One package per operator domain, one module per op family inside it:

* :mod:`op_handlers.onnx`: ai.onnx
* :mod:`op_handlers.microsoft`: onnxruntime's contrib ops (com.microsoft,
  com.microsoft.nchwc)
* :mod:`op_handlers.ml`: ai.onnx.ml
* :mod:`op_handlers.preview`: ai.onnx.preview, ai.onnx.preview.training

Importing this package imports every family module, which registers its handlers
into :data:`REGISTRY`.  docs/adding-an-op.md says where a new op goes.
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

from . import onnx, microsoft, ml, preview  # noqa: F401,E402  (ai.onnx first: the others build on it)

__all__ = [
    "REGISTRY", "Registry", "Entry", "Cost", "NodeContext", "TensorInfo", "WeightUse",
    "ShapeUnknown", "dtype_name", "nbytes", "prod", "DTYPE_BITS", "norm_domain",
]
