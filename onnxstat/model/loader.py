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
and sizes reported, because simplification and onnxruntime need them; the bytes
are then read by :meth:`LoadedModel.full_model` only, never by onnx.

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

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ..errors import ModelError, ModelNotFoundError, UsageError
from ..render.files import register_input
from ..runtime import limits
from . import _onnx as ox
from .graph import GraphView, build_view, validate_model

#: pseudo location of a tensor whose bytes were left in the model file; random per
#: process, so that a model cannot name it to pass a real location off as stripped
STRIPPED = f"__onnxstat_stripped_{os.urandom(8).hex()}__"
#: tensors with a payload up to this many bytes keep their data (shape constants)
KEEP_PAYLOAD_BYTES = 4096


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


# --------------------------------------------------------------------------- wire format
#
# The stripper reads untrusted bytes: every read is bounds-checked against the end
# of the enclosing message, varints are at most 10 bytes, nesting is limited like
# protobuf's own parser, and every problem is a :class:`CorruptProtobuf` (a
# ValueError) naming the byte offset.

#: protobuf's own parser (upb) refuses messages nested deeper than 100 levels
MAX_DEPTH = 100
#: largest field number protobuf allows
_MAX_FIELD = (1 << 29) - 1


class CorruptProtobuf(ValueError):
    """The bytes are not well-formed protobuf wire format."""


def _varint(buf, pos: int, end: int | None = None) -> tuple[int, int]:
    """Decode a varint at ``pos``; never reads at or past ``end`` (default: the buffer's end)."""
    if end is None:
        end = len(buf)
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise CorruptProtobuf(
                f"the file is truncated: a varint at byte {start} runs past the end"
                if end == len(buf) else f"corrupt protobuf: a varint at byte {start} runs past the end of its message"
            )
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:  # more than 10 bytes
            raise CorruptProtobuf(f"corrupt protobuf: a varint at byte {start} is longer than 10 bytes")


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
        key = buf[pos]
        if key < 0x80:  # one-byte key: fields 1..15, the common case
            p = pos + 1
        else:
            key, p = _varint(buf, pos, end)
        fnum, wt = key >> 3, key & 7
        if fnum == 0 or fnum > _MAX_FIELD:
            raise CorruptProtobuf(f"corrupt protobuf: invalid field number {fnum} at byte {pos}")
        if wt == 2:
            ln = buf[p] if p < end else 0x80
            if ln < 0x80:  # one-byte length
                ps = p + 1
            else:
                ln, ps = _varint(buf, p, end)
            q = ps + ln
        elif wt == 0:
            _, q = _varint(buf, p, end)
            ps = p
        elif wt == 1:
            ps, q = p, p + 8
        elif wt == 5:
            ps, q = p, p + 4
        else:
            raise CorruptProtobuf(f"corrupt protobuf: invalid wire type {wt} at byte {pos}")
        if q > end:
            if end == len(buf):
                raise CorruptProtobuf(
                    f"the file is truncated: a field at byte {pos} needs {q} bytes, the file has {end}"
                )
            raise CorruptProtobuf(f"corrupt protobuf: a field at byte {pos} runs past the end of its enclosing message (byte {end})")
        yield fnum, wt, pos, ps, q
        pos = q


def _emit(out: list, fnum: int, payload: bytes) -> None:
    out.append(_enc_varint((fnum << 3) | 2))
    out.append(_enc_varint(len(payload)))
    out.append(payload)


_MARK = None


def _stripped_marker(raw_length: int | None = None) -> bytes:
    """External-data fields marking a stripped tensor; ``raw_length``: the bytes of its
    raw_data, kept so that the declared dims can still be checked against them."""
    global _MARK
    if _MARK is None:
        entry = ox.StringStringEntryProto(key="location", value=STRIPPED).SerializeToString()
        out: list = []
        _emit(out, 13, entry)
        out.append(_enc_varint((14 << 3) | 0))
        out.append(_enc_varint(ox.TensorProto.EXTERNAL))
        _MARK = b"".join(out)
    if raw_length is None:
        return _MARK
    out = [_MARK]
    _emit(out, 13, ox.StringStringEntryProto(key="length", value=str(raw_length)).SerializeToString())
    return b"".join(out)


# TensorProto payload fields: float_data 4, int32_data 5, string_data 6, int64_data 7,
# raw_data 9, double_data 10, uint64_data 11
_TENSOR_PAYLOAD = {4, 5, 6, 7, 9, 10, 11}


class TooManyNodes(CorruptProtobuf):
    """The model has more nodes than the node budget (:func:`onnxstat.runtime.limits.max_nodes`)."""

    def __init__(self, limit: int, pos: int):
        super().__init__(f"the model has more than {limit:,} nodes (node {limit + 1:,} at byte {pos}); "
                         "refused before parsing (raise the limit with --max-nodes)")


class _Stripper:
    def __init__(self, buf, keep: int, release=None, max_nodes: int | None = None):
        self.buf = buf
        self.keep = keep
        self.count = 0
        self.nodes = 0
        self.max_nodes = max_nodes if max_nodes is not None else limits.max_nodes()
        self.depth = 0
        self.release = release  # release(end): the caller may drop file pages before byte ``end``

    def _enter(self, s: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CorruptProtobuf(f"messages nested more than {MAX_DEPTH} levels deep at byte {s}")

    def tensor(self, s: int, e: int) -> bytes:
        self._enter(s)
        try:
            payload = 0
            raw = None
            other = False
            for fnum, wt, _fs, ps, fe in _fields(self.buf, s, e):
                if fnum in _TENSOR_PAYLOAD:
                    payload += fe - ps
                    if fnum == 9 and wt == 2 and raw is None:
                        raw = fe - ps
                    else:
                        other = True
            if payload <= self.keep:
                return None
            out: list = []
            for fnum, _wt, fs, _ps, fe in _fields(self.buf, s, e):
                if fnum in _TENSOR_PAYLOAD or fnum in (13, 14):
                    continue
                out.append(bytes(self.buf[fs:fe]))
            out.append(_stripped_marker(None if other else raw))
            self.count += 1
            if self.release is not None:
                self.release(e)
            return b"".join(out)
        finally:
            self.depth -= 1

    def _message(self, s: int, e: int, handlers: dict, nodes: int = 0) -> bytes | None:
        """The message with its large tensors stripped, None when nothing in it changed.

        Unchanged fields are copied in runs, not one by one, so a graph of millions of
        small nodes costs one copy of its bytes.  ``nodes``: the field number of the
        message's nodes, counted against the node budget."""
        self._enter(s)
        try:
            out: list = []
            last = s
            for fnum, wt, fs, ps, fe in _fields(self.buf, s, e):
                if fnum == nodes:
                    self.nodes += 1
                    if self.nodes > self.max_nodes:
                        raise TooManyNodes(self.max_nodes, fs)
                h = handlers.get(fnum) if wt == 2 else None
                if h is None or (fe - ps) <= self.keep:
                    continue
                new = h(ps, fe)
                if new is None:
                    continue
                out.append(bytes(self.buf[last:fs]))
                _emit(out, fnum, new)
                last = fe
            if not out:
                return None
            out.append(bytes(self.buf[last:e]))
            return b"".join(out)
        finally:
            self.depth -= 1

    def attribute(self, s: int, e: int) -> bytes:
        # AttributeProto: t 5, g 6, tensors 10, graphs 11
        return self._message(s, e, {5: self.tensor, 6: self.graph, 10: self.tensor, 11: self.graph})

    def node(self, s: int, e: int) -> bytes:
        return self._message(s, e, {5: self.attribute})

    def graph(self, s: int, e: int) -> bytes:
        # GraphProto: node 1, initializer 5
        return self._message(s, e, {1: self.node, 5: self.tensor}, nodes=1)

    def function(self, s: int, e: int) -> bytes:
        # FunctionProto: node 7
        return self._message(s, e, {7: self.node}, nodes=7)

    def model(self, s: int, e: int) -> bytes:
        # ModelProto: graph 7, functions 25
        return self._message(s, e, {7: self.graph, 25: self.function})


def strip_weights(buf, keep: int = KEEP_PAYLOAD_BYTES, release=None) -> tuple[bytes, int]:
    """Serialized model bytes -> (the same model without large tensor payloads, tensors stripped).

    Raises :class:`CorruptProtobuf` (a ValueError) when the bytes are not
    well-formed wire format; never reads outside ``buf``.
    """
    st = _Stripper(buf, keep, release)
    data = st.model(0, len(buf))
    if data is None:
        data = bytes(buf)
    return data, st.count


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


# Formats users mistake for ONNX files.  None of these prefixes starts a ModelProto
# any exporter writes (those start with the ir_version field, byte 0x08).
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"PK\x03\x04", "a zip archive (a PyTorch checkpoint or a compressed download?)"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "an executable"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"\x89HDF", "an HDF5 file (a Keras model?)"),
    (b"version https://git-lfs", "a Git LFS pointer, not the model (run 'git lfs pull')"),
    (b"<!DOCTYPE", "an HTML page (a failed download?)"),
    (b"<!doctype", "an HTML page (a failed download?)"),
    (b"<html", "an HTML page (a failed download?)"),
    (b"<?xml", "an XML document"),
    (b"\x80\x02", "a Python pickle"),
    (b"\x80\x03", "a Python pickle"),
    (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"),
)


def _sniff(head: bytes) -> str | None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head[4:8] == b"TFL3":
        return "a TensorFlow Lite model"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the end of the sample is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(c.isprintable() or c in "\n\r\t" for c in text)


#: the "what is it instead" guess parses at most this many bytes
_IDENTIFY_LIMIT = 64 * 1024 * 1024


def _identify(data) -> str | None:
    """Name another ONNX message type ``data`` holds, if it clearly is one."""
    if len(data) > _IDENTIFY_LIMIT:
        return None
    try:
        g = ox.GraphProto()
        g.ParseFromString(data)
        if g.node and all(n.op_type.isidentifier() for n in g.node) and (g.input or g.output or g.initializer):
            return "a serialized onnx.GraphProto (wrap it in a model with onnx.helper.make_model)"
    except Exception:  # noqa: BLE001 - any failure just means "not a graph"
        pass
    try:
        t = ox.TensorProto()
        t.ParseFromString(data)
        if 1 <= t.data_type <= 26 and t.data_type != ox.TensorProto.STRING and (t.dims or t.raw_data):
            numel = 1
            for d in t.dims:
                numel *= d
            bits = _DTYPE_BITS.get(t.data_type, 0)
            typed = max(len(t.float_data), len(t.int32_data), len(t.int64_data), len(t.double_data), len(t.uint64_data))
            if (t.raw_data and bits and len(t.raw_data) == -(-numel * bits // 8)) or (
                not t.raw_data and typed and typed in (numel, 2 * numel) and (t.dims or t.name)
            ):
                return "a serialized onnx.TensorProto (one tensor)"
    except Exception:  # noqa: BLE001
        pass
    return None


_DTYPE_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
               14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2}


def _parse(data, label: str) -> ox.ModelProto:
    """Parse a ModelProto; any protobuf failure becomes a ModelError naming ``label``."""
    model = ox.ModelProto()
    why = None
    try:
        model.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - DecodeError, RuntimeError, ... from any protobuf backend
        why = "protobuf parse failed: " + " ".join(str(exc).split())
        if "MaxDepth" in why or "recursion" in why.lower():
            why = f"messages nested more than {MAX_DEPTH} levels deep (subgraphs inside subgraphs)"
    if why is not None:
        raise _bad_bytes(label, data, why)
    return model


_TYPE_STRING = FieldDescriptor.TYPE_STRING
_TYPE_MESSAGE = FieldDescriptor.TYPE_MESSAGE


def _bad_text_field(msg, where: str) -> str | None:
    """Where a string field holds bytes that are not UTF-8 (protobuf then returns bytes, not str).

    ONNX strings are UTF-8; a corrupt one would surface much later as a TypeError
    in code that expects text, so it is found here, in one pass over the set fields.
    The path (``model.graph.node[0] (Relu).name``) is built only for the field found,
    so a graph of a million nodes costs one ``ListFields`` per message.
    """
    path = _bad_text_path(msg)
    if path is None:
        return None
    return where + "".join(reversed(path))


_NODE_DESCRIPTOR = ox.NodeProto.DESCRIPTOR


def _plain_node_ok(node) -> bool:
    """A node whose set fields are all text (names, op type, inputs, outputs) and valid: the
    common case, decided without the general walk (False: walk it)."""
    for fd, value in node.ListFields():
        tv = type(value)
        if tv is str:
            continue
        if tv is bytes or fd.type != _TYPE_STRING:
            return False
        for v in value:
            if type(v) is not str:
                return False
    return True


def _bad_text_path(msg) -> list | None:
    """The path to the first non-UTF-8 string below ``msg``, innermost part first."""
    for fd, value in msg.ListFields():
        tv = type(value)
        if tv is str or tv is int or tv is float or tv is bytes and fd.type != _TYPE_STRING:
            continue  # the common set scalar fields, decided by their type alone
        t = fd.type
        if t == _TYPE_STRING:
            if tv is bytes:
                return [f".{fd.name}"]
            for i, v in enumerate(value):  # repeated
                if type(v) is not str:
                    return [f".{fd.name}[{i}]"]
        elif t == _TYPE_MESSAGE:
            if isinstance(value, Message):
                bad = _bad_text_path(value)
                if bad is not None:
                    bad.append(f".{fd.name}")
                    return bad
                continue
            plain = fd.message_type is _NODE_DESCRIPTOR
            for i, m in enumerate(value):
                if plain and _plain_node_ok(m):
                    continue
                bad = _bad_text_path(m)
                if bad is not None:
                    label = f".{fd.name}[{i}]"
                    if fd.message_type.name == "NodeProto" and isinstance(m.op_type, str) and m.op_type:
                        label += f" ({m.op_type})"
                    bad.append(label)
                    return bad
    return None


def _validate_model(model: ox.ModelProto, label: str) -> GraphView:
    bad = _bad_text_field(model, "model")
    if bad:
        raise ModelError(f"{label}: not a valid ONNX model: the text of {bad} is not valid UTF-8 (corrupt file?)")
    if not model.HasField("graph"):
        raise ModelError(f"{label}: not a valid ONNX model: it has no graph (a truncated file, or not a model)")
    if not model.opset_import and model.ir_version >= 3:
        raise ModelError(f"{label}: the model declares no opset_import")
    _check_opsets(model, label)
    if len(model.graph.node) == 0 and len(model.graph.output) == 0:
        raise ModelError(f"{label}: the graph is empty: no nodes and no outputs")
    try:
        return validate_model(model)
    except ModelError as exc:
        raise ModelError(f"{label}: {exc}") from None


def _check_opsets(model: ox.ModelProto, label: str) -> None:
    known = {"ai.onnx": ox.opset_version(), "ai.onnx.ml": ox.opset_version("ai.onnx.ml")}
    seen: dict[str, int] = {}
    for o in model.opset_import:
        d = o.domain or "ai.onnx"
        if d in seen and seen[d] != o.version:
            raise ModelError(f"{label}: the model declares domain {d} twice, with opsets {seen[d]} and {o.version}")
        seen[d] = o.version
        if d in known and o.version < 1:
            raise ModelError(f"{label}: the model declares an invalid {d} opset version {o.version}")
        if d in known and o.version > known[d]:
            raise ModelError(
                f"{label}: the model uses {d} opset {o.version}, newer than the installed onnx knows ({known[d]}); upgrade onnx"
            )


def _model_warnings(model: ox.ModelProto) -> list[str]:
    out = []
    if model.ir_version > ox.IR_VERSION:
        out.append(
            f"the model's IR version {model.ir_version} is newer than the installed onnx knows ({ox.IR_VERSION}); "
            "fields it added are ignored"
        )
    return out


def _bad_bytes(label: str, data, why: str) -> ModelError:
    """The error for bytes that are not a model: names what they look like when it is clear."""
    what = _identify(data)
    if what:
        return ModelError(f"{label}: not an ONNX model, looks like {what}")
    head = bytes(data[:512])
    if _looks_like_text(head):
        if head.lstrip().startswith((b"ir_version", b"graph {", b"graph{", b"opset_import", b"producer_name")):
            return ModelError(
                f"{label}: an ONNX model in protobuf text format; onnxstat reads the binary format "
                "(convert it with onnx.save(onnx.load(path, format='textproto'), 'model.onnx'))"
            )
        return ModelError(f"{label}: not an ONNX model, looks like a text file")
    return ModelError(f"{label}: not a valid ONNX model: {why}")


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


def _validate_model_or_identify(model: ox.ModelProto, label: str, data) -> GraphView:
    try:
        return _validate_model(model, label)
    except ModelError:
        what = _identify(data) if not model.HasField("graph") else None
        if what:
            raise ModelError(f"{label}: not an ONNX model, looks like {what}") from None
        raise


# --------------------------------------------------------------------------- external data
#
# External data locations come from the model file, i.e. from whoever wrote it.
# A location is only ever opened when it names a regular file inside the model's
# folder after resolving symlinks; everything else is refused, for counting,
# --simplify, --shape-source ort and benchmarks alike (they all go through
# :meth:`LoadedModel.full_model`, which reads the data itself).


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


# typed payload field per dtype, and how many values one element takes there
_TYPED_FIELD = {
    ox.TensorProto.FLOAT: ("float_data", 1),
    ox.TensorProto.DOUBLE: ("double_data", 1),
    ox.TensorProto.INT32: ("int32_data", 1),
    ox.TensorProto.INT64: ("int64_data", 1),
    ox.TensorProto.UINT64: ("uint64_data", 1),
    ox.TensorProto.COMPLEX64: ("float_data", 2),
    ox.TensorProto.COMPLEX128: ("double_data", 2),
}


def _data_mismatch(t: ox.TensorProto) -> str | None:
    """Why a tensor's data does not fit its dims and dtype (None when it fits or cannot be told)."""
    if t.data_type == ox.TensorProto.STRING and t.HasField("raw_data") and t.raw_data:
        return "is a string tensor but holds raw_data (strings go in string_data)"
    expected = _tensor_nbytes(t)
    if expected is None:
        return None
    info = external_info(t)
    if info is not None:
        if info.get("location") == STRIPPED and "length" in info and int(info["length"]) != expected:
            got = int(info["length"])
        else:
            return None
    elif t.HasField("raw_data"):
        got = len(t.raw_data)
    else:
        field, per = _TYPED_FIELD.get(t.data_type, (None, 0))
        if field is None:
            return None
        n = len(getattr(t, field))
        numel = expected * 8 // _DTYPE_BITS[t.data_type]
        if n == 0 and numel and not any(len(getattr(t, f)) for f, _ in _TYPED_FIELD.values()):
            return None  # no data at all: a declaration (counting needs only dims and dtype)
        if n == numel * per:
            return None
        return f"declares {numel} elements (dims {list(t.dims)}) but holds {n // per if per else n} in {field}"
    if got == expected:
        return None
    dtype = ox.dtype_spelling(t.data_type)
    return f"declares dims {list(t.dims)} of {dtype} ({expected} bytes) but holds {got} bytes"


def _check_tensor_data(model: ox.ModelProto, label: str, tensors=None) -> None:
    for t in iter_all_tensors(model) if tensors is None else tensors:
        why = _data_mismatch(t)
        if why:
            name = f"tensor {t.name!r}" if t.name else "an unnamed tensor"
            raise ModelError(f"{label}: not a valid ONNX model: {name} {why}")


def _has_data(t: ox.TensorProto) -> bool:
    return t.data_location == ox.TensorProto.EXTERNAL or t.HasField("raw_data") or any(
        len(getattr(t, f)) for f in ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")
    )


def _check_declared_sizes(model: ox.ModelProto, label: str, holds, tensors=None) -> None:
    """A tensor declared without data (dims and dtype only) may not claim more bytes than the
    file that declares it holds: a 200-byte file declaring a terabyte is refused before
    anything (shape inference, folding, onnxruntime) sizes a buffer from it.

    ``holds``: the file's size, or a callable giving it (computed only when needed).
    """
    initializers = {id(t) for t in model.graph.initializer}
    for t in iter_all_tensors(model) if tensors is None else tensors:
        if _has_data(t):
            continue
        need = _tensor_nbytes(t)
        if need is None or need <= KEEP_PAYLOAD_BYTES:
            continue
        if callable(holds):
            holds = holds()
        if need > holds:
            what = "initializer" if id(t) in initializers else "tensor"
            name = f"{what} {t.name!r}" if t.name else f"an unnamed {what}"
            raise ModelError(f"{label}: {name} declares {need} bytes (dims {list(t.dims)}) but no data; "
                             f"the file holds {holds}")


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
