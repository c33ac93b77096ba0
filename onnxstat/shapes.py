"""Shape resolution: give every tensor a dtype and a shape.

1. Graph inputs are made concrete: ``input_shapes`` replaces whole input shapes,
   ``dims`` sets named (symbolic) dims; a dim still unknown is set to 1 and named
   in a warning.
2. onnx shape inference with data propagation runs on a working copy of the graph
   that holds no weight bytes (large initializers become typed inputs).
3. The library's own propagation folds the values of small shape tensors
   (Shape/Gather/Concat/Slice/... chains) with numpy, turns them into constants
   of the working copy and runs inference again, until nothing new resolves.
4. Optionally (``source="ort"``) shapes are observed by running the model once in
   onnxruntime on the CPU, for whatever the first three steps left unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import onnx
from onnx import numpy_helper

from op_handlers.base import dtype_name

from .errors import ShapeError, UsageError
from .graph import build_view, node_label, subgraphs
from .loader import LoadedModel, external_info

#: largest constant (elements) the propagation keeps values for
MAX_FOLD_ELEMENTS = 4096
MAX_ROUNDS = 6

Shape = tuple  # of int | str (unresolved symbol) ; None for unknown rank


@dataclass
class ValueType:
    dtype: str
    shape: tuple | None


@dataclass
class Shapes:
    """Resolved types per graph scope ("" = main graph, subgraphs by path)."""

    scopes: dict[str, dict[str, ValueType]] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[tuple[str, str, tuple]] = field(default_factory=list)
    outputs: list[tuple[str, str, tuple | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unresolved: dict[str, str] = field(default_factory=dict)  # symbol -> where
    source: str = "onnx"
    dims: dict[str, int] = field(default_factory=dict)

    def lookup(self, path: str, name: str) -> ValueType | None:
        while True:
            scope = self.scopes.get(path)
            if scope is not None and name in scope:
                return scope[name]
            if not path:
                return None
            path = path.rsplit("/", 2)[0] if path.count("/") >= 2 else ""


# --------------------------------------------------------------------------- parsing user input

_SHAPE_RE = re.compile(r"^\s*(\d+)(\s*[x,]\s*\d+)*\s*$")


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x3x224x224"`` (or with commas) -> (1, 3, 224, 224)."""
    t = text.strip().strip("[]()")
    if t == "":
        return ()
    if not _SHAPE_RE.match(t):
        raise UsageError(f"bad shape {text!r}: expected dims like 1x3x224x224")
    dims = tuple(int(d) for d in re.split(r"\s*[x,]\s*", t.strip()))
    for d in dims:
        if d <= 0:
            raise UsageError(f"bad shape {text!r}: dims must be positive")
    return dims


def parse_assignments(items, what: str, value_parser) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"bad {what} {item!r}: expected NAME=VALUE")
        name, _, value = item.rpartition("=")
        name = name.strip()
        if not name:
            raise UsageError(f"bad {what} {item!r}: empty name")
        out[name] = value_parser(value)
    return out


def parse_dim_value(text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise UsageError(f"bad dim value {text!r}: expected a positive integer") from None
    if v <= 0:
        raise UsageError(f"bad dim value {text!r}: dims must be positive")
    return v


# --------------------------------------------------------------------------- type helpers


def type_of(tp: onnx.TypeProto) -> ValueType:
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


def tensor_type(t: onnx.TensorProto) -> ValueType:
    return ValueType(dtype_name(t.data_type), tuple(int(d) for d in t.dims))


def _has_data(t: onnx.TensorProto) -> bool:
    return external_info(t) is None


def tensor_value(t: onnx.TensorProto) -> np.ndarray | None:
    """Value of a small tensor that carries its data, else None."""
    n = 1
    for d in t.dims:
        n *= d
    if n > MAX_FOLD_ELEMENTS or not _has_data(t):
        return None
    try:
        return numpy_helper.to_array(t)
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


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _fold(node: onnx.NodeProto, ins: list, in_shapes: list) -> list | None:
    """Evaluate a shape-arithmetic node with numpy; None when not foldable."""
    op = node.op_type
    if node.domain not in ("", "ai.onnx"):
        return None
    if op == "Shape":
        shp = in_shapes[0]
        if shp is None or any(not isinstance(d, int) for d in shp):
            return None
        s = np.array(shp, dtype=np.int64)
        start, end = _attr(node, "start", 0), _attr(node, "end", None)
        return [s[start:end]]
    if op == "Size":
        shp = in_shapes[0]
        if shp is None or any(not isinstance(d, int) for d in shp):
            return None
        return [np.array(int(np.prod(shp)), dtype=np.int64)]
    if any(x is None for x in ins[:1]) or any(x is None for x in ins if x is not _ABSENT):
        return None
    ins = [None if x is _ABSENT else x for x in ins]
    try:
        if op == "Identity":
            return [ins[0]]
        if op == "Cast":
            to = _attr(node, "to")
            return [ins[0].astype(onnx.helper.tensor_dtype_to_np_dtype(to))]
        if op == "Gather":
            return [np.take(ins[0], ins[1], axis=_attr(node, "axis", 0))]
        if op == "Concat":
            return [np.concatenate([np.atleast_1d(x) for x in ins], axis=_attr(node, "axis", 0))]
        if op == "Unsqueeze":
            axes = ins[1] if len(ins) > 1 and ins[1] is not None else _attr(node, "axes")
            x = ins[0]
            r = x.ndim + len(axes)
            for a in sorted(int(a) % r for a in axes):
                x = np.expand_dims(x, a)
            return [x]
        if op == "Squeeze":
            axes = ins[1] if len(ins) > 1 and ins[1] is not None else _attr(node, "axes")
            x = ins[0]
            return [np.squeeze(x, axis=tuple(int(a) for a in axes)) if axes is not None else np.squeeze(x)]
        if op == "Slice":
            if len(ins) >= 3:
                return [_np_slice(ins[0], ins[1], ins[2], ins[3] if len(ins) > 3 else None, ins[4] if len(ins) > 4 else None)]
            return [_np_slice(ins[0], _attr(node, "starts"), _attr(node, "ends"), _attr(node, "axes"))]
        if op in ("Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater", "Max", "Min", "Mod", "And", "Or", "Not", "Neg", "Abs", "Sqrt", "Ceil", "Floor"):
            a = ins[0]
            if op == "Add":
                r = a + ins[1]
            elif op == "Sub":
                r = a - ins[1]
            elif op == "Mul":
                r = a * ins[1]
            elif op == "Div":
                r = (a // ins[1]) if np.issubdtype(a.dtype, np.integer) else a / ins[1]
            elif op == "Equal":
                r = np.equal(a, ins[1])
            elif op == "Less":
                r = np.less(a, ins[1])
            elif op == "Greater":
                r = np.greater(a, ins[1])
            elif op == "Max":
                r = np.maximum.reduce(ins)
            elif op == "Min":
                r = np.minimum.reduce(ins)
            elif op == "Mod":
                r = np.mod(a, ins[1])
            elif op == "And":
                r = np.logical_and(a, ins[1])
            elif op == "Or":
                r = np.logical_or(a, ins[1])
            elif op == "Not":
                r = np.logical_not(a)
            elif op == "Neg":
                r = -a
            elif op == "Abs":
                r = np.abs(a)
            elif op == "Sqrt":
                r = np.sqrt(a)
            elif op == "Ceil":
                r = np.ceil(a)
            else:
                r = np.floor(a)
            return [np.asarray(r).astype(a.dtype) if op not in ("Equal", "Less", "Greater", "And", "Or", "Not") else np.asarray(r)]
        if op == "Where":
            return [np.where(ins[0], ins[1], ins[2])]
        if op == "ConstantOfShape":
            value = _attr(node, "value")
            v = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
            shape = tuple(int(d) for d in ins[0])
            if int(np.prod(shape)) > MAX_FOLD_ELEMENTS:
                return None
            return [np.full(shape, v.reshape(-1)[0], dtype=v.dtype)]
        if op == "Range":
            return [np.arange(ins[0], ins[1], ins[2]).astype(ins[0].dtype)]
        if op == "Reshape":
            return [_reshape_value(node, ins[0], ins[1])]
        if op == "Expand":
            shape = tuple(int(d) for d in ins[1])
            return [ins[0] * np.ones(shape, dtype=ins[0].dtype)]
        if op == "ReduceProd":
            return [np.prod(ins[0], keepdims=bool(_attr(node, "keepdims", 1))).astype(ins[0].dtype)]
        if op in ("ReduceSum", "ReduceMax", "ReduceMin") and len(ins) == 1:
            fn = {"ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min}[op]
            return [np.asarray(fn(ins[0], keepdims=bool(_attr(node, "keepdims", 1)))).astype(ins[0].dtype)]
        if op == "Transpose":
            return [np.transpose(ins[0], _attr(node, "perm"))]
        if op == "Tile":
            return [np.tile(ins[0], ins[1])]
    except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError, MemoryError):
        return None
    return None


_ABSENT = object()


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


# --------------------------------------------------------------------------- main entry


def _input_types(lm: LoadedModel, input_shapes: Mapping[str, tuple], dims: Mapping[str, int], sh: Shapes, symbolic: bool):
    g = lm.model.graph
    inits = {t.name for t in g.initializer}
    real_inputs = [i for i in g.input if i.name not in inits]
    names = {i.name for i in real_inputs}
    for name in input_shapes:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise UsageError(f"--input-shape names {name!r}, which is not a model input (inputs: {known})")
    used_dims: set[str] = set()
    result = []
    for vi in real_inputs:
        vt = type_of(vi.type)
        if vi.name in input_shapes:
            new = tuple(input_shapes[vi.name])
            if vt.shape is not None and len(vt.shape) != len(new):
                raise UsageError(
                    f"--input-shape {vi.name}: rank {len(new)} does not match the model's rank {len(vt.shape)} ({_fmt_shape(vt.shape)})"
                )
            # named dims take the value given for this input
            if vt.shape is not None:
                for d, nd in zip(vt.shape, new):
                    if isinstance(d, str) and d not in dims:
                        sh.dims.setdefault(d, nd)
            result.append((vi.name, vt.dtype, new))
            continue
        if vt.shape is None:
            sh.warnings.append(f"input {vi.name!r} has unknown rank; give --input-shape {vi.name}=...")
            result.append((vi.name, vt.dtype, None))
            continue
        shape = []
        for k, d in enumerate(vt.shape):
            if isinstance(d, int) and d > 0:
                shape.append(d)
            elif isinstance(d, str) and d in dims:
                shape.append(int(dims[d]))
                used_dims.add(d)
            elif isinstance(d, str) and d in sh.dims:
                shape.append(sh.dims[d])
            elif symbolic and isinstance(d, str):
                shape.append(d)
            else:
                label = d if isinstance(d, str) else f"{vi.name}[{k}]"
                sh.unresolved.setdefault(label, f"input {vi.name!r}")
                shape.append(1)
        result.append((vi.name, vt.dtype, tuple(shape)))
    all_params = {d for vi in real_inputs for d in (type_of(vi.type).shape or ()) if isinstance(d, str)}
    for d in dims:
        if d not in all_params and d not in sh.dims:
            sh.warnings.append(f"--dim {d} matches no symbolic input dim (model dims: {', '.join(sorted(all_params)) or 'none'})")
    for d, v in dims.items():
        sh.dims.setdefault(d, int(v))
    return result


def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) if d is not None else "?" for d in shape)


def _make_input(name: str, dtype_enum: int, shape) -> onnx.ValueInfoProto:
    return onnx.helper.make_tensor_value_info(name, dtype_enum, None if shape is None else list(shape))


def _working_copy(
    lm: LoadedModel,
    inputs,
    consts: dict[str, np.ndarray],
    removed: set[int],
    extra: dict[str, ValueType] | None,
    order: list[int],
) -> onnx.ModelProto:
    src = lm.model
    m = onnx.ModelProto()
    m.ir_version = max(src.ir_version, 4)
    m.opset_import.extend(src.opset_import)
    m.functions.extend(src.functions)
    g = m.graph
    g.name = src.graph.name or "main"
    elem = {i.name: i.type.tensor_type.elem_type for i in src.graph.input}
    for name, _dtype, shape in inputs:
        vi = onnx.ValueInfoProto()
        vi.name = name
        for i in src.graph.input:
            if i.name == name:
                vi.type.CopyFrom(i.type)
                break
        if shape is not None and vi.type.WhichOneof("value") == "tensor_type":
            vi.type.tensor_type.ClearField("shape")
            for d in shape:
                dim = vi.type.tensor_type.shape.dim.add()
                if isinstance(d, int):
                    dim.dim_value = d
                else:
                    dim.dim_param = str(d)
        g.input.append(vi)
    del elem
    for t in src.graph.initializer:
        if t.name in consts or _small_with_data(t):
            g.initializer.append(t)
        else:
            g.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    for name, value in consts.items():
        if name not in {t.name for t in src.graph.initializer}:
            g.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    for i in order:  # topological: onnx inference gives up on out-of-order graphs
        if i not in removed:
            g.node.append(src.graph.node[i])
    for name, vt in (extra or {}).items():
        g.value_info.append(_make_vi(name, vt))
    for o in src.graph.output:
        vo = g.output.add()
        vo.name = o.name
        if o.type.WhichOneof("value") == "tensor_type":
            vo.type.tensor_type.elem_type = o.type.tensor_type.elem_type
        else:
            vo.type.CopyFrom(o.type)
    return m


def _make_vi(name: str, vt: ValueType) -> onnx.ValueInfoProto:
    from op_handlers.base import DTYPES

    enum = next((k for k, (n, _b) in DTYPES.items() if n == vt.dtype), 0)
    return onnx.helper.make_tensor_value_info(name, enum, None if vt.shape is None else list(vt.shape))


def _small_with_data(t: onnx.TensorProto) -> bool:
    n = 1
    for d in t.dims:
        n *= d
    return n <= MAX_FOLD_ELEMENTS and _has_data(t)


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception:
        try:
            return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=False)
        except Exception:
            return model


def _collect(graph: onnx.GraphProto, path: str, sh: Shapes, labels_from: onnx.GraphProto | None = None) -> None:
    scope = sh.scopes.setdefault(path, {})
    for coll in (graph.input, graph.value_info, graph.output):
        for vi in coll:
            vt = type_of(vi.type)
            old = scope.get(vi.name)
            if old is None or _better(vt, old):
                scope[vi.name] = vt
    for t in graph.initializer:
        scope[t.name] = tensor_type(t)
    for i, n in enumerate(graph.node):
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            for a in n.attribute:
                if a.name == "value" and a.type == onnx.AttributeProto.TENSOR and n.output:
                    scope[n.output[0]] = tensor_type(a.t)
        for attr_name, sub in subgraphs(n):
            _collect(sub, f"{path}/{node_label(n, i)}/{attr_name}" if path else f"{node_label(n, i)}/{attr_name}", sh)


def _better(new: ValueType, old: ValueType) -> bool:
    def score(v):
        if v.shape is None:
            return -1
        return sum(1 for d in v.shape if isinstance(d, int))

    return score(new) > score(old) or (old.dtype == "undefined" and new.dtype != "undefined")


def _known(vt: ValueType | None) -> bool:
    return vt is not None and vt.shape is not None and all(isinstance(d, int) for d in vt.shape)


def resolve(
    lm: LoadedModel,
    input_shapes: Mapping[str, tuple] | None = None,
    dims: Mapping[str, int] | None = None,
    *,
    source: str = "onnx",
    symbolic: bool = False,
) -> Shapes:
    """Resolve every tensor's dtype and shape (see the module docstring)."""
    input_shapes = dict(input_shapes or {})
    dims = dict(dims or {})
    if source not in ("onnx", "ort"):
        raise UsageError(f"unknown shape source {source!r}: use 'onnx' or 'ort'")
    sh = Shapes(source=source)
    main = build_view(lm.model.graph)
    inputs = _input_types(lm, input_shapes, dims, sh, symbolic)
    sh.inputs = inputs
    consts: dict[str, np.ndarray] = {}
    for t in lm.model.graph.initializer:
        v = tensor_value(t)
        if v is not None:
            consts[t.name] = v
    for name, t in main.constants.items():
        v = tensor_value(t)
        if v is not None:
            consts[name] = v
    removed: set[int] = set()
    nodes = lm.model.graph.node
    inferred = None
    extra: dict[str, ValueType] = {}
    declared = _declared_types(lm)
    for _round in range(MAX_ROUNDS):
        work = _working_copy(lm, inputs, {k: v for k, v in consts.items() if k in main.producer}, removed, extra, main.order)
        inferred = _infer(work)
        sh.scopes = {}
        _collect(inferred.graph, "", sh)
        _check_reshapes(main, sh, consts)
        new = _propagate(main, sh, consts)
        new_types = _apply_rules(main, sh, extra, declared)
        if not new and not new_types:
            break
        for name in new:
            removed.add(main.producer[name])
        # keep a node only while some output of it is still not folded
        removed = {i for i in removed if all((o in consts) or not o for o in nodes[i].output)}
    # subgraph shapes come from the original model's subgraphs as inferred in context
    if inferred is not None:
        _collect_subgraphs(lm.model.graph, inferred.graph, sh)
    if source == "ort":
        _observe_with_ort(lm, inputs, sh)
    sh.values = consts
    sh.outputs = [(o, *_vt_tuple(sh.lookup("", o))) for o in main.output_names]
    _finalize_unresolved(main, sh, symbolic)
    return sh


def _vt_tuple(vt: ValueType | None):
    if vt is None:
        return ("undefined", None)
    return (vt.dtype, vt.shape)


def _collect_subgraphs(orig: onnx.GraphProto, inferred: onnx.GraphProto, sh: Shapes) -> None:
    # nodes removed by folding are never control flow with subgraphs that matter;
    # inferred subgraphs are matched by node name/label of the original graph.
    by_label = {}
    for i, n in enumerate(inferred.node):
        by_label.setdefault((n.op_type, tuple(n.output)), n)
    for i, n in enumerate(orig.node):
        if not any(True for _ in subgraphs(n)):
            continue
        inf = by_label.get((n.op_type, tuple(n.output)), n)
        label = node_label(n, i)
        for (attr_name, _sub), (_a2, sub_inf) in zip(subgraphs(n), subgraphs(inf)):
            _collect(sub_inf, f"{label}/{attr_name}", sh)


def _check_reshapes(main, sh: Shapes, consts) -> None:
    for i in main.order:
        n = main.graph.node[i]
        if n.op_type != "Reshape" or n.domain not in ("", "ai.onnx") or len(n.input) < 2:
            continue
        target = consts.get(n.input[1])
        vt = sh.lookup("", n.input[0])
        if target is None or not _known(vt):
            continue
        out = reshape_target(vt.shape, target, _attr(n, "allowzero", 0))
        if out is None:
            raise ShapeError(
                f"shape conflict at node {main.labels[i]!r} (Reshape): input {n.input[0]!r} of shape "
                f"{_fmt_shape(vt.shape)} ({int(np.prod(vt.shape))} elements) cannot take the target shape "
                f"{list(int(t) for t in np.asarray(target).reshape(-1))}"
            )


def _has_schema(domain: str, op_type: str, version: int) -> bool:
    try:
        onnx.defs.get_schema(op_type, version, domain)
        return True
    except Exception:
        return False


def _plain_attrs(node: onnx.NodeProto) -> dict:
    out = {}
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            continue
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


def _declared_types(lm: LoadedModel) -> dict[str, ValueType]:
    """Types the exporter wrote into value_info / outputs (a fallback for unknown ops)."""
    out = {}
    for vi in list(lm.model.graph.value_info) + list(lm.model.graph.output):
        vt = type_of(vi.type)
        if vt.shape is not None:
            out[vi.name] = vt
    return out


def _apply_rules(main, sh: Shapes, extra: dict[str, ValueType], declared: dict[str, ValueType]) -> list[str]:
    """Shapes for outputs of ops onnx inference does not know: contrib rules, then declared types."""
    from .shape_rules import apply_rule, has_rule

    new: list[str] = []
    for i in main.order:
        n = main.graph.node[i]
        if not n.output:
            continue
        outs = [sh.lookup("", o) for o in n.output]
        if all(not o or _known(vt) for o, vt in zip(n.output, outs)):
            continue
        domain = "" if n.domain == "ai.onnx" else n.domain
        if domain == "" and not has_rule("", n.op_type) and _has_schema("", n.op_type, onnx.defs.onnx_opset_version()):
            continue  # onnx knows this op; an unknown output means missing inputs upstream
        ins = [sh.lookup("", x) if x else None for x in n.input]
        results = apply_rule(domain, n.op_type, _plain_attrs(n), ins)
        for k, name in enumerate(n.output):
            if not name or _known(outs[k]) or name in extra:
                continue
            vt = results[k] if k < len(results) else None
            if vt is None:
                d = declared.get(name)
                if d is not None:
                    shape = tuple(sh.dims.get(x, x) if isinstance(x, str) else x for x in d.shape)
                    if all(isinstance(x, int) and x > 0 for x in shape):
                        vt = ValueType(d.dtype, shape)
            if vt is not None:
                extra[name] = vt
                sh.scopes.setdefault("", {})[name] = vt
                new.append(name)
    return new


def _propagate(main, sh: Shapes, consts: dict[str, np.ndarray]) -> list[str]:
    """Fold small values through shape arithmetic; returns newly known tensor names."""
    new: list[str] = []
    for i in main.order:
        n = main.graph.node[i]
        if not n.output or all(o in consts for o in n.output if o):
            continue
        ins = [consts.get(x, None) if x else _ABSENT for x in n.input]
        in_shapes = [(sh.lookup("", x).shape if sh.lookup("", x) else None) if x else None for x in n.input]
        if n.op_type not in ("Shape", "Size") and any(v is None for v in ins):
            continue
        outs = _fold(n, ins, in_shapes)
        if not outs:
            continue
        for name, val in zip(n.output, outs):
            if name and val is not None and np.asarray(val).size <= MAX_FOLD_ELEMENTS:
                consts[name] = np.asarray(val)
                new.append(name)
    return new


def _observe_with_ort(lm: LoadedModel, inputs, sh: Shapes) -> None:
    """Fill unknown shapes from one onnxruntime run with every value exposed as an output."""
    from .ort_shapes import observe_shapes  # local import: onnxruntime is heavy

    observed = observe_shapes(lm, inputs)
    scope = sh.scopes.setdefault("", {})
    for name, (dtype, shape) in observed.items():
        old = scope.get(name)
        if old is None or not _known(old):
            scope[name] = ValueType(dtype, tuple(shape))


def _finalize_unresolved(main, sh: Shapes, symbolic: bool) -> None:
    """Replace dims still unknown after resolution by 1 (named in warnings), unless symbolic."""
    input_syms = set(sh.dims)
    for path, scope in sh.scopes.items():
        for name, vt in scope.items():
            if vt.shape is None:
                continue
            if all(isinstance(d, int) for d in vt.shape):
                continue
            new = []
            for k, d in enumerate(vt.shape):
                if isinstance(d, int):
                    new.append(d)
                elif isinstance(d, str) and d in sh.dims:
                    new.append(sh.dims[d])
                elif symbolic and isinstance(d, str) and d in input_syms:
                    new.append(d)
                else:
                    label = d if isinstance(d, str) else "?"
                    where = f"{path + ':' if path else ''}{name}[{k}]"
                    if label == "?":
                        sh.unresolved.setdefault(where, "an unknown dim")
                    else:
                        sh.unresolved.setdefault(label, f"tensor {where}")
                    new.append(1)
            scope[name] = ValueType(vt.dtype, tuple(new))
    if sh.unresolved:
        items = list(sh.unresolved.items())
        shown = ", ".join(f"{k} (first in {v})" for k, v in items[:8])
        more = f" and {len(items) - 8} more" if len(items) > 8 else ""
        sh.warnings.append(f"unresolved dims set to 1: {shown}{more}; set them with --dim NAME=VALUE or --input-shape")
