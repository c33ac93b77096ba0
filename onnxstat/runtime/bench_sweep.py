"""Benchmark sweeps: latency and FPS over a grid of configurations (``onnxstat bench --sweep``).

``bench_sweep(model, {"batch": [1, 2, 4], "threads": [1, 2]})`` runs
:func:`onnxstat.runtime.bench.bench` once per combination (the first parameter varies
slowest): one session per configuration, the same timing method as a single
bench.  Parameters:

* ``batch``: the model's ``batch`` dim when it has one, else the leading dim of
  the first input (its symbolic name, or the fixed dim itself: onnxruntime then
  decides whether the model accepts it);
* any other symbolic input dim (``seq``);
* ``threads``, ``inter-threads`` (0 = onnxruntime's default), ``opt-level``
  (disable, basic, extended, all), ``provider`` (cpu, cuda, … ; ``cuda+cpu`` for
  a fallback list), ``concurrency``.

A configuration that fails (out of memory, a batch the model's shapes forbid, a
provider this onnxruntime lacks) becomes a row with ``status`` "failed" and its
one-line reason; the sweep goes on.  A row's ``fps`` is batch x 1000 / mean
latency, or with ``concurrency`` > 1 the aggregate throughput of all threads.
``best`` names the row with the highest FPS
and the row with the lowest p50 latency.  The JSON contract is
``onnxstat.bench_sweep/1`` (:meth:`BenchSweepResult.to_dict`).
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

from .bench_options import BenchOptions, host_info, run_bench
from ..errors import OnnxstatError, UsageError
from ..render.files import write_atomic
from ..result import unique
from ..multi.sweep import MAX_ROWS, parse_sweep_values, plot_format

SCHEMA = "onnxstat.bench_sweep/1"
#: session parameters a sweep can vary -> BenchOptions field
SESSION_PARAMS = {
    "threads": "threads",
    "inter-threads": "inter_threads",
    "opt-level": "opt_level",
    "provider": "providers",
    "concurrency": "concurrency",
}
_ALIASES = {"inter_threads": "inter-threads", "opt_level": "opt-level", "providers": "provider",
            "intra-threads": "threads", "intra_threads": "threads"}
LATENCY_KEYS = ("mean", "std", "min", "p50", "p90", "p95", "p99", "max")


# --------------------------------------------------------------------------- parsing


def _canonical(name: str) -> str:
    key = name.strip()
    return _ALIASES.get(key, key)


def parse_param_values(name: str, text: str) -> list:
    """Values of one swept parameter: integers, opt levels or provider lists."""
    from .session import OPT_LEVELS, parse_providers, short_name

    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts) or any(not p for p in parts):
        raise UsageError(f"--sweep {name}={text}: expected a list of values, e.g. {name}=1,2,4")
    out: list = []
    if name == "opt-level":
        for p in parts:
            if p not in OPT_LEVELS:
                raise UsageError(f"--sweep opt-level={text}: {p!r} is not one of {', '.join(OPT_LEVELS)}")
            out.append(p)
    elif name == "provider":
        for p in parts:
            full = parse_providers(p.split("+"))
            out.append("+".join(short_name(f) for f in full))
    elif name in ("threads", "inter-threads"):
        for p in parts:
            try:
                v = int(p)
            except ValueError:
                raise UsageError(f"--sweep {name}={text}: {p!r} is not an integer") from None
            if v < 0:
                raise UsageError(f"--sweep {name}={text}: thread counts are 0 (default) or more, got {v}")
            out.append(v)
    else:  # batch, concurrency, a symbolic dim
        return parse_sweep_values(name, text)
    return list(dict.fromkeys(out))


def parse_bench_sweep(items: Iterable[str]) -> dict[str, list]:
    """``["batch=1,2,4", "threads=1,2"]`` -> ``{"batch": [1, 2, 4], "threads": [1, 2]}`` (order kept)."""
    grid: dict[str, list] = {}
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"bad --sweep {item!r}: expected NAME=V1,V2,...")
        name, _, values = item.partition("=")
        name = _canonical(name)
        if not name:
            raise UsageError(f"bad --sweep {item!r}: empty parameter name")
        if name in grid:
            raise UsageError(f"--sweep {name} is given twice")
        grid[name] = parse_param_values(name, values)
    if not grid:
        raise UsageError("a sweep needs at least one parameter, e.g. --sweep batch=1,2,4")
    n = math.prod(len(v) for v in grid.values())
    if n > MAX_ROWS:
        raise UsageError(f"the sweep has {n} configurations; at most {MAX_ROWS} are allowed")
    return grid


# --------------------------------------------------------------------------- result


@dataclass
class BenchSweepResult:
    """Rows of a bench sweep; ``to_dict()`` is the ``onnxstat.bench_sweep/1`` contract."""

    model: str | None
    params: list[str]
    rows: list[dict[str, Any]]
    best: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok_rows(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "ok"]

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "params": list(self.params),
            "rows": [dict(r) for r in self.rows],
            "best": {k: dict(v) for k, v in self.best.items()},
            "host": dict(self.host),
            "settings": dict(self.settings),
            "warnings": list(self.warnings),
        }


def best_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict]:
    """The row with the highest FPS and the row with the lowest p50 latency (successful rows only)."""
    ok = [(i, r) for i, r in enumerate(rows) if r["status"] == "ok" and r.get("fps") is not None]
    if not ok:
        return {}
    i_fps, r_fps = max(ok, key=lambda t: (t[1]["fps"], -t[0]))
    i_p50, r_p50 = min(ok, key=lambda t: (t[1]["latency_ms"]["p50"], t[0]))
    return {
        "fps": {"row": i_fps, "config": dict(r_fps["config"]), "fps": r_fps["fps"]},
        "p50": {"row": i_p50, "config": dict(r_p50["config"]), "latency_ms": r_p50["latency_ms"]["p50"]},
    }


# --------------------------------------------------------------------------- the sweep


def _batch_target(declared, dims: Mapping[str, int]) -> tuple[str, str]:
    """Where ``batch`` goes: ("dim", name) for a symbolic dim, ("input", name) for a fixed leading dim."""
    names = {d for _n, _t, s in declared for d in (s or ()) if isinstance(d, str)}
    if "batch" in names:
        return "dim", "batch"
    if not declared or not declared[0][2]:
        raise UsageError("--sweep batch: the model's first input has no leading dim to set (give the dim by name)")
    lead = declared[0][2][0]
    if isinstance(lead, str):
        return "dim", lead
    return "input", declared[0][0]


def _point(model_inputs, grid_point: Mapping[str, Any], shapes: dict, dims: dict, base: BenchOptions,
           target) -> tuple[dict, dict, BenchOptions]:
    shapes, dims = dict(shapes), dict(dims)
    changes: dict[str, Any] = {}
    for name, v in grid_point.items():
        if name in SESSION_PARAMS:
            field_name = SESSION_PARAMS[name]
            changes[field_name] = v.split("+") if name == "provider" else v
        elif name == "batch" and target is not None and target[0] == "input":
            inp = target[1]
            shp = next(s for n, _t, s in model_inputs if n == inp)
            rest = [dims.get(d) if isinstance(d, str) else d for d in shp[1:]]
            if any(d is None for d in rest):
                missing = [d for d in shp[1:] if isinstance(d, str) and d not in dims]
                raise UsageError(f"--sweep batch: set {', '.join(missing)} with --dim to sweep {inp}'s leading dim")
            shapes[inp] = (v, *rest)
        else:
            dims[target[1] if name == "batch" else name] = v
    if "threads" in changes and changes["threads"] == 0:
        changes["threads"] = None
    if "inter_threads" in changes and changes["inter_threads"] == 0:
        changes["inter_threads"] = None
    return shapes, dims, base.replace(**changes)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = " ".join(str(exc).split())
    if not isinstance(exc, OnnxstatError):
        text = f"{type(exc).__name__}: {text}"
    return text[:300]


def _is_runtime_error(exc: BaseException) -> bool:
    return isinstance(exc, (OnnxstatError, MemoryError)) or type(exc).__module__.startswith("onnxruntime")


def bench_sweep(model: Any, grid: Mapping[str, Sequence[Any]], input_shapes: Mapping[str, Any] | None = None,
                dims: Mapping[str, Any] | None = None, options: BenchOptions | None = None,
                on_row=None) -> BenchSweepResult:
    """Benchmark ``model`` at every combination of ``grid`` (see the module docstring).

    ``options`` are the settings shared by every configuration; ``on_row(i, n, row)``
    is called after each configuration (progress).
    """
    from ..model.loader import load
    from ..profiler import norm_dims, norm_input_shapes
    from .inputs import model_inputs

    base = options or BenchOptions()
    if not isinstance(grid, Mapping) or not grid:
        raise UsageError("a sweep needs at least one parameter, e.g. batch=1,2,4")
    grid = {_canonical(k): list(v) for k, v in grid.items()}
    input_shapes = norm_input_shapes(input_shapes)
    dims = norm_dims(dims)
    if math.prod(len(v) for v in grid.values()) > MAX_ROWS:
        raise UsageError(f"the sweep has more than {MAX_ROWS} configurations")
    for name in grid:
        f = SESSION_PARAMS.get(name)
        if f in ("threads", "inter_threads") and getattr(base, f) is not None:
            raise UsageError(f"--{name} is given both as an option and as --sweep {name}")
    lm = load(model)
    declared = model_inputs(lm.model)
    target = _batch_target(declared, dims) if "batch" in grid else None
    _check_grid(grid, declared, input_shapes, dims, target)
    if target is not None and target[0] == "dim" and base.batch_dim is None:
        base = base.replace(batch_dim=target[1])
    source = model if isinstance(model, (str, os.PathLike)) else lm.model
    names = list(grid)
    combos = list(itertools.product(*(grid[n] for n in names)))
    rows: list[dict] = []
    warnings: list[str] = []
    ort_version = None
    for i, combo in enumerate(combos):
        point = dict(zip(names, combo))
        row, res = _run_point(source, declared, point, input_shapes, dims, base, target)
        if res is not None:
            ort_version = res.onnxruntime_version
            warnings.extend(f"{_config_text(point)}: {w}" for w in res.warnings)
        rows.append(row)
        if on_row is not None:
            on_row(i + 1, len(combos), row)
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        warnings.append(f"{len(failed)} of {len(rows)} configuration(s) failed (see their rows)")
    return BenchSweepResult(
        model=os.fspath(model) if isinstance(model, (str, os.PathLike)) else None,
        params=names,
        rows=rows,
        best=best_rows(rows),
        host=host_info(ort_version if ort_version is not None else _ort_version()),
        settings=_settings(grid, input_shapes, dims, target, base),
        warnings=unique(warnings),
    )


def _check_grid(grid: Mapping[str, list], declared, input_shapes: Mapping[str, Any], dims: Mapping[str, Any],
                target) -> None:
    """Every swept name is a session parameter, ``batch`` or a symbolic dim, and none is also given
    with --dim or --input-shape."""
    symbolic = {d for _n, _t, s in declared for d in (s or ()) if isinstance(d, str)}
    for name in grid:
        if name in SESSION_PARAMS or name == "batch":
            continue
        if name not in symbolic:
            raise UsageError(
                f"--sweep {name}: not a symbolic input dim of the model nor one of batch, "
                f"{', '.join(SESSION_PARAMS)} (symbolic dims: {', '.join(sorted(symbolic)) or 'none'})")
    swept_dims = [target[1] if n == "batch" and target[0] == "dim" else n for n in grid
                  if n not in SESSION_PARAMS and not (n == "batch" and target[0] == "input")]
    both = [d for d in swept_dims if d in dims]
    if both:
        raise UsageError(f"{', '.join(both)} given both as --dim and --sweep")
    if target is not None and target[0] == "input" and target[1] in input_shapes:
        raise UsageError(f"--sweep batch and --input-shape {target[1]} do not go together")


def _run_point(source, declared, point: Mapping[str, Any], input_shapes: dict, dims: dict, base: BenchOptions,
               target) -> tuple[dict, Any]:
    """One configuration's row, and its BenchResult (None when it failed)."""
    row: dict[str, Any] = {"config": point}
    try:
        shp, dm, opts = _point(declared, point, input_shapes, dims, base, target)
        res = run_bench(source, shp, dm, opts)
    except Exception as exc:  # noqa: BLE001 - a failed configuration is a row; bugs still raise
        if not _is_runtime_error(exc):
            raise
        row.update({"status": "failed", "error": _failure(exc), "batch": None, "latency_ms": None,
                    "fps": None, "throughput": None})
        return row, None
    row.update({
        "status": "ok",
        "error": None,
        "batch": res.batch,
        "inputs": {x["name"]: list(x["shape"]) for x in res.inputs},
        "providers_used": list(res.providers_used),
        "runs": res.runs,
        "latency_ms": {k: res.latency_ms[k] for k in LATENCY_KEYS},
        "fps": res.fps,
        "throughput": res.throughput,
        "session_init_ms": res.session_init_ms,
    })
    if res.concurrency:
        row["concurrency"] = dict(res.concurrency)
    return row, res


def _ort_version() -> str:
    try:
        import onnxruntime

        return onnxruntime.__version__
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        return "?"


def _settings(grid: Mapping[str, list], input_shapes: Mapping[str, Any], dims: Mapping[str, Any], target,
              base: BenchOptions) -> dict[str, Any]:
    """The sweep's settings as the JSON records them."""
    return {
        "grid": {n: list(v) for n, v in grid.items()},
        "input_shapes": {k: list(v) for k, v in input_shapes.items()},
        "dims": dict(dims),
        "batch": None if target is None else {"kind": target[0], "name": target[1]},
        "warmup": base.warmup,
        "runs": base.runs if base.duration is None else None,
        "duration_s": base.duration,
        "providers": base.providers if isinstance(base.providers, str) else list(base.providers),
        "threads": base.threads,
        "inter_threads": base.inter_threads,
        "opt_level": base.opt_level,
        "execution_mode": base.execution_mode,
        "concurrency": base.concurrency,
    }


def _config_text(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


# --------------------------------------------------------------------------- renderers


def _best_marks(res: BenchSweepResult, i: int) -> str:
    marks = [label for key, label in (("fps", "best FPS"), ("p50", "best p50")) if res.best.get(key, {}).get("row") == i]
    return ", ".join(marks)


def _table_rows(res: BenchSweepResult) -> tuple[list[str], list[list[str]]]:
    heads = list(res.params) + ([] if "batch" in res.params else ["batch"]) + \
        ["mean ms", "p50 ms", "p90 ms", "p99 ms", "FPS", "status"]
    out = []
    for i, r in enumerate(res.rows):
        cells = [str(r["config"][p]) for p in res.params]
        if "batch" not in res.params:
            cells.append("-" if r.get("batch") is None else str(r["batch"]))
        if r["status"] == "ok":
            lat = r["latency_ms"]
            cells += [f"{lat['mean']:.3f}", f"{lat['p50']:.3f}", f"{lat['p90']:.3f}", f"{lat['p99']:.3f}",
                      f"{r['fps']:,.1f}" if r["fps"] is not None else "-"]
            cells.append(("ok, " + _best_marks(res, i)) if _best_marks(res, i) else "ok")
        else:
            cells += ["-"] * 5 + [f"failed [{_reasons(res).index(r['error']) + 1}]"]
        out.append(cells)
    return heads, out


def _reasons(res: BenchSweepResult) -> list[str]:
    """The distinct reasons of the failed rows, in row order (the tables number them)."""
    return list(dict.fromkeys(r["error"] for r in res.rows if r["status"] != "ok"))


def print_bench_sweep(res: BenchSweepResult, console=None) -> None:
    """Terminal table: one row per configuration, the best FPS and best p50 rows marked."""
    from rich.table import Table

    from ..render.formats import terminal_console

    console = console or terminal_console()
    heads, rows = _table_rows(res)
    t = Table(title=f"Bench sweep over {', '.join(res.params)}" + (f": {res.model}" if res.model else ""),
              title_justify="left")
    for k, h in enumerate(heads):
        t.add_column(h, justify="right" if k < len(heads) - 1 else "left", overflow="fold")
    for i, cells in enumerate(rows):
        style = "bold" if _best_marks(res, i) else ("dim" if res.rows[i]["status"] != "ok" else None)
        t.add_row(*cells, style=style)
    console.print(t)
    for k, why in enumerate(_reasons(res)):
        console.print(f"[{k + 1}] {why}", markup=False, highlight=False)
    h = res.host
    console.print(f"{h.get('cpu')}, {h.get('usable_cores')} core(s), onnxruntime {h.get('onnxruntime_version')}; "
                  "FPS = batch x 1000 / mean latency")


def bench_sweep_markdown(res: BenchSweepResult) -> str:
    heads, rows = _table_rows(res)
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = [f"## Bench sweep over {', '.join(res.params)}", "", "| " + " | ".join(heads) + " |",
             "|" + "---:|" * (len(heads) - 1) + "---|"]
    lines += ["| " + " | ".join(esc(c) for c in cells) + " |" for cells in rows]
    reasons = _reasons(res)
    if reasons:
        lines += [""] + [f"{k + 1}. {esc(why)}" for k, why in enumerate(reasons)]
    h = res.host
    lines += ["", f"Host: {h.get('cpu')}, {h.get('usable_cores')} core(s), onnxruntime {h.get('onnxruntime_version')}."]
    if res.warnings:
        lines += ["", "Warnings:", ""] + [f"- {esc(w)}" for w in res.warnings]
    return "\n".join(lines) + "\n"


def bench_sweep_csv(res: BenchSweepResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(res.params) + ["batch"] + [f"{k}_ms" for k in LATENCY_KEYS] + ["fps", "throughput", "status", "error"])
    for r in res.rows:
        lat = r.get("latency_ms") or {}
        w.writerow([r["config"][p] for p in res.params] + ["" if r.get("batch") is None else r["batch"]]
                   + [repr(lat[k]) if k in lat else "" for k in LATENCY_KEYS]
                   + ["" if r.get("fps") is None else repr(r["fps"]),
                      "" if r.get("throughput") is None else repr(r["throughput"]), r["status"], r.get("error") or ""])
    return buf.getvalue()


def render_bench_sweep(res: BenchSweepResult, fmt: str) -> str:
    from ..render.formats import console_text, render_as

    return render_as(fmt, {
        "table": lambda: console_text(lambda console: print_bench_sweep(res, console)),
        "json": lambda: bench_sweep_json(res),
        "csv": lambda: bench_sweep_csv(res),
        "markdown": lambda: bench_sweep_markdown(res),
    }, "bench sweep")


def bench_sweep_json(res: BenchSweepResult) -> str:
    from ..result import jsonable

    return json.dumps(jsonable(res.to_dict()), indent=2) + "\n"


# --------------------------------------------------------------------------- plot


def _x_param(res: BenchSweepResult) -> str:
    varying = [p for p in res.params if len({repr(r["config"][p]) for r in res.rows}) >= 2]
    for p in varying:  # a numeric parameter first (batch, threads, a dim)
        if all(isinstance(r["config"][p], int) for r in res.rows):
            return p
    return (varying or res.params)[0]


def render_bench_sweep_plot(res: BenchSweepResult, fmt: str = "png", x: str | None = None) -> bytes:
    """FPS and p50 latency against the swept parameter ``x``, one line per combination of the others."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    x = x or _x_param(res)
    if x not in res.params:
        raise UsageError(f"plot: {x!r} is not a swept parameter ({', '.join(res.params)})")
    others = [p for p in res.params if p != x]
    values = list(dict.fromkeys(r["config"][x] for r in res.rows))
    numeric = all(isinstance(v, int) for v in values)
    pos = {v: (v if numeric else k) for k, v in enumerate(values)}
    groups: dict[tuple, list[dict]] = {}
    for r in res.rows:
        groups.setdefault(tuple(r["config"][p] for p in others), []).append(r)

    fig = Figure(figsize=(11, 4.4), dpi=100)
    FigureCanvasAgg(fig)
    panels = (("fps", "FPS (samples/s)", lambda r: r["fps"]),
              ("p50", "Latency p50 (ms)", lambda r: r["latency_ms"]["p50"]))
    for k, (key, label, get) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        for gkey, rows in groups.items():
            pts = sorted((pos[r["config"][x]], get(r)) for r in rows if r["status"] == "ok" and get(r) is not None)
            failed = [pos[r["config"][x]] for r in rows if r["status"] != "ok"]
            name = ", ".join(f"{p}={v}" for p, v in zip(others, gkey)) or None
            line = None
            if pts:
                (line,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
            if failed:
                ax.plot(failed, [0] * len(failed), linestyle="", marker="x", markersize=8,
                        color=line.get_color() if line is not None else "red",
                        label=None if line is not None else f"{name or x} (failed)")
        b = res.best.get(key)
        if b is not None:
            r = res.rows[b["row"]]
            ax.plot([pos[r["config"][x]]], [get(r)], marker="*", markersize=16, color="gold",
                    markeredgecolor="black", linestyle="", zorder=5,
                    label=("best FPS" if key == "fps" else "best p50") + (f" ({_config_text(b['config'])})"))
        if numeric and len(values) > 1 and min(values) > 0 and max(values) / min(values) >= 4:
            ax.set_xscale("log", base=2)
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks([pos[v] for v in values])
        ax.set_xticklabels([str(v) for v in values])
        ax.set_xlabel(x)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        ax.set_title(("FPS = batch x 1000 / mean latency" if key == "fps" else "p50 latency") + f" vs {x}",
                     fontsize=10)
    name = Path(res.model).name if res.model else "model"
    fixed = {**(res.settings.get("dims") or {}), **{k: "x".join(map(str, v)) for k, v in
                                                    (res.settings.get("input_shapes") or {}).items()}}
    if fixed:
        name += " (" + ", ".join(f"{k}={v}" for k, v in fixed.items()) + ")"
    h = res.host
    fig.suptitle(f"{name}: bench sweep on {h.get('cpu')} ({h.get('usable_cores')} cores), "
                 f"onnxruntime {h.get('onnxruntime_version')}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    return buf.getvalue()


def plot_bench_sweep(res: BenchSweepResult, path: str | Path, x: str | None = None) -> Path:
    """Write the throughput/latency plot to ``path`` (.png or .svg), atomically."""
    fmt = plot_format(path)
    if not res.rows:
        raise UsageError("plot: the sweep has no rows")
    return write_atomic(path, render_bench_sweep_plot(res, fmt, x))


__all__ = [
    "SCHEMA", "BenchSweepResult", "bench_sweep", "parse_bench_sweep", "best_rows", "print_bench_sweep",
    "render_bench_sweep", "bench_sweep_markdown", "bench_sweep_csv", "render_bench_sweep_plot", "plot_bench_sweep",
]
