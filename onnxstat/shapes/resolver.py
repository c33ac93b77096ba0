"""The per-node resolver of the shape pass: one forward pass over a graph's nodes in
topological order, each node resolved once when its inputs are known (folded, taken
from the bulk answer, inferred by onnx for its schema, or by the shape rule of its
cost handler); If, Loop and Scan bodies as scopes below their node's
(:mod:`.control_flow`)."""

from __future__ import annotations

import re
from typing import Any, Mapping

from op_handlers.registry import REGISTRY, norm_domain

from ..errors import ShapeError
from ..model import _onnx as ox
from ..model.graph import GRAPH_ATTRS, GraphView, _used_outer_names, build_view, subgraphs
from ..model.loader import LoadedModel
from .fold import FOLD_OPS, MAX_FOLD_ELEMENTS, FoldError, fold_node
from .scopes import Shapes, _Scope, _view_names
from .value_types import (
    ValueType,
    _better,
    _declared_types,
    _fmt_shape,
    sparse_type,
    tensor_type,
    type_from_raw,
    type_of,
    value_type,
)

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded

#: how deep If/Loop/Scan bodies are followed
MAX_SUBGRAPH_DEPTH = 8
#: float constant inputs up to this many elements are handed to onnx's per-node inference
#: as values (Resize scales); integer ones up to MAX_FOLD_ELEMENTS (shapes, axes, pads)
_FLOAT_DATA_ELEMENTS = 64
_CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})

class _Resolver:
    """One forward pass over a model's graphs (see the module docstring)."""

    def __init__(self, lm: LoadedModel, sh: Shapes, dims: Mapping[str, int], symbolic: bool):
        self.lm = lm
        self.sh = sh
        self.dims = dict(dims)
        self.used_labels: set[str] = set()
        self.symbolic = symbolic
        m = lm.model
        self.opsets = {norm_domain(o.domain): o.version for o in m.opset_import}
        self.onnx_opsets = {o.domain: o.version for o in m.opset_import}
        self.ir_version = max(m.ir_version, 4)
        self.functions = {(norm_domain(f.domain), f.name): f for f in m.functions}
        self._schemas: dict[tuple[str, str], Any] = {}
        self.bulk: dict[str, tuple[ValueType, bytes]] = {}

    # -- schemas -------------------------------------------------------------
    def schema(self, domain: str, op_type: str):
        key = (domain, op_type)
        if key not in self._schemas:
            version = self.opsets.get(domain)
            found = None
            if version is not None:
                try:
                    found = ox.get_schema(op_type, version, domain)
                except Exception:
                    found = None
            self._schemas[key] = found
        return self._schemas[key]

    # -- graphs --------------------------------------------------------------
    def run_graph(self, view: GraphView, scope: _Scope, declared: Mapping[str, ValueType]) -> None:
        nodes = view.graph.node
        labels = view.labels
        outputs, has_attrs = view.outputs, view.has_attrs
        for i in view.order:
            node = nodes[i]
            label = labels[i]
            self.node(node, label, f"{scope.path}/{label}" if scope.path else label, scope, declared,
                      outputs[i], has_attrs[i])

    def subgraph(self, g: ox.GraphProto, path: str, parent: _Scope, formal: list, formal_values: Mapping[str, Any] = {},
                 formal_raw: list | None = None) -> _Scope:
        """Resolve a body or branch as a scope below ``parent``; ``formal`` gives the types
        its inputs receive (None: as the graph declares them)."""
        view = build_view(g, path, frozenset(parent.names()))
        scope = _Scope(parent, path, view.initializers, _view_names(view))
        self.sh.scopes[path] = scope.types
        self.sh.scope_values[path] = scope.values
        self.sh.parents[path] = parent.path
        for k, vi in enumerate(g.input):
            vt = formal[k] if k < len(formal) else None
            raw = formal_raw[k] if formal_raw and k < len(formal_raw) else None
            declared_vt = type_of(vi.type)
            if vi.type.WhichOneof("value") not in (None, "tensor_type"):
                scope.set(vi.name, declared_vt, raw or vi.type.SerializeToString())  # a sequence or optional
            elif vt is not None and not _better(declared_vt, vt):
                scope.set(vi.name, vt, raw)
            else:
                scope.set(vi.name, declared_vt)
        scope.values.update({k: v for k, v in formal_values.items() if v is not None})
        for t in g.initializer:
            scope.set(t.name, tensor_type(t))
        for t in g.sparse_initializer:
            scope.set(t.values.name, sparse_type(t))
        if scope.depth <= MAX_SUBGRAPH_DEPTH:
            self.run_graph(view, scope, _declared_types(g, self.dims))
        return scope

    # -- one node ------------------------------------------------------------
    def node(self, node: ox.NodeProto, label: str, full: str, scope: _Scope, declared, outs=None,
             has_attrs: bool = True) -> None:
        dom = node.domain
        domain = "" if not dom or dom == "ai.onnx" else dom
        op = node.op_type
        if not domain and op in _CONTROL_FLOW:
            from .control_flow import resolve_control_flow

            resolve_control_flow(self, node, full, scope)
            return
        if outs is None:
            outs = tuple(node.output)
        folded = None
        if not domain and op in FOLD_OPS:
            folded = self.fold(node, full, scope)
            if op == "Reshape" and scope.parent is None and len(node.input) > 1:
                _check_reshape(node, full, scope)
        if has_attrs and node.attribute and any(a.type in GRAPH_ATTRS for a in node.attribute):
            from .control_flow import resolve_other_subgraphs

            resolve_other_subgraphs(self, node, full, scope)
        bulk = self.bulk
        if bulk and scope.parent is None:
            got = []
            for o in outs:
                b = bulk.get(o) if o else None
                if o and (b is None or not b[0].known):
                    break
                got.append(b)
            else:
                for o, b in zip(outs, got):
                    if o:
                        scope.set(o, b[0], b[1])
                if folded:
                    self.keep_values(outs, folded, scope)
                return
        types = self.infer(node, full, domain, scope, folded)
        for k, o in enumerate(outs):
            if not o:
                continue
            vt, raw = types[k] if k < len(types) else (None, None)
            if vt is None and folded and k < len(folded) and folded[k] is not None:
                vt = value_type(folded[k])
            if vt is None or (vt.shape is not None and not vt.known):
                d = declared.get(o)
                if d is not None and _better(d, vt):
                    vt, raw = d, None
            if vt is not None:
                if vt.shape is not None and not vt.known:
                    # an unknown dim gets a name of its own ("tensor[k]") that onnx's inference
                    # carries downstream like any symbol: one name for one data-dependent size
                    vt = ValueType(vt.dtype, tuple(f"{o}[{k}]" if d is None else d for k, d in enumerate(vt.shape)))
                    raw = None
                scope.set(o, self.settle(o, vt, scope), raw)
        if folded:
            self.keep_values(outs, folded, scope)

    def keep_values(self, outs, folded: list, scope: _Scope) -> None:
        for o, v in zip(outs, folded):
            if o and v is not None:
                arr = np.asarray(v)
                if arr.dtype != object and arr.size <= MAX_FOLD_ELEMENTS:
                    scope.values[o] = arr
                    vt = scope.types.get(o)
                    if vt is None or not vt.known:
                        scope.types[o] = value_type(arr)

    def settle(self, name: str, vt: ValueType, scope: _Scope) -> ValueType:
        """Dims the caller named (``--dim N=...`` for a symbol, ``--dim 'tensor[k]=...'``
        for a data-dependent dim) replace unknown ones."""
        if vt.known or vt.shape is None or not self.dims:
            return vt
        shape = list(vt.shape)
        changed = False
        for k, d in enumerate(shape):
            if isinstance(d, int):
                continue
            label = f"{name}[{k}]"
            if label in self.dims:
                shape[k] = int(self.dims[label])
                self.used_labels.add(label)
                changed = True
            elif isinstance(d, str) and d in self.dims:
                shape[k] = int(self.dims[d])
                self.used_labels.add(d)
                changed = True
        return ValueType(vt.dtype, tuple(shape)) if changed else vt

    # -- values --------------------------------------------------------------
    def fold(self, node: ox.NodeProto, full: str, scope: _Scope) -> list | None:
        op = node.op_type
        ins = []
        for x in node.input:
            if not x:
                ins.append(None)
                continue
            v = scope.value(x)
            if v is None and op not in ("Shape", "Size"):
                return None
            ins.append(v)
        in_shapes = None
        if op in ("Shape", "Size"):
            vt = scope.type(node.input[0]) if node.input and node.input[0] else None
            in_shapes = [None if vt is None else vt.shape]
        try:
            return fold_node(node, ins, in_shapes)
        except FoldError as exc:
            raise ShapeError(f"node {full!r} ({op}): {exc}") from None

    # -- types ---------------------------------------------------------------
    def infer(self, node: ox.NodeProto, full: str, domain: str, scope: _Scope, folded) -> list:
        """Output (ValueType, raw TypeProto) per output: onnx's inference for the node's
        schema, then the registered shape rule for what that leaves open."""
        outs = node.output
        result: list = [(None, None)] * len(outs)
        fn = self.functions.get((domain, node.op_type))
        schema = None if fn is not None else self.schema(domain, node.op_type)
        if schema is not None or fn is not None:
            result = self.infer_onnx(node, full, schema, fn, scope, result, folded)
        if all(not o or (vt is not None and vt.known) for o, (vt, _r) in zip(outs, result)):
            return result
        entry = REGISTRY.lookup(domain, node.op_type, self.opsets.get(domain, 0))
        rule = entry.shape_rule if entry is not None else None
        if rule is not None:
            got = self.apply_rule(rule, node, domain, scope)
            result = [
                (g, None) if (g is not None and _better(g, r[0])) else r
                for r, g in zip(result, list(got) + [None] * (len(outs) - len(got)))
            ]
        return result

    def infer_onnx(self, node, full: str, schema, fn, scope: _Scope, result: list, folded=None) -> list:
        types: dict[str, bytes] = {}
        data: dict[str, bytes] = {}
        all_known = True
        for x in node.input:
            if not x or x in types:
                continue
            raw = scope.raw_type(x)
            if raw is None:
                return result  # an input of unknown type: nothing to infer from
            types[x] = raw
            vt = scope.type(x)
            if vt is None or (vt.shape is not None and not vt.known):
                all_known = False
            v = scope.value(x)
            if v is not None:
                arr = np.asarray(v)
                limit = MAX_FOLD_ELEMENTS if arr.dtype.kind in "iub" else _FLOAT_DATA_ELEMENTS
                if arr.size <= limit and arr.dtype != object:
                    data[x] = ox.from_array(arr, x).SerializeToString()
        if any(a.type in GRAPH_ATTRS for a in node.attribute):
            for _attr, g in subgraphs(node):
                for x in _used_outer_names(g):
                    raw = scope.raw_type(x)
                    if raw is not None:
                        types.setdefault(x, raw)
        functions = [fn] if fn is not None else ()
        fast = fn is None and getattr(schema, "has_type_and_shape_inference_function", False)
        try:
            got = ox.infer_node(schema, node, types, data, self.onnx_opsets, self.ir_version, functions)
        except ox.InferenceError as exc:
            got = None
            if data and folded and all(v is not None for v in folded):
                # onnx checks values more strictly than runtimes do (a [1] where a scalar is due);
                # the values were computed here, so the types onnx gives without them will do
                try:
                    got = ox.infer_node(schema, node, types, {}, self.onnx_opsets, self.ir_version, functions)
                except Exception:
                    got = None
            if got is None:
                if all_known and fast and scope.parent is None and not any(a.type in GRAPH_ATTRS for a in node.attribute):
                    why = " ".join(str(exc).split())
                    why = re.sub(r"^\[[^\]]*\]\s*", "", why)
                    why = re.sub(r"^\(op_type:[^)]*\):\s*", "", why)
                    raise ShapeError(f"shape conflict at node {full!r} ({node.op_type}): {why[:300]}") from None
                return result
        except Exception:
            return result
        return [(type_from_raw(got[o]), got[o]) if o in got else (None, None) for o in node.output]

    def apply_rule(self, rule, node: ox.NodeProto, domain: str, scope: _Scope) -> list:
        from op_handlers.base import NodeContext, TensorInfo

        from .attrs import node_attrs

        ins = []
        for x in node.input:
            vt = scope.type(x) if x else None
            if not x:
                ins.append(None)
            elif vt is None:
                ins.append(TensorInfo(name=x))
            else:
                ins.append(TensorInfo(name=x, dtype=vt.dtype, shape=vt.shape, is_const=scope.value(x) is not None))
        opset = self.opsets.get(domain, 0)
        ctx = NodeContext(op_type=node.op_type, domain=domain, opset=opset, name=node.name,
                          attrs=node_attrs(node, opset), inputs=tuple(ins))
        try:
            got = rule(ctx) or []
        except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
            return []
        out = []
        for g in got:
            if g is None:
                out.append(None)
            elif isinstance(g, ValueType):
                out.append(g)
            elif hasattr(g, "dtype") and hasattr(g, "shape"):
                out.append(ValueType(str(g.dtype), None if g.shape is None else tuple(g.shape)))
            else:
                dtype, shape = g
                out.append(ValueType(str(dtype), None if shape is None else tuple(shape)))
        return out


def _check_reshape(node: ox.NodeProto, full: str, scope: _Scope) -> None:
    """onnx's Reshape inference does not compare element counts: a target that cannot
    hold the input is an error naming the node."""
    from .fold import _attr, reshape_target

    target = scope.value(node.input[1])
    vt = scope.type(node.input[0])
    if target is None or vt is None or not vt.known:
        return
    if reshape_target(vt.shape, target, _attr(node, "allowzero", 0)) is None:
        n = 1
        for d in vt.shape:
            n *= d
        raise ShapeError(
            f"shape conflict at node {full!r} (Reshape): input {node.input[0]!r} of shape {_fmt_shape(vt.shape)} "
            f"({n} elements) cannot take the target shape {[int(t) for t in np.asarray(target).reshape(-1)]}")
