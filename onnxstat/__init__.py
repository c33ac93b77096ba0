"""onnxstat: what an ONNX model costs.

Every command of the CLI is a function here, returning a typed result with
``to_dict()`` (the JSON the CLI writes) and a one-line ``repr``:

>>> import onnxstat
>>> res = onnxstat.profile("model.onnx", input_shapes={"input": (1, 3, 224, 224)})
>>> res.totals.macs, res.totals.params
>>> onnxstat.bench("model.onnx", runs=50).fps                       # needs onnxruntime
>>> onnxstat.compare(["model.onnx", "model_int8.onnx"]).ratios()["macs"]
>>> onnxstat.symbolic("model.onnx").pretty("flops")                  # formulas of the dims
>>> onnxstat.sweep("model.onnx", {"seq": [128, 256]}).rows
>>> onnxstat.report("model.onnx", output="model.html")

Errors: a missing model file raises :class:`FileNotFoundError` (as
:class:`ModelNotFoundError`); every other error onnxstat raises on purpose is an
:class:`OnnxstatError`: :class:`ModelError` (the model is unusable; :class:`ShapeError`
when its shapes are inconsistent) or :class:`UsageError` (an argument is wrong).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ModelError, ModelNotFoundError, OnnxstatError, ShapeError, UsageError

if TYPE_CHECKING:
    from .runtime.bench import BenchResult
    from .multi.compare import Comparison
    from .plugins import register_handler
    from .profiler import profile
    from .render.report import Report
    from .result import ProfileResult, Totals
    from .multi.sweep import SweepResult
    from .passes.symbolic import SymbolicResult

__version__ = "0.1.0"

__all__ = [
    "profile", "bench", "compare", "report", "symbolic", "sweep", "llm", "register_handler",
    "ProfileResult", "Totals", "BenchResult", "Comparison", "Report", "SweepResult", "SymbolicResult",
    "OnnxstatError", "ModelError", "ModelNotFoundError", "ShapeError", "UsageError", "__version__",
]

#: attributes imported on first use, so that ``onnxstat --version`` or a subcommand
#: that never profiles does not load onnx
_LAZY = {
    "profile": ".profiler", "ProfileResult": ".result", "Totals": ".result",
    "BenchResult": ".runtime.bench", "Comparison": ".multi.compare", "Report": ".render.report", "SweepResult": ".multi.sweep",
    "SymbolicResult": ".passes.symbolic", "register_handler": ".plugins",
}
#: API functions that are modules made callable (see onnxstat._callable)
_CALLABLE_MODULES = {"bench": ".runtime.bench", "compare": ".multi.compare", "report": ".render.report", "sweep": ".multi.sweep",
                     "symbolic": ".passes.symbolic", "llm": ".runtime.llm"}


def __getattr__(name: str):
    from importlib import import_module

    if name in _CALLABLE_MODULES:
        try:
            return import_module(_CALLABLE_MODULES[name], __name__)  # binds itself as onnxstat.<name>
        except ImportError as exc:  # getattr/hasattr semantics: a missing attribute, the cause kept
            raise AttributeError(f"module {__name__!r} has no attribute {name!r} ({exc})") from exc
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_CALLABLE_MODULES))
