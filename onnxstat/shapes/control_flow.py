"""Control flow in the shape pass: If branches, Loop and Scan bodies, and a Loop's
trip count.

Bodies are resolved as scopes below the node's own (they see the outer values and
types they read).  A Loop's trip count is derived from its body where the condition
is computed from a counter (``i = i + 1; cond = i < N``, in whatever form the
exporter wrote it): the slice of the body that computes the condition and the
carried values it reads is evaluated with numpy, iteration by iteration, until the
condition is false or ``M`` is reached.  Parts of the condition that depend on the
data (an early stop when every sequence has ended) are unknown; the count is then
"at most" the counter's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import _onnx as ox
from ..model.graph import build_view, subgraphs
from .fold import FOLD_OPS, fold_node

if TYPE_CHECKING:
    from .resolver import _Resolver
    from .scopes import _Scope

np = ox.LazyNumpy(globals())

#: a Loop whose M is at least this and that also has a condition input is a "while"
#: loop: exporters write INT64_MAX (or INT32_MAX) as a dummy bound
LOOP_SENTINEL = 2**31 - 1
#: node evaluations the trip-count derivation may spend on one Loop
TRIP_BUDGET = 300_000


def resolve_control_flow(r: "_Resolver", node: ox.NodeProto, full: str, scope: "_Scope") -> None:
    from .resolver import MAX_SUBGRAPH_DEPTH

    if scope.depth >= MAX_SUBGRAPH_DEPTH:
        return
    {"If": _if, "Loop": _loop, "Scan": _scan}[node.op_type](r, node, full, scope)


# --------------------------------------------------------------------------- If


def _if(r: "_Resolver", node: ox.NodeProto, full: str, scope: "_Scope") -> None:

    subs = dict(subgraphs(node))
    cond = scope.value(node.input[0]) if node.input and node.input[0] else None
    taken = None
    if cond is not None and np.asarray(cond).size == 1:
        taken = "then_branch" if bool(np.asarray(cond).reshape(-1)[0]) else "else_branch"
    scopes = {}
    for name in ("then_branch", "else_branch"):
        g = subs.get(name)
        if g is None:
            continue
        path = f"{full}/{name}"
        if taken is not None and name != taken:
            r.sh.dead_scopes.add(path)  # never runs: its shapes do not matter (and may not fit)
            continue
        scopes[name] = (g, r.subgraph(g, path, scope, []))
    if taken is not None:
        r.sh.control[full] = {"taken": taken}
    for k, o in enumerate(node.output):
        if not o:
            continue
        types = []
        values = []
        for g, s in scopes.values():
            if k < len(g.output):
                types.append(s.type(g.output[k].name))
                values.append(s.value(g.output[k].name))
        if not types:
            continue
        vt = types[0]
        for other in types[1:]:
            vt = _merge_branches(vt, other)
        if vt is not None:
            scope.set(o, r.settle(o, vt, scope))
        if len(values) == 1 and values[0] is not None:
            scope.values[o] = values[0]


def _merge_branches(a, b):
    """Output types of two branches, either of which may run: their common part; two
    known shapes of one element count but different ranks (a flag as [] or [1]) cost
    the same downstream, and the higher rank is kept."""
    from .value_types import merge_types

    if a is not None and b is not None and a.known and b.known and len(a.shape) != len(b.shape) and a.dtype == b.dtype:
        na = nb = 1
        for d in a.shape:
            na *= d
        for d in b.shape:
            nb *= d
        if na == nb:
            return a if len(a.shape) > len(b.shape) else b
    return merge_types(a, b)


# --------------------------------------------------------------------------- Loop


def _loop(r: "_Resolver", node: ox.NodeProto, full: str, scope: "_Scope") -> None:
    from .value_types import ValueType, merge_types

    body = dict(subgraphs(node)).get("body")
    if body is None:
        return
    n_carried = max(len(node.input) - 2, 0)
    init = [scope.type(x) if x else None for x in node.input[2:]]
    formal = [ValueType("int64", ()), ValueType("bool", ())] + init
    formal_names = [i.name for i in body.input]
    # a carried value the body passes through unchanged keeps its value in every iteration
    values = {}
    passthrough = _passthrough(body, n_carried)
    for k in passthrough:
        if 2 + k < len(formal_names):
            values[formal_names[2 + k]] = scope.value(node.input[2 + k])
    path = f"{full}/body"
    raws = [None, None] + [scope.raw_type(x) if x else None for x in node.input[2:]]
    bs = r.subgraph(body, path, scope, formal, values, raws)
    final = [bs.type(body.output[1 + k].name) if 1 + k < len(body.output) else None for k in range(n_carried)]
    varying = _varying(init, final, n_carried)
    if varying:
        # the body's carried values change shape after the first iteration (exporters start a
        # buffer as a scalar placeholder): resolve it again as the later iterations see it
        second = [ValueType("int64", ()), ValueType("bool", ())] + [
            final[k] if k in varying else init[k] for k in range(n_carried)]
        bs2 = r.subgraph(body, path, scope, second, values, raws)
        final2 = [bs2.type(body.output[1 + k].name) if 1 + k < len(body.output) else None for k in range(n_carried)]
        names = ", ".join(repr(node.input[2 + k]) for k in varying)
        if not _varying(second[2:], final2, n_carried):
            bs, init, final, varying = bs2, second[2:], final2, []
            r.sh.warnings.append(f"node {full!r} (Loop): loop-carried {names} take their shapes in the first "
                                 "iteration; every iteration is counted with the shapes of the later ones")
        else:
            # shapes that keep changing: resolve again with those dims unknown
            formal = [ValueType("int64", ()), ValueType("bool", ())] + [
                merge_types(init[k], final[k]) if k in varying else init[k] for k in range(n_carried)]
            bs = r.subgraph(body, path, scope, formal, values, raws)
            r.sh.warnings.append(f"node {full!r} (Loop): loop-carried {names} change shape from one iteration "
                                 "to the next; the body nodes that depend on them are not counted")
    trip, exact, how = trip_count(r, node, body, scope, bs)
    r.sh.control[full] = {"trip": trip, "exact": exact, "how": how}
    for k in range(n_carried):
        o = node.output[k] if k < len(node.output) else ""
        if o:
            vt = init[k] if trip == 0 else merge_types(init[k], final[k]) if k in varying else (final[k] or init[k])
            if vt is not None:
                scope.set(o, r.settle(o, vt, scope))
            if k in passthrough:
                v = scope.value(node.input[2 + k])
                if v is not None:
                    scope.values[o] = v
    for j, o in enumerate(node.output[n_carried:]):
        idx = 1 + n_carried + j
        if not o or idx >= len(body.output):
            continue
        vt = bs.type(body.output[idx].name)
        if vt is None or vt.shape is None:
            continue
        scope.set(o, r.settle(o, ValueType(vt.dtype, (trip if trip is not None else None, *vt.shape)), scope))


def _varying(init: list, final: list, n_carried: int) -> list[int]:
    """Carried values whose shape after an iteration differs from before it."""
    from .value_types import merge_types

    return [k for k in range(n_carried) if k < len(init) and init[k] is not None and final[k] is not None
            and init[k].shape != final[k].shape and merge_types(init[k], final[k]) != init[k]]


def _passthrough(body: ox.GraphProto, n_carried: int) -> set[int]:
    """Carried values the body hands on unchanged (its output k is its input k)."""
    out = set()
    for k in range(n_carried):
        if 2 + k < len(body.input) and 1 + k < len(body.output) and body.output[1 + k].name == body.input[2 + k].name:
            out.add(k)
    return out


def trip_count(r: "_Resolver", node: ox.NodeProto, body: ox.GraphProto, scope: "_Scope", bs: "_Scope") -> tuple[Any, bool, str]:
    """(iterations or None, exact, how): 0 when the first condition is false; from the
    body's counter when its condition is one; else ``M`` (an upper bound when the body
    has a condition)."""
    m_name = node.input[0] if len(node.input) > 0 else ""
    c_name = node.input[1] if len(node.input) > 1 else ""
    m = None
    if m_name:
        v = scope.value(m_name)
        if v is not None and np.asarray(v).size == 1:
            m = max(int(np.asarray(v).reshape(-1)[0]), 0)
    if not c_name:
        return (m, True, "M") if m is not None else (None, False, "unknown")
    c0 = scope.value(c_name)
    if c0 is not None and np.asarray(c0).size == 1 and not bool(np.asarray(c0).reshape(-1)[0]):
        return 0, True, "condition false"
    bound = m if m is not None and m < LOOP_SENTINEL else None
    derived = _simulate(r, node, body, scope, bs, bound)
    if derived is _FOREVER:  # a condition that stays true: M iterations, whatever M is
        return (m, True, "M") if m is not None else (None, False, "unknown")
    if derived is not None:
        return derived
    if bound is not None:
        return bound, False, "M"  # the body's condition may stop it earlier
    return None, False, "unknown"


def _simulate(r, node, body, scope, bs, bound) -> tuple[int, bool, str] | None:
    """Run the slice of the body that computes the condition (and the carried values it
    reads) with numpy until the condition is false, ``bound`` is reached or the budget
    is spent; None when the condition is never decided."""
    n_carried = max(len(node.input) - 2, 0)
    in_names = [i.name for i in body.input]
    out_names = [o.name for o in body.output]
    if len(in_names) < 2 or not out_names:
        return None
    view = build_view(body, bs.path, frozenset(scope.names()))
    producer = view.producer
    need: set[str] = set()
    stack = [out_names[0]]
    carried_index = {name: k for k, name in enumerate(in_names[2:2 + n_carried])}
    while stack:
        x = stack.pop()
        if not x or x in need:
            continue
        need.add(x)
        if x in carried_index:
            k = carried_index[x]
            if 1 + k < len(out_names):
                stack.append(out_names[1 + k])
            continue
        i = producer.get(x)
        if i is not None:
            stack.extend(view.graph.node[i].input)
    nodes = [view.graph.node[i] for i in view.order if any(o in need for o in view.graph.node[i].output)]
    uses_iter = in_names[0] in need
    state: dict[str, Any] = {}
    for k, name in enumerate(in_names[2:2 + n_carried]):
        if name in need:
            state[name] = scope.value(node.input[2 + k])
    cond_in = in_names[1]
    c0 = scope.value(node.input[1]) if node.input[1] else None
    # an initial condition not known here: the first iteration is assumed to run (an upper
    # bound), and the condition the body receives is unknown
    cond: Any = None if c0 is None else bool(np.asarray(c0).reshape(-1)[0])
    spent = 0
    exact = c0 is not None
    it = 0
    while True:
        if bound is not None and it >= bound:
            return bound, exact, "counter"
        env: dict[str, Any] = dict(state)
        env[in_names[0]] = np.array(it, dtype=np.int64)
        env[cond_in] = None if cond is None else np.array(cond)
        for n in nodes:
            outs = [o for o in n.output if o]
            fixed = [bs.value(o) for o in outs]
            if all(v is not None for v in fixed) and not any(x in env for x in n.input):
                env.update(zip(outs, fixed))
                continue
            ins = [env[x] if x in env else (bs.value(x) if x else None) for x in n.input]
            got = _eval(n, ins, bs)
            for o, v in zip(n.output, got):
                if o:
                    env[o] = v
        spent += len(nodes)
        c = env.get(out_names[0])
        if c is None:
            exact = False
        elif not bool(np.asarray(c).reshape(-1)[0]):
            return it + 1, exact, "counter"
        it += 1
        new_state = {name: env.get(out_names[1 + carried_index[name]]) for name in state}
        if not uses_iter and all(_same(new_state[k], state[k]) for k in state):
            # the next iteration computes the same condition: true for ever (the loop runs to
            # M, or never ends) or never decided here
            return _FOREVER if c is not None else None
        state = new_state
        if spent > TRIP_BUDGET:
            return None
        cond = None if c is None else True


_LOGIC = {"And", "Or", "Not", "Xor"}
#: what _simulate says of a condition that is true in every iteration
_FOREVER = (-1, True, "forever")


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.all(a == b))


def _eval(n: ox.NodeProto, ins: list, bs) -> list:
    """One node of a condition slice; unknown inputs give unknown outputs, except that a
    known false makes And false and a known true makes Or true."""
    op = n.op_type
    if op in _LOGIC and n.domain in ("", "ai.onnx"):
        vals = [None if v is None else bool(np.asarray(v).reshape(-1)[0]) if np.asarray(v).size == 1 else None for v in ins]
        if op == "Not":
            return [None if vals[0] is None else np.array(not vals[0])]
        a, b = (vals + [None, None])[:2]
        if op == "And":
            if a is False or b is False:
                return [np.array(False)]
            return [None if a is None or b is None else np.array(a and b)]
        if op == "Or":
            if a is True or b is True:
                return [np.array(True)]
            return [None if a is None or b is None else np.array(a or b)]
        return [None if a is None or b is None else np.array(a != b)]
    if n.op_type not in FOLD_OPS or n.domain not in ("", "ai.onnx"):
        return [None] * len(n.output)
    shapes = None
    if op in ("Shape", "Size"):
        vt = bs.type(n.input[0]) if n.input and n.input[0] else None
        shapes = [None if vt is None else vt.shape]
    elif any(v is None for v, x in zip(ins, n.input) if x):
        return [None] * len(n.output)
    try:
        got = fold_node(n, ins, shapes)
    except Exception:
        return [None] * len(n.output)
    return list(got) if got else [None] * len(n.output)


# --------------------------------------------------------------------------- Scan


def _scan(r: "_Resolver", node: ox.NodeProto, full: str, scope: "_Scope") -> None:
    from .attrs import node_attrs
    from .value_types import ValueType, merge_types

    body = dict(subgraphs(node)).get("body")
    if body is None:
        return
    opset = r.opsets.get("", 0)
    attrs = node_attrs(node, opset)
    n_scan = attrs.get("num_scan_inputs")
    first_input = 1 if opset < 9 else 0  # opset 8: sequence_lens first; its batch layout is left to onnx
    if opset < 9 or not isinstance(n_scan, int) or not 1 <= n_scan <= len(node.input) - first_input:
        r.subgraph(body, f"{full}/body", scope, [])
        return
    n_state = len(node.input) - n_scan
    in_types = [scope.type(x) if x else None for x in node.input]
    in_axes = list(attrs.get("scan_input_axes") or [0] * n_scan)
    formal: list = list(in_types[:n_state])
    trip = None
    for j in range(n_scan):
        vt = in_types[n_state + j]
        axis = in_axes[j] if j < len(in_axes) else 0
        if vt is None or vt.shape is None or not -len(vt.shape) <= axis < len(vt.shape):
            formal.append(None)
            continue
        axis %= len(vt.shape)
        if trip is None:
            trip = vt.shape[axis]
        formal.append(ValueType(vt.dtype, vt.shape[:axis] + vt.shape[axis + 1:]))
    bs = r.subgraph(body, f"{full}/body", scope, formal)
    r.sh.control[full] = {"trip": trip if isinstance(trip, int) else None, "exact": True, "how": "scan length"}
    out_axes = list(attrs.get("scan_output_axes") or [])
    for k, o in enumerate(node.output):
        if not o or k >= len(body.output):
            continue
        vt = bs.type(body.output[k].name)
        if vt is None:
            continue
        if k < n_state:
            vt = merge_types(in_types[k], vt) if in_types[k] is not None else vt
        elif vt.shape is not None:
            j = k - n_state
            axis = out_axes[j] if j < len(out_axes) else 0
            rank = len(vt.shape) + 1
            if not -rank <= axis < rank:
                continue
            axis %= rank
            vt = ValueType(vt.dtype, vt.shape[:axis] + (trip,) + vt.shape[axis:])
        scope.set(o, r.settle(o, vt, scope))


# --------------------------------------------------------------------------- other ops with subgraphs


def resolve_other_subgraphs(r: "_Resolver", node: ox.NodeProto, full: str, scope: "_Scope") -> None:
    """Subgraphs of ops that are not control flow (FlexAttention's score_mod / prob_mod):
    their formal inputs typed as the op feeds them."""
    from .resolver import MAX_SUBGRAPH_DEPTH
    from .value_types import flex_scores_type

    if scope.depth >= MAX_SUBGRAPH_DEPTH:
        return
    for attr, g in subgraphs(node):
        formal: list = []
        if node.op_type == "FlexAttention" and len(g.input) == 1 and len(node.input) >= 2:
            formal = [flex_scores_type(node, scope.type(node.input[0]), scope.type(node.input[1]))]
        r.subgraph(g, f"{full}/{attr}", scope, formal)
