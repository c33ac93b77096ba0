"""Views of a :class:`SymbolicResult`: formula lines, the terminal tables and Markdown."""

from __future__ import annotations

from typing import Sequence

from .formulas import _has_floor, exact, pretty, smooth, trend
from .profile import LABELS, TOTAL_METRICS, SymbolicResult


def symbolic_lines(res: SymbolicResult,
                   metrics: Sequence[str] = ("macs", "flops", "params", "weight_bytes", "memory_traffic_bytes")) -> list[str]:
    """``MACs = 7668032·batch`` lines (with the smooth trend when a formula has floors)."""
    out = []
    for m in metrics:
        e = res.totals[m]
        line = f"{LABELS[m]} = {pretty(e)}"
        if _has_floor(e):
            line += f"   (≈ {pretty(smooth(e))})"
        out.append(line)
    return out


def print_symbolic(res: SymbolicResult, console=None, top: int | None = None) -> None:
    """Terminal view: totals as formulas, then MACs/FLOPs/traffic formulas per op type."""
    from rich.table import Table

    from ...render.formats import terminal_console

    console = console or terminal_console()
    syms = ", ".join(res.symbols) or "none"
    t = Table(title=f"Costs as formulas of {syms} (exact)", show_lines=False)
    t.add_column("Metric", no_wrap=True)
    t.add_column("Trend", no_wrap=True)
    t.add_column("Formula", overflow="fold")
    for m in TOTAL_METRICS:
        e = res.totals[m]
        formula = pretty(e) + (f"  (≈ {pretty(smooth(e))})" if _has_floor(e) else "")
        t.add_row(LABELS[m], trend(e), formula)
    console.print(t)
    rows = res.by_op_type[:top] if top else res.by_op_type
    t2 = Table(title="Per op type")
    for h in ("Op type", "MACs", "FLOPs", "Memory traffic"):
        t2.add_column(h)
    for dom, op, c in rows:
        t2.add_row(f"{dom + '::' if dom else ''}{op}", pretty(c["macs"]), pretty(c["flops"]), pretty(c["memory_traffic_bytes"]))
    console.print(t2)
    if res.fallback:
        console.print("Not symbolic (value used): " + ", ".join(f"{k}={v}" for k, v in res.fallback.items()))


def symbolic_markdown(res: SymbolicResult, top: int | None = None) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [f"## Costs as formulas of {', '.join(res.symbols) or 'no symbols'}", "",
             "| Metric | Trend | Formula | sympy |", "|---|---|---|---|"]
    for m in TOTAL_METRICS:
        e = res.totals[m]
        lines.append(f"| {LABELS[m]} | {esc(trend(e))} | {esc(pretty(e))} | `{esc(exact(e))}` |")
    lines += ["", "| Op type | MACs | FLOPs | Memory traffic |", "|---|---|---|---|"]
    for dom, op, c in (res.by_op_type[:top] if top else res.by_op_type):
        lines.append(
            f"| {esc((dom + '::' if dom else '') + op)} | {esc(pretty(c['macs']))} | {esc(pretty(c['flops']))} | "
            f"{esc(pretty(c['memory_traffic_bytes']))} |"
        )
    if res.fallback:
        lines += ["", "Not symbolic (value used): " + ", ".join(f"`{k}`={v}" for k, v in res.fallback.items())]
    return "\n".join(lines) + "\n"
