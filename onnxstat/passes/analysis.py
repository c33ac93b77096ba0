"""The handler pass: one cost record per node, subgraphs included, then totals.

For every node the library builds a read-only :class:`op_handlers.NodeContext`
(attributes completed with schema defaults, input/output types from shape
resolution, which inputs are weights) and calls the registered handler.  Control
flow (If, Loop, Scan) is handled here because it needs the subgraphs: the branch
taken (or the costlier one), the body times the trip count.
"""

from __future__ import annotations

from typing import Any

from op_handlers import REGISTRY, Cost, NodeContext, ShapeUnknown, TensorInfo
from op_handlers.registry import norm_domain

from ..errors import ShapeError
from ..model import _onnx as ox
from ..model.graph import GraphView, subgraphs
from ..model.loader import LoadedModel
from ..shapes.attrs import node_attrs
from ..shapes.resolve import Shapes, ValueType
from .control_flow import ControlFlowCost
from .records import COUNT_FIELDS, Analysis, Counts, NodeCost

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded

#: the control-flow ops whose expansion passes/control_flow.py writes (their registry
#: entries have kind="control_flow", which is what the pass reads)
CONTROL_FLOW = {"If", "Loop", "Scan", "SequenceMap"}
#: (domain, op) whose graph attributes run once per execution of the node, on whole
#: tensors: their nodes are counted below the node's own cost.  Other ops' subgraphs
#: are named in a note as not counted.
ONCE_SUBGRAPHS = {("ai.onnx.preview", "FlexAttention")}


# --------------------------------------------------------------------------- the pass


class Analyzer(ControlFlowCost):
    def __init__(self, lm: LoadedModel, shapes: Shapes):
        self.lm = lm
        self.shapes = shapes
        self.opsets = {norm_domain(o.domain): o.version for o in lm.model.opset_import}
        self.out = Analysis()
        self.seen_weights: set[str] = set()
        self._tensors: dict[str, dict[str, tuple]] = {}  # scope -> tensor name -> slot
        self._entries: dict[tuple, Any] = {}
        self._memo: dict[tuple, Cost] = {}
        #: sparse initializers: weight key -> bytes stored (values + indices)
        self.sparse_bytes: dict[str, int] = {}
        # weight names per scope -> key used to count each tensor once
        self.weight_scope: dict[str, dict[str, str]] = {}

    # -- tensors -----------------------------------------------------------
    def _slot(self, path: str, name: str, weights: dict[str, str]) -> tuple:
        """``(TensorInfo or None, its (name, dtype, shape) record, its part of a memo key as an
        input, as an output)``, made once per tensor and scope."""
        table = self._tensors.get(path)
        if table is None:
            table = self._tensors[path] = {}
        s = table.get(name)
        if s is None or (s[0] is not None and s[0].is_weight != (name in weights)):
            if not name:
                s = (None, (name, "undefined", None), None, None)
            else:
                t = self._new_tensor(path, name, weights)
                s = (t, (t.name, t.dtype, t.shape),
                     (t.dtype, t.shape, t.is_const, t.is_weight, t.name if t.is_const else None),
                     (t.dtype, t.shape))
            table[name] = s
        return s

    def _new_tensor(self, path: str, name: str, weights: dict[str, str]) -> TensorInfo:
        vt = self.shapes.lookup(path, name)
        dtype, shape = ("undefined", None) if vt is None else (vt.dtype, vt.shape)
        if shape is not None and not vt.known and any(d is None for d in shape):
            shape = None  # some dim unknown: handlers see an unknown shape, never a guess
        is_weight = name in weights
        is_const = is_weight or name in self.shapes.values
        return TensorInfo(name=name, dtype=dtype, shape=shape, is_const=is_const, is_weight=is_weight)

    def run(self) -> Analysis:
        view = self.shapes.view if self.shapes.view is not None else self.lm.main_view()
        self.out.nodes = self._graph(view, "", {}, repeat=1)
        return self.out

    def _graph(self, view: GraphView, path: str, outer_weights: dict[str, str], repeat: Any) -> list[NodeCost]:
        weights = dict(outer_weights)
        scope_key = path or "main"
        for name in view.initializers:
            weights[name] = f"{scope_key}:{name}" if path else name
        for name in view.constants:
            weights[name] = f"{scope_key}:{name}" if path else name
        for name, st in view.sparse.items():
            weights[name] = f"{scope_key}:{name}" if path else name
            self.sparse_bytes[weights[name]] = _sparse_stored_bytes(st)
        produced: list[NodeCost] = []
        nodes = view.graph.node
        labels = view.labels
        for i in view.order:
            produced.extend(self._node(view, path, nodes[i], labels[i], weights, repeat, i))
        return produced

    def _context(self, node: ox.NodeProto, label: str, ins: tuple, outs: tuple) -> NodeContext:
        dom = node.domain
        domain = "" if not dom or dom == "ai.onnx" else dom
        opset = self.opsets.get(domain, 0)
        return NodeContext(
            op_type=node.op_type,
            domain=domain,
            opset=opset,
            name=label,
            attrs=node_attrs(node, opset),
            inputs=tuple(s[0] for s in ins),
            outputs=tuple(s[0] for s in outs),
        )

    def _entry(self, domain: str, op_type: str, opset: int):
        key = (domain, op_type, opset)
        try:
            return self._entries[key]
        except KeyError:
            e = self._entries[key] = REGISTRY.lookup(domain, op_type, opset)
            return e

    def _node(self, view, path, node, label, weights, repeat, index) -> list[NodeCost]:
        slot = self._slot
        table = self._tensors.get(path) or {}
        ins = []
        for x in view.inputs[index]:
            s = table.get(x)
            if s is None or (s[0] is not None and s[0].is_weight != (x in weights)):
                s = slot(path, x, weights)
            ins.append(s)
        outs = []
        for x in view.outputs[index]:
            s = table.get(x)
            if s is None or (s[0] is not None and s[0].is_weight != (x in weights)):
                s = slot(path, x, weights)
            outs.append(s)
        dom = node.domain
        domain = "" if not dom or dom == "ai.onnx" else dom
        op_type = node.op_type
        full = f"{path}/{label}" if path else label
        rec = NodeCost(
            name=label,
            path=full,
            domain=domain,
            op_type=op_type,
            kind="unsupported",
            compute_dtype="undefined",
            inputs=[s[1] for s in ins],
            outputs=[s[1] for s in outs],
            repeat=repeat,
        )
        opset = self.opsets.get(domain, 0)
        entry = self._entry(domain, op_type, opset)
        if entry is not None and entry.kind == "control_flow":  # the registry says: expand its bodies
            ctx = self._context(node, label, ins, outs)
            return self._control_flow(view, path, node, label, weights, repeat, ctx, rec)
        if entry is None:
            ctx = self._context(node, label, ins, outs)
            self.out.unsupported[(domain, op_type)] += 1
            # op-independent parts are still known: traffic and the weights it reads
            cost = ctx.cost(0, 0, weights=None, compute_dtype=ctx.default_compute_dtype())
            self._apply(rec, cost, weights, repeat)
            rec.kind = "unsupported"
            rec.notes.append("no handler: MACs and FLOPs not counted")
            return [rec]
        rec.kind = entry.kind
        # a handler is a pure function of its context: nodes of one form share one cost record
        has_attrs = view.has_attrs[index]
        key = (entry.fn, domain, op_type, opset,
               tuple([(a.name, a.SerializeToString()) for a in node.attribute]) if has_attrs else (),
               tuple([s[2] for s in ins]), tuple([s[3] for s in outs]))
        try:
            cost = self._memo.get(key)
        except TypeError:  # an unhashable dim: no sharing
            key, cost = None, None
        if cost is None:
            ctx = self._context(node, label, ins, outs)
            try:
                cost = entry.fn(ctx)
            except ShapeUnknown as exc:
                return [self._unresolved(rec, ctx, weights, repeat, full, op_type, str(exc))]
            except Exception as exc:  # a handler bug must not stop the report
                if any(t.shape is None for t in ctx.present_inputs + ctx.present_outputs):
                    return [self._unresolved(rec, ctx, weights, repeat, full, op_type, "a shape it needs is unknown")]
                rec.error = f"{type(exc).__name__}: {exc}"
                self.out.warnings.append(f"node {full!r} ({op_type}): handler failed ({type(exc).__name__}: {exc}); not counted")
                return [rec]
            _check_non_negative(cost, full, op_type, ctx)
            if key is not None and not cost.notes and len(self._memo) < 200_000:
                self._memo[key] = cost
        self._apply(rec, cost, weights, repeat)
        if not has_attrs:
            return [rec]
        return self._node_subgraphs(view, path, node, rec, weights, repeat)

    def _node_subgraphs(self, view, path, node, rec: NodeCost, weights, repeat) -> list[NodeCost]:
        """A node other than control flow with graph attributes: counted below it when they run
        once per execution of the node (ONCE_SUBGRAPHS), else named in a note."""
        subs = list(subgraphs(node))
        if not subs:
            return [rec]
        if (rec.domain, rec.op_type) not in ONCE_SUBGRAPHS:
            rec.notes.extend(f"subgraph {attr} not counted" for attr, _g in subs)
            return [rec]
        # modifier subgraphs run once per execution of the node, on whole tensors
        self._cf_views()[path] = view
        outer = frozenset(self._scope_names(view, path))
        results = [rec]
        for attr, g in subs:
            formal = tuple(i.name for i in g.input)
            results.extend(self._run_sub(g, f"{rec.path}/{attr}", outer, weights, repeat, formal, parent=path))
        return results

    def _unresolved(self, rec: NodeCost, ctx: NodeContext, weights: dict[str, str], repeat: Any, full: str,
                    op_type: str, why: str) -> NodeCost:
        """A node whose shapes are unknown: MACs and FLOPs not counted (the totals say they
        are incomplete), but its weights are (params do not depend on shapes)."""
        rec.error = f"shape unknown: {why}"
        rec.unresolved = True
        uses = [w for w in ctx.weights(None) if w.numel is not None]
        self._apply(rec, Cost(weights=tuple(uses), compute_dtype=ctx.default_compute_dtype()), weights, repeat)
        self.out.warnings.append(f"node {full!r} ({op_type}): {why}; not counted")
        return rec

    def _apply(self, rec: NodeCost, cost: Cost, weights: dict[str, str], repeat: Any) -> None:
        rec.macs = cost.macs * repeat
        rec.flops = cost.flops * repeat
        rec.bytes_read = cost.bytes_read * repeat
        rec.bytes_written = cost.bytes_written * repeat
        rec.compute_dtype = cost.compute_dtype
        rec.notes.extend(cost.notes)
        for w in cost.weights:
            key = weights.get(w.name, w.name)
            if key in self.seen_weights:
                continue  # shared weight: counted at its first consumer
            self.seen_weights.add(key)
            nb = self.sparse_bytes.get(key, w.nbytes)  # a sparse weight: its dense elements, its stored bytes
            rec.params += w.numel
            rec.weight_bytes += nb
            rec.weights.append((key, w.dtype, w.numel, nb))

def _sparse_stored_bytes(st) -> int:
    """Bytes a sparse initializer stores: its values and its indices."""
    from op_handlers.base import dtype_name, nbytes

    total = 0
    for t in (st.values, st.indices):
        n = 1
        for d in t.dims:
            n *= d
        total += nbytes(n, dtype_name(t.data_type))
    return total


def _check_non_negative(cost: Cost, path: str, op_type: str, ctx: NodeContext) -> None:
    """A negative count means inconsistent attributes or shapes: an error naming the node."""
    for what in ("macs", "flops", "bytes_read", "bytes_written"):
        v = getattr(cost, what)
        if isinstance(v, int) and v < 0:
            shapes = ", ".join(f"{t.name} {list(t.shape) if t.shape is not None else '?'}" for t in ctx.present_inputs)
            raise ShapeError(f"node {path!r} ({op_type}): negative {what} ({v}) from inputs {shapes}; "
                             "check its attributes and input shapes")


def analyze(lm: LoadedModel, shapes: Shapes) -> Analysis:
    return Analyzer(lm, shapes).run()


__all__ = ["analyze", "Analysis", "Analyzer", "COUNT_FIELDS", "Counts", "NodeCost", "ValueType"]
