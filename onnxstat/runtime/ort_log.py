"""onnxruntime's own log output: silenced, captured, and folded into onnxstat's one error line.

onnxruntime writes its log (coloured ``[E:onnxruntime:...]`` lines) straight to
file descriptor 2, around Python.  Sessions are created with the session logger
and the default logger at FATAL only (:func:`quiet`), and session creation and
the first run happen inside :func:`captured`, which points descriptor 2 at a
temporary file for that time: whatever native code still prints there is read
back and becomes part of onnxstat's message (an error the run reported, or a
logged error behind a run that "succeeded"), never a line of its own.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager

#: onnxruntime's severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal
FATAL = 4

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: ``2026-01-01 00:00:00.000 [E:onnxruntime:, file.cc:12 Func] message``
_LOG_LINE = re.compile(r"\[(?P<sev>[VIWEF]):onnxruntime:[^\]]*\]\s*(?P<msg>.*)")

_default_quiet = False


def quiet_default_logger(ort=None) -> None:
    """onnxruntime's default logger (sessions onnxstat does not configure, e.g. onnxsim's) at FATAL."""
    global _default_quiet
    if _default_quiet:
        return
    try:
        if ort is None:
            import onnxruntime as ort  # noqa: F811
        ort.set_default_logger_severity(FATAL)
    except Exception:  # noqa: BLE001 - no onnxruntime, or one without it: the capture still applies
        pass
    _default_quiet = True


def quiet(ort, so=None):
    """Session options (``so`` or new ones) and the default logger at FATAL only; returns ``so``."""
    quiet_default_logger(ort)
    if so is None:
        so = ort.SessionOptions()
    so.log_severity_level = FATAL
    so.log_verbosity_level = 0
    return so


class Log:
    """What native code wrote to descriptor 2 inside :func:`captured`."""

    def __init__(self) -> None:
        self.text = ""

    def messages(self, severities: str = "EF") -> list[str]:
        """onnxruntime's log messages of these severities (colours and prefixes removed)."""
        out = []
        for line in _ANSI.sub("", self.text).splitlines():
            m = _LOG_LINE.search(line)
            if m and m.group("sev") in severities:
                out.append(" ".join(m.group("msg").split()))
        return out

    def other_lines(self) -> list[str]:
        """Lines that are not onnxruntime log lines (shown again after the capture)."""
        return [ln for ln in _ANSI.sub("", self.text).splitlines() if ln.strip() and not _LOG_LINE.search(ln)]

    def fold(self, message: str, limit: int = 300) -> str:
        """``message`` with the logged errors it does not already contain appended."""
        extra = [m for m in self.messages() if m[:60] not in message]
        if extra:
            message = f"{message} (onnxruntime log: {'; '.join(extra)})"
        return " ".join(message.split())[: limit + 200]


@contextmanager
def captured():
    """Descriptor 2 goes to a temporary file inside the block; yields a :class:`Log` filled on exit.

    Lines that are not onnxruntime's log lines are written back to stderr afterwards, so
    nothing else printed meanwhile is lost.
    """
    log = Log()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield log
        return
    tmp = tempfile.TemporaryFile()
    try:
        os.dup2(tmp.fileno(), 2)
        try:
            yield log
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            tmp.seek(0)
            log.text = tmp.read(1 << 20).decode("utf-8", errors="replace")
    finally:
        os.close(saved)
        tmp.close()
    rest = log.other_lines()
    if rest:
        try:
            sys.stderr.write("\n".join(rest) + "\n")
        except (OSError, ValueError):
            pass
