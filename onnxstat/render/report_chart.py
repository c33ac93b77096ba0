"""The op type chart of the HTML report: grouped horizontal bars as inline SVG.

Each op type's share of the model's MACs, FLOPs and memory traffic; the heaviest op
types by FLOPs or by traffic, the rest as one row.  No fonts, scripts or images: plain
SVG text that the page embeds.
"""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

from . import units
from .report_values import _num, _op_label

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
        out.append(f'<text x="{gx:.1f}" y="{grid_bottom + 13}" fill="#94a3b8" font-size="10.5" text-anchor="middle">'
                   f'{25 * k}%</text>')
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


