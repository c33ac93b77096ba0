"""Value types of the shape pass and their wire form: ``ValueType`` (a dtype and a shape),
read from onnx TypeProtos and tensors, serialized back for onnx's per-node inference
(cached: few distinct types), and compared or merged where two answers meet.

A dim is an ``int`` when known, a ``str`` when it is a named symbol, ``None`` when
unknown; a shape is ``None`` for an unknown rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from op_handlers.base import DTYPES, dtype_name

from ..model import _onnx as ox

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded

Shape = tuple  # of int | str (named symbol) | None (unknown); None for unknown rank

_ENUM = {name: code for code, (name, _bits) in DTYPES.items()}

@dataclass(frozen=True)
class ValueType:
    dtype: str
    shape: tuple | None
    #: every dim a concrete int (computed once: looked up for every tensor of every node)
    known: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known", self.shape is not None and all(isinstance(d, int) for d in self.shape))

# --------------------------------------------------------------------------- type helpers


def type_of(tp: ox.TypeProto) -> ValueType:
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        tt = tp.tensor_type
        if not tt.HasField("shape"):
            return ValueType(dtype_name(tt.elem_type), None)
        dims = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            elif d.HasField("dim_param") and d.dim_param:
                dims.append(d.dim_param)
            else:
                dims.append(None)
        return ValueType(dtype_name(tt.elem_type), tuple(dims))
    if kind == "sparse_tensor_type":
        return ValueType(dtype_name(tp.sparse_tensor_type.elem_type), None)
    if kind == "optional_type":
        return type_of(tp.optional_type.elem_type)
    return ValueType("undefined", None)


def tensor_type(t: ox.TensorProto) -> ValueType:
    return ValueType(dtype_name(t.data_type), tuple(int(d) for d in t.dims))


# --------------------------------------------------------------------------- types as onnx sees them

_RAW_CACHE: dict[tuple, bytes] = {}
_VT_CACHE: dict[bytes, ValueType] = {}


def raw_type(vt: ValueType) -> bytes:
    """A tensor ValueType as a serialized onnx TypeProto (cached: few distinct types)."""
    key = (vt.dtype, vt.shape)
    raw = _RAW_CACHE.get(key)
    if raw is None:
        tp = ox.TypeProto()
        tt = tp.tensor_type
        tt.elem_type = _ENUM.get(vt.dtype, 0)
        if vt.shape is not None:
            tt.shape.SetInParent()  # a scalar keeps its rank 0
            for d in vt.shape:
                dim = tt.shape.dim.add()
                if isinstance(d, int):
                    dim.dim_value = d
                elif isinstance(d, str):
                    dim.dim_param = d
        raw = tp.SerializeToString()
        if len(_RAW_CACHE) < 100_000:
            _RAW_CACHE[key] = raw
    return raw


def type_from_raw(raw: bytes) -> ValueType:
    vt = _VT_CACHE.get(raw)
    if vt is None:
        vt = type_of(ox.TypeProto.FromString(raw))
        if len(_VT_CACHE) < 100_000:
            _VT_CACHE[raw] = vt
    return vt


def _better(new: ValueType | None, old: ValueType | None) -> bool:
    """``new`` says more than ``old``: a known rank, more known dims, a known dtype."""
    if new is None:
        return False
    if old is None:
        return True

    def score(v: ValueType) -> int:
        return -1 if v.shape is None else sum(1 for d in v.shape if d is not None)

    return score(new) > score(old) or (old.dtype == "undefined" and new.dtype != "undefined")


def merge_types(a: ValueType | None, b: ValueType | None) -> ValueType | None:
    """What two possible types of one tensor have in common (If branches, loop-carried
    values before and after an iteration): dims that differ become unknown."""
    if a is None or b is None:
        return None
    dtype = a.dtype if a.dtype == b.dtype else (a.dtype if b.dtype == "undefined" else b.dtype)
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return ValueType(dtype, None)
    return ValueType(dtype, tuple(x if x == y else None for x, y in zip(a.shape, b.shape)))

def value_type(v: Any) -> ValueType:
    arr = np.asarray(v)
    name = "bool" if arr.dtype == np.bool_ else arr.dtype.name
    return ValueType(name if name in _ENUM else "undefined", tuple(int(d) for d in arr.shape))


def sparse_type(t) -> ValueType:
    """A sparse initializer's logical (dense) type."""
    return ValueType(dtype_name(t.values.data_type), tuple(int(d) for d in t.dims))


def _declared_types(graph: ox.GraphProto, dims: Mapping[str, int]) -> dict[str, ValueType]:
    """Types the exporter wrote into value_info / outputs (a fallback for ops no inference
    or rule knows), with the input dims the caller set."""
    out = {}
    for vi in list(graph.value_info) + list(graph.output):
        vt = type_of(vi.type)
        if vt.shape is None:
            continue
        shape = tuple(dims.get(d, d) if isinstance(d, str) else d for d in vt.shape)
        out[vi.name] = ValueType(vt.dtype, shape)
    return out

def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) if d is not None else "?" for d in shape)

def flex_scores_type(node: ox.NodeProto, q: ValueType | None, k: ValueType | None) -> ValueType | None:
    """Type of the (B, Hq, L, S) scores/probabilities a FlexAttention modifier receives:
    Q's batch, heads and length, K's length; ``softmax_precision`` or float32 (float64
    for float64 inputs)."""
    if q is None or k is None or q.shape is None or k.shape is None or len(q.shape) != 4 or len(k.shape) != 4:
        return None
    dtype = "float64" if q.dtype == "float64" else "float32"
    for a in node.attribute:
        if a.name == "softmax_precision" and a.type == ox.AttributeProto.INT:
            dtype = dtype_name(a.i)
    return ValueType(dtype, (q.shape[0], q.shape[1], q.shape[2], k.shape[2]))
