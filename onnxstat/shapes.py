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
from typing import Any, Mapping

from op_handlers.base import dtype_name

from . import _onnx as ox
from .errors import ShapeError, UsageError
from .fold import (
    _ABSENT,
    FOLD_OPS,
    MAX_FOLD_ELEMENTS,
    _attr,
    _fold,
    _has_data,
    reshape_target,
    tensor_value,
)
from .graph import _used_outer_names, node_label, subgraphs
from .loader import LoadedModel

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded

MAX_ROUNDS = 12

Shape = tuple  # of int | str (unresolved symbol) ; None for unknown rank


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
    values: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[tuple[str, str, tuple]] = field(default_factory=list)
    outputs: list[tuple[str, str, tuple | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unresolved: dict[str, str] = field(default_factory=dict)  # symbol -> where
    source: str = "onnx"
    dims: dict[str, int] = field(default_factory=dict)
    #: the main graph's validated view, built once and reused by the analysis
    view: Any = None
    #: If branches that are statically not taken (their shapes do not matter)
    dead_scopes: set = field(default_factory=set)

    #: subgraph scope -> enclosing scope (recorded while collecting; node names may contain "/")
    parents: dict[str, str] = field(default_factory=dict)

    def lookup(self, path: str, name: str) -> ValueType | None:
        """The type of ``name`` seen from scope ``path``: the innermost fully known one,
        else the innermost one at all."""
        first = None
        while True:
            scope = self.scopes.get(path)
            if scope is not None and name in scope:
                vt = scope[name]
                if _known(vt):
                    return vt
                first = first or vt
            if not path:
                return first
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
            if isinstance(d, int) and d >= 0:
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


def _make_input(name: str, dtype_enum: int, shape) -> ox.ValueInfoProto:
    return ox.make_tensor_value_info(name, dtype_enum, None if shape is None else list(shape))


def _working_copy(
    lm: LoadedModel,
    inputs,
    consts: dict[str, np.ndarray],
    nodes: list[ox.NodeProto],
    extra: dict[str, ValueType] | None,
    inlined_inits: list[ox.TensorProto] = (),
) -> ox.ModelProto:
    """A weight-free model for onnx inference: concrete inputs, large initializers as typed
    inputs, folded values as initializers, ``nodes`` (already in topological order)."""
    src = lm.model
    m = ox.ModelProto()
    m.ir_version = max(src.ir_version, 4)
    m.opset_import.extend(src.opset_import)
    m.functions.extend(src.functions)
    g = m.graph
    g.name = src.graph.name or "main"
    declared_inputs = {i.name: i for i in src.graph.input}
    for name, _dtype, shape in inputs:
        vi = ox.ValueInfoProto()
        vi.name = name
        if name in declared_inputs:
            vi.type.CopyFrom(declared_inputs[name].type)
        if shape is not None and vi.type.WhichOneof("value") == "tensor_type":
            vi.type.tensor_type.ClearField("shape")
            vi.type.tensor_type.shape.SetInParent()  # a scalar keeps its rank 0
            for d in shape:
                dim = vi.type.tensor_type.shape.dim.add()
                if isinstance(d, int):
                    dim.dim_value = d
                else:
                    dim.dim_param = str(d)
        g.input.append(vi)
    init_names = set()
    for t in list(src.graph.initializer) + list(inlined_inits):
        init_names.add(t.name)
        if t.name in consts or _small_with_data(t):
            g.initializer.append(t)
        else:
            g.input.append(ox.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    for name, value in consts.items():
        if name not in init_names:
            g.initializer.append(ox.from_array(np.asarray(value), name))
    g.node.extend(nodes)
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


# --------------------------------------------------------------------------- flattening control flow

INJECTED = "__onnxstat_outer_"


def _defined_names(graph: ox.GraphProto) -> set[str]:
    """Names a graph defines at its own level (nested subgraphs keep their own scopes)."""
    names = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    for n in graph.node:
        names.update(o for o in n.output if o)
    return names


def _flatten(main, consts: dict[str, np.ndarray]):
    """The main graph's nodes for inference, with control flow opened up where it is safe.

    * An If whose condition is known is replaced by the nodes of the branch taken, its
      outputs joined to the If's by Identity nodes, so that folding and inference see
      through it (and branches of different ranks no longer hide the output shape).
    * Loop and Scan bodies get the values of the outer constants they read as Constant
      nodes (onnx inference of a subgraph sees outer types but not values).

    Returns ([(node, label)], [branch initializers], {paths of branches not taken}).
    """
    defined = set(main.producer) | set(main.initializers) | set(main.input_names)
    flat: list[tuple[ox.NodeProto, str]] = []
    inits: list[ox.TensorProto] = []
    dead: set[str] = set()

    def add(n: ox.NodeProto, label: str, depth: int) -> None:
        if n.op_type == "If" and n.domain in ("", "ai.onnx") and depth < MAX_SUBGRAPH_DEPTH:
            branch = _inline_branch(n, consts)
            if branch is not None:
                bname, g = branch
                names = _defined_names(g)
                if not (names & defined):
                    defined.update(names)
                    for other, _g in subgraphs(n):
                        if other != bname:
                            dead.add(f"{label}/{other}")
                    inits.extend(g.initializer)
                    for bi, bn in enumerate(g.node):  # nested Ifs with known conditions open up too
                        add(bn, f"{label}/{bname}/{node_label(bn, bi)}", depth + 1)
                    for k, (bo, io) in enumerate(zip(g.output, n.output)):
                        if io:
                            flat.append((ox.make_node("Identity", [bo.name], [io]), f"{label}/{bname}/output{k}"))
                    return
        if n.op_type in ("Loop", "Scan") and n.domain in ("", "ai.onnx"):
            n = _with_outer_values(n, consts)
        flat.append((n, label))

    for i in main.order:
        add(main.graph.node[i], main.labels[i], 0)
    return flat, inits, dead


def _inline_branch(node: ox.NodeProto, consts) -> tuple[str, ox.GraphProto] | None:
    subs = dict(subgraphs(node))
    cond = consts.get(node.input[0]) if node.input else None
    if cond is None or np.asarray(cond).size != 1:
        return None  # both branches stay subgraphs: inference covers both, the analysis picks one
    name = "then_branch" if bool(np.asarray(cond).reshape(-1)[0]) else "else_branch"
    g = subs.get(name)
    if g is None or len(g.output) != len(node.output):
        return None
    return name, g


def _with_outer_values(node: ox.NodeProto, consts) -> ox.NodeProto:
    """A copy of a Loop/Scan whose body has the outer constant values it reads as Constants."""
    body = next((g for a, g in subgraphs(node) if a == "body"), None)
    if body is None:
        return node
    used = [x for x in sorted(_used_outer_names(body)) if x in consts]
    if not used:
        return node
    new = ox.NodeProto()
    new.CopyFrom(node)
    nb = next(a.g for a in new.attribute if a.name == "body")
    rename = {x: INJECTED + x for x in used}
    for bn in nb.node:
        for k, x in enumerate(bn.input):
            if x in rename:
                bn.input[k] = rename[x]
    old_nodes = list(nb.node)
    del nb.node[:]
    for x in used:
        nb.node.append(ox.make_node(
            "Constant", [], [rename[x]], name=INJECTED + "const_" + x,
            value=ox.from_array(np.asarray(consts[x]), rename[x])))
    nb.node.extend(old_nodes)
    return new


def _loop_scan_outputs(n: ox.NodeProto, sh: "Shapes", extra: dict, consts) -> list[str]:
    """Loop scan outputs stack one slice per iteration: their first dim is the trip count."""
    if not n.input or not n.input[0] or n.input[0] not in consts:
        return []
    trip = np.asarray(consts[n.input[0]])
    if trip.size != 1:
        return []
    m = int(trip.reshape(-1)[0])
    n_carried = max(len(n.input) - 2, 0)
    new = []
    for name in n.output[n_carried:]:
        vt = sh.lookup("", name)
        if not name or vt is None or vt.shape is None or not vt.shape or name in extra:
            continue
        if isinstance(vt.shape[0], int) and vt.shape[0] > 0:
            continue
        rest = vt.shape[1:]
        if not all(isinstance(d, int) for d in rest):
            continue
        extra[name] = ValueType(vt.dtype, (m, *rest))
        sh.scopes.setdefault("", {})[name] = extra[name]
        new.append(name)
    return new


def _make_vi(name: str, vt: ValueType) -> ox.ValueInfoProto:
    from op_handlers.base import DTYPES

    enum = next((k for k, (n, _b) in DTYPES.items() if n == vt.dtype), 0)
    return ox.make_tensor_value_info(name, enum, None if vt.shape is None else list(vt.shape))


def _small_with_data(t: ox.TensorProto) -> bool:
    n = 1
    for d in t.dims:
        n *= d
    return n <= MAX_FOLD_ELEMENTS and _has_data(t)


def _infer(model: ox.ModelProto) -> ox.ModelProto:
    try:
        return ox.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:
        try:
            return ox.infer_shapes(model, strict_mode=False, data_prop=False)
        except Exception:
            return model


def _collect(graph: ox.GraphProto, path: str, sh: Shapes, recurse: bool = True) -> None:
    scope = sh.scopes.setdefault(path, {})
    for coll in (graph.input, graph.value_info, graph.output):
        for vi in coll:
            vt = type_of(vi.type)
            old = scope.get(vi.name)
            if old is None or _better(vt, old):
                scope[vi.name] = vt
    for t in graph.initializer:
        scope[t.name] = tensor_type(t)
    offset = 0  # Constants injected by _with_outer_values do not count in the labels
    for j, n in enumerate(graph.node):
        if n.name.startswith(INJECTED):
            offset += 1
        i = j - offset
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            for a in n.attribute:
                if a.name == "value" and a.type == ox.AttributeProto.TENSOR and n.output:
                    scope[n.output[0]] = tensor_type(a.t)
        if not recurse:
            continue
        for attr_name, sub in subgraphs(n):
            child = f"{path}/{node_label(n, i)}/{attr_name}" if path else f"{node_label(n, i)}/{attr_name}"
            sh.parents[child] = path
            _collect(sub, child, sh)


def _better(new: ValueType, old: ValueType) -> bool:
    def score(v):
        if v.shape is None:
            return -1
        return sum(1 for d in v.shape if isinstance(d, int))

    return score(new) > score(old) or (old.dtype == "undefined" and new.dtype != "undefined")


def _known(vt: ValueType | None) -> bool:
    return vt is not None and vt.known


def resolve(
    lm: LoadedModel,
    input_shapes: Mapping[str, tuple] | None = None,
    dims: Mapping[str, int] | None = None,
    *,
    source: str = "onnx",
    symbolic: bool = False,
    input_values: Mapping[str, np.ndarray] | None = None,
    _depth: int = 0,
) -> Shapes:
    """Resolve every tensor's dtype and shape (see the module docstring).

    ``input_values`` gives the values of small inputs (a sample rate, a flag) so that
    conditions and shapes computed from them fold like constants.

    Subgraphs (If branches, Loop and Scan bodies) are resolved the same way, each as a
    graph of its own whose inputs are the outer values it reads (with their resolved
    types, and their values when known), so shape arithmetic inside a branch folds too.
    """
    input_shapes = dict(input_shapes or {})
    dims = dict(dims or {})
    if source not in ("onnx", "ort"):
        raise UsageError(f"unknown shape source {source!r}: use 'onnx' or 'ort'")
    sh = Shapes(source=source)
    main = lm.main_view()
    sh.view = main
    given = _given_values(lm, input_values or {}, input_shapes)
    inputs = _input_types(lm, input_shapes, dims, sh, symbolic)
    _check_given_shapes(given, inputs)
    sh.inputs = inputs
    consts: dict[str, np.ndarray] = dict(given)
    readers = _value_readers(lm.model.graph)
    for t in lm.model.graph.initializer:
        v = tensor_value(t) if t.name in readers else None
        if v is not None:
            consts[t.name] = v
    for name, t in main.constants.items():
        v = tensor_value(t) if name in readers else None
        if v is not None:
            consts[name] = v
    inferred = None
    extra: dict[str, ValueType] = {}
    declared = _declared_types(lm)
    for _round in range(MAX_ROUNDS):
        flat, branch_inits, sh.dead_scopes = _flatten(main, consts)
        for t in branch_inits:
            v = tensor_value(t)
            if v is not None:
                consts.setdefault(t.name, v)
        kept, folded = [], {k: v for k, v in given.items()}
        for n, _label in flat:
            outs = [o for o in n.output if o]
            if outs and all(o in consts for o in outs):
                folded.update((o, consts[o]) for o in outs)
            else:
                kept.append(n)
        work = _working_copy(lm, inputs, folded, kept, extra, branch_inits)
        inferred = _infer(work)
        sh.scopes = {}
        _collect(inferred.graph, "", sh, recurse=False)
        _check_reshapes(flat, sh, consts)
        new = _propagate(flat, sh, consts)
        new_types = _apply_rules(flat, sh, extra, declared, consts)
        if not new and not new_types:
            break
    # subgraph shapes come from the original model's subgraphs as inferred in context
    if inferred is not None:
        _diagnose_stuck(flat, sh, work)
        _collect_subgraphs(lm.model.graph, inferred.graph, sh)
        _resolve_subgraphs(lm, flat, sh, consts, _depth)
    if source == "ort":
        _observe_with_ort(lm, inputs, sh)
    sh.values = consts
    sh.outputs = [(o, *_vt_tuple(sh.lookup("", o))) for o in main.output_names]
    if _depth == 0:
        _finalize_unresolved(main, sh, symbolic)
    return sh


MAX_SUBGRAPH_DEPTH = 8

#: ops whose inputs' values the resolution reads besides the folded ones: conditions and trip counts
_CONTROL_READERS = frozenset({"If", "Loop"})


def _value_readers(graph: ox.GraphProto) -> set[str]:
    """Names whose values the resolution may read: inputs of ops the folding evaluates or
    of control flow, and anything a subgraph reads from outside.  The values of other
    constants (a convolution's bias) are never converted to arrays; numpy is not even
    imported for a model that has no shape arithmetic."""
    out: set[str] = set()
    for n in graph.node:
        if n.op_type in FOLD_OPS or n.op_type in _CONTROL_READERS:
            out.update(n.input)
        for _, g in subgraphs(n):
            out |= _used_outer_names(g)
    return out


def _diagnose_stuck(flat, sh: Shapes, work: ox.ModelProto) -> None:
    """An ai.onnx node whose inputs are all known but whose outputs stayed unknown usually
    means its inputs do not fit together (MatMul 2x3 by 4x5): ask onnx's strict
    inference why, and raise that as a ShapeError naming the node."""
    stuck = False
    for n, _label in flat:
        if n.domain not in ("", "ai.onnx") or not n.output or any(True for _ in subgraphs(n)):
            continue
        ins = [sh.lookup("", x) for x in n.input if x]
        outs = [sh.lookup("", o) for o in n.output if o]
        if ins and all(_known(v) for v in ins) and outs and not any(v is not None and v.shape is not None for v in outs):
            stuck = True
            break
    if not stuck:
        return
    try:
        ox.infer_shapes(work, strict_mode=True, data_prop=True)
    except ox.InferenceError as exc:
        msg = " ".join(str(exc).split())
        m = re.search(r"\(op_type:(\w+), node name: ([^)]*)\): (.*)", msg)
        if m:
            op, name, why = m.group(1), m.group(2), m.group(3)
            raise ShapeError(f"shape conflict at node {name!r} ({op}): {why[:300]}") from None
    except Exception:
        return


def _resolve_subgraphs(lm: LoadedModel, flat, sh: Shapes, consts, depth: int) -> None:
    """Resolve each subgraph as a model of its own and merge its scopes under its path."""
    if depth >= MAX_SUBGRAPH_DEPTH:
        return
    from .errors import OnnxstatError

    for n, label in flat:
        for attr, g in subgraphs(n):
            path = f"{label}/{attr}"
            sub_model = _subgraph_model(lm, n, g, sh, consts)
            try:
                sub = resolve(LoadedModel(model=sub_model), source="onnx", _depth=depth + 1)
            except (OnnxstatError, RecursionError):
                continue  # e.g. a conflict inside a branch that never runs: keep onnx's view
            sh.parents[path] = ""
            for p, scope in sub.scopes.items():
                target = path if p == "" else f"{path}/{p}"
                if p:
                    parent = sub.parents.get(p, "")
                    sh.parents[target] = path if parent == "" else f"{path}/{parent}"
                mine = sh.scopes.setdefault(target, {})
                for name, vt in scope.items():
                    if name.startswith(INJECTED):
                        continue
                    old = mine.get(name)
                    if old is None or _better(vt, old):
                        mine[name] = vt
            for name, value in sub.values.items():
                if not name.startswith(INJECTED):
                    consts.setdefault(name, value)


def _subgraph_model(lm: LoadedModel, node: ox.NodeProto, g: ox.GraphProto, sh: Shapes, consts) -> ox.ModelProto:
    """A subgraph as a model: outer values it reads become inputs (typed) or initializers (known)."""
    m = ox.ModelProto()
    m.ir_version = max(lm.model.ir_version, 4)
    m.opset_import.extend(lm.model.opset_import)
    m.functions.extend(lm.model.functions)
    sg = m.graph
    sg.name = g.name or "subgraph"
    formal = [i.name for i in g.input]
    outer_types = _formal_input_types(node, g, sh)
    for x in sorted(_used_outer_names(g) - set(formal)):
        if x in consts:
            sg.initializer.append(ox.from_array(np.asarray(consts[x]), x))
            continue
        vt = sh.lookup("", x)
        sg.input.append(_make_vi(x, vt if vt is not None else ValueType("undefined", None)))
    for vi, vt in zip(g.input, outer_types):
        if vt is not None and _known(vt):
            sg.input.append(_make_vi(vi.name, vt))
        else:
            sg.input.append(vi)
    sg.initializer.extend(g.initializer)
    sg.node.extend(g.node)
    for o in g.output:
        vo = sg.output.add()
        vo.name = o.name
        if o.type.WhichOneof("value") == "tensor_type":
            vo.type.tensor_type.elem_type = o.type.tensor_type.elem_type
    return m


def _formal_input_types(node: ox.NodeProto, g: ox.GraphProto, sh: Shapes) -> list:
    """Types of a body's formal inputs as the outer node feeds them (None: use the declared)."""
    n_formal = len(g.input)
    if node.op_type == "Loop" and n_formal >= 2:
        carried = [sh.lookup("", x) if x else None for x in node.input[2:]]
        return [ValueType("int64", ()), ValueType("bool", ())] + carried[: n_formal - 2]
    if node.op_type == "FlexAttention" and n_formal == 1 and len(node.input) >= 2:
        return [flex_scores_type(node, sh.lookup("", node.input[0]), sh.lookup("", node.input[1]))]
    return [None] * n_formal


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


def _given_values(lm: LoadedModel, values: Mapping[str, np.ndarray], input_shapes: dict) -> dict[str, np.ndarray]:
    """User-given input values, cast to the inputs' dtypes; their shapes become the inputs' shapes."""
    if not values:
        return {}
    from .inputs import np_dtype

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


def _collect_subgraphs(orig: ox.GraphProto, inferred: ox.GraphProto, sh: Shapes) -> None:
    if not any(a.type in (ox.AttributeProto.GRAPH, ox.AttributeProto.GRAPHS) for n in orig.node for a in n.attribute):
        return
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
            sh.parents[f"{label}/{attr_name}"] = ""
            _collect(sub_inf, f"{label}/{attr_name}", sh)


def _check_reshapes(flat, sh: Shapes, consts) -> None:
    for n, label in flat:
        if n.op_type != "Reshape" or n.domain not in ("", "ai.onnx") or len(n.input) < 2:
            continue
        target = consts.get(n.input[1])
        vt = sh.lookup("", n.input[0])
        if target is None or not _known(vt):
            continue
        out = reshape_target(vt.shape, target, _attr(n, "allowzero", 0))
        if out is None:
            raise ShapeError(
                f"shape conflict at node {label!r} (Reshape): input {n.input[0]!r} of shape "
                f"{_fmt_shape(vt.shape)} ({int(np.prod(vt.shape))} elements) cannot take the target shape "
                f"{list(int(t) for t in np.asarray(target).reshape(-1))}"
            )


def _has_schema(domain: str, op_type: str, version: int) -> bool:
    try:
        ox.get_schema(op_type, version, domain)
        return True
    except Exception:
        return False


def _plain_attrs(node: ox.NodeProto) -> dict:
    out = {}
    for a in node.attribute:
        if a.type in (ox.AttributeProto.GRAPH, ox.AttributeProto.GRAPHS):
            continue
        v = ox.get_attribute_value(a)
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


def _apply_rules(flat, sh: Shapes, extra: dict[str, ValueType], declared: dict[str, ValueType], consts) -> list[str]:
    """Shapes for outputs of ops onnx inference does not know: contrib rules, then declared types."""
    from .shape_rules import apply_rule, has_rule

    new: list[str] = []
    for n, _label in flat:
        if n.op_type == "Loop" and n.domain in ("", "ai.onnx"):
            new.extend(_loop_scan_outputs(n, sh, extra, consts))
            continue
        if not n.output:
            continue
        outs = [sh.lookup("", o) for o in n.output]
        if all(not o or _known(vt) for o, vt in zip(n.output, outs)):
            continue
        domain = "" if n.domain == "ai.onnx" else n.domain
        if domain == "" and not has_rule("", n.op_type) and _has_schema("", n.op_type, ox.opset_version()):
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
                    if all(isinstance(x, int) and x >= 0 for x in shape):
                        vt = ValueType(d.dtype, shape)
            if vt is not None:
                extra[name] = vt
                sh.scopes.setdefault("", {})[name] = vt
                new.append(name)
    return new


def _propagate(flat, sh: Shapes, consts: dict[str, np.ndarray]) -> list[str]:
    """Fold small values through shape arithmetic; returns newly known tensor names."""
    new: list[str] = []
    for n, _label in flat:
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
            if name and val is not None and np.asarray(val).dtype != object and np.asarray(val).size <= MAX_FOLD_ELEMENTS:
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
    """Replace dims still unknown after resolution by 1 (named in warnings), unless symbolic;
    a negative dim (inconsistent attributes, e.g. a kernel larger than its input) is an error."""
    input_syms = set(sh.dims)
    for path, scope in sh.scopes.items():
        dead = any(path == d or path.startswith(d + "/") for d in sh.dead_scopes)
        for name, vt in scope.items():
            if vt.shape is None:
                continue
            if any(isinstance(d, int) and d < 0 for d in vt.shape):
                where = f" (output of node {main.labels[main.producer[name]]!r})" if not path and name in main.producer else ""
                raise ShapeError(f"tensor {name!r}{where} gets a negative dim: {_fmt_shape(vt.shape)}; "
                                 "check the node's attributes (kernel, pads, strides) against its input shape")
            if all(isinstance(d, int) for d in vt.shape):
                continue
            if path:  # an inlined branch: its tensors were resolved in the enclosing scope
                outer = sh.lookup(sh.parents.get(path, ""), name)
                if _known(outer):
                    scope[name] = outer
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
                    new.append(1)
                    if dead:
                        continue  # a branch that never runs: its dims need no warning
                    label = d if isinstance(d, str) else "?"
                    where = f"{path + ':' if path else ''}{name}[{k}]"
                    if label == "?":
                        sh.unresolved.setdefault(where, "an unknown dim")
                    else:
                        sh.unresolved.setdefault(label, f"tensor {where}")
            scope[name] = ValueType(vt.dtype, tuple(new))
    if sh.unresolved:
        items = list(sh.unresolved.items())
        shown = ", ".join(f"{k} (first in {v})" for k, v in items[:8])
        more = f" and {len(items) - 8} more" if len(items) > 8 else ""
        sh.warnings.append(f"unresolved dims set to 1: {shown}{more}; set them with --dim NAME=VALUE or --input-shape")
