"""Typed results and the JSON contract ``onnxstat.profile/1``."""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ._gc import gc_paused
from .passes.records import Counts, NodeCost

SCHEMA = "onnxstat.profile/1"

LOW_PRECISION = ("int8", "uint8", "int4", "uint4", "int2", "uint2", "int16", "uint16")


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(x: Any) -> Any:
    """Exact integers stay integers; symbolic values become strings."""
    t = type(x)
    if t in _PLAIN:
        return x
    if t is dict:
        return {k: jsonable(v) for k, v in x.items()}
    if t is list or t is tuple:
        return [jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, (str, float)):
        return x
    if isinstance(x, int):
        return x
    sympy = sys.modules.get("sympy")  # symbolic values exist only when sympy was imported
    if sympy is not None and isinstance(x, sympy.Basic):
        return int(x) if x.is_Integer else str(x)
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    return str(x)


#: report labels of the cost metrics (shared by the renderers, symbolic and sweep views)
METRIC_LABELS = {
    "macs": "MACs",
    "flops": "FLOPs",
    "params": "Params",
    "weight_bytes": "Weight bytes",
    "bytes_read": "Bytes read",
    "bytes_written": "Bytes written",
    "memory_traffic_bytes": "Memory traffic",
}


def unique(items) -> list:
    """Items in first-seen order without repeats (warning lists)."""
    return list(dict.fromkeys(items))


def intensity(flops: Any, traffic: Any) -> float | None:
    """Arithmetic intensity, FLOPs per byte moved (None when nothing moves or values are symbolic)."""
    try:
        return float(flops) / float(traffic) if traffic else None
    except TypeError:
        return None


def shape_json(shape) -> list | None:
    if shape is None:
        return None
    for d in shape:
        if type(d) is not int:
            return [jsonable(x) for x in shape]
    return list(shape)


@dataclass
class Totals(Counts):
    node_count: int = 0
    unsupported_nodes: int = 0
    #: nodes whose cost is unknown: shapes or a trip count they need were not resolved
    #: (or their handler failed); their MACs and FLOPs are not in the totals
    unresolved_nodes: int = 0
    macs_by_precision: dict[str, Any] = field(default_factory=dict)
    flops_by_precision: dict[str, Any] = field(default_factory=dict)
    params_by_dtype: dict[str, Any] = field(default_factory=dict)
    weight_bytes_by_dtype: dict[str, Any] = field(default_factory=dict)
    peak_activation_bytes: Any = None
    peak_at_node: str | None = None

    @property
    def complete(self) -> bool:
        """Every node's cost is known: no unresolved and no unsupported node."""
        return self.unresolved_nodes == 0 and self.unsupported_nodes == 0

    @property
    def arithmetic_intensity(self) -> float | None:
        """FLOPs per byte of memory traffic."""
        return intensity(self.flops, self.memory_traffic_bytes)

    @property
    def low_precision_mac_share(self) -> float | None:
        try:
            if not self.macs:
                return None
            low = sum(v for k, v in self.macs_by_precision.items() if k in LOW_PRECISION)
            return float(low) / float(self.macs)
        except TypeError:
            return None

    def to_dict(self) -> dict:
        d = {
            **self.counts_dict(),
            "arithmetic_intensity": self.arithmetic_intensity,
            "node_count": self.node_count,
            "complete": self.complete,
            "unresolved_nodes": self.unresolved_nodes,
            "unsupported_nodes": self.unsupported_nodes,
            "macs_by_precision": dict(self.macs_by_precision),
            "flops_by_precision": dict(self.flops_by_precision),
            "params_by_dtype": dict(self.params_by_dtype),
            "weight_bytes_by_dtype": dict(self.weight_bytes_by_dtype),
            "low_precision_mac_share": self.low_precision_mac_share,
        }
        if self.peak_activation_bytes is not None:
            d["peak_activation_bytes"] = self.peak_activation_bytes
            d["peak_at_node"] = self.peak_at_node
        return jsonable(d)


@dataclass
class OpTypeRow(Counts):
    domain: str
    op_type: str
    count: int = 0
    compute_dtypes: set = field(default_factory=set)
    kind: str = "compute"

    def to_dict(self) -> dict:
        return jsonable(
            {
                "domain": self.domain,
                "op_type": self.op_type,
                "kind": self.kind,
                "count": self.count,
                **self.counts_dict(),
                "intensity": intensity(self.flops, self.memory_traffic_bytes),
                "compute_dtypes": sorted(self.compute_dtypes),
            }
        )


def node_dict(n: NodeCost) -> dict:
    # built from JSON-ready parts (names are str; shapes and counts go through jsonable)
    # rather than passing the whole record through jsonable: one node record per node
    d = {
        "name": n.name,
        "path": n.path,
        "domain": n.domain,
        "op_type": n.op_type,
        "kind": n.kind,
        "compute_dtype": n.compute_dtype,
        "inputs": [{"name": a, "dtype": b, "shape": shape_json(c)} for a, b, c in n.inputs],
        "outputs": [{"name": a, "dtype": b, "shape": shape_json(c)} for a, b, c in n.outputs],
        **{k: jsonable(v) for k, v in n.counts_dict().items()},
        "intensity": intensity(n.flops, n.memory_traffic_bytes),
    }
    if n.repeat != 1:
        d["repeat"] = jsonable(n.repeat)
    if n.notes:
        d["notes"] = [str(x) for x in n.notes]
    if n.error:
        d["error"] = str(n.error)
    return d


def nodes_json(nodes: list[NodeCost], extras: list) -> list[str]:
    """Each node's record encoded as ``json.dumps(node record)`` encodes it, faster.

    A graph of 100,000 nodes has 100,000 records of one fixed form: built as dicts and
    handed to the encoder they are the largest part of writing the JSON.  Here a record
    with plain integer counts is formatted directly, and each tensor's
    ``{"name", "dtype", "shape"}`` object is encoded once (a node's output is the next
    node's input).  Any other record (symbolic counts, notes, extras) goes through
    :func:`node_dict` and ``json.dumps``; tests compare both on every bundled model.
    """
    import json
    from json.encoder import encode_basestring_ascii as q

    io_text: dict = {}
    shape_text: dict = {}
    tails: dict = {}  # the counts' text by counts: nodes of one form have the same
    mids: dict = {}  # the text of (domain, op_type, kind, compute_dtype)

    def io(t) -> str:
        try:
            s = io_text.get(t)
        except TypeError:  # an unhashable dim
            s = None
        if s is None:
            a, b, c = t
            try:
                shape = shape_text.get(c)
            except TypeError:  # an unhashable dim
                shape = None
            if shape is None:
                shape = json.dumps(shape_json(c))
                try:
                    shape_text[c] = shape
                except TypeError:
                    pass
            s = f'{{"name": {q(a)}, "dtype": {q(b)}, "shape": {shape}}}'
            try:
                io_text[t] = s
            except TypeError:
                pass
        return s

    out = []
    n_extras = len(extras)
    for i, n in enumerate(nodes):
        counts = (n.macs, n.flops, n.params, n.weight_bytes, n.bytes_read, n.bytes_written)
        if (n.repeat != 1 or n.notes or n.error or (i < n_extras and extras[i])
                or not (type(counts[0]) is int and type(counts[1]) is int and type(counts[2]) is int
                        and type(counts[3]) is int and type(counts[4]) is int and type(counts[5]) is int)):
            d = node_dict(n)
            if i < n_extras and extras[i]:
                d = {**d, **jsonable(extras[i])}
            out.append(json.dumps(d))
            continue
        tail = tails.get(counts)
        if tail is None:
            macs, flops, params, wbytes, read, written = counts
            traffic = read + written
            x = intensity(flops, traffic)
            if x is not None and not math.isfinite(x):
                out.append(json.dumps(node_dict(n)))
                continue
            tail = tails[counts] = (
                f'"macs": {macs}, "flops": {flops}, "params": {params}, "weight_bytes": {wbytes}, "bytes_read": {read}, '
                f'"bytes_written": {written}, "memory_traffic_bytes": {traffic}, '
                f'"intensity": {"null" if x is None else float.__repr__(x)}}}'
            )
        kind_t = (n.domain, n.op_type, n.kind, n.compute_dtype)
        mid = mids.get(kind_t)
        if mid is None:
            mid = mids[kind_t] = (f'"domain": {q(kind_t[0])}, "op_type": {q(kind_t[1])}, "kind": {q(kind_t[2])}, '
                                  f'"compute_dtype": {q(kind_t[3])}, ')
        name = q(n.name)
        out.append(
            f'{{"name": {name}, "path": {name if n.path == n.name else q(n.path)}, {mid}'
            f'"inputs": [{", ".join([io(t) for t in n.inputs])}], "outputs": [{", ".join([io(t) for t in n.outputs])}], '
            f'{tail}'
        )
    return out


@dataclass
class ProfileResult:
    """What :func:`onnxstat.profile` returns."""

    path: str | None
    ir_version: int
    opset: dict[str, int]
    producer: str
    inputs: list[tuple[str, str, tuple | None]]
    outputs: list[tuple[str, str, tuple | None]]
    nodes: list[NodeCost]
    totals: Totals
    by_op_type: list[OpTypeRow]
    unsupported: list[tuple[str, str, int]]
    warnings: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    file_size: int | None = None
    #: per-node extra JSON fields aligned with ``nodes`` (roofline), totals and per-op-type extras
    node_extras: list = field(default_factory=list)
    totals_extras: dict = field(default_factory=dict)
    op_type_extras: dict = field(default_factory=dict)
    #: the roofline.RooflineResult when a device was given
    roofline: Any = None

    def __repr__(self) -> str:
        from ._callable import short_path

        t = self.totals
        return (f"ProfileResult(model={short_path(self.path)!r}, nodes={t.node_count}, params={t.params}, "
                f"macs={t.macs}, flops={t.flops}, warnings={len(self.warnings)})")[:199]

    def to_dict(self, *, nodes: bool = True) -> dict:
        """The JSON contract as a dict (``nodes=False``: without the ``nodes`` list)."""
        with gc_paused():
            return self._to_dict(nodes)

    def _to_dict(self, with_nodes: bool = True) -> dict:
        d = {
            "schema": SCHEMA,
            "model": {
                "path": self.path,
                "ir_version": self.ir_version,
                "opset": dict(self.opset),
                "producer": self.producer,
                "file_size": self.file_size,
            },
            "settings": jsonable(self.settings),
            "inputs": [{"name": a, "dtype": b, "shape": shape_json(c)} for a, b, c in self.inputs],
            "outputs": [{"name": a, "dtype": b, "shape": shape_json(c)} for a, b, c in self.outputs],
            "totals": {**self.totals.to_dict(), **jsonable(self.totals_extras)},
            "by_op_type": [
                {**r.to_dict(), **jsonable(self.op_type_extras.get((r.domain, r.op_type), {}))} for r in self.by_op_type
            ],
            "nodes": [
                {**node_dict(n), **jsonable(self.node_extras[i])} if i < len(self.node_extras) and self.node_extras[i]
                else node_dict(n)
                for i, n in enumerate(self.nodes)
            ] if with_nodes else [],
            "unsupported": [{"domain": d_, "op_type": o, "count": c} for d_, o, c in self.unsupported],
            "warnings": list(self.warnings),
        }
        for k, v in self.extras.items():
            d[k] = jsonable(v)
        return d


def summarize(nodes: list[NodeCost]) -> tuple[Totals, list[OpTypeRow]]:
    """Totals and per-op-type rows from node costs (params already deduplicated per node)."""
    t = Totals()
    # sums kept in local lists (one per op type, one for the totals): attribute updates on
    # the records would be most of the time on a graph of 100,000 nodes
    acc: dict[tuple[str, str], list] = {}  # (domain, op) -> [count, kind, dtypes, six sums]
    tot = [0, 0, 0, 0, 0, 0]
    macs_p: dict[str, Any] = defaultdict(int)
    flops_p: dict[str, Any] = defaultdict(int)
    params_d: dict[str, Any] = defaultdict(int)
    wbytes_d: dict[str, Any] = defaultdict(int)
    node_count = unsupported = unresolved = 0
    for n in nodes:
        macs, flops, params, wbytes, read, written = (n.macs, n.flops, n.params, n.weight_bytes, n.bytes_read,
                                                      n.bytes_written)
        tot[0] += macs
        tot[1] += flops
        tot[2] += params
        tot[3] += wbytes
        tot[4] += read
        tot[5] += written
        kind = n.kind
        if kind != "control_flow":
            node_count += 1
        if kind == "unsupported":
            unsupported += 1
        elif n.unresolved or n.error:
            unresolved += 1
        dtype = n.compute_dtype
        if macs:
            macs_p[dtype] += macs
        if flops:
            flops_p[dtype] += flops
        for _key, wdtype, numel, nb in n.weights:
            params_d[wdtype] += numel
            wbytes_d[wdtype] += nb
        op_key = (n.domain, n.op_type)
        a = acc.get(op_key)
        if a is None:
            a = acc[op_key] = [0, kind, set(), 0, 0, 0, 0, 0, 0]
        a[0] += 1
        a[3] += macs
        a[4] += flops
        a[5] += params
        a[6] += wbytes
        a[7] += read
        a[8] += written
        if dtype not in ("none", "undefined"):
            a[2].add(dtype)
    t.macs, t.flops, t.params, t.weight_bytes, t.bytes_read, t.bytes_written = tot
    t.node_count, t.unsupported_nodes, t.unresolved_nodes = node_count, unsupported, unresolved
    rows = {
        op_key: OpTypeRow(op_key[0], op_key[1], count=a[0], kind=a[1], compute_dtypes=a[2], macs=a[3], flops=a[4],
                       params=a[5], weight_bytes=a[6], bytes_read=a[7], bytes_written=a[8])
        for op_key, a in acc.items()
    }
    t.macs_by_precision = dict(macs_p)
    t.flops_by_precision = dict(flops_p)
    t.params_by_dtype = dict(params_d)
    t.weight_bytes_by_dtype = dict(wbytes_d)

    def key(r: OpTypeRow):
        try:
            return (-float(r.flops), -float(r.memory_traffic_bytes), r.op_type)
        except TypeError:
            return (0.0, 0.0, r.op_type)

    return t, sorted(rows.values(), key=key)
