"""The protobuf wire format, and the stripper that leaves weight payloads out of a model.

Counting needs only each weight's name, dims and dtype.  :func:`strip_weights`
rewrites a model's protobuf wire format on the fly, leaving out the payload of
every large tensor (initializers, Constant attributes, subgraph initializers), so
the parsed :class:`onnx.ModelProto` holds the graph's structure and the small
tensors (shape constants) only.  A stripped tensor is marked as external data at
the pseudo-location :data:`STRIPPED`, so code downstream can tell "data left in
the file" from "data in an external file".  The node budget
(:func:`onnxstat.runtime.limits.max_nodes`) is enforced here, before parsing.

The stripper reads untrusted bytes: every read is bounds-checked against the end
of the enclosing message, varints are at most 10 bytes, nesting is limited like
protobuf's own parser, and every problem is a :class:`CorruptProtobuf` (a
ValueError) naming the byte offset.
"""

from __future__ import annotations

import os

from ..runtime import limits
from . import _onnx as ox

#: pseudo location of a tensor whose bytes were left in the model file; random per
#: process, so that a model cannot name it to pass a real location off as stripped
STRIPPED = f"__onnxstat_stripped_{os.urandom(8).hex()}__"
#: tensors with a payload up to this many bytes keep their data (shape constants)
KEEP_PAYLOAD_BYTES = 4096


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
            raise CorruptProtobuf(
                f"corrupt protobuf: a field at byte {pos} runs past the end of its enclosing message (byte {end})"
            )
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
