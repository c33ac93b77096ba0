"""Rendering a :class:`ProfileResult`: terminal (rich), JSON, CSV, Markdown.

:func:`render_as` is the one place a command's ``--format`` picks its renderer (and the one
error for a format the command does not offer); :func:`console_text` gives the terminal
tables as plain text for a file.
"""

from __future__ import annotations

import io
import json
import secrets
from typing import Any, Callable, Collection, Mapping

from ..errors import UsageError
from ..passes.analysis import NodeCost
from ..result import ProfileResult, gc_paused, jsonable, nodes_json
from . import layout, units
from .textsafe import csv_writer, md, term

FORMATS = ("table", "json", "csv", "markdown")


# --------------------------------------------------------------------------- choosing the format


def check_format(fmt: str, offered: Collection[str], what: str) -> None:
    """A :class:`UsageError` when ``what`` (a command or report) does not offer ``fmt``."""
    if fmt not in offered:
        raise UsageError(f"unknown format {fmt!r} for {what}: use one of {', '.join(offered)}")


def render_as(fmt: str, renderers: Mapping[str, Callable[[], str]], what: str) -> str:
    """The text of ``fmt``: ``renderers`` maps each format ``what`` offers to a function of
    no arguments that returns the text (``{"json": lambda: to_json(res), ...}``).

    >>> render_as("json", {"json": lambda: "{}", "table": lambda: "|"}, "the example")
    '{}'
    """
    check_format(fmt, renderers, what)
    return renderers[fmt]()


def console_text(draw: Callable[[Any], Any], width: int = 160) -> str:
    """What ``draw(console)`` prints on a console ``width`` columns wide, as plain text (no
    colour): the terminal tables of a report that goes to a file or a string."""
    buf = io.StringIO()
    draw(make_console(file=buf, width=width, color_system=None))
    return buf.getvalue()


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def select_nodes(res: ProfileResult, top: int | None) -> list[NodeCost]:
    """Graph order, or the ``top`` nodes by MACs (then FLOPs, then traffic)."""
    if not top:
        return list(res.nodes)
    key = lambda n: (_float(n.macs), _float(n.flops), _float(n.memory_traffic_bytes))  # noqa: E731
    return sorted(res.nodes, key=key, reverse=True)[:top]


# --------------------------------------------------------------------------- JSON


#: above this many nodes the JSON is written without any layout
JSON_INDENT_MAX_NODES = 5000


def to_json(res: ProfileResult) -> str:
    """The JSON contract, laid out for reading: indented, one node per line.

    A node's record is encoded on one line (indentation would need json's pure-Python
    encoder, several times slower on the largest part of the document), by
    :func:`~onnxstat.result.nodes_json`.  Above :data:`JSON_INDENT_MAX_NODES` nodes there
    is no layout at all: the text is ``json.dumps`` of :meth:`ProfileResult.to_dict`.
    """
    with gc_paused():
        nodes = nodes_json(res.nodes, res.node_extras)
        token = f"onnxstat-nodes-{secrets.token_hex(16)}"
        d = res.to_dict(nodes=False)
        d["nodes"] = token  # its place among the keys; the text of the records goes there
        if len(res.nodes) > JSON_INDENT_MAX_NODES:
            return json.dumps(d).replace(f'"{token}"', "[" + ", ".join(nodes) + "]", 1) + "\n"
        parts = []
        for key, value in d.items():
            if value == token:
                text = "[\n    " + ",\n    ".join(nodes) + "\n  ]" if nodes else "[]"
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                text = "[\n    " + ",\n    ".join(json.dumps(v) for v in value) + "\n  ]"
            else:
                text = json.dumps(value, indent=2).replace("\n", "\n  ")
            parts.append(f"  {json.dumps(key)}: {text}")
        return "{\n" + ",\n".join(parts) + "\n}\n"


# --------------------------------------------------------------------------- CSV

NODE_COLUMNS = [
    "path", "op_type", "domain", "kind", "compute_dtype", "input_shapes", "output_shapes",
    "macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written", "memory_traffic_bytes", "notes",
]


def _shapes(ios) -> str:
    return "; ".join(units.shape(s) for _n, _d, s in ios)


def node_row(n: NodeCost) -> list:
    notes = list(n.notes) + ([n.error] if n.error else [])
    return [
        n.path, n.op_type, n.domain or "ai.onnx", n.kind, n.compute_dtype, _shapes(n.inputs), _shapes(n.outputs),
        jsonable(n.macs), jsonable(n.flops), jsonable(n.params), jsonable(n.weight_bytes), jsonable(n.bytes_read),
        jsonable(n.bytes_written), jsonable(n.memory_traffic_bytes), " | ".join(notes),
    ]


def to_csv(res: ProfileResult, top: int | None = None) -> str:
    buf = io.StringIO()
    w = csv_writer(buf)
    w.writerow(NODE_COLUMNS)
    for n in select_nodes(res, top):
        w.writerow(node_row(n))
    t = res.totals
    w.writerow(["TOTAL", "", "", "", "", "", "", jsonable(t.macs), jsonable(t.flops), jsonable(t.params),
                jsonable(t.weight_bytes), jsonable(t.bytes_read), jsonable(t.bytes_written),
                jsonable(t.memory_traffic_bytes), ""])
    for d, o, c in res.unsupported:
        buf.write(term(f"# unsupported: {d or 'ai.onnx'}::{o} x{c}") + "\n")
    for msg in res.warnings:
        buf.write(term(f"# warning: {msg}") + "\n")
    return buf.getvalue()


# --------------------------------------------------------------------------- Markdown


def _md_table(headers: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    align = align or ("l" + "r" * (len(headers) - 1))
    out = ["| " + " | ".join(headers) + " |"]
    out.append("|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|")
    for r in rows:
        out.append("| " + " | ".join(md(c) for c in r) + " |")
    return "\n".join(out)


def completeness(t) -> str | None:
    """One line saying the totals leave something out, or None when they are complete."""
    parts = []
    if t.unresolved_nodes:
        parts.append(f"{t.unresolved_nodes} node(s) with unknown shapes or trip counts")
    if t.unsupported_nodes:
        parts.append(f"{t.unsupported_nodes} unsupported node(s)")
    if not parts:
        return None
    return "INCOMPLETE: " + " and ".join(parts) + " not counted in MACs/FLOPs (see warnings)"


def summary_rows(res: ProfileResult) -> list[tuple[str, str]]:
    t = res.totals
    rows = []
    note = completeness(t)
    if note:
        rows.append(("Totals", note))
    rows += [
        ("Params", f"{units.si(t.params)} ({units.count(t.params)})"),
        ("MACs", f"{units.si(t.macs)} ({units.count(t.macs)})"),
        ("FLOPs", f"{units.si(t.flops)} ({units.count(t.flops)})"),
        ("Weight bytes", units.nbytes(t.weight_bytes)),
        ("Memory traffic", f"{units.nbytes(t.memory_traffic_bytes)} (read {units.nbytes(t.bytes_read)}, written {units.nbytes(t.bytes_written)})"),
        ("Arithmetic intensity", f"{t.arithmetic_intensity:.2f} FLOPs/byte" if t.arithmetic_intensity is not None else "-"),
        ("Nodes", f"{t.node_count}" + (f" ({t.unsupported_nodes} unsupported)" if t.unsupported_nodes else "")),
    ]
    if t.macs_by_precision:
        rows.append(("MACs by precision", ", ".join(f"{k} {units.si(v)}" for k, v in sorted(t.macs_by_precision.items()))))
    if t.peak_activation_bytes is not None:
        rows.append(("Peak activation memory", f"{units.nbytes(t.peak_activation_bytes)} (at {t.peak_at_node})"))
    if res.roofline is not None:
        from ..passes.roofline import summary_rows as roofline_rows

        rows.extend(roofline_rows(res.roofline))
    bench = res.extras.get("bench")
    if bench:
        lat = bench.get("latency_ms", {})
        rows.append(("Latency (bench)", f"p50 {units.ms(lat.get('p50'))}, p90 {units.ms(lat.get('p90'))}, "
                                         f"mean {units.ms(lat.get('mean'))}; {units.fps_text(bench.get('fps'))} "
                                         f"({', '.join(bench.get('providers_used', []))})"))
        from ..runtime.kernel_match import kernel_summary

        if kernel_summary(bench.get("nodes") or []):
            rows.append(("Kernels (bench)", kernel_summary(bench["nodes"])))
    simp = res.extras.get("simplify")
    if simp:
        tb = simp["totals_before"]
        rows.append(("Simplified", f"nodes {simp['nodes_before']} -> {simp['nodes_after']}; FLOPs {units.si(tb['flops'])} -> {units.si(t.flops)}; traffic {units.nbytes(tb['memory_traffic_bytes'])} -> {units.nbytes(t.memory_traffic_bytes)}"))
    return rows


def dims_text(settings: dict) -> str:
    """The symbolic dims and the values used: ``batch=4, seq=1 (default: not set)``."""
    defaulted = settings.get("defaulted_dims") or {}
    parts = [f"{k}={v}" for k, v in (settings.get("dims") or {}).items() if k not in defaulted]
    parts += [f"{k}={v} (default: not set)" for k, v in defaulted.items()]
    return ", ".join(parts)


def header_rows(res: ProfileResult) -> list[tuple[str, str]]:
    rows = [("Model", res.path or "(in memory)")]
    rows.append(("Opset", ", ".join(f"{d} {v}" for d, v in res.opset.items())))
    if res.producer:
        rows.append(("Producer", res.producer))
    for name, dtype, shape in res.inputs:
        rows.append(("Input", f"{name}: {dtype} [{units.shape(shape)}]"))
    dims = dims_text(res.settings)
    if dims:
        rows.append(("Dims", dims))
    for name, dtype, shape in res.outputs:
        rows.append(("Output", f"{name}: {dtype} [{units.shape(shape)}]"))
    return rows


def op_rows(res: ProfileResult) -> list[list[Any]]:
    t = res.totals
    return [
        [f"{r.domain + '::' if r.domain else ''}{r.op_type}", r.count, units.si(r.macs), units.si(r.flops),
         units.pct(r.flops, t.flops), units.si(r.params), units.nbytes(r.memory_traffic_bytes),
         units.pct(r.memory_traffic_bytes, t.memory_traffic_bytes)]
        for r in res.by_op_type
    ]


OP_HEADERS = ["Op type", "Count", "MACs", "FLOPs", "FLOPs %", "Params", "Traffic", "Traffic %"]
NODE_HEADERS = ["Node", "Op", "Precision", "Output shape", "MACs", "FLOPs", "Params", "Traffic"]


ROOFLINE_HEADERS = ["FLOPs/B", "Bound", "Roofline"]


def node_cells(n: NodeCost, extra: dict | None = None, time_unit: tuple[float, str] | None = None) -> list[Any]:
    out_shape = units.shape(n.outputs[0][2]) if n.outputs else "-"
    flops = units.si(n.flops) if n.kind != "unsupported" else "unsupported"
    cells = [n.path, n.op_type, n.compute_dtype, out_shape, units.si(n.macs), flops, units.si(n.params),
             units.nbytes(n.memory_traffic_bytes)]
    if extra is not None:
        inten, t = extra.get("intensity"), extra.get("roofline_time_s")
        cells += [f"{inten:.2f}" if isinstance(inten, (int, float)) else "-", extra.get("bound") or "-",
                  units.duration(t, time_unit, 3) if isinstance(t, (int, float)) else "-"]
    return cells


def node_table(res: ProfileResult, top: int | None) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the node table (roofline columns when a device was given)."""
    extras = res.node_extras if res.node_extras else None
    index = {id(n): i for i, n in enumerate(res.nodes)}
    # one time unit for the whole roofline column
    tu = units.time_unit([e.get("roofline_time_s") for e in extras if e]) if extras is not None else None
    rows = []
    for n in select_nodes(res, top):
        extra = None
        if extras is not None:
            i = index[id(n)]
            extra = extras[i] if i < len(extras) else {}
        rows.append(node_cells(n, extra, tu))
    return (NODE_HEADERS + ROOFLINE_HEADERS if extras is not None else NODE_HEADERS), rows


def to_markdown(res: ProfileResult, top: int | None = None) -> str:
    parts = [f"# onnxstat profile: {md(res.path or 'model')}", ""]
    parts.append(_md_table(["", ""], [list(r) for r in header_rows(res)], "ll"))
    parts += ["", "## Totals", "", _md_table(["Metric", "Value"], [list(r) for r in summary_rows(res)], "ll")]
    parts += ["", "## By op type", "", _md_table(OP_HEADERS, op_rows(res))]
    headers, rows = node_table(res, top)
    title = f"## Top {top} nodes by MACs" if top else "## Nodes (graph order)"
    parts += ["", title, "", _md_table(headers, rows, "llll" + "r" * (len(headers) - 4))]
    parts += ["", "## Unsupported ops", ""]
    if res.unsupported:
        parts += [f"- {md(d or 'ai.onnx')}::{md(o)} x{c}" for d, o, c in res.unsupported]
    else:
        parts.append("None.")
    parts += ["", "## Warnings", ""]
    parts += [f"- {md(w)}" for w in res.warnings] if res.warnings else ["None."]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- terminal


#: a terminal table of more nodes than this shows the top TABLE_DEFAULT_TOP by MACs unless --top is given
TABLE_MAX_NODES = 1000
TABLE_DEFAULT_TOP = 50


def make_console(**kwargs):
    """A rich console that prints text as given: no console markup and no ``:emoji:``
    codes, so a node named ``blocks[bold].relu`` or a formula with ``[alpha≠1]`` keeps its
    brackets.  Styles are passed explicitly (``style=``, ``Text.assemble``)."""
    from rich.console import Console

    from .textsafe import install

    console = Console(markup=False, emoji=False, **kwargs)
    install(console)  # model text in any table is escaped (onnxstat.textsafe)
    return console


def terminal_console():
    """A rich console for stdout: the terminal's width, or ``$COLUMNS``, else 140 columns
    when stdout is not a terminal (pipes, files)."""
    import os

    console = make_console()
    return console if console.is_terminal or os.environ.get("COLUMNS", "").isdigit() else make_console(width=140)


#: node table columns: (header, justify, priority, shrink); priority 0 is dropped last
NODE_COLS = [
    layout.Col("Node", "left", 0, shrink=True, min_width=16),
    layout.Col("Op", "left", 1, shrink=True, min_width=18),
    layout.Col("Precision", "left", 7),
    layout.Col("Output shape", "left", 3),
    layout.Col("MACs", priority=2),
    layout.Col("FLOPs", priority=1),
    layout.Col("Params", priority=6),
    layout.Col("Traffic", priority=4),
]
ROOFLINE_COLS = [layout.Col("FLOPs/B", priority=8), layout.Col("Bound", "left", 5), layout.Col("Roofline", priority=5)]
OP_COLS = [
    layout.Col("Op type", "left", 0, shrink=True, min_width=12),
    layout.Col("Count", priority=3),
    layout.Col("MACs", priority=2),
    layout.Col("FLOPs", priority=1),
    layout.Col("FLOPs %", priority=4),
    layout.Col("Params", priority=6),
    layout.Col("Traffic", priority=5),
    layout.Col("Traffic %", priority=7),
]


def print_head(rows: list[tuple[str, str]], console) -> None:
    """Key/value rows: keys in a column, values wrapped at separators to the width left
    (never inside a number), the model path shortened from the left."""
    from rich.table import Table

    rows = [(term(k), term(v)) for k, v in rows]
    key_w = max((layout.cell_len(k) for k, _ in rows), default=0)
    value_w = max(10, console.width - key_w - 2)
    head = Table(show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold cyan", no_wrap=True)
    head.add_column(overflow="fold", max_width=value_w)
    for k, v in rows:
        lines = [layout.shorten_left(v, value_w)] if k == "Model" else layout.wrap_value(v, value_w)
        for j, line in enumerate(lines):
            head.add_row(k if j == 0 else "", line)
    console.print(head)


def print_table(res: ProfileResult, top: int | None = None, console=None, show_nodes: bool = True,
                show_warnings: bool = True) -> None:
    """The profile as terminal tables that fit ``console.width`` (see :mod:`onnxstat.render.layout`).

    ``show_warnings=False`` leaves the warnings out (the CLI prints them on stderr first)."""
    from rich.text import Text

    console = console or terminal_console()
    print_head(header_rows(res) + summary_rows(res), console)
    console.print()

    ops, dropped = layout.table(OP_COLS, op_rows(res), console.width, title="By op type")
    console.print(ops)
    _dropped_note(console, dropped)
    console.print()

    if show_nodes:
        if top is None and len(res.nodes) > TABLE_MAX_NODES:
            top = TABLE_DEFAULT_TOP
            console.print(f"{len(res.nodes)} nodes: the table shows the {top} with the most MACs "
                          "(--top N for another number, --format csv or json for every node)", style="dim")
        headers, rows = node_table(res, top)
        title = f"Top {top} nodes by MACs" if top else "Nodes (graph order)"
        cols = NODE_COLS + ROOFLINE_COLS if len(headers) > len(NODE_COLS) else NODE_COLS
        styles = ["red" if cells[5] == "unsupported" else None for cells in rows]
        nt, dropped = layout.table(cols, rows, console.width, title=title, row_styles=styles)
        console.print(nt)
        _dropped_note(console, dropped)

    if res.unsupported:
        console.print(Text.assemble(("Unsupported ops", "bold red"), " (MACs/FLOPs not counted): " + ", ".join(
            term(f"{d + '::' if d else ''}{o} x{c}") for d, o, c in res.unsupported)))
    if show_warnings:
        for w in res.warnings:
            console.print(Text.assemble(("warning:", "yellow"), f" {term(w)}"), highlight=False)


def _dropped_note(console, dropped: list[str]) -> None:
    if dropped:
        console.print(f"(not shown at {console.width} columns: {', '.join(dropped)}; a wider terminal, "
                      "--format csv or json show every column)", style="dim")
