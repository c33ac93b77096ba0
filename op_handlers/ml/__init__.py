"""The ai.onnx.ml operators.  Importing this package registers them."""

from . import classical  # noqa: F401
