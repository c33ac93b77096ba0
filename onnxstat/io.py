"""Writing reports: atomically, never half-written, never into a missing folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UsageError


def check_output_path(path: str | os.PathLike) -> Path:
    """Validate an output path before any work is done."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise UsageError(f"output {p}: is a directory")
    if not parent.exists():
        raise UsageError(f"output {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise UsageError(f"output {p}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"output {p}: folder {parent} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"output {p}: file is not writable")
    return p


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write to a temporary file in the same folder, then rename over ``path``."""
    p = check_output_path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(p.parent if str(p.parent) else "."))
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if p.exists():
            try:
                os.chmod(tmp, p.stat().st_mode & 0o777)
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"output {p}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p
