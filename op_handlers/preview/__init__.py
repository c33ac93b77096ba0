"""The ai.onnx.preview and ai.onnx.preview.training operators.  Importing this package
registers them."""

from . import attention, training  # noqa: F401
