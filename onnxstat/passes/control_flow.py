"""Control flow in the handler pass: If, Loop, Scan and SequenceMap expand their bodies.

The shape pass has resolved the bodies (onnxstat/shapes/control_flow.py); here their
nodes are counted by their own handlers, as in the main graph: an If counts the branch
taken when its condition is static, else the costlier branch; a Loop, Scan or
SequenceMap counts its body times the iteration count when it is known statically,
else one iteration, with a warning.  :class:`ControlFlowCost` is the part of
:class:`onnxstat.passes.analysis.Analyzer` that does it (the op registry's entries for
these ops have ``kind="control_flow"``: op_handlers/onnx/control_flow.py).
"""

from __future__ import annotations

from collections import Counter

from op_handlers import NodeContext

from ..model import _onnx as ox
from ..model.graph import GraphView, build_view, subgraphs
from .records import NodeCost

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded


class ControlFlowCost:
    """Methods of the handler pass for control-flow nodes and the static values they read."""

    # -- control flow ------------------------------------------------------
    #: a Loop whose M is at least this and that also has a condition input is a
    #: "while" loop: exporters write INT64_MAX (or INT32_MAX) as a dummy bound
    LOOP_SENTINEL = 2**31 - 1

    def _control_flow(self, view, path, node, label, weights, repeat, ctx, rec) -> list[NodeCost]:
        rec.kind = "control_flow"
        rec.compute_dtype = "none"
        base = f"{path}/{label}" if path else label
        self._cf_views()[path] = view
        subs = dict(subgraphs(node))
        outer = frozenset(self._scope_names(view, path))
        op = node.op_type
        results: list[NodeCost] = [rec]
        aliases: dict[str, str] = {}  # body inputs that are outer weights (Loop-carried, handed on)
        if op == "If":
            results.extend(self._if(node, path, base, subs, outer, weights, repeat, rec))
            return results
        if op == "Loop":
            info = self.shapes.control.get(base)
            trip = info["trip"] if info else self._trip_count(node, path)
            if trip is None:
                self._cf_warn(rec, f"node {base!r} (Loop): trip count not known statically; one iteration counted")
                rec.unresolved = True
                trip = 1
            else:
                exact = info["exact"] if info else not (len(node.input) > 1 and bool(node.input[1]))
                how = " (from the body's counter)" if info and info["how"] == "counter" else ""
                note = f"trip count {trip}{how}"
                if not exact and trip > 0:
                    note += " (at most: the body's condition may stop it earlier)"
                rec.notes.append(note)
            body_in = ()
            if "body" in subs:
                body_in = tuple(i.name for i in subs["body"].input)
                # carried values the body passes on unchanged: weights read in every iteration
                aliases = _carried_weights(node, subs["body"], weights)
        elif op == "Scan":
            trip = self._scan_iterations(ctx)
            if trip is None:
                self._cf_warn(rec, f"node {base!r} (Scan): sequence length unknown; one iteration counted")
                trip = 1
            else:
                rec.notes.append(f"{trip} iterations")
            body_in = tuple(i.name for i in subs["body"].input) if "body" in subs else ()
        elif op == "SequenceMap":
            trip = self._sequence_length(node.input[0], path) if node.input else None
            if trip is None:
                self._cf_warn(rec, f"node {base!r} (SequenceMap): sequence length not known statically; one iteration counted")
                trip = 1
            else:
                rec.notes.append(f"{trip} iterations (sequence length)")
            body_in = tuple(i.name for i in subs["body"].input) if "body" in subs else ()
        else:  # pragma: no cover - CONTROL_FLOW and this dispatch are kept in step
            return results
        rec.repeat = repeat * trip
        body = subs.get("body")
        if body is not None:
            results.extend(self._run_sub(body, f"{base}/body", outer, weights, repeat * trip, body_in, parent=path,
                                         aliases=aliases))
        return results

    def _if(self, node, path, base, subs, outer, weights, repeat, rec) -> list[NodeCost]:
        """Both branches are analysed; only the one counted leaves nodes, warnings,
        unsupported counts and first uses of weights behind."""
        branches: dict[str, tuple[list[NodeCost], tuple]] = {}
        for name in ("then_branch", "else_branch"):
            if name in subs:
                snap = self._cf_snapshot()
                nodes = self._run_sub(subs[name], f"{base}/{name}", outer, weights, repeat, parent=path)
                branches[name] = (nodes, self._cf_delta(snap))
                self._cf_restore(snap)
        if not branches:
            return []
        cond = self._static_value(node.input[0], path) if node.input and node.input[0] else None
        if cond is not None and np.asarray(cond).size == 1 and ("then_branch" in branches and "else_branch" in branches):
            taken = "then_branch" if bool(np.asarray(cond).reshape(-1)[0]) else "else_branch"
            rec.notes.append(f"condition is {'true' if taken == 'then_branch' else 'false'} statically: {taken} counted")
        else:
            costs = {b: _branch_cost(n) for b, (n, _d) in branches.items()}
            taken = max(branches, key=lambda b: (costs[b], b == "then_branch"))
            if len(branches) == 2:
                other = "else_branch" if taken == "then_branch" else "then_branch"
                detail = f"{taken} {_fmt_cost(costs[taken])} vs {other} {_fmt_cost(costs[other])}"
            else:
                detail = taken
            self._cf_warn(
                rec,
                f"node {base!r} (If): condition not known statically; the costlier branch ({detail}) is counted",
            )
        nodes, delta = branches[taken]
        self._cf_apply(delta)
        return nodes

    def _run_sub(self, graph, sub_path, outer, weights, repeat, body_inputs=(), *, parent: str,
                 aliases=None) -> list[NodeCost]:
        sub_view = build_view(graph, sub_path, outer | frozenset(body_inputs))
        self._cf_views()[sub_path] = sub_view
        self._cf_parents()[sub_path] = parent
        # a body input shadows an outer weight of the same name
        inner = {k: v for k, v in weights.items() if k not in body_inputs} if body_inputs else weights
        if aliases:
            inner = {**inner, **aliases}
        nodes = self._graph(sub_view, sub_path, inner, repeat)
        return nodes

    def _cf_warn(self, rec: NodeCost, msg: str) -> None:
        rec.notes.append(msg)
        self.out.warnings.append(msg)

    def _cf_snapshot(self):
        return (len(self.out.warnings), Counter(self.out.unsupported), set(self.seen_weights))

    def _cf_delta(self, snap):
        n_warn, unsupported, seen = snap
        return (self.out.warnings[n_warn:], self.out.unsupported - unsupported, self.seen_weights - seen)

    def _cf_restore(self, snap) -> None:
        n_warn, unsupported, seen = snap
        del self.out.warnings[n_warn:]
        self.out.unsupported = Counter(unsupported)
        self.seen_weights = set(seen)

    def _cf_apply(self, delta) -> None:
        warnings, unsupported, seen = delta
        self.out.warnings.extend(warnings)
        self.out.unsupported.update(unsupported)
        self.seen_weights |= seen

    def _cf_views(self) -> dict[str, GraphView]:
        views = self.__dict__.get("_views")
        if views is None:
            views = self.__dict__["_views"] = {}
        return views

    def _cf_parents(self) -> dict[str, str]:
        """Subgraph path -> enclosing graph's path.  Kept explicitly because node names
        may contain '/', so a path cannot be split back into its scopes."""
        parents = self.__dict__.get("_parents")
        if parents is None:
            parents = self.__dict__["_parents"] = {}
        return parents

    def _cf_outer(self, path: str) -> str | None:
        """The scope enclosing ``path`` (None above the main graph)."""
        if not path:
            return None
        return self._cf_parents().get(path, "")

    def _scope_names(self, view: GraphView, path: str) -> set[str]:
        names = set(view.outer) | set(view.initializers) | set(view.producer) | {i.name for i in view.graph.input}
        return names

    # -- static values in any scope ---------------------------------------
    def _static_value(self, name: str, path: str, depth: int = 0):
        """The value of tensor ``name`` as seen from scope ``path`` when it is known
        without running the model: folded main-graph values, initializers and
        Constant outputs of any enclosing scope, and shape arithmetic on them
        (numpy folding of the same ops the shape resolution folds)."""
        if not name or depth > 64:
            return None
        cache = self.__dict__.setdefault("_static_cache", {})
        key = (path, name)
        if key in cache:
            return cache[key]
        cache[key] = None  # cycle guard
        value = self._static_value_uncached(name, path, depth)
        cache[key] = value
        return value

    def _static_value_uncached(self, name: str, path: str, depth: int):
        from ..shapes.fold import fold_node, tensor_value

        views = self._cf_views()
        p = path
        while True:
            v = views.get(p)
            vals = self.shapes.values if p == "" else self.shapes.scope_values.get(p, {})
            if name in vals:
                return vals[name]
            if v is not None:
                if name in v.initializers:
                    return tensor_value(v.initializers[name])
                if name in v.constants:
                    return tensor_value(v.constants[name])
                if name in v.producer:
                    node = v.graph.node[v.producer[name]]
                    if any(True for _ in subgraphs(node)):
                        return None
                    ins = [self._static_value(x, p, depth + 1) if x else None for x in node.input]
                    in_shapes = []
                    for x in node.input:
                        vt = self.shapes.lookup(p, x) if x else None
                        in_shapes.append(None if vt is None else vt.shape)
                    if node.op_type not in ("Shape", "Size") and any(v is None for v, x in zip(ins, node.input) if x):
                        return None
                    try:
                        outs = fold_node(node, ins, in_shapes)
                    except Exception:
                        return None
                    if not outs:
                        return None
                    for o, val in zip(node.output, outs):
                        if o == name:
                            return None if val is None else np.asarray(val)
                    return None
                if name in {i.name for i in v.graph.input}:
                    return None  # a subgraph input (iteration number, loop-carried value, ...)
            p = self._cf_outer(p)
            if p is None:
                return None

    def _trip_count(self, node: ox.NodeProto, path: str):
        """Iterations of a Loop: 0 when the initial condition is statically false,
        M when M is static (and not a while-loop sentinel), else None."""
        m_name = node.input[0] if len(node.input) > 0 else ""
        c_name = node.input[1] if len(node.input) > 1 else ""
        if c_name:
            c = self._static_value(c_name, path)
            if c is not None and np.asarray(c).size == 1 and not bool(np.asarray(c).reshape(-1)[0]):
                return 0
        if not m_name:
            return None
        v = self._static_value(m_name, path)
        if v is None or np.asarray(v).size != 1:
            return None
        m = int(np.asarray(v).reshape(-1)[0])
        if c_name and m >= self.LOOP_SENTINEL:
            return None
        return max(m, 0)

    def _scan_iterations(self, ctx: NodeContext):
        """Body executions of a Scan: the scan axis length of the first scan input
        (opset 9+, honouring scan_input_axes); opset 8 scans [batch, seq, ...]
        inputs, so the body runs batch·seq times."""
        n_scan = ctx.attrs.get("num_scan_inputs")
        if not n_scan or len(ctx.inputs) < n_scan:
            return None
        first = ctx.inputs[len(ctx.inputs) - n_scan]
        if first is None or first.shape is None:
            return None
        if ctx.opset < 9:
            if len(first.shape) < 2:
                return None
            return first.shape[0] * first.shape[1]
        axes = ctx.attrs.get("scan_input_axes") or [0] * n_scan
        axis = int(axes[0])
        rank = len(first.shape)
        if not -rank <= axis < rank:
            return None
        return first.shape[axis]

    def _sequence_length(self, name: str, path: str, depth: int = 0):
        """Number of elements of a sequence built in the graph by SequenceConstruct,
        SequenceEmpty, SequenceInsert, SequenceErase or SplitToSequence."""
        if not name or depth > 64:
            return None
        views = self._cf_views()
        p = path
        while True:
            v = views.get(p)
            if v is not None and name in v.producer:
                node = v.graph.node[v.producer[name]]
                if node.domain not in ("", "ai.onnx"):
                    return None
                op = node.op_type
                if op == "SequenceConstruct":
                    return len([x for x in node.input if x])
                if op == "SequenceEmpty":
                    return 0
                if op in ("SequenceInsert", "SequenceErase"):
                    n = self._sequence_length(node.input[0], p, depth + 1)
                    return None if n is None else n + (1 if op == "SequenceInsert" else -1)
                if op == "SplitToSequence":
                    vt = self.shapes.lookup(p, node.input[0])
                    if vt is None or vt.shape is None:
                        return None
                    axis = _attr_int(node, "axis", 0)
                    dim = vt.shape[axis % len(vt.shape)] if vt.shape else None
                    if not isinstance(dim, int):
                        return None
                    split = self._static_value(node.input[1], p) if len(node.input) > 1 and node.input[1] else None
                    if len(node.input) > 1 and node.input[1] and split is None:
                        return None
                    if split is None:
                        return dim
                    split = np.asarray(split)
                    if split.ndim == 0:
                        s = int(split)
                        return -(-dim // s) if s > 0 else None
                    return int(split.size)
                return None
            if v is not None and name in {i.name for i in v.graph.input}:
                return None
            p = self._cf_outer(p)
            if p is None:
                return None


def _carried_weights(node: ox.NodeProto, body: ox.GraphProto, weights: dict[str, str]) -> dict[str, str]:
    """Body inputs that are weights: loop-carried values the body hands on unchanged
    (its output k is its input k) whose initial value is a weight.  They count as
    parameters once (under the outer name) and are read in every iteration."""
    out = {}
    for k, x in enumerate(node.input[2:]):
        if x not in weights or 2 + k >= len(body.input) or 1 + k >= len(body.output):
            continue
        if body.output[1 + k].name == body.input[2 + k].name:
            out[body.input[2 + k].name] = weights[x]
    return out


def _attr_int(node: ox.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(ox.get_attribute_value(a))
    return default


def _branch_cost(nodes: list[NodeCost]) -> tuple[float, float, float]:
    """(FLOPs, MACs, memory traffic) of a branch, for choosing the costlier one."""
    return (
        sum(_num(n.flops) for n in nodes),
        sum(_num(n.macs) for n in nodes),
        sum(_num(n.bytes_read) + _num(n.bytes_written) for n in nodes),
    )


def _fmt_cost(c: tuple[float, float, float]) -> str:
    return f"{c[0]:.0f} FLOPs"


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


__all__ = ["ControlFlowCost"]
