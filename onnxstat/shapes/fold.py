"""Folding the values of small tensors with numpy: the shape arithmetic of exported
graphs (Shape -> Gather -> Concat -> Reshape chains, Range, ConstantOfShape, ...).

Used by the shape resolution (to turn computed shapes into constants for onnx
inference) and by the analysis (If conditions and Loop trip counts).
"""

from __future__ import annotations

from ..model import _onnx as ox
from ..model.loader import external_info

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded

#: largest constant (elements) the propagation keeps values for
MAX_FOLD_ELEMENTS = 4096


def has_data(t: ox.TensorProto) -> bool:
    return external_info(t) is None


def tensor_value(t: ox.TensorProto) -> np.ndarray | None:
    """Value of a small tensor that carries its data, else None."""
    n = 1
    for d in t.dims:
        n *= d
    if n > MAX_FOLD_ELEMENTS or not has_data(t):
        return None
    try:
        return ox.to_array(t)
    except Exception:
        return None


# --------------------------------------------------------------------------- numpy folding


def _np_slice(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else [int(a) % x.ndim for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[a] = slice(int(s), int(max(min(e, 2**62), -(2**62))), int(st))
    return x[tuple(sl)]


def _attr(node: ox.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return ox.get_attribute_value(a)
    return default


def _int_div(a, b):
    return a // b if np.issubdtype(np.asarray(a).dtype, np.integer) else a / b


#: elementwise ops of shape arithmetic: op -> f(first input, all inputs)
_ARITH = {
    "Add": lambda a, ins: a + ins[1],
    "Sub": lambda a, ins: a - ins[1],
    "Mul": lambda a, ins: a * ins[1],
    "Div": lambda a, ins: _int_div(a, ins[1]),
    "Mod": lambda a, ins: np.mod(a, ins[1]),
    "Max": lambda a, ins: np.maximum.reduce(ins),
    "Min": lambda a, ins: np.minimum.reduce(ins),
    "Neg": lambda a, ins: -a,
    "Abs": lambda a, ins: np.abs(a),
    "Sqrt": lambda a, ins: np.sqrt(a),
    "Ceil": lambda a, ins: np.ceil(a),
    "Floor": lambda a, ins: np.floor(a),
    "Equal": lambda a, ins: np.equal(a, ins[1]),
    "Less": lambda a, ins: np.less(a, ins[1]),
    "Greater": lambda a, ins: np.greater(a, ins[1]),
    "And": lambda a, ins: np.logical_and(a, ins[1]),
    "Or": lambda a, ins: np.logical_or(a, ins[1]),
    "Not": lambda a, ins: np.logical_not(a),
}
#: ops whose result is boolean (not cast back to the input's dtype)
_LOGICAL = {"Equal", "Less", "Greater", "And", "Or", "Not"}

class FoldError(Exception):
    """A value the model computes cannot exist (Range with delta 0): the node is wrong."""


def fold_node(node: ox.NodeProto, ins: list, in_shapes: list | None) -> list | None:
    """Output values of one node from its input values (None for an absent input),
    or None when the node is not foldable here.  ``in_shapes`` (Shape / Size) gives
    the input's shape.  numpy's floating-point warnings are silenced: a NaN or an
    overflow in shape arithmetic is a value like any other."""
    ins = [_ABSENT if x is None else x for x in ins]
    with np.errstate(all="ignore"):
        return _fold(node, ins, in_shapes or [None] * len(ins))


def _fold(node: ox.NodeProto, ins: list, in_shapes: list) -> list | None:
    """Evaluate a shape-arithmetic node with numpy; None when not foldable."""
    op = node.op_type
    if node.domain not in ("", "ai.onnx") or op not in FOLD_OPS:
        return None
    first = _FROM_NODE.get(op)
    if first is not None:  # read from the node or its input's shape, not from input values
        return first(node, in_shapes)
    if any(x is None for x in ins[:1]) or any(x is None for x in ins if x is not _ABSENT):
        return None
    ins = [None if x is _ABSENT else x for x in ins]
    try:
        return _FROM_VALUES[op](node, ins)
    except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError, MemoryError):
        return None


# -- ops read from the node itself or from its input's shape


def _constant(node, in_shapes):
    # Constants of inlined branches (the main graph's are read up front)
    for a in node.attribute:
        if a.name == "value" and a.type == ox.AttributeProto.TENSOR:
            return [tensor_value(a.t)]
        if a.name in ("value_int", "value_ints", "value_float", "value_floats"):
            v = ox.get_attribute_value(a)
            return [np.array(v, dtype=np.int64 if "int" in a.name else np.float32)]
    return None


def _shape(node, in_shapes):
    shp = in_shapes[0]
    if shp is None:
        return None
    start, end = _attr(node, "start", 0), _attr(node, "end", None)
    part = list(shp)[slice(start, end)]  # known dims of a partly known shape suffice
    if any(not isinstance(d, int) for d in part):
        return None
    return [np.array(part, dtype=np.int64)]


def _size(node, in_shapes):
    shp = in_shapes[0]
    if shp is None or any(not isinstance(d, int) for d in shp):
        return None
    return [np.array(int(np.prod(shp)), dtype=np.int64)]


# -- ops of the input values: moving and reshaping them


def _unsqueeze(node, ins):
    axes = ins[1] if len(ins) > 1 and ins[1] is not None else _attr(node, "axes")
    x = ins[0]
    r = x.ndim + len(axes)
    for a in sorted(int(a) % r for a in axes):
        x = np.expand_dims(x, a)
    return [x]


def _squeeze(node, ins):
    axes = ins[1] if len(ins) > 1 and ins[1] is not None else _attr(node, "axes")
    x = ins[0]
    return [np.squeeze(x, axis=tuple(int(a) for a in axes)) if axes is not None else np.squeeze(x)]


def _slice(node, ins):
    if len(ins) >= 3:
        return [_np_slice(ins[0], ins[1], ins[2], ins[3] if len(ins) > 3 else None, ins[4] if len(ins) > 4 else None)]
    return [_np_slice(ins[0], _attr(node, "starts"), _attr(node, "ends"), _attr(node, "axes"))]


def _concat(node, ins):
    return [np.concatenate([np.atleast_1d(x) for x in ins if x is not None], axis=_attr(node, "axis", 0))]


# -- ops of the input values: arithmetic, reductions


def _arith(node, ins):
    op = node.op_type
    a = ins[0]
    r = np.asarray(_ARITH[op](a, ins))
    return [r if op in _LOGICAL else r.astype(a.dtype)]


def _reduce(node, ins):
    op = node.op_type
    if op == "ReduceProd":
        return [np.prod(ins[0], keepdims=bool(_attr(node, "keepdims", 1))).astype(ins[0].dtype)]
    if len(ins) == 1:  # axes as an input (opset 13+ ReduceSum, 18+ ReduceMax/Min): not folded
        fn = {"ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min}[op]
        return [np.asarray(fn(ins[0], keepdims=bool(_attr(node, "keepdims", 1)))).astype(ins[0].dtype)]
    return None


# -- ops of the input values: making new values (bounded by MAX_FOLD_ELEMENTS)


def _constant_of_shape(node, ins):
    value = _attr(node, "value")
    v = ox.to_array(value) if value is not None else np.zeros(1, np.float32)
    shape = tuple(int(d) for d in ins[0])
    if int(np.prod(shape)) > MAX_FOLD_ELEMENTS:
        return None
    return [np.full(shape, v.reshape(-1)[0], dtype=v.dtype)]


def _range(node, ins):
    start, limit, delta = (np.asarray(x).reshape(-1)[0] for x in ins[:3])
    if delta == 0:
        raise FoldError(f"Range with delta 0 (start {start}, limit {limit}) has no end")
    count = max(int(np.ceil((float(limit) - float(start)) / float(delta))), 0)
    if count > MAX_FOLD_ELEMENTS:
        return None
    return [np.arange(start, limit, delta).astype(ins[0].dtype)]


def _expand(node, ins):
    shape = tuple(int(d) for d in ins[1])
    if _numel(np.broadcast_shapes(ins[0].shape, shape)) > MAX_FOLD_ELEMENTS:
        return None
    return [ins[0] * np.ones(shape, dtype=ins[0].dtype)]


def _tile(node, ins):
    if ins[0].size * _numel(int(r) for r in ins[1]) > MAX_FOLD_ELEMENTS:
        return None
    return [np.tile(ins[0], ins[1])]


#: op -> f(node, input shapes): ops folded before their input values are looked at
_FROM_NODE = {"Constant": _constant, "Shape": _shape, "Size": _size}
#: op -> f(node, input values; None for an absent optional input), every one present
_FROM_VALUES = {
    "Identity": lambda node, ins: [ins[0]],
    "Cast": lambda node, ins: [ins[0].astype(ox.np_dtype(_attr(node, "to")))],
    "CastLike": lambda node, ins: [ins[0].astype(np.asarray(ins[1]).dtype)],
    "Gather": lambda node, ins: [np.take(ins[0], ins[1], axis=_attr(node, "axis", 0))],
    "Concat": _concat,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Slice": _slice,
    **{op: _arith for op in _ARITH},
    "Where": lambda node, ins: [np.where(ins[0], ins[1], ins[2])],
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Reshape": lambda node, ins: [_reshape_value(node, ins[0], ins[1])],
    "Expand": _expand,
    "ReduceProd": _reduce,
    "ReduceSum": _reduce,
    "ReduceMax": _reduce,
    "ReduceMin": _reduce,
    "Transpose": lambda node, ins: [np.transpose(ins[0], _attr(node, "perm"))],
    "Tile": _tile,
}
#: every op :func:`_fold` evaluates (it returns None for any other)
FOLD_OPS = frozenset(_FROM_NODE) | frozenset(_FROM_VALUES)


_ABSENT = object()


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def reshape_target(shape_in: tuple, target, allowzero: int = 0) -> tuple | None:
    """Output shape of Reshape, or None if the target cannot apply (conflict)."""
    target = [int(t) for t in np.asarray(target).reshape(-1)]
    out = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(shape_in):
                return None
            out.append(shape_in[i])
        else:
            out.append(t)
    total = 1
    for d in shape_in:
        total *= d
    if out.count(-1) > 1:
        return None
    if -1 in out:
        known = 1
        for d in out:
            if d != -1:
                known *= d
        if known == 0 or total % known:
            return None
        out[out.index(-1)] = total // known
    prod_out = 1
    for d in out:
        prod_out *= d
    if prod_out != total:
        return None
    return tuple(out)


def _reshape_value(node, x, target):
    out = reshape_target(x.shape, target, _attr(node, "allowzero", 0))
    if out is None:
        raise ValueError("reshape conflict")
    return x.reshape(out)
