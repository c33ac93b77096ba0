"""What each section of the HTML report shows, from plain dicts (data, not HTML).

The summary cards, precision rows, the roofline section, the node table's columns and
rows (for the embedded JSON), the op type table, the settings and the benchmark rows:
each a function of the profile's ``to_dict()`` and the optional bench / roofline /
comparison dicts, for :func:`onnxstat.render.report_html.render_html` to lay out.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from . import units
from .report_compare import compare_view
from .report_values import _io_text, _nb, _num, _op_label, _shape_text, exact, fmt_seconds, js_value

# --------------------------------------------------------------------------- summary cards


def summary_cards(profile: Mapping, bench: Mapping | None = None, roofline: Mapping | None = None) -> list[dict]:
    """The summary cards: key, label, human value, exact value, optional sub-line."""
    t = profile.get("totals", {})
    cards = []

    def card(key, label, value, human, sub=None, exact_text=None):
        group = "perf" if key in ("latency_ms", "fps", "roofline_latency_s") else "cost"
        cards.append({
            "group": group,
            "key": key, "label": label, "value": exact(value), "human": human,
            "exact": exact_text if exact_text is not None else (units.count(value) if isinstance(value, int) else ""),
            "sub": sub,
        })

    card("params", "Parameters", t.get("params"), units.si(t.get("params")))
    card("macs", "MACs", t.get("macs"), units.si(t.get("macs")))
    card("flops", "FLOPs", t.get("flops"), units.si(t.get("flops")))
    card("weight_bytes", "Weight bytes", t.get("weight_bytes"), units.nbytes(t.get("weight_bytes")),
         sub=", ".join(f"{k} {units.nbytes(v)}" for k, v in sorted((t.get("weight_bytes_by_dtype") or {}).items())) or None)
    card("memory_traffic_bytes", "Memory traffic", t.get("memory_traffic_bytes"), units.nbytes(t.get("memory_traffic_bytes")),
         sub=f"read {_nb(units.nbytes(t.get('bytes_read')))} · written {_nb(units.nbytes(t.get('bytes_written')))}")
    if t.get("peak_activation_bytes") is not None:
        at = t.get("peak_at_node")
        card("peak_activation_bytes", "Peak activations", t.get("peak_activation_bytes"),
             units.nbytes(t.get("peak_activation_bytes")), sub=f"at {at}" if at else None)
    else:
        card("peak_activation_bytes", "Peak activations", None, "n/a", sub="not computed in this build", exact_text="")
    if bench:
        # the median is the headline: robust to the outliers a busy host adds; mean and tail in the sub-line
        lat = bench.get("latency_ms") or {}
        key = "p50" if _num(lat.get("p50")) is not None else "mean"
        head = lat.get(key)
        parts = [f"{k} {_num(lat[k]):.3f}" for k in ("mean", "p90", "p99") if k != key and _num(lat.get(k)) is not None]
        card("latency_ms", "Measured latency", head, "-" if _num(head) is None else f"{_num(head):.3f} ms",
             sub=("ms: " + " · ".join(parts)) if parts else None,
             exact_text=f"{'median' if key == 'p50' else 'mean'} of {bench.get('runs', '?')} runs")
        fps = bench.get("fps")
        card("fps", "Throughput", fps, units.fps_text(fps),
             sub=(f"batch {bench['batch']} · " if bench.get("batch") else "") + "from the mean latency", exact_text="")
    if roofline:
        lat_s = roofline_totals(roofline).get("roofline_latency_s")
        dev = roofline_device(roofline).get("name") or ""
        card("roofline_latency_s", "Roofline estimate", lat_s, fmt_seconds(lat_s),
             sub=f"lower bound on {dev}" if dev else "lower bound", exact_text="")
    return cards


def precision_rows(totals: Mapping) -> list[dict]:
    """One row per dtype: MACs (by compute precision), params and weight bytes (by weight dtype)."""
    macs = totals.get("macs_by_precision") or {}
    params = totals.get("params_by_dtype") or {}
    wbytes = totals.get("weight_bytes_by_dtype") or {}
    out = []
    for k in sorted(set(macs) | set(params) | set(wbytes)):
        out.append({"dtype": k, "macs": macs.get(k), "params": params.get(k), "weight_bytes": wbytes.get(k)})
    return out


# --------------------------------------------------------------------------- roofline dict access


def roofline_device(roofline: Mapping) -> dict:
    d = roofline.get("device")
    if isinstance(d, Mapping):
        return dict(d)
    return {"name": d} if d else {}


def roofline_totals(roofline: Mapping) -> dict:
    """Scalar totals of a roofline dict (``roofline_latency_s`` and friends)."""
    t = roofline.get("totals")
    out = dict(t) if isinstance(t, Mapping) else {}
    for k in ("roofline_latency_s", "compute_bound_time_s", "memory_bound_time_s", "measured_latency_s", "efficiency_pct"):
        if k in roofline and k not in out:
            out[k] = roofline[k]
    return out


def roofline_view(roofline: Mapping, svg: str | None = None) -> dict:
    """What the roofline section shows, from ``RooflineResult.to_dict()`` (+ ``nodes``)."""
    dev = roofline_device(roofline)
    tot = roofline_totals(roofline)
    device_rows: list[tuple[str, str]] = []
    peaks = dev.get("peak_flops_per_s")
    if isinstance(peaks, Mapping):
        for p, v in peaks.items():
            if v:
                device_rows.append((f"Peak {p}", units.rate(v, p)))
    elif _num(peaks) is not None:
        device_rows.append(("Peak", units.si(peaks, "FLOP/s")))
    bw = dev.get("bandwidth_bytes_per_s")
    if _num(bw) is not None:
        device_rows.append(("Memory bandwidth", units.nbytes(bw) + "/s"))
    ridge = dev.get("ridge_flops_per_byte")
    if isinstance(ridge, Mapping) and _num(ridge.get("fp32")) is not None:
        device_rows.append(("Ridge point (fp32)", f"{_num(ridge['fp32']):.1f} FLOPs/byte"))
    if dev.get("measured"):
        device_rows.append(("Measured", "yes (this host)"))
    total_rows: list[tuple[str, str, str, str]] = []  # (key, label, human, exact)
    for key, label in (("roofline_latency_s", "Roofline latency"), ("compute_bound_time_s", "Compute-bound time"),
                       ("memory_bound_time_s", "Memory-bound time"), ("measured_latency_s", "Measured latency (mean)")):
        if _num(tot.get(key)) is not None:
            total_rows.append((key, label, fmt_seconds(tot[key]), exact(tot[key])))
    if _num(tot.get("efficiency_pct")) is not None:
        total_rows.append(("efficiency_pct", "Efficiency (roofline / measured)", f"{_num(tot['efficiency_pct']):.1f}%",
                           exact(tot["efficiency_pct"])))
    counts = roofline.get("bound_counts")
    if not isinstance(counts, Mapping):
        counts = {}
        for r in roofline_nodes(roofline) or []:
            if r.get("bound"):
                counts[r["bound"]] = counts.get(r["bound"], 0) + 1
    ops = []
    for r in roofline.get("by_op_type") or []:
        ops.append({
            "label": _op_label(r.get("domain"), r.get("op_type", "?")), "count": r.get("count"),
            "intensity": "-" if _num(r.get("intensity")) is None else f"{_num(r['intensity']):.2f}",
            "time": fmt_seconds(r.get("roofline_time_s")), "time_exact": exact(r.get("roofline_time_s")),
            "share": "-" if _num(r.get("roofline_time_share")) is None else f"{100 * _num(r['roofline_time_share']):.1f}%",
            "share_frac": _num(r.get("roofline_time_share")) or 0.0,
            "compute": r.get("compute_bound_nodes", 0), "memory": r.get("memory_bound_nodes", 0),
        })
    return {
        "name": dev.get("name") or "device", "source": dev.get("source") or "", "device_notes": dev.get("notes") or "",
        "device_rows": device_rows, "total_rows": total_rows,
        "bounds": sorted(((k, v) for k, v in counts.items()), key=lambda kv: -kv[1]),
        "ops": ops, "warnings": list(roofline.get("warnings") or []), "svg": svg,
    }


def roofline_nodes(roofline: Mapping | None) -> list[Mapping] | None:
    if not roofline:
        return None
    nodes = roofline.get("nodes")
    return list(nodes) if isinstance(nodes, list) else None


# --------------------------------------------------------------------------- node table data

NODE_COLUMNS: list[dict] = [
    {"key": "index", "label": "#", "type": "int", "title": "position in graph (topological) order"},
    {"key": "path", "label": "Node", "type": "text"},
    {"key": "op", "label": "Op type", "type": "text"},
    {"key": "dtype", "label": "Precision", "type": "text", "title": "compute dtype"},
    {"key": "out_shape", "label": "Output shape", "type": "text"},
    {"key": "macs", "label": "MACs", "type": "count"},
    {"key": "flops", "label": "FLOPs", "type": "count"},
    {"key": "params", "label": "Params", "type": "count"},
    {"key": "weight_bytes", "label": "Weight bytes", "type": "bytes"},
    {"key": "bytes_read", "label": "Read", "type": "bytes", "title": "bytes read"},
    {"key": "bytes_written", "label": "Written", "type": "bytes", "title": "bytes written"},
    {"key": "memory_traffic_bytes", "label": "Traffic", "type": "bytes", "title": "bytes read + written"},
]

ROOFLINE_COLUMNS: list[dict] = [
    {"key": "intensity", "label": "Intensity", "type": "float", "title": "FLOPs per byte of memory traffic"},
    {"key": "bound", "label": "Bound", "type": "text", "title": "compute- or memory-bound on the device"},
    {"key": "roofline_time_s", "label": "Est. time", "type": "seconds", "title": "roofline time on the device"},
]


def node_table(profile: Mapping, roofline: Mapping | None = None) -> dict:
    """Column definitions and one row (list) per node, for the embedded JSON."""
    nodes = profile.get("nodes") or []
    rl_nodes = roofline_nodes(roofline)
    rl_by_key: dict = {}
    if rl_nodes is not None and len(rl_nodes) != len(nodes):
        for r in rl_nodes:
            k = r.get("path") or r.get("name")
            if k is not None:
                rl_by_key[k] = r
    columns = list(NODE_COLUMNS) + (list(ROOFLINE_COLUMNS) if rl_nodes is not None else [])
    rows = []
    for i, n in enumerate(nodes):
        outs = n.get("outputs") or []
        row = [
            i,
            n.get("path") or n.get("name") or f"node {i}",
            _op_label(n.get("domain"), n.get("op_type", "?")),
            n.get("compute_dtype") or "",
            "; ".join(_shape_text(o.get("shape")) for o in outs) or "-",
        ] + [js_value(n.get(k)) for k in ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written",
                                          "memory_traffic_bytes")]
        if rl_nodes is not None:
            if rl_by_key:
                r = rl_by_key.get(n.get("path")) or rl_by_key.get(n.get("name")) or {}
            else:
                r = rl_nodes[i] or {}
            row += [js_value(r.get("intensity")), r.get("bound"), js_value(r.get("roofline_time_s"))]
        rows.append(row)
    details = []
    for n in nodes:
        notes = list(n.get("notes") or []) + ([n["error"]] if n.get("error") else [])
        details.append([
            _io_text(n.get("inputs") or []),
            _io_text(n.get("outputs") or []),
            n.get("kind") or "",
            " | ".join(notes),
            js_value(n.get("repeat", 1)),
        ])
    return {"columns": columns, "rows": rows, "details": details}



def op_type_table(by_op_type: Sequence[Mapping], totals: Mapping) -> list[dict]:
    rows = []
    for r in by_op_type:
        rows.append({
            "label": _op_label(r.get("domain"), r.get("op_type", "?")),
            "op_type": r.get("op_type"),
            "kind": r.get("kind", ""),
            "count": r.get("count", 0),
            "macs": r.get("macs"), "flops": r.get("flops"), "params": r.get("params"),
            "weight_bytes": r.get("weight_bytes"), "traffic": r.get("memory_traffic_bytes"),
            "flops_share": units.pct(r.get("flops"), totals.get("flops")),
            "traffic_share": units.pct(r.get("memory_traffic_bytes"), totals.get("memory_traffic_bytes")),
            "dtypes": ", ".join(r.get("compute_dtypes") or []),
        })
    return rows


def _settings_rows(profile: Mapping, bench: Mapping | None, roofline: Mapping | None,
                   compare: Mapping | None) -> list[tuple[str, str]]:
    s = profile.get("settings") or {}
    rows = []
    ish = s.get("input_shapes") or {}
    rows.append(("Input shapes", ", ".join(f"{k}={units.shape(v)}" for k, v in ish.items()) or "from the model"))
    defaulted = s.get("defaulted_dims") or {}
    dims = {k: v for k, v in (s.get("dims") or {}).items() if k not in defaulted}
    rows.append(("Dims", ", ".join(f"{k}={v}" for k, v in dims.items()) or "none"))
    rows.append(("Shape source", str(s.get("shape_source", "onnx"))))
    rows.append(("Simplify", "yes" if s.get("simplify") else "no"))
    if defaulted:
        rows.append(("Dims not set", ", ".join(f"{k}={v} (default)" for k, v in defaulted.items())))
    for k, v in s.items():
        if k not in ("input_shapes", "dims", "shape_source", "simplify", "defaulted_dims", "model_dims", "unknown_dims"):
            rows.append((k.replace("_", " ").capitalize(), _setting_text(v)))
    if bench:
        parts = [f"{bench.get('runs', '?')} runs", f"{bench.get('warmup', '?')} warm-up"]
        prov = bench.get("providers_used") or bench.get("provider_requested")
        if prov:
            parts.append(", ".join(p.replace("ExecutionProvider", "") for p in prov))
        if bench.get("onnxruntime_version"):
            parts.append(f"onnxruntime {bench['onnxruntime_version']}")
        rows.append(("Benchmark", ", ".join(parts)))
    else:
        rows.append(("Benchmark", "not run (use --bench)"))
    if roofline:
        dev = roofline_device(roofline)
        rows.append(("Device", dev.get("name") or "?"))
    else:
        rows.append(("Device", "none (use --device NAME for the roofline)"))
    if compare:
        rows.append(("Compared with", ", ".join(m["label"] for m in compare_view(compare)["models"][1:]) or "-"))
    return rows


def _setting_text(v: Any) -> str:
    """A setting as a person reads it: ``sr=16000``, ``none`` for an empty map or list
    (never a raw ``{}``)."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={_setting_text(x)}" for k, x in v.items()) or "none"
    if isinstance(v, (list, tuple)):
        return ", ".join(_setting_text(x) for x in v) or "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "-" if v is None else str(v)



def _llm_view(d: Mapping) -> dict:
    from ..runtime.llm import PHASE_HEADERS, phase_rows, summary_rows

    return {"rows": summary_rows(d), "headers": PHASE_HEADERS, "phases": phase_rows(d),
            "warnings": list(d.get("warnings") or [])}



def _latency_rows(bench: Mapping) -> list[tuple[str, str, str]]:
    lat = bench.get("latency_ms") or {}
    order = ["mean", "std", "min", "p50", "p90", "p95", "p99", "max"]
    keys = [k for k in order if k in lat] + [k for k in lat if k not in order]
    return [(k, units.ms(lat[k]) if k != "std" else f"± {units.ms(lat[k])}", exact(lat[k])) for k in keys]


def _bench_rows(bench: Mapping) -> list[tuple[str, str, str, str]]:
    """(key, label, human, exact) rows describing a bench run (``onnxstat.bench/1``)."""
    rows = []

    def add(key, label, value, human=None):
        if value is None or value == "" or value == []:
            return
        rows.append((key, label, human if human is not None else str(value),
                     exact(value) if not isinstance(value, (list, dict)) else ""))

    fps = bench.get("fps")
    add("fps", "Throughput (from mean latency)", fps, None if _num(fps) is None else units.fps_text(fps))
    add("batch", "Batch", bench.get("batch"))
    add("runs", "Timed runs", bench.get("runs"))
    add("warmup", "Warm-up runs", bench.get("warmup"))
    add("first_run_ms", "First run", bench.get("first_run_ms"), units.ms(bench.get("first_run_ms")))
    add("session_init_ms", "Session creation", bench.get("session_init_ms"), units.ms(bench.get("session_init_ms")))
    prov = bench.get("providers_used") or bench.get("provider_requested")
    if prov:
        add("providers", "Execution providers", ", ".join(prov))
    so = bench.get("session_options") or {}
    if so:
        threads = so.get("intra_op_threads")
        add("threads", "Intra-op threads", threads, "onnxruntime default" if threads == 0 else None)
        add("opt_level", "Graph optimisation", so.get("graph_optimization_level"))
    add("timing_path", "Timing path", bench.get("timing_path"))
    add("onnxruntime_version", "onnxruntime", bench.get("onnxruntime_version"))
    return rows


