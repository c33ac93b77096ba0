"""Parsing a model and checking what was parsed.

The bytes are untrusted: any protobuf failure becomes a :class:`ModelError` naming
the file, and bytes that are not a model are named for what they look like
(images, archives, pickles, text, a lone GraphProto or TensorProto).  A parsed
model is checked before anything reads it: text fields are UTF-8, opsets are
known and declared once, the graph's structure (:func:`.graph.validate_model`),
every tensor's data against its dims and dtype, and tensors declared without
data against the size of the file declaring them.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ..errors import ModelError
from . import _onnx as ox
from .external import _DTYPE_BITS, _tensor_nbytes, external_info, iter_all_tensors
from .graph import GraphView, validate_model
from .wire import KEEP_PAYLOAD_BYTES, MAX_DEPTH, STRIPPED

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


def _validate_model_or_identify(model: ox.ModelProto, label: str, data) -> GraphView:
    try:
        return _validate_model(model, label)
    except ModelError:
        what = _identify(data) if not model.HasField("graph") else None
        if what:
            raise ModelError(f"{label}: not an ONNX model, looks like {what}") from None
        raise


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
