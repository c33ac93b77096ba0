"""Every tensor of a model, and its external data: locations, sizes, reading.

External data files are never opened for counting.  Their locations are checked
(must stay inside the model's folder; symlinks are resolved) and their presence
and sizes reported, because simplification and onnxruntime need them; the bytes
are then read by :meth:`onnxstat.model.loader.LoadedModel.full_model` only (with
:func:`_open_external` and :func:`_read_external`), never by onnx.

External data locations come from the model file, i.e. from whoever wrote it.
A location is only ever opened when it names a regular file inside the model's
folder after resolving symlinks; everything else is refused, for counting,
--simplify, --shape-source ort and benchmarks alike (they all go through
``LoadedModel.full_model``, which reads the data itself).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError
from ..render.files import register_input
from . import _onnx as ox
from .wire import STRIPPED

if TYPE_CHECKING:
    from .loader import LoadedModel

#: bits per element of each TensorProto data type
_DTYPE_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
               14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2}


def _attr_tensors(node: ox.NodeProto):
    # like onnx.external_data_helper: a tensor or graph is used whatever ``type`` claims
    for a in node.attribute:
        if a.HasField("t"):
            yield a.t
        yield from a.tensors
        if a.HasField("sparse_tensor"):
            yield a.sparse_tensor.values
            yield a.sparse_tensor.indices
        for st in a.sparse_tensors:
            yield st.values
            yield st.indices
        if a.HasField("g"):
            yield from _iter_tensors(a.g)
        for g in a.graphs:
            yield from _iter_tensors(g)


def _iter_tensors(graph):
    """Every TensorProto of a graph or function, subgraphs included."""
    if isinstance(graph, ox.GraphProto):
        yield from graph.initializer
        for st in graph.sparse_initializer:
            yield st.values
            yield st.indices
    for node in graph.node:
        if node.attribute:
            yield from _attr_tensors(node)


def iter_all_tensors(model: ox.ModelProto):
    """Every TensorProto in the model: initializers, sparse initializers, attribute
    tensors, subgraphs, functions and training graphs (a superset of what onnx and
    onnxruntime load external data for)."""
    yield from _iter_tensors(model.graph)
    for f in model.functions:
        yield from _iter_tensors(f)
    for ti in model.training_info:
        yield from _iter_tensors(ti.initialization)
        yield from _iter_tensors(ti.algorithm)


def external_info(t: ox.TensorProto) -> dict[str, str] | None:
    if t.data_location != ox.TensorProto.EXTERNAL:
        return None
    return {e.key: e.value for e in t.external_data}


def resolve_location(base: Path, location: str) -> tuple[Path | None, str | None]:
    """Real path of an external data file, or (None, reason) when it must not be read.

    Refused: empty names, NUL characters, absolute paths (POSIX, drive letters, UNC),
    anything that resolves (``..``, symlinks) outside ``base``, and anything that is
    not a regular file (a folder, a FIFO, a device) -- opening those could block or
    read unbounded data.
    """
    if not location:
        return None, "unnamed"
    if "\x00" in location:
        return None, "an invalid file name (contains a NUL character; refused)"
    if (
        os.path.isabs(location)
        or location.startswith(("/", "\\"))
        or (len(location) > 1 and location[1] == ":")
    ):
        return None, "an absolute path (refused: external data must stay in the model's folder)"
    try:
        root = os.path.realpath(base)
        target = os.path.realpath(os.path.join(root, location))
    except (OSError, ValueError):
        return None, "an invalid file name (refused)"
    if os.path.commonpath([root, target]) != root:
        return None, "outside the model's folder (refused)"
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return None, "not a regular file (refused)"
    return Path(target), None


def _tensor_nbytes(t: ox.TensorProto) -> int | None:
    bits = _DTYPE_BITS.get(t.data_type)
    if not bits:
        return None
    numel = 1
    for d in t.dims:
        if d < 0:
            return None
        numel *= d
    return -(-numel * bits // 8)


def _extent(t: ox.TensorProto, info: dict[str, str], file_size: int) -> tuple[int, int] | str:
    """(offset, length) of a tensor's bytes in its external file, or why they are not there."""
    try:
        offset = int(info.get("offset") or 0)
        length = int(info["length"]) if info.get("length") else None
    except ValueError:
        return f"referenced with a non-numeric offset/length for tensor {t.name!r}"
    if offset < 0 or (length is not None and length < 0):
        return f"referenced with a negative offset/length for tensor {t.name!r}"
    expected = _tensor_nbytes(t)
    if length is not None and expected is not None and length != expected:
        return f"declared with {length} bytes for tensor {t.name!r}, whose dims and dtype need {expected}"
    need = length if length is not None else (expected if expected is not None else 0)
    if offset + need > file_size:
        return f"too short for tensor {t.name!r} (needs bytes {offset}..{offset + need}, the file has {file_size})"
    return offset, (length if length is not None else file_size - offset)


def _check_external(lm: LoadedModel, base: Path | None, tensors=None) -> None:
    sizes: dict[str, int] = {}
    for t in iter_all_tensors(lm.model) if tensors is None else tensors:
        info = external_info(t)
        if info is None:
            continue
        loc = info.get("location", "")
        if loc == STRIPPED and lm.stripped:
            continue
        lm.external_files.add(loc)
        if loc in lm.external_problems:
            continue
        if base is None:
            lm.external_problems[loc] = "not resolvable (model given without a path)"
            continue
        if loc not in sizes:
            target, why = resolve_location(base, loc)
            if target is None:
                lm.external_problems[loc] = why
                continue
            if not os.access(target, os.R_OK):
                lm.external_problems[loc] = "not readable (permission denied)"
                continue
            sizes[loc] = target.stat().st_size
            register_input(target)
        need = _tensor_nbytes(t)
        if need is not None and need > sizes[loc]:
            label = str(lm.path) if lm.path is not None else "model"
            name = f"tensor {t.name!r}" if t.name else "an unnamed tensor"
            raise ModelError(f"{label}: {name} declares {need} bytes (dims {list(t.dims)}); "
                             f"external data {loc!r} holds {sizes[loc]}")
        ext = _extent(t, info, sizes[loc])
        if isinstance(ext, str):
            lm.external_problems[loc] = ext
    for loc, why in sorted(lm.external_problems.items()):
        lm.warnings.append(f"external data {loc!r} is {why}; counting from the declared dims and dtypes")


def _open_external(base: Path, loc: str, label: str):
    """Open an external data file for reading, after checking its location again."""
    target, why = resolve_location(base, loc)
    if target is None:
        raise ModelError(f"{label}: weight data unavailable: external data {loc!r} is {why}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise ModelError(f"{label}: weight data unavailable: external data {loc!r}: {exc.strerror or exc}") from None
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise ModelError(f"{label}: weight data unavailable: external data {loc!r} is not a regular file (refused)")
    return f


def _read_external(f, loc: str, t: ox.TensorProto, info: dict[str, str], label: str) -> bytes:
    """The bytes of one externally stored tensor, bounds-checked against the open file."""
    ext = _extent(t, info, os.fstat(f.fileno()).st_size)
    if isinstance(ext, str):
        raise ModelError(f"{label}: weight data unavailable: external data {loc!r} is {ext}")
    offset, length = ext
    f.seek(offset)
    data = f.read(length)
    if len(data) != length:
        raise ModelError(f"{label}: weight data unavailable: external data {loc!r} changed while it was read")
    return data
