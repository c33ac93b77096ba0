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


class ModelNotFoundError(UsageError, FileNotFoundError):
    """The model file does not exist: a :class:`FileNotFoundError` for Python callers
    (``except FileNotFoundError``), a usage error (exit code 2) for the command line."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        import errno

        self.errno = errno.ENOENT
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        return str(self.args[0])
