"""Graph structure: validated topological order, producers and consumers, scopes.

Everything here is built once per graph in linear time; the analysis and the
liveness pass use the maps instead of searching node lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator

from ..errors import ModelError
from . import _onnx as ox

GRAPH_ATTRS = (ox.AttributeProto.GRAPH, ox.AttributeProto.GRAPHS)


def node_label(node: ox.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def subgraphs(node: ox.NodeProto) -> Iterator[tuple[str, ox.GraphProto]]:
    """(attribute name, graph) for every graph attribute of a node."""
    for a in node.attribute:
        if a.type == ox.AttributeProto.GRAPH:
            yield a.name, a.g
        elif a.type == ox.AttributeProto.GRAPHS:
            for i, g in enumerate(a.graphs):
                yield f"{a.name}[{i}]", g


def _used_outer_names(graph: ox.GraphProto) -> set[str]:
    """Names a (sub)graph reads from enclosing scopes."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    used: set[str] = set()
    for n in graph.node:
        for x in n.input:
            if x and x not in defined:
                used.add(x)
        for _, g in subgraphs(n):
            used |= {x for x in _used_outer_names(g) if x not in defined}
        defined.update(o for o in n.output if o)
    for o in graph.output:
        if o.name not in defined:
            used.add(o.name)
    return used


@dataclass
class GraphView:
    """One graph (main or subgraph) with its nodes in a validated topological order."""

    graph: ox.GraphProto
    path: str = ""
    outer: frozenset[str] = frozenset()
    order: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    initializers: dict[str, ox.TensorProto] = field(default_factory=dict)
    #: sparse initializers by name (their dense type is the tensor's; their stored bytes are less)
    sparse: dict[str, object] = field(default_factory=dict)
    constants: dict[str, ox.TensorProto] = field(default_factory=dict)
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    producer: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, list[int]] = field(default_factory=dict)
    #: per node (file order): its input and output names, read from the message once (every
    #: read of a protobuf string field makes a new str), and whether it has attributes
    inputs: list[tuple[str, ...]] = field(default_factory=list)
    outputs: list[tuple[str, ...]] = field(default_factory=list)
    has_attrs: list[bool] = field(default_factory=list)

    @property
    def nodes(self) -> list[ox.NodeProto]:
        g = self.graph.node
        return [g[i] for i in self.order]

    def where(self) -> str:
        return f" in subgraph {self.path}" if self.path else ""


def build_view(graph: ox.GraphProto, path: str = "", outer: frozenset[str] = frozenset()) -> GraphView:
    """Index a graph and check it: unique names, every input defined, no cycle, outputs produced."""
    v = GraphView(graph=graph, path=path, outer=outer)
    v.initializers = {t.name: t for t in graph.initializer}
    v.sparse = {t.values.name: t for t in graph.sparse_initializer}
    v.input_names = [i.name for i in graph.input if i.name not in v.initializers and i.name not in v.sparse]
    v.output_names = [o.name for o in graph.output]
    nodes = graph.node
    labels = v.labels = [n.name or f"{n.op_type}_{i}" for i, n in enumerate(nodes)]
    defined_static = set(v.initializers) | set(v.sparse) | {i.name for i in graph.input}
    available = defined_static | set(outer)
    producer = v.producer
    consumers = v.consumers
    constants = v.constants
    # one walk in file order: a node's reads, then its writes.  A read whose producer is
    # not known yet (a node later in the file, or nothing) is looked at again after the
    # walk, in order: the errors are those of a walk that first saw every write.
    later: list[tuple[int, str, bool]] = []  # (node, name, read by a subgraph)
    v_inputs, v_outputs, v_attrs = v.inputs, v.outputs, v.has_attrs
    for i, n in enumerate(nodes):
        ins = tuple(n.input)
        outs = tuple(n.output)
        has_attrs = len(n.attribute) > 0
        v_inputs.append(ins)
        v_outputs.append(outs)
        v_attrs.append(has_attrs)
        for x in ins:
            if not x:
                continue
            users = consumers.get(x)
            if users is None:
                consumers[x] = [i]
            else:
                users.append(i)
            if x not in producer and x not in available:
                later.append((i, x, False))
        if has_attrs:
            for _, g in subgraphs(n):
                for x in _used_outer_names(g):
                    if x not in producer and x not in available:
                        later.append((i, x, True))
                    consumers.setdefault(x, []).append(i)
        for o in outs:
            if not o:
                continue
            if o in producer:
                raise ModelError(
                    f"duplicate tensor name {o!r}: produced by node {labels[producer[o]]!r} and node {labels[i]!r}{v.where()}"
                )
            if o in defined_static:
                raise ModelError(f"node {labels[i]!r} output {o!r} has the name of a graph input or initializer{v.where()}")
            producer[o] = i
            if has_attrs and n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                for at in n.attribute:
                    if at.name == "value" and at.type == ox.AttributeProto.TENSOR:
                        constants[o] = at.t
    in_order = True  # every node after the producers of what it reads (the spec asks for it)
    for i, x, sub in later:
        p = producer.get(x)
        if p is None:
            n = nodes[i]
            if sub:
                raise ModelError(f"node {labels[i]!r} ({n.op_type}) subgraph reads {x!r}, which is produced by nothing{v.where()}")
            raise ModelError(f"node {labels[i]!r} ({n.op_type}) input {x!r} is produced by nothing{v.where()}")
        in_order = False  # produced at or after the node that reads it
    if in_order and not available.isdisjoint(producer):
        # a node output shadows an outer name: a read of it before the node is out of order
        in_order = all(producer.get(x, -1) < i for x, users in consumers.items() for i in users)
    v.order = list(range(len(nodes))) if in_order else _topo_order(v, available)
    for o in v.output_names:
        if o not in v.producer and o not in available:
            raise ModelError(f"graph output {o!r} is never produced{v.where()}")
    return v


def _node_deps(v: GraphView, i: int) -> set[str]:
    n = v.graph.node[i]
    deps = {x for x in n.input if x}
    if n.attribute:
        for _, g in subgraphs(n):
            deps |= _used_outer_names(g)
    return {d for d in deps if d in v.producer}


def _topo_order(v: GraphView, available: set[str]) -> list[int]:
    """Kahn's algorithm, keeping the file's order among ready nodes (for files whose
    nodes are not in order already)."""
    n_nodes = len(v.graph.node)
    deps = [_node_deps(v, i) for i in range(n_nodes)]
    import heapq

    indeg = [0] * n_nodes
    users: list[list[int]] = [[] for _ in range(n_nodes)]
    for i in range(n_nodes):
        srcs = {v.producer[d] for d in deps[i]}
        indeg[i] = len(srcs)
        for s in srcs:
            users[s].append(i)
    ready = [i for i in range(n_nodes) if indeg[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != n_nodes:
        stuck = [v.labels[i] for i in range(n_nodes) if indeg[i] > 0]
        raise ModelError(f"the graph has a cycle through node {stuck[0]!r} ({len(stuck)} nodes involved){v.where()}")
    return order


# --------------------------------------------------------------------------- whole-model checks
#
# Structural defects are reported when the model is loaded, in one clear line,
# instead of surfacing later as a node "not counted" (or as an exception) deep in
# shape inference or a handler.  Only what the ONNX spec makes unambiguous is
# refused: ops of an unknown domain, or unknown to the installed onnx, still
# profile (reported as unsupported).

_ONNX_DOMAINS = {"": "", "ai.onnx": "", "ai.onnx.ml": "ai.onnx.ml", "ai.onnx.preview.training": "ai.onnx.preview.training"}
_CONSTANT_VALUES = ("value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value")


@lru_cache(maxsize=4096)
def _schema(domain: str, op_type: str, opset: int):
    try:
        return ox.get_schema(op_type, opset, domain)
    except Exception:  # noqa: BLE001 - unknown op / version: nothing to check against
        return None


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _range(lo: int, hi: int) -> str:
    if hi >= 2**31 - 1:
        return f"at least {lo}"
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def check_node(node: ox.NodeProto, label: str, opsets: dict[str, int], where: str = "",
               n_in: int | None = None, n_out: int | None = None, has_attrs: bool = True) -> None:
    """Raise ModelError when a node contradicts its ONNX schema (op type, input and
    output counts, required attributes, attribute types).  ``n_in``, ``n_out`` and
    ``has_attrs``: what the graph view read of the node already."""
    op_type = node.op_type
    if not op_type:
        raise ModelError(f"node {label!r} has no op_type{where}")
    domain = node.domain
    # a node of the same form as one checked already passes (a graph repeats a few forms)
    key = (domain, op_type, len(node.input) if n_in is None else n_in, len(node.output) if n_out is None else n_out,
           tuple((a.name, a.type, a.ref_attr_name) for a in node.attribute) if has_attrs and node.attribute else (),
           opsets.get(_ONNX_DOMAINS.get(domain, domain)))
    if key in _CHECKED:
        return
    _check_node(node, label, opsets, where)
    if len(_CHECKED) < 100_000:
        _CHECKED.add(key)


#: node forms (domain, op, arity, attribute names and types, opset) that passed check_node
_CHECKED: set = set()


def _check_node(node: ox.NodeProto, label: str, opsets: dict[str, int], where: str) -> None:
    names = [a.name for a in node.attribute]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ModelError(f"node {label!r} ({node.op_type}) has attribute {dup!r} twice{where}")
    domain = _ONNX_DOMAINS.get(node.domain)
    if domain is None or domain not in opsets:
        return
    schema = _schema(domain, node.op_type, opsets[domain])
    if schema is None:
        return
    op = f"{node.op_type}-{schema.since_version}"
    n_in, n_out = len(node.input), len(node.output)
    if not schema.min_input <= n_in <= schema.max_input:
        raise ModelError(
            f"node {label!r} ({node.op_type}) has {_count(n_in, 'input')}; {op} takes {_range(schema.min_input, schema.max_input)}{where}"
        )
    if not schema.min_output <= n_out <= schema.max_output:
        raise ModelError(
            f"node {label!r} ({node.op_type}) has {_count(n_out, 'output')}; {op} produces {_range(schema.min_output, schema.max_output)}{where}"
        )
    given = {a.name: a for a in node.attribute}
    for name, spec in schema.attributes.items():
        if spec.required and name not in given:
            raise ModelError(f"node {label!r} ({node.op_type}) lacks the required attribute {name!r}{where}")
    for name, a in given.items():
        spec = schema.attributes.get(name)
        if spec is None or a.ref_attr_name or a.type == ox.AttributeProto.UNDEFINED:
            continue
        if int(spec.type) != int(a.type):
            want = ox.AttributeProto.AttributeType.Name(int(spec.type))
            got = ox.AttributeProto.AttributeType.Name(a.type) if a.type in ox.AttributeProto.AttributeType.values() else str(a.type)
            raise ModelError(f"node {label!r} ({node.op_type}) attribute {name!r} is {got}; {op} needs {want}{where}")
    if node.op_type == "Constant" and domain == "":
        values = [n for n in names if n in _CONSTANT_VALUES]
        if len(values) != 1:
            raise ModelError(
                f"node {label!r} (Constant) needs exactly one value attribute, has {len(values)}"
                + (f" ({', '.join(values)})" if values else "")
                + where
            )


def _check_graph(graph: ox.GraphProto, path: str, outer: frozenset[str], opsets: dict[str, int]) -> GraphView:
    where = f" in subgraph {path}" if path else ""
    seen: set[str] = set()
    for t in graph.initializer:
        if t.name in seen:
            raise ModelError(f"two initializers are named {t.name!r}{where}")
        seen.add(t.name)
        for d in t.dims:
            if d < 0:
                raise ModelError(f"initializer {t.name!r} has a negative dim ({list(t.dims)}){where}")
    seen_in: set[str] = set()
    for i in graph.input:
        if i.name in seen_in:
            raise ModelError(f"two graph inputs are named {i.name!r}{where}")
        seen_in.add(i.name)
    view = build_view(graph, path, outer)
    visible = frozenset(outer | set(view.initializers) | set(view.sparse) | set(view.producer) | seen_in)
    labels, inputs, outputs, has_attrs = view.labels, view.inputs, view.outputs, view.has_attrs
    for k, node in enumerate(graph.node):
        label = labels[k]
        check_node(node, label, opsets, where, len(inputs[k]), len(outputs[k]), has_attrs[k])
        if not has_attrs[k]:
            continue
        for attr_name, sub in subgraphs(node):
            sub_path = f"{path}/{label}/{attr_name}" if path else f"{label}/{attr_name}"
            _check_graph(sub, sub_path, visible, opsets)
    return view


def validate_model(model: ox.ModelProto) -> GraphView:
    """Check a whole model's structure (main graph and subgraphs); raise ModelError naming
    the node or tensor at fault.  Returns the main graph's view."""
    opsets: dict[str, int] = {}
    for o in model.opset_import:
        d = "" if o.domain == "ai.onnx" else o.domain
        opsets[d] = o.version
    return _check_graph(model.graph, "", frozenset(), opsets)
