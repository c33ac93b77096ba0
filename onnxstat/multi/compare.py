"""Side-by-side comparison of N models (fp32 vs fp16 vs int8 twins); the first is the baseline.

:func:`compare` profiles every model at the same input shapes, attributes QDQ
precision (:mod:`.precision`), optionally measures latency with :mod:`.bench`,
and returns a :class:`Comparison`: per-model totals (file size, params, weight
bytes, MACs and FLOPs by precision, memory traffic, arithmetic intensity, peak
activation memory, low-precision MAC share, Q/DQ overhead, latency), ratios
against the baseline, and a per-op-type table that groups each float op with its
quantised forms (Conv with QLinearConv and ConvInteger, MatMul with MatMulInteger,
QLinearMatMul, MatMulNBits, ...) so a reader sees which layers stayed float.

Renderers: terminal (rich), JSON (``onnxstat.compare/1``), Markdown, CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import OnnxstatError, UsageError
from ..passes.precision import attribute_precision
from ..render import units
from ..result import ProfileResult, jsonable

SCHEMA = "onnxstat.compare/1"
FORMATS = ("table", "json", "markdown", "csv")

#: ops whose cost is quantisation overhead
QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})

#: quantised / fused op -> the float op it stands for (rows of the per-op-type table).
#: MatMul and Gemm share a row: quantizers turn Gemm into MatMulInteger + Add.
FAMILY: dict[str, str] = {
    "QLinearConv": "Conv",
    "ConvInteger": "Conv",
    "FusedConv": "Conv",
    "NhwcConv": "Conv",
    "QLinearConvTranspose": "ConvTranspose",
    "MatMulInteger": "MatMul/Gemm",
    "QLinearMatMul": "MatMul/Gemm",
    "MatMulIntegerToFloat": "MatMul/Gemm",
    "DynamicQuantizeMatMul": "MatMul/Gemm",
    "MatMulNBits": "MatMul/Gemm",
    "MatMulBnb4": "MatMul/Gemm",
    "FusedMatMul": "MatMul/Gemm",
    "MatMul": "MatMul/Gemm",
    "Gemm": "MatMul/Gemm",
    "QGemm": "MatMul/Gemm",
    "FusedGemm": "MatMul/Gemm",
    "DynamicQuantizeLSTM": "LSTM",
    "QAttention": "Attention",
    "QLinearAdd": "Add",
    "QLinearMul": "Mul",
    "QLinearSigmoid": "Sigmoid",
    "QLinearLeakyRelu": "LeakyRelu",
    "QLinearSoftmax": "Softmax",
    "QLinearAveragePool": "AveragePool",
    "QLinearGlobalAveragePool": "GlobalAveragePool",
    "QLinearConcat": "Concat",
    "GatherBlockQuantized": "Gather",
}

#: metrics with a ratio against the baseline: (key, label)
RATIO_METRICS: tuple[tuple[str, str], ...] = (
    ("file_size", "File size"),
    ("params", "Params"),
    ("weight_bytes", "Weight bytes"),
    ("macs", "MACs"),
    ("flops", "FLOPs"),
    ("memory_traffic_bytes", "Memory traffic"),
    ("arithmetic_intensity", "Arithmetic intensity"),
    ("peak_activation_bytes", "Peak activation memory"),
    ("latency_p50_ms", "Latency p50"),
    ("latency_p90_ms", "Latency p90"),
    ("fps", "FPS"),
)


def family(op_type: str) -> str:
    return FAMILY.get(op_type, op_type)


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def ratio(value: Any, base: Any) -> float | None:
    """value / base as a float; None when either is unknown (or symbolic) or base is 0."""
    v, b = _num(value), _num(base)
    if v is None or b is None or b == 0:
        return None
    return v / b


# --------------------------------------------------------------------------- data


@dataclass
class OpCell:
    """One op family in one model."""

    count: int = 0
    macs: Any = 0
    flops: Any = 0
    op_types: Counter = field(default_factory=Counter)
    precision: Counter = field(default_factory=Counter)  # compute dtype -> node count
    macs_by_precision: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable({
            "count": self.count,
            "macs": self.macs,
            "flops": self.flops,
            "op_types": dict(sorted(self.op_types.items())),
            "precision": dict(sorted(self.precision.items())),
            "macs_by_precision": dict(sorted(self.macs_by_precision.items())),
        })


@dataclass
class ModelEntry:
    label: str
    result: ProfileResult
    bench: dict | None = None
    #: output (and per-layer) fidelity against the baseline (onnxstat.fidelity)
    fidelity: dict | None = None
    #: how the model was made when it is a --variants candidate (onnxstat.variants)
    variant: dict | None = None

    @property
    def totals(self):
        return self.result.totals

    @property
    def qdq(self) -> dict:
        """Count, FLOPs and memory traffic of Quantize/DequantizeLinear/DynamicQuantizeLinear nodes."""
        nodes = [n for n in self.result.nodes if n.op_type in QDQ_OPS]
        return {
            "count": len(nodes),
            "flops": sum((n.flops for n in nodes), 0),
            "memory_traffic_bytes": sum((n.memory_traffic_bytes for n in nodes), 0),
        }

    def metric(self, key: str) -> Any:
        t = self.totals
        if key == "file_size":
            return self.result.file_size
        if key in ("latency_mean_ms", "latency_p50_ms", "latency_p90_ms"):
            lat = (self.bench or {}).get("latency_ms") or {}
            return lat.get(key.split("_")[1])
        if key == "fps":
            return (self.bench or {}).get("fps")
        if key == "qdq_flops":
            return self.qdq["flops"]
        return getattr(t, key)

    def op_cells(self) -> dict[str, OpCell]:
        cells: dict[str, OpCell] = {}
        for n in self.result.nodes:
            if n.kind == "control_flow":
                continue
            c = cells.setdefault(family(n.op_type), OpCell())
            c.count += 1
            c.macs += n.macs
            c.flops += n.flops
            c.op_types[n.op_type] += 1
            if n.compute_dtype not in ("none", "undefined"):
                c.precision[n.compute_dtype] += 1
            if n.macs:
                c.macs_by_precision[n.compute_dtype] = c.macs_by_precision.get(n.compute_dtype, 0) + n.macs
        return cells

    def to_dict(self) -> dict:
        r = self.result
        extra = {k: v for k, v in (("fidelity", self.fidelity), ("variant", self.variant)) if v is not None}
        return jsonable({
            "label": self.label,
            "path": r.path,
            "file_size": r.file_size,
            "producer": r.producer,
            "opset": dict(r.opset),
            "inputs": [{"name": a, "dtype": b, "shape": None if c is None else list(c)} for a, b, c in r.inputs],
            "totals": r.totals.to_dict(),
            "qdq_overhead": self.qdq,
            "bench": self.bench,
            "unsupported": [{"domain": d, "op_type": o, "count": c} for d, o, c in r.unsupported],
            "warnings": list(r.warnings),
            **extra,
        })


@dataclass
class Comparison:
    models: list[ModelEntry]
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: --variants candidates, made or not (recipe, file, error): onnxstat.variants
    variants: list[dict] = field(default_factory=list)

    @property
    def baseline(self) -> ModelEntry:
        return self.models[0]

    def __repr__(self) -> str:
        labels = ", ".join(m.label for m in self.models[:4]) + (", …" if len(self.models) > 4 else "")
        if len(labels) > 100:
            labels = labels[:99] + "…"
        sp = self.ratios().get("speedup") if any(m.bench for m in self.models) else None
        tail = f", speedup={sp[-1]:.2f}" if sp and sp[-1] is not None else ""
        return f"Comparison(models=[{labels}], baseline={self.baseline.label[:40]!r}{tail})"

    # -- structure --------------------------------------------------------
    @property
    def node_counts(self) -> list[int]:
        return [m.totals.node_count for m in self.models]

    @property
    def same_structure(self) -> bool:
        sigs = [Counter((n.domain, n.op_type) for n in m.result.nodes) for m in self.models]
        return all(s == sigs[0] for s in sigs[1:])

    @property
    def structure_note(self) -> str:
        if self.same_structure:
            return "same graph structure (identical op counts)"
        counts = ", ".join(f"{m.label} {m.totals.node_count}" for m in self.models)
        return f"graph structures differ (nodes: {counts}); compared on totals and per op type"

    # -- ratios -----------------------------------------------------------
    def ratios(self) -> dict[str, list[float | None]]:
        out: dict[str, list[float | None]] = {}
        base = self.baseline
        for key, _label in RATIO_METRICS:
            if key.startswith(("latency", "fps")) and not any(m.bench for m in self.models):
                continue
            out[key] = [ratio(m.metric(key), base.metric(key)) for m in self.models]
        if any(m.bench for m in self.models):
            out["speedup"] = [units.speedup(base.metric("latency_mean_ms"), m.metric("latency_mean_ms"))
                              for m in self.models]
        return out

    # -- per op type ------------------------------------------------------
    def op_rows(self) -> list[tuple[str, list[OpCell | None]]]:
        per_model = [m.op_cells() for m in self.models]
        names = {k for cells in per_model for k in cells}

        def key(name: str):
            cells = [c.get(name) for c in per_model]
            macs = max((_num(c.macs) or 0.0 for c in cells if c), default=0.0)
            flops = max((_num(c.flops) or 0.0 for c in cells if c), default=0.0)
            return (-macs, -flops, name)

        return [(name, [c.get(name) for c in per_model]) for name in sorted(names, key=key)]

    def to_dict(self) -> dict:
        return jsonable({
            "schema": SCHEMA,
            "baseline": self.baseline.label,
            "settings": self.settings,
            "structure": {
                "same": self.same_structure,
                "node_counts": self.node_counts,
                "note": self.structure_note,
            },
            "models": [m.to_dict() for m in self.models],
            "by_op_type": [
                {"op_type": name, "models": [None if c is None else c.to_dict() for c in cells]}
                for name, cells in self.op_rows()
            ],
            "ratios": self.ratios(),
            "warnings": list(self.warnings),
            **({"variants": self.variants} if self.variants else {}),
        })


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
    items = [(k, v) for k, v in d.items() if _num(v)]
    if not items:
        return "-"
    return ", ".join(f"{k} {fmt(v)}" for k, v in sorted(items))


def _share(x: Any) -> str:
    v = _num(x)
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
    if _num(c.macs):
        work = f"{units.si(c.macs)} MACs"
    elif _num(c.flops):
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
        put("op_type", name, "op_types", [" ".join(f"{o}:{k}" for o, k in sorted(c.op_types.items())) if c else "" for c in cells])
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
