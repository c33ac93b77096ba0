"""The HTML page of the report: the Jinja template, its filters and the inline assets.

:func:`render_html` gathers what every section shows (:mod:`onnxstat.render.report_sections`,
:mod:`onnxstat.render.report_chart`, :mod:`onnxstat.render.report_compare`) and renders
``templates/report.html.j2`` with the styles and script inlined: one file, nothing fetched.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Mapping

from .. import __version__
from ..errors import UsageError
from . import units
from .report_chart import op_type_chart_svg
from .report_compare import compare_view
from .report_sections import (
    _bench_rows,
    _latency_rows,
    _llm_view,
    _settings_rows,
    node_table,
    op_type_table,
    precision_rows,
    roofline_device,
    roofline_totals,
    roofline_view,
    summary_cards,
)
from .report_values import _model_name, exact, fmt_seconds, js_value, script_json

TEMPLATES = Path(__file__).with_name("templates")

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
    env.filters["seconds"] = fmt_seconds
    return env



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



def _scope_html(rows) -> str | None:
    """The collapsible module tree when the node names carry scopes (onnxstat.scopes)."""
    from ..passes.scopes import has_scopes, scope_tree_html

    if not rows or not has_scopes(rows):
        return None
    from markupsafe import Markup

    return Markup(scope_tree_html(rows))


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


