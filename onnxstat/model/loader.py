"""Loading models without reading weight bytes.

:func:`load` reads a model file through a memory map and strips the payload of
every large tensor while it reads (:mod:`.wire`), so peak memory follows the
graph, not the weights; it then parses and checks the model (:mod:`.parse`) and
the locations and sizes of its external data (:mod:`.external`).  The result is a
:class:`LoadedModel`; :meth:`LoadedModel.full_model` reads every weight byte when
simplification or onnxruntime need them.

The file is untrusted input: the wire-format parser is bounds-checked, the parsed
model is checked (UTF-8 text, opsets, structure, tensor data against dims) and
every problem is a :class:`ModelError` naming the file -- see docs/robustness.md.
"""

from __future__ import annotations

import mmap
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError, ModelNotFoundError, UsageError
from ..render.files import register_input
from . import _onnx as ox
from .external import (
    _check_external,
    _open_external,
    _read_external,
    external_info,
    iter_all_tensors,
    resolve_location,
)
from .graph import GraphView, build_view
from .parse import (
    _bad_bytes,
    _check_declared_sizes,
    _check_tensor_data,
    _model_warnings,
    _parse,
    _sniff,
    _validate_model,
    _validate_model_or_identify,
)
from .wire import (
    KEEP_PAYLOAD_BYTES,
    MAX_DEPTH,
    STRIPPED,
    CorruptProtobuf,
    TooManyNodes,
    strip_weights,
)
from .wire import _enc_varint as _enc_varint  # noqa: F401 - tests build wire-format bytes with it
from .wire import _fields as _fields  # noqa: F401 - tests read wire-format bytes with it
from .wire import _varint as _varint  # noqa: F401

#: the loader's names, some of them defined in the modules it was split into
__all__ = [
    "KEEP_PAYLOAD_BYTES", "MAX_DEPTH", "STRIPPED", "CorruptProtobuf", "LoadedModel", "TooManyNodes",
    "external_info", "iter_all_tensors", "load", "resolve_location", "strip_weights",
]


@dataclass
class LoadedModel:
    """A parsed model plus what is known about its weight data."""

    model: ox.ModelProto
    path: Path | None = None
    file_size: int | None = None
    #: problems with external data: location -> reason ("missing", "outside the model folder", …)
    external_problems: dict[str, str] = field(default_factory=dict)
    external_files: set[str] = field(default_factory=set)
    stripped: bool = False
    warnings: list[str] = field(default_factory=list)
    #: the main graph's validated view, kept from loading (see :meth:`main_view`)
    view: GraphView | None = field(default=None, repr=False, compare=False)

    def main_view(self) -> GraphView:
        """The main graph's view: the one validation built when the graph is still that one."""
        if self.view is None or self.view.graph is not self.model.graph:
            self.view = build_view(self.model.graph)
        return self.view

    @property
    def weights_available(self) -> bool:
        """True when every weight byte can be read (needed by onnxsim and onnxruntime)."""
        return not self.external_problems

    def full_model(self) -> ox.ModelProto:
        """The model with every weight byte loaded (for onnxsim / onnxruntime).

        The file is parsed again in full and every external tensor is read by this
        module, after its location is checked again (inside the model's folder,
        a regular file, offset and length within the file): no location the
        model names is handed to onnx or onnxruntime to open.  Raises
        :class:`ModelError` naming the location when weight data is unavailable.
        """
        label = str(self.path) if self.path is not None else "model"
        if self.external_problems:
            loc, why = next(iter(sorted(self.external_problems.items())))
            raise ModelError(f"{label}: weight data unavailable: external data {loc!r} is {why}")
        if not self.stripped and not self.external_files:
            return self.model
        if self.path is None:
            raise ModelError("model: weight data unavailable: the model was given without a path")
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ModelError(f"{label}: cannot read: {exc.strerror or exc}") from None
        model = _parse(data, label)
        del data
        base = self.path.parent
        files: dict[str, Any] = {}
        try:
            for t in iter_all_tensors(model):
                info = external_info(t)
                if info is None:
                    continue
                loc = info.get("location", "")
                if loc not in files:
                    files[loc] = _open_external(base, loc, label)
                t.raw_data = _read_external(files[loc], loc, t, info, label)
                t.data_location = ox.TensorProto.DEFAULT
                del t.external_data[:]
        finally:
            for f in files.values():
                f.close()
        return model


# --------------------------------------------------------------------------- loading


def _check_path(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ModelNotFoundError(f"{path}: broken symbolic link (the file it points to does not exist)", path) from None
        raise ModelNotFoundError(f"{path}: no such file", path) from None
    except NotADirectoryError:
        raise ModelNotFoundError(f"{path}: no such file (a parent in the path is not a folder)", path) from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot access: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: is a directory, not an ONNX file")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: permission denied")
    if st.st_size == 0:
        raise ModelError(f"{path}: file is empty")


#: release mapped file pages in steps of at least this many bytes
_RELEASE_STEP = 1 << 20


def _page_releaser(mm: mmap.mmap):
    """``release(end)``: unmap the pages of ``mm`` before byte ``end`` from this process.

    Touching a tensor's header maps the page-cache folio around it, and with
    large folios (Linux 6.x, ext4/xfs) one folio can be megabytes of weight data
    that then counts in this process's RSS.  MADV_DONTNEED on a read-only file
    mapping only drops the mapping (the page cache keeps the data; reading again
    maps it again), so peak RSS stays at the structure's size.
    """
    advise = getattr(mm, "madvise", None)
    dontneed = getattr(mmap, "MADV_DONTNEED", None)
    if advise is None or dontneed is None:
        return None
    done = [0]

    def release(end: int) -> None:
        hi = end - end % mmap.PAGESIZE
        if hi - done[0] >= _RELEASE_STEP:
            try:
                advise(dontneed, done[0], hi - done[0])
            except (OSError, ValueError):
                return
            done[0] = hi

    return release


def _read_model_bytes(path: Path, strip: bool) -> tuple[bytes, int]:
    """(model bytes, tensors stripped); the file is read through a memory map.

    No exception escapes while the map is open with views on it: every failure is
    turned into a message first, so the map always closes.
    """
    error: ModelError | None = None
    data = b""
    count = 0
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            head = mm[:64]
            what = _sniff(head)
            if what:
                error = ModelError(f"{path}: not an ONNX model, looks like {what}")
            elif strip:
                mv = memoryview(mm)
                try:
                    data, count = strip_weights(mv, release=_page_releaser(mm))
                except TooManyNodes as exc:
                    error = ModelError(f"{path}: {exc}")
                    del exc
                except (ValueError, IndexError, RecursionError) as exc:
                    why = str(exc) if isinstance(exc, CorruptProtobuf) else f"corrupt protobuf: {exc}"
                    del exc
                    error = _bad_bytes(str(path), mv, why)
                finally:
                    mv.release()
            else:
                data = mm[:]
        finally:
            try:
                mm.close()
            except BufferError:  # pragma: no cover - a view is still referenced; closed when collected
                pass
    if error is not None:
        raise error
    return data, count


def load(source, *, strip: bool = True) -> LoadedModel:
    """Load a model from a path (str / Path) or take a :class:`onnx.ModelProto` as is."""
    if isinstance(source, ox.ModelProto):
        view = _validate_model(source, "model")
        tensors = list(iter_all_tensors(source))
        _check_tensor_data(source, "model", tensors)
        _check_declared_sizes(source, "model", source.ByteSize, tensors)
        lm = LoadedModel(model=source, warnings=_model_warnings(source), view=view)
        _check_external(lm, None, tensors)
        return lm
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = bytes(source)
        if not source:
            raise ModelError("model bytes: empty")
        what = _sniff(source[:64])
        if what:
            raise ModelError(f"model bytes: not an ONNX model, looks like {what}")
        model = _parse(source, "model bytes")
        view = _validate_model_or_identify(model, "model bytes", source)
        tensors = list(iter_all_tensors(model))
        _check_tensor_data(model, "model bytes", tensors)
        _check_declared_sizes(model, "model bytes", len(source), tensors)
        lm = LoadedModel(model=model, warnings=_model_warnings(model), view=view)
        _check_external(lm, None, tensors)
        return lm
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(f"expected a path or an onnx.ModelProto, got {type(source).__name__}")
    path = Path(source)
    _check_path(path)
    register_input(path)
    size = path.stat().st_size
    try:
        data, count = _read_model_bytes(path, strip)
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: mmap of an unmappable file
        raise ModelError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    model = _parse(data, str(path))
    view = _validate_model_or_identify(model, str(path), data)
    del data
    tensors = list(iter_all_tensors(model))  # the three checks below read every tensor
    _check_tensor_data(model, str(path), tensors)
    _check_declared_sizes(model, str(path), size, tensors)
    lm = LoadedModel(model=model, path=path, file_size=size, stripped=count > 0, warnings=_model_warnings(model),
                     view=view)
    _check_external(lm, path.parent, tensors)
    return lm
