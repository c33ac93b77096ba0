"""Writing reports: atomically, never half-written, never into a missing folder,
never over a file onnxstat is reading.

A report goes to a temporary file in the destination folder first and is renamed
over the destination only once it is complete, so a failure (a rendering error,
a full disk, Ctrl-C) leaves the previous file untouched and no temporary file
behind.  Streams (``-o /dev/stdout``, a FIFO) are written directly: they cannot
be renamed over.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Sequence

from ..errors import UsageError

#: files read in this process (models, external data): (dev, inode, size, mtime_ns)
_INPUTS: set[tuple[int, int, int, int]] = set()


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def register_input(path: str | os.PathLike) -> None:
    """Remember a file onnxstat reads, so that no report is written over it."""
    try:
        _INPUTS.add(_identity(os.stat(path)))
    except OSError:
        pass


def _is_input(st: os.stat_result) -> bool:
    return _identity(st) in _INPUTS


def check_output_path(path: str | os.PathLike) -> Path:
    """Validate an output path before any work is done."""
    p = Path(path)
    if not str(path):
        raise UsageError("output path is empty")
    if "\x00" in str(path):
        raise UsageError(f"output {str(path)!r}: invalid file name (contains a NUL character)")
    parent = p.parent if str(p.parent) else Path(".")
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise UsageError(f"output {p}: cannot access: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"output {p}: is a directory")
    if st is None:
        if os.path.lexists(parent) and not parent.is_dir():
            raise UsageError(f"output {p}: {parent} is not a folder")
        if not parent.exists():
            raise UsageError(f"output {p}: folder {parent} does not exist")
    if st is not None and _is_input(st):
        raise UsageError(f"output {p}: is a file onnxstat is reading (refusing to overwrite an input)")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(p, os.W_OK):
            raise UsageError(f"output {p}: is not writable")
        return p  # a stream (/dev/stdout, a FIFO): written directly
    if not os.access(parent, os.W_OK):
        raise UsageError(f"output {p}: folder {parent} is not writable")
    if st is not None and not os.access(p, os.W_OK):
        raise UsageError(f"output {p}: file is not writable")
    return p


def _write_stream(p: Path, data: str | bytes) -> Path:
    try:
        if isinstance(data, bytes):
            with open(p, "wb") as f:
                f.write(data)
        else:
            with open(p, "w", encoding="utf-8", newline="") as f:
                f.write(data)
    except OSError as exc:
        raise UsageError(f"output {p}: cannot write: {exc.strerror or exc}") from None
    return p


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write to a temporary file in the same folder, then rename over ``path``.

    A symlink at ``path`` is replaced by the new file (the file it points to is
    left alone).  Raises :class:`UsageError` when the file cannot be written; on
    any failure the previous file is intact and no temporary file remains.
    """
    p = check_output_path(path)
    try:
        st = os.stat(p)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        return _write_stream(p, data)
    mode = "wb" if isinstance(data, bytes) else "w"
    folder = str(p.parent) if str(p.parent) else "."
    try:
        fd, tmp = _mkstemp(folder, f".{p.name}.")
    except OSError as exc:
        raise UsageError(f"output {p}: cannot create a file in folder {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            try:
                os.chmod(tmp, st.st_mode & 0o777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except OSError as exc:
        _unlink(tmp)
        raise UsageError(f"output {p}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _unlink(tmp)
        raise
    return p


def _mkstemp(folder: str, prefix: str) -> tuple[int, str]:
    """A new file only this process can have made (O_EXCL, mode 0600), as tempfile.mkstemp
    does, without importing tempfile (and shutil, random, ...) on every run."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name")


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


# --------------------------------------------------------------------------- model arguments

_GLOB_CHARS = set("*?[")


def is_glob(arg: str) -> bool:
    return any(c in _GLOB_CHARS for c in str(arg))


def is_batch(args: Sequence[str | os.PathLike]) -> bool:
    """True when the arguments name more than one model: several, a directory or a glob."""
    if len(args) != 1:
        return True
    a = str(args[0])
    return is_glob(a) and not os.path.exists(a) or os.path.isdir(a)
