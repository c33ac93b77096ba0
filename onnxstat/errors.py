"""Errors the library raises on purpose.  The CLI turns each into one line and an exit code.

Messages are written once, naming command-line options (``--input-shape x=...``); read
from Python (outside the CLI) they name the function's arguments instead
(``input_shapes x=...``), so they never point a library user at a flag they did not use.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

#: True while the command line runs: messages keep their option names
CLI_CONTEXT: ContextVar[bool] = ContextVar("onnxstat_cli", default=False)

#: command-line option -> the API argument it sets
API_ARGUMENTS = {
    "input-shape": "input_shapes", "input-value": "input_values", "input": "inputs", "dim": "dims",
    "sweep": "grid", "device": "device", "peak-tflops": "peak_tflops", "bandwidth-gbs": "bandwidth_gbs",
    "int-range": "int_range", "batch-dim": "batch_dim", "provider": "providers", "bench": "bench",
    "save-optimized": "save_optimized", "shape-source": "shape_source", "simplify": "simplify",
    "runs": "runs", "warmup": "warmup", "threads": "threads", "seed": "seed", "plot": "plot",
    "roofline-plot": "plot", "symbolic": "symbolic",
}
_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def api_wording(message: str) -> str:
    """``message`` with each command-line option replaced by the API argument it sets."""
    return _FLAG.sub(lambda m: API_ARGUMENTS.get(m.group(1), m.group(0)), message)


class OnnxstatError(Exception):
    """Base class: a problem with the input, reported without a traceback."""

    exit_code = 1

    def __str__(self) -> str:
        text = super().__str__()
        return text if CLI_CONTEXT.get() else api_wording(text)


class ModelError(OnnxstatError):
    """The model file or graph is unusable (exit code 1)."""

    exit_code = 1


class ShapeError(ModelError):
    """Shapes are inconsistent (for example a Reshape target that no longer fits)."""


class UsageError(OnnxstatError):
    """The command line or API arguments are wrong (exit code 2)."""

    exit_code = 2


class ModelNotFoundError(UsageError, FileNotFoundError):
    """The model file does not exist: a :class:`FileNotFoundError` for Python callers
    (``except FileNotFoundError``), a usage error (exit code 2) for the command line."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        import errno

        self.errno = errno.ENOENT
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        text = str(self.args[0])
        return text if CLI_CONTEXT.get() else api_wording(text)
