"""Shape resolution: every tensor's dtype and shape, in one forward pass.

1. Graph inputs are made concrete: ``input_shapes`` replaces whole input shapes,
   ``dims`` sets named (symbolic) dims; an input dim still unknown is set to 1, and
   the result says so (``defaulted_dims``).  Zero-size dims are legal everywhere.
2. onnx's whole-graph inference runs once on a weight-free copy of the main graph:
   a fast bulk answer for the nodes whose inputs it fully knows.
3. One pass over the nodes in topological order then resolves each node once, when
   its inputs are known: small values are folded right there (shape arithmetic,
   float math included); a node the bulk answer left open is inferred on its own by
   onnx's inference for its schema, given its input types and the values of its
   constant inputs; an op onnx does not know gets its output types from the shape
   rule registered with its cost handler (``op_handlers``), else from the types the
   exporter declared.  If, Loop and Scan bodies are resolved in the same pass, as
   scopes that see the outer values and types they read; a Loop's trip count is
   derived from its body's condition where that is a counter.  Cost is linear in
   the number of nodes; there are no rounds.
4. Optionally (``source="ort"`` or ``"auto"``) shapes are observed by running the
   model once in onnxruntime on the CPU, for what the pass left unknown.

A dim is an ``int`` when known, a ``str`` when it is a named symbol (symbolic
inputs), ``None`` when unknown.  Tensors left with unknown dims are listed in
``Shapes.unresolved``; the nodes that need them are not counted, and the totals
say they are incomplete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from op_handlers.base import DTYPES, dtype_name
from op_handlers.registry import REGISTRY, norm_domain

from ..model import _onnx as ox
from ..errors import ShapeError, UsageError
from .fold import FOLD_OPS, MAX_FOLD_ELEMENTS, FoldError, has_data, fold_node, tensor_value
from ..model.graph import GRAPH_ATTRS, GraphView, _used_outer_names, build_view, subgraphs
from ..model.loader import LoadedModel

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded

Shape = tuple  # of int | str (named symbol) | None (unknown); None for unknown rank

#: how deep If/Loop/Scan bodies are followed
MAX_SUBGRAPH_DEPTH = 8
#: float constant inputs up to this many elements are handed to onnx's per-node inference
#: as values (Resize scales); integer ones up to MAX_FOLD_ELEMENTS (shapes, axes, pads)
_FLOAT_DATA_ELEMENTS = 64
_ENUM = {name: code for code, (name, _bits) in DTYPES.items()}
_CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})


@dataclass(frozen=True)
class ValueType:
    dtype: str
    shape: tuple | None
    #: every dim a concrete int (computed once: looked up for every tensor of every node)
    known: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known", self.shape is not None and all(isinstance(d, int) for d in self.shape))


@dataclass
class Shapes:
    """Resolved types per graph scope ("" = main graph, subgraphs by path)."""

    scopes: dict[str, dict[str, ValueType]] = field(default_factory=dict)
    #: folded values of the main graph (small tensors: shape arithmetic, flags)
    values: dict[str, Any] = field(default_factory=dict)
    #: folded values of subgraph scopes, by scope path
    scope_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: list[tuple[str, str, tuple]] = field(default_factory=list)
    outputs: list[tuple[str, str, tuple | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: unresolved dim label -> where it was first seen ("input 'x'", "tensor t[2]")
    unresolved: dict[str, str] = field(default_factory=dict)
    source: str = "onnx"
    dims: dict[str, int] = field(default_factory=dict)
    #: symbolic input dims the caller did not set, and the value used for them
    defaulted_dims: dict[str, int] = field(default_factory=dict)
    #: --dim names that matched nothing in the model
    unknown_dims: list[str] = field(default_factory=list)
    #: the symbolic dim names of the model's inputs
    model_dims: list[str] = field(default_factory=list)
    #: the main graph's validated view, built once and reused by the analysis
    view: Any = None
    #: If branches that are statically not taken (their shapes do not matter)
    dead_scopes: set = field(default_factory=set)
    #: subgraph scope -> enclosing scope (recorded while resolving; node names may contain "/")
    parents: dict[str, str] = field(default_factory=dict)
    #: control-flow facts by node path: {"trip": int | None, "exact": bool, "how": str}
    control: dict[str, dict] = field(default_factory=dict)

    def lookup(self, path: str, name: str) -> ValueType | None:
        """The type of ``name`` seen from scope ``path``: the innermost scope that
        defines it with a fully known type, else the innermost one at all."""
        first = None
        while True:
            scope = self.scopes.get(path)
            if scope is not None and name in scope:
                vt = scope[name]
                if vt.known:
                    return vt
                first = first or vt
            if not path:
                return first
            path = self.parents.get(path, "")

    def value(self, path: str, name: str) -> Any:
        """The folded value of ``name`` seen from scope ``path`` (None when not known)."""
        while True:
            vals = self.values if not path else self.scope_values.get(path, {})
            if name in vals:
                return vals[name]
            scope = self.scopes.get(path)
            if path and scope is not None and name in scope:
                return None  # defined in this scope without a known value
            if not path:
                return None
            path = self.parents.get(path, "")


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
        if d < 0:
            raise UsageError(f"bad shape {text!r}: dims must be zero or positive")
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


def parse_input_value(text: str) -> np.ndarray:
    """``"16000"`` -> 0-d array; ``"1,2,3"`` -> 1-D array (ints when every item is one)."""
    items = [t.strip() for t in text.split(",")]
    try:
        nums = [int(t) for t in items]
    except ValueError:
        try:
            nums = [float(t) for t in items]
        except ValueError:
            raise UsageError(f"bad input value {text!r}: expected numbers like 16000 or 1,2,3") from None
    return np.array(nums[0] if len(nums) == 1 else nums)


def parse_dim_value(text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise UsageError(f"bad dim value {text!r}: expected a whole number (0 or more)") from None
    if v < 0:
        raise UsageError(f"bad dim value {text!r}: dims must be zero or positive")
    return v


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


class _Scope:
    """The types and folded values one graph defines, over those of its enclosing graphs."""

    __slots__ = ("parent", "path", "types", "raw", "values", "inits", "depth", "defined")

    def __init__(self, parent: "_Scope | None", path: str, inits: Mapping[str, Any], defined: frozenset = frozenset()):
        self.parent = parent
        self.path = path
        self.types: dict[str, ValueType] = {}
        self.raw: dict[str, bytes] = {}  # serialized TypeProto of types onnx gave (sequences, optionals)
        self.values: dict[str, Any] = {}
        self.inits = inits  # initializer protos, converted to values on first use
        self.depth = 0 if parent is None else parent.depth + 1
        self.defined = defined  # every name the graph defines, typed or not (for validating subgraphs)

    def where(self, name: str) -> "_Scope | None":
        s = self
        while s is not None:
            if name in s.types:
                return s
            s = s.parent
        return None

    def type(self, name: str) -> ValueType | None:
        s = self.where(name)
        return None if s is None else s.types[name]

    def raw_type(self, name: str) -> bytes | None:
        s = self.where(name)
        if s is None:
            return None
        raw = s.raw.get(name)
        return raw if raw is not None else raw_type(s.types[name])

    def value(self, name: str) -> Any:
        s = self.where(name)
        if s is None:
            return None
        if name in s.values:
            return s.values[name]
        t = s.inits.get(name)
        if t is None:
            return None
        v = tensor_value(t)
        s.values[name] = v
        return v

    def set(self, name: str, vt: ValueType, raw: bytes | None = None) -> None:
        self.types[name] = vt
        if raw is not None and vt.shape is None:
            self.raw[name] = raw  # a sequence, an optional: keep onnx's own type for its consumers

    def names(self) -> set[str]:
        out: set[str] = set()
        s = self
        while s is not None:
            out |= s.types.keys()
            out |= s.defined
            s = s.parent
        return out


# --------------------------------------------------------------------------- the pass


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


def _view_names(view: GraphView) -> frozenset:
    return frozenset(view.producer) | frozenset(view.initializers) | frozenset(i.name for i in view.graph.input)


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


# --------------------------------------------------------------------------- main entry


def _input_types(lm: LoadedModel, input_shapes: Mapping[str, tuple], dims: Mapping[str, int], sh: Shapes, symbolic: bool):
    g = lm.model.graph
    inits = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
    real_inputs = [i for i in g.input if i.name not in inits]
    names = {i.name for i in real_inputs}
    for name in input_shapes:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise UsageError(f"--input-shape names {name!r}, which is not a model input (inputs: {known})")
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
        shape: list = []
        for k, d in enumerate(vt.shape):
            if isinstance(d, int) and d >= 0:
                shape.append(d)
            elif isinstance(d, str) and d in dims:
                shape.append(int(dims[d]))
            elif isinstance(d, str) and d in sh.dims:
                shape.append(sh.dims[d])
            elif symbolic and isinstance(d, str):
                shape.append(d)
            else:
                label = d if isinstance(d, str) else f"{vi.name}[{k}]"
                sh.unresolved.setdefault(label, f"input {vi.name!r}")
                sh.defaulted_dims.setdefault(label, 1)
                if isinstance(d, str):
                    sh.dims.setdefault(d, 1)
                shape.append(1)
        result.append((vi.name, vt.dtype, tuple(shape)))
    for d, v in dims.items():
        sh.dims.setdefault(d, int(v))
    return result


def _input_dim_names(lm: LoadedModel) -> set[str]:
    return {d for vi in lm.model.graph.input for d in (type_of(vi.type).shape or ()) if isinstance(d, str)}


def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) if d is not None else "?" for d in shape)


def _bulk(lm: LoadedModel, inputs, main: GraphView) -> dict[str, tuple[ValueType, bytes]]:
    """onnx's whole-graph inference on a weight-free copy of the main graph, once: the
    types it fully knows (a fast answer for the plain parts of the graph)."""
    src = lm.model
    m = ox.ModelProto()
    m.ir_version = max(src.ir_version, 4)
    m.opset_import.extend(src.opset_import)
    m.functions.extend(src.functions)
    g = m.graph
    g.name = src.graph.name or "main"
    declared = {i.name: i for i in src.graph.input}
    for name, _dtype, shape in inputs:
        vi = g.input.add()
        vi.name = name
        if name in declared:
            vi.type.CopyFrom(declared[name].type)
        if shape is not None and vi.type.WhichOneof("value") == "tensor_type":
            vi.type.tensor_type.ClearField("shape")
            vi.type.tensor_type.shape.SetInParent()
            for d in shape:
                dim = vi.type.tensor_type.shape.dim.add()
                if isinstance(d, int):
                    dim.dim_value = d
                elif isinstance(d, str):
                    dim.dim_param = d
    for t in src.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        if n <= MAX_FOLD_ELEMENTS and has_data(t):
            g.initializer.append(t)
        else:
            g.input.append(ox.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    for t in src.graph.sparse_initializer:
        g.input.append(ox.make_tensor_value_info(t.values.name, t.values.data_type, list(t.dims)))
    g.node.extend(src.graph.node)
    try:
        # no data propagation: the pass folds values itself, with its own size bounds, where
        # onnx's would materialise a Range or Tile of any size the graph asks for
        out = ox.infer_shapes(m, strict_mode=False, data_prop=False)
    except Exception:
        return {}
    got: dict[str, tuple[ValueType, bytes]] = {}
    for vi in out.graph.value_info:
        raw = vi.type.SerializeToString()
        vt = type_from_raw(raw)
        if vt.known:
            got[vi.name] = (vt, raw)
    return got


def resolve(
    lm: LoadedModel,
    input_shapes: Mapping[str, tuple] | None = None,
    dims: Mapping[str, int] | None = None,
    *,
    source: str = "onnx",
    symbolic: bool = False,
    input_values: Mapping[str, Any] | None = None,
    bulk: bool = True,
) -> Shapes:
    """Resolve every tensor's dtype and shape (see the module docstring).

    ``input_values`` gives the values of small inputs (a sample rate, a flag) so that
    conditions and shapes computed from them fold like constants.  ``source`` is
    ``"onnx"`` (static), ``"ort"`` (onnxruntime's observed shapes for what the static
    pass leaves unknown, always run) or ``"auto"`` (onnxruntime only when something is
    left unknown and the weights are present).  ``bulk=False`` skips onnx's whole-graph
    inference (the pass alone gives the same answer, more slowly).
    """
    input_shapes = dict(input_shapes or {})
    dims = dict(dims or {})
    if source not in ("onnx", "ort", "auto"):
        raise UsageError(f"unknown shape source {source!r}: use 'onnx', 'ort' or 'auto'")
    sh = Shapes(source=source)
    main = lm.main_view()
    sh.view = main
    given = _given_values(lm, input_values or {}, input_shapes)
    inputs = _input_types(lm, input_shapes, dims, sh, symbolic)
    _check_given_shapes(given, inputs)
    sh.inputs = inputs
    g = lm.model.graph
    r = _Resolver(lm, sh, sh.dims, symbolic)
    scope = _Scope(None, "", main.initializers, _view_names(main))
    scope.values = sh.values
    sh.scopes[""] = scope.types
    for name, dtype, shape in inputs:
        scope.set(name, ValueType(dtype, shape))
    declared_inputs = {i.name: i for i in g.input}
    for name, dtype, shape in inputs:
        vi = declared_inputs.get(name)
        if vi is not None and vi.type.WhichOneof("value") != "tensor_type":
            scope.raw[name] = vi.type.SerializeToString()  # a sequence or optional input
            scope.types[name] = ValueType(dtype, None)
    for t in g.initializer:
        scope.set(t.name, tensor_type(t))
    for t in g.sparse_initializer:
        scope.set(t.values.name, sparse_type(t))
    sh.values.update(given)
    if bulk:
        r.bulk = _bulk(lm, inputs, main)
    r.run_graph(main, scope, _declared_types(g, sh.dims))
    r.bulk = {}
    if source in ("ort", "auto"):
        _observe_with_ort(lm, inputs, sh)
    sh.model_dims = sorted(_input_dim_names(lm))
    known_names = set(sh.model_dims) | r.used_labels
    sh.unknown_dims = [d for d in dims if d not in known_names]
    _finalize(main, sh, symbolic)
    sh.outputs = [(o, *_vt_tuple(sh.lookup("", o))) for o in main.output_names]
    return sh


def _given_values(lm: LoadedModel, values: Mapping[str, np.ndarray], input_shapes: dict) -> dict[str, np.ndarray]:
    """User-given input values, cast to the inputs' dtypes; their shapes become the inputs' shapes."""
    if not values:
        return {}
    from ..runtime.inputs import np_dtype

    inits = {t.name for t in lm.model.graph.initializer}
    declared = {i.name: type_of(i.type) for i in lm.model.graph.input if i.name not in inits}
    out = {}
    for name, value in values.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--input-value names {name!r}, which is not a model input (inputs: {known})")
        arr = np.asarray(value)
        if arr.size > MAX_FOLD_ELEMENTS:
            raise UsageError(f"--input-value {name}: {arr.size} elements; values are for small inputs (at most {MAX_FOLD_ELEMENTS})")
        try:
            with np.errstate(all="ignore"):
                arr = arr.astype(np_dtype(declared[name].dtype))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--input-value {name}: cannot be {declared[name].dtype}: {exc}") from None
        shape = declared[name].shape
        if shape is not None and arr.ndim != len(shape) and arr.size == int(np.prod([d for d in shape if isinstance(d, int)] or [1])):
            arr = arr.reshape([d if isinstance(d, int) else 1 for d in shape])
        input_shapes.setdefault(name, tuple(arr.shape))
        out[name] = arr
    return out


def _check_given_shapes(given: dict[str, np.ndarray], inputs) -> None:
    for name, _dtype, shape in inputs:
        if name in given and shape is not None and tuple(given[name].shape) != tuple(shape):
            raise UsageError(f"--input-value {name}: shape {list(given[name].shape)} does not match the input's "
                             f"{_fmt_shape(shape)}")


def _vt_tuple(vt: ValueType | None):
    if vt is None:
        return ("undefined", None)
    return (vt.dtype, vt.shape)


def _observe_with_ort(lm: LoadedModel, inputs, sh: Shapes) -> None:
    """Fill unknown main-graph shapes from one onnxruntime run with every value exposed
    as an output (``auto``: only when something is unknown and the weights are there)."""
    scope = sh.scopes.setdefault("", {})
    if sh.source == "auto":
        if all(vt.known for vt in scope.values() if vt.shape is not None) and not _missing_outputs(sh):
            return
        if not lm.weights_available:
            sh.warnings.append("--shape-source auto: some shapes are unknown, and onnxruntime cannot run the model "
                               "without its weight data")
            return
    from .ort import observe_shapes  # local import: onnxruntime is heavy

    observed = observe_shapes(lm, inputs)
    filled = 0
    for name, (dtype, shape) in observed.items():
        old = scope.get(name)
        if old is None or not old.known:
            scope[name] = ValueType(dtype, tuple(shape))
            filled += 1
    if sh.source == "auto" and filled:
        sh.warnings.append(f"--shape-source auto: {filled} tensor shape(s) observed in onnxruntime at the given input "
                           "shapes (data-dependent sizes hold for the generated input values)")


def _missing_outputs(sh: Shapes) -> bool:
    view = sh.view
    scope = sh.scopes.get("", {})
    return any(o and o not in scope for n in view.graph.node for o in n.output)


def _finalize(main: GraphView, sh: Shapes, symbolic: bool) -> None:
    """Name the dims left unknown (in ``unresolved``, with one warning); in a concrete
    resolution a dim is an int or None (unknown), never a leftover symbol; a negative
    dim (inconsistent attributes, e.g. a kernel larger than its input) is an error."""
    input_syms = _input_syms(sh)
    unknown: dict[str, str] = {}
    for path, scope in sh.scopes.items():
        dead = any(path == d or path.startswith(d + "/") for d in sh.dead_scopes)
        for name, vt in list(scope.items()):
            if vt.shape is None or vt.known:
                continue
            if any(isinstance(d, int) and d < 0 for d in vt.shape):
                where = f" (output of node {main.labels[main.producer[name]]!r})" if not path and name in main.producer else ""
                raise ShapeError(f"tensor {name!r}{where} gets a negative dim: {_fmt_shape(vt.shape)}; "
                                 "check the node's attributes (kernel, pads, strides) against its input shape")
            new = []
            for k, d in enumerate(vt.shape):
                if isinstance(d, int) or (symbolic and isinstance(d, str) and d in input_syms):
                    new.append(d)
                    continue
                new.append(None)
                if not dead:
                    unknown.setdefault(d if isinstance(d, str) else f"{name}[{k}]", f"{path}" if path else "")
            scope[name] = ValueType(vt.dtype, tuple(new))
    for scope in sh.scopes.values():
        for name, vt in scope.items():
            if vt.shape is not None and any(isinstance(d, int) and d < 0 for d in vt.shape):
                raise ShapeError(f"tensor {name!r} gets a negative dim: {_fmt_shape(vt.shape)}; "
                                 "check the node's attributes (kernel, pads, strides) against its input shape")
    for label, path in unknown.items():
        sh.unresolved.setdefault(label, "a data-dependent size" + (f" in {path}" if path else ""))
    if sh.defaulted_dims:
        shown = ", ".join(f"{k}=1" for k in sh.defaulted_dims)
        sh.warnings.insert(0, f"input dims not set, 1 used: {shown}; set them with --dim NAME=VALUE or --input-shape")
    if unknown:
        items = list(unknown)
        shown = ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")
        sh.warnings.append(
            f"{len(items)} dim(s) unknown after shape resolution ({shown}); give such sizes with "
            "--dim 'TENSOR[k]=VALUE', or use --shape-source auto"
        )
    for d in sh.unknown_dims:
        sh.warnings.append(f"--dim {d} matches no symbolic input dim (model dims: "
                           f"{', '.join(sorted(input_syms)) or 'none'})")


def _input_syms(sh: Shapes) -> set[str]:
    return {d for _n, _t, shape in sh.inputs for d in (shape or ()) if isinstance(d, str)} | set(sh.defaulted_dims) | set(sh.dims)


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


