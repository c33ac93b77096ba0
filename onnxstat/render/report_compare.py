"""The comparison section of the HTML report: models side by side against the baseline.

:func:`compare_view` normalises an ``onnxstat.compare/1`` dict (or the report's own
fallback, the totals of each profile) into rows of cells with their ratio to the
baseline and whether it is better or worse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from . import units
from .report_values import _model_name, _num, exact

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
        ("Weight bytes by dtype",
         [_by_dtype((m.get("totals") or {}).get("weight_bytes_by_dtype"), units.nbytes) for m in models]),
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
        from ..runtime.fidelity import layer_tables
        from ..runtime.fidelity import summary_rows as fidelity_rows
        from ..runtime.variants import decision_table, variant_table

        text_rows.extend(fidelity_rows(models))
        head = decision_table(models, (compare.get("ratios") or {}).get("speedup"))
        tail = variant_table(compare.get("variants") or []) + layer_tables(models)
    structure = compare.get("structure") or {}
    return {"models": models, "rows": rows, "text_rows": text_rows, "op_rows": op_rows,
            "head_tables": head, "tail_tables": tail,
            "note": structure.get("note") or "", "warnings": list(compare.get("warnings") or [])}


