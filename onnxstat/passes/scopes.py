"""The module tree: node costs grouped by the scopes exporters write into node names.

Exporters name nodes after the module that made them:

* torch.onnx (TorchScript): ``/encoder/layer.0/attention/self/query/MatMul``
* dotted module paths: ``model.layers.3.mlp.down_proj.MatMul``
* tf2onnx: ``StatefulPartitionedCall/model/conv2d/Conv2D``

A node's scope is its name without the last part (the op's own name), split at
``/`` (or at ``.`` for a name without ``/`` of three or more dotted parts).  The
torch.onnx dynamo exporter names nodes ``node_MatMul_3`` and writes the module path
into the node's metadata (``pkg.torch.onnx.name_scopes``): that wins over the name.
A node whose name carries no scope (unnamed, or a bare ``Conv_3``) takes the scope of the
node that produces its first input, else of its first consumer, else the root.  A
node inside a subgraph (an If branch, a Loop body) sits in the scope of its
control-flow node, followed by the scope of its own name.

Every scope row sums the nodes below it, so children sum to their parent exactly
and the root to the model's totals.  A scope that has both child scopes and nodes
of its own gets an ``(own nodes)`` child for those, so that its children still add
up.  ``fold_repeats`` merges sibling scopes that differ only by an index
(``layer.0`` … ``layer.11``, ``h_3``, ``3``) and have the same structure into one row
``layer.[0-11] ×12``, whose children are summed over the members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .records import COUNT_FIELDS, Counts, NodeCost

OWN = "(own nodes)"
#: an element of a module list: layer.3, layers_3, block-3, h.3, or a bare index 3 (not conv1:
#: numbered modules of different roles are not repeats)
_INDEXED = re.compile(r"^((?:.*[._-])?)(\d+)$")


def name_scope(name: str) -> tuple[str, ...] | None:
    """The scope parts a node name carries, or None when it carries none."""
    if "/" in name:
        parts = [p for p in name.split("/") if p]
        return tuple(parts[:-1]) if len(parts) > 1 else None
    parts = name.split(".")
    if len(parts) >= 3 and all(parts):
        return tuple(parts[:-1])
    return None


@dataclass
class Scope(Counts):
    """One scope of the tree with the summed counts of every node below it."""

    name: str = ""
    parts: tuple[str, ...] = ()
    nodes: int = 0
    time_ms: float | None = None
    repeats: int = 1
    children: dict[str, "Scope"] = field(default_factory=dict)
    #: nodes sitting directly in this scope (while building; see _attach_own)
    own: "Scope | None" = field(default=None, repr=False)

    def child(self, name: str) -> "Scope":
        c = self.children.get(name)
        if c is None:
            c = self.children[name] = Scope(name=name, parts=(*self.parts, name))
        return c

    def add_node(self, n: NodeCost, time_ms: float | None) -> None:
        self.add(n)
        if n.kind != "control_flow":
            self.nodes += 1
        if time_ms is not None:
            self.time_ms = (self.time_ms or 0.0) + time_ms

    def add_scope(self, other: "Scope") -> None:
        self.add(other)
        self.nodes += other.nodes
        if other.time_ms is not None:
            self.time_ms = (self.time_ms or 0.0) + other.time_ms

    @property
    def depth(self) -> int:
        return len(self.parts)

    def signature(self) -> tuple:
        """The structure of the subtree (child names with the numbers of repeated
        blocks blanked, node counts, and its counts): equal signatures fold."""
        return (
            self.nodes,
            tuple(getattr(self, f) for f in ("macs", "flops", "params")),
            tuple((_blank(k), c.signature()) for k, c in self.children.items()),
        )


def _blank(name: str) -> str:
    m = _INDEXED.match(name)
    return f"{m.group(1)}#" if m else name


# --------------------------------------------------------------------------- building


#: node metadata the torch.onnx dynamo exporter writes: repr() of the cumulative module
#: paths, root "" first and the node's own name last
TORCH_NAME_SCOPES = "pkg.torch.onnx.name_scopes"
_MAX_METADATA_CHARS = 20_000


def parse_name_scopes(text: str) -> tuple[str, ...] | None:
    """``"['', 'blocks.2', 'blocks.2.mlp', 'blocks.2.mlp.fc1', 'linear_8']"`` ->
    ``("blocks.2", "mlp", "fc1")``: each module relative to its parent; None when the
    text is not such a list."""
    import ast

    if len(text) > _MAX_METADATA_CHARS:
        return None
    try:
        seq = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(seq, (list, tuple)) or not all(isinstance(x, str) for x in seq):
        return None
    parts: list[str] = []
    prev = ""
    for m in seq[:-1]:
        if not m:
            continue
        parts.append(m[len(prev) + 1:] if prev and m.startswith(prev + ".") else m)
        prev = m
    return tuple(parts)


def node_index(graph: Any) -> dict[str, tuple[Any, Any]]:
    """Record path -> (NodeProto, GraphProto it sits in), labelled as the analysis labels
    them (``Loop_0/body/MatMul_1``)."""
    from ..model.graph import node_label, subgraphs

    out: dict[str, tuple[Any, Any]] = {}

    def walk(g: Any, path: str) -> None:
        for i, n in enumerate(g.node):
            full = f"{path}/{node_label(n, i)}" if path else node_label(n, i)
            out.setdefault(full, (n, g))
            for attr, sub in subgraphs(n):
                walk(sub, f"{full}/{attr}")

    walk(graph, "")
    return out


def metadata_scopes(model: Any) -> dict[str, tuple[str, ...]]:
    """Record path -> scope from the torch.onnx dynamo exporter's node metadata."""
    out: dict[str, tuple[str, ...]] = {}
    for path, (node, _g) in node_index(model.graph).items():
        for p in node.metadata_props:
            if p.key == TORCH_NAME_SCOPES:
                parts = parse_name_scopes(p.value)
                if parts is not None:
                    out[path] = parts
    return out


def node_scopes(nodes: Sequence[NodeCost], hints: Mapping[str, tuple[str, ...]] | None = None) -> list[tuple[str, ...]]:
    """The scope of every node (see the module docstring for the fallbacks).  ``hints``
    maps node paths to scopes known otherwise (exporter metadata); they win over names."""
    own: list[tuple[str, ...] | None] = [name_scope(n.name) for n in nodes]
    absolute = [bool(hints) and n.path in hints for n in nodes]
    for i, n in enumerate(nodes):
        if absolute[i]:
            own[i] = hints[n.path]
    prefix_of = [n.path[: len(n.path) - len(n.name)] if n.path.endswith(n.name) else "" for n in nodes]
    by_path = {n.path: i for i, n in enumerate(nodes)}
    producer: dict[tuple[str, str], int] = {}
    first_consumer: dict[tuple[str, str], int] = {}
    parent: list[int | None] = [None] * len(nodes)
    for i, n in enumerate(nodes):
        pre = prefix_of[i]
        for name, _dt, _sh in n.outputs:
            if name:
                producer[(pre, name)] = i
        for name, _dt, _sh in n.inputs:
            if name:
                first_consumer.setdefault((pre, name), i)
        # a subgraph node's path is <control-flow node path>/<attribute>/<label>; node
        # names may contain "/", so the enclosing node is found by trying each cut
        p = pre.rstrip("/")
        while "/" in p:
            p = p.rsplit("/", 1)[0]
            j = by_path.get(p)
            if j is not None and j < i:
                parent[i] = j
                break
    scopes: list[tuple[str, ...]] = []

    def base(j: int) -> tuple[str, ...]:
        k = parent[j]
        return scopes[k] if k is not None and k < len(scopes) else ()

    for i, n in enumerate(nodes):
        if own[i] is not None:
            scopes.append(own[i] if absolute[i] else (*base(i), *own[i]))
            continue
        src = None
        for name, _dt, _sh in n.inputs:  # fallback 1: the producer of an input
            j = producer.get((prefix_of[i], name)) if name else None
            if j is not None and j < i:
                src = scopes[j]
                break
        if src is None:  # fallback 2: the first consumer of an output that names its scope
            for name, _dt, _sh in n.outputs:
                j = first_consumer.get((prefix_of[i], name)) if name else None
                if j is not None and own[j] is not None:
                    src = own[j] if absolute[j] else (*base(j), *own[j])
                    break
        scopes.append(src if src is not None else base(i))
    return scopes


def scope_tree(nodes: Sequence[NodeCost], times_ms: Mapping[str, float] | None = None,
               hints: Mapping[str, tuple[str, ...]] | None = None) -> Scope:
    """The tree of scopes with summed counts; ``times_ms`` maps node paths to measured
    times, ``hints`` node paths to scopes from exporter metadata."""
    root = Scope(name="")
    timed = times_ms is not None
    for n, parts in zip(nodes, node_scopes(nodes, hints)):
        t = (times_ms.get(n.path, 0.0) if n.kind != "control_flow" else 0.0) if timed else None
        s = root
        s.add_node(n, t)
        for p in parts:
            s = s.child(p)
            s.add_node(n, t)
        if s.own is None:
            s.own = Scope(name=OWN, parts=(*s.parts, OWN))
        s.own.add_node(n, t)
    _attach_own(root)
    return root


def _attach_own(s: Scope) -> None:
    """A scope with child scopes and nodes of its own gets an (own nodes) child."""
    own, s.own = s.own, None
    for c in list(s.children.values()):
        _attach_own(c)
    if own is not None and s.children:
        s.children[OWN] = own


# --------------------------------------------------------------------------- folding


def fold_repeats(s: Scope) -> Scope:
    """Fold runs of sibling scopes ``prefix<N>`` with equal structure into one scope."""
    for c in s.children.values():
        fold_repeats(c)
    groups: dict[str, list[tuple[int, str, Scope]]] = {}
    for name, c in s.children.items():
        m = _INDEXED.match(name)
        if m and c.repeats == 1:
            groups.setdefault(m.group(1), []).append((int(m.group(2)), name, c))
    if not any(len(g) > 1 for g in groups.values()):
        return s
    replaced: dict[str, Scope | None] = {}
    for prefix, members in groups.items():
        if len(members) < 2:
            continue
        members.sort()
        runs: list[list[tuple[int, str, Scope]]] = []
        for m in members:
            if runs and runs[-1][-1][2].signature() == m[2].signature():
                runs[-1].append(m)
            else:
                runs.append([m])
        for run in runs:
            if len(run) < 2:
                continue
            merged = _merge([c for _i, _n, c in run], f"{prefix}[{_index_text([i for i, _n, _c in run])}]", s.parts)
            merged.repeats = len(run)
            replaced[run[0][1]] = merged
            for _i, name, _c in run[1:]:
                replaced[name] = None
    if replaced:
        children: dict[str, Scope] = {}
        for k, c in s.children.items():
            r = replaced.get(k, c)
            if r is not None:
                children[r.name] = r
        s.children = children
    return s


def _index_text(idx: list[int]) -> str:
    if idx == list(range(idx[0], idx[0] + len(idx))):
        return f"{idx[0]}-{idx[-1]}"
    return ",".join(str(i) for i in idx)


def _merge(scopes: list[Scope], name: str, parent_parts: tuple[str, ...]) -> Scope:
    """One scope summing ``scopes`` (of equal structure); children merged by position."""
    out = Scope(name=name, parts=(*parent_parts, name))
    for sc in scopes:
        out.add_scope(sc)
    first = scopes[0]
    for pos, key in enumerate(first.children):
        kids = [list(sc.children.values())[pos] for sc in scopes]
        merged = _merge(kids, key if all(k.name == key for k in kids) else _blank(key), out.parts)
        merged.repeats = first.children[key].repeats
        out.children[merged.name] = merged
    return out


# --------------------------------------------------------------------------- rows


def _share(part: Any, whole: Any) -> float | None:
    try:
        return float(part) / float(whole) if whole else None
    except (TypeError, ValueError):
        return None


def scope_rows(root: Scope, depth: int | None = None) -> list[dict]:
    """The tree as rows in depth-first order, down to ``depth`` levels below the root.

    Keys: scope (``/encoder/layer.0``; "" for the whole model), name, depth, nodes,
    the six counts and memory_traffic_bytes, share (of the model's FLOPs), repeats
    for folded rows, time_ms and time_share when times were measured."""
    rows: list[dict] = []
    total_flops = root.flops
    total_time = root.time_ms

    def walk(s: Scope) -> None:
        row = {
            "scope": "/" + "/".join(s.parts) if s.parts else "",
            "name": s.name or "(model)",
            "depth": s.depth,
            "nodes": s.nodes,
            **{f: getattr(s, f) for f in COUNT_FIELDS},
            "memory_traffic_bytes": s.memory_traffic_bytes,
            "share": _share(s.flops, total_flops),
        }
        if s.repeats != 1:
            row["repeats"] = s.repeats
        if s.time_ms is not None:
            row["time_ms"] = s.time_ms
            row["time_share"] = _share(s.time_ms, total_time)
        rows.append(row)
        if depth is not None and s.depth >= depth:
            return
        for c in s.children.values():
            walk(c)

    walk(root)
    return rows


def node_times(bench_dict: Mapping | None) -> dict[str, float] | None:
    """Measured mean time per static node path from a bench result with per-node rows."""
    if not bench_dict or not bench_dict.get("per_node"):
        return None
    out: dict[str, float] = {}
    for r in bench_dict.get("nodes") or ():
        if r.get("node") and not r.get("includes_subgraphs"):
            out[r["node"]] = out.get(r["node"], 0.0) + float(r.get("mean_ms") or 0.0)
    return out


def by_scope(res: Any, depth: int | None = None, fold: bool = False, model: Any = None) -> list[dict]:
    """``by_scope`` rows of a :class:`ProfileResult` (measured times when it carries a
    per-node benchmark).  ``model`` (a ModelProto or a path; default: the profiled file)
    supplies the scopes the torch.onnx dynamo exporter writes into node metadata."""
    if model is None:
        model = res.path
    if model is not None and not hasattr(model, "graph"):
        from ..errors import OnnxstatError
        from ..model.loader import load

        try:
            model = load(model).model
        except OnnxstatError:  # the file changed or went away since it was profiled: names only
            model = None
    hints = metadata_scopes(model) if model is not None else None
    tree = scope_tree(res.nodes, node_times(res.extras.get("bench")), hints)
    if fold:
        fold_repeats(tree)
    return scope_rows(tree, depth)


def has_scopes(rows: Sequence[Mapping]) -> bool:
    """True when the names gave any scope below the root."""
    return any(r["depth"] > 0 and r["name"] != OWN for r in rows)


# --------------------------------------------------------------------------- rendering

TREE_HEADERS = ["Scope", "Nodes", "MACs", "FLOPs", "Params", "Traffic", "FLOPs %"]


def _label(row: Mapping, prefix: str) -> str:
    name = row["name"]
    if row.get("repeats"):
        name += f" ×{row['repeats']}"
    return prefix + name


def tree_labels(rows: Sequence[Mapping], compact: bool = False) -> list[str]:
    """Row names indented with tree guides (├─ └─ │), as ptflops and tree print them
    (two columns per level instead of three when ``compact``)."""
    bar, blank, mid, end = ("│ ", "  ", "├ ", "└ ") if compact else ("│  ", "   ", "├─ ", "└─ ")
    labels: list[str] = []
    # the last row of each depth below a parent decides └─ versus ├─
    last = [False] * len(rows)
    for i, r in enumerate(rows):
        j = i + 1
        while j < len(rows) and rows[j]["depth"] > r["depth"]:
            j += 1
        last[i] = j >= len(rows) or rows[j]["depth"] < r["depth"]
    open_levels: list[bool] = []
    for i, r in enumerate(rows):
        d = r["depth"]
        if d == 0:
            labels.append(_label(r, ""))
            continue
        del open_levels[d - 1:]
        guide = "".join(bar if o else blank for o in open_levels)
        labels.append(_label(r, guide + (end if last[i] else mid)))
        open_levels.append(not last[i])
    return labels


def tree_cells(rows: Sequence[Mapping], compact: bool = False) -> tuple[list[str], list[list[str]]]:
    from ..render import units

    timed = any("time_ms" in r for r in rows)
    headers = TREE_HEADERS + (["Time", "Time %"] if timed else [])
    out = []
    for label, r in zip(tree_labels(rows, compact), rows):
        cells = [label, units.count(r["nodes"]), units.si(r["macs"]), units.si(r["flops"]), units.si(r["params"]),
                 units.nbytes(r["memory_traffic_bytes"]), "-" if r["share"] is None else f"{100 * r['share']:.1f}%"]
        if timed:
            cells += [units.ms(r.get("time_ms")),
                      "-" if r.get("time_share") is None else f"{100 * r['time_share']:.1f}%"]
        out.append(cells)
    return headers, out


def print_scope_tree(rows: Sequence[Mapping], console=None, title: str = "By scope") -> None:
    """The module tree as an indented terminal table."""
    from rich.table import Table

    from ..render.formats import terminal_console

    console = console or terminal_console()
    headers, cells = tree_cells(rows)
    t = Table(title=title, title_justify="left")
    # numbers keep their width; a narrow terminal gets a compact tree, then shorter names
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    room = console.width - sum(widths[1:]) - 3 * len(headers) - 1
    if room < widths[0]:
        headers, cells = tree_cells(rows, compact=True)
    for i, h in enumerate(headers):
        if i == 0:
            t.add_column(h, justify="left", overflow="ellipsis", no_wrap=True, max_width=max(12, room))
        else:
            t.add_column(h, justify="right", no_wrap=True, min_width=widths[i])
    for c in cells:
        t.add_row(*c)
    console.print(t)
    if not has_scopes(rows):
        console.print("the node names carry no scopes (/encoder/layer.0/..., model.layers.0.mlp...): one row", style="dim")


def scope_markdown(rows: Sequence[Mapping]) -> str:
    headers, cells = tree_cells(rows)
    lines = ["## By scope", "", "| " + " | ".join(headers) + " |", "|" + "---|" + "---:|" * (len(headers) - 1)]
    for c in cells:
        first = c[0].replace(" ", "\u00a0")  # keep the tree's indentation
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in [first, *c[1:]]) + " |")
    return "\n".join(lines) + "\n"


def scope_csv(rows: Sequence[Mapping]) -> str:
    import csv
    import io

    from ..result import jsonable

    keys = ["scope", "name", "depth", "repeats", "nodes", *COUNT_FIELDS, "memory_traffic_bytes", "share", "time_ms"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        w.writerow([jsonable(r.get(k, 1 if k == "repeats" else "")) for k in keys])
    return buf.getvalue()


#: levels of the HTML tree open when the page loads
HTML_OPEN_DEPTH = 1

_HTML_STYLE = """<style>
.scope-tree{font-size:13px}
.scope-tree details>summary{list-style:none;cursor:pointer}
.scope-tree details>summary::-webkit-details-marker{display:none}
.scope-tree .srow{display:grid;grid-template-columns:minmax(220px,1fr) 70px 90px 90px 80px 90px 130px;gap:8px;
  padding:3px 0;border-bottom:1px solid rgba(127,127,127,.15);align-items:center}
.scope-tree .srow>span:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.scope-tree .shead{font-weight:600}
.scope-tree .tw{display:inline-block;width:1.1em;color:#888}
.scope-tree details[open]>summary .tw::before{content:"\\25be"}
.scope-tree details:not([open])>summary .tw::before{content:"\\25b8"}
.scope-tree .sbar{display:inline-block;width:60px;height:8px;background:rgba(127,127,127,.2);margin-left:6px;vertical-align:middle}
.scope-tree .sbar i{display:block;height:100%;background:#4c78a8}
</style>"""


def scope_tree_html(rows: Sequence[Mapping]) -> str:
    """The module tree as nested ``<details>`` (collapsible without script), for the HTML report."""
    from html import escape

    from ..render import units

    if not rows:
        return ""
    kids = children_index(rows)
    cols = ["Scope", "Nodes", "MACs", "FLOPs", "Params", "Traffic", "FLOPs %"]
    out = [_HTML_STYLE, '<div class="scope-tree">', '<div class="srow shead">'
           + "".join(f"<span>{c}</span>" for c in cols) + "</div>"]

    def cells(i: int) -> str:
        r = rows[i]
        share = r.get("share")
        name = escape(r["name"]) + (f" ×{r['repeats']}" if r.get("repeats") else "")
        indent = f'<span style="padding-left:{1.2 * r["depth"]:.1f}em"></span>'
        pct = "-" if share is None else f"{100 * share:.1f}%"
        bar = "" if share is None else f'<span class="sbar"><i style="width:{100 * share:.1f}%"></i></span>'
        head = (f'<div class="srow" data-scope="{escape(r["scope"])}">'
                f'<span class="mono" title="{escape(r["scope"] or "/")}">{indent}<span class="tw"></span>{name}</span>')
        nums = [units.count(r["nodes"]), units.si(r["macs"]), units.si(r["flops"]), units.si(r["params"]),
                units.nbytes(r["memory_traffic_bytes"])]
        return head + "".join(f"<span>{x}</span>" for x in nums) + f"<span>{pct}{bar}</span></div>"

    def walk(i: int) -> None:
        if not kids[i]:
            out.append(cells(i))
            return
        out.append(f"<details{' open' if rows[i]['depth'] < HTML_OPEN_DEPTH else ''}><summary>{cells(i)}</summary>")
        for j in kids[i]:
            walk(j)
        out.append("</details>")

    walk(0)
    out.append("</div>")
    return "\n".join(out)


def children_index(rows: Sequence[Mapping]) -> dict[int, list[int]]:
    """Row index -> indices of its children (rows are in depth-first order)."""
    kids: dict[int, list[int]] = {i: [] for i in range(len(rows))}
    stack: list[int] = []
    for i, r in enumerate(rows):
        while stack and rows[stack[-1]]["depth"] >= r["depth"]:
            stack.pop()
        if stack:
            kids[stack[-1]].append(i)
        stack.append(i)
    return kids


__all__ = ["Scope", "name_scope", "node_scopes", "scope_tree", "fold_repeats", "scope_rows", "by_scope", "node_times"]
