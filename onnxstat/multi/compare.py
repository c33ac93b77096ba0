"""Side-by-side comparison of N models (fp32 vs fp16 vs int8 twins); the first is the baseline.

:func:`compare` profiles every model at the same input shapes, attributes QDQ
precision (:mod:`.precision`), optionally measures latency with :mod:`.bench`,
and returns a :class:`Comparison`: per-model totals (file size, params, weight
bytes, MACs and FLOPs by precision, memory traffic, arithmetic intensity, peak
activation memory, low-precision MAC share, Q/DQ overhead, latency), ratios
against the baseline, and a per-op-type table that groups each float op with its
quantised forms (Conv with QLinearConv and ConvInteger, MatMul with MatMulInteger,
QLinearMatMul, MatMulNBits, ...) so a reader sees which layers stayed float.

Renderers: terminal (rich), JSON (``onnxstat.compare/1``), Markdown, CSV.  The result
types (:class:`Comparison`, :class:`ModelEntry`, :class:`OpCell`) and the op families
live in :mod:`onnxstat.multi.comparison`.
"""

import csv
import io
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import OnnxstatError, UsageError
from ..passes.precision import attribute_precision
from ..render import units
from ..result import ProfileResult, jsonable
from .comparison import FAMILY as FAMILY  # the data types and tables moved there; still importable from here
from .comparison import QDQ_OPS as QDQ_OPS
from .comparison import RATIO_METRICS as RATIO_METRICS
from .comparison import SCHEMA, Comparison, ModelEntry, OpCell, as_number, family, ratio

FORMATS = ("table", "json", "markdown", "csv")


# --------------------------------------------------------------------------- building


def _labels(models: Sequence[Any]) -> list[str]:
    names = []
    for i, m in enumerate(models):
        names.append(_stem(m) if isinstance(m, (str, Path)) else f"model{i + 1}")
    if len(set(names)) < len(names):
        names = [Path(str(m)).name if isinstance(m, (str, Path)) else f"model{i + 1}" for i, m in enumerate(models)]
    if len(set(names)) < len(names):
        names = [str(m) if isinstance(m, (str, Path)) else f"model{i + 1}" for i, m in enumerate(models)]
    if len(set(names)) < len(names):
        names = [f"{i + 1}:{n}" for i, n in enumerate(names)]
    return names


def _stem(m: Any) -> str:
    p = Path(str(m))
    return p.stem if p.suffix == ".onnx" else p.name


def _bench_one(model: Any, input_shapes, dims, runs, warmup) -> dict:
    try:
        from ..runtime.bench import bench as run_bench
    except ImportError as exc:
        raise UsageError(f"--bench is not available: onnxstat.bench cannot be imported ({exc})") from None
    kw = {}
    if runs is not None:
        kw["runs"] = runs
    if warmup is not None:
        kw["warmup"] = warmup
    res = run_bench(model, input_shapes, dims, **kw)
    return res.to_dict() if hasattr(res, "to_dict") else dict(res)


def compare(
    models: Sequence[Any],
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    bench: bool = False,
    runs: int | None = None,
    warmup: int | None = None,
    shape_source: str = "onnx",
    labels: Sequence[str] | None = None,
) -> Comparison:
    """Profile ``models`` (paths or ModelProtos; the first is the baseline) at the same
    input shapes and compare them.  ``bench`` also measures latency on the CPU.

    >>> import onnxstat
    >>> cmp = onnxstat.compare(["model.onnx", "model_int8.onnx"], dims={"batch": 1})
    >>> cmp.ratios()["macs"], cmp.to_dict()["structure"]["note"]
    """
    from ..profiler import profile

    models = list(models)
    if len(models) < 2:
        raise UsageError("compare needs at least two models (the first is the baseline)")
    if labels is not None and len(labels) != len(models):
        raise UsageError(f"{len(labels)} labels for {len(models)} models")
    names = list(labels) if labels is not None else _labels(models)
    input_shapes = dict(input_shapes or {})
    dims = dict(dims or {})
    entries: list[ModelEntry] = []
    for name, m in zip(names, models):
        try:
            res = profile(m, input_shapes, dims, shape_source=shape_source, strict_dims=False)
        except OnnxstatError as exc:
            if isinstance(m, (str, Path)) and str(m) in str(exc):
                raise  # already names the file
            raise type(exc)(f"{name}: {exc}") from None
        attribute_precision(res)  # idempotent; profile() may already have run it
        entries.append(ModelEntry(name, res))
    if bench:
        for e, m in zip(entries, models):
            e.bench = _bench_one(m, input_shapes, dims, runs, warmup)
    warnings: list[str] = []
    base_inputs = [tuple(s) if s is not None else None for _n, _d, s in entries[0].result.inputs]
    for e in entries[1:]:
        shapes = [tuple(s) if s is not None else None for _n, _d, s in e.result.inputs]
        if shapes != base_inputs:
            warnings.append(
                f"{e.label}: input shapes {_fmt_inputs(e.result)} differ from the baseline's "
                f"{_fmt_inputs(entries[0].result)}; MACs are not comparable"
            )
    for e in entries:
        warnings.extend(f"{e.label}: {w}" for w in e.result.warnings)
    settings = {
        "input_shapes": {k: list(v) if not isinstance(v, str) else v for k, v in input_shapes.items()},
        "dims": dims,
        "shape_source": shape_source,
        "bench": {"runs": runs, "warmup": warmup} if bench else None,
    }
    return Comparison(entries, settings=settings, warnings=warnings)


def _fmt_inputs(res: ProfileResult) -> str:
    return ", ".join(f"{n}[{units.shape(s)}]" for n, _d, s in res.inputs)


# --------------------------------------------------------------------------- cells


def _by_dtype(d: Mapping[str, Any], fmt) -> str:
    items = [(k, v) for k, v in d.items() if as_number(v)]
    if not items:
        return "-"
    return ", ".join(f"{k} {fmt(v)}" for k, v in sorted(items))


def _share(x: Any) -> str:
    v = as_number(x)
    return "-" if v is None else f"{100.0 * v:.1f}%"


def _times(r: float | None) -> str:
    return "" if r is None else f" (x{r:.3g})"


def _precision(c: OpCell) -> str:
    if not c.precision:
        return "-"
    if len(c.precision) == 1:
        return next(iter(c.precision))
    return ", ".join(f"{k} x{v}" for k, v in sorted(c.precision.items()))


def op_cell_text(c: OpCell | None, name: str) -> str:
    """'4 x ConvInteger, 7.67 M MACs, uint8' (FLOPs when the op has no MACs); the op
    types are named when they are not just the row's op."""
    if c is None:
        return "-"
    if len(c.op_types) > 1:
        head = f"{c.count} x (" + ", ".join(f"{o} {k}" for o, k in sorted(c.op_types.items())) + ")"
    elif next(iter(c.op_types)) != name:
        head = f"{c.count} x {next(iter(c.op_types))}"
    else:
        head = str(c.count)
    if as_number(c.macs):
        work = f"{units.si(c.macs)} MACs"
    elif as_number(c.flops):
        work = f"{units.si(c.flops)} FLOPs"
    else:
        work = "0 FLOPs"
    return f"{head}, {work}, {_precision(c)}"


def summary_rows(cmp: Comparison) -> list[tuple[str, list[str]]]:
    """(metric, one cell per model) for the human formats; ratios to the baseline in (xN)."""
    ms = cmp.models
    rats = cmp.ratios()

    def row(label: str, key: str | None, fmt, getter=None) -> tuple[str, list[str]]:
        cells = []
        for i, m in enumerate(ms):
            v = getter(m) if getter else m.metric(key)
            text = "-" if v is None else fmt(v)
            if i and key in rats and v is not None:
                text += _times(rats[key][i])
            cells.append(text)
        return (label, cells)

    rows = [
        row("File size", "file_size", units.nbytes),
        row("Params", "params", lambda v: units.si(v)),
        row("Weight bytes", "weight_bytes", units.nbytes),
        ("Weight bytes by dtype", [_by_dtype(m.totals.weight_bytes_by_dtype, units.nbytes) for m in ms]),
        row("MACs", "macs", lambda v: units.si(v)),
        ("MACs by precision", [_by_dtype(m.totals.macs_by_precision, units.si) for m in ms]),
        ("Low-precision MAC share", [_share(m.totals.low_precision_mac_share) for m in ms]),
        row("FLOPs", "flops", lambda v: units.si(v)),
        ("FLOPs by precision", [_by_dtype(m.totals.flops_by_precision, units.si) for m in ms]),
        row("Memory traffic", "memory_traffic_bytes", units.nbytes),
        row("Arithmetic intensity", "arithmetic_intensity", lambda v: f"{v:.2f} FLOPs/B"),
    ]
    if any(m.totals.peak_activation_bytes is not None for m in ms):
        rows.append(row("Peak activation memory", "peak_activation_bytes", units.nbytes))
    rows.append(("Q/DQ nodes", [
        f"{m.qdq['count']} ({units.si(m.qdq['flops'])} FLOPs, {units.pct(m.qdq['flops'], m.totals.flops)})"
        if m.qdq["count"] else "0" for m in ms
    ]))
    rows.append(("Nodes", [str(m.totals.node_count) for m in ms]))
    if any(m.bench for m in ms):
        rows.append(row("Latency p50", "latency_p50_ms", units.ms))
        rows.append(row("Latency p90", "latency_p90_ms", units.ms))
        rows.append(row("Latency mean", "latency_mean_ms", units.ms))
        rows.append(row("FPS", "fps", units.fps_text))
        sp = rats.get("speedup", [None] * len(ms))
        rows.append(("Speedup (baseline mean / mean)", [units.speedup_text(s) for s in sp]))
    if any(m.fidelity for m in ms):
        from ..runtime.fidelity import summary_rows as fidelity_rows

        rows.extend(fidelity_rows(ms))
    return rows


def extra_tables(cmp: Comparison, where: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of the --variants / --fidelity tables: ``head`` the candidates
    (one row per model), ``tail`` the variant recipes and the --localize layers."""
    if not (cmp.variants or any(m.fidelity or m.variant for m in cmp.models)):
        return []
    from ..runtime.fidelity import layer_tables
    from ..runtime.variants import decision_table, variant_table

    models = [m.to_dict() for m in cmp.models]
    if where == "head":
        return decision_table(models, cmp.ratios().get("speedup"))
    return variant_table(cmp.variants) + layer_tables(models)


# --------------------------------------------------------------------------- renderers


def to_json(cmp: Comparison) -> str:
    return json.dumps(cmp.to_dict(), indent=2) + "\n"


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|:---|" + "---:|" * (len(headers) - 1)]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def to_markdown(cmp: Comparison) -> str:
    labels = [m.label for m in cmp.models]
    parts = [f"# onnxstat compare: {', '.join(labels)}", ""]
    parts.append(f"Baseline: `{cmp.baseline.label}`. {cmp.structure_note[0].upper()}{cmp.structure_note[1:]}.")
    inputs = "; ".join(f"`{m.label}`: {_fmt_inputs(m.result)}" for m in cmp.models)
    parts += ["", f"Inputs: {inputs}", ""]
    for title, heads, rows in extra_tables(cmp, "head"):
        parts += [f"## {title}", "", _md_table(heads, rows), ""]
    parts += ["## Totals", ""]
    parts.append(_md_table(["Metric"] + labels, [[k] + v for k, v in summary_rows(cmp)]))
    parts += ["", "## By op type", ""]
    parts.append(_md_table(["Op"] + labels, [[name] + [op_cell_text(c, name) for c in cells] for name, cells in cmp.op_rows()]))
    for title, heads, rows in extra_tables(cmp, "tail"):
        parts += ["", f"## {title}", "", _md_table(heads, rows)]
    parts += ["", "## Warnings", ""]
    parts += [f"- {w}" for w in cmp.warnings] if cmp.warnings else ["None."]
    return "\n".join(parts) + "\n"


def to_csv(cmp: Comparison) -> str:
    """Long table: section, key, metric, then one column per model (exact numbers)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # text quoted: round-trips (textsafe)
    ms = cmp.models
    w.writerow(["section", "key", "metric"] + [m.label for m in ms])

    def put(section, key, metric, values):
        w.writerow([section, key, metric] + ["" if v is None else jsonable(v) for v in values])

    put("model", "", "path", [m.result.path for m in ms])
    put("model", "", "file_size", [m.result.file_size for m in ms])
    put("model", "", "node_count", [m.totals.node_count for m in ms])
    for key in ("params", "weight_bytes", "macs", "flops", "bytes_read", "bytes_written", "memory_traffic_bytes",
                "arithmetic_intensity", "peak_activation_bytes", "low_precision_mac_share"):
        put("totals", "", key, [getattr(m.totals, key) for m in ms])
    for attr in ("macs_by_precision", "flops_by_precision", "params_by_dtype", "weight_bytes_by_dtype"):
        dts = sorted({k for m in ms for k in getattr(m.totals, attr)})
        for dt in dts:
            put("totals", dt, attr, [getattr(m.totals, attr).get(dt, 0) for m in ms])
    for key in ("count", "flops", "memory_traffic_bytes"):
        put("qdq_overhead", "", key, [m.qdq[key] for m in ms])
    if any(m.bench for m in ms):
        for key in ("latency_p50_ms", "latency_p90_ms", "fps"):
            put("bench", "", key, [m.metric(key) for m in ms])
    for key, vals in cmp.ratios().items():
        put("ratio", "", key, vals)
    for name, cells in cmp.op_rows():
        put("op_type", name, "count", [c.count if c else 0 for c in cells])
        put("op_type", name, "macs", [c.macs if c else 0 for c in cells])
        put("op_type", name, "flops", [c.flops if c else 0 for c in cells])
        put("op_type", name, "precision", [_precision(c) if c else "" for c in cells])
        put("op_type", name, "op_types",
            [" ".join(f"{o}:{k}" for o, k in sorted(c.op_types.items())) if c else "" for c in cells])
    if any(m.fidelity for m in ms):
        from ..runtime.fidelity import csv_rows

        for section, key, metric, values in csv_rows(ms):
            put(section, key, metric, values)
    buf.write(f"# structure: {cmp.structure_note}\n")
    for msg in cmp.warnings:
        buf.write(f"# warning: {msg}\n")
    return buf.getvalue()


def _rich_table(title: str, headers: list[str], rows: list[list[str]]):
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for h in headers:
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def print_table(cmp: Comparison, console=None) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..render.formats import terminal_console

    console = console or terminal_console()
    labels = [m.label for m in cmp.models]
    console.print(Text.assemble(("Baseline:", "bold"), f" {cmp.baseline.label}    ", ("Structure:", "bold"),
                                f" {cmp.structure_note}"), highlight=False)
    for m in cmp.models:
        console.print(f"  {m.label}: {_fmt_inputs(m.result)}", highlight=False)
    for title, heads, rows in extra_tables(cmp, "head"):
        console.print(_rich_table(title, heads, rows))
    t = Table(title="Totals (xN = ratio to the baseline)", title_justify="left")
    t.add_column("Metric", style="bold cyan", overflow="fold")
    for lab in labels:
        t.add_column(lab, justify="right", overflow="fold")
    for k, cells in summary_rows(cmp):
        t.add_row(k, *cells)
    console.print(t)
    ops = Table(title="By op type (count, MACs or FLOPs, precision)", title_justify="left")
    ops.add_column("Op", style="bold", overflow="fold")
    for lab in labels:
        ops.add_column(lab, overflow="fold")
    for name, cells in cmp.op_rows():
        ops.add_row(name, *[op_cell_text(c, name) for c in cells])
    console.print(ops)
    for title, heads, rows in extra_tables(cmp, "tail"):
        console.print(_rich_table(title, heads, rows))
    for wmsg in cmp.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {wmsg}"), highlight=False)


def render_text(cmp: Comparison, fmt: str, width: int = 160) -> str:
    from ..render.formats import console_text, render_as

    return render_as(fmt, {
        "table": lambda: console_text(lambda console: print_table(cmp, console), width),
        "json": lambda: to_json(cmp),
        "markdown": lambda: to_markdown(cmp),
        "csv": lambda: to_csv(cmp),
    }, "compare")


__all__ = ["compare", "Comparison", "ModelEntry", "OpCell", "family", "ratio", "render_text", "SCHEMA"]


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "compare")
