"""The handler pass: one cost record per node, subgraphs included, then totals.

For every node the library builds a read-only :class:`op_handlers.NodeContext`
(attributes completed with schema defaults, input/output types from shape
resolution, which inputs are weights) and calls the registered handler.  Control
flow (If, Loop, Scan) is handled here because it needs the subgraphs: the branch
taken (or the costlier one), the body times the trip count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import onnx

from op_handlers import REGISTRY, Cost, NodeContext, ShapeUnknown, TensorInfo
from op_handlers.registry import norm_domain

from .graph import GraphView, build_view, subgraphs
from .loader import LoadedModel
from .shapes import Shapes, ValueType

CONTROL_FLOW = {"If", "Loop", "Scan"}


@dataclass
class NodeCost:
    """A node with its cost, as the reports show it."""

    name: str
    path: str
    domain: str
    op_type: str
    kind: str  # compute | data_movement | view | control_flow | unsupported
    compute_dtype: str
    inputs: list[tuple[str, str, tuple | None]]
    outputs: list[tuple[str, str, tuple | None]]
    macs: Any = 0
    flops: Any = 0
    params: Any = 0
    weight_bytes: Any = 0
    bytes_read: Any = 0
    bytes_written: Any = 0
    repeat: Any = 1
    weights: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (key, dtype, numel, nbytes)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def supported(self) -> bool:
        return self.kind != "unsupported"

    @property
    def memory_traffic_bytes(self):
        return self.bytes_read + self.bytes_written


@dataclass
class Analysis:
    nodes: list[NodeCost] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unsupported: Counter = field(default_factory=Counter)


# --------------------------------------------------------------------------- attributes


@lru_cache(maxsize=4096)
def _schema_defaults(domain: str, op_type: str, opset: int) -> tuple[tuple[str, Any], ...]:
    try:
        schema = onnx.defs.get_schema(op_type, opset, domain)
    except Exception:
        return ()
    out = []
    for name, a in schema.attributes.items():
        dv = a.default_value
        if dv is not None and dv.type != 0:
            try:
                out.append((name, _attr_value(dv)))
            except Exception:
                pass
    return tuple(out)


def _attr_value(a: onnx.AttributeProto) -> Any:
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [x.decode("utf-8", "replace") for x in v]
    return v


def node_attrs(node: onnx.NodeProto, opset: int) -> dict[str, Any]:
    attrs = dict(_schema_defaults(norm_domain(node.domain), node.op_type, opset))
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            continue
        if a.ref_attr_name:
            continue
        attrs[a.name] = _attr_value(a)
    return attrs


# --------------------------------------------------------------------------- the pass


class Analyzer:
    def __init__(self, lm: LoadedModel, shapes: Shapes):
        self.lm = lm
        self.shapes = shapes
        self.opsets = {norm_domain(o.domain): o.version for o in lm.model.opset_import}
        self.out = Analysis()
        self.seen_weights: set[str] = set()
        # weight names per scope -> key used to count each tensor once
        self.weight_scope: dict[str, dict[str, str]] = {}

    # -- tensors -----------------------------------------------------------
    def _tensor(self, view: GraphView, path: str, name: str, weights: dict[str, str]) -> TensorInfo | None:
        if not name:
            return None
        vt = self.shapes.lookup(path, name)
        dtype, shape = ("undefined", None) if vt is None else (vt.dtype, vt.shape)
        is_weight = name in weights
        is_const = is_weight or name in self.shapes.values
        return TensorInfo(name=name, dtype=dtype, shape=shape, is_const=is_const, is_weight=is_weight)

    def run(self) -> Analysis:
        view = build_view(self.lm.model.graph)
        self.out.nodes, _ = self._graph(view, "", {}, repeat=1)
        return self.out

    def _graph(self, view: GraphView, path: str, outer_weights: dict[str, str], repeat: Any) -> tuple[list[NodeCost], Cost]:
        weights = dict(outer_weights)
        scope_key = path or "main"
        for name in view.initializers:
            weights[name] = f"{scope_key}:{name}" if path else name
        for name in view.constants:
            weights[name] = f"{scope_key}:{name}" if path else name
        produced: list[NodeCost] = []
        for i in view.order:
            node = view.graph.node[i]
            label = view.labels[i]
            produced.extend(self._node(view, path, node, label, weights, repeat))
        return produced, Cost()

    def _ctx(self, view: GraphView, path: str, node: onnx.NodeProto, label: str, weights: dict[str, str]) -> NodeContext:
        domain = norm_domain(node.domain)
        opset = self.opsets.get(domain, 0)
        return NodeContext(
            op_type=node.op_type,
            domain=domain,
            opset=opset,
            name=label,
            attrs=node_attrs(node, opset),
            inputs=tuple(self._tensor(view, path, x, weights) for x in node.input),
            outputs=tuple(self._tensor(view, path, x, weights) for x in node.output),
        )

    def _node(self, view, path, node, label, weights, repeat) -> list[NodeCost]:
        ctx = self._ctx(view, path, node, label, weights)
        full = f"{path}/{label}" if path else label
        rec = NodeCost(
            name=label,
            path=full,
            domain=ctx.domain,
            op_type=node.op_type,
            kind="unsupported",
            compute_dtype="undefined",
            inputs=[_io(t, x) for t, x in zip(ctx.inputs, node.input)],
            outputs=[_io(t, x) for t, x in zip(ctx.outputs, node.output)],
            repeat=repeat,
        )
        if node.op_type in CONTROL_FLOW and ctx.domain == "":
            return self._control_flow(view, path, node, label, weights, repeat, ctx, rec)
        entry = REGISTRY.lookup(ctx.domain, node.op_type, ctx.opset)
        if entry is None:
            self.out.unsupported[(ctx.domain, node.op_type)] += 1
            # op-independent parts are still known: traffic and the weights it reads
            cost = ctx.cost(0, 0, weights=None, compute_dtype=ctx.default_compute_dtype())
            self._apply(rec, cost, weights, repeat)
            rec.kind = "unsupported"
            rec.notes.append("no handler: MACs and FLOPs not counted")
            return [rec]
        rec.kind = entry.kind
        try:
            cost = entry.fn(ctx)
        except ShapeUnknown as exc:
            rec.error = f"shape unknown: {exc}"
            self.out.warnings.append(f"node {full!r} ({node.op_type}): {exc}; not counted")
            return [rec]
        except Exception as exc:  # a handler bug must not stop the report
            rec.error = f"{type(exc).__name__}: {exc}"
            self.out.warnings.append(f"node {full!r} ({node.op_type}): handler failed ({type(exc).__name__}: {exc}); not counted")
            return [rec]
        self._apply(rec, cost, weights, repeat)
        return [rec]

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
            rec.params += w.numel
            rec.weight_bytes += w.nbytes
            rec.weights.append((key, w.dtype, w.numel, w.nbytes))

    # -- control flow ------------------------------------------------------
    def _control_flow(self, view, path, node, label, weights, repeat, ctx, rec) -> list[NodeCost]:
        rec.kind = "control_flow"
        rec.compute_dtype = "none"
        base = f"{path}/{label}" if path else label
        subs = dict(subgraphs(node))
        outer = frozenset(self._scope_names(view, path))
        op = node.op_type
        results: list[NodeCost] = [rec]
        if op == "If":
            cond = self.shapes.values.get(node.input[0]) if path == "" else None
            branches = {}
            for name in ("then_branch", "else_branch"):
                if name in subs:
                    sub_view = build_view(subs[name], f"{base}/{name}", outer)
                    saved = set(self.seen_weights)
                    nodes, _ = self._graph(sub_view, f"{base}/{name}", weights, repeat)
                    branches[name] = (nodes, self.seen_weights - saved)
                    self.seen_weights = saved
            if cond is not None and np.asarray(cond).size == 1:
                taken = "then_branch" if bool(np.asarray(cond).reshape(-1)[0]) else "else_branch"
                rec.notes.append(f"condition is constant: {taken} counted")
            else:
                taken = max(branches, key=lambda b: (sum(_num(n.flops) for n in branches[b][0]), b == "then_branch")) if branches else None
                if taken:
                    msg = f"node {base!r} (If): condition not known statically; the costlier branch ({taken}) is counted"
                    rec.notes.append(msg)
                    self.out.warnings.append(msg)
            if taken:
                nodes, new_weights = branches[taken]
                self.seen_weights |= new_weights
                results.extend(nodes)
            return results
        if op == "Loop":
            trip = self._trip_count(node, path)
            body = subs.get("body")
            if trip is None:
                msg = f"node {base!r} (Loop): trip count not known statically; one iteration counted"
                rec.notes.append(msg)
                self.out.warnings.append(msg)
                trip = 1
            else:
                rec.notes.append(f"trip count {trip}")
            rec.repeat = repeat * trip
            if body is not None:
                sub_view = build_view(body, f"{base}/body", outer | {i.name for i in body.input})
                nodes, _ = self._graph(sub_view, f"{base}/body", weights, repeat * trip)
                results.extend(nodes)
            return results
        if op == "Scan":
            body = subs.get("body")
            iters = self._scan_iterations(ctx)
            if iters is None:
                msg = f"node {base!r} (Scan): sequence length unknown; one iteration counted"
                rec.notes.append(msg)
                self.out.warnings.append(msg)
                iters = 1
            else:
                rec.notes.append(f"{iters} iterations")
            rec.repeat = repeat * iters
            if body is not None:
                sub_view = build_view(body, f"{base}/body", outer | {i.name for i in body.input})
                nodes, _ = self._graph(sub_view, f"{base}/body", weights, repeat * iters)
                results.extend(nodes)
            return results
        return results

    def _scope_names(self, view: GraphView, path: str) -> set[str]:
        names = set(view.outer) | set(view.initializers) | set(view.producer) | {i.name for i in view.graph.input}
        return names

    def _trip_count(self, node: onnx.NodeProto, path: str):
        if not node.input or not node.input[0]:
            return None
        v = self.shapes.values.get(node.input[0]) if path == "" else None
        if v is None or np.asarray(v).size != 1:
            return None
        return int(np.asarray(v).reshape(-1)[0])

    def _scan_iterations(self, ctx: NodeContext):
        n_scan = ctx.attrs.get("num_scan_inputs")
        if not n_scan:
            return None
        first = ctx.inputs[len(ctx.inputs) - n_scan] if ctx.opset >= 9 else ctx.inputs[1 + len(ctx.inputs) - 1 - n_scan]
        if first is None or first.shape is None:
            return None
        axes = ctx.attrs.get("scan_input_axes") or [0] * n_scan
        axis = axes[0] if ctx.opset >= 9 else 1
        try:
            return first.shape[axis]
        except IndexError:
            return None


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def _io(t: TensorInfo | None, name: str) -> tuple[str, str, tuple | None]:
    if t is None:
        return (name, "undefined", None)
    return (t.name, t.dtype, t.shape)


def analyze(lm: LoadedModel, shapes: Shapes) -> Analysis:
    return Analyzer(lm, shapes).run()


__all__ = ["analyze", "Analysis", "NodeCost", "ValueType"]
