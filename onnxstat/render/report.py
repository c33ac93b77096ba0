"""A self-contained HTML report: one file, no network, opens from disk.

:func:`render_html` turns plain dicts into the page: the profile's ``to_dict()``
(contract ``onnxstat.profile/1``) plus, when present, a bench result dict, a
roofline dict (with an optional inline SVG chart) and a comparison dict.  Each
section appears when its data is there.

:func:`build_report` profiles a model and gathers the optional data; the
modules that produce it (``bench``, ``roofline``/``plot``, ``memory``,
``compare``) are imported lazily, so a build without one of them still gives a
report, with a note where the section would have been.

The page embeds the node data once, as JSON in a ``<script
type="application/json">`` block; a small inline script renders the node table a
page at a time and sorts / filters the data array (exact integers: numbers up to
2**53 - 1 stay JSON numbers, larger ones become decimal strings compared as
BigInt).  Styles, scripts and charts are inline; nothing is fetched.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .. import __version__
from . import units
from ..errors import UsageError

TEMPLATES = Path(__file__).with_name("templates")

#: largest integer a JavaScript number holds exactly
JS_MAX_SAFE = 2**53 - 1

# --------------------------------------------------------------------------- helpers


def _num(x: Any) -> float | None:
    """A float for arithmetic (charts, ratios), None for symbolic / missing values."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def exact(x: Any) -> str:
    """The exact value for a ``data-value`` attribute: integers in full, floats by repr."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else ""
    return str(x)


def js_value(x: Any) -> Any:
    """A cell value for the embedded JSON: ints beyond 2**53 - 1 as decimal strings."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int) and abs(x) > JS_MAX_SAFE:
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def script_json(obj: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _shape_text(shape) -> str:
    return units.shape(shape)


def _io_text(ios: Sequence[Mapping]) -> str:
    return ", ".join(f"{d.get('name')}: {d.get('dtype')} [{_shape_text(d.get('shape'))}]" for d in ios)


def _op_label(domain: str | None, op_type: str) -> str:
    d = domain or ""
    return f"{d}::{op_type}" if d not in ("", "ai.onnx") else op_type


def _fmt_seconds(s: Any) -> str:
    v = _num(s)
    if v is None:
        return "-"
    if v >= 1:
        return f"{v:.3f} s"
    if v >= 1e-3:
        return f"{v * 1e3:.3f} ms"
    if v >= 1e-6:
        return f"{v * 1e6:.2f} µs"
    if v >= 1e-9:
        return f"{v * 1e9:.2f} ns"
    if v == 0:
        return "0 s"
    return f"{v * 1e12:.2f} ps"


def _fmt_rate(x: Any, unit: str) -> str:
    v = _num(x)
    return "-" if v is None else units.si(v, unit)


# --------------------------------------------------------------------------- summary cards


def _nb(text: str) -> str:
    """Keep a number and its unit on one line."""
    return text.replace(" ", "\u00a0")


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
        card("roofline_latency_s", "Roofline estimate", lat_s, _fmt_seconds(lat_s),
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
            total_rows.append((key, label, _fmt_seconds(tot[key]), exact(tot[key])))
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
            "time": _fmt_seconds(r.get("roofline_time_s")), "time_exact": exact(r.get("roofline_time_s")),
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
        ] + [js_value(n.get(k)) for k in ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written", "memory_traffic_bytes")]
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


# --------------------------------------------------------------------------- op type chart (inline SVG)

CHART_METRICS = (
    ("macs", "MACs", "#4f46e5"),
    ("flops", "FLOPs", "#0891b2"),
    ("memory_traffic_bytes", "Memory traffic", "#d97706"),
)


def _share(part: Any, whole: Any) -> float:
    p, w = _num(part), _num(whole)
    if p is None or not w:
        return 0.0
    return max(0.0, min(1.0, p / w))


def chart_op_rows(by_op_type: Sequence[Mapping], limit: int = 12) -> list[dict]:
    """The op types the chart shows: the heaviest by FLOPs or by traffic, the rest as one row."""
    rows = list(by_op_type)
    if len(rows) <= limit:
        return [dict(r, label=_op_label(r.get("domain"), r.get("op_type", "?"))) for r in rows]
    keep = limit - 1

    def rank(key):
        return sorted(range(len(rows)), key=lambda i: -(_num(rows[i].get(key)) or 0.0))

    chosen: list[int] = []
    by_flops, by_traffic = rank("flops"), rank("memory_traffic_bytes")
    for a, b in zip(by_flops, by_traffic):
        for i in (a, b):
            if i not in chosen and len(chosen) < keep:
                chosen.append(i)
        if len(chosen) >= keep:
            break
    chosen_set = set(chosen)
    out = [dict(rows[i], label=_op_label(rows[i].get("domain"), rows[i].get("op_type", "?"))) for i in sorted(chosen)]
    rest = [rows[i] for i in range(len(rows)) if i not in chosen_set]
    other = {"label": f"{len(rest)} other op types", "count": 0}
    for key in ("count", "macs", "flops", "params", "memory_traffic_bytes"):
        total = 0
        for r in rest:
            v = r.get(key)
            if isinstance(v, int) and isinstance(total, int):
                total += v
            elif _num(v) is not None:
                total = float(total) + _num(v)
        other[key] = total
    out.append(other)
    return out


def _pct_label(share: float) -> str:
    p = 100 * share
    return f"{p:.1f}%" if p >= 0.1 else "<0.1%"


def op_type_chart_svg(by_op_type: Sequence[Mapping], totals: Mapping, limit: int = 12) -> str:
    """Grouped horizontal bars: each op type's share of MACs, FLOPs and memory traffic."""
    costly = [r for r in by_op_type if any(_share(r.get(k), totals.get(k)) > 0 for k, _n, _c in CHART_METRICS)]
    rows = chart_op_rows(costly, limit)
    if not rows:
        return ""
    label_w, bar_w, value_w = 140, 340, 50
    bar_h, gap_in, gap_out, top = 9, 2, 12, 34
    group_h = 3 * bar_h + 2 * gap_in
    width = label_w + bar_w + value_w
    height = top + len(rows) * (group_h + gap_out) + 34
    x0 = label_w
    esc = html.escape
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Share of MACs, FLOPs and memory traffic by op type" '
        f'font-family="-apple-system,BlinkMacSystemFont,Segoe UI,Roboto,Helvetica,Arial,sans-serif" font-size="12">'
    ]
    lx = x0
    for _key, name, color in CHART_METRICS:
        out.append(f'<rect x="{lx}" y="6" width="11" height="11" rx="2" fill="{color}"/>')
        out.append(f'<text x="{lx + 16}" y="15.5" fill="#334155">{esc(name)}</text>')
        lx += 30 + 7 * len(name)
    grid_bottom = top + len(rows) * (group_h + gap_out) - gap_out + 4
    for k in range(5):
        gx = x0 + bar_w * k / 4
        out.append(f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{grid_bottom}" stroke="#e2e8f0" stroke-width="1"/>')
        out.append(f'<text x="{gx:.1f}" y="{grid_bottom + 13}" fill="#94a3b8" font-size="10.5" text-anchor="middle">{25 * k}%</text>')
    out.append(f'<text x="{x0 + bar_w / 2:.1f}" y="{grid_bottom + 29}" fill="#64748b" font-size="11" text-anchor="middle">'
               f'share of the model total</text>')
    y = top
    for r in rows:
        label = r["label"]
        shown = label if len(label) <= 20 else label[:19] + "…"
        cy = y + group_h / 2 + 4
        out.append(f'<text x="{x0 - 10}" y="{cy:.1f}" fill="#0f172a" text-anchor="end" font-weight="600">{esc(shown)}'
                   f'<title>{esc(label)} ({r.get("count", 0)} nodes)</title></text>')
        for j, (key, name, color) in enumerate(CHART_METRICS):
            share = _share(r.get(key), totals.get(key))
            by = y + j * (bar_h + gap_in)
            w = bar_w * share
            human = units.nbytes(r.get(key)) if key == "memory_traffic_bytes" else units.si(r.get(key))
            tip = f"{label}: {name} {human} ({units.count(r.get(key))}), {100 * share:.1f}% of total"
            out.append(f'<rect x="{x0}" y="{by}" width="{max(w, 0.0):.1f}" height="{bar_h}" rx="1.5" fill="{color}">'
                       f'<title>{esc(tip)}</title></rect>')
            if share > 0:
                out.append(f'<text x="{x0 + w + 5:.1f}" y="{by + bar_h - 1}" fill="#475569" font-size="10">'
                           f'{_pct_label(share)}</text>')
        y += group_h + gap_out
    out.append("</svg>")
    return "".join(out)


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


# --------------------------------------------------------------------------- comparison

#: comparison rows: (key, label, kind, which direction is better)
COMPARE_METRICS = (
    ("file_size", "File size", "bytes", "lower"),
    ("params", "Parameters", "count", "lower"),
    ("weight_bytes", "Weight bytes", "bytes", "lower"),
    ("macs", "MACs", "count", "lower"),
    ("flops", "FLOPs", "count", "lower"),
    ("memory_traffic_bytes", "Memory traffic", "bytes", "lower"),
    ("arithmetic_intensity", "Arithmetic intensity", "intensity", None),
    ("peak_activation_bytes", "Peak activation memory", "bytes", "lower"),
    ("low_precision_mac_share", "Low-precision MAC share", "share", None),
    ("node_count", "Nodes", "int", None),
    ("latency_mean_ms", "Latency mean", "ms", "lower"),
    ("latency_p50_ms", "Latency p50", "ms", "lower"),
    ("latency_p90_ms", "Latency p90", "ms", "lower"),
    ("fps", "Throughput (FPS)", "fps", "higher"),
)


def _human(v: Any, kind: str) -> str:
    if v is None:
        return "-"
    if _num(v) is None:
        return str(v)
    if kind == "bytes":
        return units.nbytes(v)
    if kind == "count":
        return units.si(v)
    if kind == "ms":
        return units.ms(v)
    if kind == "intensity":
        return f"{_num(v):.2f} FLOPs/B"
    if kind == "share":
        return f"{100 * _num(v):.1f}%"
    if kind == "fps":
        return units.fps_text(v)
    return units.count(v)


def _ratio(v: Any, base: Any, better: str | None = None) -> tuple[str, str]:
    """("0.25×", css class) of v against the baseline; the class says better / worse / same."""
    a, b = _num(v), _num(base)
    if a is None or b is None:
        return "-", ""
    if b == 0:
        return ("=" if a == 0 else "new"), ""
    r = a / b
    if abs(r - 1) < 5e-4:
        return "=", "same"
    cls = ""
    if better == "lower":
        cls = "better" if r < 1 else "worse"
    elif better == "higher":
        cls = "better" if r > 1 else "worse"
    text = f"{r:.3g}"
    if text == "1":  # not the same, but rounds to 1 at 3 digits: show the difference
        text = f"{r:.4g}"
    return f"{text}×", cls


def _metric(m: Mapping, key: str) -> Any:
    t = m.get("totals") or {}
    bench = m.get("bench") or {}
    if key == "file_size":
        return m.get("file_size")
    if key in ("latency_mean_ms", "latency_p50_ms", "latency_p90_ms"):
        return (bench.get("latency_ms") or {}).get(key.split("_")[1])
    if key == "fps":
        return bench.get("fps")
    return t.get(key)


def _by_dtype(d: Mapping | None, fmt) -> str:
    items = [(k, v) for k, v in (d or {}).items() if _num(v)]
    return ", ".join(f"{k} {fmt(v)}" for k, v in sorted(items)) or "-"


def compare_view(compare: Mapping) -> dict:
    """Normalise a comparison for the template.

    Accepts an ``onnxstat.compare/1`` dict (``models``: per-model dicts with
    ``label``, ``path``, ``file_size``, ``totals``, ``bench``; ``by_op_type``;
    ``structure``; ``warnings``) or the report's own fallback
    ``{"profiles": [profile dicts]}`` (totals only).
    """
    models = []
    if isinstance(compare.get("profiles"), list):
        for p in compare["profiles"]:
            mdl = p.get("model") or {}
            models.append({"label": Path(_model_name(p)).stem, "path": mdl.get("path"), "file_size": mdl.get("file_size"),
                           "totals": p.get("totals") or {}, "bench": None})
    else:
        for m in compare.get("models") or []:
            if isinstance(m, Mapping):
                models.append(dict(m, label=str(m.get("label") or Path(str(m.get("path") or "model")).stem)))
    rows = []
    base = models[0] if models else {}
    for key, label, kind, better in COMPARE_METRICS:
        vals = [_metric(m, key) for m in models]
        if all(v is None for v in vals):
            continue
        cells = []
        for i, v in enumerate(vals):
            ratio, cls = _ratio(v, _metric(base, key), better) if i else ("", "")
            cells.append({"human": _human(v, kind), "value": exact(v), "ratio": ratio, "cls": cls})
        rows.append({"key": key, "label": label, "cells": cells})
    if any(_metric(m, "latency_mean_ms") is not None for m in models):  # the one speedup definition
        base_mean = _metric(base, "latency_mean_ms")
        sp = [units.speedup(base_mean, _metric(m, "latency_mean_ms")) for m in models]
        rows.append({"key": "speedup", "label": "Speedup (baseline mean / mean)", "cells": [
            {"human": units.speedup_text(s), "value": exact(s), "ratio": "", "cls": ""} for s in sp]})
    text_rows = [
        ("MACs by precision", [_by_dtype((m.get("totals") or {}).get("macs_by_precision"), units.si) for m in models]),
        ("Weight bytes by dtype", [_by_dtype((m.get("totals") or {}).get("weight_bytes_by_dtype"), units.nbytes) for m in models]),
    ]
    if any(m.get("qdq_overhead") for m in models):
        text_rows.append(("Q/DQ nodes", [
            (f"{q['count']} ({units.si(q.get('flops'))} FLOPs)" if q.get("count") else "0")
            for q in ((m.get("qdq_overhead") or {}) for m in models)
        ]))
    op_rows = []
    for r in compare.get("by_op_type") or []:
        cells = []
        for c in r.get("models") or []:
            if not c:
                cells.append(None)
                continue
            ops = c.get("op_types") or {}
            prec = c.get("precision") or {}
            work = f"{units.si(c.get('macs'))} MACs" if _num(c.get("macs")) else f"{units.si(c.get('flops'))} FLOPs"
            n = c.get("count", 0)
            cells.append({
                "count": n, "work": f"{n} node{'' if n == 1 else 's'} · {work}", "macs": exact(c.get("macs")),
                "ops": ", ".join(f"{o} ×{n}" for o, n in ops.items()) if (len(ops) > 1 or r.get("op_type") not in ops) else "",
                "precision": ", ".join(prec) if len(prec) <= 1 else ", ".join(f"{k} ×{v}" for k, v in prec.items()),
                "low": any(k in ("int8", "uint8", "int4", "uint4", "float16", "bfloat16") for k in prec),
            })
        op_rows.append({"op_type": r.get("op_type"), "cells": cells})
    head: list = []
    tail: list = []
    if compare.get("variants") or any(m.get("fidelity") or m.get("variant") for m in models):
        from ..runtime.fidelity import layer_tables, summary_rows as fidelity_rows
        from ..runtime.variants import decision_table, variant_table

        text_rows.extend(fidelity_rows(models))
        head = decision_table(models, (compare.get("ratios") or {}).get("speedup"))
        tail = variant_table(compare.get("variants") or []) + layer_tables(models)
    structure = compare.get("structure") or {}
    return {"models": models, "rows": rows, "text_rows": text_rows, "op_rows": op_rows,
            "head_tables": head, "tail_tables": tail,
            "note": structure.get("note") or "", "warnings": list(compare.get("warnings") or [])}


def _model_name(profile: Mapping) -> str:
    p = (profile.get("model") or {}).get("path")
    return Path(p).name if p else "(in memory)"


# --------------------------------------------------------------------------- rendering


def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["si"] = units.si
    env.filters["nbytes"] = units.nbytes
    env.filters["count"] = units.count
    env.filters["shape"] = units.shape
    env.filters["exact"] = exact
    env.filters["ms"] = units.ms
    env.filters["seconds"] = _fmt_seconds
    return env


def _settings_rows(profile: Mapping, bench: Mapping | None, roofline: Mapping | None, compare: Mapping | None) -> list[tuple[str, str]]:
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


NOTE_KEYS = ("memory", "roofline", "roofline_chart", "bench", "compare")


def render_html(
    profile: Mapping,
    *,
    bench: Mapping | None = None,
    roofline: Mapping | None = None,
    roofline_svg: str | None = None,
    compare: Mapping | None = None,
    notes: Mapping[str, str] | None = None,
    generated_at: str | None = None,
    page_size: int = 100,
    llm: Mapping | None = None,
) -> str:
    """The HTML page for a profile dict (``ProfileResult.to_dict()``) and optional extras.

    ``notes`` maps a section ("bench", "roofline", "compare", "memory") to a line
    shown in the page where that section's data is missing.  ``llm`` (``LLMResult.to_dict()``
    of ``onnxstat llm``) adds the decoder section: phases, KV cache, tokens/s.
    """
    if not isinstance(profile, Mapping) or "totals" not in profile:
        raise UsageError("render_html needs a profile dict (ProfileResult.to_dict())")
    notes = {k: "" for k in NOTE_KEYS} | dict(notes or {})
    table = node_table(profile, roofline)
    totals = {"macs": None, "flops": None, "params": None, "weight_bytes": None, "memory_traffic_bytes": None,
              "arithmetic_intensity": None, "node_count": len(table["rows"])} | dict(profile.get("totals") or {})
    model = {"path": None, "file_size": None, "ir_version": "?", "producer": "", "opset": {}} | dict(profile.get("model") or {})
    op_types = sorted({r[2] for r in table["rows"]})
    op_counts: dict[str, int] = {}
    for r in table["rows"]:
        op_counts[r[2]] = op_counts.get(r[2], 0) + 1
    summary = {
        "schema": profile.get("schema"),
        "model": model,
        "settings": profile.get("settings"),
        "totals": {k: js_value(v) for k, v in totals.items() if not isinstance(v, dict)},
    }
    if bench:
        summary["bench"] = {k: bench.get(k) for k in ("latency_ms", "fps", "runs", "warmup") if k in bench}
    if roofline:
        summary["roofline"] = {"device": roofline_device(roofline).get("name"), "totals": roofline_totals(roofline)}
    rl = roofline_view(roofline, roofline_svg) if roofline else None
    ctx = {
        "version": __version__,
        "generated_at": generated_at or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "title": _model_name(profile),
        "profile": profile,
        "model": model,
        "opset": ", ".join(f"{d} {v}" for d, v in (model.get("opset") or {}).items()),
        "totals": totals,
        "cards": summary_cards(profile, bench, roofline),
        "settings_rows": _settings_rows(profile, bench, roofline, compare),
        "inputs": profile.get("inputs") or [],
        "outputs": profile.get("outputs") or [],
        "op_chart": op_type_chart_svg(profile.get("by_op_type") or [], totals),
        "op_rows": op_type_table(profile.get("by_op_type") or [], totals),
        "node_json": script_json({"columns": table["columns"], "rows": table["rows"], "details": table["details"],
                                  "pageSize": page_size}),
        "summary_json": script_json(summary),
        "node_columns": table["columns"],
        "node_count": len(table["rows"]),
        "op_filter": [(o, op_counts[o]) for o in op_types],
        "unsupported": profile.get("unsupported") or [],
        "warnings": profile.get("warnings") or [],
        "bench": bench,
        "latency_rows": _latency_rows(bench) if bench else [],
        "bench_rows": _bench_rows(bench) if bench else [],
        "bench_warnings": list((bench or {}).get("warnings") or []),
        "roofline": rl,
        "compare": compare_view(compare) if compare else None,
        "simplify": profile.get("simplify"),
        "notes": notes,
        "precision_rows": precision_rows(totals),
        "llm": _llm_view(llm) if llm else None,
        "scope_html": _scope_html(profile.get("by_scope")),
    }
    from markupsafe import Markup

    ctx["css"] = Markup(_asset("report.css"))
    ctx["js"] = Markup(_asset("report.js").replace("</", "<\\/"))
    return _env().get_template("report.html.j2").render(**ctx)


def _llm_view(d: Mapping) -> dict:
    from ..runtime.llm import PHASE_HEADERS, phase_rows, summary_rows

    return {"rows": summary_rows(d), "headers": PHASE_HEADERS, "phases": phase_rows(d),
            "warnings": list(d.get("warnings") or [])}


def _scope_html(rows) -> str | None:
    """The collapsible module tree when the node names carry scopes (onnxstat.scopes)."""
    from ..passes.scopes import has_scopes, scope_tree_html

    if not rows or not has_scopes(rows):
        return None
    from markupsafe import Markup

    return Markup(scope_tree_html(rows))


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


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
        rows.append((key, label, human if human is not None else str(value), exact(value) if not isinstance(value, (list, dict)) else ""))

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


# --------------------------------------------------------------------------- building


def _dict(x: Any) -> dict | None:
    if x is None:
        return None
    if isinstance(x, Mapping):
        return dict(x)
    if hasattr(x, "to_dict"):
        return x.to_dict()
    return None


def build_report(
    model,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    bench: bool = False,
    runs: int | None = None,
    warmup: int | None = None,
    device: Any = None,
    compare: Iterable = (),
    simplify: bool = False,
    shape_source: str = "onnx",
    generated_at: str | None = None,
    compare_options: Mapping[str, Any] | None = None,
    input_values: Mapping[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """Profile ``model`` (a path, ModelProto or an existing ProfileResult) and render the page.

    ``device`` is a preset name or a ``roofline.Device``; a ProfileResult made
    with ``profile(..., device=...)`` brings its own.  ``compare`` lists models
    profiled at the same shapes (the first, ``model``, is the baseline);
    ``compare_options`` (``variants``, ``fidelity``, ``localize``, ...) go to
    :func:`onnxstat.runtime.variants.compare_models`.

    Returns ``(html, messages)``; messages name the sections left out because the
    module that computes them is not in this build.
    """
    from ..profiler import profile as _profile
    from ..result import ProfileResult

    messages: list[str] = []
    notes: dict[str, str] = {}
    if isinstance(model, ProfileResult):
        res = model
    else:
        res = _profile(model, input_shapes, dims, simplify=simplify, shape_source=shape_source,
                       input_values=input_values)
    if isinstance(device, str) and not device.strip():
        raise UsageError("--device: give a device name (see 'onnxstat devices')")

    def missing(section: str, module: str, what: str) -> None:
        msg = f"{what} left out: onnxstat.{module} is not available in this build"
        notes[section] = msg
        messages.append(msg)

    # peak activation memory
    if res.totals.peak_activation_bytes is None:
        try:
            from ..passes import memory
        except ImportError:
            missing("memory", "memory", "peak activation memory")
        else:
            _apply_memory(memory, res)

    source = model if not isinstance(model, ProfileResult) else res.path

    # benchmark (before the roofline, which reports its efficiency against the measurement)
    bench_mod = None
    if bench:
        if source is None:
            raise UsageError("--bench needs the model itself (a path or ModelProto), not only its profile")
        try:
            from ..runtime import bench as bench_mod
        except ImportError:
            missing("bench", "bench", "measured latency")

    # comparison (with --bench it measures every model, the baseline included)
    compare = list(compare or ())
    compare_d = None
    if compare or compare_options:
        compare_d = _compare(res, source, compare, input_shapes, dims, bench_mod is not None, runs, warmup,
                             simplify, shape_source, notes, compare_options)
    bench_d = None
    if not bench and isinstance(res.extras.get("bench"), Mapping):
        bench_d = dict(res.extras["bench"])  # measured when the profile was made (profile --bench)
    if bench_mod is not None:
        if compare_d and compare_d.get("models") and compare_d["models"][0].get("bench"):
            bench_d = dict(compare_d["models"][0]["bench"])
        else:
            bench_d = _run_bench(bench_mod, source, input_shapes, dims, runs, warmup)

    # roofline: the device asked for, or the one the profile was made with
    roofline = roofline_svg = None
    if device is not None or getattr(res, "roofline", None) is not None:
        try:
            from ..passes import roofline as rl_mod
        except ImportError:
            if device is not None:
                missing("roofline", "roofline", "roofline")
        else:
            if device is None:
                dev = res.roofline.device
            elif isinstance(device, str):
                dev = rl_mod.get_device(device)
            else:
                dev = device
            roofline, rl_obj = _apply_roofline(rl_mod, res, dev, bench_d)
            try:
                from . import plot
            except ImportError:
                missing("roofline_chart", "plot", "roofline chart")
            else:
                roofline_svg = _roofline_svg(plot, res, dev, rl_obj)

    if "by_scope" not in res.extras:  # the module tree, from the node names
        from ..passes.scopes import by_scope

        res.extras["by_scope"] = by_scope(res)
    page = render_html(res.to_dict(), bench=bench_d, roofline=roofline, roofline_svg=roofline_svg,
                       compare=compare_d, notes=notes, generated_at=generated_at)
    return page, messages


def _apply_memory(memory, res) -> None:
    out = memory.peak_activation(res)
    if res.totals.peak_activation_bytes is None and out is not None:
        peak = getattr(out, "peak_bytes", None)
        if peak is None and isinstance(out, Mapping):
            peak = out.get("peak_activation_bytes", out.get("peak_bytes"))
        if peak is None and isinstance(out, int):
            peak = out
        if peak is not None:
            res.totals.peak_activation_bytes = peak
            at = getattr(out, "peak_at_node", None)
            if at is None and isinstance(out, Mapping):
                at = out.get("peak_at_node")
            res.totals.peak_at_node = at


def _apply_roofline(rl_mod, res, dev, bench: Mapping | None) -> tuple[dict, Any]:
    """The roofline as a dict (``to_dict()`` plus ``nodes`` aligned with the profile's nodes) and the object.

    With a measurement the roofline reports its efficiency against the mean
    latency, as ``onnxstat profile --bench --device`` does.  ``attach_roofline``
    also puts the per-node fields on ``res`` (its JSON then carries them).
    """
    mean_ms = _num(((bench or {}).get("latency_ms") or {}).get("mean"))
    measured = mean_ms / 1e3 if mean_ms else None
    if hasattr(rl_mod, "attach_roofline"):
        out = rl_mod.attach_roofline(res, dev, measured_latency_s=measured,
                                     providers_used=(bench or {}).get("providers_used"))
    else:
        out = rl_mod.apply_roofline(res, dev)
        if measured and hasattr(out, "set_measured"):
            out.set_measured(measured)
    d = _dict(out) or {}
    if "nodes" not in d and hasattr(out, "node_extras"):
        d["nodes"] = [dict(n, path=p.path) for n, p in zip(out.node_extras, res.nodes)]
    if "device" not in d:
        d["device"] = _dict(dev) or {"name": str(dev)}
    return d, out


def _roofline_svg(plot, res, dev, rl_obj=None) -> str | None:
    """The roofline chart as inline SVG text (matplotlib; text drawn as paths, no fonts needed)."""
    if hasattr(plot, "render_roofline"):
        data = plot.render_roofline(res, dev, "svg", rl=rl_obj)
        text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
    else:
        fd, tmp = tempfile.mkstemp(suffix=".svg")
        os.close(fd)
        try:
            plot.plot_roofline(res, dev, tmp)
            text = Path(tmp).read_text(encoding="utf-8")
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    start = text.find("<svg")
    return text[start:] if start >= 0 else None


def _run_bench(bench_mod, model, input_shapes, dims, runs, warmup) -> dict:
    kw = {}
    if runs is not None:
        kw["runs"] = runs
    if warmup is not None:
        kw["warmup"] = warmup
    out = bench_mod.bench(model, input_shapes, dims, **kw)
    return _dict(out) or {}


def _compare(res, source, others, input_shapes, dims, bench, runs, warmup, simplify, shape_source, notes,
             options=None) -> dict:
    """The comparison dict: ``onnxstat.compare/1`` when the compare module is there, else totals of each profile."""
    from ..profiler import profile as _profile

    try:
        from ..multi import compare as cmp_mod
    except ImportError:
        cmp_mod = None
    if options:
        if cmp_mod is None or source is None:
            raise UsageError("variants and fidelity need onnxstat.compare and the model itself, not only its profile")
        from ..runtime.variants import compare_models

        cmp = compare_models([source, *others], input_shapes, dims, bench=bench, runs=runs, warmup=warmup,
                             shape_source=shape_source, **options)
        return _dict(cmp) or {}
    if cmp_mod is not None and source is not None:
        cmp = cmp_mod.compare([source, *others], input_shapes, dims, bench=bench, runs=runs, warmup=warmup,
                              shape_source=shape_source)
        if simplify:
            notes["compare"] = "the comparison profiles every model as given (without --simplify)"
        return _dict(cmp) or {}
    notes["compare"] = ("totals only: onnxstat.compare is not available in this build" if cmp_mod is None
                        else "totals only: the baseline was given as a profile")
    try:
        from ..passes import memory
    except ImportError:
        memory = None
    profiles = [res.to_dict()]
    for m in others:
        other = _profile(m, input_shapes, dims, simplify=simplify, shape_source=shape_source, strict_dims=False)
        if memory is not None and other.totals.peak_activation_bytes is None:
            _apply_memory(memory, other)
        profiles.append(other.to_dict())
    return {"profiles": profiles}


# --------------------------------------------------------------------------- public API


@dataclass
class Report:
    """What :func:`report` returns: the self-contained HTML page and the notes about it."""

    html: str
    model: str | None = None
    messages: list[str] = field(default_factory=list)

    def save(self, path) -> Path:
        """Write the page to ``path`` atomically; returns the path."""
        from .files import check_output_path, write_atomic

        check_output_path(path)
        write_atomic(path, self.html)
        return Path(path)

    def to_dict(self) -> dict:
        return {"schema": "onnxstat.report/1", "model": self.model, "html_bytes": len(self.html.encode("utf-8")),
                "messages": list(self.messages)}

    def __repr__(self) -> str:
        from .._callable import short_path

        return (f"Report(model={short_path(self.model)!r}, html={len(self.html.encode('utf-8')):,} bytes, "
                f"messages={len(self.messages)})")


def report(
    model,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    output=None,
    bench: bool = False,
    runs: int | None = None,
    warmup: int | None = None,
    device: Any = None,
    compare: Iterable = (),
    simplify: bool = False,
    shape_source: str = "onnx",
    input_values: Mapping[str, Any] | None = None,
) -> Report:
    """The HTML report of ``model`` (a path, a ModelProto or a :class:`ProfileResult`), as
    :class:`Report`; ``output`` also writes it there (atomically).

    Arguments as :func:`onnxstat.profile`, plus ``bench`` (measure with onnxruntime),
    ``device`` (roofline preset or :class:`onnxstat.passes.roofline.Device`) and ``compare``
    (more models, side by side; ``model`` is the baseline).

    >>> import onnxstat
    >>> rep = onnxstat.report("model.onnx", dims={"batch": 1}, output="model.html")
    >>> rep.save("copy.html")
    """
    from ..result import ProfileResult

    page, messages = build_report(model, input_shapes, dims, bench=bench, runs=runs, warmup=warmup, device=device,
                                  compare=compare, simplify=simplify, shape_source=shape_source,
                                  input_values=input_values)
    path = model.path if isinstance(model, ProfileResult) else (str(model) if isinstance(model, (str, Path)) else None)
    rep = Report(page, path, list(messages))
    if output is not None:
        rep.save(output)
    return rep


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "report")
