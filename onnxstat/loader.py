"""Loading models without reading weight bytes.

Counting needs only each weight's name, dims and dtype.  :func:`load` therefore
reads a model file through a memory map and rewrites its protobuf wire format on
the fly, leaving out the payload of every large tensor (initializers, Constant
attributes, subgraph initializers): the parsed :class:`onnx.ModelProto` holds the
graph's structure and the small tensors (shape constants) only, so peak memory
follows the graph, not the weights.  A stripped tensor is marked as external data
at the pseudo-location :data:`STRIPPED`, so code downstream can tell "data left
in the file" from "data in an external file".

External data files are never opened for counting.  Their locations are checked
(must stay inside the model's folder; symlinks are resolved) and their presence
and sizes reported, because simplification and onnxruntime need them.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from .errors import ModelError, UsageError

#: pseudo location of a tensor whose bytes were left in the model file
STRIPPED = "__onnxstat_stripped__"
#: tensors with a payload up to this many bytes keep their data (shape constants)
KEEP_PAYLOAD_BYTES = 4096


@dataclass
class LoadedModel:
    """A parsed model plus what is known about its weight data."""

    model: onnx.ModelProto
    path: Path | None = None
    file_size: int | None = None
    #: problems with external data: location -> reason ("missing", "outside the model folder", …)
    external_problems: dict[str, str] = field(default_factory=dict)
    external_files: set[str] = field(default_factory=set)
    stripped: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def weights_available(self) -> bool:
        """True when every weight byte can be read (needed by onnxsim and onnxruntime)."""
        return not self.external_problems

    def full_model(self) -> onnx.ModelProto:
        """The model with every weight byte loaded (for onnxsim / onnxruntime)."""
        if self.external_problems:
            loc, why = next(iter(self.external_problems.items()))
            raise ModelError(f"weight data unavailable: external file {loc!r} is {why}")
        if not self.stripped and not self.external_files:
            return self.model
        if self.path is None:
            raise ModelError("weight data unavailable: the model was given without a path")
        try:
            return onnx.load(str(self.path), load_external_data=True)
        except Exception as exc:  # pragma: no cover - depends on onnx internals
            raise ModelError(f"{self.path}: cannot load weight data: {exc}") from None


# --------------------------------------------------------------------------- wire format


def _varint(buf, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _enc_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf, start: int, end: int):
    """Yield (field number, wire type, field start, payload start, field end)."""
    pos = start
    while pos < end:
        key, p = _varint(buf, pos)
        fnum, wt = key >> 3, key & 7
        if wt == 0:
            _, q = _varint(buf, p)
            ps = p
        elif wt == 1:
            ps, q = p, p + 8
        elif wt == 2:
            ln, ps = _varint(buf, p)
            q = ps + ln
        elif wt == 5:
            ps, q = p, p + 4
        else:
            raise ValueError(f"unsupported wire type {wt} at byte {pos}")
        if q > end or fnum == 0:
            raise ValueError(f"field overruns its message at byte {pos}")
        yield fnum, wt, pos, ps, q
        pos = q


def _emit(out: list, fnum: int, payload: bytes) -> None:
    out.append(_enc_varint((fnum << 3) | 2))
    out.append(_enc_varint(len(payload)))
    out.append(payload)


_MARK = None


def _stripped_marker() -> bytes:
    global _MARK
    if _MARK is None:
        entry = onnx.StringStringEntryProto(key="location", value=STRIPPED).SerializeToString()
        out: list = []
        _emit(out, 13, entry)
        out.append(_enc_varint((14 << 3) | 0))
        out.append(_enc_varint(onnx.TensorProto.EXTERNAL))
        _MARK = b"".join(out)
    return _MARK


# TensorProto payload fields: float_data 4, int32_data 5, string_data 6, int64_data 7,
# raw_data 9, double_data 10, uint64_data 11
_TENSOR_PAYLOAD = {4, 5, 6, 7, 9, 10, 11}


class _Stripper:
    def __init__(self, buf, keep: int):
        self.buf = buf
        self.keep = keep
        self.count = 0

    def tensor(self, s: int, e: int) -> bytes:
        payload = 0
        for fnum, _wt, _fs, ps, fe in _fields(self.buf, s, e):
            if fnum in _TENSOR_PAYLOAD:
                payload += fe - ps
        if payload <= self.keep:
            return bytes(self.buf[s:e])
        out: list = []
        for fnum, _wt, fs, _ps, fe in _fields(self.buf, s, e):
            if fnum in _TENSOR_PAYLOAD or fnum in (13, 14):
                continue
            out.append(self.buf[fs:fe])
        out.append(_stripped_marker())
        self.count += 1
        return b"".join(bytes(x) for x in out)

    def _message(self, s: int, e: int, handlers: dict) -> bytes:
        out: list = []
        changed = False
        for fnum, wt, fs, ps, fe in _fields(self.buf, s, e):
            h = handlers.get(fnum) if wt == 2 else None
            if h is None or (fe - ps) <= self.keep:
                out.append(self.buf[fs:fe])
                continue
            new = h(ps, fe)
            if len(new) == fe - ps:
                out.append(self.buf[fs:fe])
                continue
            changed = True
            _emit(out, fnum, new)
        if not changed:
            return bytes(self.buf[s:e])
        return b"".join(bytes(x) for x in out)

    def attribute(self, s: int, e: int) -> bytes:
        # AttributeProto: t 5, g 6, tensors 10, graphs 11
        return self._message(s, e, {5: self.tensor, 6: self.graph, 10: self.tensor, 11: self.graph})

    def node(self, s: int, e: int) -> bytes:
        return self._message(s, e, {5: self.attribute})

    def graph(self, s: int, e: int) -> bytes:
        # GraphProto: node 1, initializer 5
        return self._message(s, e, {1: self.node, 5: self.tensor})

    def function(self, s: int, e: int) -> bytes:
        # FunctionProto: node 7
        return self._message(s, e, {7: self.node})

    def model(self, s: int, e: int) -> bytes:
        # ModelProto: graph 7, functions 25
        return self._message(s, e, {7: self.graph, 25: self.function})


def strip_weights(buf, keep: int = KEEP_PAYLOAD_BYTES) -> tuple[bytes, int]:
    """Serialized model bytes -> (the same model without large tensor payloads, tensors stripped)."""
    st = _Stripper(buf, keep)
    data = st.model(0, len(buf))
    return data, st.count


# --------------------------------------------------------------------------- loading


def _check_path(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not an ONNX file")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise ModelError(f"{path}: file is empty")


_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"PK\x03\x04": "a zip archive",
    b"%PDF": "a PDF document",
    b"\x7fELF": "an executable",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
}


def _sniff(head: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    return None


def _parse(data, label: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{label}: not a valid ONNX model (protobuf parse failed: {exc})") from None
    return model


def _validate_model(model: onnx.ModelProto, label: str) -> None:
    if not model.HasField("graph"):
        raise ModelError(f"{label}: not an ONNX model (no graph)")
    if not model.opset_import and model.ir_version >= 3:
        raise ModelError(f"{label}: the model declares no opset_import")
    if len(model.graph.node) == 0 and len(model.graph.output) == 0:
        raise ModelError(f"{label}: the graph is empty (no nodes and no outputs)")


def load(source, *, strip: bool = True) -> LoadedModel:
    """Load a model from a path (str / Path) or take a :class:`onnx.ModelProto` as is."""
    if isinstance(source, onnx.ModelProto):
        _validate_model(source, "model")
        lm = LoadedModel(model=source)
        _check_external(lm, base=None)
        return lm
    if isinstance(source, (bytes, bytearray)):
        model = _parse(bytes(source), "model bytes")
        _validate_model(model, "model bytes")
        lm = LoadedModel(model=model)
        _check_external(lm, base=None)
        return lm
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(f"expected a path or an onnx.ModelProto, got {type(source).__name__}")
    path = Path(source)
    _check_path(path)
    size = path.stat().st_size
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            what = _sniff(mm[:8])
            if what:
                raise ModelError(f"{path}: not an ONNX model (looks like {what})")
            count = 0
            if strip:
                try:
                    data, count = strip_weights(memoryview(mm))
                except (ValueError, IndexError) as exc:
                    raise ModelError(f"{path}: not a valid ONNX model (truncated or corrupt protobuf: {exc})") from None
            else:
                data = mm[:]
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read: {exc.strerror or exc}") from None
    model = _parse(data, str(path))
    del data
    _validate_model(model, str(path))
    lm = LoadedModel(model=model, path=path, file_size=size, stripped=count > 0)
    _check_external(lm, base=path.parent)
    return lm


# --------------------------------------------------------------------------- external data


def _iter_tensors(graph: onnx.GraphProto):
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                yield a.t
            elif a.type == onnx.AttributeProto.TENSORS:
                yield from a.tensors
            elif a.type == onnx.AttributeProto.GRAPH:
                yield from _iter_tensors(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from _iter_tensors(g)


def iter_all_tensors(model: onnx.ModelProto):
    """Every TensorProto in the model (initializers and attribute tensors, subgraphs included)."""
    yield from _iter_tensors(model.graph)


def external_info(t: onnx.TensorProto) -> dict[str, str] | None:
    if t.data_location != onnx.TensorProto.EXTERNAL:
        return None
    return {e.key: e.value for e in t.external_data}


def resolve_location(base: Path, location: str) -> tuple[Path | None, str | None]:
    """Path of an external data file, or (None, reason) when it must not be read."""
    if not location:
        return None, "unnamed"
    if os.path.isabs(location) or location.startswith(("/", "\\")) or (len(location) > 1 and location[1] == ":"):
        return None, "an absolute path (refused: external data must stay in the model's folder)"
    root = os.path.realpath(base)
    target = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, target]) != root:
        return None, "outside the model's folder (refused)"
    return Path(target), None


def _check_external(lm: LoadedModel, base: Path | None) -> None:
    sizes: dict[str, int | None] = {}
    for t in iter_all_tensors(lm.model):
        info = external_info(t)
        if info is None:
            continue
        loc = info.get("location", "")
        if loc == STRIPPED:
            continue
        lm.external_files.add(loc)
        if loc in lm.external_problems:
            continue
        if base is None:
            lm.external_problems[loc] = "not resolvable (model given without a path)"
            continue
        target, why = resolve_location(base, loc)
        if target is None:
            lm.external_problems[loc] = why
            continue
        if loc not in sizes:
            sizes[loc] = target.stat().st_size if target.is_file() else None
        if sizes[loc] is None:
            lm.external_problems[loc] = "missing"
            continue
        try:
            offset = int(info.get("offset", "0") or 0)
            length = info.get("length")
            end = offset + (int(length) if length else 0)
        except ValueError:
            lm.external_problems[loc] = f"referenced with a bad offset/length for tensor {t.name!r}"
            continue
        if offset < 0 or end > sizes[loc]:
            lm.external_problems[loc] = (
                f"too short for tensor {t.name!r} (needs bytes {offset}..{end}, file has {sizes[loc]})"
            )
    for loc, why in sorted(lm.external_problems.items()):
        lm.warnings.append(f"external data {loc!r} is {why}; counting from the declared dims and dtypes")
