"""Sweeps: the model's cost over a grid of dim values (``onnxstat profile --sweep``).

``sweep(model, {"seq": [128, 256, 512], "batch": [1, 8]})`` profiles the model once
per combination (the first dim varies slowest) and keeps per row the exact MACs,
FLOPs, params, weight bytes, bytes read/written, memory traffic, the peak
activation memory when the profile has it, and with ``bench=True`` the latency
measured by :func:`onnxstat.runtime.bench.bench`.

Scaling: the counted metrics (MACs, FLOPs, traffic, ...) are polynomials of the
dims, and the sweep reports that polynomial: the exact formula from
:func:`onnxstat.passes.symbolic` with the dims not swept set to their values, checked
against every row (``formulas``: ``128·seq² + 49152·seq``, trend ``O(seq²)``).  Only
where there is no formula (measured latency, a formula the rows contradict, a
``--simplify`` run) an exponent comes from a log-log least-squares fit over all rows
with a positive value: ``log(metric) = c + sum_d e_d * log(d)`` for every swept dim
with at least two values (``seq^1.93``).

The JSON contract is ``{"schema": "onnxstat.sweep/1", "dims": [...], "rows": [...]}``
(see :meth:`SweepResult.to_dict`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import UsageError
from ..render.files import check_output_path, write_atomic
from ..result import METRIC_LABELS, unique

SCHEMA = "onnxstat.sweep/1"
#: largest number of rows (combinations) a sweep may have
MAX_ROWS = 1000
#: every exact metric a row carries (peak activation only when the profile has it)
ROW_METRICS = (
    "macs",
    "flops",
    "params",
    "weight_bytes",
    "bytes_read",
    "bytes_written",
    "memory_traffic_bytes",
    "peak_activation_bytes",
    "latency_ms",
    "latency_p50_ms",
)
#: the metrics shown, plotted and given a scaling exponent
SCALING_METRICS = ("macs", "flops", "memory_traffic_bytes", "peak_activation_bytes", "latency_ms")
LABELS = {
    **METRIC_LABELS,
    "peak_activation_bytes": "Peak activations",
    "latency_ms": "Latency (ms)",
    "latency_p50_ms": "Latency p50 (ms)",
}
PLOT_FORMATS = {".png": "png", ".svg": "svg"}


# --------------------------------------------------------------------------- parsing


def parse_sweep_values(name: str, text: str) -> list[int]:
    """``"128,256,512"`` -> [128, 256, 512] (positive integers, duplicates dropped)."""
    out: list[int] = []
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise UsageError(f"--sweep {name}: no values (expected e.g. {name}=128,256,512)")
    for p in parts:
        if not p:
            raise UsageError(f"--sweep {name}={text}: empty value in the list")
        try:
            v = int(p)
        except ValueError:
            raise UsageError(f"--sweep {name}={text}: {p!r} is not an integer") from None
        if v <= 0:
            raise UsageError(f"--sweep {name}={text}: values must be positive, got {v}")
        if v not in out:
            out.append(v)
    return out


def parse_sweep(items: Iterable[str]) -> dict[str, list[int]]:
    """``["seq=128,256", "batch=1,8"]`` -> ``{"seq": [128, 256], "batch": [1, 8]}`` (order kept)."""
    grid: dict[str, list[int]] = {}
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"bad --sweep {item!r}: expected NAME=V1,V2,...")
        name, _, values = item.partition("=")
        name = name.strip()
        if not name:
            raise UsageError(f"bad --sweep {item!r}: empty dim name")
        if name in grid:
            raise UsageError(f"--sweep {name} is given twice")
        grid[name] = parse_sweep_values(name, values)
    return grid


def _check_grid(grid: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    if not isinstance(grid, Mapping) or not grid:
        raise UsageError("a sweep needs at least one dim with values, e.g. seq=128,256,512")
    out: dict[str, list[int]] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"sweep dim names must be non-empty strings, got {name!r}")
        if isinstance(values, (str, bytes)):
            values = parse_sweep_values(name, values)
        vals: list[int] = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) and not (hasattr(v, "__index__")):
                raise UsageError(f"sweep {name}: values must be positive integers, got {v!r}")
            v = int(v)
            if v <= 0:
                raise UsageError(f"sweep {name}: values must be positive integers, got {v}")
            if v not in vals:
                vals.append(v)
        if not vals:
            raise UsageError(f"sweep {name}: no values")
        out[name] = vals
    n = math.prod(len(v) for v in out.values())
    if n > MAX_ROWS:
        raise UsageError(f"the sweep has {n} combinations; at most {MAX_ROWS} are allowed")
    return out


# --------------------------------------------------------------------------- result


@dataclass
class SweepResult:
    """Rows of a sweep: ``rows[i] = {"dims": {name: value}, metric: value, ...}``."""

    model: str | None
    dims: list[str]
    rows: list[dict[str, Any]]
    exponents: dict[str, dict[str, float | None]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    #: metric -> {"exact": sympy text, "pretty": formula, "trend": "O(seq²)"} of the swept dims
    formulas: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """Row metrics present in at least one row, in :data:`ROW_METRICS` order."""
        return [m for m in ROW_METRICS if any(r.get(m) is not None for r in self.rows)]

    def values(self, name: str) -> list[int]:
        return sorted({r["dims"][name] for r in self.rows})

    def __repr__(self) -> str:
        from .._callable import short_path

        grid = ", ".join(f"{d}={len(self.values(d))} values" for d in self.dims[:3])
        return f"SweepResult(model={short_path(self.model)!r}, {grid}, rows={len(self.rows)})"

    def exponent_text(self, metric: str) -> str:
        """``seq^1.93 · batch^1.00`` ('' when nothing was fitted)."""
        ex = self.exponents.get(metric) or {}
        return " · ".join(f"{d}^{e:.2f}" for d, e in ex.items() if e is not None)

    def scaling_text(self, metric: str) -> str:
        """``= 128·seq² + 49152·seq, O(seq²)`` from the formula, else ``∝ seq^1.93``
        from the fit ('' when there is neither)."""
        f = self.formulas.get(metric)
        if f:
            return f"= {f['pretty']}, {f['trend']}"
        ex = self.exponent_text(metric)
        return f"∝ {ex} (fitted)" if ex else ""

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "dims": list(self.dims),
            "rows": [
                {"dims": dict(r["dims"]), **{m: r[m] for m in ROW_METRICS if r.get(m) is not None}} for r in self.rows
            ],
            "formulas": {m: dict(f) for m, f in self.formulas.items()},
            "exponents": {m: dict(e) for m, e in self.exponents.items()},
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------- exponents


def fit_exponents(rows: Sequence[Mapping[str, Any]], dims: Sequence[str], metric: str) -> dict[str, float | None]:
    """Log-log least squares of ``metric`` against every swept dim with >= 2 values.

    Rows whose value is missing or not positive are left out; a dim gets ``None``
    when too few rows remain to determine the fit.
    """
    import numpy as np

    pts = [(r["dims"], float(r[metric])) for r in rows if r.get(metric) is not None and float(r[metric]) > 0]
    varying = [d for d in dims if len({p[d] for p, _ in pts}) >= 2]
    out: dict[str, float | None] = {d: None for d in dims if len({r["dims"][d] for r in rows}) >= 2}
    if not varying or len(pts) < len(varying) + 1:
        return out
    a = np.array([[1.0] + [math.log(p[d]) for d in varying] for p, _ in pts])
    y = np.array([math.log(v) for _, v in pts])
    coef, _res, rank, _sv = np.linalg.lstsq(a, y, rcond=None)
    if rank < a.shape[1]:
        return out
    for d, c in zip(varying, coef[1:]):
        c = float(c)
        out[d] = round(c, 4) if abs(c) > 5e-5 else 0.0
    return out


# --------------------------------------------------------------------------- the sweep


def sweep(
    model: Any,
    grid: Mapping[str, Sequence[int]],
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    bench: bool = False,
    bench_options: Mapping[str, Any] | None = None,
    shape_source: str = "onnx",
    simplify: bool = False,
) -> SweepResult:
    """Profile ``model`` at every combination of ``grid`` (see the module docstring).

    ``grid`` maps symbolic input dims to values; ``input_shapes``/``dims`` fix the
    rest as in :func:`onnxstat.profile`.  ``bench=True`` also measures each point
    with :func:`onnxstat.runtime.bench.bench` (``bench_options`` are passed through).

    >>> import onnxstat
    >>> sw = onnxstat.sweep("model.onnx", {"seq": [128, 256, 512]}, dims={"batch": 1})
    >>> [r["flops"] for r in sw.rows]
    """
    from ..model.loader import load
    from ..profiler import norm_dims, norm_input_shapes

    grid = _check_grid(grid)
    input_shapes = norm_input_shapes(input_shapes)
    dims = norm_dims(dims)
    both = [d for d in grid if d in dims]
    if both:
        raise UsageError(f"{', '.join(both)} given both as --dim and --sweep")
    lm = load(model)
    _check_swept_dims(lm, grid, input_shapes, dims)
    names = list(grid)
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    # a path is passed on as such (profile and bench load it; bench needs the weight data)
    source = model if isinstance(model, (str, os.PathLike)) else lm.model
    bench_mod = None
    if bench:
        from ..runtime import bench as bench_mod  # lazy: onnxruntime is heavy
    for combo in itertools.product(*(grid[n] for n in names)):
        point = dict(zip(names, combo))
        rows.append(_sweep_row(source, point, input_shapes, dims, simplify, shape_source, bench_mod, bench_options,
                               warnings))
    result = SweepResult(
        model=os.fspath(model) if isinstance(model, (str, os.PathLike)) else None,
        dims=names,
        rows=rows,
        warnings=unique(warnings),
        settings={
            "grid": {n: list(v) for n, v in grid.items()},
            "input_shapes": {k: list(v) for k, v in input_shapes.items()},
            "dims": dict(dims),
            "bench": bool(bench),
            "shape_source": shape_source,
            "simplify": bool(simplify),
        },
    )
    if not simplify:  # onnx-simplifier may change the graph between points: no single formula
        result.formulas, notes = sweep_formulas(lm, rows, names, input_shapes, dims, shape_source)
        result.warnings.extend(notes)
    for m in SCALING_METRICS:
        if m not in result.formulas and any(r.get(m) is not None for r in rows):
            result.exponents[m] = fit_exponents(rows, names, m)
    return result


def _check_swept_dims(lm, grid: Mapping[str, Sequence[int]], input_shapes, dims) -> None:
    """Every swept dim must be a symbolic input dim that --input-shape/--dim leave free."""
    from ..passes.symbolic import input_dim_names, model_symbols

    free = model_symbols(lm, input_shapes, dims)
    unknown = [d for d in grid if d not in free]
    if unknown:
        all_dims = sorted(input_dim_names(lm))
        fixed = [d for d in unknown if d in all_dims]
        if fixed:
            raise UsageError(f"--sweep {fixed[0]}: that dim is fixed by --input-shape")
        raise UsageError(
            f"--sweep {unknown[0]}: not a symbolic input dim of the model "
            f"(symbolic dims: {', '.join(all_dims) or 'none'})"
        )


def _sweep_row(source, point: dict[str, int], input_shapes, dims, simplify: bool, shape_source: str, bench_mod,
               bench_options: Mapping[str, Any] | None, warnings: list[str]) -> dict[str, Any]:
    """One row: the profile (and with ``bench_mod`` the latency) at the dims of ``point``;
    their warnings are added to ``warnings``."""
    from ..profiler import profile

    res = profile(source, input_shapes, {**dims, **point}, simplify=simplify, shape_source=shape_source)
    t = res.totals
    row: dict[str, Any] = {
        "dims": point,
        "macs": t.macs,
        "flops": t.flops,
        "params": t.params,
        "weight_bytes": t.weight_bytes,
        "bytes_read": t.bytes_read,
        "bytes_written": t.bytes_written,
        "memory_traffic_bytes": t.memory_traffic_bytes,
    }
    peak = getattr(t, "peak_activation_bytes", None)
    if peak is not None:
        row["peak_activation_bytes"] = peak
    warnings.extend(res.warnings)
    if bench_mod is not None:
        b = bench_mod.bench(source, input_shapes, {**dims, **point}, **dict(bench_options or {}))
        row["latency_ms"] = float(b.latency_ms["mean"])
        if "p50" in b.latency_ms:
            row["latency_p50_ms"] = float(b.latency_ms["p50"])
        warnings.extend(b.warnings)
    return row


def sweep_formulas(lm, rows, names, input_shapes, dims, shape_source) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The exact formula of each counted metric in the swept dims (the other symbolic
    dims at the value the rows used), kept only where it reproduces every row."""
    from ..errors import OnnxstatError
    from ..passes.symbolic import evaluate, exact, pretty, symbol, symbolic_profile, trend

    try:
        sym = symbolic_profile(lm, input_shapes, dims, shape_source=shape_source)
    except OnnxstatError as exc:
        return {}, [f"sweep: no formula ({exc}); scaling exponents fitted instead"]
    fixed = {symbol(s): 1 for s in sym.symbols if s not in names}  # what profile() uses for a dim not set
    out: dict[str, dict[str, str]] = {}
    bad = []
    for m in SCALING_METRICS:
        if m not in sym.totals or not any(r.get(m) is not None for r in rows):
            continue
        e = sym.totals[m]
        if fixed and hasattr(e, "subs"):
            e = e.subs(fixed)
        if all(r.get(m) is None or evaluate(e, r["dims"]) == r[m] for r in rows):
            out[m] = {"exact": exact(e), "pretty": pretty(e), "trend": trend(e)}
        else:
            bad.append(LABELS[m])
    notes = [f"sweep: the symbolic formula of {', '.join(bad)} does not reproduce every row; "
             "scaling exponents fitted instead"] if bad else []
    return out, notes




# --------------------------------------------------------------------------- renderers


def _cell(metric: str, v: Any) -> str:
    from ..render import units

    if v is None:
        return "-"
    if metric.startswith("latency"):
        return f"{float(v):.3f}"
    if metric.endswith("bytes"):
        return units.nbytes(v)
    return units.si(v)


def _shown(res: SweepResult) -> list[str]:
    present = res.metrics
    return [m for m in SCALING_METRICS if m in present]


def print_sweep(res: SweepResult, console=None) -> None:
    """Terminal table: one row per combination, then the fitted exponents."""
    from rich.table import Table

    from ..render.formats import terminal_console

    console = console or terminal_console()
    shown = _shown(res)
    t = Table(title=f"Sweep over {', '.join(res.dims)}")
    for d in res.dims:
        t.add_column(d, justify="right")
    for m in shown:
        t.add_column(LABELS[m], justify="right")
    for r in res.rows:
        t.add_row(*[str(r["dims"][d]) for d in res.dims], *[_cell(m, r.get(m)) for m in shown])
    console.print(t)
    for m in shown:
        text = res.scaling_text(m)
        if text:
            console.print(f"{LABELS[m]} {text}")


def sweep_markdown(res: SweepResult) -> str:
    shown = _shown(res)
    head = list(res.dims) + [LABELS[m] for m in shown]
    lines = [f"## Sweep over {', '.join(res.dims)}", "", "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in res.rows:
        cells = [str(r["dims"][d]) for d in res.dims] + [_cell(m, r.get(m)) for m in shown]
        lines.append("| " + " | ".join(cells) + " |")
    ex = [(m, res.scaling_text(m)) for m in shown if res.scaling_text(m)]
    if ex:
        lines += ["", "Scaling (exact formulas; ∝ marks a log-log fit):", ""]
        lines += [f"- {LABELS[m]} {t}" for m, t in ex]
    return "\n".join(lines) + "\n"


def sweep_csv(res: SweepResult) -> str:
    """One line per row: the dims, then every metric present (exact integers)."""
    metrics = res.metrics
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # text quoted: round-trips (textsafe)
    w.writerow(list(res.dims) + metrics)
    for r in res.rows:
        w.writerow([r["dims"][d] for d in res.dims] + ["" if r.get(m) is None else r[m] for m in metrics])
    return buf.getvalue()


def sweep_json(res: SweepResult) -> str:
    return json.dumps(res.to_dict(), indent=2) + "\n"


def render_sweep(res: SweepResult, fmt: str) -> str:
    """``fmt``: json, csv, markdown or table (the terminal table as plain text)."""
    from ..render.formats import console_text, render_as

    return render_as(fmt, {
        "table": lambda: console_text(lambda console: print_sweep(res, console)),
        "json": lambda: sweep_json(res),
        "csv": lambda: sweep_csv(res),
        "markdown": lambda: sweep_markdown(res),
    }, "sweep")


# --------------------------------------------------------------------------- plot


def plot_format(path: str | Path) -> str:
    """'png' or 'svg' from the file extension; checks the folder too (call before the sweep)."""
    ext = Path(path).suffix.lower()
    if ext not in PLOT_FORMATS:
        raise UsageError(f"plot {path}: unsupported extension {ext or '(none)'!r}; use .png or .svg")
    check_output_path(path)
    return PLOT_FORMATS[ext]


def render_sweep_plot(res: SweepResult, fmt: str = "png", x: str | None = None) -> bytes:
    """Each metric against the swept dim ``x`` (log-log), one line per combination of the other dims."""
    from ..extras import require

    require("matplotlib", "--plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if fmt not in PLOT_FORMATS.values():
        raise UsageError(f"plot format must be png or svg, got {fmt!r}")
    if x is None:
        x = next((d for d in res.dims if len(res.values(d)) >= 2), res.dims[0])
    if x not in res.dims:
        raise UsageError(f"plot: {x!r} is not a swept dim ({', '.join(res.dims)})")
    shown = _shown(res)
    others = [d for d in res.dims if d != x]
    cols = 2 if len(shown) > 1 else 1
    nrows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(6 * cols, 4 * nrows), dpi=100)
    FigureCanvasAgg(fig)
    groups: dict[tuple, list[dict]] = {}
    for r in res.rows:
        groups.setdefault(tuple(r["dims"][d] for d in others), []).append(r)
    for i, m in enumerate(shown):
        ax = fig.add_subplot(nrows, cols, i + 1)
        for key, rows in groups.items():
            pts = sorted((r["dims"][x], float(r[m])) for r in rows if r.get(m) is not None and float(r[m]) > 0)
            if not pts:
                continue
            label = ", ".join(f"{d}={v}" for d, v in zip(others, key)) or None
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        xs = res.values(x)
        ax.set_xticks(xs)
        ax.set_xticklabels([str(v) for v in xs])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(x)
        ax.set_ylabel(LABELS[m])
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # labels even within one decade
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos, m=m: _tick(v, m)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        f = res.formulas.get(m)
        e = (res.exponents.get(m) or {}).get(x)
        sub = f["trend"] if f else (f"∝ {x}^{e:.2f} (fitted)" if e is not None else "")
        ax.set_title(f"{LABELS[m]}: {sub}" if sub else LABELS[m], fontsize="medium")
        ax.grid(True, which="both", alpha=0.3)
        if others and len(groups) > 1:
            ax.legend(fontsize="small")
    name = Path(res.model).name if res.model else "model"
    fixed = ", ".join(f"{k}={v}" for k, v in (res.settings.get("dims") or {}).items())
    fig.suptitle(f"{name}: cost against {x}" + (f" ({fixed})" if fixed else ""))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    return buf.getvalue()


def _tick(v: float, metric: str) -> str:
    """An axis label in the report's units: ``10 M``, ``2 MB``, ``0.5 ms`` (not ``1e7``)."""
    if metric.startswith("latency"):
        return f"{v:g} ms"
    for div, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"), (1, "")):
        if abs(v) >= div:
            num = f"{v / div:g}"
            return f"{num} {p}B" if metric.endswith("bytes") else f"{num} {p}".rstrip()
    return f"{v:g}"


def plot_sweep(res: SweepResult, path: str | Path, x: str | None = None) -> Path:
    """Write the sweep plot to ``path`` (.png or .svg), atomically."""
    fmt = plot_format(path)
    if not res.rows:
        raise UsageError("plot: the sweep has no rows")
    return write_atomic(path, render_sweep_plot(res, fmt, x))


__all__ = [
    "SCHEMA",
    "SweepResult",
    "sweep",
    "parse_sweep",
    "fit_exponents",
    "plot_sweep",
    "plot_format",
    "render_sweep_plot",
    "print_sweep",
    "sweep_markdown",
    "sweep_csv",
    "sweep_json",
    "render_sweep",
]


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "sweep")
