"""onnxruntime's contrib operators: com.microsoft, com.microsoft.nchwc (:mod:`.nchwc`),
and SimplifiedLayerNormalization, which onnxruntime defines in the ai.onnx domain.

Importing this package registers them.  Where a com.microsoft op extends an ai.onnx
family, its module has the family's name and builds on the ai.onnx module
(:mod:`.attention` on :mod:`op_handlers.onnx.attention`, :mod:`.quantized` on
:mod:`op_handlers.onnx.quantized`, :mod:`.recurrent` on :mod:`op_handlers.onnx.recurrent`);
the other contrib ops are in :mod:`.contrib`.
"""

from . import attention, contrib, nchwc, quantized, recurrent  # noqa: F401
