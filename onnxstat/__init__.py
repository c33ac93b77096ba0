"""onnxstat: what an ONNX model costs.

>>> import onnxstat
>>> res = onnxstat.profile("model.onnx", input_shapes={"input": (1, 3, 224, 224)})
>>> res.totals.macs, res.totals.params
"""

from .errors import ModelError, OnnxstatError, ShapeError, UsageError
from .profiler import profile
from .result import ProfileResult, Totals

__version__ = "0.1.0"

__all__ = [
    "profile", "ProfileResult", "Totals",
    "OnnxstatError", "ModelError", "ShapeError", "UsageError", "__version__",
]
