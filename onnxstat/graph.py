"""Graph structure: validated topological order, producers and consumers, scopes.

Everything here is built once per graph in linear time; the analysis and the
liveness pass use the maps instead of searching node lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import onnx

from .errors import ModelError

GRAPH_ATTRS = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def node_label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def subgraphs(node: onnx.NodeProto) -> Iterator[tuple[str, onnx.GraphProto]]:
    """(attribute name, graph) for every graph attribute of a node."""
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            yield a.name, a.g
        elif a.type == onnx.AttributeProto.GRAPHS:
            for i, g in enumerate(a.graphs):
                yield f"{a.name}[{i}]", g


def _used_outer_names(graph: onnx.GraphProto) -> set[str]:
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

    graph: onnx.GraphProto
    path: str = ""
    outer: frozenset[str] = frozenset()
    order: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    initializers: dict[str, onnx.TensorProto] = field(default_factory=dict)
    constants: dict[str, onnx.TensorProto] = field(default_factory=dict)
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    producer: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, list[int]] = field(default_factory=dict)

    @property
    def nodes(self) -> list[onnx.NodeProto]:
        g = self.graph.node
        return [g[i] for i in self.order]

    def where(self) -> str:
        return f" in subgraph {self.path}" if self.path else ""


def build_view(graph: onnx.GraphProto, path: str = "", outer: frozenset[str] = frozenset()) -> GraphView:
    """Index a graph and check it: unique names, every input defined, no cycle, outputs produced."""
    v = GraphView(graph=graph, path=path, outer=outer)
    v.initializers = {t.name: t for t in graph.initializer}
    v.input_names = [i.name for i in graph.input if i.name not in v.initializers]
    v.output_names = [o.name for o in graph.output]
    nodes = graph.node
    v.labels = [node_label(n, i) for i, n in enumerate(nodes)]
    defined_static = set(v.initializers) | {i.name for i in graph.input}
    for i, n in enumerate(nodes):
        for o in n.output:
            if not o:
                continue
            if o in v.producer:
                raise ModelError(
                    f"duplicate tensor name {o!r}: produced by node {v.labels[v.producer[o]]!r} and node {v.labels[i]!r}{v.where()}"
                )
            if o in defined_static:
                raise ModelError(f"node {v.labels[i]!r} output {o!r} has the name of a graph input or initializer{v.where()}")
            v.producer[o] = i
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                for a in n.attribute:
                    if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                        v.constants[o] = a.t
    available = defined_static | set(outer)
    for i, n in enumerate(nodes):
        for x in n.input:
            if not x:
                continue
            v.consumers.setdefault(x, []).append(i)
            if x not in available and x not in v.producer:
                raise ModelError(f"node {v.labels[i]!r} ({n.op_type}) input {x!r} is produced by nothing{v.where()}")
        for _, g in subgraphs(n):
            for x in _used_outer_names(g):
                if x not in available and x not in v.producer:
                    raise ModelError(f"node {v.labels[i]!r} ({n.op_type}) subgraph reads {x!r}, which is produced by nothing{v.where()}")
                v.consumers.setdefault(x, []).append(i)
    v.order = _topo_order(v, available)
    for o in v.output_names:
        if o not in v.producer and o not in available:
            raise ModelError(f"graph output {o!r} is never produced{v.where()}")
    return v


def _node_deps(v: GraphView, i: int) -> set[str]:
    n = v.graph.node[i]
    deps = {x for x in n.input if x}
    for _, g in subgraphs(n):
        deps |= _used_outer_names(g)
    return {d for d in deps if d in v.producer}


def _topo_order(v: GraphView, available: set[str]) -> list[int]:
    n_nodes = len(v.graph.node)
    deps = [_node_deps(v, i) for i in range(n_nodes)]
    # fast path: already sorted (the ONNX spec requires it, and exporters comply)
    done: set[int] = set()
    sorted_ok = True
    for i in range(n_nodes):
        if any(v.producer[d] not in done for d in deps[i]):
            sorted_ok = False
            break
        done.add(i)
    if sorted_ok:
        return list(range(n_nodes))
    # Kahn's algorithm, keeping the file's order among ready nodes
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
