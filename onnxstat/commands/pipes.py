"""A closed pipe (``onnxstat profile m.onnx | head -1``) is success: exit 0, nothing on stderr.

Two ways a closed stdout shows up: a ``BrokenPipeError`` from a write or a flush,
and rich's consoles, which catch it themselves, point stdout at ``/dev/null`` and
raise ``SystemExit(1)`` (``Console.on_broken_pipe``).  The second is told apart
from a real exit code 1 by stdout having become ``/dev/null`` while the command
ran (see :func:`became_devnull`).
"""

from __future__ import annotations

import os
import sys


def stdout_identity() -> tuple[int, int] | None:
    """(device, inode) of what file descriptor 1 is now, None when it is closed."""
    try:
        st = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return st.st_dev, st.st_ino


def _devnull_identity() -> tuple[int, int] | None:
    try:
        st = os.stat(os.devnull)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def became_devnull(before: tuple[int, int] | None) -> bool:
    """True when stdout was something else when the command started and is /dev/null now."""
    null = _devnull_identity()
    return before is not None and null is not None and before != null and stdout_identity() == null


def silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that flushing at exit does not fail again."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass
