"""onnxstat: what an ONNX model costs.

>>> import onnxstat
>>> res = onnxstat.profile("model.onnx", input_shapes={"input": (1, 3, 224, 224)})
>>> res.totals.macs, res.totals.params
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ModelError, OnnxstatError, ShapeError, UsageError

if TYPE_CHECKING:
    from .profiler import profile
    from .plugins import register_handler
    from .result import ProfileResult, Totals

__version__ = "0.1.0"

__all__ = [
    "profile", "ProfileResult", "Totals", "llm", "register_handler",
    "OnnxstatError", "ModelError", "ShapeError", "UsageError", "__version__",
]

#: attributes imported on first use, so that ``onnxstat --version`` or a subcommand
#: that never profiles does not load onnx
_LAZY = {"profile": ".profiler", "ProfileResult": ".result", "Totals": ".result", "register_handler": ".plugins"}


def __getattr__(name: str):
    if name == "llm":  # the module onnxstat.llm, callable as the function: onnxstat.llm(model, prompt=..., context=...)
        from importlib import import_module

        return import_module(".llm", __name__)
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"llm"})
