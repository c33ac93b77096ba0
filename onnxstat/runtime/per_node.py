"""Per-kernel times (``--per-node``): a profiled session, its trace read back, and every
kernel joined to the static costs of the original nodes it executes.

The method (a separate profiled session, how unnamed nodes are named, ``matched`` /
``fused`` / ``fused/unmatched``) is described in :mod:`onnxstat.runtime.bench`;
which original nodes a fused kernel executes is :mod:`onnxstat.runtime.kernel_match`'s.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import onnx

from ..errors import ModelError
from .bench_options import BenchOptions
from .kernel_match import group_traffic, kernel_roofline, tensor_consumers
from .session import SessionSpec, make_runner, one_line, plan_timing
from .timing import percentile

CONTROL_FLOW = {"If", "Loop", "Scan"}
#: profiled runs for --per-node unless given
DEFAULT_PER_NODE_RUNS = 20
#: --per-node matches fused kernels through the optimised model onnxruntime writes up to this model size
MATCH_MAX_BYTES = 1 << 30


# --------------------------------------------------------------------------- the profiler's events


@dataclass
class KernelTime:
    name: str
    op_type: str
    provider: str
    total_us: float = 0.0
    calls: int = 0
    first_ts: float = 0.0
    #: µs per counted run (index = run), for the median
    per_run_us: dict[int, float] = field(default_factory=dict)

    def median_us(self, n_runs: int) -> float:
        vals = sorted(self.per_run_us.get(i, 0.0) for i in range(n_runs))
        return percentile(vals, 50) if vals else 0.0


def parse_profile(events: Sequence[Mapping[str, Any]], skip_runs: int = 0) -> tuple[dict[str, KernelTime], int, list[float]]:
    """onnxruntime profiler events -> per-kernel totals over the counted runs.

    Node events are assigned to the ``model_run`` interval that contains them;
    the first ``skip_runs`` runs (warm-up) are dropped.  Returns (kernels by name,
    counted runs, model_run durations in µs of the counted runs).
    """
    runs = sorted((float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)))
                  for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
    counted = runs[skip_runs:]
    starts = [r[0] for r in counted]
    kernels: dict[str, KernelTime] = {}
    for e in events:
        if e.get("cat") != "Node":
            continue
        name = str(e.get("name", ""))
        if not name.endswith("_kernel_time"):
            continue
        ts = float(e.get("ts", 0))
        k = 0
        if counted:
            k = bisect.bisect_right(starts, ts) - 1
            if k < 0 or ts > counted[k][1]:
                continue
        elif runs:
            continue
        node = name[: -len("_kernel_time")]
        args = e.get("args") or {}
        kt = kernels.get(node)
        if kt is None:
            kt = kernels[node] = KernelTime(node, str(args.get("op_name", "?")), str(args.get("provider", "?")), first_ts=ts)
        dur = float(e.get("dur", 0))
        kt.total_us += dur
        kt.per_run_us[k] = kt.per_run_us.get(k, 0.0) + dur
        kt.calls += 1
        kt.first_ts = min(kt.first_ts, ts)
    n = len(counted) if runs else 1
    return kernels, n, [b - a for a, b in counted]


def ort_node_names(model: onnx.ModelProto) -> dict[str, list[tuple[str, str]]]:
    """The name onnxruntime's profiler gives each node -> [(static node path, op_type)], main graph first.

    A named node keeps its name; an unnamed one is ``<op_type>_<i>`` where ``i``
    counts the nodes of its graph that are not Constant nodes (onnxruntime turns
    those into initializers when it loads the graph).
    """
    from ..model.graph import node_label, subgraphs

    out: dict[str, list[tuple[str, str]]] = {}

    def walk(graph: onnx.GraphProto, path: str) -> None:
        k = 0
        nested = []
        for i, n in enumerate(graph.node):
            label = node_label(n, i)
            full = f"{path}/{label}" if path else label
            is_const = n.op_type == "Constant" and n.domain in ("", "ai.onnx")
            if not is_const:
                ort_name = n.name or f"{n.op_type}_{k}"
                out.setdefault(ort_name, []).append((full, n.op_type))
                k += 1
            for attr, g in subgraphs(n):
                nested.append((g, f"{full}/{attr}"))
        for g, p in nested:
            walk(g, p)

    walk(model.graph, "")
    return out


def _num(x) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _rate(amount, ms: float) -> float | None:
    """amount / (ms * 1e6): FLOPs -> GFLOP/s, bytes -> GB/s."""
    a = _num(amount)
    if a is None or not ms or ms <= 0:
        return None
    return a / (ms * 1e6)


def join_nodes(kernels: Mapping[str, KernelTime], n_runs: int, static_nodes: Sequence[Any],
               model: onnx.ModelProto, sources: Mapping[str, Sequence[str]] | None = None,
               ) -> tuple[list[dict], list[dict], list[str]]:
    """Per-kernel rows (execution order), per-op-type rows (by time) and notes.

    ``sources`` (from :func:`onnxstat.runtime.kernel_match.fused_sources`) maps kernel names
    to the original nodes they execute; a kernel found there gets the FLOPs and bytes
    of all of them (``source_nodes``), others are joined by name as before.
    """
    names = ort_node_names(model)
    op_of_path = {p: op for cands in names.values() for p, op in cands}
    by_path = {n.path: n for n in static_nodes}
    graph_outputs = [o.name for o in model.graph.output]
    consumers = None
    runs = max(n_runs, 1)
    rows: list[dict] = []
    matched_paths: set[str] = set()
    total_ms = sum(k.total_us for k in kernels.values() if k.op_type not in CONTROL_FLOW) / 1000.0 / runs
    for kt in sorted(kernels.values(), key=lambda k: k.first_ts):
        src = list((sources or {}).get(kt.name) or ())
        if src:
            node, path, status = _join_sources(kt, src, by_path, op_of_path)
            op = op_of_path.get(path)
        else:
            node, path, op, status = _join_by_name(kt, names, by_path)
        row = _kernel_row(kt, runs, total_ms, node, path, op, status)
        if src:
            row["source_nodes"] = src
            group = [by_path.get(p) for p in src]
            row["flops"], row["bytes"] = _sum_costs(group)
            if len(src) > 1 and row["bytes"] is not None:  # a fused kernel moves what crosses its boundary
                if consumers is None:
                    consumers = tensor_consumers(static_nodes)
                inside = group_traffic(group, consumers, graph_outputs)
                if inside is not None:
                    row["bytes"] = min(row["bytes"], inside)
            matched_paths.update(src)
        if kt.op_type in CONTROL_FLOW:
            row["includes_subgraphs"] = True
        row["gflops_per_s"] = _rate(row["flops"], row["mean_ms"])
        row["gb_per_s"] = _rate(row["bytes"], row["mean_ms"])
        if path is not None:
            matched_paths.add(path)
        rows.append(row)
    return rows, _op_type_rows(rows, total_ms), _join_notes(rows, static_nodes, matched_paths)


def _join_by_name(kt: KernelTime, names: Mapping[str, list[tuple[str, str]]],
                  by_path: Mapping[str, Any]) -> tuple[Any, str | None, str | None, str]:
    """(static node, its path, its op type, status) of a kernel joined by its name: a node of
    that name, else the node ``<node>/<Fusion>/`` names; no node: ``fused/unmatched``."""
    cands = names.get(kt.name)
    if cands is None and "/" in kt.name:
        parts = kt.name.rstrip("/").split("/")
        for cut in range(len(parts) - 1, 0, -1):
            cands = names.get("/".join(parts[:cut]))
            if cands:
                break
    if not cands:
        return None, None, None, "fused/unmatched"
    same = [c for c in cands if c[1] == kt.op_type and kt.name in names]
    path, op = (same or cands)[0]
    return by_path.get(path), path, op, "matched" if same else "fused"


def _kernel_row(kt: KernelTime, runs: int, total_ms: float, node: Any, path: str | None, op: str | None,
                status: str) -> dict:
    """One kernel's row: its time per run and the costs of the static node it is joined to."""
    mean_ms = kt.total_us / 1000.0 / runs
    return {
        "name": kt.name,
        "node": path,
        "op_type": kt.op_type,
        "static_op_type": None if path is None else op,
        "status": status,
        "provider": kt.provider,
        "calls_per_run": kt.calls / runs,
        "mean_ms": mean_ms,
        "median_ms": kt.median_us(runs) / 1000.0,
        "share": (mean_ms / total_ms) if total_ms > 0 and kt.op_type not in CONTROL_FLOW else None,
        "flops": node.flops if node is not None else None,
        "bytes": node.memory_traffic_bytes if node is not None else None,
    }


def _op_type_rows(rows: Sequence[dict], total_ms: float) -> list[dict]:
    """Per op type (slowest first): matched nodes under their static op type, fused kernels under
    the kernel's op type; control-flow kernels (their time includes their subgraphs') left out."""
    groups: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r.get("includes_subgraphs"):
            continue
        key = (r["op_type"], "matched" if r["status"] == "matched" else r["status"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"op_type": key[0], "status": key[1], "kernels": 0, "mean_ms": 0.0,
                               "flops": 0 if r["flops"] is not None else None,
                               "bytes": 0 if r["bytes"] is not None else None}
        g["kernels"] += 1
        g["mean_ms"] += r["mean_ms"]
        for k in ("flops", "bytes"):
            if g[k] is not None and r[k] is not None:
                g[k] = g[k] + r[k]
            else:
                g[k] = None
    op_rows = sorted(groups.values(), key=lambda g: (-g["mean_ms"], g["op_type"]))
    for g in op_rows:
        g["share"] = g["mean_ms"] / total_ms if total_ms > 0 else None
        g["gflops_per_s"] = _rate(g["flops"], g["mean_ms"])
        g["gb_per_s"] = _rate(g["bytes"], g["mean_ms"])
    return op_rows


def _join_notes(rows: Sequence[dict], static_nodes: Sequence[Any], matched_paths: set[str]) -> list[str]:
    """Warnings: compute nodes no kernel executes, kernels that execute no original node."""
    notes = []
    untimed = [n for n in static_nodes if n.kind == "compute" and n.path not in matched_paths]
    if untimed:
        fl = sum(_num(n.flops) or 0 for n in untimed)
        shown = ", ".join(n.path for n in untimed[:8]) + (f" and {len(untimed) - 8} more" if len(untimed) > 8 else "")
        notes.append(
            f"{len(untimed)} compute node(s) have no kernel of their own (fused or removed by the optimizer; "
            f"{fl:,.0f} FLOPs): {shown}; use --opt-level disable for a 1:1 mapping"
        )
    unmatched = [r for r in rows if r["status"] == "fused/unmatched"]
    if unmatched:
        notes.append(f"{len(unmatched)} kernel(s) match no original node (fused by onnxruntime): "
                     "no static FLOPs/bytes for them")
    return notes


def _join_sources(kt: KernelTime, src: Sequence[str], by_path: Mapping[str, Any],
                  op_of_path: Mapping[str, str]) -> tuple[Any, str, str]:
    """(static node shown, its path, status) of a kernel that executes the original nodes ``src``."""
    path = src[0]
    for p in src:  # the node the kernel is named after, else the one with the most FLOPs
        if p == kt.name or kt.name.startswith(p + "/"):
            path = p
            break
    else:
        costly = [p for p in src if by_path.get(p) is not None]
        if costly:
            path = max(costly, key=lambda p: _num(by_path[p].flops) or 0.0)
    same = len(src) == 1 and kt.op_type == op_of_path.get(path)
    return by_path.get(path), path, "matched" if same else "fused"


def _sum_costs(nodes: Sequence[Any]) -> tuple[Any, Any]:
    """Sum of FLOPs and of memory traffic of static nodes (None when one is missing or symbolic)."""
    if not nodes or any(n is None for n in nodes):
        return None, None
    flops = [n.flops for n in nodes]
    nbytes = [n.memory_traffic_bytes for n in nodes]
    ok = all(isinstance(v, (int, float)) for v in flops + nbytes)
    return (sum(flops), sum(nbytes)) if ok else (None, None)


# --------------------------------------------------------------------------- the profiled session


def profile_per_node(spec: SessionSpec, feeds: Mapping[str, Any], dtypes: Mapping[str, str], opts: BenchOptions,
                     model: Any, lm: Any, shapes: Mapping[str, tuple], device: Any,
                     warnings: list[str]) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """Kernel rows, op-type rows and the ``per_node`` summary of a profiled session like ``spec``'s.

    ``model`` is what the user gave (a path or a ModelProto), ``lm`` its LoadedModel,
    ``shapes`` the input shapes the static costs are computed at (unless
    ``opts.static_profile`` gives them); ``device`` a roofline Device or None.  Warnings
    are appended to ``warnings``.
    """
    n_prof = opts.per_node_runs or (min(opts.runs, DEFAULT_PER_NODE_RUNS) if opts.duration is None
                                    else DEFAULT_PER_NODE_RUNS)
    original = lm.model if (lm.file_size or 0) < MATCH_MAX_BYTES else None
    kernels, n_counted, run_us, sources = profile_kernels(spec, feeds, dtypes, opts.warmup, n_prof, opts.trace, original)
    static_nodes = _static_nodes(model, shapes, opts.static_profile, warnings)
    nodes, op_rows, notes = join_nodes(kernels, n_counted, static_nodes, lm.model, sources)
    warnings.extend(notes)
    warnings.extend(kernel_roofline(nodes, {n.path: n for n in static_nodes}, device))
    info = {
        "runs": n_counted,
        "warmup": opts.warmup,
        "opt_level": opts.opt_level,
        "profiled_run_ms": (sum(run_us) / len(run_us) / 1000.0) if run_us else None,
        "kernel_total_ms": sum(r["mean_ms"] for r in nodes if not r.get("includes_subgraphs")),
        "matched": sum(1 for r in nodes if r["status"] == "matched"),
        "fused": sum(1 for r in nodes if r["status"] == "fused"),
        "unmatched": sum(1 for r in nodes if r["status"] == "fused/unmatched"),
        "matching": "optimized model" if sources is not None else "node names",
        "device": device.name if device is not None else None,
        "trace": str(opts.trace) if opts.trace is not None else None,
    }
    return nodes, op_rows, info


def _static_nodes(model: Any, shapes: Mapping[str, tuple], static_profile: Any, warnings: list[str]) -> list:
    """The static profile's nodes (``static_profile`` when given, else profiled at ``shapes``);
    none, with a warning, when the static profile fails."""
    if static_profile is None:
        from ..errors import OnnxstatError
        from ..profiler import profile as _profile

        try:
            static_profile = _profile(model if not isinstance(model, (str, os.PathLike)) else str(model), shapes)
        except OnnxstatError as exc:
            warnings.append(f"per-node: static costs unavailable ({exc}); kernel times are reported without FLOPs/bytes")
    return list(static_profile.nodes) if static_profile is not None else []


def profile_kernels(spec: SessionSpec, feeds: Mapping[str, Any], dtypes: Mapping[str, str], warmup: int, runs: int,
                    trace=None, original: onnx.ModelProto | None = None):
    """Kernel times of a profiled session: (kernels by name, counted runs, run durations in µs,
    sources).  With ``original`` (the ModelProto) ``sources`` maps every kernel to the
    original nodes it executes (:func:`onnxstat.runtime.kernel_match.fused_sources`, from the
    optimised model the session writes), else it is None.  ``trace``: keep onnxruntime's
    JSON trace in that file."""
    tmpdir = tempfile.mkdtemp(prefix="onnxstat-prof-")
    try:
        prefix = os.path.join(tmpdir, "ort")
        opt_path = os.path.join(tmpdir, "optimized.onnx") if original is not None else None
        try:
            sess, _ = spec.create(profile_prefix=prefix, optimized_path=opt_path)
        except ModelError:
            if opt_path is None:
                raise
            # writing the optimised model can fail where running does not (a model over protobuf's 2 GB):
            # profile without it, kernels are then joined by name
            opt_path = None
            sess, _ = spec.create(profile_prefix=prefix)
        plan = plan_timing(list(sess.get_providers()), list(dtypes.values()), [o.type for o in sess.get_outputs()])
        run, keep = make_runner(sess, feeds, dtypes, plan, spec.device_id, ort=spec.ort)
        for _ in range(warmup + runs):
            run()
        path = sess.end_profiling()
        del run, keep, sess
        try:
            with open(path, encoding="utf-8") as f:
                events = json.load(f)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read onnxruntime's profile: {one_line(exc)}") from None
        if trace is not None:
            _keep_trace(path, trace)
        sources = None
        if opt_path is not None:
            from .kernel_match import fused_sources, load_optimized

            optimized = load_optimized(opt_path)
            if optimized is not None:
                sources = fused_sources(original, optimized)
        return (*parse_profile(events, skip_runs=warmup), sources)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _keep_trace(path: str, target) -> None:
    """Copy onnxruntime's JSON trace to ``target`` (atomically)."""
    from ..render.files import write_atomic

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ModelError(f"cannot read onnxruntime's trace: {one_line(exc)}") from None
    write_atomic(target, data)


__all__ = [
    "CONTROL_FLOW", "DEFAULT_PER_NODE_RUNS", "MATCH_MAX_BYTES", "KernelTime", "join_nodes", "ort_node_names",
    "parse_profile", "profile_kernels", "profile_per_node",
]
