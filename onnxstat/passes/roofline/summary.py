"""The roofline's rows in the terminal and Markdown summaries."""

from __future__ import annotations

from .compute import RooflineResult


def summary_rows(rl: RooflineResult) -> list[tuple[str, str]]:
    """(label, text) rows for the terminal and Markdown summaries."""
    from ...render import units

    d = rl.device
    kind = "measured" if d.measured else ("custom" if d.kind == "custom" else "datasheet")
    label = d.name if kind in d.name else f"{d.name} ({kind})"
    peaks = ", ".join(f"{p} {units.rate(v, p)}" for p, v in d.peaks.items() if v)
    counts = rl.bound_counts()
    tu = units.time_unit([rl.latency_s, rl.measured_latency_s])  # one unit for both
    rows = [
        ("Device", f"{label}: {peaks}; {units.nbytes(d.bandwidth)}/s"),
        ("Roofline latency", f"{units.duration(rl.latency_s, tu)} ({counts.get('compute', 0)} compute-bound, "
                             f"{counts.get('memory', 0)} memory-bound nodes)"),
    ]
    if rl.measured_latency_s is not None:
        rows.append(("Roofline efficiency", f"{rl.efficiency_pct:.1f}% (roofline / measured mean "
                                            f"{units.duration(rl.measured_latency_s, tu)})"))
    return rows
