"""Errors the library raises on purpose.  The CLI turns each into one line and an exit code."""

from __future__ import annotations


class OnnxstatError(Exception):
    """Base class: a problem with the input, reported without a traceback."""

    exit_code = 1


class ModelError(OnnxstatError):
    """The model file or graph is unusable (exit code 1)."""

    exit_code = 1


class ShapeError(ModelError):
    """Shapes are inconsistent (for example a Reshape target that no longer fits)."""


class UsageError(OnnxstatError):
    """The command line or API arguments are wrong (exit code 2)."""

    exit_code = 2
