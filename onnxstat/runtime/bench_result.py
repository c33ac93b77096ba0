"""What :func:`onnxstat.runtime.bench.bench` returns (:class:`BenchResult`, the
``onnxstat.bench/1`` JSON contract) and its renderings: table, Markdown, CSV and JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from .inputs import DEFAULT_INT_RANGE
from .session import short_name

SCHEMA = "onnxstat.bench/1"


@dataclass
class BenchResult:
    """What :func:`bench` returns; :meth:`to_dict` is the ``onnxstat.bench/1`` contract."""

    model: str | None
    provider_requested: list[str]
    providers_used: list[str]
    session_options: dict[str, Any]
    inputs: list[dict[str, Any]]
    batch: int
    warmup: int
    runs: int
    latency_ms: dict[str, float]
    first_run_ms: float
    session_init_ms: float
    fps: float | None
    throughput: float | None
    timing_path: str = "run"
    duration_s: float | None = None
    wall_ms: float | None = None
    end_to_end_ms: dict[str, float] | None = None
    nodes: list[dict] = field(default_factory=list)
    by_op_type: list[dict] = field(default_factory=list)
    per_node: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    onnxruntime_version: str = ""
    seed: int = 0
    int_range: tuple[int, int] = DEFAULT_INT_RANGE
    samples_ms: list[float] = field(default_factory=list, repr=False)
    #: the machine: CPU model, cores, onnxruntime version (bench_options.host_info)
    host: dict[str, Any] = field(default_factory=dict)
    #: with --concurrency N: threads, requests, requests per thread, aggregate throughput
    concurrency: dict[str, Any] | None = None
    #: kernels that execute no original node: name, op_type, time_s
    unmatched_kernels: list[dict] = field(default_factory=list)

    @property
    def mean_ms(self) -> float:
        return self.latency_ms["mean"]

    def __repr__(self) -> str:
        from .._callable import short_path

        return (f"BenchResult(model={short_path(self.model)!r}, mean={self.latency_ms.get('mean', 0):.4g} ms, "
                f"p50={self.latency_ms.get('p50', 0):.4g} ms, fps={self.fps or 0:.1f}, runs={self.runs}, "
                f"providers={','.join(p.replace('ExecutionProvider', '') for p in self.providers_used)})")

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "provider_requested": list(self.provider_requested),
            "providers_used": list(self.providers_used),
            "session_options": dict(self.session_options),
            "inputs": [dict(i) for i in self.inputs],
            "batch": self.batch,
            "warmup": self.warmup,
            "runs": self.runs,
            "duration_s": self.duration_s,
            "latency_ms": dict(self.latency_ms),
            "first_run_ms": self.first_run_ms,
            "session_init_ms": self.session_init_ms,
            "fps": self.fps,
            "throughput": self.throughput,
            "wall_ms": self.wall_ms,
            "timing_path": self.timing_path,
            "end_to_end_ms": dict(self.end_to_end_ms) if self.end_to_end_ms else None,
            "input_generation": {"seed": self.seed, "int_range": list(self.int_range)},
            "onnxruntime_version": self.onnxruntime_version,
            "nodes": [dict(n) for n in self.nodes],
            "by_op_type": [dict(r) for r in self.by_op_type],
            "per_node": dict(self.per_node) if self.per_node else None,
            "unmatched_kernels": [dict(k) for k in self.unmatched_kernels],
            "concurrency": dict(self.concurrency) if self.concurrency else None,
            "host": dict(self.host),
            "warnings": list(self.warnings),
        }

# --------------------------------------------------------------------------- rendering


def _f(x, fmt: str, dash: str = "-") -> str:
    """``x`` formatted with ``fmt``; ``dash`` when it is not a number."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return dash
    return format(v, fmt)


def summary_rows(res: BenchResult) -> list[tuple[str, str]]:
    """(label, value) rows of the headline numbers (terminal and Markdown)."""
    from ..render import units

    lat = res.latency_ms
    ins = ", ".join(f"{i['name']} {i['dtype']} {units.shape(i['shape'])}" + (" (file)" if i.get("source") == "user" else "")
                    for i in res.inputs) or "none"
    opts = res.session_options
    threads = f"intra {opts['intra_op_threads'] or 'default'}, inter {opts['inter_op_threads'] or 'default'}"
    rows = [
        ("Model", res.model or "(in memory)"),
        *([("Host", f"{res.host.get('cpu')}, {res.host.get('usable_cores')} core(s), "
                    f"onnxruntime {res.host.get('onnxruntime_version')}")] if res.host else []),
        ("Providers", ", ".join(res.providers_used) + f" (requested {', '.join(short_name(p) for p in res.provider_requested)})"),
        ("Session", f"opt level {opts['graph_optimization_level']}, {opts['execution_mode']}, threads {threads}"),
        ("Inputs", ins),
        ("Batch", str(res.batch)),
        ("Runs", f"{res.runs} timed" + (f" in {res.duration_s:g} s" if res.duration_s else "")
         + f", {res.warmup} warm-up ({res.timing_path})"),
        ("Session init", units.ms(res.session_init_ms)),
        ("First run", units.ms(res.first_run_ms)),
        ("Latency mean", f"{units.ms(lat['mean'])} (std {units.ms(lat['std'])})"),
    ]
    for k in ("min", "p50", "p90", "p95", "p99", "max"):
        rows.append((f"Latency {k}", units.ms(lat[k])))
    rows.append(("FPS", units.fps_text(res.fps) + f" (batch {res.batch}" + (", aggregate)" if res.concurrency else ")")))
    rows.append(("Throughput", _f(res.throughput, ",.1f") + " samples/s over the timed loop"))
    if res.concurrency:
        c = res.concurrency
        rows.append(("Concurrency", f"{c['threads']} threads on one session, {c['requests']} requests: "
                     f"{_f(c['throughput'], ',.1f')} samples/s aggregate; latencies are per request"))
    if res.end_to_end_ms:
        e = res.end_to_end_ms
        rows.append(("End-to-end (host copies)",
                     f"mean {units.ms(e['mean'])}, p50 {units.ms(e['p50'])}, p99 {units.ms(e['p99'])}"))
    if res.per_node:
        pn = res.per_node
        rows.append(("Per-node profile", f"{pn['runs']} profiled runs, kernels sum {units.ms(pn['kernel_total_ms'])}, "
                     f"{pn['matched']} matched, {pn['fused']} fused, {pn['unmatched']} unmatched"))
    return rows


NODE_COLUMNS = ("name", "op_type", "status", "node", "mean_ms", "share", "flops", "bytes", "gflops_per_s", "gb_per_s")


def top_nodes(res: BenchResult, top: int | None) -> list[dict]:
    rows = sorted(res.nodes, key=lambda r: -r["mean_ms"])
    return rows[:top] if top else rows


def _show_node_column(rows: Sequence[dict]) -> bool:
    return any(r["node"] is not None and r["node"] != r["name"] for r in rows)


def _node_headers(rows: Sequence[dict]) -> list[str]:
    heads = [h for h in NODE_HEADERS if h != "Node" or _show_node_column(rows)]
    return heads + (["Roof %"] if any("roofline_efficiency" in r for r in rows) else [])


def _node_cells(r: dict, with_node: bool = True) -> list[str]:
    from ..render import units

    return [
        r["name"], r["op_type"], r["status"], *([_node_text(r)] if with_node else []),
        f"{r['mean_ms']:.4f}",
        _f(None if r["share"] is None else 100 * r["share"], ".1f") + ("%" if r["share"] is not None else ""),
        "-" if r["flops"] is None else units.si(r["flops"]), "-" if r["bytes"] is None else units.nbytes(r["bytes"]),
        _f(r["gflops_per_s"], ".2f"), _f(r["gb_per_s"], ".2f"),
        *([_f(None if r["roofline_efficiency"] is None else 100 * r["roofline_efficiency"], ".1f")]
          if "roofline_efficiency" in r else []),
    ]


def _node_text(r: dict) -> str:
    """The node a kernel is joined to; ``+N`` more when it executes several."""
    more = len(r.get("source_nodes") or ()) - 1
    return (r["node"] or "-") + (f" +{more}" if more > 0 else "")


def _op_cells(g: dict) -> list[str]:
    from ..render import units

    return [
        g["op_type"], g["status"], str(g["kernels"]), f"{g['mean_ms']:.4f}",
        _f(None if g["share"] is None else 100 * g["share"], ".1f") + ("%" if g["share"] is not None else ""),
        "-" if g["flops"] is None else units.si(g["flops"]), "-" if g["bytes"] is None else units.nbytes(g["bytes"]),
        _f(g["gflops_per_s"], ".2f"), _f(g["gb_per_s"], ".2f"),
    ]


NODE_HEADERS = ["Kernel", "Op type", "Status", "Node", "Mean ms", "Share", "FLOPs", "Bytes", "GFLOP/s", "GB/s"]
OP_HEADERS = ["Op type", "Status", "Kernels", "Mean ms", "Share", "FLOPs", "Bytes", "GFLOP/s", "GB/s"]


def to_json(res: BenchResult) -> str:
    from ..result import jsonable

    return json.dumps(jsonable(res.to_dict()), indent=2) + "\n"


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def to_markdown(res: BenchResult, top: int | None = None) -> str:
    lines = ["# onnxstat bench", "", "| | |", "|---|---|"]
    lines += [f"| {_md_escape(k)} | {_md_escape(v)} |" for k, v in summary_rows(res)]
    if res.nodes:
        shown = top_nodes(res, top)
        heads = _node_headers(shown)
        with_node = "Node" in heads
        lines += ["", f"## Kernels ({len(shown)} of {len(res.nodes)}, slowest first)", "",
                  "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(_md_escape(c) for c in _node_cells(r, with_node)) + " |" for r in shown]
        lines += ["", "## By op type", "", "| " + " | ".join(OP_HEADERS) + " |", "|" + "---|" * len(OP_HEADERS)]
        lines += ["| " + " | ".join(_md_escape(c) for c in _op_cells(g)) + " |" for g in res.by_op_type]
    if res.warnings:
        lines += ["", "## Warnings", ""] + [f"- {_md_escape(w)}" for w in res.warnings]
    return "\n".join(lines) + "\n"


SUMMARY_CSV = ("model", "providers_used", "batch", "warmup", "runs", "mean_ms", "std_ms", "min_ms", "p50_ms", "p90_ms",
               "p95_ms", "p99_ms", "max_ms", "first_run_ms", "session_init_ms", "fps", "throughput")


def to_csv(res: BenchResult, top: int | None = None) -> str:
    """One row of headline numbers; with per-node data, one row per kernel instead."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # text quoted: round-trips (textsafe)
    if res.nodes:
        w.writerow(["name", "op_type", "status", "node", "provider", "calls_per_run", "mean_ms", "median_ms", "share",
                    "flops", "bytes", "gflops_per_s", "gb_per_s", "roofline_efficiency", "source_nodes"])
        for r in top_nodes(res, top):
            w.writerow([r["name"], r["op_type"], r["status"], r["node"] or "", r["provider"], r["calls_per_run"],
                        repr(r["mean_ms"]), repr(r["median_ms"]), "" if r["share"] is None else repr(r["share"]),
                        "" if r["flops"] is None else r["flops"], "" if r["bytes"] is None else r["bytes"],
                        "" if r["gflops_per_s"] is None else repr(r["gflops_per_s"]),
                        "" if r["gb_per_s"] is None else repr(r["gb_per_s"]),
                        "" if r.get("roofline_efficiency") is None else repr(r["roofline_efficiency"]),
                        ";".join(r.get("source_nodes") or ())])
        return buf.getvalue()
    lat = res.latency_ms
    w.writerow(SUMMARY_CSV)
    w.writerow([res.model or "", ";".join(res.providers_used), res.batch, res.warmup, res.runs,
                *(repr(lat[k]) for k in ("mean", "std", "min", "p50", "p90", "p95", "p99", "max")),
                repr(res.first_run_ms), repr(res.session_init_ms),
                "" if res.fps is None else repr(res.fps), "" if res.throughput is None else repr(res.throughput)])
    return buf.getvalue()


def print_table(res: BenchResult, top: int | None = None, console=None) -> None:
    from rich.table import Table

    from ..render.formats import terminal_console

    console = console or terminal_console()
    t = Table(title="onnxstat bench", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    for k, v in summary_rows(res):
        t.add_row(k, v)
    console.print(t)
    if res.nodes:  # tables that fit the console's width, numbers never wrapped (onnxstat.layout)
        from ..render.layout import Col, table

        shown = top_nodes(res, top)
        heads = _node_headers(shown)
        with_node = "Node" in heads
        text = {"Kernel": Col("Kernel", "left", 0, shrink=True, min_width=14),
                "Op type": Col("Op type", "left", 2, shrink=True, min_width=12),
                "Status": Col("Status", "left", 6), "Node": Col("Node", "left", 5, shrink=True, min_width=10)}
        prio = {"Mean ms": 0, "Share": 1, "GFLOP/s": 3, "GB/s": 3, "FLOPs": 4, "Bytes": 5, "Kernels": 4}
        cols = [text.get(h) or Col(h, priority=prio.get(h, 5)) for h in heads]
        nt, dropped = table(cols, [_node_cells(r, with_node) for r in shown], console.width,
                            title=f"Kernels ({len(shown)} of {len(res.nodes)}, slowest first)")
        console.print(nt)
        cols = [text.get(h) or Col(h, priority=prio.get(h, 5)) for h in OP_HEADERS]
        ot, dropped2 = table(cols, [_op_cells(g) for g in res.by_op_type], console.width, title="By op type")
        console.print(ot)
        left_out = list(dict.fromkeys(dropped + dropped2))
        if left_out:
            console.print(f"(not shown at {console.width} columns: {', '.join(left_out)}; --format csv or json "
                          "show every column)", style="dim")


def render(res: BenchResult, fmt: str, top: int | None = None) -> str:
    """Render as ``json``, ``markdown``, ``csv`` or ``table`` (plain text)."""
    from ..render.formats import console_text, render_as

    return render_as(fmt, {
        "table": lambda: console_text(lambda console: print_table(res, top, console)),
        "json": lambda: to_json(res),
        "markdown": lambda: to_markdown(res, top),
        "csv": lambda: to_csv(res, top),
    }, "bench")


__all__ = [
    "SCHEMA", "BenchResult", "print_table", "render", "summary_rows", "to_csv", "to_json", "to_markdown", "top_nodes",
]
