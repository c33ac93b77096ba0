"""onnxruntime's contrib operators: com.microsoft (and SimplifiedLayerNormalization,
which onnxruntime defines in the ai.onnx domain).

Importing this package registers them.  Where a com.microsoft op extends an ai.onnx
family, its module has the family's name and builds on the ai.onnx module
(:mod:`.attention` on :mod:`op_handlers.onnx.attention`, ...).
"""

from . import contrib  # noqa: F401
