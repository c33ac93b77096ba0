"""Optional dependencies and the extra that installs each.

``pip install onnxstat`` installs what ``onnxstat profile`` needs (onnx, numpy, sympy,
rich, click, jinja2).  The rest are extras, chosen by installed size (measured in a
Python 3.11 environment, site-packages folders):

========================  =======  ==================================================
extra                     size     what needs it
========================  =======  ==================================================
``[cpu]`` onnxruntime     78 MB    ``bench``, ``--bench``, ``--shape-source ort``
``[gpu]`` onnxruntime-gpu          the same on CUDA/TensorRT; never next to ``[cpu]``
                                   (both install the module ``onnxruntime``: the CPU
                                   wheel would hide the CUDA provider)
``[plot]`` matplotlib     80 MB    ``--plot`` (with fontTools, Pillow, kiwisolver)
``[simplify]`` onnxsim    38 MB    ``--simplify``
``[all]``                          ``[cpu]``, ``[plot]`` and ``[simplify]``
========================  =======  ==================================================

sympy (85 MB with mpmath) stays a dependency: ``--symbolic`` and ``--sweep`` are
built on it.  A feature whose extra is missing stops with one line naming the extra.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import UsageError

#: module -> (extra, distribution)
EXTRAS = {
    "onnxruntime": ("cpu", "onnxruntime"),
    "matplotlib": ("plot", "matplotlib"),
    "onnxsim": ("simplify", "onnxsim"),
}


def missing_message(module: str, purpose: str) -> str:
    extra, dist = EXTRAS[module]
    hint = f"pip install 'onnxstat[{extra}]'"
    if module == "onnxruntime":
        hint += " (or 'onnxstat[gpu]' for onnxruntime-gpu)"
    return f"{purpose} needs {dist}, which is not installed: {hint}"


def require(module: str, purpose: str) -> Any:
    """``import module``, or a :class:`UsageError` naming the extra that installs it."""
    try:
        return import_module(module)
    except ImportError:
        raise UsageError(missing_message(module, purpose)) from None
